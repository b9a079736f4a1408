// rt_sigtimedwait(2): taking a pending signal synchronously.

#include <signal.h>
#include <time.h>

#include "sentry/io/uring.h"
#include "sentry/io/wait_queue.h"
#include "sentry/kernel/signals.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/readiness.h"

namespace moat {

namespace {

// Takes the lowest pending signal of set, thread-directed ones first (the
// kernel's dequeue_signal); 0 when none is pending.
int take_pending(Thread& t, uint64_t set, siginfo_t& info) {
  Process& p = t.process();
  if (uint64_t mine = t.pending.mask() & set) {
    int sig = __builtin_ctzll(mine) + 1;
    info = t.pending.dequeue(sig);
    return sig;
  }
  if (uint64_t shared = p.pending.mask() & set) {
    int sig = __builtin_ctzll(shared) + 1;
    info = p.pending.dequeue(sig);
    return sig;
  }
  return 0;
}

}  // namespace

// Implements Linux rt_sigtimedwait(2). While it waits, the signals of the set
// are unblocked so that sending one ends the wait, yet marked waited-for so
// that none of them is handled or kills (the kernel's real_blocked). Never
// restarted: a handled signal outside the set gives EINTR (signal(7)).
Coro<ErrorOr<int64_t>> sys_rt_sigtimedwait(SyscallContext& ctx) {
  if (ctx.arg(3) != 8) co_return Errno::INVAL;
  CO_TRY_ASSIGN(uint64_t set, ctx.mem().read_obj(UserPtr<uint64_t>(ctx.arg(0))));
  set &= ~kUnblockableSignals;
  int64_t timeout_ns;
  CO_TRY_ASSIGN(timeout_ns, read_timeout_ns(ctx.mem(), ctx.arg(2)));
  Thread& t = ctx.thread;
  siginfo_t info{};
  int sig = take_pending(t, set, info);
  if (!sig && timeout_ns != 0) {
    uint64_t blocked = t.signal_mask;
    t.sigwait_set = set;
    t.signal_mask &= ~set;
    if (!t.interrupted) {
      if (timeout_ns > 0) {
        co_await uring_sleep(__kernel_timespec{timeout_ns / 1000000000LL, timeout_ns % 1000000000LL});
      } else {
        WaitQueue never;  // only a signal (an interrupt) ends this wait
        while (!t.interrupted) co_await never.wait();
      }
    }
    t.signal_mask = blocked;
    t.sigwait_set = 0;
    sig = take_pending(t, set, info);
    if (!sig) co_return t.interrupted ? Errno::INTR : Errno::AGAIN;
  }
  if (!sig) co_return Errno::AGAIN;
  if (ctx.arg(1)) CO_TRY(ctx.mem().write_obj(UserPtr<siginfo_t>(ctx.arg(1)), info));
  co_return sig;
}

}  // namespace moat
