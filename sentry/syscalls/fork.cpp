// fork, vfork and clone (new processes), wait4 and waitid, kill.
//
// A new process is a host fork of the stub process, done by the stub on the
// sentry's instruction (MOAT_OP_FORK): guest memory is copied on write by the
// host. The child gets its own shared region, prepared by the sentry with a
// copy of the forking thread's signal frame, and returns to the guest through
// it with rax = 0.

#include <asm/prctl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/signals.h"
#include "sentry/platform/stub_ops.h"
#include "sentry/platform/worker.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// The flags of a new process that moat carries out; threads (CLONE_THREAD)
// and processes sharing memory without vfork are not there yet.
constexpr uint64_t kSupportedCloneFlags = CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID |
                                          CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS |
                                          CLONE_SYSVSEM | CLONE_FS | CLONE_FILES;

// Lets a new process's or thread's first thread run: once its stub thread
// reports, finish the clone in it and return it to the guest through the
// copied signal frame.
Coro<ErrorOr<int64_t>> start_child(Thread& child, uint64_t flags, uint64_t ctid, uint64_t tls) {
  co_await StubReport{child};
  Process& p = child.process();
  if (flags & CLONE_CHILD_SETTID) (void)p.mem().write_obj(UserPtr<int32_t>(ctid), child.tid());
  if (flags & CLONE_SETTLS) {
    int64_t r = co_await stub_syscall(child, SYS_arch_prctl, ARCH_SET_FS, tls);
    if (r < 0) {
      terminate_process(p, SIGSEGV);
      co_return 0;
    }
    child.fs_base = tls;
  }
  moat_slot* slot = p.stub().slot(child.slot_index());
  slot->op_args[0] = moat_thread_region(child.slot_index()) + child.ucontext_off;
  post_reply(slot, MOAT_REPLY_SIGRETURN);
  co_return 0;
}

// A new thread: a host thread in the same stub process, with a thread region
// of its own that starts as a copy of the caller's signal frame.
Coro<ErrorOr<int64_t>> clone_thread(SyscallContext& ctx, uint64_t flags, uint64_t child_stack, uint64_t ptid,
                                    uint64_t ctid, uint64_t tls) {
  constexpr uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
                                    CLONE_CHILD_CLEARTID | CLONE_DETACHED;
  Thread& t = ctx.thread;
  Process& p = ctx.process();
  Sandbox& sandbox = ctx.sandbox();
  // CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM (man 2 clone).
  if (!(flags & CLONE_SIGHAND) || !(flags & CLONE_VM)) co_return Errno::INVAL;
  if (flags & ~kThreadFlags) co_return Errno::INVAL;
  // FIXME: threads with their own fs or fd table (no CLONE_FS / CLONE_FILES).
  if ((flags & (CLONE_FS | CLONE_FILES)) != (CLONE_FS | CLONE_FILES)) co_return Errno::NOSYS;
  int index = p.free_slot_index();
  if (index < 0) co_return Errno::AGAIN;
  StubProcess& stub = p.stub();
  if (!stub.trapped_context(t.slot_index(), t.ucontext_off)) co_return Errno::FAULT;

  // The new thread's frame: the caller's registers with rax = 0 and its own
  // stack, its FPU state copied alongside, and its own alternate stack (the
  // kernel restores uc_stack on sigreturn).
  char* src = stub.region(t.slot_index());
  char* dst = stub.region(static_cast<uint32_t>(index));
  memset(dst, 0, sizeof(moat_slot));
  memcpy(dst + t.ucontext_off, src + t.ucontext_off, MOAT_THREAD_REGION - t.ucontext_off);
  ucontext_t* nuc = stub.trapped_context(static_cast<uint32_t>(index), t.ucontext_off);
  const uint64_t src_base = moat_thread_region(t.slot_index());
  const uint64_t dst_base = moat_thread_region(static_cast<uint32_t>(index));
  nuc->uc_mcontext.gregs[REG_RAX] = 0;
  if (child_stack) nuc->uc_mcontext.gregs[REG_RSP] = static_cast<greg_t>(child_stack);
  auto fp = reinterpret_cast<uint64_t>(nuc->uc_mcontext.fpregs);
  if (fp >= src_base && fp < src_base + MOAT_THREAD_REGION)
    nuc->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(fp - src_base + dst_base);
  else
    nuc->uc_mcontext.fpregs = nullptr;
  nuc->uc_stack.ss_sp = reinterpret_cast<void*>(dst_base + 4096);
  nuc->uc_stack.ss_flags = 0;
  nuc->uc_stack.ss_size = MOAT_THREAD_REGION - 4096;

  pid_t tid = sandbox.allocate_pid();
  Thread& nt = p.add_thread(static_cast<uint32_t>(index), tid);
  nt.ucontext_off = t.ucontext_off;
  nt.signal_mask = t.signal_mask;
  nt.fs_base = t.fs_base;
  nt.gs_base = t.gs_base;
  nt.name = t.name;
  if (flags & CLONE_CHILD_CLEARTID) nt.clear_child_tid = ctid;
  // The guest's ids first: the new thread may run and look at them at once.
  if (flags & CLONE_PARENT_SETTID) (void)ctx.mem().write_obj(UserPtr<int32_t>(ptid), tid);
  if (flags & CLONE_CHILD_SETTID) (void)ctx.mem().write_obj(UserPtr<int32_t>(ctid), tid);
  int64_t r = co_await StubOp{{t}, MOAT_OP_CLONE_THREAD, 0,
                              {static_cast<uint64_t>(index), dst_base + t.ucontext_off - 1024, 0, 0, 0, 0}};
  if (r < 0) {
    nt.exited = true;
    co_return r == -ENOMEM ? Errno::NOMEM : Errno::AGAIN;
  }
  spawn(start_child(nt, flags, ctid, tls), [](ErrorOr<int64_t>) {});
  co_return tid;
}

// EAGAIN when the sandbox is full or the caller's RLIMIT_NPROC is reached
// (which, as in Linux, does not bind uid 0).
ErrorOr<void> check_task_limits(SyscallContext& ctx) {
  Sandbox& sandbox = ctx.sandbox();
  int tasks = sandbox.live_tasks();
  if (tasks >= Sandbox::kMaxTasks) return Errno::AGAIN;
  const Process& p = ctx.process();
  rlim_t nproc = p.rlimits[RLIMIT_NPROC].rlim_cur;
  if (p.creds.uid != 0 && nproc != RLIM_INFINITY && static_cast<rlim_t>(tasks) >= nproc) return Errno::AGAIN;
  return {};
}

Coro<ErrorOr<int64_t>> do_clone(SyscallContext& ctx, uint64_t flags, uint64_t child_stack, uint64_t ptid,
                                uint64_t ctid, uint64_t tls) {
  Thread& t = ctx.thread;
  Process& parent = ctx.process();
  Sandbox& sandbox = ctx.sandbox();
  CO_TRY(check_task_limits(ctx));
  if (flags & CLONE_THREAD) co_return co_await clone_thread(ctx, flags, child_stack, ptid, ctid, tls);
  // The child's address space is copied from the parent's record after the
  // host fork: no mmap of another thread may run in between.
  co_await parent.mm_lock.lock();
  AsyncMutex::Guard mm_guard{parent.mm_lock};
  if (flags & ~kSupportedCloneFlags) co_return Errno::INVAL;
  // Without CLONE_VFORK a child sharing memory would need a shared address
  // space across processes; with it, a copy behaves the same until the
  // child execs or exits, which the parent waits for. FIXME: memory written
  // by a vfork child before exec is not seen by the parent.
  if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) co_return Errno::NOSYS;
  if ((flags & (CLONE_FS | CLONE_FILES)) && !(flags & CLONE_VFORK)) co_return Errno::NOSYS;
  ucontext_t* uc = parent.stub().trapped_context(t.slot_index(), t.ucontext_off);
  if (!uc) co_return Errno::FAULT;

  UniqueFd child_control;
  CO_TRY_ASSIGN(std::unique_ptr<StubProcess> child_stub,
                StubProcess::prepare_fork(parent.stub(), t.slot_index(), child_control));
  // The child's registers: the parent's at the syscall, with rax = 0 and the
  // stack it was given.
  ucontext_t* cuc = child_stub->trapped_context(t.slot_index(), t.ucontext_off);
  cuc->uc_mcontext.gregs[REG_RAX] = 0;
  if (child_stack) cuc->uc_mcontext.gregs[REG_RSP] = static_cast<greg_t>(child_stack);
  CO_TRY(parent.stub().send_fds(child_stub->memfd(), child_control.get()));
  child_control.reset();
  int64_t ns_pid = co_await StubOp{{t}, MOAT_OP_FORK, 0, {t.ucontext_off, 0, 0, 0, 0, 0}};
  if (ns_pid < 0) {
    if (getenv("MOAT_DEBUG")) fprintf(stderr, "moat: fork op failed: %ld\n", static_cast<long>(ns_pid));
    co_return ns_pid == -ENOMEM ? Errno::NOMEM : Errno::AGAIN;
  }
  if (child_stub->adopt_forked(parent.stub().host_pid(), static_cast<pid_t>(ns_pid)).is_error()) {
    if (getenv("MOAT_DEBUG")) fprintf(stderr, "moat: forked stub %ld not found\n", static_cast<long>(ns_pid));
    co_return Errno::AGAIN;
  }

  pid_t pid = sandbox.allocate_pid();
  auto owned = std::make_unique<Process>(sandbox, pid);
  Process& child = *owned;
  child.set_ppid(parent.pid());
  child.pgid = parent.pgid;
  child.sid = parent.sid;
  child.creds = parent.creds;
  child.sigactions = parent.sigactions;
  child.rlimits = parent.rlimits;
  child.exe_path = parent.exe_path;
  child.arg_start = parent.arg_start;
  child.arg_end = parent.arg_end;
  child.env_start = parent.env_start;
  child.env_end = parent.env_end;
  child.comm = parent.comm;
  child.altstack_sp = parent.altstack_sp;
  child.altstack_size = parent.altstack_size;
  child.no_new_privs = parent.no_new_privs;
  child.dumpable = parent.dumpable;
  child.address_space() = parent.address_space();
  child.set_fds(parent.fds().clone());
  child.set_fs(parent.fs().clone());
  child.set_stub(std::move(child_stub));
  Thread& ct = child.add_thread(t.slot_index(), pid);
  ct.ucontext_off = t.ucontext_off;
  ct.fs_base = t.fs_base;
  ct.gs_base = t.gs_base;
  ct.signal_mask = t.signal_mask;
  ct.name = t.name;
  if (flags & CLONE_CHILD_CLEARTID) ct.clear_child_tid = ctid;
  sandbox.add_process(std::move(owned));

  child.worker = parent.worker;
  parent.worker->attach(&child);
  watch_host_process(sandbox, pid, child.stub().pidfd());
  spawn(start_child(ct, flags, ctid, tls), [](ErrorOr<int64_t>) {});

  if (flags & CLONE_PARENT_SETTID) (void)ctx.mem().write_obj(UserPtr<int32_t>(ptid), pid);
  if (flags & CLONE_VFORK) {
    // The parent sleeps until the child execs or exits (man 2 vfork).
    for (;;) {
      Process* c = sandbox.find_process(pid);
      if (!c || c->vfork_released) break;
      co_await c->vfork_done.wait();
    }
  }
  co_return pid;
}

// wait4's pid argument (man 2 wait): a pid, -1 any child, 0 the caller's
// process group, < -1 the group -pid.
bool pid_matches(const Process& child, pid_t selector, pid_t caller_pgid) {
  if (selector > 0) return child.pid() == selector;
  if (selector == 0) return child.pgid == caller_pgid;
  if (selector < -1) return child.pgid == -selector;
  return true;
}

}  // namespace

// Implements Linux clone(2).
Coro<ErrorOr<int64_t>> sys_clone(SyscallContext& ctx) {
  return do_clone(ctx, ctx.arg(0), ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg(4));
}

// Implements Linux clone3(2) through the same paths as clone (the flags
// clone3 adds, CLONE_INTO_CGROUP and set_tid, are refused).
Coro<ErrorOr<int64_t>> sys_clone3(SyscallContext& ctx) {
  struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
  } args{};
  uint64_t size = ctx.arg(1);
  if (size < 64 || size > 4096) return async_result(Errno::INVAL);
  auto read = ctx.mem().read(ctx.arg(0), &args, std::min<uint64_t>(size, sizeof(args)));
  if (read.is_error()) return async_result(read.error());
  if (args.set_tid || args.set_tid_size || (args.flags & (CLONE_PIDFD | 0x200000000ULL /* CLONE_INTO_CGROUP */)) ||
      args.exit_signal > 64 || (args.flags & CSIGNAL))
    return async_result(Errno::INVAL);
  // clone's stack argument is the top; clone3 gives the lowest address and a size.
  uint64_t top = args.stack ? args.stack + args.stack_size : 0;
  return do_clone(ctx, args.flags | args.exit_signal, top, args.parent_tid, args.child_tid, args.tls);
}

// Implements Linux fork(2).
Coro<ErrorOr<int64_t>> sys_fork(SyscallContext& ctx) { return do_clone(ctx, SIGCHLD, 0, 0, 0, 0); }

// Implements Linux vfork(2).
Coro<ErrorOr<int64_t>> sys_vfork(SyscallContext& ctx) {
  return do_clone(ctx, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

// The wait loop of wait4 and waitid: the first zombie child that selector
// matches (left in the table for the caller to reap), or nullptr under
// WNOHANG; ECHILD when no child matches at all. want_exited false (waitid
// without WEXITED) waits for state changes moat does not have yet (stops).
Coro<ErrorOr<Process*>> wait_for_child(SyscallContext& ctx, pid_t selector, bool nohang, bool want_exited) {
  Process& me = ctx.process();
  for (;;) {
    bool any = false;
    for (Process* c : ctx.sandbox().children_of(me.pid())) {
      if (!pid_matches(*c, selector, me.pgid)) continue;
      any = true;
      if (c->zombie && want_exited) co_return c;
    }
    if (!any) co_return Errno::CHILD;
    if (nohang) co_return static_cast<Process*>(nullptr);
    co_await me.child_event.wait();
    if (me.zombie) co_return Errno::INTR;
    if (ctx.thread.interrupted) co_return Errno::RestartSys;
  }
}

// Implements Linux wait4(2).
Coro<ErrorOr<int64_t>> sys_wait4(SyscallContext& ctx) {
  pid_t selector = ctx.arg_int(0);
  uint64_t status_addr = ctx.arg(1), rusage_addr = ctx.arg(3);
  int options = ctx.arg_int(2);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) co_return Errno::INVAL;
  CO_TRY_ASSIGN(Process* c, co_await wait_for_child(ctx, selector, options & WNOHANG, true));
  if (!c) co_return 0;
  if (status_addr) CO_TRY(ctx.mem().write_obj(UserPtr<int32_t>(status_addr), c->exit_status.load()));
  if (rusage_addr) CO_TRY(ctx.mem().write_obj(UserPtr<rusage>(rusage_addr), rusage{}));
  pid_t pid = c->pid();
  ctx.sandbox().reap(*c);
  co_return pid;
}

// Implements Linux waitid(2) for exited children.
Coro<ErrorOr<int64_t>> sys_waitid(SyscallContext& ctx) {
  int idtype = ctx.arg_int(0);
  pid_t id = ctx.arg_int(1);
  uint64_t info_addr = ctx.arg(2), rusage_addr = ctx.arg(4);
  int options = ctx.arg_int(3);
  if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WALL | __WCLONE | __WNOTHREAD))
    co_return Errno::INVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) co_return Errno::INVAL;
  pid_t selector;
  switch (idtype) {
    case P_ALL: selector = -1; break;
    case P_PID: if (id <= 0) co_return Errno::INVAL; selector = id; break;
    case P_PGID: if (id < 0) co_return Errno::INVAL; selector = id == 0 ? 0 : -id; break;
    default: co_return Errno::INVAL;  // FIXME: P_PIDFD
  }
  CO_TRY_ASSIGN(Process* c, co_await wait_for_child(ctx, selector, options & WNOHANG, options & WEXITED));
  if (!c) {
    // No child has changed state: si_pid is 0 (man 2 waitid).
    if (info_addr) CO_TRY(ctx.mem().write_obj(UserPtr<siginfo_t>(info_addr), siginfo_t{}));
    co_return 0;
  }
  if (info_addr) CO_TRY(ctx.mem().write_obj(UserPtr<siginfo_t>(info_addr), child_exit_siginfo(*c)));
  if (rusage_addr) CO_TRY(ctx.mem().write_obj(UserPtr<rusage>(rusage_addr), rusage{}));
  if (!(options & WNOWAIT)) ctx.sandbox().reap(*c);
  co_return 0;
}

namespace {

ErrorOr<int64_t> kill_pid(SyscallContext& ctx, pid_t pid, int sig) {
  if (sig < 0 || sig > 64) return Errno::INVAL;
  Sandbox& sandbox = ctx.sandbox();
  if (pid > 0) {
    Process* p = sandbox.find_process(pid);
    if (!p) return Errno::SRCH;
    if (sig) send_signal(*p, sig, user_siginfo(sig, ctx.process()));
    return 0;
  }
  if (pid == 0 || pid < -1) {
    // A process group: the caller's (0) or -pid.
    pid_t pgid = pid == 0 ? ctx.process().pgid : -pid;
    std::vector<Process*> members;
    for (Process* p : sandbox.processes())
      if (!p->zombie && p->pgid == pgid) members.push_back(p);
    if (members.empty()) return Errno::SRCH;
    if (sig)
      for (Process* p : members) send_signal(*p, sig, user_siginfo(sig, ctx.process()));
    return 0;
  }
  // -1: every process the caller may signal except init and itself.
  std::vector<Process*> targets;
  for (Process* p : sandbox.processes())
    if (p->pid() != 1 && p != &ctx.process()) targets.push_back(p);
  if (targets.empty()) return Errno::SRCH;
  if (sig)
    for (Process* p : targets) send_signal(*p, sig, user_siginfo(sig, ctx.process()));
  return 0;
}

}  // namespace

// Implements Linux kill(2).
ErrorOr<int64_t> sys_kill(SyscallContext& ctx) { return kill_pid(ctx, ctx.arg_int(0), ctx.arg_int(1)); }

namespace {

// A signal for one thread, found by its tid (and, for tgkill, its tgid).
ErrorOr<int64_t> kill_thread(SyscallContext& ctx, pid_t tgid, pid_t tid, int sig) {
  if (tid <= 0 || sig < 0 || sig > 64) return Errno::INVAL;
  Sandbox& sandbox = ctx.sandbox();
  Thread* target = nullptr;
  Process* owner = nullptr;
  for (Process* p : sandbox.processes()) {
    if (tgid > 0 && p->pid() != tgid) continue;
    target = p->thread_by_tid(tid);
    owner = p;
    if (target) break;
  }
  if (!target || !owner) return Errno::SRCH;
  if (sig) {
    siginfo_t info = user_siginfo(sig, ctx.process());
    info.si_code = SI_TKILL;
    send_signal(*owner, sig, info, target);
  }
  return 0;
}

}  // namespace

// Implements Linux tkill(2).
ErrorOr<int64_t> sys_tkill(SyscallContext& ctx) { return kill_thread(ctx, -1, ctx.arg_int(0), ctx.arg_int(1)); }

// Implements Linux tgkill(2).
ErrorOr<int64_t> sys_tgkill(SyscallContext& ctx) {
  if (ctx.arg_int(0) <= 0) return Errno::INVAL;
  return kill_thread(ctx, ctx.arg_int(0), ctx.arg_int(1), ctx.arg_int(2));
}

}  // namespace moat
