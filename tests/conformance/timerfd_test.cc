// Conformance: timerfd_create(2), timerfd_settime(2), timerfd_gettime(2) and
// reading expirations.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
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

itimerspec spec_ms(long value_ms, long interval_ms = 0) {
  itimerspec s{};
  s.it_value.tv_sec = value_ms / 1000;
  s.it_value.tv_nsec = (value_ms % 1000) * 1000000L;
  s.it_interval.tv_sec = interval_ms / 1000;
  s.it_interval.tv_nsec = (interval_ms % 1000) * 1000000L;
  return s;
}

int64_t ns_of(const timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

int64_t now_on(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ns_of(ts);
}

}  // namespace

TEST(Timerfd, BadClocksAreEinval) {
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_THREAD_CPUTIME_ID, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_MONOTONIC_COARSE, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(-1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(100, 0), EINVAL);
}

TEST(Timerfd, BadFlagsAreEinval) {
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_MONOTONIC, 0x1234), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_create(CLOCK_MONOTONIC, TFD_TIMER_ABSTIME), EINVAL);
}

TEST(Timerfd, SupportedClocks) {
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    Fd fd(timerfd_create(c, 0));
    EXPECT_GE(fd.fd, 0);
  }
}

TEST(Timerfd, FlagsShowInFcntl) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
}

TEST(Timerfd, UnarmedGettimeIsZero) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec cur;
  memset(&cur, 0xff, sizeof cur);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_gettime(fd, &cur));
  EXPECT_EQ(ns_of(cur.it_value), 0);
  EXPECT_EQ(ns_of(cur.it_interval), 0);
}

TEST(Timerfd, GettimeShowsTheRemainingTime) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(10000, 2500);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_gettime(fd, &cur));
  EXPECT_LE(ns_of(cur.it_value), 10000000000LL);
  EXPECT_GT(ns_of(cur.it_value), 9000000000LL);
  EXPECT_EQ(ns_of(cur.it_interval), 2500000000LL);
}

TEST(Timerfd, SettimeReturnsTheOldValue) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(10000, 1000);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  itimerspec off{}, old{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &off, &old));
  EXPECT_GT(ns_of(old.it_value), 9000000000LL);
  EXPECT_EQ(ns_of(old.it_interval), 1000000000LL);
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_gettime(fd, &cur));
  EXPECT_EQ(ns_of(cur.it_value), 0);
}

TEST(Timerfd, OneShotExpiresOnce) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(20);
  int64_t start = proc::now_ns();
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  uint64_t n = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &n, sizeof n), 8);
  EXPECT_EQ(n, 1u);
  EXPECT_GE(proc::now_ns() - start, 20000000LL);
  // Disarmed after the one expiry.
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_gettime(fd, &cur));
  EXPECT_EQ(ns_of(cur.it_value), 0);
}

TEST(Timerfd, NonblockingReadBeforeExpiryIsEagain) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  uint64_t n;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &n, sizeof n), EAGAIN);
  itimerspec s = spec_ms(10000);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &n, sizeof n), EAGAIN);
}

TEST(Timerfd, IntervalExpirationsAccumulate) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(5, 5);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  proc::sleep_ms(60);
  uint64_t n = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &n, sizeof n), 8);
  EXPECT_GE(n, 5u);
  EXPECT_LE(n, 1000u);
  // Read resets the count; the timer keeps running.
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_gettime(fd, &cur));
  EXPECT_GT(ns_of(cur.it_value), 0);
  EXPECT_EQ(ns_of(cur.it_interval), 5000000);
}

TEST(Timerfd, AbsoluteTimeInThePastFiresAtOnce) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  itimerspec s{};
  s.it_value.tv_sec = 1;  // long past on the monotonic clock
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, nullptr));
  pollfd p{fd, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 1000), 1);
  uint64_t n = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &n, sizeof n), 8);
  EXPECT_EQ(n, 1u);
}

TEST(Timerfd, AbsoluteRealtimeDeadline) {
  Fd fd(timerfd_create(CLOCK_REALTIME, 0));
  ASSERT_GE(fd.fd, 0);
  int64_t deadline = now_on(CLOCK_REALTIME) + 30000000;
  itimerspec s{};
  s.it_value.tv_sec = deadline / 1000000000;
  s.it_value.tv_nsec = deadline % 1000000000;
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, nullptr));
  uint64_t n = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &n, sizeof n), 8);
  EXPECT_EQ(n, 1u);
  EXPECT_GE(now_on(CLOCK_REALTIME), deadline);
}

TEST(Timerfd, BoottimeTimerFires) {
  Fd fd(timerfd_create(CLOCK_BOOTTIME, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(10);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  uint64_t n = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &n, sizeof n), 8);
  EXPECT_EQ(n, 1u);
}

TEST(Timerfd, DisarmingDropsPendingExpirations) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(1);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  proc::sleep_ms(20);
  itimerspec off{};
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &off, nullptr));
  uint64_t n;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &n, sizeof n), EAGAIN);
}

TEST(Timerfd, SettimeErrors) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(100);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_settime(fd, 0x100, &s, nullptr), EINVAL);
  itimerspec bad = spec_ms(100);
  bad.it_value.tv_nsec = 1000000000;
  EXPECT_SYSCALL_FAILS_WITH(timerfd_settime(fd, 0, &bad, nullptr), EINVAL);
  bad = spec_ms(100);
  bad.it_interval.tv_nsec = -1;
  EXPECT_SYSCALL_FAILS_WITH(timerfd_settime(fd, 0, &bad, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_timerfd_settime, fd.fd, 0, 8, 0), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_settime(-1, 0, &s, nullptr), EBADF);
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(timerfd_settime(p[0], 0, &s, nullptr), EINVAL);
  itimerspec cur;
  EXPECT_SYSCALL_FAILS_WITH(timerfd_gettime(p[0], &cur), EINVAL);
  close(p[0]);
  close(p[1]);
  EXPECT_SYSCALL_FAILS_WITH(timerfd_gettime(-1, &cur), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_timerfd_gettime, fd.fd, 8), EFAULT);
}

TEST(Timerfd, ShortReadBufferIsEinval) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  uint32_t small;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &small, sizeof small), EINVAL);
  uint64_t v = 1;
  EXPECT_SYSCALL_FAILS_WITH(write(fd, &v, sizeof v), EINVAL);
}

TEST(Timerfd, PollReportsExpiry) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  pollfd p{fd, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 0);
  itimerspec s = spec_ms(20);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  int64_t start = proc::now_ns();
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 5000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_GE(proc::now_ns() - start, 15000000LL);
}

TEST(Timerfd, ProcFdLinkNamesIt) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  char path[64], target[128] = {};
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd.fd);
  ASSERT_SYSCALL_SUCCEEDS(readlink(path, target, sizeof target - 1));
  EXPECT_STREQ(target, "anon_inode:[timerfd]");
}

namespace {
volatile sig_atomic_t g_alarms;
void on_alarm(int) { g_alarms = g_alarms + 1; }
}  // namespace

TEST(Timerfd, BlockingReadInterruptedByHandlerIsEintr) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, 0));
  ASSERT_GE(fd.fd, 0);
  itimerspec s = spec_ms(10000);
  ASSERT_SYSCALL_SUCCEEDS(timerfd_settime(fd, 0, &s, nullptr));
  struct sigaction sa {}, old{};
  sa.sa_handler = on_alarm;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGALRM, &sa, &old));
  g_alarms = 0;
  itimerval it{};  // repeating: a late read() still sees one
  it.it_value.tv_usec = 30000;
  it.it_interval.tv_usec = 20000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  uint64_t n;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &n, sizeof n), EINTR);
  EXPECT_GE(g_alarms, 1);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
}

TEST(Timerfd, PreadIsEspipe) {
  Fd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  uint64_t n;
  EXPECT_SYSCALL_FAILS_WITH(pread(fd, &n, sizeof n, 0), ESPIPE);
}
