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

namespace moat {

class Thread;

// The thread whose syscall handler runs on this worker right now, if any.
Thread*& dispatching_thread();

// Registers cancel as the way to interrupt the current handler's wait (no-op
// outside a dispatch). cancel runs at most once, from the worker.
void on_interrupt(std::function<void()> cancel);

// Interrupts t's wait if it has one that can be interrupted.
void interrupt_thread(Thread& t);

// Resumes a coroutine from the worker's loop instead of from the caller's
// stack (a signal sent from inside another handler must not run the target's
// completion in the middle of the sender's).
void resume_later(std::coroutine_handle<> h);

}  // namespace moat
