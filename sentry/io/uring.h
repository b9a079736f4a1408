#pragma once
// io_uring awaitables. Each sentry worker owns one ring; an awaitable queues its
// SQE on the current worker's ring and resumes the coroutine from that worker
// when the CQE arrives. Submission is batched by the worker loop.

#include <liburing.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstdint>
#include <ctime>

namespace moat {

// The ring of the worker running the calling coroutine. Valid only on a worker.
io_uring* current_ring();

struct UringOp;
// Makes op the way a signal interrupts the current syscall (it gets
// cancelled); see sentry/kernel/interrupt.h.
void register_uring_cancel(UringOp* op);

// One in-flight io_uring operation. user_data points at it.
struct UringOp {
  std::coroutine_handle<> handle;
  int32_t result = 0;
  // When set, called with the CQE's result instead of resuming handle (an
  // operation that outlives or races its coroutine: futex timeouts).
  void (*on_complete)(UringOp* op, int32_t result) = nullptr;
  bool await_ready() const noexcept { return false; }
  int32_t await_resume() const noexcept { return result; }
};

// Awaitable that prepares an SQE with `prep` and yields the CQE's res.
template <typename Prep>
struct UringAwaitable : UringOp {
  Prep prep;
  explicit UringAwaitable(Prep p) : prep(std::move(p)) {}
  void await_suspend(std::coroutine_handle<> h) {
    handle = h;
    io_uring* ring = current_ring();
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (!sqe) {
      io_uring_submit(ring);
      sqe = io_uring_get_sqe(ring);
    }
    prep(sqe);
    io_uring_sqe_set_data(sqe, static_cast<UringOp*>(this));
    register_uring_cancel(this);
  }
};

template <typename Prep>
UringAwaitable<Prep> uring_op(Prep p) { return UringAwaitable<Prep>(std::move(p)); }

// Common operations. Each returns the CQE result: bytes or -errno.
inline auto uring_read(int fd, void* buf, unsigned len, int64_t off) {
  return uring_op([=](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf, len, static_cast<uint64_t>(off)); });
}
inline auto uring_write(int fd, const void* buf, unsigned len, int64_t off) {
  return uring_op([=](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf, len, static_cast<uint64_t>(off)); });
}
// Relative sleep. The timespec must live until completion: it is copied into the awaitable.
struct UringSleep : UringOp {
  __kernel_timespec ts;
  explicit UringSleep(__kernel_timespec t) : ts(t) {}
  void await_suspend(std::coroutine_handle<> h);
};
inline UringSleep uring_sleep(__kernel_timespec ts) { return UringSleep(ts); }

}  // namespace moat
