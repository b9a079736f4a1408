// Conformance: flock(2) and fcntl(2)'s record locks: F_GETLK, F_SETLK,
// F_SETLKW and the open-file-description forms F_OFD_*.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int open_rw(const std::string& path) { return ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0644)); }

// Waits for pid for at most 10 s (then kills it); returns its exit code, or
// -1 when it had to be killed or died by a signal.
int reap(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// One byte through a pipe: a rendezvous between parent and child.
struct Signal {
  int fds[2];
  Signal() { ASSERT_SYSCALL_SUCCEEDS(pipe(fds)); }
  ~Signal() {
    close(fds[0]);
    close(fds[1]);
  }
  void post() { (void)!write(fds[1], "x", 1); }
  bool wait() {
    char c;
    return read(fds[0], &c, 1) == 1;
  }
};

struct flock range_lock(short type, off_t start, off_t len) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

int setlk(int fd, short type, off_t start, off_t len, int cmd = F_SETLK) {
  struct flock fl = range_lock(type, start, len);
  return fcntl(fd, cmd, &fl);
}

// F_GETLK for a write lock on [start, start+len): the conflicting lock.
struct flock getlk(int fd, off_t start, off_t len, int cmd = F_GETLK) {
  struct flock fl = range_lock(F_WRLCK, start, len);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, cmd, &fl));
  return fl;
}

// Arms a one-shot SIGALRM after ms milliseconds with a handler that does
// not restart; restores everything when it goes out of scope.
struct AlarmGuard {
  struct sigaction old = {};
  explicit AlarmGuard(int ms) {
    struct sigaction sa = {};
    sa.sa_handler = [](int) {};
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {};
    it.it_value.tv_usec = ms * 1000;
    setitimer(ITIMER_REAL, &it, nullptr);
  }
  ~AlarmGuard() {
    struct itimerval off = {};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &old, nullptr);
  }
};

}  // namespace

TEST(Flock, SharedLocksCoexist) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  EXPECT_SYSCALL_SUCCEEDS(flock(a, LOCK_SH | LOCK_NB));
  EXPECT_SYSCALL_SUCCEEDS(flock(b, LOCK_SH | LOCK_NB));
  EXPECT_SYSCALL_FAILS_WITH(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(a);
  close(b);
}

TEST(Flock, ExclusiveExcludesOtherDescriptions) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  EXPECT_SYSCALL_FAILS_WITH(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_SYSCALL_FAILS_WITH(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  // The same description may lock again, or change its lock.
  EXPECT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX | LOCK_NB));
  EXPECT_SYSCALL_SUCCEEDS(flock(a, LOCK_SH | LOCK_NB));
  EXPECT_SYSCALL_SUCCEEDS(flock(b, LOCK_SH | LOCK_NB));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_UN));
  ASSERT_SYSCALL_SUCCEEDS(flock(b, LOCK_UN));
  EXPECT_SYSCALL_SUCCEEDS(flock(b, LOCK_EX | LOCK_NB));
  close(a);
  close(b);
}

TEST(Flock, TheLockBelongsToTheDescription) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  int dup_a = ASSERT_SYSCALL_SUCCEEDS(dup(a));
  // A dup shares the lock: locking through it is no conflict.
  EXPECT_SYSCALL_SUCCEEDS(flock(dup_a, LOCK_EX | LOCK_NB));
  close(a);  // the description lives on in dup_a, and so does the lock
  EXPECT_SYSCALL_FAILS_WITH(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(dup_a);  // the last fd: the lock goes
  EXPECT_SYSCALL_SUCCEEDS(flock(b, LOCK_EX | LOCK_NB));
  close(b);
}

TEST(Flock, ArgumentErrors) {
  int a = open_rw(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(flock(a, LOCK_SH | LOCK_EX), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(flock(a, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(flock(9999, LOCK_SH), EBADF);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(flock(path_fd, LOCK_SH), EBADF);
  close(path_fd);
  close(a);
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_SUCCEEDS(flock(p[0], LOCK_EX | LOCK_NB));  // any open file can be locked
  close(p[0]);
  close(p[1]);
}

TEST(Flock, ForkSharesTheDescriptionsLock) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    if (flock(a, LOCK_EX | LOCK_NB) != 0) _exit(1);  // the inherited fd: the same lock
    int other = open(path.c_str(), O_RDWR);
    if (flock(other, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) _exit(2);
    _exit(0);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(Flock, BlockingLockWaitsForTheHolder) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  std::string path = tmp("f");
  Signal ready;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    int b = open(path.c_str(), O_RDWR);
    ready.post();
    if (flock(b, LOCK_EX) != 0) _exit(1);  // waits for the parent
    _exit(0);
  }
  ASSERT_TRUE(ready.wait());
  usleep(100000);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);  // still waiting
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_UN));
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(Flock, SignalInterruptsTheWait) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  {
    AlarmGuard alarm_in(100);
    EXPECT_SYSCALL_FAILS_WITH(flock(b, LOCK_EX), EINTR);
  }
  close(a);
  EXPECT_SYSCALL_SUCCEEDS(flock(b, LOCK_EX | LOCK_NB));
  close(b);
}

TEST(Flock, IndependentOfRecordLocks) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(flock(a, LOCK_EX));
  EXPECT_SYSCALL_SUCCEEDS(setlk(b, F_WRLCK, 0, 0, F_OFD_SETLK));
  close(a);
  close(b);
}

TEST(RecordLock, OwnProcessNeverConflicts) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 10));
  EXPECT_SYSCALL_SUCCEEDS(setlk(b, F_WRLCK, 5, 10));
  EXPECT_EQ(getlk(b, 0, 100).l_type, F_UNLCK);
  close(a);
  close(b);
}

TEST(RecordLock, GetlkReportsAnotherProcessesLock) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 10));
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    int b = open(path.c_str(), O_RDWR);
    struct flock fl = range_lock(F_RDLCK, 5, 1);
    if (fcntl(b, F_GETLK, &fl) != 0) _exit(1);
    if (fl.l_type != F_WRLCK || fl.l_start != 0 || fl.l_len != 10 || fl.l_whence != SEEK_SET) _exit(2);
    if (fl.l_pid != getppid()) _exit(3);
    struct flock free_range = range_lock(F_WRLCK, 10, 5);
    if (fcntl(b, F_GETLK, &free_range) != 0 || free_range.l_type != F_UNLCK) _exit(4);
    if (setlk(b, F_RDLCK, 9, 1) == 0 || errno != EAGAIN) _exit(5);
    if (setlk(b, F_WRLCK, 10, 0) != 0) _exit(6);  // from 10 to the end: free
    _exit(0);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, ReadLocksShare) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_RDLCK, 0, 0));
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    int b = open(path.c_str(), O_RDWR);
    if (setlk(b, F_RDLCK, 0, 100) != 0) _exit(1);
    if (setlk(b, F_WRLCK, 0, 1) == 0 || errno != EAGAIN) _exit(2);
    _exit(0);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, ClosingAnyFdOfTheFileReleases) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 0));
  int b = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  close(b);  // POSIX: the process's locks on the file go with any close
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    int c = open(path.c_str(), O_RDWR);
    _exit(setlk(c, F_WRLCK, 0, 0) == 0 ? 0 : 1);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, ExitReleases) {
  std::string path = tmp("f");
  close(open_rw(path));
  Signal locked;
  pid_t pid = fork();
  if (pid == 0) {
    int c = open(path.c_str(), O_RDWR);
    if (setlk(c, F_WRLCK, 0, 0) != 0) _exit(1);
    locked.post();
    pause();
    _exit(0);
  }
  ASSERT_TRUE(locked.wait());
  int a = open_rw(path);
  EXPECT_SYSCALL_FAILS_WITH(setlk(a, F_WRLCK, 0, 0), EAGAIN);
  kill(pid, SIGKILL);
  reap(pid);
  EXPECT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 0));
  close(a);
}

TEST(RecordLock, UnlockSplitsARange) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 100));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_UNLCK, 40, 20));
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    int b = open(path.c_str(), O_RDWR);
    struct flock hole = getlk(b, 45, 1);
    if (hole.l_type != F_UNLCK) _exit(1);
    struct flock head = getlk(b, 10, 1);
    if (head.l_type != F_WRLCK || head.l_start != 0 || head.l_len != 40) _exit(2);
    struct flock tail = getlk(b, 70, 1);
    if (tail.l_type != F_WRLCK || tail.l_start != 60 || tail.l_len != 40) _exit(3);
    _exit(0);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, AdjacentLocksMerge) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 10));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 10, 10));
  std::string path = tmp("f");
  pid_t pid = fork();
  if (pid == 0) {
    int b = open(path.c_str(), O_RDWR);
    struct flock fl = getlk(b, 0, 0);
    _exit(fl.l_type == F_WRLCK && fl.l_start == 0 && fl.l_len == 20 ? 0 : 1);
  }
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, SetlkwWaitsForTheHolder) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 10));
  std::string path = tmp("f");
  Signal ready;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    int b = open(path.c_str(), O_RDWR);
    ready.post();
    _exit(setlk(b, F_WRLCK, 5, 1, F_SETLKW) == 0 ? 0 : 1);
  }
  ASSERT_TRUE(ready.wait());
  usleep(100000);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_UNLCK, 0, 0));
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, SetlkwIsInterruptedBySignals) {
  std::string path = tmp("f");
  close(open_rw(path));
  Signal locked, done;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    int c = open(path.c_str(), O_RDWR);
    if (setlk(c, F_WRLCK, 0, 0) != 0) _exit(1);
    locked.post();
    done.wait();
    _exit(0);
  }
  ASSERT_TRUE(locked.wait());
  int a = open_rw(path);
  {
    AlarmGuard alarm_in(100);
    EXPECT_SYSCALL_FAILS_WITH(setlk(a, F_WRLCK, 0, 0, F_SETLKW), EINTR);
  }
  done.post();
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, DeadlockIsEdeadlk) {
  std::string path = tmp("f");
  int a = open_rw(path);
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 1));
  Signal locked;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    int b = open(path.c_str(), O_RDWR);
    if (setlk(b, F_WRLCK, 1, 1) != 0) _exit(1);
    locked.post();
    // Waits for byte 0, which the parent holds; the parent then asks for byte 1.
    if (setlk(b, F_WRLCK, 0, 1, F_SETLKW) != 0) _exit(2);
    _exit(0);
  }
  ASSERT_TRUE(locked.wait());
  usleep(200000);  // let the child block
  EXPECT_SYSCALL_FAILS_WITH(setlk(a, F_WRLCK, 1, 1, F_SETLKW), EDEADLK);
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_UNLCK, 0, 0));
  EXPECT_EQ(reap(pid), 0);
  close(a);
}

TEST(RecordLock, TypeMustMatchTheOpenMode) {
  make_file(tmp("f"));
  int ro = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int wo = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY));
  EXPECT_SYSCALL_FAILS_WITH(setlk(ro, F_WRLCK, 0, 1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(setlk(wo, F_RDLCK, 0, 1), EBADF);
  EXPECT_SYSCALL_SUCCEEDS(setlk(ro, F_RDLCK, 0, 1));
  EXPECT_SYSCALL_SUCCEEDS(setlk(wo, F_WRLCK, 2, 1));
  EXPECT_SYSCALL_SUCCEEDS(setlk(ro, F_UNLCK, 0, 0));
  close(ro);
  close(wo);
}

TEST(RecordLock, ArgumentErrors) {
  int a = open_rw(tmp("f"));
  struct flock fl = range_lock(F_UNLCK, 0, 1);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_GETLK, &fl), EINVAL);
  fl = range_lock(42, 0, 1);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_SETLK, &fl), EINVAL);
  fl = range_lock(F_WRLCK, 0, 1);
  fl.l_whence = 7;
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_SETLK, &fl), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(setlk(a, F_WRLCK, -1, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(setlk(a, F_WRLCK, 2, -5), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 5, -5));  // [0, 5)
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_SETLK, reinterpret_cast<struct flock*>(8)), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(setlk(9999, F_WRLCK, 0, 1), EBADF);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(setlk(path_fd, F_RDLCK, 0, 1), EBADF);
  close(path_fd);
  close(a);
}

TEST(OfdLock, DescriptionsOfOneProcessConflict) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 10, F_OFD_SETLK));
  EXPECT_SYSCALL_FAILS_WITH(setlk(b, F_WRLCK, 5, 1, F_OFD_SETLK), EAGAIN);
  struct flock fl = getlk(b, 0, 1, F_OFD_GETLK);
  EXPECT_EQ(fl.l_type, F_WRLCK);
  EXPECT_EQ(fl.l_pid, -1);
  EXPECT_EQ(fl.l_len, 10);
  // A process's POSIX lock is another owner too.
  EXPECT_SYSCALL_FAILS_WITH(setlk(b, F_WRLCK, 0, 1), EAGAIN);
  close(a);  // the description ends: its locks go
  EXPECT_SYSCALL_SUCCEEDS(setlk(b, F_WRLCK, 5, 1, F_OFD_SETLK));
  close(b);
}

TEST(OfdLock, DupSharesAndLpidMustBeZero) {
  int a = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 0, F_OFD_SETLK));
  int d = ASSERT_SYSCALL_SUCCEEDS(dup(a));
  EXPECT_SYSCALL_SUCCEEDS(setlk(d, F_WRLCK, 0, 0, F_OFD_SETLK));
  struct flock fl = range_lock(F_WRLCK, 0, 1);
  fl.l_pid = 1;
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_OFD_SETLK, &fl), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(a, F_OFD_GETLK, &fl), EINVAL);
  close(a);
  close(d);
}

TEST(OfdLock, SetlkwWaitsAndASignalEndsIt) {
  int a = open_rw(tmp("f")), b = open_rw(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_WRLCK, 0, 0, F_OFD_SETLK));
  {
    AlarmGuard alarm_in(100);
    EXPECT_SYSCALL_FAILS_WITH(setlk(b, F_RDLCK, 0, 1, F_OFD_SETLKW), EINTR);
  }
  ASSERT_SYSCALL_SUCCEEDS(setlk(a, F_UNLCK, 0, 0, F_OFD_SETLK));
  EXPECT_SYSCALL_SUCCEEDS(setlk(b, F_RDLCK, 0, 1, F_OFD_SETLKW));
  close(a);
  close(b);
}
