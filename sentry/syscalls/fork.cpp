// fork, vfork and clone (new processes), wait4 and waitid.
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

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/vfork.h"
#include "sentry/platform/stub_ops.h"
#include "sentry/platform/worker.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// The flags of a new process that moat carries out; threads (CLONE_THREAD)
// and processes sharing memory without vfork are not there yet.
constexpr uint64_t kSupportedCloneFlags = CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID |
                                          CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS |
                                          CLONE_SYSVSEM | CLONE_FS | CLONE_FILES | CLONE_PIDFD | CLONE_PARENT;

// Lets a new process's or thread's first thread run: once its stub thread
// reports, finish the clone in it and return it to the guest through the
// copied signal frame.
Coro<ErrorOr<int64_t>> start_child(Thread& child, uint64_t flags, uint64_t ctid, uint64_t tls) {
  co_await StubReport{child};
  Process& p = child.process();
  if (child.must_exit) {  // another thread's execve came first
    exit_thread(child);
    co_return 0;
  }
  if (p.memory_slot == Process::kNoMemorySlot) {
    // Every other thread exited while this one started (exit_thread).
    pid_t host_tid = p.stub().host_tid_of(child.slot_index());
    if (host_tid > 0) p.set_memory_thread(host_tid, child.slot_index());
  }
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
  nt.inherit_scheduling(t);
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

// pidfd_addr: where CLONE_PIDFD stores the child's pidfd.
Coro<ErrorOr<int64_t>> do_clone(SyscallContext& ctx, uint64_t flags, uint64_t child_stack, uint64_t ptid,
                                uint64_t ctid, uint64_t tls, uint64_t pidfd_addr) {
  Thread& t = ctx.thread;
  Process& parent = ctx.process();
  Sandbox& sandbox = ctx.sandbox();
  // man 2 clone, ERRORS.
  if ((flags & CLONE_PIDFD) && (flags & (CLONE_THREAD | CLONE_DETACHED))) co_return Errno::INVAL;
  if ((flags & CLONE_PARENT) && parent.pid() == 1) co_return Errno::INVAL;
  CO_TRY(check_task_limits(ctx));
  if (flags & CLONE_THREAD) co_return co_await clone_thread(ctx, flags, child_stack, ptid, ctid, tls);
  // The child's address space is copied from the parent's record after the
  // host fork: no mmap of another thread may run in between.
  co_await parent.mm_lock.lock();
  AsyncMutex::Guard mm_guard{parent.mm_lock};
  if (flags & ~kSupportedCloneFlags) co_return Errno::INVAL;
  // Without CLONE_VFORK a child sharing memory would need a shared address
  // space across processes; with it, a copy behaves the same until the
  // child execs or exits, which the parent waits for, and what the child
  // wrote is copied back then (sentry/kernel/vfork.h). FIXME: CLONE_VM
  // without CLONE_VFORK, and a vfork child's mmap and munmap.
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
  child.set_ppid((flags & CLONE_PARENT) ? parent.ppid() : parent.pid());
  child.exit_signal = static_cast<int>(flags & CSIGNAL);
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
  child.no_new_privs = parent.no_new_privs;
  child.dumpable = parent.dumpable;
  child.address_space() = parent.address_space();
  // CLONE_FILES and CLONE_FS share the tables; without them the child gets copies.
  child.set_fds((flags & CLONE_FILES) ? parent.shared_fds() : parent.fds().clone());
  child.set_fs((flags & CLONE_FS) ? parent.shared_fs() : parent.fs().clone());
  if ((flags & CLONE_VM) && (flags & CLONE_VFORK)) {
    child.vfork_shares_memory = true;
    child.vfork_caller_sp = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
  }
  child.set_stub(std::move(child_stub));
  if (child.vfork_shares_memory) snapshot_vfork_window(child);
  Thread& ct = child.add_thread(t.slot_index(), pid);
  ct.ucontext_off = t.ucontext_off;
  ct.fs_base = t.fs_base;
  ct.gs_base = t.gs_base;
  ct.signal_mask = t.signal_mask;
  ct.altstack_sp = t.altstack_sp;
  ct.altstack_size = t.altstack_size;
  ct.altstack_flags = t.altstack_flags;
  ct.name = t.name;
  ct.inherit_scheduling(t);
  if (flags & CLONE_CHILD_CLEARTID) ct.clear_child_tid = ctid;
  sandbox.add_process(std::move(owned));

  child.worker = parent.worker;
  parent.worker->attach(&child);
  watch_host_process(sandbox, pid, child.stub().pidfd());
  spawn(start_child(ct, flags, ctid, tls), [](ErrorOr<int64_t>) {});

  if (flags & CLONE_PARENT_SETTID) (void)ctx.mem().write_obj(UserPtr<int32_t>(ptid), pid);
  if (flags & CLONE_PIDFD) {
    // The child runs already; a failure here is the parent's alone to see.
    CO_TRY_ASSIGN(RefPtr<fs::File> pidfd, PidFdFile::create(child, 0));
    CO_TRY_ASSIGN(int fd, parent.fds().allocate(pidfd, true, 0, fs::nofile_limit(parent)));
    CO_TRY(ctx.mem().write_obj(UserPtr<int32_t>(pidfd_addr), fd));
  }
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
  uint64_t flags = ctx.arg(0);
  // clone() returns the pidfd through parent_tid, so the two exclude each other.
  if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID)) return async_result(Errno::INVAL);
  return do_clone(ctx, flags, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg(4), ctx.arg(2));
}

// Implements Linux clone3(2) through the same paths as clone (what clone3
// adds, CLONE_INTO_CGROUP and set_tid, is refused).
Coro<ErrorOr<int64_t>> sys_clone3(SyscallContext& ctx) {
  struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
  } args{};
  uint64_t size = ctx.arg(1);
  if (size < 64) return async_result(Errno::INVAL);
  if (size > 4096) return async_result(Errno::TooBig);
  auto read = ctx.mem().read(ctx.arg(0), &args, std::min<uint64_t>(size, sizeof(args)));
  if (read.is_error()) return async_result(read.error());
  // A larger struct from a newer libc is fine if what moat does not know is
  // zero (the kernel's copy_struct_from_user).
  if (size > sizeof(args)) {
    std::vector<uint8_t> tail(size - sizeof(args));
    auto rest = ctx.mem().read(ctx.arg(0) + sizeof(args), tail.data(), tail.size());
    if (rest.is_error()) return async_result(rest.error());
    if (std::any_of(tail.begin(), tail.end(), [](uint8_t b) { return b != 0; })) return async_result(Errno::TooBig);
  }
  // The kernel's clone3_args_valid.
  constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL, kCloneClearSighand = 0x100000000ULL;
  bool valid = !(args.flags & CSIGNAL) && !(args.flags & ~(0xffffffffULL | kCloneClearSighand | kCloneIntoCgroup)) &&
               !(args.exit_signal & ~static_cast<uint64_t>(CSIGNAL)) && args.exit_signal <= 64 &&
               !((args.flags & (CLONE_THREAD | CLONE_PARENT)) && args.exit_signal) &&
               (args.stack ? args.stack_size != 0 : args.stack_size == 0);
  if (!valid) return async_result(Errno::INVAL);
  // FIXME: set_tid, CLONE_INTO_CGROUP and CLONE_CLEAR_SIGHAND.
  if (args.set_tid || args.set_tid_size || (args.flags & (kCloneIntoCgroup | kCloneClearSighand)))
    return async_result(Errno::INVAL);
  // clone's stack argument is the top; clone3 gives the lowest address and a size.
  uint64_t top = args.stack ? args.stack + args.stack_size : 0;
  return do_clone(ctx, args.flags | args.exit_signal, top, args.parent_tid, args.child_tid, args.tls, args.pidfd);
}

// Implements Linux fork(2).
Coro<ErrorOr<int64_t>> sys_fork(SyscallContext& ctx) { return do_clone(ctx, SIGCHLD, 0, 0, 0, 0, 0); }

// Implements Linux vfork(2).
Coro<ErrorOr<int64_t>> sys_vfork(SyscallContext& ctx) {
  return do_clone(ctx, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0, 0);
}

namespace {

// What a wait found: a child and the change of state it reports.
struct WaitResult {
  Process* child = nullptr;
  Process::WaitReport report = Process::WaitReport::None;  // None: it exited
};

// What a wait waits for (a mask).
constexpr unsigned kExited = 1, kStopped = 2, kContinued = 4;

// The wait loop of wait4 and waitid: the first child that selector matches
// with a change of state the caller waits for (an exited child stays in the
// table for the caller to reap), or no child under WNOHANG; ECHILD when no
// child matches at all.
// options: __WALL and __WCLONE select children by their exit signal (a
// "clone" child reports with another signal than SIGCHLD, man 2 wait).
Coro<ErrorOr<WaitResult>> wait_for_child(SyscallContext& ctx, pid_t selector, bool nohang, unsigned wanted,
                                         int options) {
  Process& me = ctx.process();
  for (;;) {
    bool any = false;
    for (Process* c : ctx.sandbox().children_of(me.pid())) {
      if (!pid_matches(*c, selector, me.pgid)) continue;
      bool clone_child = c->exit_signal != SIGCHLD;
      if (!(options & __WALL) && clone_child != ((options & __WCLONE) != 0)) continue;
      any = true;
      if (c->zombie) {
        if (wanted & kExited) co_return WaitResult{c};
        continue;
      }
      if (((wanted & kStopped) && c->wait_report == Process::WaitReport::Stopped && c->stopped) ||
          ((wanted & kContinued) && c->wait_report == Process::WaitReport::Continued))
        co_return WaitResult{c, c->wait_report};
    }
    if (!any) co_return Errno::CHILD;
    if (nohang) co_return WaitResult{};
    co_await me.child_event.wait();
    if (me.zombie) co_return Errno::INTR;
    if (ctx.thread.interrupted) co_return Errno::RestartSys;
  }
}

// The wait(2) status of a change of state.
int wait_status(const WaitResult& r) {
  switch (r.report) {
    case Process::WaitReport::Stopped: return (r.child->stop_signal << 8) | 0x7f;
    case Process::WaitReport::Continued: return 0xffff;
    case Process::WaitReport::None: break;
  }
  return r.child->exit_status.load();
}

// waitid's siginfo for a change of state.
siginfo_t wait_siginfo(const WaitResult& r) {
  if (r.report == Process::WaitReport::None) return child_exit_siginfo(*r.child);
  siginfo_t info{};
  info.si_signo = SIGCHLD;
  info.si_pid = r.child->pid();
  info.si_uid = r.child->creds.uid;
  bool stopped = r.report == Process::WaitReport::Stopped;
  info.si_code = stopped ? CLD_STOPPED : CLD_CONTINUED;
  info.si_status = stopped ? r.child->stop_signal : SIGCONT;
  return info;
}

// Consumes what a wait reported: reaps an exited child, clears a stop or
// continue report.
void consume(SyscallContext& ctx, const WaitResult& r) {
  if (r.report == Process::WaitReport::None) {
    account_reaped_child(ctx.process(), *r.child);  // RUSAGE_CHILDREN (cpu_time.h)
    ctx.sandbox().reap(*r.child);
  } else
    r.child->wait_report = Process::WaitReport::None;
}

}  // namespace

// Implements Linux wait4(2).
Coro<ErrorOr<int64_t>> sys_wait4(SyscallContext& ctx) {
  pid_t selector = ctx.arg_int(0);
  uint64_t status_addr = ctx.arg(1), rusage_addr = ctx.arg(3);
  int options = ctx.arg_int(2);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) co_return Errno::INVAL;
  unsigned wanted = kExited | ((options & WUNTRACED) ? kStopped : 0) | ((options & WCONTINUED) ? kContinued : 0);
  CO_TRY_ASSIGN(WaitResult r, co_await wait_for_child(ctx, selector, options & WNOHANG, wanted, options));
  if (!r.child) co_return 0;
  if (status_addr) CO_TRY(ctx.mem().write_obj(UserPtr<int32_t>(status_addr), wait_status(r)));
  if (rusage_addr) CO_TRY(ctx.mem().write_obj(UserPtr<rusage>(rusage_addr), reaped_child_usage(*r.child).to_rusage()));
  pid_t pid = r.child->pid();
  consume(ctx, r);
  co_return pid;
}

// Implements Linux waitid(2).
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
    case P_PIDFD: { CO_TRY_ASSIGN(selector, pidfd_pid(ctx.process(), id)); break; }
    default: co_return Errno::INVAL;
  }
  // A pidfd opened with PIDFD_NONBLOCK does not wait: EAGAIN instead.
  bool pidfd_nonblocking = false;
  if (idtype == P_PIDFD) {
    CO_TRY_ASSIGN(RefPtr<fs::File> pidfd, ctx.process().fds().get(id));
    pidfd_nonblocking = pidfd->nonblocking();
  }
  unsigned wanted = ((options & WEXITED) ? kExited : 0) | ((options & WSTOPPED) ? kStopped : 0) |
                    ((options & WCONTINUED) ? kContinued : 0);
  bool nohang = (options & WNOHANG) || pidfd_nonblocking;
  CO_TRY_ASSIGN(WaitResult r, co_await wait_for_child(ctx, selector, nohang, wanted, options));
  if (!r.child && !(options & WNOHANG)) co_return Errno::AGAIN;
  if (!r.child) {
    // No child has changed state: si_pid is 0 (man 2 waitid).
    if (info_addr) CO_TRY(ctx.mem().write_obj(UserPtr<siginfo_t>(info_addr), siginfo_t{}));
    co_return 0;
  }
  if (info_addr) CO_TRY(ctx.mem().write_obj(UserPtr<siginfo_t>(info_addr), wait_siginfo(r)));
  if (rusage_addr) CO_TRY(ctx.mem().write_obj(UserPtr<rusage>(rusage_addr), reaped_child_usage(*r.child).to_rusage()));
  if (!(options & WNOWAIT)) consume(ctx, r);
  co_return 0;
}

}  // namespace moat
