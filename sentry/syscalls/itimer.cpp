// alarm, setitimer and getitimer for ITIMER_REAL: SIGALRM after a CLOCK_MONOTONIC
// delay, through an io_uring timeout. Re-arming bumps a generation number, so
// a timer already in flight finds itself stale and does nothing.
// FIXME: ITIMER_VIRTUAL and ITIMER_PROF (CPU time), timer_create.

#include <sys/time.h>

#include "sentry/io/uring.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/readiness.h"

namespace moat {

namespace {

constexpr int64_t kNsPerUs = 1000, kNsPerSec = 1000000000;

int64_t timeval_ns(const timeval& tv) { return tv.tv_sec * kNsPerSec + tv.tv_usec * kNsPerUs; }
timeval ns_timeval(int64_t ns) {
  if (ns <= 0) return timeval{0, 0};
  return timeval{ns / kNsPerSec, (ns % kNsPerSec + kNsPerUs - 1) / kNsPerUs};
}

// Sleeps until the timer's deadline, then sends SIGALRM while the generation
// is still the process's; intervals re-arm.
Detached run_itimer(Sandbox& sandbox, pid_t pid, uint64_t generation) {
  for (;;) {
    Process* p = sandbox.find_process(pid);
    if (!p || p->zombie || p->itimer_generation != generation || !p->itimer_deadline_ns) co_return;
    int64_t left = p->itimer_deadline_ns - monotonic_ns();
    if (left > 0) {
      co_await uring_sleep(__kernel_timespec{left / kNsPerSec, left % kNsPerSec});
      continue;  // look again: the process may be gone or re-armed
    }
    siginfo_t info{};
    info.si_signo = SIGALRM;
    info.si_code = SI_KERNEL;
    p->itimer_deadline_ns = p->itimer_interval_ns ? p->itimer_deadline_ns + p->itimer_interval_ns : 0;
    send_signal(*p, SIGALRM, info);
  }
}

// Arms (or disarms, value 0) the process's ITIMER_REAL; returns the old
// remaining time and interval.
std::pair<int64_t, int64_t> set_real_timer(SyscallContext& ctx, int64_t value_ns, int64_t interval_ns) {
  Process& p = ctx.process();
  int64_t now = monotonic_ns();
  int64_t old_left = p.itimer_deadline_ns ? std::max<int64_t>(p.itimer_deadline_ns - now, 1) : 0;
  int64_t old_interval = p.itimer_interval_ns;
  p.itimer_generation++;
  p.itimer_deadline_ns = value_ns ? now + value_ns : 0;
  p.itimer_interval_ns = value_ns ? interval_ns : 0;
  if (value_ns) run_itimer(ctx.sandbox(), p.pid(), p.itimer_generation);
  return {old_left, old_interval};
}

}  // namespace

// Implements Linux alarm(2): returns the seconds left on the previous alarm,
// rounded to the nearest second (at least 1 when one was pending).
ErrorOr<int64_t> sys_alarm(SyscallContext& ctx) {
  auto [old_left, _] = set_real_timer(ctx, static_cast<int64_t>(static_cast<uint32_t>(ctx.arg(0))) * kNsPerSec, 0);
  if (!old_left) return 0;
  return std::max<int64_t>(1, (old_left + kNsPerSec / 2) / kNsPerSec);
}

// Implements Linux setitimer(2) for ITIMER_REAL.
ErrorOr<int64_t> sys_setitimer(SyscallContext& ctx) {
  int which = ctx.arg_int(0);
  if (which != ITIMER_REAL) return which == ITIMER_VIRTUAL || which == ITIMER_PROF ? Errno::NOSYS : Errno::INVAL;
  itimerval next{};
  if (ctx.arg(1)) next = TRY(ctx.mem().read_obj(UserPtr<itimerval>(ctx.arg(1))));
  for (const timeval& tv : {next.it_value, next.it_interval})
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Errno::INVAL;
  auto [old_left, old_interval] = set_real_timer(ctx, timeval_ns(next.it_value), timeval_ns(next.it_interval));
  if (ctx.arg(2)) {
    itimerval old{ns_timeval(old_interval), ns_timeval(old_left)};
    TRY(ctx.mem().write_obj(UserPtr<itimerval>(ctx.arg(2)), old));
  }
  return 0;
}

// Implements Linux getitimer(2) for ITIMER_REAL.
ErrorOr<int64_t> sys_getitimer(SyscallContext& ctx) {
  int which = ctx.arg_int(0);
  if (which != ITIMER_REAL) return which == ITIMER_VIRTUAL || which == ITIMER_PROF ? Errno::NOSYS : Errno::INVAL;
  Process& p = ctx.process();
  int64_t left = p.itimer_deadline_ns ? std::max<int64_t>(p.itimer_deadline_ns - monotonic_ns(), 1) : 0;
  itimerval cur{ns_timeval(p.itimer_interval_ns), ns_timeval(left)};
  TRY(ctx.mem().write_obj(UserPtr<itimerval>(ctx.arg(1)), cur));
  return 0;
}

}  // namespace moat
