// Conformance: mmap(2).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {

void* raw_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, uint64_t off) {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

// Creates a file under temp_dir() holding len bytes of pattern and returns an
// fd opened with the given flags.
int make_file(const char* name, size_t len, char pattern, int open_flags) {
  std::string path = temp_dir() + "/" + name;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  std::string data(len, pattern);
  if (len && write(fd, data.data(), len) != static_cast<ssize_t>(len)) return -1;
  close(fd);
  return open(path.c_str(), open_flags);
}

}  // namespace

TEST(Mmap, AnonymousPrivateIsZeroedAndWritable) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kPage, 0u);
  bool zero = true;
  for (size_t i = 0; i < 2 * kPage; i++) zero &= p[i] == 0;
  EXPECT_TRUE(zero);
  memset(p, 0x5a, 2 * kPage);
  EXPECT_EQ(p[2 * kPage - 1], 0x5a);
  EXPECT_SYSCALL_SUCCEEDS(munmap(p, 2 * kPage));
}

TEST(Mmap, AnonymousSharedIsWritable) {
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_EQ(p[0], 0);
  strcpy(p, "shared");
  EXPECT_STREQ(p, "shared");
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &e));
  EXPECT_STREQ(e.perms, "rw-s");
  EXPECT_SYSCALL_SUCCEEDS(munmap(p, kPage));
}

TEST(Mmap, ZeroLengthIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
}

TEST(Mmap, UnalignedOffsetIsEinval) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", 2 * kPage, 'x', O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100), EINVAL);
  close(fd);
}

TEST(Mmap, NeitherPrivateNorSharedIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
}

TEST(Mmap, SharedValidateAnonymousIsEinval) {
  // mm/mmap.c do_mmap: an anonymous mapping is MAP_SHARED or MAP_PRIVATE.
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL);
}

TEST(Mmap, SharedValidateUnknownFlagIsEopnotsupp) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, 'x', O_RDWR));
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_SHARED_VALIDATE | 0x200000, fd, 0), EOPNOTSUPP);
  void* p = raw_mmap(0, kPage, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
  EXPECT_TRUE(p != MAP_FAILED);
  if (p != MAP_FAILED) munmap(p, kPage);
  close(fd);
}

TEST(Mmap, BadFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, kPage, PROT_READ, MAP_SHARED, 9999, 0), EBADF);
}

TEST(Mmap, AnonymousIgnoresFd) {
  void* p = raw_mmap(0, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 9999, 0);
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_SYSCALL_SUCCEEDS(munmap(p, kPage));
}

TEST(Mmap, HugeLengthIsEnomem) {
  EXPECT_SYSCALL_FAILS_WITH(raw_mmap(0, ~size_t{0} - kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
}

TEST(Mmap, FixedUnalignedIsEinval) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_SYSCALL_FAILS_WITH(
      raw_mmap(reinterpret_cast<uintptr_t>(p) + 1, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
      EINVAL);
  munmap(p, 2 * kPage);
}

TEST(Mmap, FixedReplacesExistingMapping) {
  char* p = static_cast<char*>(mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  memset(p, 'A', 3 * kPage);
  void* q = mmap(page_at(p, 1), kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_TRUE(q == page_at(p, 1));
  EXPECT_EQ(p[0], 'A');
  EXPECT_EQ(page_at(p, 1)[0], 0);
  EXPECT_EQ(page_at(p, 1)[kPage - 1], 0);
  EXPECT_EQ(page_at(p, 2)[0], 'A');
  munmap(p, 3 * kPage);
}

TEST(Mmap, FixedNoreplaceOverMappingIsEexist) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  p[0] = 'k';
  EXPECT_SYSCALL_FAILS_WITH(mmap(page_at(p, 1), 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
                            EEXIST);
  EXPECT_EQ(p[0], 'k');
  munmap(p, 2 * kPage);
}

TEST(Mmap, FixedNoreplaceOnFreeRangeSucceeds) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 2 * kPage));
  void* q = mmap(p, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  EXPECT_TRUE(q == p);
  if (q != MAP_FAILED) munmap(q, 2 * kPage);
}

TEST(Mmap, HintIsHonouredWhenFree) {
  char* p = static_cast<char*>(mmap(nullptr, 4 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 4 * kPage));
  void* q = mmap(page_at(p, 1), kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_TRUE(q == page_at(p, 1));
  if (q != MAP_FAILED) munmap(q, kPage);
}

TEST(Mmap, OccupiedHintDoesNotClobber) {
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  p[0] = 'h';
  char* q = static_cast<char*>(mmap(p, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(q != MAP_FAILED);
  EXPECT_TRUE(q != p);
  EXPECT_EQ(p[0], 'h');
  EXPECT_EQ(q[0], 0);
  munmap(p, kPage);
  munmap(q, kPage);
}

TEST(Mmap, DistinctMappingsDoNotOverlap) {
  char* a = static_cast<char*>(mmap(nullptr, 3 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  char* b = static_cast<char*>(mmap(nullptr, 3 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(a != MAP_FAILED && b != MAP_FAILED);
  EXPECT_TRUE(a + 3 * kPage <= b || b + 3 * kPage <= a);
  munmap(a, 3 * kPage);
  munmap(b, 3 * kPage);
}

TEST(Mmap, UnknownProtBitsAreIgnored) {
  // mmap(2), unlike mprotect(2), does not validate prot (mm/mmap.c do_mmap).
  void* p = raw_mmap(0, kPage, PROT_READ | 0x100, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_TRUE(p != MAP_FAILED);
  if (p != MAP_FAILED) munmap(p, kPage);
}

TEST(Mmap, FileMappingShowsContent) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", 2 * kPage, 'q', O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS(pwrite(fd, "hello", 5, kPage));
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_EQ(p[0], 'q');
  EXPECT_EQ(memcmp(p + kPage, "hello", 5), 0);
  EXPECT_EQ(p[kPage + 5], 'q');
  munmap(p, 2 * kPage);
  close(fd);
}

TEST(Mmap, FileMappingAtOffset) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", 3 * kPage, 'a', O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS(pwrite(fd, "page2", 5, 2 * kPage));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 2 * kPage));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_EQ(memcmp(p, "page2", 5), 0);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &e));
  EXPECT_EQ(e.offset, 2 * kPage);
  munmap(p, kPage);
  close(fd);
}

TEST(Mmap, SharedFileWriteIsVisibleToRead) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, '.', O_RDWR));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  memcpy(p + 10, "through-mmap", 12);
  char buf[12] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, sizeof buf, 10), 12);
  EXPECT_EQ(memcmp(buf, "through-mmap", 12), 0);
  munmap(p, kPage);
  close(fd);
}

TEST(Mmap, WriteIsVisibleThroughSharedMapping) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, '.', O_RDWR));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "later", 5, 100), 5);
  EXPECT_EQ(memcmp(p + 100, "later", 5), 0);
  munmap(p, kPage);
  close(fd);
}

TEST(Mmap, PrivateFileWriteStaysPrivate) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, '.', O_RDWR));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  p[0] = 'X';
  char c = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, &c, 1, 0), 1);
  EXPECT_EQ(c, '.');
  munmap(p, kPage);
  close(fd);
}

TEST(Mmap, TailPastEndOfFileReadsZero) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", 100, 'z', O_RDONLY));
  // The mapping may extend past EOF; only the last partial page is readable.
  char* p = static_cast<char*>(mmap(nullptr, 3 * kPage, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  EXPECT_EQ(p[99], 'z');
  bool zero = true;
  for (size_t i = 100; i < kPage; i++) zero &= p[i] == 0;
  EXPECT_TRUE(zero);
  munmap(p, 3 * kPage);
  close(fd);
}

TEST(Mmap, ReadOnlyFdSharedWritableIsEacces) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, 'r', O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
  // A private writable mapping of a read-only fd is fine.
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  EXPECT_TRUE(p != MAP_FAILED);
  if (p != MAP_FAILED) munmap(p, kPage);
  close(fd);
}

TEST(Mmap, WriteOnlyFdIsEacces) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, 'w', O_WRONLY));
  EXPECT_SYSCALL_FAILS_WITH(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0), EACCES);
  close(fd);
}

TEST(Mmap, DirectoryIsEnodev) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_FAILS_WITH(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV);
  close(fd);
}

TEST(Mmap, ProtNoneShowsInMaps) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &e));
  EXPECT_STREQ(e.perms, "---p");
  EXPECT_TRUE(e.start <= reinterpret_cast<uintptr_t>(p) && e.end >= reinterpret_cast<uintptr_t>(p) + 2 * kPage);
  munmap(p, 2 * kPage);
}

TEST(Mmap, FileMappingNamedInMaps) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("named", kPage, 'n', O_RDONLY));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &e));
  EXPECT_STREQ(e.name, temp_dir() + "/named");
  EXPECT_STREQ(e.perms, "r--p");
  munmap(p, kPage);
  close(fd);
}

TEST(Mmap, MappingSurvivesClose) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(make_file("f", kPage, 'c', O_RDWR));
  char* p = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(close(fd));
  EXPECT_EQ(p[0], 'c');
  p[1] = 'D';
  int fd2 = ASSERT_SYSCALL_SUCCEEDS(open((temp_dir() + "/f").c_str(), O_RDONLY));
  char buf[2] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd2, buf, 2, 0), 2);
  EXPECT_EQ(buf[1], 'D');
  munmap(p, kPage);
  close(fd2);
}

TEST(Mmap, AnonymousMapsEntryHasZeroOffset) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &e));
  EXPECT_STREQ(e.perms, "rwxp");
  EXPECT_EQ(e.offset, 0u);
  munmap(p, 2 * kPage);
}
