// Conformance: mremap(2).
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
void* raw_mremap(void* old, size_t old_len, size_t new_len, int flags, void* new_addr = nullptr) {
  return reinterpret_cast<void*>(syscall(SYS_mremap, old, old_len, new_len, flags, new_addr));
}
void fill(char* p, size_t len) {
  for (size_t i = 0; i < len; i++) p[i] = static_cast<char>(i * 7 + 3);
}
bool check(const char* p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != static_cast<char>(i * 7 + 3)) return false;
  return true;
}
}  // namespace

TEST(Mremap, GrowInPlace) {
  char* p = map_rw(4);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 2), 2 * kPage));
  fill(p, 2 * kPage);
  void* q = raw_mremap(p, 2 * kPage, 4 * kPage, 0);
  ASSERT_TRUE(q == p);
  EXPECT_TRUE(check(p, 2 * kPage));
  page_at(p, 3)[kPage - 1] = 1;
  EXPECT_EQ(page_at(p, 2)[0], 0);
  munmap(p, 4 * kPage);
}

TEST(Mremap, GrowBlockedWithoutMaymoveIsEnomem) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  void* blocker = mmap(page_at(p, 1), kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_TRUE(blocker == page_at(p, 1));
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, 2 * kPage, 0), ENOMEM);
  munmap(p, 2 * kPage);
}

TEST(Mremap, GrowWithMaymoveKeepsData) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  void* blocker = mmap(page_at(p, 1), kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_TRUE(blocker == page_at(p, 1));
  fill(p, kPage);
  char* q = static_cast<char*>(raw_mremap(p, kPage, 8 * kPage, MREMAP_MAYMOVE));
  ASSERT_TRUE(q != MAP_FAILED);
  EXPECT_TRUE(q != p);
  EXPECT_TRUE(check(q, kPage));
  page_at(q, 7)[0] = 1;
  EXPECT_FALSE(page_mapped(p));
  EXPECT_TRUE(page_mapped(blocker));
  munmap(q, 8 * kPage);
  munmap(blocker, kPage);
}

TEST(Mremap, ShrinkKeepsAddressAndUnmapsTail) {
  char* p = map_rw(4);
  ASSERT_TRUE(p);
  fill(p, kPage);
  void* q = raw_mremap(p, 4 * kPage, kPage, 0);
  ASSERT_TRUE(q == p);
  EXPECT_TRUE(check(p, kPage));
  EXPECT_FALSE(page_mapped(page_at(p, 1)));
  EXPECT_FALSE(page_mapped(page_at(p, 3)));
  munmap(p, kPage);
}

TEST(Mremap, FixedMovesToTheGivenAddress) {
  char* p = map_rw(2);
  char* dst = map_rw(4);
  ASSERT_TRUE(p && dst);
  fill(p, 2 * kPage);
  char* q = static_cast<char*>(raw_mremap(p, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, page_at(dst, 1)));
  ASSERT_TRUE(q == page_at(dst, 1));
  EXPECT_TRUE(check(q, 2 * kPage));
  EXPECT_FALSE(page_mapped(p));
  EXPECT_TRUE(page_mapped(dst));
  EXPECT_TRUE(page_mapped(page_at(dst, 3)));
  munmap(dst, 4 * kPage);
}

TEST(Mremap, FixedWithoutMaymoveIsEinval) {
  char* p = map_rw(1);
  char* dst = map_rw(1);
  ASSERT_TRUE(p && dst);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, kPage, MREMAP_FIXED, dst), EINVAL);
  munmap(p, kPage);
  munmap(dst, kPage);
}

TEST(Mremap, FixedOverlappingSourceIsEinval) {
  char* p = map_rw(4);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, page_at(p, 1)), EINVAL);
  munmap(p, 4 * kPage);
}

TEST(Mremap, FixedUnalignedNewAddressIsEinval) {
  char* p = map_rw(1);
  char* dst = map_rw(2);
  ASSERT_TRUE(p && dst);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, kPage, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 1), EINVAL);
  munmap(p, kPage);
  munmap(dst, 2 * kPage);
}

TEST(Mremap, UnknownFlagIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, kPage, 0x80), EINVAL);
  munmap(p, kPage);
}

TEST(Mremap, UnalignedOldAddressIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p + 1, kPage, 2 * kPage, MREMAP_MAYMOVE), EINVAL);
  munmap(p, kPage);
}

TEST(Mremap, ZeroNewLengthIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, 0, MREMAP_MAYMOVE), EINVAL);
  munmap(p, kPage);
}

TEST(Mremap, UnmappedOldRangeIsEfault) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, kPage));
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE), EFAULT);
}

TEST(Mremap, SameSizeReturnsSameAddress) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  EXPECT_TRUE(raw_mremap(p, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE) == p);
  munmap(p, 2 * kPage);
}

TEST(Mremap, MovedMappingKeepsProtectionInMaps) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  fill(p, kPage);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(p, kPage, PROT_READ));
  char* dst = map_rw(3);
  ASSERT_TRUE(dst);
  char* q = static_cast<char*>(raw_mremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, page_at(dst, 1)));
  ASSERT_TRUE(q == page_at(dst, 1));
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(q), &e));
  EXPECT_STREQ(e.perms, "r--p");
  EXPECT_EQ(e.start, reinterpret_cast<uintptr_t>(q));
  EXPECT_EQ(e.end, reinterpret_cast<uintptr_t>(page_at(dst, 3)));
  EXPECT_TRUE(check(q, kPage));
  munmap(dst, 3 * kPage);
}

TEST(Mremap, SharedFileMappingGrowsOverFile) {
  std::string path = temp_dir() + "/f";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_SYSCALL_SUCCEEDS(fill_zeros(fd, 2 * kPage));
  ASSERT_SYSCALL_SUCCEEDS(pwrite(fd, "second", 6, kPage));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  char* q = static_cast<char*>(raw_mremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE));
  ASSERT_TRUE(q != MAP_FAILED);
  EXPECT_EQ(memcmp(page_at(q, 1), "second", 6), 0);
  munmap(q, 2 * kPage);
  close(fd);
}

TEST(Mremap, ZeroOldLengthDuplicatesASharedMapping) {
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  strcpy(p, "dup");
  char* q = static_cast<char*>(raw_mremap(p, 0, kPage, MREMAP_MAYMOVE));
  ASSERT_TRUE(q != MAP_FAILED);
  EXPECT_TRUE(q != p);
  EXPECT_STREQ(q, "dup");
  q[0] = 'D';
  EXPECT_EQ(p[0], 'D');
  EXPECT_TRUE(page_mapped(p));
  munmap(p, kPage);
  munmap(q, kPage);
}

TEST(Mremap, ZeroOldLengthOfAPrivateMappingIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, 0, kPage, MREMAP_MAYMOVE), EINVAL);
  munmap(p, kPage);
}

TEST(Mremap, DontunmapMovesPagesAndLeavesTheOldRangeMapped) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  fill(p, 2 * kPage);
  char* q = static_cast<char*>(raw_mremap(p, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
  ASSERT_TRUE(q != MAP_FAILED);
  EXPECT_TRUE(q != p);
  EXPECT_TRUE(check(q, 2 * kPage));
  // The old range stays mapped, its private anonymous pages now empty.
  EXPECT_TRUE(page_mapped(p));
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(page_at(p, 1)[kPage - 1], 0);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(q), &e));
  EXPECT_STREQ(e.perms, "rw-p");
  munmap(p, 2 * kPage);
  munmap(q, 2 * kPage);
}

TEST(Mremap, DontunmapNeedsMaymoveAndEqualLengths) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, kPage, MREMAP_DONTUNMAP), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_mremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_DONTUNMAP), EINVAL);
  munmap(p, 2 * kPage);
}
