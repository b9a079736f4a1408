// Process set-up syscalls: TLS, tid address, robust lists, signal state
// (recorded until delivery lands), prctl, exit.

#include <asm/prctl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include <cstring>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/robust_list.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/vfork.h"
#include "sentry/platform/stub_ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// CAP_LAST_CAP of the kernels moat targets (CAP_CHECKPOINT_RESTORE).
constexpr uint64_t kCapLastCap = 40;

constexpr uint64_t kUnblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));

// The kernel's struct sigaction for rt_sigaction (x86-64).
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};


}  // namespace

// Implements Linux arch_prctl(2).
Coro<ErrorOr<int64_t>> sys_arch_prctl(SyscallContext& ctx) {
  int code = ctx.arg_int(0);
  uint64_t addr = ctx.arg(1);
  Thread& t = ctx.thread;
  switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS: {
      // fs and gs are not part of the signal frame: the stub thread sets its
      // own base before returning to the guest.
      if (addr >= 0x800000000000ULL) co_return Errno::PERM;
      int64_t r = co_await stub_syscall(t, SYS_arch_prctl, static_cast<uint64_t>(code), addr);
      if (r < 0) co_return static_cast<Errno>(-r);
      (code == ARCH_SET_FS ? t.fs_base : t.gs_base) = addr;
      co_return 0;
    }
    case ARCH_GET_FS:
    case ARCH_GET_GS:
      CO_TRY(ctx.mem().write_obj(UserPtr<uint64_t>(addr), code == ARCH_GET_FS ? t.fs_base : t.gs_base));
      co_return 0;
    case ARCH_GET_CPUID:
      co_return 1;
    default:
      co_return Errno::INVAL;
  }
}

// Implements Linux set_tid_address(2).
ErrorOr<int64_t> sys_set_tid_address(SyscallContext& ctx) {
  ctx.thread.clear_child_tid = ctx.arg(0);
  return ctx.thread.tid();
}

// Implements Linux set_robust_list(2).
ErrorOr<int64_t> sys_set_robust_list(SyscallContext& ctx) {
  if (ctx.arg(1) != 24) return Errno::INVAL;  // sizeof(struct robust_list_head)
  ctx.thread.robust_list = ctx.arg(0);
  ctx.thread.robust_list_len = ctx.arg(1);
  return 0;
}

// Implements Linux get_robust_list(2).
ErrorOr<int64_t> sys_get_robust_list(SyscallContext& ctx) {
  int pid = ctx.arg_int(0);
  if (pid != 0 && pid != ctx.thread.tid()) return Errno::SRCH;
  TRY(ctx.mem().write_obj(UserPtr<uint64_t>(ctx.arg(1)), ctx.thread.robust_list));
  TRY(ctx.mem().write_obj(UserPtr<uint64_t>(ctx.arg(2)), uint64_t{24}));
  return 0;
}

// Implements Linux rseq(2): not supported; glibc and others fall back.
ErrorOr<int64_t> sys_rseq(SyscallContext&) { return Errno::NOSYS; }

// Implements Linux rt_sigaction(2). Dispositions are recorded; delivery of
// guest handlers comes with the signals work.
ErrorOr<int64_t> sys_rt_sigaction(SyscallContext& ctx) {
  int sig = ctx.arg_int(0);
  uint64_t act = ctx.arg(1), oldact = ctx.arg(2);
  if (ctx.arg(3) != 8) return Errno::INVAL;
  if (sig < 1 || sig > 64) return Errno::INVAL;
  Process& p = ctx.process();
  KernelSigaction next{};
  if (act) {
    if (sig == SIGKILL || sig == SIGSTOP) return Errno::INVAL;
    next = TRY(ctx.mem().read_obj(UserPtr<KernelSigaction>(act)));
  }
  GuestSigaction& cur = p.sigactions[sig];
  if (oldact) {
    KernelSigaction old{cur.handler, cur.flags, cur.restorer, cur.mask};
    TRY(ctx.mem().write_obj(UserPtr<KernelSigaction>(oldact), old));
  }
  if (act) {
    cur = GuestSigaction{next.handler, next.flags, next.restorer, next.mask & ~kUnblockable};
    discard_if_ignored(p, sig);
  }
  return 0;
}

// Implements Linux rt_sigprocmask(2).
ErrorOr<int64_t> sys_rt_sigprocmask(SyscallContext& ctx) {
  int how = ctx.arg_int(0);
  uint64_t set = ctx.arg(1), oldset = ctx.arg(2);
  if (ctx.arg(3) != 8) return Errno::INVAL;
  Thread& t = ctx.thread;
  uint64_t next = t.signal_mask;
  if (set) {
    uint64_t v = TRY(ctx.mem().read_obj(UserPtr<uint64_t>(set)));
    switch (how) {
      case SIG_BLOCK: next |= v; break;
      case SIG_UNBLOCK: next &= ~v; break;
      case SIG_SETMASK: next = v; break;
      default: return Errno::INVAL;
    }
  }
  if (oldset) TRY(ctx.mem().write_obj(UserPtr<uint64_t>(oldset), t.signal_mask));
  t.signal_mask = next & ~kUnblockable;
  return 0;
}

// Implements Linux sigaltstack(2).
ErrorOr<int64_t> sys_sigaltstack(SyscallContext& ctx) {
  uint64_t ss = ctx.arg(0), old = ctx.arg(1);
  Thread& t = ctx.thread;
  ucontext_t* uc = ctx.process().stub().trapped_context(t.slot_index(), t.ucontext_off);
  if (!uc) return Errno::FAULT;
  uint64_t sp = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
  stack_t cur = altstack_state(t, sp);
  if (ss) {
    stack_t next = TRY(ctx.mem().read_obj(UserPtr<stack_t>(ss)));
    TRY(set_altstack(t, sp, next));
  }
  if (old) TRY(ctx.mem().write_obj(UserPtr<stack_t>(old), cur));
  return 0;
}

// Implements Linux prctl(2) for the options a single process needs.
ErrorOr<int64_t> sys_prctl(SyscallContext& ctx) {
  int option = ctx.arg_int(0);
  Thread& t = ctx.thread;
  switch (option) {
    case PR_SET_NAME: {
      char name[16] = {};
      size_t got = ctx.mem().read_partial(ctx.arg(1), name, sizeof(name) - 1);
      if (got == 0) return Errno::FAULT;
      t.name.assign(name, strnlen(name, sizeof(name) - 1));
      // /proc/PID/comm is the thread group leader's name.
      if (t.tid() == ctx.process().pid()) ctx.process().comm = t.name;
      return 0;
    }
    case PR_GET_NAME: {
      char name[16] = {};
      memcpy(name, t.name.data(), std::min<size_t>(t.name.size(), 15));
      TRY(ctx.mem().write(ctx.arg(1), name, sizeof(name)));
      return 0;
    }
    case PR_SET_NO_NEW_PRIVS:
      if (ctx.arg(1) != 1 || ctx.arg(2) || ctx.arg(3) || ctx.arg(4)) return Errno::INVAL;
      ctx.process().no_new_privs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (ctx.arg(1) || ctx.arg(2) || ctx.arg(3) || ctx.arg(4)) return Errno::INVAL;
      return ctx.process().no_new_privs ? 1 : 0;
    case PR_GET_DUMPABLE:
      return ctx.process().dumpable;
    case PR_SET_DUMPABLE:
      if (ctx.arg(1) > 1) return Errno::INVAL;
      ctx.process().dumpable = static_cast<int>(ctx.arg(1));
      return 0;
    case PR_SET_PDEATHSIG:
      if (ctx.arg(1) > 64) return Errno::INVAL;
      ctx.process().pdeathsig = static_cast<int>(ctx.arg(1));
      return 0;
    case PR_SET_CHILD_SUBREAPER:
      ctx.process().child_subreaper = ctx.arg(1) != 0;
      return 0;
    case PR_GET_CHILD_SUBREAPER:
      TRY(ctx.mem().write_obj(UserPtr<int32_t>(ctx.arg(1)), ctx.process().child_subreaper ? 1 : 0));
      return 0;
    case PR_GET_PDEATHSIG:
      TRY(ctx.mem().write_obj(UserPtr<int32_t>(ctx.arg(1)), ctx.process().pdeathsig));
      return 0;
    case PR_CAPBSET_READ:
      if (ctx.arg(1) > kCapLastCap) return Errno::INVAL;
      return ctx.process().creds.euid == 0 ? 1 : 0;
    case PR_GET_SECUREBITS:
      return 0;
    case PR_GET_TIMERSLACK:
      return 50000;
    default:
      return Errno::INVAL;
  }
}

// Implements Linux rt_sigreturn(2).
ErrorOr<int64_t> sys_rt_sigreturn(SyscallContext& ctx) { return restore_signal_frame(ctx.thread); }

// Implements Linux rt_sigpending(2).
ErrorOr<int64_t> sys_rt_sigpending(SyscallContext& ctx) {
  if (ctx.arg(1) > 8) return Errno::INVAL;
  uint64_t pending = (ctx.thread.pending.mask() | ctx.process().pending.mask()) & ctx.thread.signal_mask;
  TRY(ctx.mem().write(ctx.arg(0), &pending, ctx.arg(1)));
  return 0;
}

namespace {

// Waits until a signal interrupts the caller (pause, rt_sigsuspend).
Coro<ErrorOr<int64_t>> wait_for_signal(SyscallContext& ctx) {
  WaitQueue never;  // nothing wakes it; only an interrupt resumes the waiter
  while (!ctx.thread.interrupted) co_await never.wait();
  // Linux's ERESTARTNOHAND: EINTR after a handler runs.
  co_return Errno::INTR;
}

}  // namespace

// Implements Linux pause(2).
Coro<ErrorOr<int64_t>> sys_pause(SyscallContext& ctx) {
  uint64_t deliverable = (ctx.thread.pending.mask() | ctx.process().pending.mask()) & ~ctx.thread.signal_mask;
  if (deliverable) co_return Errno::INTR;
  co_return co_await wait_for_signal(ctx);
}

// Implements Linux rt_sigsuspend(2): waits with a temporary mask; the
// handler's frame restores the original one.
Coro<ErrorOr<int64_t>> sys_rt_sigsuspend(SyscallContext& ctx) {
  if (ctx.arg(1) != 8) co_return Errno::INVAL;
  CO_TRY_ASSIGN(uint64_t mask, ctx.mem().read_obj(UserPtr<uint64_t>(ctx.arg(0))));
  Thread& t = ctx.thread;
  t.saved_mask = t.signal_mask;
  t.has_saved_mask = true;
  t.signal_mask = mask & ~kUnblockable;
  uint64_t deliverable = (t.pending.mask() | ctx.process().pending.mask()) & ~t.signal_mask;
  if (deliverable) co_return Errno::INTR;
  co_return co_await wait_for_signal(ctx);
}

// Implements Linux exit_group(2): the stub ends the host process with the
// status; the sentry learns it from the host's wait.
Coro<ErrorOr<int64_t>> sys_exit_group(SyscallContext& ctx) {
  moat_slot* slot = ctx.process().stub().slot(ctx.thread.slot_index());
  int code = static_cast<int>(ctx.arg(0) & 0xff);
  int expected = -1;
  ctx.process().exit_status.compare_exchange_strong(expected, code << 8);
  slot->op_args[0] = static_cast<uint64_t>(code);
  copy_back_vfork_memory(ctx.process());  // before the stub ends its host process
  ctx.replied = true;
  record_exit_usage(ctx.process());  // its CPU time, before the stub ends it (cpu_time.h)
  futex_process_exit(ctx.process());  // robust lists, while the memory is there (robust_list.h)
  post_reply(slot, MOAT_REPLY_EXIT);
  process_exited(ctx.process(), code << 8);
  co_return 0;
}

// Implements Linux exit(2): ends the calling thread; the last one ends the
// process. The thread's clear_child_tid gets 0 and a futex wake, which is
// how pthread_join learns of it (set_tid_address(2)).
Coro<ErrorOr<int64_t>> sys_exit(SyscallContext& ctx) {
  Thread& t = ctx.thread;
  Process& p = ctx.process();
  if (p.live_threads() <= 1) co_return co_await sys_exit_group(ctx);
  ctx.replied = true;
  exit_thread(t);
  co_return 0;
}

}  // namespace moat
