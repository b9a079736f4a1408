#include "sentry/kernel/signals.h"

#include <ucontext.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/event_files.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/mm/user_memory.h"
#include "sentry/platform/stub_process.h"

namespace moat {

namespace {

enum class DefaultAction { Terminate, Ignore, Stop, Continue };

// man 7 signal, "Standard signals"; real-time signals terminate.
DefaultAction default_action(int sig) {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return DefaultAction::Ignore;
    case SIGCONT: return DefaultAction::Continue;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return DefaultAction::Stop;
    default: return DefaultAction::Terminate;
  }
}

// The kernel's struct ucontext and rt_sigframe (arch/x86/include/asm/sigframe.h).
struct KernelUcontext {
  uint64_t flags;
  uint64_t link;
  stack_t stack;
  mcontext_t mcontext;
  uint64_t sigmask;
};
struct RtSigframe {
  uint64_t pretcode;
  KernelUcontext uc;
  siginfo_t info;
};

constexpr uint64_t kFpxSwMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1
constexpr size_t kSwReservedOffset = 464;      // fx_sw_bytes inside the fxsave area

// The size of the FPU state the kernel saved with a signal frame.
size_t fpstate_size(const char* fp) {
  uint32_t magic1, extended;
  memcpy(&magic1, fp + kSwReservedOffset, 4);
  memcpy(&extended, fp + kSwReservedOffset + 8, 4);
  if (magic1 == kFpxSwMagic1 && extended >= 512 && extended <= 64 * 1024) return extended;
  return 512;
}

// The initial FPU state in place of a saved one: x87 and SSE registers
// cleared, default control words, and an XSAVE header whose empty
// xstate_bv makes XRSTOR load every other component's initial state.
void reset_fpstate(char* fp, size_t size) {
  constexpr uint16_t kInitFcw = 0x37f;
  constexpr uint32_t kInitMxcsr = 0x1f80;
  memset(fp, 0, kSwReservedOffset);  // the software-reserved bytes stay: they describe the frame
  memcpy(fp, &kInitFcw, sizeof kInitFcw);
  memcpy(fp + 24, &kInitMxcsr, sizeof kInitMxcsr);
  if (size > 512 + 8) memset(fp + 512, 0, 8);
}

}  // namespace

siginfo_t user_siginfo(int sig, const Process& sender) {
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = SI_USER;
  info.si_pid = sender.pid();
  info.si_uid = sender.creds.uid;
  return info;
}

namespace {

// Gets a signal to t soon: ends its wait in the sentry, or interrupts its
// guest code; a thread in the middle of a syscall that does not wait sees it
// when the syscall completes.
void kick(Thread& t) {
  if (t.in_syscall) {
    interrupt_thread(t);
    return;
  }
  if (t.stub_started && !t.exited) t.process().stub().interrupt_thread(t.slot_index());
}

}  // namespace

namespace {

constexpr uint64_t kStopSignals = sig_bit(SIGSTOP) | sig_bit(SIGTSTP) | sig_bit(SIGTTIN) | sig_bit(SIGTTOU);

void discard_everywhere(Process& p, uint64_t set) {
  p.pending.discard(set);
  for (Thread* t : p.live_thread_list()) t->pending.discard(set);
}

// Tells p's parent that p stopped or continued: SIGCHLD (unless the parent
// asked SA_NOCLDSTOP) and a wake-up of its wait (the kernel's
// do_notify_parent_cldstop).
void notify_parent_cldstop(Process& p, int code, int status) {
  Process* parent = p.sandbox().find_process(p.ppid());
  if (!parent || parent == &p || parent->zombie) return;
  if (!(parent->sigactions[SIGCHLD].flags & SA_NOCLDSTOP)) {
    siginfo_t info{};
    info.si_signo = SIGCHLD;
    info.si_code = code;
    info.si_pid = p.pid();
    info.si_uid = p.creds.uid;
    info.si_status = status;
    send_signal(*parent, SIGCHLD, info);
  }
  parent->child_event.wake_all();
}

// A process group is orphaned when no member has a parent in another group
// of the same session (the kernel's will_become_orphaned_pgrp); the terminal
// stop signals do nothing to it, as nobody could continue it.
bool pgrp_is_orphaned(Sandbox& sandbox, pid_t pgid) {
  for (Process* m : sandbox.processes()) {
    if (m->zombie || m->pgid != pgid) continue;
    Process* parent = sandbox.find_process(m->ppid());
    if (parent && !parent->zombie && parent->pgid != pgid && parent->sid == m->sid) return false;
  }
  return true;
}

// The default action of a stop signal.
void stop_by_signal(Process& p, int sig) {
  if (sig != SIGSTOP && pgrp_is_orphaned(p.sandbox(), p.pgid)) return;
  stop_process(p, sig);
}

}  // namespace

stack_t altstack_state(const Thread& t, uint64_t sp) {
  stack_t st{};
  st.ss_sp = reinterpret_cast<void*>(t.altstack_sp);
  st.ss_size = t.altstack_size;
  st.ss_flags = (!t.altstack_size ? SS_DISABLE : t.on_altstack(sp) ? SS_ONSTACK : 0) | (t.altstack_flags & kSsAutodisarm);
  return st;
}

ErrorOr<void> set_altstack(Thread& t, uint64_t sp, const stack_t& next) {
  constexpr size_t kMinSigStackSize = 2048;  // MINSIGSTKSZ
  if (t.on_altstack(sp)) return Errno::PERM;
  int mode = next.ss_flags & ~kSsAutodisarm;
  if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0) return Errno::INVAL;
  if (mode == SS_DISABLE) {
    t.altstack_sp = t.altstack_size = 0;
  } else {
    if (next.ss_size < kMinSigStackSize) return Errno::NOMEM;
    t.altstack_sp = reinterpret_cast<uint64_t>(next.ss_sp);
    t.altstack_size = next.ss_size;
  }
  t.altstack_flags = next.ss_flags & kSsAutodisarm;
  return {};
}

void discard_if_ignored(Process& p, int sig) {
  const GuestSigaction& sa = p.sigactions[sig];
  bool ignored = sa.handler == reinterpret_cast<uint64_t>(SIG_IGN) ||
                 (sa.handler == reinterpret_cast<uint64_t>(SIG_DFL) && default_action(sig) == DefaultAction::Ignore);
  if (ignored) discard_everywhere(p, sig_bit(sig));
}

void stop_process(Process& p, int sig) {
  if (p.stopped || p.zombie) return;
  p.stopped = true;
  p.stop_signal = sig;
  // The host stops every thread of the stub process at once: none runs guest
  // code until SIGCONT. A stub process may be its pid namespace's init, to
  // which only SIGKILL and SIGSTOP are forced from outside; SIGCONT's
  // continuing happens before that check (the kernel's prepare_signal).
  p.stub().kill(SIGSTOP);
  p.wait_report = Process::WaitReport::Stopped;
  notify_parent_cldstop(p, CLD_STOPPED, sig);
}

void continue_process(Process& p) {
  if (!p.stopped || p.zombie) return;
  p.stopped = false;
  p.stub().kill(SIGCONT);
  p.wait_report = Process::WaitReport::Continued;
  notify_parent_cldstop(p, CLD_CONTINUED, SIGCONT);
  // What was sent while it was stopped waited (only SIGKILL acts on a
  // stopped process, the kernel's wants_signal); send it again now.
  struct Resend {
    int sig;
    siginfo_t info;
    Thread* target;
  };
  std::vector<Resend> resend;
  auto drain = [&](SignalQueue& q, Thread* target) {
    for (uint64_t m = q.mask(); m; m &= m - 1) {
      int sig = __builtin_ctzll(m) + 1;
      while (q.has(sig)) resend.push_back({sig, q.dequeue(sig), target});
    }
  };
  drain(p.pending, nullptr);
  for (Thread* t : p.live_thread_list()) drain(t->pending, t);
  for (Resend& r : resend) send_signal(p, r.sig, r.info, r.target);
}

void send_signal(Process& p, int sig, const siginfo_t& info, Thread* target) {
  if (sig <= 0 || sig > 64 || p.zombie) return;
  SignalFdPoke poke_signalfds(p);  // fs/event_files.h: on return, p's signalfds see what is pending
  if (sig == SIGKILL) {
    terminate_process(p, SIGKILL);
    return;
  }
  // SIGCONT continues the process whatever its disposition and cancels
  // pending stops; a stop cancels a pending SIGCONT (man 7 signal).
  if (sig == SIGCONT) {
    discard_everywhere(p, kStopSignals);
    continue_process(p);
  } else if (sig_bit(sig) & kStopSignals) {
    discard_everywhere(p, sig_bit(SIGCONT));
  }
  if (p.stopped && sig != SIGCONT) {
    // It waits for SIGCONT (continue_process sends it again then).
    (target ? target->pending : p.pending).enqueue(sig, info);
    return;
  }
  const GuestSigaction& sa = p.sigactions[sig];
  // Blocked: by the target thread, or for a process-directed signal by
  // every thread (the kernel's wants_signal finds no taker).
  std::vector<Thread*> live = p.live_thread_list();
  bool blocked = target ? (target->signal_mask & sig_bit(sig)) != 0 : true;
  if (!target)
    for (Thread* t : live) blocked &= (t->signal_mask & sig_bit(sig)) != 0;
  for (Thread* t : live) blocked |= (t->sigwait_set & sig_bit(sig)) != 0;  // rt_sigtimedwait takes it
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_IGN) && !blocked) return;
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_DFL) && !blocked) {
    switch (default_action(sig)) {
      case DefaultAction::Ignore:
      case DefaultAction::Continue: return;
      case DefaultAction::Stop: stop_by_signal(p, sig); return;
      case DefaultAction::Terminate: terminate_process(p, sig); return;
    }
  }
  if (target) {
    target->pending.enqueue(sig, info);
    if (!(target->signal_mask & sig_bit(sig))) kick(*target);
    return;
  }
  p.pending.enqueue(sig, info);
  // One thread that does not block it takes it: one waiting in the sentry
  // (its wait ends), else one running guest code (interrupted), else the
  // next to make a syscall.
  for (Thread* t : live)
    if (!(t->signal_mask & sig_bit(sig)) && t->in_syscall && t->interrupt) return kick(*t);
  for (Thread* t : live)
    if (!(t->signal_mask & sig_bit(sig)) && !t->in_syscall && t->stub_started) return kick(*t);
}

namespace {

// Sets up the trapped context to execute the syscall again (the kernel's
// -ERESTARTSYS handling: back over the 2-byte syscall instruction).
void restart_syscall(ucontext_t* uc, uint64_t nr, int64_t& result) {
  uc->uc_mcontext.gregs[REG_RIP] -= 2;
  result = static_cast<int64_t>(nr);
}

}  // namespace

bool deliver_pending_signal(Thread& t, int64_t& result, bool restartable, uint64_t nr) {
  Process& p = t.process();
  uint64_t deliverable = (t.pending.mask() | p.pending.mask()) & ~t.signal_mask;
  // A stopped process takes nothing until SIGCONT (continue_process).
  if (p.stopped) deliverable = 0;
  if (!deliverable || p.zombie) {
    if (restartable && !p.zombie) {
      if (ucontext_t* uc = p.stub().trapped_context(t.slot_index(), t.ucontext_off)) restart_syscall(uc, nr, result);
    }
    return false;
  }
  int sig = __builtin_ctzll(deliverable) + 1;
  siginfo_t info = t.pending.has(sig) ? t.pending.dequeue(sig) : p.pending.dequeue(sig);
  GuestSigaction sa = p.sigactions[sig];
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_IGN) || sa.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
    if (sa.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
      switch (default_action(sig)) {
        case DefaultAction::Terminate: terminate_process(p, sig); return false;
        case DefaultAction::Stop: stop_by_signal(p, sig); break;
        case DefaultAction::Ignore:
        case DefaultAction::Continue: break;
      }
    }
    return deliver_pending_signal(t, result, restartable, nr);
  }
  StubProcess& stub = p.stub();
  ucontext_t* uc = stub.trapped_context(t.slot_index(), t.ucontext_off);
  if (!uc) {
    terminate_process(p, SIGSEGV);
    return false;
  }
  greg_t* g = uc->uc_mcontext.gregs;

  // Where the frame goes: the alternate stack if asked for and not already
  // on it, else below the red zone of the interrupted stack.
  const uint64_t interrupted_sp = static_cast<uint64_t>(g[REG_RSP]);
  uint64_t sp = interrupted_sp;
  if ((sa.flags & SA_ONSTACK) && t.altstack_size && !t.on_altstack(sp))
    sp = t.altstack_sp + t.altstack_size;
  else
    sp -= 128;

  // The FPU state saved with the trapped frame goes along (XSAVE, 64-aligned).
  const uint64_t region_base = moat_thread_region(t.slot_index());
  uint64_t fp_stub = reinterpret_cast<uint64_t>(uc->uc_mcontext.fpregs);
  uint64_t fp_guest = 0;
  if (fp_stub >= region_base && fp_stub < region_base + MOAT_THREAD_REGION - 512) {
    const char* fp = stub.region(t.slot_index()) + (fp_stub - region_base);
    size_t size = std::min<size_t>(fpstate_size(fp), region_base + MOAT_THREAD_REGION - fp_stub);
    sp = (sp - size) & ~63ULL;
    fp_guest = sp;
    if (p.mem().write(fp_guest, fp, size).is_error()) {
      terminate_process(p, SIGSEGV);
      return false;
    }
    // The handler starts with the FPU in its initial state (the kernel's
    // fpu__clear_user_states); the frame keeps the interrupted one.
    reset_fpstate(const_cast<char*>(fp), size);
  }
  sp = ((sp - sizeof(RtSigframe)) & ~15ULL) - 8;

  RtSigframe frame{};
  frame.pretcode = sa.restorer;
  frame.uc.flags = uc->uc_flags;
  frame.uc.stack = altstack_state(t, interrupted_sp);
  // kSsAutodisarm: the handler runs with no alternate stack until its
  // rt_sigreturn restores uc_stack (the kernel's __save_altstack).
  if (t.altstack_flags & kSsAutodisarm) {
    t.altstack_sp = t.altstack_size = 0;
    t.altstack_flags = 0;
  }
  frame.uc.mcontext = uc->uc_mcontext;
  frame.uc.mcontext.gregs[REG_RAX] = result;
  if (restartable) {
    if (sa.flags & SA_RESTART) {
      frame.uc.mcontext.gregs[REG_RIP] -= 2;
      frame.uc.mcontext.gregs[REG_RAX] = static_cast<greg_t>(nr);
    } else {
      frame.uc.mcontext.gregs[REG_RAX] = -EINTR;
    }
  }
  frame.uc.mcontext.fpregs = reinterpret_cast<fpregset_t>(fp_guest);
  // After rt_sigsuspend the frame holds the mask from before the call; the
  // handler itself runs with the temporary one plus its own.
  frame.uc.sigmask = t.has_saved_mask ? t.saved_mask : t.signal_mask;
  t.has_saved_mask = false;
  frame.info = info;
  if (p.mem().write(sp, &frame, sizeof(frame)).is_error()) {
    terminate_process(p, SIGSEGV);
    return false;
  }

  g[REG_RIP] = static_cast<greg_t>(sa.handler);
  g[REG_RSP] = static_cast<greg_t>(sp);
  g[REG_RDI] = sig;
  g[REG_RSI] = static_cast<greg_t>(sp + offsetof(RtSigframe, info));
  g[REG_RDX] = static_cast<greg_t>(sp + offsetof(RtSigframe, uc));
  g[REG_EFL] &= ~0x500LL;  // DF and TF clear on handler entry
  result = 0;               // the handler's rax

  t.signal_mask |= (sa.mask | ((sa.flags & SA_NODEFER) ? 0 : sig_bit(sig))) & ~kUnblockableSignals;
  if (sa.flags & SA_RESETHAND) p.sigactions[sig] = GuestSigaction{};
  return true;
}

void handle_fault(Thread& t, int sig, int code, uint64_t addr) {
  Process& p = t.process();
  if (getenv("MOAT_DEBUG")) {
    ucontext_t* fuc = p.stub().trapped_context(t.slot_index(), t.ucontext_off);
    fprintf(stderr, "moat: pid %d tid %d (slot %u): signal %d code %d addr %#lx rip %#llx rsp %#llx\n", p.pid(),
            t.tid(), t.slot_index(), sig, code, static_cast<unsigned long>(addr),
            fuc ? static_cast<unsigned long long>(fuc->uc_mcontext.gregs[REG_RIP]) : 0ULL,
            fuc ? static_cast<unsigned long long>(fuc->uc_mcontext.gregs[REG_RSP]) : 0ULL);
  }
  const GuestSigaction& sa = p.sigactions[sig];
  bool catchable = sa.handler != reinterpret_cast<uint64_t>(SIG_DFL) &&
                   sa.handler != reinterpret_cast<uint64_t>(SIG_IGN) && !(t.signal_mask & sig_bit(sig));
  ucontext_t* uc = p.stub().trapped_context(t.slot_index(), t.ucontext_off);
  if (!catchable || !uc) {
    terminate_process(p, sig);
    return;
  }
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = code;
  info.si_addr = reinterpret_cast<void*>(addr);
  t.pending.enqueue(sig, info);
  // The fault's registers stay as they were; only the handler's frame is new.
  int64_t rax = uc->uc_mcontext.gregs[REG_RAX];
  deliver_pending_signal(t, rax);
}

int64_t restore_signal_frame(Thread& t) {
  Process& p = t.process();
  StubProcess& stub = p.stub();
  ucontext_t* uc = stub.trapped_context(t.slot_index(), t.ucontext_off);
  if (!uc) {
    terminate_process(p, SIGSEGV);
    return 0;
  }
  greg_t* g = uc->uc_mcontext.gregs;
  // The handler returned into its restorer: the ucontext sits at rsp.
  auto frame = p.mem().read_obj(UserPtr<KernelUcontext>(static_cast<uint64_t>(g[REG_RSP])));
  if (frame.is_error()) {
    terminate_process(p, SIGSEGV);
    return 0;
  }
  const KernelUcontext& guc = frame.value();
  const greg_t* ng = guc.mcontext.gregs;
  for (int r : {REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RDI, REG_RSI, REG_RBP,
                REG_RBX, REG_RDX, REG_RAX, REG_RCX, REG_RSP, REG_RIP})
    g[r] = ng[r];
  // Only the flags user code may change (the kernel's FIX_EFLAGS).
  constexpr greg_t kFixFlags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;
  g[REG_EFL] = (g[REG_EFL] & ~kFixFlags) | (ng[REG_EFL] & kFixFlags);

  const uint64_t region_base = moat_thread_region(t.slot_index());
  uint64_t fp_stub = reinterpret_cast<uint64_t>(uc->uc_mcontext.fpregs);
  uint64_t fp_guest = reinterpret_cast<uint64_t>(guc.mcontext.fpregs);
  if (fp_guest && fp_stub >= region_base && fp_stub < region_base + MOAT_THREAD_REGION - 512) {
    char* fp = stub.region(t.slot_index()) + (fp_stub - region_base);
    size_t size = std::min<size_t>(fpstate_size(fp), region_base + MOAT_THREAD_REGION - fp_stub);
    // The kernel validates the XSAVE header when the stub's sigreturn loads it.
    if (p.mem().read(fp_guest, fp, size).is_error()) {
      terminate_process(p, SIGSEGV);
      return 0;
    }
  } else if (!fp_guest) {
    uc->uc_mcontext.fpregs = nullptr;
  }
  t.signal_mask = guc.sigmask & ~kUnblockableSignals;
  // uc_stack as the handler left it; errors are ignored (the kernel's
  // restore_altstack).
  (void)set_altstack(t, static_cast<uint64_t>(g[REG_RSP]), guc.stack);
  return ng[REG_RAX];
}

}  // namespace moat
