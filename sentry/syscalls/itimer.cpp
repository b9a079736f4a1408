// alarm, setitimer and getitimer: the three per-process interval timers
// (setitimer(2)). ITIMER_REAL counts CLOCK_MONOTONIC time and sends SIGALRM;
// ITIMER_VIRTUAL counts the process's user CPU time (SIGVTALRM) and
// ITIMER_PROF its user and system CPU time (SIGPROF). The timers themselves
// are sentry/kernel/timers.h's.

#include <sys/time.h>

#include "sentry/kernel/timers.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr int64_t kNsPerUs = 1000;

int64_t timeval_ns(const timeval& tv) { return tv.tv_sec * kNsPerSecond + tv.tv_usec * kNsPerUs; }

// Rounded up to the microsecond, so a timer still armed never reads zero.
timeval ns_timeval(int64_t ns) {
  if (ns <= 0) return timeval{0, 0};
  ns = (ns + kNsPerUs - 1) / kNsPerUs * kNsPerUs;
  return timeval{ns / kNsPerSecond, ns % kNsPerSecond / kNsPerUs};
}

bool valid_which(int which) { return which == ITIMER_REAL || which == ITIMER_VIRTUAL || which == ITIMER_PROF; }

// Linux timeval_valid(): non-negative, microseconds below a second.
bool is_valid(const timeval& tv) { return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000; }

TimerSetting set_itimer(Process& p, int which, TimerSetting next) {
  timers_of(p).itimer(p, which);
  return timer_set(p, TimerTable::itimer_key(which), next, false);
}

}  // namespace

// Implements Linux alarm(2): returns the seconds left on the previous alarm,
// rounded to the nearest second (at least 1 when one was pending), as the
// kernel's alarm_setitimer().
ErrorOr<int64_t> sys_alarm(SyscallContext& ctx) {
  int64_t seconds = static_cast<uint32_t>(ctx.arg(0));
  TimerSetting old = set_itimer(ctx.process(), ITIMER_REAL, {seconds * kNsPerSecond, 0});
  if (!old.value_ns) return 0;
  return std::max<int64_t>(1, (old.value_ns + kNsPerSecond / 2) / kNsPerSecond);
}

// Implements Linux setitimer(2). A null new value disarms, as Linux still
// accepts (with a warning in its log).
ErrorOr<int64_t> sys_setitimer(SyscallContext& ctx) {
  int which = ctx.arg_int(0);
  itimerval next{};
  if (ctx.arg(1)) next = TRY(ctx.mem().read_obj(UserPtr<itimerval>(ctx.arg(1))));
  if (!valid_which(which)) return Errno::INVAL;
  if (!is_valid(next.it_value) || !is_valid(next.it_interval)) return Errno::INVAL;
  TimerSetting old =
      set_itimer(ctx.process(), which, {timeval_ns(next.it_value), timeval_ns(next.it_interval)});
  if (ctx.arg(2)) {
    itimerval out{ns_timeval(old.interval_ns), ns_timeval(old.value_ns)};
    TRY(ctx.mem().write_obj(UserPtr<itimerval>(ctx.arg(2)), out));
  }
  return 0;
}

// Implements Linux getitimer(2).
ErrorOr<int64_t> sys_getitimer(SyscallContext& ctx) {
  int which = ctx.arg_int(0);
  if (!valid_which(which)) return Errno::INVAL;
  Process& p = ctx.process();
  TimerSetting cur = timer_get(p, timers_of(p).itimer(p, which));
  itimerval out{ns_timeval(cur.interval_ns), ns_timeval(cur.value_ns)};
  TRY(ctx.mem().write_obj(UserPtr<itimerval>(ctx.arg(1)), out));
  return 0;
}

}  // namespace moat
