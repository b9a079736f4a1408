// Sending signals: kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo
// and pidfd_send_signal.

#include <signal.h>

#include "fs/fd_table.h"
#include "fs/procfs.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/signals.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

bool valid_signal(int sig) { return sig >= 0 && sig <= 64; }

ErrorOr<int64_t> kill_pid(SyscallContext& ctx, pid_t pid, int sig, const siginfo_t& info) {
  if (!valid_signal(sig)) return Errno::INVAL;
  Sandbox& sandbox = ctx.sandbox();
  if (pid > 0) {
    Process* p = sandbox.find_process(pid);
    if (!p) return Errno::SRCH;
    if (sig) send_signal(*p, sig, info);
    return 0;
  }
  std::vector<Process*> targets;
  if (pid == 0 || pid < -1) {
    // A process group: the caller's (0) or -pid.
    pid_t pgid = pid == 0 ? ctx.process().pgid : -pid;
    for (Process* p : sandbox.processes())
      if (!p->zombie && p->pgid == pgid) targets.push_back(p);
  } else {
    // -1: every process the caller may signal except init and itself.
    for (Process* p : sandbox.processes())
      if (p->pid() != 1 && p != &ctx.process()) targets.push_back(p);
  }
  if (targets.empty()) return Errno::SRCH;
  if (sig)
    for (Process* p : targets) send_signal(*p, sig, info);
  return 0;
}

// A signal for one thread, found by its tid (and, for tgkill, its tgid).
ErrorOr<int64_t> kill_thread(SyscallContext& ctx, pid_t tgid, pid_t tid, int sig, const siginfo_t& info) {
  if (tid <= 0 || !valid_signal(sig)) return Errno::INVAL;
  Thread* target = nullptr;
  Process* owner = nullptr;
  for (Process* p : ctx.sandbox().processes()) {
    if (tgid > 0 && p->pid() != tgid) continue;
    target = p->thread_by_tid(tid);
    owner = p;
    if (target) break;
  }
  if (!target || !owner) return Errno::SRCH;
  if (sig) send_signal(*owner, sig, info, target);
  return 0;
}

siginfo_t tkill_siginfo(SyscallContext& ctx, int sig) {
  siginfo_t info = user_siginfo(sig, ctx.process());
  info.si_code = SI_TKILL;
  return info;
}

// The siginfo a caller supplies (rt_sigqueueinfo, pidfd_send_signal): it may
// claim to come from the kernel or kill(2) only when sent to itself
// (the kernel's do_rt_sigqueueinfo). pidfd_send_signal insists that its
// si_signo names the signal; rt_sigqueueinfo overwrites it.
enum class Signo { Overwrite, MustMatch };
ErrorOr<siginfo_t> caller_siginfo(SyscallContext& ctx, uint64_t addr, int sig, bool to_self, Signo signo) {
  siginfo_t info = TRY(ctx.mem().read_obj(UserPtr<siginfo_t>(addr)));
  if (signo == Signo::MustMatch && info.si_signo != sig) return Errno::INVAL;
  if ((info.si_code >= 0 || info.si_code == SI_TKILL) && !to_self) return Errno::PERM;
  info.si_signo = sig;
  return info;
}

}  // namespace

// Implements Linux kill(2).
ErrorOr<int64_t> sys_kill(SyscallContext& ctx) {
  int sig = ctx.arg_int(1);
  return kill_pid(ctx, ctx.arg_int(0), sig, user_siginfo(sig, ctx.process()));
}

// Implements Linux tkill(2).
ErrorOr<int64_t> sys_tkill(SyscallContext& ctx) {
  int sig = ctx.arg_int(1);
  return kill_thread(ctx, -1, ctx.arg_int(0), sig, tkill_siginfo(ctx, sig));
}

// Implements Linux tgkill(2).
ErrorOr<int64_t> sys_tgkill(SyscallContext& ctx) {
  if (ctx.arg_int(0) <= 0) return Errno::INVAL;
  int sig = ctx.arg_int(2);
  return kill_thread(ctx, ctx.arg_int(0), ctx.arg_int(1), sig, tkill_siginfo(ctx, sig));
}

// Implements Linux rt_sigqueueinfo(2).
ErrorOr<int64_t> sys_rt_sigqueueinfo(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  int sig = ctx.arg_int(1);
  if (!valid_signal(sig)) return Errno::INVAL;
  siginfo_t info = TRY(caller_siginfo(ctx, ctx.arg(2), sig, pid == ctx.process().pid(), Signo::Overwrite));
  if (pid <= 0) return Errno::SRCH;  // no group forms here, unlike kill
  return kill_pid(ctx, pid, sig, info);
}

// Implements Linux rt_tgsigqueueinfo(2).
ErrorOr<int64_t> sys_rt_tgsigqueueinfo(SyscallContext& ctx) {
  pid_t tgid = ctx.arg_int(0), tid = ctx.arg_int(1);
  int sig = ctx.arg_int(2);
  if (tgid <= 0 || tid <= 0 || !valid_signal(sig)) return Errno::INVAL;
  siginfo_t info = TRY(caller_siginfo(ctx, ctx.arg(3), sig, tid == ctx.thread.tid(), Signo::Overwrite));
  return kill_thread(ctx, tgid, tid, sig, info);
}

// Implements Linux pidfd_send_signal(2).
ErrorOr<int64_t> sys_pidfd_send_signal(SyscallContext& ctx) {
  int sig = ctx.arg_int(1);
  if (ctx.arg(3) != 0 || !valid_signal(sig)) return Errno::INVAL;
  // An open /proc/PID directory serves as a pidfd here (and only here).
  pid_t pid = 0;
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (auto proc_pid = fs::procfs::tgid_dir_pid(file->node()))
    pid = *proc_pid;
  else
    pid = TRY(pidfd_pid(ctx.process(), ctx.arg_int(0)));
  Process* target = ctx.sandbox().find_process(pid);
  if (!target) return Errno::SRCH;
  siginfo_t info = user_siginfo(sig, ctx.process());
  if (ctx.arg(2)) info = TRY(caller_siginfo(ctx, ctx.arg(2), sig, target == &ctx.process(), Signo::MustMatch));
  if (sig) send_signal(*target, sig, info);
  return 0;
}

}  // namespace moat
