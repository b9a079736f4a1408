// Conformance: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
// nanosleep(2), clock_nanosleep(2), clock_settime(2), settimeofday(2).
// Error paths use the raw syscall: glibc reads most clocks through the vDSO,
// which does not check pointers.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "harness.h"

namespace {

constexpr clockid_t kClocks[] = {CLOCK_REALTIME,       CLOCK_MONOTONIC,        CLOCK_PROCESS_CPUTIME_ID,
                                 CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                                 CLOCK_MONOTONIC_COARSE,  CLOCK_BOOTTIME,      CLOCK_TAI};

int64_t ns(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

int64_t mono_now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ns(t);
}

long raw_gettime(clockid_t c, void* ts) { return syscall(SYS_clock_gettime, c, ts); }

}  // namespace

TEST(ClockGettime, EveryClockIsReadable) {
  for (clockid_t c : kClocks) {
    timespec t{-1, -1};
    EXPECT_SYSCALL_SUCCEEDS_WITH(raw_gettime(c, &t), 0);
    EXPECT_GE(t.tv_sec, 0);
    EXPECT_GE(t.tv_nsec, 0);
    EXPECT_LT(t.tv_nsec, 1000000000);
  }
}

TEST(ClockGettime, MonotonicNeverGoesBackwards) {
  timespec prev;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_MONOTONIC, &prev));
  for (int i = 0; i < 200; i++) {
    timespec cur;
    ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_MONOTONIC, &cur));
    ASSERT_GE(ns(cur), ns(prev));
    prev = cur;
  }
}

TEST(ClockGettime, VdsoAndSyscallAgree) {
  timespec a, b, c;
  ASSERT_SYSCALL_SUCCEEDS(clock_gettime(CLOCK_MONOTONIC, &a));
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_MONOTONIC, &b));
  ASSERT_SYSCALL_SUCCEEDS(clock_gettime(CLOCK_MONOTONIC, &c));
  EXPECT_LE(ns(a), ns(b));
  EXPECT_LE(ns(b), ns(c));
}

TEST(ClockGettime, RealtimeIsPlausible) {
  timespec t;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_REALTIME, &t));
  EXPECT_GT(t.tv_sec, 1577836800);  // 2020-01-01
}

TEST(ClockGettime, BoottimeIsAtLeastMonotonic) {
  timespec m, b;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_MONOTONIC, &m));
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_BOOTTIME, &b));
  EXPECT_GE(ns(b), ns(m));
}

TEST(ClockGettime, InvalidClockIsEinval) {
  timespec t;
  EXPECT_SYSCALL_FAILS_WITH(raw_gettime(100, &t), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_gettime(16, &t), EINVAL);
}

TEST(ClockGettime, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(raw_gettime(CLOCK_MONOTONIC, reinterpret_cast<void*>(8)), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_gettime(CLOCK_REALTIME, reinterpret_cast<void*>(8)), EFAULT);
}

namespace {
// Burns CPU in pure computation, no syscalls: only the guest's own CPU time
// grows (the sentry's does not).
void spin() {
  volatile uint64_t x = 0;
  for (int i = 0; i < 100000000; i++) x = x + 1;
}
}  // namespace

// Regression: the process CPU clock read the sentry's CPU time.
TEST(ClockGettime, ProcessCpuTimeAdvancesWithWork) {
  timespec a, b;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_PROCESS_CPUTIME_ID, &a));
  spin();
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_PROCESS_CPUTIME_ID, &b));
  EXPECT_GE(ns(b) - ns(a), 20000000);
  // glibc's clock_gettime (vDSO, then the syscall) agrees.
  timespec c;
  ASSERT_SYSCALL_SUCCEEDS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c));
  EXPECT_GE(ns(c), ns(b));
}

TEST(ClockGettime, ThreadCpuTimeAdvancesWithWork) {
  timespec a, b;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_THREAD_CPUTIME_ID, &a));
  spin();
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_THREAD_CPUTIME_ID, &b));
  EXPECT_GE(ns(b) - ns(a), 20000000);
}

TEST(ClockGetres, EveryClockHasAResolution) {
  for (clockid_t c : kClocks) {
    timespec r{-1, -1};
    EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_getres, c, &r), 0);
    EXPECT_EQ(r.tv_sec, 0);
    EXPECT_GT(r.tv_nsec, 0);
  }
}

TEST(ClockGetres, HighResolutionClocksReportOneNanosecond) {
  timespec r;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r));
  EXPECT_EQ(r.tv_nsec, 1);
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_clock_getres, CLOCK_REALTIME, &r));
  EXPECT_EQ(r.tv_nsec, 1);
}

TEST(ClockGetres, NullResultIsAllowed) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_getres, CLOCK_MONOTONIC, nullptr), 0);
}

TEST(ClockGetres, InvalidClockIsEinval) {
  timespec r;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_getres, 100, &r), EINVAL);
}

TEST(ClockGetres, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_getres, CLOCK_MONOTONIC, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Gettimeofday, MatchesRealtimeClock) {
  timeval tv;
  timespec before, after;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_REALTIME, &before));
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_gettimeofday, &tv, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_REALTIME, &after));
  EXPECT_GE(tv.tv_usec, 0);
  EXPECT_LT(tv.tv_usec, 1000000);
  int64_t t = int64_t{tv.tv_sec} * 1000000 + tv.tv_usec;
  EXPECT_GE(t, ns(before) / 1000);
  EXPECT_LE(t, ns(after) / 1000);
}

TEST(Gettimeofday, TimezoneAndNullArguments) {
  struct timezone tz = {-1, -1};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_gettimeofday, nullptr, &tz), 0);
  EXPECT_NE(tz.tz_minuteswest, -1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_gettimeofday, nullptr, nullptr), 0);
}

TEST(Gettimeofday, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_gettimeofday, reinterpret_cast<void*>(8), nullptr), EFAULT);
  timeval tv;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_gettimeofday, &tv, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Time, MatchesRealtimeAndFillsPointer) {
  time_t stored = 0;
  timespec before;
  ASSERT_SYSCALL_SUCCEEDS(raw_gettime(CLOCK_REALTIME, &before));
  long t = syscall(SYS_time, &stored);
  EXPECT_EQ(t, stored);
  // time(2) reads the coarse realtime clock (the kernel's ktime_get_real_seconds),
  // which may lag CLOCK_REALTIME by up to a tick: a second boundary can fall between.
  EXPECT_GE(t, before.tv_sec - 1);
  EXPECT_LE(t, before.tv_sec + 2);
  EXPECT_GE(syscall(SYS_time, nullptr), t);
}

TEST(Time, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_time, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Nanosleep, SleepsAtLeastTheRequest) {
  int64_t start = mono_now();
  timespec req{0, 20000000};
  ASSERT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_nanosleep, &req, nullptr), 0);
  EXPECT_GE(mono_now() - start, 20000000);
}

TEST(Nanosleep, ZeroReturnsAtOnce) {
  timespec req{0, 0};
  int64_t start = mono_now();
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_nanosleep, &req, nullptr), 0);
  EXPECT_LT(mono_now() - start, 500000000);
}

TEST(Nanosleep, InvalidTimespecIsEinval) {
  timespec big{0, 1000000000};
  timespec neg_nsec{0, -1};
  timespec neg_sec{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_nanosleep, &big, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_nanosleep, &neg_nsec, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_nanosleep, &neg_sec, nullptr), EINVAL);
}

TEST(Nanosleep, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_nanosleep, reinterpret_cast<void*>(8), nullptr), EFAULT);
}

TEST(ClockNanosleep, RelativeSleepsAtLeastTheRequest) {
  int64_t start = mono_now();
  timespec req{0, 20000000};
  ASSERT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, nullptr), 0);
  EXPECT_GE(mono_now() - start, 20000000);
}

TEST(ClockNanosleep, AbsoluteInThePastReturnsAtOnce) {
  timespec now;
  ASSERT_SYSCALL_SUCCEEDS(clock_gettime(CLOCK_MONOTONIC, &now));
  timespec past{now.tv_sec > 10 ? now.tv_sec - 10 : 0, 0};
  int64_t start = mono_now();
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, nullptr), 0);
  EXPECT_LT(mono_now() - start, 500000000);
}

TEST(ClockNanosleep, AbsoluteInTheFutureSleepsUntilThen) {
  int64_t target = mono_now() + 20000000;
  timespec when{static_cast<time_t>(target / 1000000000), static_cast<long>(target % 1000000000)};
  ASSERT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr), 0);
  EXPECT_GE(mono_now(), target);
}

TEST(ClockNanosleep, RealtimeRelativeSleeps) {
  int64_t start = mono_now();
  timespec req{0, 5000000};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, nullptr), 0);
  EXPECT_GE(mono_now() - start, 5000000);
}

TEST(ClockNanosleep, InvalidTimespecIsEinval) {
  timespec big{0, 1000000000};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &big, nullptr), EINVAL);
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &big, nullptr), EINVAL);
}

TEST(ClockNanosleep, InvalidClockIsEinval) {
  timespec req{0, 1000};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, 100, 0, &req, nullptr), EINVAL);
}

TEST(ClockNanosleep, ClocksWithoutSleepAreEopnotsupp) {
  // kernel/time/posix-timers.c: a clock without nsleep gives EOPNOTSUPP.
  timespec req{0, 1000};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &req, nullptr), EOPNOTSUPP);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_REALTIME_COARSE, 0, &req, nullptr), EOPNOTSUPP);
}

TEST(ClockNanosleep, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, reinterpret_cast<void*>(8), nullptr),
                            EFAULT);
}

// ---- clock_settime(2), settimeofday(2) ----
//
// A sandbox never sets the host's clock: moat answers as Linux does for a
// caller without CAP_SYS_TIME (a container's root). Natively these cases
// drop CAP_SYS_TIME in a child first, so no case can change the clock.

namespace {

// Runs checks in a child without CAP_SYS_TIME and expects it to exit 0.
template <typename F>
void without_cap_sys_time(F checks) {
  pid_t child = fork();
  ASSERT_SYSCALL_SUCCEEDS(child);
  if (child == 0) {
    alarm(10);
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    if (syscall(SYS_capget, &h, d) != 0) _exit(100);
    d[0].effective &= ~(1u << CAP_SYS_TIME);
    if (syscall(SYS_capset, &h, d) != 0) _exit(101);
    if (syscall(SYS_capget, &h, d) != 0 || (d[0].effective & (1u << CAP_SYS_TIME))) _exit(102);
    _exit(checks());
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// 0 when expr fails with err, else line (the child's exit status).
#define CHILD_EXPECT_FAILS_WITH(expr, err) \
  do {                                     \
    errno = 0;                             \
    long r_ = (expr);                      \
    if (r_ != -1 || errno != (err)) return __LINE__ % 100 + 1; \
  } while (0)

}  // namespace

TEST(ClockSettime, RealtimeIsEpermAndBadTimesEinval) {
  without_cap_sys_time([] {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, &now), EPERM);
    timespec negative{-1, 0}, big_nsec{now.tv_sec, 1000000000}, far{INT64_MAX / 1000000000, 0};
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, &negative), EINVAL);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, &big_nsec), EINVAL);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, &far), EINVAL);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, reinterpret_cast<void*>(8)), EFAULT);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_REALTIME, nullptr), EFAULT);
    return 0;
  });
}

// Regression: CPython's test_clock_settime wants OSError for
// clock_settime(CLOCK_MONOTONIC); clock_settime was ENOSYS in moat.
TEST(ClockSettime, ClocksWithoutASetterAreEinvalBeforeTheTimeIsRead) {
  without_cap_sys_time([] {
    timespec zero{0, 0};
    for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
                        CLOCK_BOOTTIME, CLOCK_TAI, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
                        CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, clockid_t{100}}) {
      CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, c, &zero), EINVAL);
      CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, c, reinterpret_cast<void*>(8)), EINVAL);
    }
    return 0;
  });
}

TEST(ClockSettime, CpuClocksAreEpermOrEinvalForNoSuchProcess) {
  without_cap_sys_time([] {
    timespec zero{0, 0};
    clockid_t self;
    if (clock_getcpuclockid(0, &self) != 0) return 90;
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, self, &zero), EPERM);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, self, reinterpret_cast<void*>(8)), EFAULT);
    // The clock id of pid 0x3fffffff (no such process), made by hand as
    // clock_getcpuclockid refuses it: ~pid << 3 | CPUCLOCK_SCHED.
    clockid_t none = static_cast<clockid_t>((~0x3fffffffu << 3) | 2);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_clock_settime, none, &zero), EINVAL);
    return 0;
  });
}

TEST(Settimeofday, EpermAfterTheTimevalIsChecked) {
  without_cap_sys_time([] {
    timeval now;
    gettimeofday(&now, nullptr);
    struct timezone tz {};
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, &now, nullptr), EPERM);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, nullptr, nullptr), EPERM);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, nullptr, &tz), EPERM);
    // The time zone's range is checked only after the permission.
    struct timezone far_zone {16 * 60, 0};
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, nullptr, &far_zone), EPERM);
    timeval big_usec{now.tv_sec, 1000000}, negative{-1, 0};
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, &big_usec, nullptr), EINVAL);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, &negative, nullptr), EINVAL);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, reinterpret_cast<void*>(8), nullptr), EFAULT);
    CHILD_EXPECT_FAILS_WITH(syscall(SYS_settimeofday, nullptr, reinterpret_cast<void*>(8)), EFAULT);
    return 0;
  });
}
