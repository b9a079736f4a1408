#include "sentry/kernel/lifecycle.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "fs/fd_table.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/platform/stub_process.h"
#include "sentry/platform/worker.h"

namespace moat {

siginfo_t child_exit_siginfo(const Process& child) {
  int status = child.exit_status.load();
  siginfo_t info{};
  info.si_signo = SIGCHLD;
  info.si_code = WIFEXITED(status) ? CLD_EXITED : CLD_KILLED;
  info.si_pid = child.pid();
  info.si_uid = child.creds.uid;
  info.si_status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
  return info;
}

void process_exited(Process& p, int wait_status) {
  if (p.zombie) return;
  int expected = -1;
  p.exit_status.compare_exchange_strong(expected, wait_status);
  p.zombie = true;
  if (p.worker) p.worker->detach(&p);
  p.stub().kill(SIGKILL);
  // Files close at exit, not at reaping (the kernel's exit_files): a pipe's
  // reader sees EOF as soon as its last writer exits.
  p.set_fds(std::make_shared<fs::FdTable>());
  Sandbox& sandbox = p.sandbox();

  // Orphans go to pid 1 (the sandbox's init), as Linux reparents to init.
  Process* init = sandbox.find_process(1);
  bool orphaned_zombie = false;
  for (Process* child : sandbox.children_of(p.pid())) {
    child->set_ppid(1);
    orphaned_zombie |= child->zombie;
  }
  if (orphaned_zombie && init && init != &p) init->child_event.wake_all();

  p.vfork_released = true;
  p.vfork_done.wake_all();

  Process* parent = sandbox.find_process(p.ppid());
  if (!parent || parent == &p || parent->zombie) return;
  // A parent that ignores SIGCHLD (or asks SA_NOCLDWAIT) leaves no zombies
  // (man 2 wait, NOTES).
  const GuestSigaction& chld = parent->sigactions[SIGCHLD];
  if (chld.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (chld.flags & SA_NOCLDWAIT)) {
    sandbox.reap(p);
    parent->child_event.wake_all();
    return;
  }
  send_signal(*parent, SIGCHLD, child_exit_siginfo(p));
  parent->child_event.wake_all();
}

void terminate_process(Process& p, int sig) { process_exited(p, sig & 0x7f); }

Detached watch_host_process(Sandbox& sandbox, pid_t pid, int pidfd) {
  co_await uring_op([pidfd](io_uring_sqe* s) { io_uring_prep_poll_add(s, pidfd, POLLIN); });
  Process* p = sandbox.find_process(pid);
  if (!p || p->zombie) co_return;
  int recorded = p->exit_status.load();
  process_exited(*p, recorded >= 0 ? recorded : SIGKILL);
}

}  // namespace moat
