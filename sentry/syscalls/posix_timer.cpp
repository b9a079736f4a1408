// POSIX per-process timers: timer_create, timer_settime, timer_gettime,
// timer_getoverrun and timer_delete (timer_create(2)). The timers are
// sentry/kernel/timers.h's; here the guest's arguments are checked as the
// kernel's kernel/time/posix-timers.c checks them.

#include <signal.h>
#include <time.h>

#include "sentry/kernel/timers.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// The kernel's struct sigevent (64 bytes on x86-64); the thread id of
// SIGEV_THREAD_ID follows the notify field.
struct GuestSigevent {
  sigval value;
  int32_t signo;
  int32_t notify;
  int32_t thread_id;
  int32_t pad[11];
};
static_assert(sizeof(GuestSigevent) == 64);

constexpr int kSigRtMax = 64;
// Beyond this many seconds a time is as good as never (the kernel's KTIME_MAX).
constexpr int64_t kMaxSeconds = INT64_MAX / kNsPerSecond / 2;

bool is_valid(const timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSecond; }

int64_t to_ns(const timespec& ts) {
  if (ts.tv_sec >= kMaxSeconds) return kMaxSeconds * kNsPerSecond;
  return ts.tv_sec * kNsPerSecond + ts.tv_nsec;
}

timespec to_timespec(int64_t ns) { return timespec{ns / kNsPerSecond, ns % kNsPerSecond}; }

// The kernel's good_sigevent(): SIGEV_THREAD is SIGEV_SIGNAL to the kernel
// (glibc builds its thread notification on SIGEV_THREAD_ID), and the thread
// of SIGEV_THREAD_ID must belong to the caller's process.
ErrorOr<TimerNotify> check_sigevent(SyscallContext& ctx, const GuestSigevent& ev) {
  TimerNotify n;
  n.value = ev.value;
  n.signo = ev.signo;
  switch (ev.notify) {
    case SIGEV_THREAD_ID:
      if (!ctx.process().thread_by_tid(ev.thread_id)) return Errno::INVAL;
      n.how = SIGEV_THREAD_ID;
      n.tid = ev.thread_id;
      break;
    case SIGEV_SIGNAL:
    case SIGEV_THREAD: n.how = SIGEV_SIGNAL; break;
    case SIGEV_NONE: n.how = SIGEV_NONE; return n;
    default: return Errno::INVAL;
  }
  if (ev.signo <= 0 || ev.signo > kSigRtMax) return Errno::INVAL;
  return n;
}

// The caller's POSIX timer with this id (EINVAL when there is none).
ErrorOr<IntervalTimer*> find_timer(SyscallContext& ctx, int id) {
  if (id < 0 || !ctx.process().timers) return Errno::INVAL;
  IntervalTimer* t = ctx.process().timers->find(id);
  if (!t) return Errno::INVAL;
  return t;
}

itimerspec to_itimerspec(const TimerSetting& s) { return itimerspec{to_timespec(s.interval_ns), to_timespec(s.value_ns)}; }

}  // namespace

// Implements Linux timer_create(2).
ErrorOr<int64_t> sys_timer_create(SyscallContext& ctx) {
  clockid_t clock_id = ctx.arg_int(0);
  uint64_t event_addr = ctx.arg(1);
  GuestSigevent event{};
  if (event_addr) event = TRY(ctx.mem().read_obj(UserPtr<GuestSigevent>(event_addr)));
  GuestClock clock = TRY(resolve_clock(ctx.thread, clock_id, ClockUse::Timer));
  TimerNotify notify;  // no sigevent: SIGALRM with the timer id as its value
  if (event_addr) notify = TRY(check_sigevent(ctx, event));
  TimerTable& table = timers_of(ctx.process());
  int id = TRY(table.create(clock, notify));
  if (!event_addr) table.find(id)->notify.value.sival_int = id;
  if (auto r = ctx.mem().write_obj(UserPtr<int32_t>(ctx.arg(2)), id); r.is_error()) {
    table.remove(id);
    return r.error();
  }
  return 0;
}

// Implements Linux timer_settime(2).
ErrorOr<int64_t> sys_timer_settime(SyscallContext& ctx) {
  int id = ctx.arg_int(0);
  bool absolute = ctx.arg_int(1) & TIMER_ABSTIME;
  if (!ctx.arg(2)) return Errno::INVAL;
  itimerspec next = TRY(ctx.mem().read_obj(UserPtr<itimerspec>(ctx.arg(2))));
  if (!is_valid(next.it_value) || !is_valid(next.it_interval)) return Errno::INVAL;
  TRY(find_timer(ctx, id));
  TimerSetting old = timer_set(ctx.process(), id, {to_ns(next.it_value), to_ns(next.it_interval)}, absolute);
  if (ctx.arg(3)) TRY(ctx.mem().write_obj(UserPtr<itimerspec>(ctx.arg(3)), to_itimerspec(old)));
  return 0;
}

// Implements Linux timer_gettime(2).
ErrorOr<int64_t> sys_timer_gettime(SyscallContext& ctx) {
  IntervalTimer* t = TRY(find_timer(ctx, ctx.arg_int(0)));
  TimerSetting cur = timer_get(ctx.process(), *t);
  TRY(ctx.mem().write_obj(UserPtr<itimerspec>(ctx.arg(1)), to_itimerspec(cur)));
  return 0;
}

// Implements Linux timer_getoverrun(2): the overrun count of the timer's
// last delivered signal.
ErrorOr<int64_t> sys_timer_getoverrun(SyscallContext& ctx) {
  IntervalTimer* t = TRY(find_timer(ctx, ctx.arg_int(0)));
  return timer_overrun(ctx.process(), *t);
}

// Implements Linux timer_delete(2).
ErrorOr<int64_t> sys_timer_delete(SyscallContext& ctx) {
  int id = ctx.arg_int(0);
  TRY(find_timer(ctx, id));
  ctx.process().timers->remove(id);
  return 0;
}

}  // namespace moat
