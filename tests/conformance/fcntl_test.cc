// Conformance: fcntl(2) descriptor and status-flag commands, ioctl FIOCLEX.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int open_file(int flags) {
  make_file(tmp("f"), "abc");
  return ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), flags));
}

}  // namespace

TEST(Fcntl, DupfdReturnsLowestAtOrAboveMin) {
  int fd = open_file(O_RDONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 50));
  EXPECT_EQ(d, 50);
  int d2 = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 50));
  EXPECT_EQ(d2, 51);
  close(d);
  close(d2);
  close(fd);
}

TEST(Fcntl, DupfdZeroGivesLowestFree) {
  int fd = open_file(O_RDONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 0));
  EXPECT_GT(d, fd);
  close(fd);
  int d2 = ASSERT_SYSCALL_SUCCEEDS(fcntl(d, F_DUPFD, 0));
  EXPECT_EQ(d2, fd);
  close(d);
  close(d2);
}

TEST(Fcntl, DupfdNegativeMinIsEinval) {
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_DUPFD, -1), EINVAL);
  close(fd);
}

TEST(Fcntl, DupfdMinAtLimitIsEinval) {
  struct rlimit rl;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &rl));
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_DUPFD, static_cast<int>(rl.rlim_cur)), EINVAL);
  close(fd);
}

TEST(Fcntl, DupfdDoesNotCopyCloexec) {
  int fd = open_file(O_RDONLY | O_CLOEXEC);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 0));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(d, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(Fcntl, DupfdCloexecSetsCloexec) {
  int fd = open_file(O_RDONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD_CLOEXEC, 20));
  EXPECT_GE(d, 20);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(d, F_GETFD), FD_CLOEXEC);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(Fcntl, DupfdSharesOffset) {
  int fd = open_file(O_RDONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 0));
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(d, 0, SEEK_CUR), 1);
  close(d);
  close(fd);
}

TEST(Fcntl, SetfdGetfdRoundTrip) {
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), 0);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFD, FD_CLOEXEC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), FD_CLOEXEC);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFD, 0));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(Fcntl, CloexecIsPerDescriptor) {
  int fd = open_file(O_RDONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFD, FD_CLOEXEC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(d, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(Fcntl, GetflReportsAccessMode) {
  make_file(tmp("f"));
  int r = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY));
  int rw = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_EQ(ASSERT_SYSCALL_SUCCEEDS(fcntl(r, F_GETFL)) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(ASSERT_SYSCALL_SUCCEEDS(fcntl(w, F_GETFL)) & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(ASSERT_SYSCALL_SUCCEEDS(fcntl(rw, F_GETFL)) & O_ACCMODE, O_RDWR);
  close(r);
  close(w);
  close(rw);
}

TEST(Fcntl, SetflAppendAffectsWrites) {
  int fd = open_file(O_WRONLY);
  int fl = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFL, fl | O_APPEND));
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_APPEND);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "d", 1), 1);
  close(fd);
  EXPECT_STREQ(read_file(tmp("f")), "abcd");
}

TEST(Fcntl, SetflClearsAppend) {
  int fd = open_file(O_WRONLY | O_APPEND);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFL, 0));
  EXPECT_FALSE(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_APPEND);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "X", 1), 1);
  close(fd);
  EXPECT_STREQ(read_file(tmp("f")), "Xbc");
}

TEST(Fcntl, SetflCannotChangeAccessMode) {
  int fd = open_file(O_RDONLY);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFL, O_RDWR));
  EXPECT_EQ(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_ACCMODE, O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EBADF);
  close(fd);
}

TEST(Fcntl, SetflNonblockMakesEmptyPipeReadEagain) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(p[0], F_SETFL, O_NONBLOCK));
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(p[0], F_GETFL)) & O_NONBLOCK);
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(p[0], &c, 1), EAGAIN);
  close(p[0]);
  close(p[1]);
}

TEST(Fcntl, StatusFlagsSharedBetweenDups) {
  int fd = open_file(O_WRONLY);
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFL, O_APPEND));
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(d, F_GETFL)) & O_APPEND);
  close(d);
  close(fd);
}

TEST(Fcntl, UnknownCommandIsEinval) {
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, 9999), EINVAL);
  close(fd);
}

TEST(Fcntl, BadFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(fcntl(-1, F_GETFD), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(9999, F_GETFL), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(9999, F_SETFD, FD_CLOEXEC), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(9999, F_DUPFD, 0), EBADF);
}

TEST(Fcntl, OPathFdAllowsGetflAndDescriptorFlags) {
  int fd = open_file(O_PATH);
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_PATH);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFD, FD_CLOEXEC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), FD_CLOEXEC);
  int d = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_DUPFD, 0));
  close(d);
  close(fd);
}

TEST(Fcntl, OPathFdSetflIsEbadf) {
  int fd = open_file(O_PATH);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_SETFL, O_APPEND), EBADF);
  close(fd);
}

TEST(Fcntl, GetPipeSizeOnPipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_GE(ASSERT_SYSCALL_SUCCEEDS(fcntl(p[0], F_GETPIPE_SZ)), 4096);
  close(p[0]);
  close(p[1]);
}

TEST(Fcntl, GetPipeSizeOnFileIsEbadf) {
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_GETPIPE_SZ), EBADF);
  close(fd);
}

TEST(Ioctl, FioclexAndFionclex) {
  int fd = open_file(O_RDONLY);
  ASSERT_SYSCALL_SUCCEEDS(ioctl(fd, FIOCLEX));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), FD_CLOEXEC);
  ASSERT_SYSCALL_SUCCEEDS(ioctl(fd, FIONCLEX));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(Ioctl, TerminalRequestOnFileIsEnotty) {
  int fd = open_file(O_RDONLY);
  struct winsize ws;
  EXPECT_SYSCALL_FAILS_WITH(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
  close(fd);
}

TEST(Fcntl, SetownGetownRoundTrip) {
  int fd = open_file(O_RDONLY);
  EXPECT_EQ(fcntl(fd, F_GETOWN), 0);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETOWN, getpid()));
  EXPECT_EQ(fcntl(fd, F_GETOWN), getpid());
  // A negative owner is a process group.
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETOWN, -getpgrp()));
  EXPECT_EQ(fcntl(fd, F_GETOWN), -getpgrp());
  f_owner_ex ex{};
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETOWN_EX, &ex));
  EXPECT_EQ(ex.type, F_OWNER_PGRP);
  EXPECT_EQ(ex.pid, getpgrp());
  ex = {F_OWNER_TID, static_cast<pid_t>(gettid())};
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETOWN_EX, &ex));
  f_owner_ex got{};
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETOWN_EX, &got));
  EXPECT_EQ(got.type, F_OWNER_TID);
  EXPECT_EQ(got.pid, static_cast<pid_t>(gettid()));
  ex = {static_cast<__pid_type>(7), getpid()};
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_SETOWN_EX, &ex), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_SETOWN, 0x3fffffff), ESRCH);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETOWN, 0));
  EXPECT_EQ(fcntl(fd, F_GETOWN), 0);
  close(fd);
}

TEST(Fcntl, SetsigGetsig) {
  int fd = open_file(O_RDONLY);
  EXPECT_EQ(fcntl(fd, F_GETSIG), 0);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETSIG, SIGRTMIN + 1));
  EXPECT_EQ(fcntl(fd, F_GETSIG), SIGRTMIN + 1);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_SETSIG, 65), EINVAL);
  close(fd);
}

namespace {

// Waits up to 200 ms for sig (blocked by the caller).
bool got_signal(int sig, siginfo_t* info) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  timespec ts{0, 200 * 1000 * 1000};
  return sigtimedwait(&set, info, &ts) == sig;
}

}  // namespace

TEST(Fcntl, NotifyOnAFileIsEnotdir) {
  int fd = open_file(O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_NOTIFY, DN_CREATE), ENOTDIR);
  close(fd);
}

TEST(Fcntl, NotifySignalsDirectoryChanges) {
  int sig = SIGRTMIN + 2;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ASSERT_SYSCALL_SUCCEEDS(sigprocmask(SIG_BLOCK, &set, &old));
  std::string dir = tmp("watched");
  ASSERT_SYSCALL_SUCCEEDS(mkdir(dir.c_str(), 0755));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETSIG, sig));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_NOTIFY, DN_CREATE | DN_DELETE | DN_MULTISHOT));
  EXPECT_EQ(fcntl(fd, F_GETOWN), getpid());
  siginfo_t info{};
  make_file(dir + "/a", "x");
  EXPECT_TRUE(got_signal(sig, &info));
  EXPECT_EQ(info.si_fd, fd);
  EXPECT_EQ(info.si_code, POLL_MSG);
  // Multishot: a second change signals again; a modify was not asked for.
  ASSERT_SYSCALL_SUCCEEDS(unlink((dir + "/a").c_str()));
  EXPECT_TRUE(got_signal(sig, &info));
  // One-shot (no DN_MULTISHOT): a first change signals, the next does not.
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_NOTIFY, 0));
  make_file(dir + "/b", "x");
  EXPECT_FALSE(got_signal(sig, &info));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_NOTIFY, DN_CREATE));
  make_file(dir + "/c", "x");
  EXPECT_TRUE(got_signal(sig, &info));
  make_file(dir + "/d", "x");
  EXPECT_FALSE(got_signal(sig, &info));
  close(fd);
  for (const char* n : {"/b", "/c", "/d"}) unlink((dir + n).c_str());
  rmdir(dir.c_str());
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

// A mark belongs to the fd table it was set through: closing any fd of the
// description there drops it (dnotify_flush), a dup included; a forked
// child's close does not, since the child has a table of its own.
TEST(Fcntl, NotifyMarkGoesWithAClosedFd) {
  int sig = SIGRTMIN + 3;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ASSERT_SYSCALL_SUCCEEDS(sigprocmask(SIG_BLOCK, &set, &old));
  std::string dir = tmp("watched-close");
  ASSERT_SYSCALL_SUCCEEDS(mkdir(dir.c_str(), 0755));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  int dup_fd = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETSIG, sig));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
  siginfo_t info{};
  // The child closes both fds of its own table: the parent's mark stays.
  pid_t child = fork();
  if (child == 0) {
    close(fd);
    close(dup_fd);
    _exit(0);
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS(waitpid(child, &status, 0));
  make_file(dir + "/a", "x");
  EXPECT_TRUE(got_signal(sig, &info));
  // The parent closes the dup, not the fd the mark was set through: the
  // mark goes all the same.
  close(dup_fd);
  make_file(dir + "/b", "x");
  EXPECT_FALSE(got_signal(sig, &info));
  close(fd);
  for (const char* n : {"/a", "/b"}) unlink((dir + n).c_str());
  rmdir(dir.c_str());
  sigprocmask(SIG_SETMASK, &old, nullptr);
}
