#pragma once
// Process exit, zombies, reaping and reparenting: what happens to a guest
// process when it ends, however it ends (exit_group, a signal's default
// action, the host process dying under it).

#include <signal.h>

#include "base/error.h"
#include "sentry/io/coro.h"

namespace moat {

class Process;
class Sandbox;
class Thread;

// Marks p exited with a wait(2) status (the first status recorded wins), ends
// its host process, hands its children to pid 1 and tells its parent (or
// reaps it at once when the parent ignores SIGCHLD). Idempotent.
void process_exited(Process& p, int wait_status);

// The SIGCHLD siginfo of an exited child (also what waitid reports).
siginfo_t child_exit_siginfo(const Process& child);

// Ends thread t, not the last of its process, where it stands: its
// clear_child_tid gets 0 and a futex wake (how pthread_join learns of it),
// and its stub thread exits.
void exit_thread(Thread& t);

// execve's de_thread: ends every thread of survivor's process but survivor,
// and returns once their host threads are gone from the stub process (they
// must not run while the old image is unmapped). The survivor becomes the
// leader, with the process's pid as its tid.
Coro<ErrorOr<void>> end_other_threads(Thread& survivor);

// Ends p by signal sig's default action (terminate): records the status and
// does what process_exited does.
void terminate_process(Process& p, int sig);

// Watches the host process behind a guest pid: if it dies without the
// sentry's knowing (a fault, the OOM killer), the guest process exits by
// SIGKILL (or its recorded status).
Detached watch_host_process(Sandbox& sandbox, pid_t pid, int pidfd);

}  // namespace moat
