// Conformance: signalfd(2) and signalfd4(2): reading blocked pending signals
// as struct signalfd_siginfo, readiness, and changing the mask.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  operator int() const { return fd; }
};

sigset_t set_of(std::initializer_list<int> sigs) {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : sigs) sigaddset(&s, sig);
  return s;
}

// Blocks sigs for the case; at its end drains what is still pending of them
// and restores the old mask.
struct Blocked {
  sigset_t set, old;
  explicit Blocked(std::initializer_list<int> sigs) : set(set_of(sigs)) { sigprocmask(SIG_BLOCK, &set, &old); }
  ~Blocked() {
    timespec zero{};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
  }
};

bool is_pending(int sig) {
  sigset_t s;
  sigpending(&s);
  return sigismember(&s, sig);
}

short revents_of(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

}  // namespace

TEST(Signalfd, ReadsABlockedPendingSignal) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  signalfd_siginfo si{};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si.ssi_code, SI_USER);
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(si.ssi_uid, getuid());
  // Reading took it off the pending set.
  EXPECT_FALSE(is_pending(SIGUSR1));
}

TEST(Signalfd, NothingPendingIsEagain) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  signalfd_siginfo si;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &si, sizeof si), EAGAIN);
}

TEST(Signalfd, SignalsOutsideTheMaskStayPending) {
  Blocked b({SIGUSR1, SIGUSR2});
  sigset_t only1 = set_of({SIGUSR1});
  Fd fd(signalfd(-1, &only1, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR2));
  signalfd_siginfo si;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &si, sizeof si), EAGAIN);
  EXPECT_TRUE(is_pending(SIGUSR2));
  EXPECT_EQ(revents_of(fd), 0);
}

TEST(Signalfd, BadArgumentsAreEinval) {
  sigset_t s = set_of({SIGUSR1});
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_signalfd4, -1, &s, 8, 0x1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_signalfd4, -1, &s, 16, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_signalfd, -1, &s, 4), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_signalfd4, -1, 8, 8, 0), EFAULT);
}

TEST(Signalfd, ExistingFdMustBeASignalfd) {
  sigset_t s = set_of({SIGUSR1});
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(signalfd(p[0], &s, 0), EINVAL);
  close(p[0]);
  close(p[1]);
  EXPECT_SYSCALL_FAILS_WITH(signalfd(p[0], &s, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(signalfd(1000, &s, 0), EBADF);
}

TEST(Signalfd, FlagsShowInFcntl) {
  sigset_t s = set_of({SIGUSR1});
  Fd fd(signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC));
  ASSERT_GE(fd.fd, 0);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  Fd legacy(static_cast<int>(syscall(SYS_signalfd, -1, &s, 8)));
  ASSERT_GE(legacy.fd, 0);
  EXPECT_FALSE(fcntl(legacy, F_GETFD) & FD_CLOEXEC);
}

TEST(Signalfd, ShortBufferIsEinval) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  char buf[sizeof(signalfd_siginfo) - 1];
  EXPECT_SYSCALL_FAILS_WITH(read(fd, buf, sizeof buf), EINVAL);
  EXPECT_TRUE(is_pending(SIGUSR1));
}

TEST(Signalfd, OneReadTakesSeveralSignals) {
  Blocked b({SIGUSR1, SIGUSR2});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR2));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  signalfd_siginfo si[3]{};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, si, sizeof si), 2 * sizeof(signalfd_siginfo));
  // Lowest signal number first, as the kernel dequeues.
  EXPECT_EQ(si[0].ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si[1].ssi_signo, static_cast<uint32_t>(SIGUSR2));
}

TEST(Signalfd, QueuedRealtimeSignalsCarryTheirValues) {
  int sig = SIGRTMIN + 1;
  Blocked b({sig});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), sig, sigval{.sival_int = 42}));
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), sig, sigval{.sival_int = 43}));
  signalfd_siginfo si{};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(sig));
  EXPECT_EQ(si.ssi_code, SI_QUEUE);
  EXPECT_EQ(si.ssi_int, 42);
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_int, 43);
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &si, sizeof si), EAGAIN);
}

TEST(Signalfd, ThreadDirectedSignalIsRead) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1));
  signalfd_siginfo si{};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si.ssi_code, SI_TKILL);
}

TEST(Signalfd, ChangingTheMaskOfAnExistingFd) {
  Blocked b({SIGUSR1, SIGUSR2});
  sigset_t only1 = set_of({SIGUSR1}), only2 = set_of({SIGUSR2});
  Fd fd(signalfd(-1, &only1, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR2));
  signalfd_siginfo si{};
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &si, sizeof si), EAGAIN);
  // The flags of the call are ignored for an existing fd: it stays non-blocking.
  EXPECT_SYSCALL_SUCCEEDS_WITH(signalfd(fd, &only2, 0), fd.fd);
  EXPECT_EQ(revents_of(fd), POLLIN);
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR2));
}

TEST(Signalfd, PollFollowsThePendingSet) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_EQ(revents_of(fd), 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_EQ(revents_of(fd), POLLIN);
  signalfd_siginfo si;
  ASSERT_SYSCALL_SUCCEEDS(read(fd, &si, sizeof si));
  EXPECT_EQ(revents_of(fd), 0);
}

TEST(Signalfd, ReadinessClearsWhenTheSignalIsTakenElsewhere) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_EQ(revents_of(fd), POLLIN);
  timespec zero{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&b.set, nullptr, &zero), SIGUSR1);
  EXPECT_EQ(revents_of(fd), 0);
}

TEST(Signalfd, BlockingReadWakesForASignalFromAnotherProcess) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, 0));
  ASSERT_GE(fd.fd, 0);
  pid_t parent = getpid();
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(50);
    return kill(parent, SIGUSR1) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  signalfd_siginfo si{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(child));
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Signalfd, EpollWaitWakesForASignal) {
  Blocked b({SIGUSR2});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 77;
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &ev, 1, 0), 0);
  pid_t parent = getpid();
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(30);
    return kill(parent, SIGUSR2) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  epoll_event got{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &got, 1, 5000), 1);
  EXPECT_EQ(got.data.u64, 77u);
  EXPECT_EQ(got.events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Signalfd, KillAndStopInTheMaskAreIgnored) {
  Blocked b({SIGUSR1});
  sigset_t s = set_of({SIGUSR1, SIGKILL, SIGSTOP});
  Fd fd(signalfd(-1, &s, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_EQ(revents_of(fd), 0);
}

TEST(Signalfd, ProcFdLinkNamesIt) {
  sigset_t s = set_of({SIGUSR1});
  Fd fd(signalfd(-1, &s, 0));
  ASSERT_GE(fd.fd, 0);
  char path[64], target[128] = {};
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd.fd);
  ASSERT_SYSCALL_SUCCEEDS(readlink(path, target, sizeof target - 1));
  EXPECT_STREQ(target, "anon_inode:[signalfd]");
}

TEST(Signalfd, ChildExitIsReadAsSigchld) {
  Blocked b({SIGCHLD});
  Fd fd(signalfd(-1, &b.set, 0));
  ASSERT_GE(fd.fd, 0);
  pid_t child = proc::fork_child([] { return 7; });
  ASSERT_GT(child, 0);
  signalfd_siginfo si{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &si, sizeof si), sizeof si);
  EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGCHLD));
  EXPECT_EQ(si.ssi_code, CLD_EXITED);
  EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(child));
  EXPECT_EQ(si.ssi_status, 7);
  EXPECT_EQ(proc::child_result(child), 7);
}

TEST(Signalfd, InheritedFdReadsTheChildsOwnSignals) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, 0));
  ASSERT_GE(fd.fd, 0);
  proc::Pipe ready;
  pid_t child = proc::fork_child([&] {
    char c = 'r';
    if (write(ready.w, &c, 1) != 1) return 1;
    signalfd_siginfo si{};
    if (read(fd, &si, sizeof si) != sizeof si) return 2;
    return si.ssi_signo == SIGUSR1 && si.ssi_pid == static_cast<uint32_t>(getppid()) ? 0 : 3;
  });
  ASSERT_GT(child, 0);
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(proc::read_full_timeout(ready.r, &c, 1), 1);
  proc::sleep_ms(20);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGUSR1));
  EXPECT_EQ(proc::child_result(child), 0);
  // Nothing was sent to the parent.
  EXPECT_FALSE(is_pending(SIGUSR1));
}

volatile sig_atomic_t g_handled;
void on_usr2(int) { g_handled = g_handled + 1; }

TEST(Signalfd, BlockingReadInterruptedByAHandledSignalIsEintr) {
  Blocked b({SIGUSR1});
  Fd fd(signalfd(-1, &b.set, 0));
  ASSERT_GE(fd.fd, 0);
  struct sigaction sa {}, old{};
  sa.sa_handler = on_usr2;  // no SA_RESTART
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR2, &sa, &old));
  g_handled = 0;
  pid_t parent = getpid();
  // It keeps signalling, so that a loaded machine reaching read() late
  // still sees one; it is killed once the read is over.
  pid_t child = proc::fork_child([&] {
    for (int i = 0; i < 250; i++) {
      proc::sleep_ms(20);
      if (kill(parent, SIGUSR2) != 0) return 1;
    }
    return 0;
  });
  ASSERT_GT(child, 0);
  signalfd_siginfo si;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &si, sizeof si), EINTR);
  EXPECT_GE(g_handled, 1);
  proc::kill_and_reap(child);
  sigaction(SIGUSR2, &old, nullptr);
}

TEST(Signalfd, SelectSeesAPendingSignal) {
  Blocked b({SIGUSR2});
  Fd fd(signalfd(-1, &b.set, SFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd.fd, &rd);
  timeval tv{0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(fd.fd + 1, &rd, nullptr, nullptr, &tv), 0);
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR2));
  FD_SET(fd.fd, &rd);
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(fd.fd + 1, &rd, nullptr, nullptr, &tv), 1);
}
