#include "sentry/kernel/interrupt.h"

#include <coroutine>

#include "sentry/io/uring.h"
#include "sentry/kernel/process.h"
#include "sentry/platform/worker.h"

namespace moat {

Thread*& dispatching_thread() {
  static thread_local Thread* t = nullptr;
  return t;
}

void on_interrupt(std::function<void()> cancel) {
  if (Thread* t = dispatching_thread()) t->interrupt = std::move(cancel);
}

void interrupt_thread(Thread& t) {
  if (!t.in_syscall || !t.interrupt) return;
  auto cancel = std::exchange(t.interrupt, {});
  t.interrupted = true;
  cancel();
}

void resume_later(std::coroutine_handle<> h) {
  if (Worker* w = Worker::current())
    w->post([h] { h.resume(); });
  else
    h.resume();
}

// An io_uring operation is interrupted by cancelling it: it completes with
// -ECANCELED (a sleep's timeout, a pipe read, a poll).
void register_uring_cancel(UringOp* op) {
  on_interrupt([op] {
    io_uring* ring = current_ring();
    if (io_uring_sqe* sqe = io_uring_get_sqe(ring)) {
      io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(op), 0);
      io_uring_sqe_set_data64(sqe, 0);
    }
  });
}

}  // namespace moat
