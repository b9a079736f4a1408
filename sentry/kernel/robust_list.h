#pragma once
// The futex work of a thread's or process's end: robust futex lists
// (set_robust_list(2); the kernel's exit_robust_list and handle_futex_death)
// and the clear_child_tid wake (set_tid_address(2)).
//
// Each hook runs while the guest's memory is still there: before the stub
// is told to end the thread or process, or before execve unmaps the image.
// A list is walked once: its head is forgotten as the walk starts.

namespace moat {

class Process;
class Thread;

// The kernel's bound on a robust list walk (ROBUST_LIST_LIMIT): a corrupt
// or cyclic list costs at most this many entries.
inline constexpr int kRobustListLimit = 2048;

// For every lock on t's robust list (and its list_op_pending) whose word
// holds t's tid: sets FUTEX_OWNER_DIED, clears the tid, and wakes one
// waiter if FUTEX_WAITERS was set. Reads and writes go through the guest's
// memory and stop quietly at a fault, as in the kernel.
void exit_robust_list(Thread& t);

// A thread ends (exit(2)): its robust list, then its clear_child_tid word
// gets 0 and a shared futex wake (how pthread_join learns of it).
void futex_thread_exit(Thread& t);

// A process ends (exit_group, a fatal signal): the robust lists of all its
// threads, then its threads' futex waits end (they resume interrupted and
// their syscalls complete without a reply). Idempotent.
void futex_process_exit(Process& p);

// execve replaces the image: the caller's robust list is released
// (the kernel's futex_exec_release).
void futex_exec(Thread& t);

}  // namespace moat
