// Clocks and sleeps. Reading a clock is the host's clock_gettime; guests that
// use the vDSO never get here (DESIGN.md: the host vDSO stays mapped).
// Sleeps are coroutines on an io_uring timeout, so no worker blocks.

#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <ctime>

#include "sentry/io/uring.h"
#include "sentry/kernel/timers.h"
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

// The time of a guest clock. The caller's own CPU clocks are read through
// the caller, which need not be in the process table yet.
ErrorOr<GuestTimespec> read_clock(const SyscallContext& ctx, const GuestClock& clock) {
  std::optional<int64_t> ns;
  if (clock.kind == GuestClock::Kind::ProcessCpu && clock.pid == ctx.process().pid())
    ns = process_cpu_ns(ctx.process(), clock.cpu);
  else if (clock.kind == GuestClock::Kind::ThreadCpu && clock.tid == ctx.thread.tid())
    ns = thread_cpu_ns(ctx.thread, clock.cpu);
  else
    ns = clock_now(ctx.sandbox(), clock);
  if (!ns) return Errno::INVAL;
  return GuestTimespec{*ns / kNanosPerSecond, *ns % kNanosPerSecond};
}

// Linux timespec64_valid(): non-negative seconds, nanoseconds in [0, 1e9).
bool is_valid(const GuestTimespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNanosPerSecond;
}

// Linux timespec64_valid_settod(): valid, and far enough from the end of
// ktime_t (KTIME_SEC_MAX less 30 years of uptime) to be a wall clock time.
bool is_valid_settod(const GuestTimespec& ts) {
  constexpr int64_t kKtimeSecMax = INT64_MAX / kNanosPerSecond;
  constexpr int64_t kUptimeSecMax = 30LL * 365 * 24 * 60 * 60;
  return is_valid(ts) && ts.tv_sec <= kKtimeSecMax - kUptimeSecMax;
}

GuestTimespec now(clockid_t clock) {
  struct timespec ts {};
  clock_gettime(clock, &ts);
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

// Implements Linux clock_gettime(2), the CPU-time clocks of other
// processes and threads (clock_getcpuclockid(3)) included.
ErrorOr<int64_t> sys_clock_gettime(SyscallContext& ctx) {
  GuestClock clock = TRY(resolve_clock(ctx.thread, ctx.arg_int(0), ClockUse::Read));
  GuestTimespec ts = TRY(read_clock(ctx, clock));
  TRY(ctx.mem().write(ctx.arg(1), &ts, sizeof ts));
  return 0;
}

// Implements Linux clock_getres(2): the host's resolution of a wall clock,
// one nanosecond for the CPU-time clocks.
ErrorOr<int64_t> sys_clock_getres(SyscallContext& ctx) {
  GuestClock clock = TRY(resolve_clock(ctx.thread, ctx.arg_int(0), ClockUse::Read));
  struct timespec host {0, 1};
  if (!clock.is_cpu() && clock_getres(clock.wall, &host) != 0) return last_host_errno();
  if (ctx.arg(1) != 0) {
    GuestTimespec ts{host.tv_sec, host.tv_nsec};
    TRY(ctx.mem().write(ctx.arg(1), &ts, sizeof ts));
  }
  return 0;
}

// Implements Linux clock_settime(2) as a container without CAP_SYS_TIME in
// the host's user namespace sees it: a sandbox never sets the host's clock,
// so every valid request is EPERM. Only CLOCK_REALTIME and the CPU-time
// clocks of clock_getcpuclockid(3) have a setter (posix-timers.c); the other
// clocks are EINVAL before the time is read, a bad time is EINVAL after.
ErrorOr<int64_t> sys_clock_settime(SyscallContext& ctx) {
  clockid_t id = ctx.arg_int(0);
  if (id != CLOCK_REALTIME && id >= 0) return Errno::INVAL;
  GuestTimespec ts = TRY(ctx.mem().read_obj(ctx.arg_ptr<GuestTimespec>(1)));
  if (id == CLOCK_REALTIME) {
    if (!is_valid_settod(ts)) return Errno::INVAL;
    return Errno::PERM;
  }
  // posix_cpu_clock_set(): a CPU clock is never set, but one that names no
  // process or thread is EINVAL.
  TRY(resolve_clock(ctx.thread, id, ClockUse::Read));
  return Errno::PERM;
}

// Implements Linux settimeofday(2), EPERM as clock_settime(2) is. The
// timeval is checked first (EINVAL), the time zone only after the
// permission, so a time zone alone is EPERM too.
ErrorOr<int64_t> sys_settimeofday(SyscallContext& ctx) {
  constexpr int64_t kMicrosPerSecond = 1'000'000;
  std::optional<GuestTimespec> ts;
  if (ctx.arg(0) != 0) {
    GuestTimeval tv = TRY(ctx.mem().read_obj(ctx.arg_ptr<GuestTimeval>(0)));
    if (tv.tv_sec < 0 || static_cast<uint64_t>(tv.tv_usec) >= kMicrosPerSecond) return Errno::INVAL;
    ts = GuestTimespec{tv.tv_sec, tv.tv_usec * 1000};
  }
  if (ctx.arg(1) != 0) TRY(ctx.mem().read_obj(UserPtr<struct timezone>(ctx.arg(1))));
  if (ts && !is_valid_settod(*ts)) return Errno::INVAL;
  return Errno::PERM;
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

// Implements Linux times(2): the guest's CPU times and those of the children
// it waited for, in clock ticks; returns the host's tick count (elapsed
// time since an arbitrary point, as on Linux).
ErrorOr<int64_t> sys_times(SyscallContext& ctx) {
  if (ctx.arg(0) != 0) {
    const int64_t tick_ns = kNanosPerSecond / sysconf(_SC_CLK_TCK);
    ResourceUsage self = process_usage(ctx.process());
    const ResourceUsage& children = ctx.process().children_usage;
    struct tms t {};
    t.tms_utime = self.cpu.user_ns / tick_ns;
    t.tms_stime = self.cpu.system_ns / tick_ns;
    t.tms_cutime = children.cpu.user_ns / tick_ns;
    t.tms_cstime = children.cpu.system_ns / tick_ns;
    TRY(ctx.mem().write_obj(UserPtr<struct tms>(ctx.arg(0)), t));
  }
  return static_cast<int64_t>(times(nullptr));
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
// any other; glibc turns it into a positive return value. A process CPU-time
// clock is slept on by looking at it again after each wall-time sleep
// (timers.h says how long).
Coro<ErrorOr<int64_t>> sys_clock_nanosleep(SyscallContext& ctx) {
  bool absolute = ctx.arg(1) & TIMER_ABSTIME;
  const UserMemory& mem = ctx.mem();
  uint64_t rem_addr = absolute ? 0 : ctx.arg(3);  // Linux ignores rmtp for TIMER_ABSTIME
  CO_TRY_ASSIGN(GuestClock clock, resolve_clock(ctx.thread, ctx.arg_int(0), ClockUse::Sleep));
  CO_TRY_ASSIGN(GuestTimespec req, mem.read_obj(ctx.arg_ptr<GuestTimespec>(2)));
  if (!is_valid(req)) co_return Errno::INVAL;
  if (!clock.is_cpu()) {
    if (absolute) req = remaining(req, now(clock.wall));
    co_return co_await sleep_for(mem, req, rem_addr);
  }
  Sandbox& sandbox = ctx.sandbox();
  CO_TRY_ASSIGN(GuestTimespec start, read_clock(ctx, clock));
  GuestTimespec deadline = absolute ? req : add(start, req);
  for (;;) {
    CO_TRY_ASSIGN(GuestTimespec cur, read_clock(ctx, clock));
    GuestTimespec left = remaining(deadline, cur);
    if (left.tv_sec == 0 && left.tv_nsec == 0) co_return 0;
    int64_t wall = wall_sleep_for(sandbox, clock, left.tv_sec * kNanosPerSecond + left.tv_nsec);
    int32_t res = co_await uring_sleep(__kernel_timespec{wall / kNanosPerSecond, wall % kNanosPerSecond});
    if (res == -ETIME || res >= 0) continue;
    if (rem_addr != 0) {
      CO_TRY_ASSIGN(GuestTimespec after, read_clock(ctx, clock));
      GuestTimespec rem = remaining(deadline, after);
      CO_TRY(mem.write(rem_addr, &rem, sizeof rem));
    }
    co_return Errno::INTR;
  }
}

}  // namespace moat
