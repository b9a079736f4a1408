// Conformance: fork(2), vfork(2), posix_spawn(3), wait4(2)/waitpid(2)/
// waitid(2), orphans and subreapers, SIGCHLD, and pidfds (pidfd_open,
// pidfd_send_signal, waitid(P_PIDFD), CLONE_PIDFD).
//
// Children report through their exit status (see proc_child.h); every case
// reaps what it started, with a deadline.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;
using namespace proc;

extern char** environ;

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace {

int g_global = 100;

long sys_pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
long sys_pidfd_send_signal(int fd, int sig, siginfo_t* info, unsigned flags) {
  return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

// struct clone_args, version 0 (64 bytes) up to version 2.
struct CloneArgs {
  uint64_t flags = 0, pidfd = 0, child_tid = 0, parent_tid = 0, exit_signal = 0, stack = 0, stack_size = 0, tls = 0,
           set_tid = 0, set_tid_size = 0, cgroup = 0;
};

// A child that blocks until the returned pipe's write end is closed (or a
// byte is written), then exits with code.
struct BlockedChild {
  Pipe go;
  pid_t pid = -1;
  explicit BlockedChild(int code = 0) {
    fflush(nullptr);
    pid = fork();
    if (pid == 0) {
      go.close_w();
      child_wait_for_go(go.r);
      _exit(code);
    }
    go.close_r();
  }
  void release() { go.close_w(); }
};

// Restores a signal's disposition when a case ends normally.
struct SavedAction {
  int sig;
  struct sigaction old;
  explicit SavedAction(int s) : sig(s) { sigaction(sig, nullptr, &old); }
  ~SavedAction() { sigaction(sig, &old, nullptr); }
};

// Waits (polling) until waitid reports something for pid with the given
// options (WNOWAIT recommended for peeking); returns true when it did.
bool waitid_timeout(idtype_t type, id_t id, siginfo_t* info, int options, int timeout_ms = 10000) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    memset(info, 0, sizeof *info);
    if (waitid(type, id, info, options | WNOHANG) != 0) return false;
    if (info->si_pid != 0) return true;
    if (now_ms() >= end) return false;
    sleep_ms(1);
  }
}

}  // namespace

// ---------------------------------------------------------------- fork

TEST(Fork, ChildGetsZeroParentGetsPid) {
  Pipe p;
  ASSERT_TRUE(p.ok());
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    pid_t me = getpid();
    write(p.w, &me, sizeof me);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  p.close_w();
  pid_t reported = -1;
  EXPECT_EQ(read_full_timeout(p.r, &reported, sizeof reported), (ssize_t)sizeof reported);
  EXPECT_EQ(reported, pid);
  EXPECT_NE(pid, getpid());
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Fork, ChildGetppidIsParent) {
  pid_t parent = getpid();
  pid_t pid = fork_child([&] { return getppid() == parent ? 0 : 1; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Fork, MemoryIsCopyOnWrite) {
  g_global = 100;
  int* heap = new int(200);
  Pipe go;
  pid_t pid = fork_child([&] {
    g_global = 1;
    *heap = 2;
    go.close_w();
    child_wait_for_go(go.r);
    // The parent's writes after the fork are not seen either.
    return g_global == 1 && *heap == 2 ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  sleep_ms(20);
  EXPECT_EQ(g_global, 100);
  EXPECT_EQ(*heap, 200);
  g_global = 300;
  *heap = 400;
  go.close_w();
  EXPECT_EQ(child_result(pid), 0);
  EXPECT_EQ(g_global, 300);
  delete heap;
}

TEST(Fork, SharedAnonymousMappingIsShared) {
  auto* shared = static_cast<volatile int*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(shared != MAP_FAILED);
  *shared = 5;
  pid_t pid = fork_child([&] {
    *shared = 6;
    return 0;
  });
  EXPECT_EQ(child_result(pid), 0);
  EXPECT_EQ(*shared, 6);
  munmap((void*)shared, 4096);
}

TEST(Fork, FdsInheritedWithSharedOffset) {
  std::string path = temp_dir() + "/f";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  pid_t pid = fork_child([&] { return write(fd, "cde", 3) == 3 ? 0 : 1; });
  EXPECT_EQ(child_result(pid), 0);
  // The child's write moved the shared file offset.
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 5);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "f", 1), 1);
  char buf[16] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, sizeof buf, 0), 6);
  EXPECT_STREQ(buf, "abcdef");
  close(fd);
}

TEST(Fork, ChildClosingFdDoesNotCloseParents) {
  Pipe p;
  pid_t pid = fork_child([&] { return close(p.w) == 0 ? 0 : 1; });
  EXPECT_EQ(child_result(pid), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(p.w, "x", 1), 1);
}

TEST(Fork, ExitStatusViaWaitpid) {
  pid_t pid = fork_child([] { return 42; });
  ASSERT_GT(pid, 0);
  int st = 0;
  ASSERT_EQ(wait_timeout(pid, &st), pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_FALSE(WIFSIGNALED(st));
  EXPECT_EQ(WEXITSTATUS(st), 42);
}

TEST(Fork, ExitStatusIsTruncatedTo8Bits) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(256 + 7);
  EXPECT_EQ(child_result(pid), 7);
}

TEST(Fork, SignalDeathReportsTermsig) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    kill(getpid(), SIGTERM);
    for (;;) pause();
  }
  int st = 0;
  ASSERT_EQ(wait_timeout(pid, &st), pid);
  EXPECT_TRUE(WIFSIGNALED(st));
  EXPECT_FALSE(WIFEXITED(st));
  EXPECT_EQ(WTERMSIG(st), SIGTERM);
}

TEST(Fork, ParentKillReportsSigkill) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  EXPECT_SYSCALL_SUCCEEDS(kill(child.pid, SIGKILL));
  EXPECT_EQ(child_result(child.pid), killed_by(SIGKILL));
}

TEST(Fork, PendingSignalsNotInheritedButMaskIs) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_SYSCALL_SUCCEEDS(sigprocmask(SIG_BLOCK, &block, &old));
  kill(getpid(), SIGUSR1);
  pid_t pid = fork_child([] {
    sigset_t pending, mask;
    sigpending(&pending);
    sigprocmask(SIG_BLOCK, nullptr, &mask);
    if (sigismember(&pending, SIGUSR1)) return 1;
    if (!sigismember(&mask, SIGUSR1)) return 2;
    return 0;
  });
  EXPECT_EQ(child_result(pid), 0);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_TRUE(sigismember(&pending, SIGUSR1));
  // Consume the pending signal before unblocking.
  struct timespec zero = {0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&block, nullptr, &zero), SIGUSR1);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

// ---------------------------------------------------------------- vfork

TEST(Vfork, ChildWritesAreVisibleToParent) {
  static volatile int shared_word;
  shared_word = 1;
  fflush(nullptr);
  pid_t pid = vfork();
  if (pid == 0) {
    shared_word = 2;
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(shared_word, 2);
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Vfork, ParentSuspendedUntilChildExits) {
  fflush(nullptr);
  int64_t start = now_ms();
  pid_t pid = vfork();
  if (pid == 0) {
    struct timespec ts = {0, 100 * 1000000L};
    syscall(SYS_nanosleep, &ts, nullptr);
    _exit(3);
  }
  int64_t elapsed = now_ms() - start;
  ASSERT_GT(pid, 0);
  EXPECT_GE(elapsed, 90);
  // The child is exiting (the parent resumes when it releases its memory,
  // a moment before it becomes a zombie).
  EXPECT_EQ(child_result(pid, 2000), 3);
}

TEST(Vfork, ChildHasItsOwnPid) {
  Pipe p;
  fflush(nullptr);
  pid_t pid = vfork();
  if (pid == 0) {
    pid_t me = static_cast<pid_t>(syscall(SYS_getpid));
    pid_t parent = static_cast<pid_t>(syscall(SYS_getppid));
    write(p.w, &me, sizeof me);
    write(p.w, &parent, sizeof parent);
    _exit(0);
  }
  p.close_w();
  pid_t ids[2] = {-1, -1};
  EXPECT_EQ(read_full_timeout(p.r, ids, sizeof ids), (ssize_t)sizeof ids);
  EXPECT_EQ(ids[0], pid);
  EXPECT_EQ(ids[1], getpid());
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Vfork, ParentResumesWhenChildExecs) {
  // The exec'd program waits for the parent to write; the parent can only do
  // so once vfork has returned in it, which must happen at the execve.
  Pipe go(0);
  ASSERT_TRUE(go.ok());
  fcntl(go.w, F_SETFD, FD_CLOEXEC);
  char fdbuf[16];
  snprintf(fdbuf, sizeof fdbuf, "%d", go.r);
  const char* argv[] = {"conf-vfork-exec", "--vfork-exec-wait", fdbuf, nullptr};
  fflush(nullptr);
  pid_t pid = vfork();
  if (pid == 0) {
    execve("/proc/self/exe", const_cast<char**>(argv), environ);
    _exit(99);
  }
  ASSERT_GT(pid, 0);
  go.close_r();
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(go.w, "g", 1), 1);
  EXPECT_EQ(child_result(pid), 17);
}

namespace {

// A thread that keeps incrementing a counter in memory, counting in a
// register too: the two agree at the end unless something wrote an old
// value over the counter.
struct Bumper {
  std::atomic<bool> stop{false};
  volatile uint64_t* counter = nullptr;
  uint64_t bumps = 0;
};

void* bump(void* arg) {
  auto* b = static_cast<Bumper*>(arg);
  uint64_t mine = 0;
  while (!b->stop.load(std::memory_order_relaxed)) {
    *b->counter = *b->counter + 1;
    mine++;
  }
  b->bumps = mine;
  return nullptr;
}

struct Forker {
  int children = 0;
  int failures = 0;
};

void* vfork_often(void* arg) {
  auto* f = static_cast<Forker*>(arg);
  for (int i = 0; i < 40; i++) {
    pid_t pid = vfork();
    if (pid == 0) _exit(7);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
      f->failures++;
    else
      f->children++;
  }
  return nullptr;
}

}  // namespace

// A vfork from one thread while another writes memory next to the
// caller's stack (one mapping holds both, as a Go heap arena holds
// goroutine stacks): the other thread's writes all stay.
TEST(Vfork, OtherThreadsWritesNearTheCallersStackStay) {
  constexpr size_t kRegion = 1 << 20, kStack = 512 << 10;
  void* region = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(region != MAP_FAILED);
  Bumper b;
  b.counter = reinterpret_cast<volatile uint64_t*>(static_cast<char*>(region) + kStack + (256 << 10));
  pthread_t bumper;
  ASSERT_EQ(pthread_create(&bumper, nullptr, bump, &b), 0);
  Forker f;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, region, kStack);
  pthread_t forker;
  fflush(nullptr);
  ASSERT_EQ(pthread_create(&forker, &attr, vfork_often, &f), 0);
  pthread_join(forker, nullptr);
  pthread_attr_destroy(&attr);
  b.stop = true;
  pthread_join(bumper, nullptr);
  EXPECT_EQ(f.failures, 0);
  EXPECT_EQ(f.children, 40);
  EXPECT_EQ(*b.counter, b.bumps);
  munmap(region, kRegion);
}

TEST(PosixSpawn, MissingProgramIsEnoent) {
  pid_t pid = -1;
  char* argv[] = {const_cast<char*>("nope"), nullptr};
  int r = posix_spawn(&pid, "/nonexistent/conf-missing-program", nullptr, nullptr, argv, environ);
  EXPECT_EQ(r, ENOENT);
  if (r == 0) kill_and_reap(pid);
  // No child is left behind.
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, WNOHANG), ECHILD);
}

TEST(PosixSpawn, MissingProgramOnPathIsEnoent) {
  pid_t pid = -1;
  char* argv[] = {const_cast<char*>("nope"), nullptr};
  int r = posix_spawnp(&pid, "conf-missing-program-xyz", nullptr, nullptr, argv, environ);
  EXPECT_EQ(r, ENOENT);
  if (r == 0) kill_and_reap(pid);
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, WNOHANG), ECHILD);
}

TEST(PosixSpawn, RunsProgramAndReportsStatus) {
  pid_t pid = -1;
  const char* argv[] = {"conf-spawned", "--exit-with", "23", nullptr};
  int r = posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, const_cast<char**>(argv), environ);
  ASSERT_EQ(r, 0);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 23);
}

// ---------------------------------------------------------------- wait

TEST(Wait, WnohangWithRunningChildReturnsZero) {
  BlockedChild child(4);
  ASSERT_GT(child.pid, 0);
  int st = 12345;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(child.pid, &st, WNOHANG), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(-1, &st, WNOHANG), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(wait4(-1, &st, WNOHANG, nullptr), 0);
  child.release();
  EXPECT_EQ(child_result(child.pid), 4);
}

TEST(Wait, NoChildrenIsEchild) {
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, 0), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, WNOHANG), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(wait4(-1, &st, 0, nullptr), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(wait(&st), ECHILD);
  siginfo_t info;
  EXPECT_SYSCALL_FAILS_WITH(waitid(P_ALL, 0, &info, WEXITED), ECHILD);
}

TEST(Wait, PidThatIsNotAChildIsEchild) {
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(getpid(), &st, 0), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(getppid() > 0 ? getppid() : 1, &st, WNOHANG), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(0x3ffffff0, &st, 0), ECHILD);
}

TEST(Wait, BlockingWaitReturnsWhenChildExits) {
  pid_t pid = fork_child([] {
    sleep_ms(50);
    return 8;
  });
  ASSERT_GT(pid, 0);
  int st = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 8);
}

TEST(Wait, AnyChildReportsEachExitOnce) {
  pid_t a = fork_child([] { return 1; });
  pid_t b = fork_child([] { return 2; });
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  int seen_a = 0, seen_b = 0;
  for (int i = 0; i < 2; i++) {
    int st = 0;
    pid_t r = wait_timeout(-1, &st);
    if (r == a && WEXITSTATUS(st) == 1) seen_a++;
    if (r == b && WEXITSTATUS(st) == 2) seen_b++;
  }
  EXPECT_EQ(seen_a, 1);
  EXPECT_EQ(seen_b, 1);
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, WNOHANG), ECHILD);
}

TEST(Wait, SpecificPidIgnoresOtherZombies) {
  BlockedChild running;
  pid_t done = fork_child([] { return 5; });
  ASSERT_GT(running.pid, 0);
  ASSERT_GT(done, 0);
  // Let done become a zombie; waiting for running specifically still says 0.
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, done, &info, WEXITED | WNOWAIT));
  int st;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(running.pid, &st, WNOHANG), 0);
  EXPECT_EQ(child_result(done), 5);
  running.release();
  EXPECT_EQ(child_result(running.pid), 0);
}

TEST(Wait, ProcessGroupSelectors) {
  // a stays in our process group; b moves to a group of its own.
  Pipe go_b;
  pid_t a = fork_child([] { return 11; });
  pid_t b = fork_child([&] {
    go_b.close_w();
    child_wait_for_go(go_b.r);
    return 12;
  });
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  EXPECT_SYSCALL_SUCCEEDS(setpgid(b, b));
  go_b.close_w();
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, b, &info, WEXITED | WNOWAIT));
  EXPECT_TRUE(waitid_timeout(P_PID, a, &info, WEXITED | WNOWAIT));
  // waitpid(0) sees only a; then nothing in our group is left.
  int st = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(0, &st, WNOHANG), a);
  EXPECT_EQ(WEXITSTATUS(st), 11);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(0, &st, WNOHANG), ECHILD);
  // waitpid(-pgid) selects b's group (our own group is empty now; when we
  // lead group 1, as init of a pid namespace, -1 means any child instead).
  if (getpgrp() > 1) EXPECT_SYSCALL_FAILS_WITH(waitpid(-getpgrp(), &st, WNOHANG), ECHILD);
  st = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(-b, &st, WNOHANG), b);
  EXPECT_EQ(WEXITSTATUS(st), 12);
  kill_and_reap(a);
  kill_and_reap(b);
}

TEST(Wait, WaitidPgidSelector) {
  Pipe go;
  pid_t b = fork_child([&] {
    go.close_w();
    child_wait_for_go(go.r);
    return 13;
  });
  ASSERT_GT(b, 0);
  EXPECT_SYSCALL_SUCCEEDS(setpgid(b, b));
  go.close_w();
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PGID, b, &info, WEXITED));
  EXPECT_EQ(info.si_pid, b);
  EXPECT_EQ(info.si_status, 13);
  kill_and_reap(b);
}

TEST(Wait, WuntracedReportsStopAndWcontinuedReportsContinue) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGSTOP));
  int st = 0;
  EXPECT_EQ(wait_timeout(child.pid, &st, WUNTRACED, 5000), child.pid);
  EXPECT_TRUE(WIFSTOPPED(st));
  EXPECT_EQ(WSTOPSIG(st), SIGSTOP);
  // The stop is reported once.
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(child.pid, &st, WNOHANG | WUNTRACED), 0);
  EXPECT_SYSCALL_SUCCEEDS(kill(child.pid, SIGCONT));
  st = 0;
  EXPECT_EQ(wait_timeout(child.pid, &st, WCONTINUED, 5000), child.pid);
  EXPECT_TRUE(WIFCONTINUED(st));
  EXPECT_FALSE(WIFSTOPPED(st));
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Wait, StopIsNotReportedWithoutWuntraced) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGSTOP));
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, child.pid, &info, WSTOPPED | WNOWAIT, 5000));
  int st;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(child.pid, &st, WNOHANG), 0);
  kill(child.pid, SIGKILL);
  EXPECT_EQ(child_result(child.pid), killed_by(SIGKILL));
}

TEST(Wait, StoppedChildWithSigstopThenSigkillIsReaped) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGSTOP));
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, child.pid, &info, WSTOPPED | WNOWAIT, 5000));
  // SIGKILL ends a stopped process without SIGCONT.
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGKILL));
  int st = 0;
  EXPECT_EQ(wait_timeout(child.pid, &st, 0, 5000), child.pid);
  EXPECT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
  kill_and_reap(child.pid);
}

TEST(Waitid, ExitedFillsSiginfo) {
  pid_t pid = fork_child([] { return 9; });
  ASSERT_GT(pid, 0);
  siginfo_t info;
  ASSERT_TRUE(waitid_timeout(P_PID, pid, &info, WEXITED));
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 9);
  EXPECT_EQ(info.si_uid, getuid());
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(pid, &st, WNOHANG), ECHILD);
}

TEST(Waitid, KilledFillsSiginfo) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGTERM));
  siginfo_t info;
  ASSERT_TRUE(waitid_timeout(P_PID, child.pid, &info, WEXITED));
  EXPECT_EQ(info.si_code, CLD_KILLED);
  EXPECT_EQ(info.si_status, SIGTERM);
  EXPECT_EQ(info.si_pid, child.pid);
  kill_and_reap(child.pid);
}

TEST(Waitid, StoppedAndContinuedFillSiginfo) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGSTOP));
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, child.pid, &info, WSTOPPED, 5000));
  EXPECT_EQ(info.si_code, CLD_STOPPED);
  EXPECT_EQ(info.si_status, SIGSTOP);
  EXPECT_EQ(info.si_pid, child.pid);
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGCONT));
  EXPECT_TRUE(waitid_timeout(P_PID, child.pid, &info, WCONTINUED, 5000));
  EXPECT_EQ(info.si_code, CLD_CONTINUED);
  EXPECT_EQ(info.si_status, SIGCONT);
  EXPECT_EQ(info.si_pid, child.pid);
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Waitid, WnowaitLeavesZombieForSecondWait) {
  pid_t pid = fork_child([] { return 21; });
  ASSERT_GT(pid, 0);
  siginfo_t info;
  ASSERT_TRUE(waitid_timeout(P_PID, pid, &info, WEXITED | WNOWAIT));
  EXPECT_EQ(info.si_status, 21);
  memset(&info, 0, sizeof info);
  EXPECT_SYSCALL_SUCCEEDS(waitid(P_PID, pid, &info, WEXITED | WNOWAIT));
  EXPECT_EQ(info.si_pid, pid);
  int st = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(pid, &st, 0), pid);
  EXPECT_EQ(WEXITSTATUS(st), 21);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(pid, &st, WNOHANG), ECHILD);
}

TEST(Waitid, WnohangWithNothingToReportZeroesSiPid) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  siginfo_t info;
  memset(&info, 0x5a, sizeof info);
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitid(P_PID, child.pid, &info, WEXITED | WNOHANG), 0);
  EXPECT_EQ(info.si_pid, 0);
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Waitid, BadArgumentsAreEinval) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  siginfo_t info;
  // None of WEXITED, WSTOPPED, WCONTINUED.
  EXPECT_SYSCALL_FAILS_WITH(waitid(P_PID, child.pid, &info, WNOHANG), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(waitid(P_ALL, 0, &info, 0), EINVAL);
  // An unknown idtype.
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_waitid, 42, child.pid, &info, WEXITED | WNOHANG, nullptr), EINVAL);
  // Unknown option bits.
  EXPECT_SYSCALL_FAILS_WITH(waitid(P_PID, child.pid, &info, WEXITED | 0x100000), EINVAL);
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Wait, BadOptionsAreEinval) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(child.pid, &st, 0x100000), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(wait4(child.pid, &st, WNOHANG | 0x10000, nullptr), EINVAL);
  // WEXITED and WNOWAIT belong to waitid only.
  EXPECT_SYSCALL_FAILS_WITH(wait4(child.pid, &st, WNOHANG | WNOWAIT, nullptr), EINVAL);
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Wait, BadStatusPointerIsEfault) {
  pid_t pid = fork_child([] { return 0; });
  ASSERT_GT(pid, 0);
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, pid, &info, WEXITED | WNOWAIT));
  EXPECT_SYSCALL_FAILS_WITH(wait4(pid, reinterpret_cast<int*>(8), 0, nullptr), EFAULT);
  kill_and_reap(pid);
}

TEST(Wait, Wait4FillsRusage) {
  pid_t pid = fork_child([] {
    burn_cpu_ms(60);
    return 0;
  });
  ASSERT_GT(pid, 0);
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  int st = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(wait4(pid, &st, 0, &ru), pid);
  long usec = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
  EXPECT_GT(usec, 0);
  EXPECT_GT(ru.ru_maxrss, 0);
}

TEST(Wait, WallAndWcloneSelectByExitSignal) {
  // A fork child signals SIGCHLD: __WCLONE alone does not see it, __WALL does.
  pid_t pid = fork_child([] { return 6; });
  ASSERT_GT(pid, 0);
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, pid, &info, WEXITED | WNOWAIT));
  int st = 0;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(pid, &st, WNOHANG | __WCLONE), ECHILD);
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(pid, &st, __WALL), pid);
  EXPECT_EQ(WEXITSTATUS(st), 6);
}

TEST(Wait, ExitSignalZeroChildNeedsWallOrWclone) {
  fflush(nullptr);
  // Fork-like clone whose exit signal is 0.
  long pid = syscall(SYS_clone, 0L, 0L, nullptr, nullptr, 0L);
  if (pid == 0) _exit(14);
  ASSERT_GT(pid, 0);
  sleep_ms(20);
  int st = 0;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(pid, &st, WNOHANG), ECHILD);
  EXPECT_EQ(wait_timeout(pid, &st, __WCLONE), pid);
  EXPECT_EQ(WEXITSTATUS(st), 14);
  kill_and_reap(pid);
}

// ---------------------------------------------------------------- orphans

TEST(Reparent, OrphanGetsNewParent) {
  // child forks grandchild and exits; the grandchild reports its new parent.
  Pipe report;
  pid_t child = fork_child([&] {
    pid_t me = getpid();
    fflush(nullptr);
    pid_t g = fork();
    if (g == 0) {
      int64_t end = now_ms() + 5000;
      while (getppid() == me && now_ms() < end) sleep_ms(1);
      pid_t ids[2] = {getpid(), getppid()};
      write(report.w, ids, sizeof ids);
      _exit(0);
    }
    return g > 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(child_result(child), 0);
  report.close_w();
  pid_t ids[2] = {-1, -1};
  EXPECT_EQ(read_full_timeout(report.r, ids, sizeof ids), (ssize_t)sizeof ids);
  EXPECT_NE(ids[1], child);
  EXPECT_GT(ids[1], 0);
  // In the sandbox the test is pid 1 or below a subreaper; when the orphan
  // came to us, reap it.
  if (ids[1] == getpid()) {
    EXPECT_EQ(child_result(ids[0]), 0);
  } else if (getpid() == 1) {
    CONF_FAIL_(false, "orphan went to %d, not to init (us)", ids[1]);
  }
}

TEST(Reparent, SubreaperAdoptsAndWaitsForOrphan) {
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_CHILD_SUBREAPER, 1));
  Pipe report;
  pid_t child = fork_child([&] {
    fflush(nullptr);
    pid_t me = getpid();
    pid_t g = fork();
    if (g == 0) {
      int64_t end = now_ms() + 5000;
      while (getppid() == me && now_ms() < end) sleep_ms(1);
      pid_t ids[2] = {getpid(), getppid()};
      write(report.w, ids, sizeof ids);
      _exit(31);
    }
    return g > 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(child_result(child), 0);
  report.close_w();
  pid_t ids[2] = {-1, -1};
  EXPECT_EQ(read_full_timeout(report.r, ids, sizeof ids), (ssize_t)sizeof ids);
  EXPECT_EQ(ids[1], getpid());
  if (ids[0] > 0) EXPECT_EQ(child_result(ids[0]), 31);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(Reparent, GetChildSubreaperRoundTripsAndIsNotInherited) {
  int v = -1;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_CHILD_SUBREAPER, &v));
  int initial = v;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_CHILD_SUBREAPER, 1));
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_CHILD_SUBREAPER, &v));
  EXPECT_EQ(v, 1);
  pid_t pid = fork_child([] {
    int c = -1;
    if (prctl(PR_GET_CHILD_SUBREAPER, &c) != 0) return 1;
    return c == 0 ? 0 : 2;
  });
  EXPECT_EQ(child_result(pid), 0);
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_CHILD_SUBREAPER, 0));
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_CHILD_SUBREAPER, &v));
  EXPECT_EQ(v, 0);
  EXPECT_EQ(initial, 0);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_prctl, PR_GET_CHILD_SUBREAPER, 8L, 0L, 0L, 0L), EFAULT);
}

// ---------------------------------------------------------------- SIGCHLD

TEST(Sigchld, QueuedWithCldExited) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  ASSERT_SYSCALL_SUCCEEDS(sigprocmask(SIG_BLOCK, &set, &old));
  pid_t pid = fork_child([] { return 3; });
  siginfo_t info;
  memset(&info, 0, sizeof info);
  struct timespec ts = {5, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, &info, &ts), SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 3);
  EXPECT_EQ(child_result(pid), 3);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

namespace {
volatile sig_atomic_t g_chld_code = 0, g_chld_pid = 0, g_chld_status = 0, g_chld_count = 0;
void on_sigchld(int, siginfo_t* info, void*) {
  g_chld_code = info->si_code;
  g_chld_pid = info->si_pid;
  g_chld_status = info->si_status;
  g_chld_count = g_chld_count + 1;
}
}  // namespace

TEST(Sigchld, HandlerRunsWithSiginfo) {
  SavedAction saved(SIGCHLD);
  struct sigaction sa = {};
  sa.sa_sigaction = on_sigchld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGCHLD, &sa, nullptr));
  g_chld_count = 0;
  pid_t pid = fork_child([] { return 2; });
  int64_t end = now_ms() + 5000;
  while (g_chld_count == 0 && now_ms() < end) sleep_ms(1);
  EXPECT_EQ(g_chld_count, 1);
  EXPECT_EQ(g_chld_code, CLD_EXITED);
  EXPECT_EQ(g_chld_pid, pid);
  EXPECT_EQ(g_chld_status, 2);
  EXPECT_EQ(child_result(pid), 2);
}

TEST(Sigchld, NocldstopSuppressesStopNotification) {
  SavedAction saved(SIGCHLD);
  struct sigaction sa = {};
  sa.sa_sigaction = on_sigchld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGCHLD, &sa, nullptr));
  g_chld_count = 0;
  BlockedChild child;
  ASSERT_SYSCALL_SUCCEEDS(kill(child.pid, SIGSTOP));
  siginfo_t info;
  EXPECT_TRUE(waitid_timeout(P_PID, child.pid, &info, WSTOPPED, 5000));
  sleep_ms(20);
  EXPECT_EQ(g_chld_count, 0);
  kill(child.pid, SIGKILL);
  int64_t end = now_ms() + 5000;
  while (g_chld_count == 0 && now_ms() < end) sleep_ms(1);
  EXPECT_EQ(g_chld_code, CLD_KILLED);
  EXPECT_EQ(child_result(child.pid), killed_by(SIGKILL));
}

TEST(Sigchld, IgnoredMeansAutoReap) {
  SavedAction saved(SIGCHLD);
  ASSERT_TRUE(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
  pid_t pid = fork_child([] { return 1; });
  ASSERT_GT(pid, 0);
  // The child is never a zombie for us: once it has exited, waitpid is ECHILD.
  int st;
  pid_t r = wait_timeout(pid, &st, 0, 5000);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(errno, ECHILD);
  if (r == 0) kill_and_reap(pid);
}

TEST(Sigchld, IgnoredBlockingWaitReturnsEchildAfterExit) {
  SavedAction saved(SIGCHLD);
  ASSERT_TRUE(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
  pid_t pid = fork_child([] {
    sleep_ms(30);
    return 1;
  });
  ASSERT_GT(pid, 0);
  int64_t start = now_ms();
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(pid, &st, 0), ECHILD);
  EXPECT_GE(now_ms() - start, 15);
}

TEST(Sigchld, NocldwaitMeansAutoReap) {
  SavedAction saved(SIGCHLD);
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDWAIT;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGCHLD, &sa, nullptr));
  pid_t pid = fork_child([] { return 1; });
  ASSERT_GT(pid, 0);
  int st;
  pid_t r = wait_timeout(pid, &st, 0, 5000);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(errno, ECHILD);
  if (r == 0) kill_and_reap(pid);
}

// ---------------------------------------------------------------- pidfd

TEST(Pidfd, OpenPollsReadableWhenProcessExits) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  int fd = static_cast<int>(EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_open(child.pid, 0)));
  if (fd >= 0) {
    struct pollfd pfd = {fd, POLLIN, 0};
    EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 0), 0);
    child.release();
    pfd.revents = 0;
    EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 5000), 1);
    EXPECT_TRUE(pfd.revents & POLLIN);
    close(fd);
  }
  child.release();
  EXPECT_EQ(child_result(child.pid), 0);
}

TEST(Pidfd, OpenIsCloexec) {
  int fd = static_cast<int>(ASSERT_SYSCALL_SUCCEEDS(sys_pidfd_open(getpid(), 0)));
  int flags = EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFD));
  EXPECT_TRUE(flags & FD_CLOEXEC);
  close(fd);
}

TEST(Pidfd, OpenBadArgumentsAreEinval) {
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_open(getpid(), 0x1234), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_open(0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_open(-1, 0), EINVAL);
}

TEST(Pidfd, OpenOfReapedProcessIsEsrch) {
  pid_t pid = fork_child([] { return 0; });
  ASSERT_EQ(child_result(pid), 0);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_open(pid, 0), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_open(0x3ffffff0, 0), ESRCH);
}

TEST(Pidfd, SendSignalKillsChild) {
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  int fd = static_cast<int>(EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_open(child.pid, 0)));
  if (fd >= 0) {
    EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_send_signal(fd, SIGKILL, nullptr, 0));
    EXPECT_EQ(child_result(child.pid), killed_by(SIGKILL));
    close(fd);
  }
  kill_and_reap(child.pid);
}

TEST(Pidfd, SendSignalAfterReapIsEsrch) {
  pid_t pid = fork_child([] { return 0; });
  ASSERT_GT(pid, 0);
  int fd = static_cast<int>(EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_open(pid, 0)));
  EXPECT_EQ(child_result(pid), 0);
  if (fd >= 0) {
    EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(fd, SIGTERM, nullptr, 0), ESRCH);
    close(fd);
  }
}

TEST(Pidfd, SendSignalBadArgumentsFail) {
  int fd = static_cast<int>(ASSERT_SYSCALL_SUCCEEDS(sys_pidfd_open(getpid(), 0)));
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(fd, 0, nullptr, 0x40), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(fd, 1000, nullptr, 0), EINVAL);
  // Signal 0 checks that the process is there.
  EXPECT_SYSCALL_SUCCEEDS_WITH(sys_pidfd_send_signal(fd, 0, nullptr, 0), 0);
  close(fd);
  int not_pidfd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(not_pidfd, SIGTERM, nullptr, 0), EBADF);
  close(not_pidfd);
  EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(-1, SIGTERM, nullptr, 0), EBADF);
}

TEST(Pidfd, SendSignalAcceptsProcPidDirectory) {
  // An open /proc/PID directory stands for the process in pidfd_send_signal
  // (not in waitid); a /proc/PID/task/TID directory does not.
  BlockedChild child;
  ASSERT_GT(child.pid, 0);
  std::string dir = "/proc/" + std::to_string(child.pid);
  int fd = open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  std::string task = dir + "/task/" + std::to_string(child.pid);
  int task_fd = open(task.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  EXPECT_GE(task_fd, 0);
  if (task_fd >= 0) {
    EXPECT_SYSCALL_FAILS_WITH(sys_pidfd_send_signal(task_fd, SIGKILL, nullptr, 0), EBADF);
    close(task_fd);
  }
  if (fd >= 0) {
    EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_send_signal(fd, SIGKILL, nullptr, 0));
    EXPECT_EQ(child_result(child.pid), killed_by(SIGKILL));
    close(fd);
  }
  kill_and_reap(child.pid);
}

TEST(Pidfd, WaitidPidfdReportsExit) {
  pid_t pid = fork_child([] {
    sleep_ms(20);
    return 19;
  });
  ASSERT_GT(pid, 0);
  int fd = static_cast<int>(EXPECT_SYSCALL_SUCCEEDS(sys_pidfd_open(pid, 0)));
  if (fd >= 0) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    EXPECT_TRUE(waitid_timeout(static_cast<idtype_t>(P_PIDFD), fd, &info, WEXITED));
    EXPECT_EQ(info.si_pid, pid);
    EXPECT_EQ(info.si_code, CLD_EXITED);
    EXPECT_EQ(info.si_status, 19);
    close(fd);
  }
  kill_and_reap(pid);
}

TEST(Pidfd, WaitidPidfdBadFdIsEbadf) {
  siginfo_t info;
  EXPECT_SYSCALL_FAILS_WITH(waitid(static_cast<idtype_t>(P_PIDFD), 0x7fff, &info, WEXITED | WNOHANG), EBADF);
}

TEST(Pidfd, Clone3WithClonePidfd) {
  int pidfd = -1;
  CloneArgs args;
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  fflush(nullptr);
  long pid = syscall(SYS_clone3, &args, 64);
  if (pid == 0) _exit(25);
  ASSERT_GT(pid, 0);
  EXPECT_GE(pidfd, 0);
  if (pidfd >= 0) {
    struct pollfd pfd = {pidfd, POLLIN, 0};
    EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 5000), 1);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    EXPECT_TRUE(waitid_timeout(static_cast<idtype_t>(P_PIDFD), pidfd, &info, WEXITED));
    EXPECT_EQ(info.si_pid, pid);
    EXPECT_EQ(info.si_status, 25);
    close(pidfd);
  }
  kill_and_reap(pid);
}

TEST(Pidfd, CloneWithClonePidfd) {
  int pidfd = -1;
  fflush(nullptr);
  // x86-64 clone(flags, stack, parent_tid, child_tid, tls): the pidfd goes
  // where parent_tid points.
  long pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0L, &pidfd, nullptr, 0L);
  if (pid == 0) _exit(26);
  ASSERT_GT(pid, 0);
  EXPECT_GE(pidfd, 0);
  if (pidfd >= 0) {
    EXPECT_TRUE(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    EXPECT_TRUE(waitid_timeout(static_cast<idtype_t>(P_PIDFD), pidfd, &info, WEXITED));
    EXPECT_EQ(info.si_pid, pid);
    EXPECT_EQ(info.si_status, 26);
    close(pidfd);
  }
  kill_and_reap(pid);
}

TEST(Pidfd, ClonePidfdWithParentSettidIsEinval) {
  // Tried in a child: a sandbox that wrongly accepts them forks.
  pid_t pid = fork_child([] {
    int pidfd = -1;
    long r = syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0L, &pidfd, nullptr, 0L);
    if (r == 0) _exit(50);
    if (r != -1 || errno != EINVAL) return 1;
    // CLONE_PIDFD with CLONE_DETACHED (an obsolete flag) is rejected too.
    r = syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0L, &pidfd, nullptr, 0L);
    if (r == 0) _exit(50);
    if (r != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(child_result(pid), 0);
}

// ------------------------------------------------------- re-exec helpers

// Entry points for the copies of this binary the cases exec.
__attribute__((constructor)) static void fork_wait_child_main(int argc, char** argv, char**) {
  if (argc >= 3 && strcmp(argv[1], "--exit-with") == 0) _exit(atoi(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "--vfork-exec-wait") == 0) {
    int fd = atoi(argv[2]);
    char c;
    _exit(read_full_timeout(fd, &c, 1, 5000) == 1 ? 17 : 1);
  }
}
