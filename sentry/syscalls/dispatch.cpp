#include "sentry/syscalls/dispatch.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "fs/host_fs.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/platform/stub_process.h"
#include "sentry/syscalls/context.h"
#include "sentry/syscalls/strace.h"
#include "sentry/syscalls/table.h"

namespace moat {

namespace {

int64_t to_guest_result(const ErrorOr<int64_t>& r) {
  if (!r.is_error()) return r.value();
  switch (r.error()) {
    case Errno::WouldBlock: return -EAGAIN;
    case Errno::RestartSys: return -EINTR;
    case Errno::FetchHost: return -EIO;  // never escapes run_syscall
    default: return -static_cast<int64_t>(to_int(r.error()));
  }
}

void write_trace(Sandbox& sandbox, const std::string& line) {
  ssize_t ignored = ::write(sandbox.config().strace_fd, line.data(), line.size());
  (void)ignored;
}

// A synchronous handler, with its path walks' host lookups deferred to fetch.
ErrorOr<int64_t> run_sync(const SyscallEntry& entry, SyscallContext& ctx, fs::HostFetch& fetch) {
  fs::HostFetch::Scope scope(fetch);
  return entry.sync(ctx);
}

bool waits_for_host(const ErrorOr<int64_t>& r, const fs::HostFetch& fetch) {
  return r.is_error() && r.error() == Errno::FetchHost && fetch.pending();
}

// Runs the work a synchronous handler left (fs::HostFetch: lookups and
// opens on io_uring, a copy-up's data, a FIFO open's wait) one at a time,
// calling the handler again after each until it finishes. A signal cancels
// the wait; nothing has changed yet, so the call restarts. A copy runs to
// its end (a signal is delivered after it, as after an overlayfs copy-up);
// only the thread's end stops it.
Coro<ErrorOr<int64_t>> fetch_and_retry(const SyscallEntry& entry, SyscallContext& ctx,
                                       std::unique_ptr<fs::HostFetch> fetch) {
  Thread& t = ctx.thread;
  const std::function<bool()> abandon = [&t] { return t.exited || t.must_exit; };
  for (;;) {
    // Named, not temporaries of the co_await (GCC 12 destroys those twice).
    InterruptibleStart<int32_t> start{fetch->run(abandon), fetch->interruptible() ? &t : nullptr};
    int32_t r = co_await start;
    if (r == -ECANCELED || ctx.thread.interrupted) co_return Errno::RestartSys;
    dispatching_thread() = &ctx.thread;
    ErrorOr<int64_t> result = run_sync(entry, ctx, *fetch);
    dispatching_thread() = nullptr;
    if (!waits_for_host(result, *fetch)) co_return result;
  }
}

void run_syscall(Thread& t, uint64_t nr, const uint64_t (&args)[6]) {
  t.in_syscall = true;
  t.interrupted = false;
  t.interrupt = {};
  // Awaitables that suspend while the handler starts register how a signal
  // interrupts them (interrupt.h).
  dispatching_thread() = &t;
  struct Clear {
    ~Clear() { dispatching_thread() = nullptr; }
  } clear;
  const uint64_t start = __builtin_ia32_rdtsc();
  const SyscallEntry* entry = syscall_entry(nr);
  if (entry && entry->sync) {
    SyscallContext ctx{t, nr, {args[0], args[1], args[2], args[3], args[4], args[5]}};
    ctx.start_tsc = start;
    auto fetch = std::make_unique<fs::HostFetch>();
    ErrorOr<int64_t> result = run_sync(*entry, ctx, *fetch);
    if (!waits_for_host(result, *fetch)) {
      complete_syscall(ctx, std::move(result));
      return;
    }
    // The walk left a host lookup to io_uring: run it, then the handler again.
    auto* actx = new SyscallContext(ctx);
    spawn(fetch_and_retry(*entry, *actx, std::move(fetch)), [actx](ErrorOr<int64_t> r) {
      complete_syscall(*actx, std::move(r));
      delete actx;
    });
    if (t.in_syscall && !t.stub_waiter && !t.process().zombie)
      t.process().stub().slot(t.slot_index())->sleep_hint = 1;
    return;
  }
  if (entry && entry->async) {
    // The context lives as long as the coroutine; the frame is on the heap anyway.
    auto* ctx = new SyscallContext{t, nr, {args[0], args[1], args[2], args[3], args[4], args[5]}};
    ctx->start_tsc = start;
    spawn(entry->async(*ctx), [ctx](ErrorOr<int64_t> r) {
      complete_syscall(*ctx, std::move(r));
      delete ctx;
    });
    // Still in flight and not waiting for a host op of the stub's: the
    // handler blocked. Tell the stub to sleep rather than spin; post_reply
    // wakes it either way.
    if (t.in_syscall && !t.stub_waiter && !t.process().zombie)
      t.process().stub().slot(t.slot_index())->sleep_hint = 1;
    return;
  }
  // Unimplemented: the table says which errno (ENOSYS unless it says why not).
  SyscallContext ctx{t, nr, {args[0], args[1], args[2], args[3], args[4], args[5]}};
  ctx.start_tsc = start;
  complete_syscall(ctx, entry ? entry->unimplemented_errno : Errno::NOSYS);
}

}  // namespace

void complete_syscall(SyscallContext& ctx, ErrorOr<int64_t> result) {
  Process& process = ctx.process();
  Sandbox& sandbox = process.sandbox();
  bool restartable = result.is_error() && result.error() == Errno::RestartSys;
  // An interrupted wait may end as a cancelled host operation, reported as
  // a value or as an error.
  if (ctx.thread.interrupted && !result.is_error() && result.value() == -ECANCELED) restartable = true;
  if (ctx.thread.interrupted && result.is_error() && to_int(result.error()) == ECANCELED) restartable = true;
  int64_t value = restartable ? -EINTR : to_guest_result(result);
  ctx.thread.interrupt = {};
  sandbox.count_syscall(ctx.nr, value, __builtin_ia32_rdtsc() - ctx.start_tsc);
  if (sandbox.config().strace == StraceMode::Full) {
    std::string line = "[pid " + std::to_string(ctx.thread.tid()) + "] " + format_syscall(ctx, value) + "\n";
    write_trace(sandbox, line);
  }
  ctx.thread.in_syscall = false;
  if (ctx.thread.must_exit && !ctx.replied && !process.zombie) {
    // Another thread's execve ends this one (end_other_threads).
    exit_thread(ctx.thread);
    ctx.replied = true;
  }
  if (!ctx.replied && !process.zombie) {
    // EPIPE from a write raises SIGPIPE at the writing thread (pipe(7)).
    // rt_sigreturn "returns" the interrupted call's result: no second signal.
    if (value == -EPIPE && !ctx.suppress_sigpipe && ctx.nr != SYS_rt_sigreturn)
      send_signal(process, SIGPIPE, user_siginfo(SIGPIPE, process), &ctx.thread);
    // A pending signal's handler runs when this syscall returns.
    if (!process.zombie) deliver_pending_signal(ctx.thread, value, restartable, ctx.nr);
    // rt_sigsuspend's temporary mask ends with the call, handler or not.
    if (ctx.thread.has_saved_mask) {
      ctx.thread.signal_mask = ctx.thread.saved_mask;
      ctx.thread.has_saved_mask = false;
    }
    if (!process.zombie) {
      moat_slot* slot = process.stub().slot(ctx.thread.slot_index());
      slot->result = value;
      post_reply(slot, MOAT_REPLY_RESULT);
    }
  }
  // Last: a process reaped during its own syscall (its exit) goes now.
  sandbox.release_if_reaped(process);
}

void handle_ring_entry(Process& process, uint32_t slot_index) {
  // Everything in the slot is guest-writable: validate, and read each field once.
  if (slot_index >= MOAT_MAX_THREADS || process.zombie) return;
  Thread* t = process.thread_by_slot(slot_index);
  if (!t) return;
  moat_slot* slot = process.stub().slot(slot_index);
  if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != MOAT_SLOT_STUB_POSTED) return;
  uint32_t kind = slot->request_kind;
  // A thread has at most one request outstanding; anything else is forged.
  bool valid = false;
  if (kind == MOAT_REQ_SYSCALL || kind == MOAT_REQ_FAULT || kind == MOAT_REQ_INTERRUPT)
    valid = t->stub_started && !t->in_syscall;
  if (kind == MOAT_REQ_HELLO) valid = !t->stub_started;
  if (kind == MOAT_REQ_OP_RESULT) valid = static_cast<bool>(t->stub_waiter);
  if (!valid) {
    terminate_process(process, SIGKILL);
    return;
  }
  if (kind == MOAT_REQ_HELLO) t->stub_started = true;
  if (t->must_exit && (kind == MOAT_REQ_SYSCALL || kind == MOAT_REQ_INTERRUPT || kind == MOAT_REQ_FAULT)) {
    exit_thread(*t);  // another thread's execve ends it (end_other_threads)
    return;
  }
  if (kind == MOAT_REQ_SYSCALL) {
    uint64_t nr = slot->nr;
    t->ucontext_off = slot->ucontext_off;
    uint64_t args[6];
    for (int i = 0; i < 6; i++) args[i] = slot->args[i];
    run_syscall(*t, nr, args);
    return;
  }
  if (kind == MOAT_REQ_INTERRUPT) {
    // Guest code was running: deliver what is pending into its context. The
    // stub restores the context as is (rax included).
    t->ucontext_off = slot->ucontext_off;
    if (ucontext_t* uc = process.stub().trapped_context(slot_index, t->ucontext_off)) {
      int64_t rax = uc->uc_mcontext.gregs[REG_RAX];
      deliver_pending_signal(*t, rax);
    }
    if (!process.zombie) post_reply(slot, MOAT_REPLY_RESULT);
    return;
  }
  if (kind == MOAT_REQ_FAULT) {
    t->ucontext_off = slot->ucontext_off;
    int sig = static_cast<int>(slot->nr);
    if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL && sig != SIGTRAP) sig = SIGSEGV;
    handle_fault(*t, sig, static_cast<int>(slot->args[0]), slot->args[1]);
    if (!process.zombie) post_reply(slot, MOAT_REPLY_RESULT);  // the stub resumes the saved context
    return;
  }
  if (kind == MOAT_REQ_HELLO || kind == MOAT_REQ_OP_RESULT) {
    t->stub_result = slot->op_result;
    t->stub_reported = true;
    if (auto waiter = t->stub_waiter) {
      t->stub_waiter = {};
      waiter.resume();
    }
    return;
  }
  terminate_process(process, SIGKILL);
}

}  // namespace moat
