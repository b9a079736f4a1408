#pragma once
// A mutex for coroutines on one worker: lock() suspends instead of blocking
// the thread, and unlock() hands ownership to the next waiter. Used where a
// handler must keep others out across its co_awaits (the address space: a
// range chosen by one mmap must not be handed to another before it is mapped).

#include <coroutine>
#include <deque>

#include "sentry/kernel/interrupt.h"

namespace moat {

class AsyncMutex {
 public:
  struct Lock {
    AsyncMutex& m;
    bool await_ready() noexcept {
      if (m.m_locked) return false;
      m.m_locked = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) { m.m_waiters.push_back(h); }
    void await_resume() const noexcept {}
  };
  // co_await mutex.lock(); then unlock() (or hold an AsyncMutex::Guard).
  Lock lock() { return Lock{*this}; }
  void unlock() {
    if (m_waiters.empty()) {
      m_locked = false;
      return;
    }
    auto next = m_waiters.front();  // ownership passes on: m_locked stays true
    m_waiters.pop_front();
    resume_later(next);
  }

  struct Guard {
    AsyncMutex& m;
    ~Guard() { m.unlock(); }
  };

 private:
  bool m_locked = false;
  std::deque<std::coroutine_handle<>> m_waiters;
};

}  // namespace moat
