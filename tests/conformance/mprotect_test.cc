// Conformance: mprotect(2).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
char* map_rw(size_t pages) {
  void* p = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}
std::string perms_at(void* addr) {
  MapsEntry e;
  return find_maps_entry(reinterpret_cast<uintptr_t>(addr), &e) ? e.perms : "";
}
}  // namespace

TEST(Mprotect, UnmappedIsEnomem) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, kPage));
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p, kPage, PROT_READ), ENOMEM);
}

TEST(Mprotect, RangeRunningIntoAHoleIsEnomem) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p, 2 * kPage, PROT_READ), ENOMEM);
  munmap(p, kPage);
}

TEST(Mprotect, UnalignedAddressIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p + 8, kPage, PROT_READ), EINVAL);
  munmap(p, kPage);
}

TEST(Mprotect, UnknownProtBitIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p, kPage, PROT_READ | 0x40), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p, kPage, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), EINVAL);
  munmap(p, kPage);
}

TEST(Mprotect, ProtSemIsAccepted) {
  // arch_validate_prot() allows PROT_SEM (0x8) everywhere.
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_SUCCEEDS_WITH(mprotect(p, kPage, PROT_READ | PROT_WRITE | 0x8), 0);
  p[0] = 1;
  munmap(p, kPage);
}

TEST(Mprotect, ZeroLengthSucceeds) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_SUCCEEDS_WITH(mprotect(p, 0, PROT_NONE), 0);
  EXPECT_STREQ(perms_at(p), "rw-p");
  munmap(p, kPage);
}

TEST(Mprotect, ReadOnlyShowsInMaps) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  p[0] = 'r';
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, 2 * kPage, PROT_READ));
  EXPECT_STREQ(perms_at(p), "r--p");
  EXPECT_EQ(p[0], 'r');
  munmap(p, 2 * kPage);
}

TEST(Mprotect, MiddlePageSplitsMapping) {
  char* p = map_rw(3);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(page_at(p, 1), kPage, PROT_NONE));
  EXPECT_STREQ(perms_at(p), "rw-p");
  EXPECT_STREQ(perms_at(page_at(p, 1)), "---p");
  EXPECT_STREQ(perms_at(page_at(p, 2)), "rw-p");
  MapsEntry mid;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(page_at(p, 1)), &mid));
  EXPECT_EQ(mid.start, reinterpret_cast<uintptr_t>(page_at(p, 1)));
  EXPECT_EQ(mid.end, reinterpret_cast<uintptr_t>(page_at(p, 2)));
  munmap(p, 3 * kPage);
}

TEST(Mprotect, NoneAndBackKeepsData) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  strcpy(p, "kept");
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, kPage, PROT_NONE));
  EXPECT_STREQ(perms_at(p), "---p");
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, kPage, PROT_READ | PROT_WRITE));
  EXPECT_STREQ(p, "kept");
  p[5] = 'x';
  munmap(p, kPage);
}

TEST(Mprotect, LengthIsRoundedUp) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, 1, PROT_READ));
  EXPECT_STREQ(perms_at(p), "r--p");
  EXPECT_STREQ(perms_at(page_at(p, 1)), "rw-p");
  munmap(p, 2 * kPage);
}

TEST(Mprotect, AddExecShowsInMaps) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, kPage, PROT_READ | PROT_EXEC));
  EXPECT_STREQ(perms_at(p), "r-xp");
  munmap(p, kPage);
}

TEST(Mprotect, SharedReadOnlyFileMappingCannotBecomeWritable) {
  std::string path = temp_dir() + "/f";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_SYSCALL_SUCCEEDS(fill_zeros(fd, kPage));
  close(fd);
  fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDONLY));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_SYSCALL_FAILS_WITH(mprotect(p, kPage, PROT_READ | PROT_WRITE), EACCES);
  EXPECT_STREQ(perms_at(p), "r--s");
  munmap(p, kPage);
  close(fd);
}
