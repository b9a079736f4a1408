// Conformance: the character devices /dev/null, /dev/zero, /dev/full,
// /dev/random, /dev/urandom and the /dev/std* links.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

void expect_device(const char* path, unsigned maj, unsigned min) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(path, &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), maj);
  EXPECT_EQ(minor(st.st_rdev), min);
  EXPECT_EQ(st.st_size, 0);
}

}  // namespace

TEST(DevNull, ReadReturnsEof) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY));
  char buf[16];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(DevNull, WriteSwallowsEverything) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_WRONLY));
  static char big[100000];
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, big, sizeof big), sizeof big);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "x", 0), 0);
  close(fd);
}

TEST(DevNull, IsCharacterDevice) { expect_device("/dev/null", 1, 3); }

TEST(DevNull, ReadWriteOpen) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDWR));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "abc", 3), 3);
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 0);
  close(fd);
}

TEST(DevNull, PreadAndPwrite) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDWR));
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, &c, 1, 100), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "ab", 2, 100), 2);
  close(fd);
}

TEST(DevNull, WriteOnReadOnlyOpenIsEbadf) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EBADF);
  close(fd);
}

TEST(DevZero, ReadFillsZeros) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/zero", O_RDONLY));
  char buf[5000];
  memset(buf, 0xff, sizeof buf);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), sizeof buf);
  bool all_zero = true;
  for (char c : buf) all_zero = all_zero && c == 0;
  EXPECT_TRUE(all_zero);
  close(fd);
}

TEST(DevZero, ReadvFillsEverySegment) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/zero", O_RDONLY));
  char a[3] = {1, 1, 1}, b[7] = {1, 1, 1, 1, 1, 1, 1};
  struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(readv(fd, iov, 2), 10);
  EXPECT_EQ(a[2] + b[6], 0);
  close(fd);
}

TEST(DevZero, WriteSucceeds) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/zero", O_WRONLY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "abc", 3), 3);
  close(fd);
}

TEST(DevZero, IsCharacterDevice) { expect_device("/dev/zero", 1, 5); }

TEST(DevZero, BadBufferIsEfault) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/zero", O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(read(fd, bad_ptr(), 16), EFAULT);
  close(fd);
}

TEST(DevFull, WriteIsEnospc) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/full", O_WRONLY));
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), ENOSPC);
  close(fd);
}

TEST(DevFull, ReadGivesZeros) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/full", O_RDONLY));
  char buf[8];
  memset(buf, 1, sizeof buf);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 8);
  EXPECT_EQ(buf[0] + buf[7], 0);
  close(fd);
}

TEST(DevFull, IsCharacterDevice) { expect_device("/dev/full", 1, 7); }

TEST(DevUrandom, ReadFillsBuffer) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/urandom", O_RDONLY));
  unsigned char a[64] = {}, b[64] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, a, sizeof a), sizeof a);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, b, sizeof b), sizeof b);
  EXPECT_NE(memcmp(a, b, sizeof a), 0);
  close(fd);
}

TEST(DevUrandom, IsCharacterDevice) { expect_device("/dev/urandom", 1, 9); }

TEST(DevRandom, ReadSucceeds) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/random", O_RDONLY));
  unsigned char buf[16];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), sizeof buf);
  close(fd);
  expect_device("/dev/random", 1, 8);
}

TEST(DevStdio, LinksPointIntoProcSelfFd) {
  char buf[64];
  ssize_t n = ASSERT_SYSCALL_SUCCEEDS(readlink("/dev/stdin", buf, sizeof buf));
  EXPECT_STREQ(std::string(buf, n), "/proc/self/fd/0");
  n = ASSERT_SYSCALL_SUCCEEDS(readlink("/dev/stderr", buf, sizeof buf));
  EXPECT_STREQ(std::string(buf, n), "/proc/self/fd/2");
  n = ASSERT_SYSCALL_SUCCEEDS(readlink("/dev/fd", buf, sizeof buf));
  EXPECT_STREQ(std::string(buf, n), "/proc/self/fd");
}

TEST(DevFd, OpensTheSameFile) {
  make_file(tmp("f"), "via dev fd");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int again = ASSERT_SYSCALL_SUCCEEDS(open(("/dev/fd/" + std::to_string(fd)).c_str(), O_RDONLY));
  EXPECT_STREQ(read_all(again), "via dev fd");
  close(again);
  close(fd);
}
