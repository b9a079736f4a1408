// Conformance: dup(2), dup2(2), dup3(2).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int open_file(int flags = O_RDONLY) {
  make_file(tmp("f"), "0123456789");
  return ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), flags));
}

}  // namespace

TEST(Dup, ReturnsLowestFreeFd) {
  int fd = open_file();
  int spare = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  int next = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  EXPECT_EQ(next, spare + 1);
  close(spare);
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup(fd), spare);
  close(spare);
  close(next);
  close(fd);
}

TEST(Dup, SharesOffset) {
  int fd = open_file();
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 4, SEEK_SET));
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(d, &c, 1), 1);
  EXPECT_EQ(c, '4');
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 5);
  close(d);
  close(fd);
}

TEST(Dup, ClearsCloexec) {
  int fd = open_file(O_RDONLY | O_CLOEXEC);
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(d, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(Dup, BadFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(dup(-1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(dup(9999), EBADF);
}

TEST(Dup, SurvivesCloseOfOriginal) {
  int fd = open_file();
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  close(fd);
  EXPECT_STREQ(read_all(d), "0123456789");
  close(d);
}

TEST(Dup, OPathFdCanBeDuplicated) {
  int fd = open_file(O_PATH);
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(d, F_GETFL)) & O_PATH);
  close(d);
  close(fd);
}

TEST(Dup2, SameFdReturnsFd) {
  int fd = open_file();
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup2(fd, fd), fd);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFD));
  close(fd);
}

TEST(Dup2, SameFdKeepsCloexec) {
  int fd = open_file(O_RDONLY | O_CLOEXEC);
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup2(fd, fd), fd);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Dup2, SameBadFdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(dup2(9999, 9999), EBADF); }

TEST(Dup2, ToUnusedFd) {
  int fd = open_file();
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup2(fd, 77), 77);
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(77, &c, 1), 1);
  EXPECT_EQ(c, '0');
  close(77);
  close(fd);
}

TEST(Dup2, ReplacesOpenFd) {
  int fd = open_file();
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup2(fd, p[0]), p[0]);
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(p[0], &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  close(p[0]);
  close(p[1]);
  close(fd);
}

TEST(Dup2, ClearsCloexecOnNewFd) {
  int fd = open_file();
  int target = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup2(fd, target), target);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(target, F_GETFD), 0);
  close(target);
  close(fd);
}

TEST(Dup2, BadOldFdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(dup2(9999, 50), EBADF); }

TEST(Dup2, BadOldFdLeavesNewFdOpen) {
  int fd = open_file();
  EXPECT_SYSCALL_FAILS_WITH(dup2(9999, fd), EBADF);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFD));
  close(fd);
}

TEST(Dup2, NegativeNewFdIsEbadf) {
  int fd = open_file();
  EXPECT_SYSCALL_FAILS_WITH(dup2(fd, -1), EBADF);
  close(fd);
}

TEST(Dup2, NewFdAtLimitIsEbadf) {
  struct rlimit rl;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &rl));
  int fd = open_file();
  EXPECT_SYSCALL_FAILS_WITH(dup2(fd, static_cast<int>(rl.rlim_cur)), EBADF);
  close(fd);
}

TEST(Dup3, SameFdIsEinval) {
  int fd = open_file();
  EXPECT_SYSCALL_FAILS_WITH(dup3(fd, fd, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(dup3(fd, fd, O_CLOEXEC), EINVAL);
  close(fd);
}

TEST(Dup3, CloexecFlag) {
  int fd = open_file();
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup3(fd, 60, O_CLOEXEC), 60);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(60, F_GETFD), FD_CLOEXEC);
  EXPECT_SYSCALL_SUCCEEDS_WITH(dup3(fd, 61, 0), 61);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(61, F_GETFD), 0);
  close(60);
  close(61);
  close(fd);
}

TEST(Dup3, InvalidFlagsIsEinval) {
  int fd = open_file();
  EXPECT_SYSCALL_FAILS_WITH(dup3(fd, 60, O_NONBLOCK), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(60, F_GETFD), EBADF);
  close(fd);
}

TEST(Dup3, BadOldFdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(dup3(9999, 60, 0), EBADF); }
