#pragma once
// Waiting for a host fd to become ready from a coroutine: an io_uring
// POLL_ADD with an optional linked timeout, which a signal for the waiting
// thread cancels (interrupt.h). Used by poll/select and epoll (on a host
// epoll gathering several fds) and by files whose readiness is a host fd
// (eventfd, timerfd, inotify's readiness eventfd).

#include <poll.h>

#include <cstdint>

#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"

namespace moat {

class Thread;

struct HostFdReady : UringOp {
  int fd = -1;
  unsigned events = POLLIN;
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
    io_uring_prep_poll_add(sqe, fd, events);
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

// Waits until fd reports one of events (POLLIN, POLLOUT) or left_ns (< 0:
// forever) passes; a signal for thread (if given) ends the wait early with
// -ECANCELED.
inline HostFdReady wait_host_fd(int fd, unsigned events, int64_t left_ns, Thread* thread = nullptr) {
  HostFdReady w;
  w.fd = fd;
  w.events = events;
  w.thread = thread;
  w.has_timeout = left_ns >= 0;
  if (left_ns >= 0) w.ts = __kernel_timespec{left_ns / 1000000000LL, left_ns % 1000000000LL};
  return w;
}

inline HostFdReady wait_readable(int fd, int64_t left_ns, Thread* thread = nullptr) {
  return wait_host_fd(fd, POLLIN, left_ns, thread);
}

}  // namespace moat
