#pragma once
// Helpers shared by poll/select and epoll: timeouts and signal masks. The
// wait itself (one host fd, an epoll instance gathering several) is
// sentry/kernel/host_fd_wait.h.

#include <poll.h>
#include <time.h>

#include <cstdint>

#include "base/error.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/host_fd_wait.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"
#include "sentry/mm/user_memory.h"

namespace moat {

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
