#pragma once
// C++20 coroutine primitives for blocking syscall handlers.
//
// Coro<T> is a lazy task: it starts when awaited (or spawned) and resumes its
// awaiter by symmetric transfer when it finishes. A handler that may block
// (pipe read, nanosleep, host I/O) is a Coro that suspends on a WaitQueue or
// an io_uring completion; the worker thread goes on serving other guests.

#include <coroutine>
#include <cstdlib>
#include <exception>
#include <optional>
#include <utility>

namespace moat {

template <typename T>
class [[nodiscard]] Coro {
 public:
  struct promise_type {
    std::optional<T> value;
    std::coroutine_handle<> continuation;

    Coro get_return_object() { return Coro(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto c = h.promise().continuation;
        return c ? c : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    template <typename U>
    void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
    void unhandled_exception() { std::terminate(); }
  };

  Coro(Coro&& o) noexcept : m_h(std::exchange(o.m_h, {})) {}
  Coro(const Coro&) = delete;
  ~Coro() { if (m_h) m_h.destroy(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    m_h.promise().continuation = awaiter;
    return m_h;
  }
  T await_resume() { return std::move(*m_h.promise().value); }

  std::coroutine_handle<promise_type> handle() const { return m_h; }

 private:
  explicit Coro(std::coroutine_handle<promise_type> h) : m_h(h) {}
  std::coroutine_handle<promise_type> m_h;
};

// Runs a Coro to completion without an awaiter, then calls done(result).
// The frame frees itself at the end.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

template <typename T, typename Done>
Detached spawn(Coro<T> coro, Done done) {
  done(co_await std::move(coro));
}

}  // namespace moat
