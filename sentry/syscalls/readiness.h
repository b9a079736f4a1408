#pragma once
// Waiting for host fd readiness from a coroutine: an io_uring POLL_ADD on one
// host fd (an epoll instance gathering several), with an optional linked
// timeout. Shared by poll/select and epoll.

#include <poll.h>
#include <time.h>

#include <cstdint>

#include "sentry/io/uring.h"

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

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace moat
