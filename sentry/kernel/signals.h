#pragma once
// Guest signals: pending sets, default actions, and delivery by building the
// x86-64 rt_sigframe on the guest stack (as the kernel's setup_rt_frame).
//
// Delivery happens when one of the target's syscalls completes: the sentry
// rewrites the trapped context (in shared memory) so the thread resumes in
// its handler. FIXME: interrupting a thread that runs guest code (a host
// signal to its stub thread) or sleeps in the sentry (EINTR, SA_RESTART).

#include <signal.h>

#include <cstdint>

#include "base/error.h"

namespace moat {

class Process;
class Thread;

constexpr uint64_t sig_bit(int sig) { return 1ULL << (sig - 1); }
constexpr uint64_t kUnblockableSignals = sig_bit(SIGKILL) | sig_bit(SIGSTOP);

// Sends sig to a process (target == nullptr) or one of its threads: applies
// the disposition (ignore, terminate) or leaves it pending for delivery.
void send_signal(Process& p, int sig, const siginfo_t& info, Thread* target = nullptr);

// Job control: stops every thread of p (a stop signal's default action) and
// continues it (SIGCONT), telling the parent as the kernel does.
void stop_process(Process& p, int sig);
void continue_process(Process& p);

// sigaltstack(2)'s view of t's alternate stack for a thread at stack
// pointer sp, and its change (EPERM while on it, EINVAL, ENOMEM), as the
// kernel's do_sigaltstack; rt_sigreturn restores uc_stack through it too.
stack_t altstack_state(const Thread& t, uint64_t sp);
ErrorOr<void> set_altstack(Thread& t, uint64_t sp, const stack_t& next);

// SIG_IGN (or SIG_DFL for a signal whose default is to ignore) discards what
// is pending of sig (the kernel's do_sigaction).
void discard_if_ignored(Process& p, int sig);

// A siginfo as kill(2) makes it.
siginfo_t user_siginfo(int sig, const Process& sender);

// Delivers one pending, unblocked signal to t, if there is one: its handler
// runs when the current syscall returns. result is the syscall's result; it
// becomes the value the handler's rax starts with. Returns whether a
// signal was delivered (false also when t died of a default action).
// restartable: the syscall (number nr) was interrupted with ERESTARTSYS; a
// handler with SA_RESTART makes it start again when the handler returns,
// others see EINTR. With no handler to run it restarts at once.
bool deliver_pending_signal(Thread& t, int64_t& result, bool restartable = false, uint64_t nr = 0);

// A hardware fault in t's guest code (the stub reported it with the fault's
// context as t's trapped context): runs the guest's handler, or ends the
// process by the signal's default action, as the kernel's force_sig does
// (a blocked or ignored fault signal kills).
void handle_fault(Thread& t, int sig, int code, uint64_t addr);

// rt_sigreturn: restores the registers, FPU state and signal mask saved in
// the frame at the guest's stack pointer into t's trapped context. Returns
// the restored rax (the syscall's "result"); a bad frame ends the process
// with SIGSEGV, as in Linux.
int64_t restore_signal_frame(Thread& t);

}  // namespace moat
