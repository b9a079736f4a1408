// Conformance: getrandom(2).
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
long raw_getrandom(void* buf, size_t len, unsigned flags) { return syscall(SYS_getrandom, buf, len, flags); }
bool all_zero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}
}  // namespace

TEST(Getrandom, FillsTheWholeBuffer) {
  unsigned char buf[256] = {};
  ASSERT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(buf, sizeof buf, 0), 256);
  EXPECT_FALSE(all_zero(buf, sizeof buf));
  // The last bytes are written too.
  EXPECT_FALSE(all_zero(buf + 224, 32));
}

TEST(Getrandom, ZeroLengthReturnsZero) {
  unsigned char c = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(&c, 0, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(nullptr, 0, 0), 0);
}

TEST(Getrandom, NonblockSucceeds) {
  unsigned char buf[32] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(buf, sizeof buf, GRND_NONBLOCK), 32);
  EXPECT_FALSE(all_zero(buf, sizeof buf));
}

TEST(Getrandom, RandomPoolSucceeds) {
  unsigned char buf[32] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(buf, sizeof buf, GRND_RANDOM | GRND_NONBLOCK), 32);
  EXPECT_FALSE(all_zero(buf, sizeof buf));
}

TEST(Getrandom, InsecureSucceeds) {
  unsigned char buf[32] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(buf, sizeof buf, GRND_INSECURE), 32);
}

TEST(Getrandom, UnknownFlagIsEinval) {
  unsigned char buf[8];
  EXPECT_SYSCALL_FAILS_WITH(raw_getrandom(buf, sizeof buf, 0x100), EINVAL);
}

TEST(Getrandom, InsecureWithRandomIsEinval) {
  unsigned char buf[8];
  EXPECT_SYSCALL_FAILS_WITH(raw_getrandom(buf, sizeof buf, GRND_INSECURE | GRND_RANDOM), EINVAL);
}

TEST(Getrandom, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(raw_getrandom(reinterpret_cast<void*>(8), 16, 0), EFAULT);
}

TEST(Getrandom, TwoCallsDiffer) {
  unsigned char a[32], b[32];
  ASSERT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(a, sizeof a, 0), 32);
  ASSERT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(b, sizeof b, 0), 32);
  EXPECT_NE(memcmp(a, b, sizeof a), 0);
}

TEST(Getrandom, LargeRequestIsFilled) {
  const size_t len = 1 << 20;
  unsigned char* p = static_cast<unsigned char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(p, len, 0), static_cast<long>(len));
  EXPECT_FALSE(all_zero(p + len - 64, 64));
  munmap(p, len);
}

TEST(Getrandom, ShortCopyReturnsTheBytesWritten) {
  // Linux get_random_bytes_user(): a fault after some bytes returns the count.
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(page_at(p, 1), kPage, PROT_READ));
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getrandom(page_at(p, 1) - 64, 128, 0), 64);
  munmap(p, 2 * kPage);
}

TEST(Getrandom, GlibcWrapperAndGetentropy) {
  unsigned char buf[64] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(getrandom(buf, sizeof buf, 0), 64);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getentropy(buf, sizeof buf), 0);
  EXPECT_SYSCALL_FAILS_WITH(getentropy(buf, 257), EIO);
}
