#include "sentry/kernel/signals.h"

#include <ucontext.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

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

void send_signal(Process& p, int sig, const siginfo_t& info, Thread* target) {
  if (sig <= 0 || sig > 64 || p.zombie) return;
  if (sig == SIGKILL) {
    terminate_process(p, SIGKILL);
    return;
  }
  const GuestSigaction& sa = p.sigactions[sig];
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_IGN)) return;
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
    DefaultAction action = default_action(sig);
    // FIXME: job control (stop and continue).
    if (action != DefaultAction::Terminate) return;
    Thread& t = target ? *target : p.main_thread();
    if (!(t.signal_mask & sig_bit(sig))) {
      terminate_process(p, sig);
      return;
    }
  }
  if (target) {
    target->pending_signals |= sig_bit(sig);
    target->pending_info[sig] = info;
    if (!(target->signal_mask & sig_bit(sig))) kick(*target);
    return;
  }
  p.pending_signals |= sig_bit(sig);
  p.pending_info[sig] = info;
  // One thread that does not block it takes it: one waiting in the sentry
  // (its wait ends), else one running guest code (interrupted), else the
  // next to make a syscall.
  std::vector<Thread*> threads = p.live_thread_list();
  for (Thread* t : threads)
    if (!(t->signal_mask & sig_bit(sig)) && t->in_syscall && t->interrupt) return kick(*t);
  for (Thread* t : threads)
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
  uint64_t deliverable = (t.pending_signals | p.pending_signals) & ~t.signal_mask;
  if (!deliverable || p.zombie) {
    if (restartable && !p.zombie) {
      if (ucontext_t* uc = p.stub().trapped_context(t.slot_index(), t.ucontext_off)) restart_syscall(uc, nr, result);
    }
    return false;
  }
  int sig = __builtin_ctzll(deliverable) + 1;
  siginfo_t info;
  if (t.pending_signals & sig_bit(sig)) {
    t.pending_signals &= ~sig_bit(sig);
    info = t.pending_info[sig];
  } else {
    p.pending_signals &= ~sig_bit(sig);
    info = p.pending_info[sig];
  }
  GuestSigaction sa = p.sigactions[sig];
  if (sa.handler == reinterpret_cast<uint64_t>(SIG_IGN) || sa.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
    if (sa.handler == reinterpret_cast<uint64_t>(SIG_DFL) && default_action(sig) == DefaultAction::Terminate) {
      terminate_process(p, sig);
      return false;
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
  uint64_t sp = static_cast<uint64_t>(g[REG_RSP]);
  bool on_altstack = p.altstack_sp && sp - p.altstack_sp < p.altstack_size;
  if ((sa.flags & SA_ONSTACK) && p.altstack_sp && !on_altstack)
    sp = p.altstack_sp + p.altstack_size;
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
  }
  sp = ((sp - sizeof(RtSigframe)) & ~15ULL) - 8;

  RtSigframe frame{};
  frame.pretcode = sa.restorer;
  frame.uc.flags = uc->uc_flags;
  frame.uc.stack.ss_sp = reinterpret_cast<void*>(p.altstack_sp);
  frame.uc.stack.ss_size = p.altstack_size;
  frame.uc.stack.ss_flags = !p.altstack_sp ? SS_DISABLE : on_altstack ? SS_ONSTACK : 0;
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
  frame.uc.sigmask = t.has_saved_mask ? t.saved_mask : t.signal_mask;
  if (t.has_saved_mask) {
    t.signal_mask = t.saved_mask;
    t.has_saved_mask = false;
  }
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
  t.pending_signals |= sig_bit(sig);
  t.pending_info[sig] = info;
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
  return ng[REG_RAX];
}

}  // namespace moat
