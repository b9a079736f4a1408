#include "sentry/kernel/lifecycle.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "fs/fd_table.h"
#include "fs/pty.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/robust_list.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/timers.h"
#include "sentry/kernel/vfork.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/platform/stub_ops.h"
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
  copy_back_vfork_memory(p);  // while its host process is still there
  int expected = -1;
  p.exit_status.compare_exchange_strong(expected, wait_status);
  p.zombie = true;
  if (p.worker) p.worker->detach(&p);
  stop_process_clocks(p);  // its CPU time, read before the host process goes
  futex_process_exit(p);   // robust lists and futex waits, before the memory goes
  p.stub().kill(SIGKILL);
  // Files close at exit, not at reaping (the kernel's exit_files): a pipe's
  // reader sees EOF as soon as its last writer exits.
  p.set_fds(std::make_shared<fs::FdTable>());
  if (p.sid == p.pid()) fs::session_leader_exited(p);  // its terminal's foreground group: SIGHUP
  Sandbox& sandbox = p.sandbox();

  // Orphans go to the nearest living ancestor that is a child subreaper,
  // else to pid 1, the sandbox's init (the kernel's find_new_reaper).
  Process* reaper = nullptr;
  for (Process* a = sandbox.find_process(p.ppid()); a && a != &p; a = sandbox.find_process(a->ppid())) {
    if (a->child_subreaper && !a->zombie) {
      reaper = a;
      break;
    }
    if (a->pid() == 1) break;
  }
  if (!reaper) reaper = sandbox.find_process(1);
  bool orphaned_zombie = false;
  for (Process* child : sandbox.children_of(p.pid())) {
    child->set_ppid(reaper && reaper != &p ? reaper->pid() : 1);
    orphaned_zombie |= child->zombie;
  }
  if (orphaned_zombie && reaper && reaper != &p) reaper->child_event.wake_all();

  p.vfork_released = true;
  p.vfork_done.wake_all();
  notify_pidfds(p);

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
  if (p.exit_signal) {
    siginfo_t info = child_exit_siginfo(p);
    info.si_signo = p.exit_signal;
    send_signal(*parent, p.exit_signal, info);
  }
  parent->child_event.wake_all();
}

void terminate_process(Process& p, int sig) { process_exited(p, sig & 0x7f); }

void exit_thread(Thread& t) {
  Process& p = t.process();
  if (t.slot_index() == p.memory_slot) {
    // Guest memory is reached through this host thread's tid: another
    // live thread's from now on. The leader's host thread, once gone,
    // leaves slot 0 an ordinary slot. A thread still starting has no host
    // tid yet: it takes over when it reports (start_child).
    if (t.slot_index() == 0) p.stub().leader_exited();
    p.memory_slot = Process::kNoMemorySlot;
    for (Thread* other : p.live_thread_list()) {
      pid_t host_tid = other == &t ? -1 : p.stub().host_tid_of(other->slot_index());
      if (host_tid <= 0) continue;
      p.set_memory_thread(host_tid, other->slot_index());
      break;
    }
  }
  futex_thread_exit(t);  // robust list, then clear_child_tid (robust_list.h)
  t.exited = true;
  post_reply(p.stub().slot(t.slot_index()), MOAT_REPLY_EXIT_THREAD);
}

Coro<ErrorOr<void>> end_other_threads(Thread& survivor) {
  Process& p = survivor.process();
  // Each thread ends at its next stop in the sentry (dispatch.cpp looks at
  // must_exit): one in a syscall has its wait interrupted, one running guest
  // code is interrupted by a host signal.
  std::vector<uint32_t> slots;  // of the host threads to see gone
  for (Thread* t : p.live_thread_list()) {
    if (t == &survivor) continue;
    slots.push_back(t->slot_index());
    t->must_exit = true;
    if (t->in_syscall)
      interrupt_thread(*t);
    else if (t->stub_started)
      p.stub().interrupt_thread(t->slot_index());
  }
  // The host threads leave on their own time; the kernel clears each one's
  // host_tid as it goes (CLONE_CHILD_CLEARTID). A rare path: poll.
  constexpr int kPolls = 5000;  // 1 ms apart
  for (int i = 0; i < kPolls; i++) {
    bool left = true;
    for (Thread* t : p.live_thread_list())
      if (t != &survivor) left = false;
    for (uint32_t slot : slots)
      if (left && !p.stub().thread_gone(slot)) left = false;
    if (left) break;
    if (p.zombie) co_return Errno::SRCH;
    co_await uring_sleep(__kernel_timespec{0, 1000000});
    if (i == kPolls - 1) co_return Errno::BUSY;
  }
  if (survivor.slot_index() != p.memory_slot) {
    // The host thread guest memory was reached through is gone:
    // process_vm_readv and friends need a live one.
    pid_t host_tid = p.stub().host_tid_of(survivor.slot_index());
    if (host_tid <= 0) co_return Errno::SRCH;
    if (p.memory_slot == 0) p.stub().leader_exited();
    p.set_memory_thread(host_tid, survivor.slot_index());
  }
  p.make_leader(survivor);
  co_return ErrorOr<void>{};
}

Detached watch_host_process(Sandbox& sandbox, pid_t pid, int pidfd) {
  co_await uring_op([pidfd](io_uring_sqe* s) { io_uring_prep_poll_add(s, pidfd, POLLIN); });
  Process* p = sandbox.find_process(pid);
  if (!p || p->zombie) co_return;
  int recorded = p->exit_status.load();
  process_exited(*p, recorded >= 0 ? recorded : SIGKILL);
}

}  // namespace moat
