// futex(2) and the futex2 calls futex_waitv(2), futex_wait(2), futex_wake(2)
// and futex_requeue(2). Waits are coroutines on the queue of the futex's key
// (sentry/kernel/futex.h); timeouts are io_uring timeouts that race the
// wake-up (whichever comes first resumes the waiter, the other is cancelled
// or ignored).

#include <linux/futex.h>
#include <time.h>

#include <algorithm>
#include <optional>
#include <span>
#include <vector>

#include "sentry/io/uring.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

// An io_uring timeout for one futex wait. It lives on the heap because its
// CQE may arrive after the wait ended (cancelled: -ECANCELED).
struct FutexTimeout : UringOp {
  __kernel_timespec ts{};
  FutexWait* wait = nullptr;

  static void complete(UringOp* op, int32_t) {
    auto* self = static_cast<FutexTimeout*>(op);
    if (FutexWait* w = self->wait) {
      w->timeout = nullptr;
      if (w->state == FutexWait::State::Waiting) {
        w->state = FutexWait::State::TimedOut;
        w->handle.resume();
      }
    }
    delete self;
  }
};

namespace {

// The futex2 flags (linux/futex.h, Linux 6.7); older headers lack them.
constexpr unsigned kFutex2SizeMask = 0x03;
constexpr unsigned kFutex2SizeU32 = 0x02;
constexpr unsigned kFutex2Numa = 0x04;
constexpr unsigned kFutex2Mpol = 0x08;
constexpr unsigned kFutex2Private = FUTEX_PRIVATE_FLAG;
constexpr unsigned kFutex2Valid = kFutex2SizeMask | kFutex2Numa | kFutex2Mpol | kFutex2Private;
constexpr uint32_t kFutexWaitvMax = 128;

// struct futex_waitv.
struct GuestFutexWaitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
static_assert(sizeof(GuestFutexWaitv) == 24);

// When a wait gives up: never, after a relative time (FUTEX_WAIT), or at
// an absolute time on CLOCK_MONOTONIC or CLOCK_REALTIME.
struct WaitDeadline {
  bool present = false;
  timespec ts{};
  unsigned uring_flags = 0;
};

// Reads and checks a guest timespec (EFAULT, EINVAL).
ErrorOr<WaitDeadline> read_deadline(SyscallContext& ctx, uint64_t addr, unsigned uring_flags) {
  timespec ts = TRY(ctx.mem().read_obj(UserPtr<timespec>(addr)));
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) return Errno::INVAL;
  return WaitDeadline{true, ts, uring_flags};
}

// Queues a wait's entries and sleeps until the wait ends (woken, timed out
// or interrupted); on resume the entries leave their queues.
struct FutexAwait {
  Process& process;
  FutexWait& wait;
  std::span<FutexWaiter> entries;
  FutexTimeout* timeout;  // null: no timeout
  unsigned timeout_flags;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    wait.handle = h;
    for (FutexWaiter& e : entries) {
      e.wait = &wait;
      futex_table(process, e.key).enqueue(&e);
    }
    // A signal ends the wait (its timeout is cancelled on resume), unless a
    // wake or the timeout got there first.
    on_interrupt([w = &wait] {
      if (w->state != FutexWait::State::Waiting) return;
      w->state = FutexWait::State::Interrupted;
      resume_later(w->handle);
    });
    if (!timeout) return;
    timeout->on_complete = &FutexTimeout::complete;
    timeout->wait = &wait;
    wait.timeout = timeout;
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
    // The entries live in this coroutine's frame: off every queue now.
    for (FutexWaiter& e : entries)
      if (e.table) e.table->remove(&e);
    // Woken first: the timeout must not touch this wait later.
    if (FutexTimeout* t = wait.timeout) {
      t->wait = nullptr;
      wait.timeout = nullptr;
      io_uring* ring = current_ring();
      if (io_uring_sqe* sqe = io_uring_get_sqe(ring)) {
        io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(static_cast<UringOp*>(t)), 0);
        io_uring_sqe_set_data64(sqe, 0);
      }
    }
  }
};

FutexTimeout* make_timeout(const WaitDeadline& deadline) {
  if (!deadline.present) return nullptr;
  auto* timeout = new FutexTimeout();
  timeout->ts = __kernel_timespec{deadline.ts.tv_sec, deadline.ts.tv_nsec};
  return timeout;
}

// The kernel's futex_wait: compare the word, then sleep until woken.
Coro<ErrorOr<int64_t>> futex_wait(SyscallContext& ctx, uint64_t addr, uint32_t val, FutexScope scope,
                                  WaitDeadline deadline, uint32_t bitset) {
  if (bitset == 0) co_return Errno::INVAL;
  CO_TRY_ASSIGN(FutexKey key, futex_key(ctx.process(), addr, scope));
  // Compare and enqueue with nothing in between: this worker serves every
  // process of the sandbox, so no wake can slip in.
  CO_TRY_ASSIGN(uint32_t current, ctx.mem().read_obj(UserPtr<uint32_t>(addr)));
  if (current != val) co_return Errno::AGAIN;
  FutexWait wait;
  wait.thread = &ctx.thread;
  FutexWaiter entry;
  entry.key = key;
  entry.bitset = bitset;
  co_await FutexAwait{ctx.process(), wait, std::span(&entry, 1), make_timeout(deadline), deadline.uring_flags};
  switch (wait.state) {
    case FutexWait::State::Woken: co_return 0;
    case FutexWait::State::TimedOut: co_return Errno::TIMEDOUT;
    default: co_return Errno::RestartSys;
  }
}

// How many a futex(2) wake takes: the kernel's futex_wake counts a waiter
// before comparing with the count, so 0 (or a negative count) wakes one.
int legacy_wake_count(uint32_t val) { return std::max(static_cast<int>(val), 1); }

// The kernel's futex_wake. n is what to wake (0: none).
ErrorOr<int64_t> futex_wake(SyscallContext& ctx, uint64_t addr, FutexScope scope, int n, uint32_t bitset) {
  if (bitset == 0) return Errno::INVAL;
  FutexKey key = TRY(futex_key(ctx.process(), addr, scope));
  if (n <= 0) return 0;
  return futex_table(ctx.process(), key).wake(key, n, bitset);
}

// The kernel's futex_requeue (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, futex_requeue(2)).
ErrorOr<int64_t> futex_requeue(SyscallContext& ctx, uint64_t addr, FutexScope scope, uint64_t addr2,
                               FutexScope scope2, int n_wake, int n_requeue, std::optional<uint32_t> expected) {
  if (n_wake < 0 || n_requeue < 0) return Errno::INVAL;
  Process& p = ctx.process();
  FutexKey key = TRY(futex_key(p, addr, scope));
  FutexKey key2 = TRY(futex_key(p, addr2, scope2));
  if (expected) {
    uint32_t current = TRY(ctx.mem().read_obj(UserPtr<uint32_t>(addr)));
    if (current != *expected) return Errno::AGAIN;
  }
  return futex_table(p, key).requeue(key, n_wake, futex_table(p, key2), key2, n_requeue);
}

int32_t sign_extend_12(uint32_t v) { return static_cast<int32_t>(v << 20) >> 20; }

// FUTEX_WAKE_OP (futex(2), kernel futex_atomic_op_inuser): change the word
// at addr2, wake on addr, and wake on addr2 too if its old value compares
// as asked.
ErrorOr<int64_t> futex_wake_op(SyscallContext& ctx, uint64_t addr, uint64_t addr2, FutexScope scope, int n_wake,
                               int n_wake2, uint32_t encoded) {
  Process& p = ctx.process();
  FutexKey key = TRY(futex_key(p, addr, scope));
  FutexKey key2 = TRY(futex_key(p, addr2, scope));
  const unsigned op = (encoded >> 28) & 7;
  const bool shift = (encoded >> 28) & FUTEX_OP_OPARG_SHIFT;
  const unsigned cmp = (encoded >> 24) & 15;
  uint32_t oparg = static_cast<uint32_t>(sign_extend_12((encoded >> 12) & 0xfff));
  const int32_t cmparg = sign_extend_12(encoded & 0xfff);
  // The kernel masks an out-of-range shift (and warns once).
  if (shift) oparg = 1u << (oparg & 31);
  if (op > FUTEX_OP_XOR) return Errno::NOSYS;
  // FIXME: the kernel changes the word with one atomic instruction; guest
  // memory is only reachable by copies here, so a guest thread writing the
  // word between this read and write loses its write.
  uint32_t old = TRY(ctx.mem().read_obj(UserPtr<uint32_t>(addr2)));
  uint32_t next = old;
  switch (op) {
    case FUTEX_OP_SET: next = oparg; break;
    case FUTEX_OP_ADD: next = old + oparg; break;
    case FUTEX_OP_OR: next = old | oparg; break;
    case FUTEX_OP_ANDN: next = old & ~oparg; break;
    case FUTEX_OP_XOR: next = old ^ oparg; break;
  }
  TRY(ctx.mem().write_obj(UserPtr<uint32_t>(addr2), next));
  // The word has changed by now even when the comparison is unknown.
  const int32_t before = static_cast<int32_t>(old);
  bool wake2;
  switch (cmp) {
    case FUTEX_OP_CMP_EQ: wake2 = before == cmparg; break;
    case FUTEX_OP_CMP_NE: wake2 = before != cmparg; break;
    case FUTEX_OP_CMP_LT: wake2 = before < cmparg; break;
    case FUTEX_OP_CMP_LE: wake2 = before <= cmparg; break;
    case FUTEX_OP_CMP_GT: wake2 = before > cmparg; break;
    case FUTEX_OP_CMP_GE: wake2 = before >= cmparg; break;
    default: return Errno::NOSYS;
  }
  int woken = futex_table(p, key).wake(key, std::max(n_wake, 1));
  if (wake2) woken += futex_table(p, key2).wake(key2, std::max(n_wake2, 1));
  return woken;
}

// Which futex(2) commands take a timeout (kernel futex_cmd_has_timeout).
bool has_timeout(int cmd) {
  return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 ||
         cmd == FUTEX_WAIT_REQUEUE_PI;
}

// Checks futex2 flags: 32-bit words only, no NUMA or memory policy keys.
ErrorOr<FutexScope> futex2_scope(uint64_t flags) {
  if (flags & ~uint64_t{kFutex2Valid}) return Errno::INVAL;
  if ((flags & kFutex2SizeMask) != kFutex2SizeU32) return Errno::INVAL;
  if (flags & (kFutex2Numa | kFutex2Mpol)) return Errno::INVAL;
  return (flags & kFutex2Private) ? FutexScope::Private : FutexScope::Shared;
}

bool fits_u32(uint64_t v) { return (v >> 32) == 0; }

}  // namespace

// Implements Linux futex(2), all but the PI commands (ENOSYS).
Coro<ErrorOr<int64_t>> sys_futex(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), utime = ctx.arg(3), addr2 = ctx.arg(4);
  int op = ctx.arg_int(1);
  uint32_t val = static_cast<uint32_t>(ctx.arg(2)), val3 = static_cast<uint32_t>(ctx.arg(5));
  // The requeue and wake-op commands take a second count where the timeout goes.
  int val2 = static_cast<int>(static_cast<uint32_t>(utime));
  int cmd = op & FUTEX_CMD_MASK;
  bool realtime = op & FUTEX_CLOCK_REALTIME;
  FutexScope scope = (op & FUTEX_PRIVATE_FLAG) ? FutexScope::Private : FutexScope::Shared;
  // The timeout is read and checked first (kernel sys_futex): FUTEX_WAIT's
  // is relative, the others' absolute on CLOCK_MONOTONIC unless
  // FUTEX_CLOCK_REALTIME.
  WaitDeadline deadline;
  if (utime && has_timeout(cmd)) {
    unsigned flags = cmd == FUTEX_WAIT ? 0 : IORING_TIMEOUT_ABS | (realtime ? IORING_TIMEOUT_REALTIME : 0);
    CO_TRY_ASSIGN(deadline, read_deadline(ctx, utime, flags));
  }
  if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2)
    co_return Errno::NOSYS;
  switch (cmd) {
    case FUTEX_WAIT:
      co_return co_await futex_wait(ctx, addr, val, scope, deadline, FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAIT_BITSET:
      co_return co_await futex_wait(ctx, addr, val, scope, deadline, val3);
    case FUTEX_WAKE:
      co_return futex_wake(ctx, addr, scope, legacy_wake_count(val), FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAKE_BITSET:
      co_return futex_wake(ctx, addr, scope, legacy_wake_count(val), val3);
    case FUTEX_REQUEUE:
      co_return futex_requeue(ctx, addr, scope, addr2, scope, static_cast<int>(val), val2, std::nullopt);
    case FUTEX_CMP_REQUEUE:
      co_return futex_requeue(ctx, addr, scope, addr2, scope, static_cast<int>(val), val2, val3);
    case FUTEX_WAKE_OP:
      co_return futex_wake_op(ctx, addr, addr2, scope, static_cast<int>(val), val2, val3);
    default:
      // FIXME: PI futexes (FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, ...) need an atomic
      // compare-and-exchange on guest memory.
      co_return Errno::NOSYS;
  }
}

// Implements Linux futex_wait(2): FUTEX_WAIT_BITSET with futex2 flags and
// an absolute timeout on the given clock.
Coro<ErrorOr<int64_t>> sys_futex_wait(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), val = ctx.arg(1), mask = ctx.arg(2), timeout = ctx.arg(4);
  clockid_t clock = ctx.arg_int(5);
  CO_TRY_ASSIGN(FutexScope scope, futex2_scope(ctx.arg(3)));
  if (!fits_u32(val) || !fits_u32(mask)) co_return Errno::INVAL;
  WaitDeadline deadline;
  if (timeout) {
    if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME) co_return Errno::INVAL;
    unsigned flags = IORING_TIMEOUT_ABS | (clock == CLOCK_REALTIME ? IORING_TIMEOUT_REALTIME : 0);
    CO_TRY_ASSIGN(deadline, read_deadline(ctx, timeout, flags));
  }
  co_return co_await futex_wait(ctx, addr, static_cast<uint32_t>(val), scope, deadline,
                                static_cast<uint32_t>(mask));
}

// Implements Linux futex_wake(2): a count of 0 wakes no one.
ErrorOr<int64_t> sys_futex_wake(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), mask = ctx.arg(1);
  int n = ctx.arg_int(2);
  FutexScope scope = TRY(futex2_scope(static_cast<uint32_t>(ctx.arg(3))));
  if (!fits_u32(mask)) return Errno::INVAL;
  // A negative count wakes one, as futex(2)'s does.
  return futex_wake(ctx, addr, scope, n < 0 ? 1 : n, static_cast<uint32_t>(mask));
}

// Implements Linux futex_requeue(2): waiters[0] is compared and woken or
// moved, waiters[1] receives.
ErrorOr<int64_t> sys_futex_requeue(SyscallContext& ctx) {
  uint64_t waiters = ctx.arg(0);
  if (ctx.arg(1) != 0 || !waiters) return Errno::INVAL;
  GuestFutexWaitv pair[2];
  TRY(ctx.mem().read(waiters, pair, sizeof pair));
  FutexScope scopes[2];
  for (int i = 0; i < 2; i++) {
    if (pair[i].reserved) return Errno::INVAL;
    scopes[i] = TRY(futex2_scope(pair[i].flags));
    if (!fits_u32(pair[i].val)) return Errno::INVAL;
  }
  return futex_requeue(ctx, pair[0].uaddr, scopes[0], pair[1].uaddr, scopes[1], ctx.arg_int(2), ctx.arg_int(3),
                       static_cast<uint32_t>(pair[0].val));
}

// Implements Linux futex_waitv(2): sleeps on up to 128 futexes at once and
// returns the index of the one that was woken.
Coro<ErrorOr<int64_t>> sys_futex_waitv(SyscallContext& ctx) {
  uint64_t waiters = ctx.arg(0), timeout = ctx.arg(3);
  uint32_t count = static_cast<uint32_t>(ctx.arg(1));
  clockid_t clock = ctx.arg_int(4);
  Process& p = ctx.process();
  if (static_cast<uint32_t>(ctx.arg(2)) != 0) co_return Errno::INVAL;
  if (count == 0 || count > kFutexWaitvMax || !waiters) co_return Errno::INVAL;
  WaitDeadline deadline;
  if (timeout) {
    if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME) co_return Errno::INVAL;
    unsigned flags = IORING_TIMEOUT_ABS | (clock == CLOCK_REALTIME ? IORING_TIMEOUT_REALTIME : 0);
    CO_TRY_ASSIGN(deadline, read_deadline(ctx, timeout, flags));
  }
  std::vector<GuestFutexWaitv> vec(count);
  CO_TRY(ctx.mem().read(waiters, vec.data(), count * sizeof(GuestFutexWaitv)));
  std::vector<FutexWaiter> entries(count);
  for (uint32_t i = 0; i < count; i++) {
    if (vec[i].reserved || !fits_u32(vec[i].val)) co_return Errno::INVAL;
    CO_TRY_ASSIGN(FutexScope scope, futex2_scope(vec[i].flags));
    CO_TRY_ASSIGN(entries[i].key, futex_key(p, vec[i].uaddr, scope));
    entries[i].index = static_cast<int>(i);
  }
  // Every word is compared before any sleep, with nothing in between.
  for (uint32_t i = 0; i < count; i++) {
    CO_TRY_ASSIGN(uint32_t current, ctx.mem().read_obj(UserPtr<uint32_t>(vec[i].uaddr)));
    if (current != static_cast<uint32_t>(vec[i].val)) co_return Errno::AGAIN;
  }
  FutexWait wait;
  wait.thread = &ctx.thread;
  co_await FutexAwait{p, wait, std::span(entries), make_timeout(deadline), deadline.uring_flags};
  switch (wait.state) {
    case FutexWait::State::Woken: co_return wait.woken_index;
    case FutexWait::State::TimedOut: co_return Errno::TIMEDOUT;
    default: co_return Errno::RestartSys;
  }
}

}  // namespace moat
