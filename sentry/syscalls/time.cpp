// Clocks and sleeps. Reading a clock is the host's clock_gettime; guests that
// use the vDSO never get here (DESIGN.md: the host vDSO stays mapped).
// Sleeps are coroutines on an io_uring timeout, so no worker blocks.

#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "sentry/io/uring.h"
#include "sentry/syscalls/handlers.h"

namespace moat {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Guest struct timespec and struct timeval (x86-64: two 64-bit fields).
struct GuestTimespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};
struct GuestTimeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

// The clocks clock_gettime and clock_getres accept. The process CPU-time
// clock reads the guest's stub process; the thread one still reads the
// sentry's (FIXME: the sentry does not know a guest thread's host tid).
// Negative ids (per-process CPU clocks, clock fds) are not served.
bool is_readable_clock(int32_t clock) {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI: return true;
    default: return false;
  }
}

// The host clock that serves a guest clock. The guest's CPU time is spent in
// its stub process, whose CPU clock the sentry may read by pid
// (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) in linux/posix-timers.h).
clockid_t host_clock(const SyscallContext& ctx, int32_t clock) {
  if (clock != CLOCK_PROCESS_CPUTIME_ID) return clock;
  pid_t pid = ctx.mem().host_pid();
  if (pid <= 0) return clock;
  constexpr clockid_t kCpuClockSched = 2;
  return static_cast<clockid_t>((~static_cast<clockid_t>(pid) << 3) | kCpuClockSched);
}

// Linux timespec64_valid(): non-negative seconds, nanoseconds in [0, 1e9).
bool is_valid(const GuestTimespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNanosPerSecond;
}

GuestTimespec now(clockid_t clock) {
  struct timespec ts {};
  clock_gettime(clock, &ts);
  return {ts.tv_sec, ts.tv_nsec};
}

GuestTimespec now(const SyscallContext& ctx, int32_t clock) {
  struct timespec ts {};
  if (clock_gettime(host_clock(ctx, clock), &ts) != 0) clock_gettime(clock, &ts);
  return {ts.tv_sec, ts.tv_nsec};
}

// a - b, clamped at zero.
GuestTimespec remaining(const GuestTimespec& a, const GuestTimespec& b) {
  int64_t sec = a.tv_sec - b.tv_sec;
  int64_t nsec = a.tv_nsec - b.tv_nsec;
  if (nsec < 0) {
    nsec += kNanosPerSecond;
    --sec;
  }
  if (sec < 0) return {0, 0};
  return {sec, nsec};
}

GuestTimespec add(const GuestTimespec& a, const GuestTimespec& b) {
  GuestTimespec r{a.tv_sec + b.tv_sec, a.tv_nsec + b.tv_nsec};
  if (r.tv_nsec >= kNanosPerSecond) {
    r.tv_nsec -= kNanosPerSecond;
    ++r.tv_sec;
  }
  return r;
}

// Sleeps for the relative duration. When the sleep ends early (the timeout
// was cancelled), writes the time left to rem_addr (if any) and fails with
// EINTR, like Linux's hrtimer_nanosleep().
// FIXME: guest signals do not interrupt sleeps yet (signals issue).
Coro<ErrorOr<int64_t>> sleep_for(const UserMemory& mem, GuestTimespec duration, uint64_t rem_addr) {
  if (duration.tv_sec == 0 && duration.tv_nsec == 0) co_return 0;
  GuestTimespec deadline = add(now(CLOCK_MONOTONIC), duration);
  int32_t res = co_await uring_sleep(__kernel_timespec{duration.tv_sec, duration.tv_nsec});
  // -ETIME is a timeout that expired normally.
  if (res == -ETIME || res >= 0) co_return 0;
  if (rem_addr != 0) {
    GuestTimespec rem = remaining(deadline, now(CLOCK_MONOTONIC));
    CO_TRY(mem.write(rem_addr, &rem, sizeof rem));
  }
  co_return Errno::INTR;
}

}  // namespace

// Implements Linux clock_gettime(2).
ErrorOr<int64_t> sys_clock_gettime(SyscallContext& ctx) {
  int32_t clock = ctx.arg_int(0);
  if (!is_readable_clock(clock)) return Errno::INVAL;
  GuestTimespec ts = now(ctx, clock);
  TRY(ctx.mem().write(ctx.arg(1), &ts, sizeof ts));
  return 0;
}

// Implements Linux clock_getres(2).
ErrorOr<int64_t> sys_clock_getres(SyscallContext& ctx) {
  int32_t clock = ctx.arg_int(0);
  if (!is_readable_clock(clock)) return Errno::INVAL;
  struct timespec host;
  if (clock_getres(clock, &host) != 0) return last_host_errno();
  if (ctx.arg(1) != 0) {
    GuestTimespec ts{host.tv_sec, host.tv_nsec};
    TRY(ctx.mem().write(ctx.arg(1), &ts, sizeof ts));
  }
  return 0;
}

// Implements Linux gettimeofday(2).
ErrorOr<int64_t> sys_gettimeofday(SyscallContext& ctx) {
  if (ctx.arg(0) != 0) {
    GuestTimespec ts = now(CLOCK_REALTIME);
    GuestTimeval tv{ts.tv_sec, ts.tv_nsec / 1000};
    TRY(ctx.mem().write(ctx.arg(0), &tv, sizeof tv));
  }
  if (ctx.arg(1) != 0) {
    // The kernel's sys_tz, as set by settimeofday (normally zero).
    struct timezone tz {};
    syscall(SYS_gettimeofday, nullptr, &tz);
    TRY(ctx.mem().write(ctx.arg(1), &tz, sizeof tz));
  }
  return 0;
}

// Implements Linux time(2).
ErrorOr<int64_t> sys_time(SyscallContext& ctx) {
  int64_t seconds = now(CLOCK_REALTIME).tv_sec;
  if (ctx.arg(0) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<int64_t>(0), seconds));
  return seconds;
}

// Implements Linux nanosleep(2).
Coro<ErrorOr<int64_t>> sys_nanosleep(SyscallContext& ctx) {
  const UserMemory& mem = ctx.mem();
  uint64_t rem_addr = ctx.arg(1);
  CO_TRY_ASSIGN(GuestTimespec req, mem.read_obj(ctx.arg_ptr<GuestTimespec>(0)));
  if (!is_valid(req)) co_return Errno::INVAL;
  co_return co_await sleep_for(mem, req, rem_addr);
}

// Implements Linux clock_nanosleep(2). The raw syscall returns -errno like
// any other; glibc turns it into a positive return value.
Coro<ErrorOr<int64_t>> sys_clock_nanosleep(SyscallContext& ctx) {
  int32_t clock = ctx.arg_int(0);
  bool absolute = ctx.arg(1) & TIMER_ABSTIME;
  const UserMemory& mem = ctx.mem();
  uint64_t rem_addr = absolute ? 0 : ctx.arg(3);  // Linux ignores rmtp for TIMER_ABSTIME
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI: break;
    // Linux has no nsleep for these clocks (EOPNOTSUPP from the syscall;
    // glibc reports EINVAL for CLOCK_THREAD_CPUTIME_ID itself).
    case CLOCK_THREAD_CPUTIME_ID:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    // FIXME: sleeping on the process CPU clock and on the alarm clocks
    // (which need CAP_WAKE_ALARM and an RTC) is not supported.
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM: co_return Errno::NOTSUP;
    default: co_return Errno::INVAL;
  }
  CO_TRY_ASSIGN(GuestTimespec req, mem.read_obj(ctx.arg_ptr<GuestTimespec>(2)));
  if (!is_valid(req)) co_return Errno::INVAL;
  if (absolute) req = remaining(req, now(clock));
  co_return co_await sleep_for(mem, req, rem_addr);
}

}  // namespace moat
