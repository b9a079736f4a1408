#pragma once
// Waiting for host fd readiness from a coroutine: an io_uring POLL_ADD on one
// host fd (an epoll instance gathering several), with an optional linked
// timeout. Shared by poll/select and epoll.

#include <poll.h>
#include <time.h>

#include <cstdint>

#include "base/error.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"
#include "sentry/mm/user_memory.h"

namespace moat {

struct HostFdReady : UringOp {
  int fd = -1;
  __kernel_timespec ts{};
  bool has_timeout = false;
  // The thread whose signals cancel the wait. The dispatcher names it only
  // while a handler starts (interrupt.h); a later wait of the same call
  // names it here.
  Thread* thread = nullptr;
  void await_suspend(std::coroutine_handle<> h) {
    handle = h;
    io_uring* ring = current_ring();
    if (io_uring_sq_space_left(ring) < 2) io_uring_submit(ring);
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data(sqe, static_cast<UringOp*>(this));
    Thread*& current = dispatching_thread();
    Thread* saved = current;
    if (thread) current = thread;
    register_uring_cancel(this);
    current = saved;
    if (has_timeout) {
      sqe->flags |= IOSQE_IO_LINK;
      io_uring_sqe* t = io_uring_get_sqe(ring);
      io_uring_prep_link_timeout(t, &ts, 0);
      io_uring_sqe_set_data64(t, 0);
    }
  }
};

// Waits until fd is readable or left_ns (< 0: forever) passes; a signal
// for thread (if given) ends the wait early.
inline HostFdReady wait_readable(int fd, int64_t left_ns, Thread* thread = nullptr) {
  HostFdReady w;
  w.fd = fd;
  w.thread = thread;
  w.has_timeout = left_ns >= 0;
  if (left_ns >= 0) w.ts = __kernel_timespec{left_ns / 1000000000LL, left_ns % 1000000000LL};
  return w;
}

// A timeout argument given as a struct timespec (ppoll, pselect6,
// epoll_pwait2): -1 for a null pointer (wait forever), EINVAL when negative
// or not normalised.
inline ErrorOr<int64_t> read_timeout_ns(const UserMemory& mem, uint64_t addr) {
  if (!addr) return -1;
  timespec ts = TRY(mem.read_obj(UserPtr<timespec>(addr)));
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) return Errno::INVAL;
  // Centuries are as good as forever, and do not overflow a deadline.
  if (ts.tv_sec >= (int64_t{1} << 32)) return int64_t{1} << 62;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// ppoll, pselect6 and epoll_pwait: the thread waits with the guest's mask at
// mask_addr (if not null) in place of its own, which comes back when the call
// returns, after any handler it runs (the dispatcher treats it as
// rt_sigsuspend's; the kernel's set_user_sigmask).
inline ErrorOr<void> set_wait_mask(Thread& t, const UserMemory& mem, uint64_t mask_addr, uint64_t size) {
  if (!mask_addr) return {};
  if (size != sizeof(uint64_t)) return Errno::INVAL;
  uint64_t mask = TRY(mem.read_obj(UserPtr<uint64_t>(mask_addr)));
  t.saved_mask = t.signal_mask;
  t.has_saved_mask = true;
  t.signal_mask = mask & ~kUnblockableSignals;
  return {};
}

// Whether a signal that t does not block is pending: a wait that would
// sleep ends with EINTR instead (signal_pending()).
inline bool deliverable_signal_pending(const Thread& t) {
  return ((t.pending.mask() | t.process().pending.mask()) & ~t.signal_mask) != 0;
}

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace moat
