#pragma once
// A queue of coroutines waiting for an event (a child's exit, a vfork's end).
// All the waiters and the waker run on the same worker thread: the sandbox's
// processes are served by one worker (FIXME: a lock and cross-worker posting
// when sandboxes spread over workers).

#include <coroutine>
#include <utility>
#include <vector>

#include "sentry/kernel/interrupt.h"

namespace moat {

class WaitQueue {
 public:
  struct Awaiter {
    WaitQueue& queue;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      queue.m_waiters.push_back(h);
      // A signal takes the waiter out and resumes it (interrupt.h).
      on_interrupt([q = &queue, h] {
        std::erase(q->m_waiters, h);
        resume_later(h);
      });
    }
    void await_resume() const noexcept {}
  };
  // Suspends until the next wake_all(); callers re-check their condition.
  Awaiter wait() { return Awaiter{*this}; }
  void wake_all() {
    auto waiters = std::exchange(m_waiters, {});
    for (auto h : waiters) h.resume();
  }
  bool empty() const { return m_waiters.empty(); }

 private:
  std::vector<std::coroutine_handle<>> m_waiters;
};

}  // namespace moat
