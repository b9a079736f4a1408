// Conformance: madvise(2).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
char* map_anon(size_t pages, int share) {
  void* p = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, share | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}
}  // namespace

TEST(Madvise, DontneedZeroesPrivateAnonymousPages) {
  char* p = map_anon(2, MAP_PRIVATE);
  ASSERT_TRUE(p);
  memset(p, 'd', 2 * kPage);
  ASSERT_SYSCALL_SUCCEEDS(madvise(p, kPage, MADV_DONTNEED));
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[kPage - 1], 0);
  EXPECT_EQ(page_at(p, 1)[0], 'd');
  munmap(p, 2 * kPage);
}

TEST(Madvise, DontneedKeepsSharedAnonymousData) {
  char* p = map_anon(1, MAP_SHARED);
  ASSERT_TRUE(p);
  strcpy(p, "shmem");
  ASSERT_SYSCALL_SUCCEEDS(madvise(p, kPage, MADV_DONTNEED));
  EXPECT_STREQ(p, "shmem");
  munmap(p, kPage);
}

TEST(Madvise, DontneedOnPrivateFileMappingRereadsTheFile) {
  std::string path = temp_dir() + "/f";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_SYSCALL_SUCCEEDS(fill_zeros(fd, kPage));
  ASSERT_SYSCALL_SUCCEEDS(pwrite(fd, "file", 4, 0));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  memcpy(p, "priv", 4);
  ASSERT_SYSCALL_SUCCEEDS(madvise(p, kPage, MADV_DONTNEED));
  EXPECT_EQ(memcmp(p, "file", 4), 0);
  munmap(p, kPage);
  close(fd);
}

TEST(Madvise, UnknownAdviceIsEinval) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(madvise(p, kPage, 999), EINVAL);
  munmap(p, kPage);
}

TEST(Madvise, UnmappedRangeIsEnomem) {
  char* p = map_anon(2, MAP_PRIVATE);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  EXPECT_SYSCALL_FAILS_WITH(madvise(page_at(p, 1), kPage, MADV_NORMAL), ENOMEM);
  EXPECT_SYSCALL_FAILS_WITH(madvise(p, 2 * kPage, MADV_WILLNEED), ENOMEM);
  munmap(p, kPage);
}

TEST(Madvise, UnalignedAddressIsEinval) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(madvise(p + 1, kPage, MADV_NORMAL), EINVAL);
  munmap(p, kPage);
}

TEST(Madvise, ZeroLengthSucceeds) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, 0, MADV_DONTNEED), 0);
  munmap(p, kPage);
}

TEST(Madvise, AccessPatternHintsSucceed) {
  char* p = map_anon(4, MAP_PRIVATE);
  ASSERT_TRUE(p);
  p[0] = 'h';
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, 4 * kPage, MADV_SEQUENTIAL), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, 4 * kPage, MADV_RANDOM), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, 4 * kPage, MADV_WILLNEED), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, 4 * kPage, MADV_NORMAL), 0);
  EXPECT_EQ(p[0], 'h');
  munmap(p, 4 * kPage);
}

TEST(Madvise, FreeThenWriteKeepsNewData) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  p[0] = 'a';
  ASSERT_SYSCALL_SUCCEEDS(madvise(p, kPage, MADV_FREE));
  p[0] = 'b';
  EXPECT_EQ(p[0], 'b');
  munmap(p, kPage);
}

TEST(Madvise, DontforkAndDofork) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, kPage, MADV_DONTFORK), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(madvise(p, kPage, MADV_DOFORK), 0);
  munmap(p, kPage);
}

// msync(2), mincore(2) and mlock(2) sit with madvise: calls about the pages
// behind a mapping rather than the mapping itself.
TEST(Msync, SharedFileMappingSyncs) {
  std::string path = temp_dir() + "/f";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_SYSCALL_SUCCEEDS(fill_zeros(fd, kPage));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  p[0] = 's';
  EXPECT_SYSCALL_SUCCEEDS_WITH(msync(p, kPage, MS_SYNC), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(msync(p, kPage, MS_ASYNC), 0);
  munmap(p, kPage);
  close(fd);
}

TEST(Msync, BadArgumentsAreRejected) {
  char* p = map_anon(2, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(msync(p + 1, kPage, MS_SYNC), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(msync(p, kPage, MS_SYNC | MS_ASYNC), EINVAL);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  EXPECT_SYSCALL_FAILS_WITH(msync(p, 2 * kPage, MS_SYNC), ENOMEM);
  munmap(p, kPage);
}

TEST(Mincore, ReportsTouchedPagesAsResident) {
  char* p = map_anon(2, MAP_PRIVATE);
  ASSERT_TRUE(p);
  p[0] = 1;
  unsigned char vec[2] = {0xff, 0xff};
  ASSERT_SYSCALL_SUCCEEDS(mincore(p, 2 * kPage, vec));
  EXPECT_EQ(vec[0] & 1, 1);
  EXPECT_EQ(vec[0] & 0xfe, 0);
  EXPECT_SYSCALL_FAILS_WITH(mincore(p + 1, kPage, vec), EINVAL);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 2 * kPage));
  EXPECT_SYSCALL_FAILS_WITH(mincore(p, kPage, vec), ENOMEM);
}

TEST(Mlock, LockAndUnlockAPage) {
  char* p = map_anon(1, MAP_PRIVATE);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_SUCCEEDS_WITH(mlock(p, kPage), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(munlock(p, kPage), 0);
  munmap(p, kPage);
}
