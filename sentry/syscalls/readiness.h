#pragma once
// Waiting for host fd readiness from a coroutine: an io_uring POLL_ADD on one
// host fd (an epoll instance gathering several), with an optional linked
// timeout. Shared by poll/select and epoll.

#include <poll.h>
#include <time.h>

#include <cstdint>

#include "base/error.h"
#include "sentry/io/uring.h"
#include "sentry/mm/user_memory.h"

namespace moat {

struct HostFdReady : UringOp {
  int fd = -1;
  __kernel_timespec ts{};
  bool has_timeout = false;
  void await_suspend(std::coroutine_handle<> h) {
    handle = h;
    io_uring* ring = current_ring();
    if (io_uring_sq_space_left(ring) < 2) io_uring_submit(ring);
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data(sqe, static_cast<UringOp*>(this));
    register_uring_cancel(this);
    if (has_timeout) {
      sqe->flags |= IOSQE_IO_LINK;
      io_uring_sqe* t = io_uring_get_sqe(ring);
      io_uring_prep_link_timeout(t, &ts, 0);
      io_uring_sqe_set_data64(t, 0);
    }
  }
};

// Waits until fd is readable or left_ns (< 0: forever) passes.
inline HostFdReady wait_readable(int fd, int64_t left_ns) {
  HostFdReady w;
  w.fd = fd;
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
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace moat
