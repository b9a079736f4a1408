// futex(2): waits are coroutines in the process's FutexTable; timeouts are
// io_uring timeouts that race the wake-up (whichever comes first resumes the
// waiter, the other is cancelled or ignored).

#include <linux/futex.h>
#include <time.h>

#include "sentry/io/uring.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

// An io_uring timeout for one futex wait. It lives on the heap because its
// CQE may arrive after the wait ended (cancelled: -ECANCELED).
struct FutexTimeout : UringOp {
  __kernel_timespec ts{};
  FutexWaiter* waiter = nullptr;
  FutexTable* table = nullptr;

  static void complete(UringOp* op, int32_t) {
    auto* self = static_cast<FutexTimeout*>(op);
    if (FutexWaiter* w = self->waiter) {
      self->table->remove(w);
      w->timeout = nullptr;
      w->timed_out = true;
      w->handle.resume();
    }
    delete self;
  }
};

namespace {

struct FutexAwait {
  FutexTable& table;
  FutexWaiter& waiter;
  FutexTimeout* timeout;  // null: no timeout
  unsigned timeout_flags;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter.handle = h;
    table.enqueue(&waiter);
    // A signal takes the waiter out (its timeout is cancelled on resume).
    on_interrupt([t = &table, w = &waiter] {
      t->remove(w);
      resume_later(w->handle);
    });
    if (!timeout) return;
    timeout->on_complete = &FutexTimeout::complete;
    timeout->waiter = &waiter;
    timeout->table = &table;
    waiter.timeout = timeout;
    io_uring* ring = current_ring();
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (!sqe) {
      io_uring_submit(ring);
      sqe = io_uring_get_sqe(ring);
    }
    io_uring_prep_timeout(sqe, &timeout->ts, 0, timeout_flags);
    io_uring_sqe_set_data(sqe, static_cast<UringOp*>(timeout));
  }
  void await_resume() {
    // Woken first: the timeout must not touch this (stack-less) waiter later.
    if (FutexTimeout* t = waiter.timeout) {
      t->waiter = nullptr;
      waiter.timeout = nullptr;
      io_uring* ring = current_ring();
      if (io_uring_sqe* sqe = io_uring_get_sqe(ring)) {
        io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(static_cast<UringOp*>(t)), 0);
        io_uring_sqe_set_data64(sqe, 0);
      }
    }
  }
};

Coro<ErrorOr<int64_t>> futex_wait(SyscallContext& ctx, uint64_t addr, uint32_t val, uint64_t timeout_addr,
                                  bool absolute, bool realtime, uint32_t bitset) {
  if (addr & 3) co_return Errno::INVAL;
  if (bitset == 0) co_return Errno::INVAL;
  FutexTimeout* timeout = nullptr;
  unsigned flags = 0;
  if (timeout_addr) {
    CO_TRY_ASSIGN(timespec ts, ctx.mem().read_obj(UserPtr<timespec>(timeout_addr)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) co_return Errno::INVAL;
    timeout = new FutexTimeout();
    timeout->ts = __kernel_timespec{ts.tv_sec, ts.tv_nsec};
    if (absolute) flags = IORING_TIMEOUT_ABS | (realtime ? IORING_TIMEOUT_REALTIME : 0);
  }
  // Compare and enqueue with nothing in between: this worker serves every
  // thread of the process, so no wake can slip in.
  auto value = ctx.mem().read_obj(UserPtr<uint32_t>(addr));
  if (value.is_error() || value.value() != val) {
    delete timeout;
    co_return value.is_error() ? value.error() : Errno::AGAIN;
  }
  FutexWaiter waiter;
  waiter.addr = addr;
  waiter.bitset = bitset;
  co_await FutexAwait{ctx.process().futexes(), waiter, timeout, flags};
  if (waiter.timed_out) co_return Errno::TIMEDOUT;
  if (!waiter.woken && ctx.thread.interrupted) co_return Errno::RestartSys;
  co_return 0;
}

}  // namespace

// Implements Linux futex(2) (private and shared futexes within a process;
// no PI futexes, no FUTEX_WAKE_OP).
Coro<ErrorOr<int64_t>> sys_futex(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), timeout = ctx.arg(3), addr2 = ctx.arg(4);
  int op = ctx.arg_int(1);
  uint32_t val = static_cast<uint32_t>(ctx.arg(2)), val3 = static_cast<uint32_t>(ctx.arg(5));
  int cmd = op & FUTEX_CMD_MASK;
  bool realtime = op & FUTEX_CLOCK_REALTIME;
  if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT) co_return Errno::NOSYS;
  FutexTable& table = ctx.process().futexes();
  switch (cmd) {
    case FUTEX_WAIT:
      co_return co_await futex_wait(ctx, addr, val, timeout, false, false, FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAIT_BITSET:
      co_return co_await futex_wait(ctx, addr, val, timeout, true, realtime, val3);
    case FUTEX_WAKE:
      if (addr & 3) co_return Errno::INVAL;
      co_return table.wake(addr, static_cast<int>(std::min<uint32_t>(val, INT32_MAX)));
    case FUTEX_WAKE_BITSET:
      if ((addr & 3) || val3 == 0) co_return Errno::INVAL;
      co_return table.wake(addr, static_cast<int>(std::min<uint32_t>(val, INT32_MAX)), val3);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      if ((addr & 3) || (addr2 & 3)) co_return Errno::INVAL;
      // val2 travels in the timeout argument's place.
      int n_requeue = static_cast<int>(std::min<uint64_t>(timeout, INT32_MAX));
      if (cmd == FUTEX_CMP_REQUEUE) {
        CO_TRY_ASSIGN(uint32_t cur, ctx.mem().read_obj(UserPtr<uint32_t>(addr)));
        if (cur != val3) co_return Errno::AGAIN;
      }
      co_return table.requeue(addr, static_cast<int>(std::min<uint32_t>(val, INT32_MAX)), addr2, n_requeue);
    }
    default:
      co_return Errno::NOSYS;
  }
}

}  // namespace moat
