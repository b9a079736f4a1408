// Conformance: epoll(7): epoll_create, epoll_ctl errors, level- and
// edge-triggered readiness, EPOLLONESHOT, nesting, timeouts, signals.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  operator int() const { return fd; }
};

int add(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int mod(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

// How many events a wait of timeout_ms reports (first one in *first).
int wait_n(int ep, int timeout_ms, epoll_event* first = nullptr) {
  epoll_event evs[8];
  int n = epoll_wait(ep, evs, 8, timeout_ms);
  if (n > 0 && first) *first = evs[0];
  return n;
}

volatile sig_atomic_t g_signals;
void on_signal(int) { g_signals = g_signals + 1; }

}  // namespace

TEST(Epoll, CreateArguments) {
  EXPECT_SYSCALL_FAILS_WITH(epoll_create(0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(epoll_create(-1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(epoll_create1(0x1), EINVAL);
  Fd a(epoll_create(1));
  EXPECT_GE(a.fd, 0);
  EXPECT_FALSE(fcntl(a, F_GETFD) & FD_CLOEXEC);
  Fd b(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(b.fd, 0);
  EXPECT_TRUE(fcntl(b, F_GETFD) & FD_CLOEXEC);
}

TEST(Epoll, ProcFdLinkNamesIt) {
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  char path[64], target[128] = {};
  snprintf(path, sizeof path, "/proc/self/fd/%d", ep.fd);
  ASSERT_SYSCALL_SUCCEEDS(readlink(path, target, sizeof target - 1));
  EXPECT_STREQ(target, "anon_inode:[eventpoll]");
}

TEST(Epoll, AddingItselfIsEinval) {
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(add(ep, ep, EPOLLIN, 0), EINVAL);
}

TEST(Epoll, RegularFilesAndDirectoriesAreEperm) {
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  std::string path = temp_dir() + "/f";
  Fd file(open(path.c_str(), O_CREAT | O_RDWR, 0600));
  ASSERT_GE(file.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(add(ep, file, EPOLLIN, 0), EPERM);
  Fd dir(open("/", O_RDONLY | O_DIRECTORY));
  ASSERT_GE(dir.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(add(ep, dir, EPOLLIN, 0), EPERM);
}

TEST(Epoll, BadDescriptorsAreEbadf) {
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  Fd efd(eventfd(0, 0));
  EXPECT_SYSCALL_FAILS_WITH(add(-1, efd, EPOLLIN, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(add(ep, -1, EPOLLIN, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(add(ep, 999, EPOLLIN, 0), EBADF);
  epoll_event ev;
  EXPECT_SYSCALL_FAILS_WITH(epoll_wait(-1, &ev, 1, 0), EBADF);
}

TEST(Epoll, NonEpollDescriptorIsEinval) {
  Fd efd(eventfd(0, 0));
  Fd other(eventfd(0, 0));
  ASSERT_GE(efd.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(add(efd, other, EPOLLIN, 0), EINVAL);
  epoll_event ev;
  EXPECT_SYSCALL_FAILS_WITH(epoll_wait(efd, &ev, 1, 0), EINVAL);
}

TEST(Epoll, CtlStateErrors) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_GE(ep.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(mod(ep, efd, EPOLLIN, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr), ENOENT);
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  EXPECT_SYSCALL_FAILS_WITH(add(ep, efd, EPOLLIN, 0), EEXIST);
  EXPECT_SYSCALL_SUCCEEDS(mod(ep, efd, EPOLLOUT, 0));
  EXPECT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr));
  EXPECT_SYSCALL_FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr), ENOENT);
  epoll_event ev{};
  EXPECT_SYSCALL_FAILS_WITH(epoll_ctl(ep, 42, efd, &ev), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_ADD, efd, reinterpret_cast<epoll_event*>(8)), EFAULT);
}

TEST(Epoll, WaitArgumentErrors) {
  Fd ep(epoll_create1(0));
  ASSERT_GE(ep.fd, 0);
  epoll_event ev;
  EXPECT_SYSCALL_FAILS_WITH(epoll_wait(ep, &ev, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(epoll_wait(ep, &ev, -1, 0), EINVAL);
  timespec bad{0, 1000000000};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_epoll_pwait2, ep.fd, &ev, 1, &bad, nullptr, 8), EINVAL);
}

TEST(Epoll, LevelTriggeredReportsUntilDrained) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 5));
  EXPECT_EQ(wait_n(ep, 0), 0);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 0, &got), 1);
  EXPECT_EQ(got.data.u64, 5u);
  EXPECT_EQ(got.events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(wait_n(ep, 0), 1);
  uint64_t v;
  ASSERT_SYSCALL_SUCCEEDS(read(efd, &v, 8));
  EXPECT_EQ(wait_n(ep, 0), 0);
}

TEST(Epoll, EdgeTriggeredReportsOncePerChange) {
  Fd ep(epoll_create1(0));
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(p, O_NONBLOCK));
  Fd r(p[0]), w(p[1]);
  ASSERT_SYSCALL_SUCCEEDS(add(ep, r, EPOLLIN | EPOLLET, 1));
  ASSERT_SYSCALL_SUCCEEDS(write(w, "a", 1));
  EXPECT_EQ(wait_n(ep, 0), 1);
  EXPECT_EQ(wait_n(ep, 0), 0);  // still readable, but nothing changed
  ASSERT_SYSCALL_SUCCEEDS(write(w, "b", 1));
  EXPECT_EQ(wait_n(ep, 0), 1);
  EXPECT_EQ(wait_n(ep, 0), 0);
}

TEST(Epoll, OneshotDisarmsUntilModified) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN | EPOLLONESHOT, 9));
  EXPECT_EQ(wait_n(ep, 0), 1);
  EXPECT_EQ(wait_n(ep, 0), 0);
  // Still registered: adding again is EEXIST; MOD re-arms it.
  EXPECT_SYSCALL_FAILS_WITH(add(ep, efd, EPOLLIN, 0), EEXIST);
  ASSERT_SYSCALL_SUCCEEDS(mod(ep, efd, EPOLLIN | EPOLLONESHOT, 10));
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 0, &got), 1);
  EXPECT_EQ(got.data.u64, 10u);
}

TEST(Epoll, ExclusiveIsAcceptedOnAddOnly) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 3));
  EXPECT_EQ(wait_n(ep, 0), 1);
  EXPECT_SYSCALL_FAILS_WITH(mod(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 3), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(mod(ep, efd, EPOLLIN, 3), EINVAL);
  Fd other(eventfd(0, 0));
  EXPECT_SYSCALL_FAILS_WITH(add(ep, other, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 3), EINVAL);
}

TEST(Epoll, SameFileThroughTwoDescriptors) {
  // The interest list is keyed by (file, fd): a dup is a second entry.
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  Fd copy(dup(efd));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  EXPECT_SYSCALL_SUCCEEDS(add(ep, copy, EPOLLIN, 2));
  EXPECT_EQ(wait_n(ep, 0), 2);
}

TEST(Epoll, EntriesOfADupAreIndependent) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  int copy = dup(efd);
  ASSERT_SYSCALL_SUCCEEDS(copy);
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, copy, EPOLLIN, 2));
  EXPECT_SYSCALL_FAILS_WITH(add(ep, copy, EPOLLIN, 2), EEXIST);
  ASSERT_SYSCALL_SUCCEEDS(mod(ep, copy, EPOLLIN, 3));
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr));
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 0, &got), 1);
  EXPECT_EQ(got.data.u64, 3u);
  EXPECT_SYSCALL_FAILS_WITH(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(mod(ep, efd, EPOLLIN, 1), ENOENT);
  // Closing one fd of a description leaves its entries: they go when the
  // description does (epoll(7), Q6).
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  ASSERT_SYSCALL_SUCCEEDS(close(copy));
  EXPECT_EQ(wait_n(ep, 0), 2);
  efd.reset();
  EXPECT_EQ(wait_n(ep, 0), 0);
}

TEST(Epoll, ClosingTheLastDescriptorRemovesIt) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  EXPECT_EQ(wait_n(ep, 0), 1);
  efd.reset();
  EXPECT_EQ(wait_n(ep, 0), 0);
}

TEST(Epoll, DelStopsReports) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(1, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_DEL, efd, nullptr));
  EXPECT_EQ(wait_n(ep, 0), 0);
}

TEST(Epoll, ReportsOutAndHangup) {
  Fd ep(epoll_create1(0));
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  Fd r(p[0]), w(p[1]);
  ASSERT_SYSCALL_SUCCEEDS(add(ep, w, EPOLLOUT, 2));
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 0, &got), 1);
  EXPECT_EQ(got.events, static_cast<uint32_t>(EPOLLOUT));
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_DEL, w, nullptr));
  // EPOLLHUP is always reported, asked for or not.
  ASSERT_SYSCALL_SUCCEEDS(add(ep, r, EPOLLIN, 1));
  w.reset();
  EXPECT_EQ(wait_n(ep, 0, &got), 1);
  EXPECT_EQ(got.events, static_cast<uint32_t>(EPOLLHUP));
}

TEST(Epoll, NestedEpollReportsInnerReadiness) {
  Fd outer(epoll_create1(0));
  Fd inner(epoll_create1(0));
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(inner, efd, EPOLLIN, 1));
  ASSERT_SYSCALL_SUCCEEDS(add(outer, inner, EPOLLIN, 2));
  EXPECT_EQ(wait_n(outer, 0), 0);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  epoll_event got{};
  EXPECT_EQ(wait_n(outer, 0, &got), 1);
  EXPECT_EQ(got.data.u64, 2u);
  EXPECT_EQ(wait_n(inner, 0, &got), 1);
  EXPECT_EQ(got.data.u64, 1u);
}

TEST(Epoll, LoopsAreEloop) {
  Fd a(epoll_create1(0));
  Fd b(epoll_create1(0));
  ASSERT_SYSCALL_SUCCEEDS(add(a, b, EPOLLIN, 0));
  EXPECT_SYSCALL_FAILS_WITH(add(b, a, EPOLLIN, 0), ELOOP);
}

TEST(Epoll, WaitTimesOut) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  int64_t start = proc::now_ms();
  EXPECT_EQ(wait_n(ep, 50), 0);
  EXPECT_GE(proc::now_ms() - start, 45);
}

TEST(Epoll, Pwait2TimespecTimeout) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  epoll_event ev;
  timespec ts{0, 40000000};
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_epoll_pwait2, ep.fd, &ev, 1, &ts, nullptr, 8), 0);
  EXPECT_GE(proc::now_ms() - start, 35);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  // A null timeout waits forever; here something is ready.
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_epoll_pwait2, ep.fd, &ev, 1, nullptr, nullptr, 8), 1);
}

TEST(Epoll, BlockingWaitWakesOnWriteFromAnotherProcess) {
  Fd ep(epoll_create1(0));
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  Fd r(p[0]), w(p[1]);
  ASSERT_SYSCALL_SUCCEEDS(add(ep, r, EPOLLIN, 4));
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(50);
    return write(w, "x", 1) == 1 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 5000, &got), 1);
  EXPECT_EQ(got.data.u64, 4u);
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Epoll, EventfdAndTimerfdWatchedTogether) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, EFD_NONBLOCK));
  Fd tfd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, tfd, EPOLLIN, 2));
  itimerspec s{};
  s.it_value.tv_nsec = 20000000;
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(tfd, 0, &s, nullptr));
  epoll_event got{};
  EXPECT_EQ(wait_n(ep, 5000, &got), 1);
  EXPECT_EQ(got.data.u64, 2u);
}

TEST(Epoll, SignalHandlerInterruptsAWaitEvenWithSaRestart) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  struct sigaction sa {}, old{};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;  // epoll_wait is never restarted (signal(7))
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGALRM, &sa, &old));
  g_signals = 0;
  itimerval it{};  // repeating: a late epoll_wait still sees one
  it.it_value.tv_usec = 30000;
  it.it_interval.tv_usec = 20000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  epoll_event ev;
  EXPECT_SYSCALL_FAILS_WITH(epoll_wait(ep, &ev, 1, 5000), EINTR);
  EXPECT_GE(g_signals, 1);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
}

TEST(Epoll, PwaitMaskLetsABlockedSignalIn) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  struct sigaction sa {}, old{};
  sa.sa_handler = on_signal;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, &sa, &old));
  sigset_t usr1, prev;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &prev);
  g_signals = 0;
  pid_t parent = getpid();
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(30);
    return kill(parent, SIGUSR1) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  sigset_t none;
  sigemptyset(&none);
  epoll_event ev;
  EXPECT_SYSCALL_FAILS_WITH(epoll_pwait(ep, &ev, 1, 5000, &none), EINTR);
  EXPECT_EQ(g_signals, 1);
  // The old mask is back: SIGUSR1 is blocked again.
  sigset_t now;
  sigprocmask(SIG_BLOCK, nullptr, &now);
  EXPECT_TRUE(sigismember(&now, SIGUSR1));
  EXPECT_EQ(proc::child_result(child), 0);
  sigprocmask(SIG_SETMASK, &prev, nullptr);
  sigaction(SIGUSR1, &old, nullptr);
}

TEST(Epoll, PwaitWithAPendingUnblockedSignalReturnsAtOnce) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, 0));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 0));
  struct sigaction sa {}, old{};
  sa.sa_handler = on_signal;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, &sa, &old));
  sigset_t usr1, prev;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &prev);
  g_signals = 0;
  kill(getpid(), SIGUSR1);
  EXPECT_EQ(g_signals, 0);
  sigset_t none;
  sigemptyset(&none);
  epoll_event ev;
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_FAILS_WITH(epoll_pwait(ep, &ev, 1, 5000, &none), EINTR);
  EXPECT_LT(proc::now_ms() - start, 2000);
  EXPECT_EQ(g_signals, 1);
  sigprocmask(SIG_SETMASK, &prev, nullptr);
  sigaction(SIGUSR1, &old, nullptr);
}

TEST(Epoll, EdgeTriggeredEventfdSeesEachWrite) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN | EPOLLET, 1));
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  EXPECT_EQ(wait_n(ep, 0), 1);
  EXPECT_EQ(wait_n(ep, 0), 0);
  // A write to an eventfd that is already readable is a new event.
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  EXPECT_EQ(wait_n(ep, 0), 1);
}

TEST(Epoll, AnEpollFdIsPollable) {
  Fd ep(epoll_create1(0));
  Fd efd(eventfd(0, EFD_NONBLOCK));
  ASSERT_SYSCALL_SUCCEEDS(add(ep, efd, EPOLLIN, 1));
  pollfd p{ep, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 0);
  uint64_t one = 1;
  ASSERT_SYSCALL_SUCCEEDS(write(efd, &one, 8));
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLIN);
}

// Regression: moat returned at most 1024 events per wait whatever maxevents
// was (CPython's test_above_fd_setsize registers thousands of sockets).
TEST(Epoll, OneWaitReturnsMoreThanAThousandEvents) {
  constexpr int kFiles = 1500;
  rlimit saved;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &saved));
  SKIP_IF(saved.rlim_max < kFiles + 64, "RLIMIT_NOFILE too low");
  rlimit raised{std::max<rlim_t>(saved.rlim_cur, kFiles + 64), saved.rlim_max};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_NOFILE, &raised));
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_SYSCALL_SUCCEEDS(ep.fd);
  std::vector<int> fds;
  for (int i = 0; i < kFiles; i++) {
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0) break;
    fds.push_back(fd);
    epoll_event ev{EPOLLOUT, {}};
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) break;
  }
  EXPECT_EQ(fds.size(), static_cast<size_t>(kFiles));
  // Every eventfd is writable: one wait reports them all, each once.
  std::vector<epoll_event> events(kFiles + 100);
  int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
  EXPECT_EQ(n, static_cast<int>(fds.size()));
  std::vector<bool> seen(kFiles);
  int distinct = 0;
  for (int i = 0; i < n; i++) {
    uint32_t k = events[i].data.u32;
    if (k < seen.size() && !seen[k]) {
      seen[k] = true;
      distinct++;
    }
  }
  EXPECT_EQ(distinct, n);
  // maxevents still bounds a wait.
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, events.data(), 1100, 0), 1100);
  for (int fd : fds) close(fd);
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_NOFILE, &saved));
}
