// Conformance: read(2), write(2), pread64(2), pwrite64(2), readv(2), writev(2).
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

// A file holding "0123456789", opened with flags.
int open_digits(int flags) {
  std::string p = tmp("digits");
  make_file(p, "0123456789");
  return ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), flags));
}

off_t size_of(int fd) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  return st.st_size;
}

}  // namespace

TEST(Read, ZeroLengthReturnsZero) {
  int fd = open_digits(O_RDONLY);
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
}

TEST(Read, ZeroLengthWithBadBufferReturnsZero) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, bad_ptr(), 0), 0);
  close(fd);
}

TEST(Read, AdvancesFilePosition) {
  int fd = open_digits(O_RDONLY);
  char buf[4] = {};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, 3), 3);
  EXPECT_EQ(memcmp(buf, "012", 3), 0);
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, 3), 3);
  EXPECT_EQ(memcmp(buf, "345", 3), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 6);
  close(fd);
}

TEST(Read, ShortReadAtEndOfFile) {
  int fd = open_digits(O_RDONLY);
  char buf[100];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 10);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(Read, EmptyFileReturnsZero) {
  std::string p = tmp("empty");
  make_file(p);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDONLY));
  char buf[8];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(Read, BadFdIsEbadf) {
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(-1, &c, 1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(read(9999, &c, 1), EBADF);
}

TEST(Read, ClosedFdIsEbadf) {
  int fd = open_digits(O_RDONLY);
  close(fd);
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EBADF);
}

TEST(Read, WriteOnlyFdIsEbadf) {
  int fd = open_digits(O_WRONLY);
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EBADF);
  close(fd);
}

TEST(Read, OPathFdIsEbadf) {
  int fd = open_digits(O_PATH);
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EBADF);
  close(fd);
}

TEST(Read, DirectoryIsEisdir) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EISDIR);
  close(fd);
}

TEST(Read, BadBufferIsEfault) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(read(fd, bad_ptr(), 4), EFAULT);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
}

TEST(Read, FaultAfterSomeBytesReturnsCount) {
  std::string p = tmp("big");
  make_file(p, std::string(8192, 'x'));
  long page = sysconf(_SC_PAGESIZE);
  char* m = static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(m != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(mprotect(m + page, page, PROT_NONE));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, m + page - 100, 200), 100);
  EXPECT_EQ(m[page - 1], 'x');
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 100);
  close(fd);
  munmap(m, 2 * page);
}

TEST(Write, ExtendsFile) {
  std::string p = tmp("f");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDWR | O_CREAT, 0644));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "hello", 5), 5);
  EXPECT_EQ(size_of(fd), 5);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, " world", 6), 6);
  EXPECT_EQ(size_of(fd), 11);
  close(fd);
  EXPECT_STREQ(read_file(p), "hello world");
}

TEST(Write, ZeroLengthDoesNotChangeFile) {
  int fd = open_digits(O_WRONLY);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "x", 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, bad_ptr(), 0), 0);
  EXPECT_EQ(size_of(fd), 10);
  close(fd);
}

TEST(Write, OverwritesInPlace) {
  int fd = open_digits(O_RDWR);
  ASSERT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 3, SEEK_SET), 3);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  EXPECT_EQ(size_of(fd), 10);
  close(fd);
  EXPECT_STREQ(read_file(tmp("digits")), "012ab56789");
}

TEST(Write, ReadOnlyFdIsEbadf) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EBADF);
  close(fd);
}

TEST(Write, BadFdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(write(-1, "x", 1), EBADF); }

TEST(Write, OPathFdIsEbadf) {
  int fd = open_digits(O_PATH);
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EBADF);
  close(fd);
}

TEST(Write, BadBufferIsEfault) {
  int fd = open_digits(O_WRONLY);
  EXPECT_SYSCALL_FAILS_WITH(write(fd, bad_ptr(), 4), EFAULT);
  EXPECT_EQ(size_of(fd), 10);
  close(fd);
}

TEST(Write, AppendAlwaysWritesAtEnd) {
  int fd = open_digits(O_WRONLY | O_APPEND);
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 0, SEEK_SET));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 12);
  close(fd);
  EXPECT_STREQ(read_file(tmp("digits")), "0123456789ab");
}

TEST(Write, PastEndLeavesZeroFilledHole) {
  int fd = open_digits(O_RDWR);
  ASSERT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 20, SEEK_SET), 20);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "z", 1), 1);
  EXPECT_EQ(size_of(fd), 21);
  char buf[11];
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, sizeof buf, 10), 11);
  EXPECT_EQ(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0z", 11), 0);
  close(fd);
}

TEST(Write, SharedDescriptionSharesPosition) {
  int fd = open_digits(O_RDWR);
  int fd2 = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd2, "cd", 2), 2);
  close(fd);
  close(fd2);
  EXPECT_STREQ(read_file(tmp("digits")), "abcd456789");
}

TEST(Write, SeparateOpensHaveSeparatePositions) {
  int fd = open_digits(O_RDWR);
  int fd2 = ASSERT_SYSCALL_SUCCEEDS(open(tmp("digits").c_str(), O_RDONLY));
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd2, &c, 1), 1);
  EXPECT_EQ(c, 'a');
  close(fd);
  close(fd2);
}

TEST(Pread, DoesNotMovePosition) {
  int fd = open_digits(O_RDONLY);
  char buf[3];
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 3, 5), 3);
  EXPECT_EQ(memcmp(buf, "567", 3), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
}

TEST(Pread, PastEndReturnsZero) {
  int fd = open_digits(O_RDONLY);
  char buf[3];
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 3, 100), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 3, 8), 2);
  close(fd);
}

TEST(Pread, NegativeOffsetIsEinval) {
  int fd = open_digits(O_RDONLY);
  char buf[3];
  EXPECT_SYSCALL_FAILS_WITH(pread(fd, buf, 3, -1), EINVAL);
  close(fd);
}

TEST(Pread, PipeIsEspipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  char buf[3];
  EXPECT_SYSCALL_FAILS_WITH(pread(p[0], buf, 3, 0), ESPIPE);
  close(p[0]);
  close(p[1]);
}

TEST(Pread, WriteOnlyFdIsEbadf) {
  int fd = open_digits(O_WRONLY);
  char buf[3];
  EXPECT_SYSCALL_FAILS_WITH(pread(fd, buf, 3, 0), EBADF);
  close(fd);
}

TEST(Pwrite, DoesNotMovePosition) {
  int fd = open_digits(O_RDWR);
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "xy", 2, 4), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
  EXPECT_STREQ(read_file(tmp("digits")), "0123xy6789");
}

TEST(Pwrite, NegativeOffsetIsEinval) {
  int fd = open_digits(O_RDWR);
  EXPECT_SYSCALL_FAILS_WITH(pwrite(fd, "x", 1, -5), EINVAL);
  close(fd);
}

TEST(Pwrite, PipeIsEspipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(pwrite(p[1], "x", 1, 0), ESPIPE);
  close(p[0]);
  close(p[1]);
}

// pwrite(2) BUGS: with O_APPEND, Linux appends regardless of the offset.
TEST(Pwrite, AppendModeAppends) {
  int fd = open_digits(O_WRONLY | O_APPEND);
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "ab", 2, 0), 2);
  close(fd);
  EXPECT_STREQ(read_file(tmp("digits")), "0123456789ab");
}

TEST(Readv, ScattersIntoBuffers) {
  int fd = open_digits(O_RDONLY);
  char a[3], b[4], c[10];
  struct iovec iov[3] = {{a, 3}, {b, 4}, {c, 10}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(readv(fd, iov, 3), 10);
  EXPECT_EQ(memcmp(a, "012", 3), 0);
  EXPECT_EQ(memcmp(b, "3456", 4), 0);
  EXPECT_EQ(memcmp(c, "789", 3), 0);
  close(fd);
}

TEST(Readv, ZeroCountReturnsZero) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_SUCCEEDS_WITH(readv(fd, nullptr, 0), 0);
  close(fd);
}

TEST(Readv, NegativeCountIsEinval) {
  int fd = open_digits(O_RDONLY);
  char a[3];
  struct iovec iov = {a, 3};
  EXPECT_SYSCALL_FAILS_WITH(readv(fd, &iov, -1), EINVAL);
  close(fd);
}

TEST(Readv, CountAboveIovMaxIsEinval) {
  int fd = open_digits(O_RDONLY);
  static struct iovec iov[IOV_MAX + 1];
  static char c;
  for (auto& v : iov) v = {&c, 0};
  EXPECT_SYSCALL_FAILS_WITH(readv(fd, iov, IOV_MAX + 1), EINVAL);
  close(fd);
}

TEST(Readv, BadIovecArrayIsEfault) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(readv(fd, static_cast<struct iovec*>(bad_ptr()), 1), EFAULT);
  close(fd);
}

TEST(Readv, NegativeLengthIsEinval) {
  int fd = open_digits(O_RDONLY);
  char a[3];
  struct iovec iov[2] = {{a, 3}, {a, static_cast<size_t>(-1)}};
  EXPECT_SYSCALL_FAILS_WITH(readv(fd, iov, 2), EINVAL);
  close(fd);
}

TEST(Writev, GathersBuffers) {
  std::string p = tmp("f");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_WRONLY | O_CREAT, 0644));
  char a[] = "ab", b[] = "", c[] = "cde";
  struct iovec iov[3] = {{a, 2}, {b, 0}, {c, 3}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(writev(fd, iov, 3), 5);
  close(fd);
  EXPECT_STREQ(read_file(p), "abcde");
}

TEST(Writev, ReadOnlyFdIsEbadf) {
  int fd = open_digits(O_RDONLY);
  char a[] = "ab";
  struct iovec iov = {a, 2};
  EXPECT_SYSCALL_FAILS_WITH(writev(fd, &iov, 1), EBADF);
  close(fd);
}

TEST(Writev, BadBaseIsEfault) {
  int fd = open_digits(O_WRONLY);
  struct iovec iov = {bad_ptr(), 4};
  EXPECT_SYSCALL_FAILS_WITH(writev(fd, &iov, 1), EFAULT);
  close(fd);
}

TEST(Writev, FaultAfterFirstSegmentReturnsCount) {
  std::string p = tmp("f");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_WRONLY | O_CREAT, 0644));
  char a[] = "abcd";
  struct iovec iov[2] = {{a, 4}, {bad_ptr(), 4}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(writev(fd, iov, 2), 4);
  close(fd);
  EXPECT_STREQ(read_file(p), "abcd");
}

TEST(Write, PipeBadBufferIsEfault) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(write(p[1], bad_ptr(), 4), EFAULT);
  close(p[0]);
  close(p[1]);
}

// pipe_read(): a failed copy to the reader's buffer consumes nothing.
TEST(Read, PipeBadBufferKeepsData) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(p, O_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(p[1], "abc", 3), 3);
  EXPECT_SYSCALL_FAILS_WITH(read(p[0], bad_ptr(), 3), EFAULT);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(p[0], buf, 3), 3);
  EXPECT_STREQ(buf, "abc");
  close(p[0]);
  close(p[1]);
}

TEST(Preadv, ReadsAtOffsetWithoutMovingPosition) {
  int fd = open_digits(O_RDONLY);
  char a[3] = {}, b[4] = {};
  iovec iov[2] = {{a, 3}, {b, 4}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(preadv(fd, iov, 2, 2), 7);
  EXPECT_STREQ(std::string(a, 3).c_str(), "234");
  EXPECT_STREQ(std::string(b, 4).c_str(), "5678");
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  EXPECT_SYSCALL_FAILS_WITH(preadv(fd, iov, 2, -1), EINVAL);
  close(fd);
}

TEST(Pwritev, WritesAtOffsetWithoutMovingPosition) {
  int fd = open_digits(O_RDWR);
  char x[] = "ab", y[] = "cd";
  iovec iov[2] = {{x, 2}, {y, 2}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwritev(fd, iov, 2, 8), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
  EXPECT_EQ(size_of(fd), 12);
  char all[13] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, all, 12, 0), 12);
  EXPECT_STREQ(all, "01234567abcd");
  close(fd);
}

TEST(Preadv, PipeIsEspipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  char c;
  iovec iov = {&c, 1};
  EXPECT_SYSCALL_FAILS_WITH(preadv(p[0], &iov, 1, 0), ESPIPE);
  EXPECT_SYSCALL_FAILS_WITH(pwritev(p[1], &iov, 1, 0), ESPIPE);
  close(p[0]);
  close(p[1]);
}

TEST(Preadv2, MinusOneUsesAndAdvancesThePosition) {
  int fd = open_digits(O_RDONLY);
  char a[4] = {};
  iovec iov = {a, 4};
  EXPECT_SYSCALL_SUCCEEDS_WITH(preadv2(fd, &iov, 1, -1, 0), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(preadv2(fd, &iov, 1, -1, RWF_HIPRI), 4);
  EXPECT_STREQ(std::string(a, 4).c_str(), "4567");
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 8);
  EXPECT_SYSCALL_FAILS_WITH(preadv2(fd, &iov, 1, -2, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(preadv2(fd, &iov, 1, 0, 0x80000000), EOPNOTSUPP);
  close(fd);
}

TEST(Pwritev2, AppendFlagWritesAtTheEnd) {
  int fd = open_digits(O_RDWR);
  char x[] = "XY";
  iovec iov = {x, 2};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwritev2(fd, &iov, 1, 0, RWF_APPEND), 2);
  EXPECT_EQ(size_of(fd), 12);
  char all[13] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, all, 12, 0), 12);
  EXPECT_STREQ(all, "0123456789XY");
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwritev2(fd, &iov, 1, 0, RWF_DSYNC | RWF_SYNC), 2);
  close(fd);
}

TEST(Fadvise, AdviceIsCheckedAndAccepted) {
  int fd = open_digits(O_RDONLY);
  EXPECT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
  EXPECT_EQ(posix_fadvise(fd, 0, 10, POSIX_FADV_DONTNEED), 0);
  EXPECT_EQ(posix_fadvise(fd, 0, 0, 42), EINVAL);
  EXPECT_EQ(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), EINVAL);
  EXPECT_EQ(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL), EBADF);
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_EQ(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
  close(p[0]);
  close(p[1]);
  close(fd);
}

TEST(Readahead, RegularFilesOnly) {
  int fd = open_digits(O_RDONLY);
  EXPECT_SYSCALL_SUCCEEDS_WITH(readahead(fd, 0, 4096), 0);
  close(fd);
  int wfd = open_digits(O_WRONLY);
  EXPECT_SYSCALL_FAILS_WITH(readahead(wfd, 0, 4096), EBADF);
  close(wfd);
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(readahead(p[0], 0, 10), EINVAL);
  close(p[0]);
  close(p[1]);
}
