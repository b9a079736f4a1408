#pragma once
// Interrupting a syscall that waits in the sentry (signal(7), "Interruption
// of system calls and library functions by signal handlers").
//
// While a handler starts, the dispatcher names its thread here; the first
// awaitable the handler suspends on registers how to cancel that wait.
// A signal for the thread then cancels it: the wait ends early, the syscall
// returns ERESTARTSYS (Errno::RestartSys) or EINTR, and the dispatcher turns
// that into EINTR or a restart (SA_RESTART) as it delivers the signal.

#include <coroutine>
#include <functional>
#include <utility>

#include "sentry/io/coro.h"

namespace moat {

class Thread;

// The thread whose syscall handler runs on this worker right now, if any.
Thread*& dispatching_thread();

// Registers cancel as the way to interrupt the current handler's wait (no-op
// outside a dispatch). cancel runs at most once, from the worker.
void on_interrupt(std::function<void()> cancel);

// Interrupts t's wait if it has one that can be interrupted.
void interrupt_thread(Thread& t);

// Awaits task with thread as the dispatching thread while the task starts,
// so that the wait it first suspends on registers how a signal for thread
// interrupts it: a handler's later waits (after its first) need this. A
// null thread makes the wait uninterruptible.
template <typename T>
struct InterruptibleStart {
  Coro<T> task;
  Thread* thread;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    Thread* saved = std::exchange(dispatching_thread(), thread);
    task.handle().resume();
    dispatching_thread() = saved;
    if (task.handle().done()) return false;
    task.handle().promise().continuation = h;
    return true;
  }
  T await_resume() { return std::move(*task.handle().promise().value); }
};

template <typename T>
InterruptibleStart<T> start_interruptible(Thread& thread, Coro<T> task) {
  return InterruptibleStart<T>{std::move(task), &thread};
}

// Resumes a coroutine from the worker's loop instead of from the caller's
// stack (a signal sent from inside another handler must not run the target's
// completion in the middle of the sender's).
void resume_later(std::coroutine_handle<> h);

}  // namespace moat
