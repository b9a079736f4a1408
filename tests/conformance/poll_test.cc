// Conformance: poll(2), ppoll(2), select(2), pselect6(2): readiness of pipes
// and eventfds, error paths, timeouts and signal masks.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    ASSERT_SYSCALL_SUCCEEDS(pipe(p));
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) close(r);
    r = -1;
  }
  void close_w() {
    if (w >= 0) close(w);
    w = -1;
  }
};

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  operator int() const { return fd; }
};

volatile sig_atomic_t g_signals;
void on_signal(int) { g_signals = g_signals + 1; }

// Installs a handler for sig (no SA_RESTART) for the case, and blocks it if asked.
struct Handler {
  int sig;
  struct sigaction old {};
  sigset_t prev;
  Handler(int s, bool block) : sig(s) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(sig, &sa, &old);
    sigset_t set;
    sigemptyset(&set);
    if (block) sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &prev);
    g_signals = 0;
  }
  ~Handler() {
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigprocmask(SIG_SETMASK, &prev, nullptr);
    sigaction(sig, &old, nullptr);
  }
};

// Repeating every 20 ms after the first, so that a loaded machine reaching
// the wait late still sees one.
void arm_alarm_ms(int ms) {
  itimerval it{};
  it.it_value.tv_sec = ms / 1000;
  it.it_value.tv_usec = (ms % 1000) * 1000;
  it.it_interval.tv_usec = 20000;
  setitimer(ITIMER_REAL, &it, nullptr);
}

}  // namespace

TEST(Poll, BadFdIsPollnvalAndCounts) {
  Pipe p;
  pollfd fds[2] = {{999, POLLIN, 0}, {p.r, POLLIN, 0}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(fds, 2, 0), 1);
  EXPECT_EQ(fds[0].revents, POLLNVAL);
  EXPECT_EQ(fds[1].revents, 0);
}

TEST(Poll, NegativeFdIsIgnored) {
  pollfd fds[1] = {{-1, POLLIN, 0x55}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(fds, 1, 0), 0);
  EXPECT_EQ(fds[0].revents, 0);
}

TEST(Poll, EmptyPipeIsWritableNotReadable) {
  Pipe p;
  pollfd fds[2] = {{p.r, POLLIN, 0}, {p.w, POLLOUT, 0}};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(fds, 2, 0), 1);
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, POLLOUT);
}

TEST(Poll, PipeReadableAfterWrite) {
  Pipe p;
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  pollfd fd{p.r, POLLIN | POLLRDNORM, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLIN | POLLRDNORM);
}

TEST(Poll, ClosedWriterIsPollhup) {
  Pipe p;
  p.close_w();
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLHUP);
  // Reported even when not asked for.
  fd.events = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLHUP);
}

TEST(Poll, ClosedReaderIsPollerr) {
  Pipe p;
  p.close_r();
  pollfd fd{p.w, POLLOUT, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLOUT | POLLERR);
}

TEST(Poll, DataAndHangupTogether) {
  Pipe p;
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  p.close_w();
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLIN | POLLHUP);
}

TEST(Poll, EventfdReadiness) {
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(efd.fd, 0);
  pollfd fd{efd, POLLIN | POLLOUT, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLOUT);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLIN | POLLOUT);
}

TEST(Poll, TimeoutElapses) {
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 50), 0);
  EXPECT_GE(proc::now_ms() - start, 45);
}

TEST(Poll, NoFdsSleepsForTheTimeout) {
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(nullptr, 0, 30), 0);
  EXPECT_GE(proc::now_ms() - start, 25);
}

TEST(Poll, WakesWhenAnotherProcessWrites) {
  Pipe p;
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(50);
    return write(p.w, "x", 1) == 1 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&fd, 1, 5000), 1);
  EXPECT_EQ(fd.revents, POLLIN);
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Poll, TooManyFdsIsEinval) {
  rlimit rl;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &rl));
  EXPECT_SYSCALL_FAILS_WITH(poll(nullptr, rl.rlim_cur + 1, 0), EINVAL);
}

TEST(Poll, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(poll(reinterpret_cast<pollfd*>(8), 1, 0), EFAULT);
}

TEST(Poll, HandlerInterruptsWithEintr) {
  Handler h(SIGALRM, false);
  Pipe p;
  arm_alarm_ms(30);
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_SYSCALL_FAILS_WITH(poll(&fd, 1, 5000), EINTR);
  EXPECT_GE(g_signals, 1);
}

TEST(Ppoll, BadTimeoutAndSigsetsize) {
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  timespec bad{0, 1000000000};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_ppoll, &fd, 1, &bad, nullptr, 8), EINVAL);
  timespec neg{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_ppoll, &fd, 1, &neg, nullptr, 8), EINVAL);
  timespec zero{};
  sigset_t none;
  sigemptyset(&none);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_ppoll, &fd, 1, &zero, &none, 4), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_ppoll, &fd, 1, &zero, &none, 8), 0);
}

TEST(Ppoll, WritesBackTheRemainingTime) {
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  timespec ts{0, 30000000};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_ppoll, &fd, 1, &ts, nullptr, 8), 0);
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  ts = {10, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_ppoll, &fd, 1, &ts, nullptr, 8), 1);
  EXPECT_GT(ts.tv_sec, 8);
}

TEST(Ppoll, SigmaskLetsABlockedSignalIn) {
  Handler h(SIGUSR1, true);
  pid_t parent = getpid();
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(30);
    return kill(parent, SIGUSR1) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  sigset_t none;
  sigemptyset(&none);
  timespec ts{5, 0};
  EXPECT_SYSCALL_FAILS_WITH(ppoll(&fd, 1, &ts, &none), EINTR);
  EXPECT_EQ(g_signals, 1);
  sigset_t now;
  sigprocmask(SIG_BLOCK, nullptr, &now);
  EXPECT_TRUE(sigismember(&now, SIGUSR1));
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Ppoll, PendingSignalUnblockedByTheMaskEndsItAtOnce) {
  Handler h(SIGUSR1, true);
  kill(getpid(), SIGUSR1);
  EXPECT_EQ(g_signals, 0);
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  sigset_t none;
  sigemptyset(&none);
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_FAILS_WITH(ppoll(&fd, 1, nullptr, &none), EINTR);
  EXPECT_LT(proc::now_ms() - start, 2000);
  EXPECT_EQ(g_signals, 1);
}

TEST(Select, ReportsReadableAndWritable) {
  Pipe p;
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p.r, &rd);
  FD_SET(p.w, &wr);
  FD_SET(p.r, &wr);  // the read end of a pipe is never writable
  timeval tv{0, 0};
  int nfds = std::max(p.r, p.w) + 1;
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(nfds, &rd, &wr, nullptr, &tv), 2);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
  EXPECT_TRUE(FD_ISSET(p.w, &wr));
  EXPECT_FALSE(FD_ISSET(p.r, &wr));
}

TEST(Select, ClosedWriterMakesTheReadEndReadable) {
  Pipe p;
  p.close_w();
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timeval tv{0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(p.r + 1, &rd, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
}

TEST(Select, ClosedFdIsEbadf) {
  Pipe p;
  int closed = p.w;
  p.close_w();
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(closed, &rd);
  timeval tv{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(select(closed + 1, &rd, nullptr, nullptr, &tv), EBADF);
  FD_ZERO(&rd);
  FD_SET(closed, &rd);
  EXPECT_SYSCALL_FAILS_WITH(select(closed + 1, nullptr, nullptr, &rd, &tv), EBADF);
}

TEST(Select, FdsAtOrPastNfdsAreIgnored) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(900, &rd);
  timeval tv{0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(10, &rd, nullptr, nullptr, &tv), 0);
}

TEST(Select, BadArgumentsAreEinval) {
  timeval tv{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(select(-1, nullptr, nullptr, nullptr, &tv), EINVAL);
  timeval neg{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(select(0, nullptr, nullptr, nullptr, &neg), EINVAL);
  timeval neg_usec{0, -1};
  EXPECT_SYSCALL_FAILS_WITH(select(0, nullptr, nullptr, nullptr, &neg_usec), EINVAL);
}

TEST(Select, UnnormalisedTimevalIsAccepted) {
  // The kernel carries whole seconds out of tv_usec (kern_select).
  Pipe p;
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timeval tv{0, 1500000};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(p.r + 1, &rd, nullptr, nullptr, &tv), 1);
}

TEST(Select, TimeoutIsUpdated) {
  Pipe p;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timeval tv{0, 30000};
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(p.r + 1, &rd, nullptr, nullptr, &tv), 0);
  EXPECT_GE(proc::now_ms() - start, 25);
  EXPECT_EQ(tv.tv_sec, 0);
  EXPECT_EQ(tv.tv_usec, 0);
  EXPECT_FALSE(FD_ISSET(p.r, &rd));
}

TEST(Select, BadSetPointerIsEfault) {
  timeval tv{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(select(1, reinterpret_cast<fd_set*>(8), nullptr, nullptr, &tv), EFAULT);
}

TEST(Pselect, SigmaskLetsABlockedSignalIn) {
  Handler h(SIGUSR1, true);
  pid_t parent = getpid();
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(30);
    return kill(parent, SIGUSR1) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  Pipe p;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  sigset_t none;
  sigemptyset(&none);
  timespec ts{5, 0};
  EXPECT_SYSCALL_FAILS_WITH(pselect(p.r + 1, &rd, nullptr, nullptr, &ts, &none), EINTR);
  EXPECT_EQ(g_signals, 1);
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Pselect, ReadyPipeWithEmptyMask) {
  Pipe p;
  ASSERT_SYSCALL_SUCCEEDS(write(p.w, "x", 1));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  sigset_t none;
  sigemptyset(&none);
  timespec ts{1, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pselect(p.r + 1, &rd, nullptr, nullptr, &ts, &none), 1);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
}

TEST(Select, EventfdReadableAfterWrite) {
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(efd.fd, 0);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(efd.fd, &rd);
  timeval tv{0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(efd.fd + 1, &rd, nullptr, nullptr, &tv), 0);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  FD_SET(efd.fd, &rd);
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(efd.fd + 1, &rd, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(efd.fd, &rd));
}

TEST(Poll, RegularFileIsAlwaysReady) {
  std::string path = temp_dir() + "/f";
  Fd fd(open(path.c_str(), O_CREAT | O_RDWR, 0600));
  ASSERT_GE(fd.fd, 0);
  pollfd p{fd, POLLIN | POLLOUT, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 1000), 1);
  EXPECT_EQ(p.revents, POLLIN | POLLOUT);
}
