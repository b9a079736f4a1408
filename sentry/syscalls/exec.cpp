// execve and execveat: the sentry's loader replaces the process image inside
// the same stub process (never a host execve: the stub's handler and filter
// must survive, DESIGN.md "Known hard parts").

#include <asm/prctl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/ops.h"
#include "sentry/kernel/exec.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/robust_list.h"
#include "sentry/kernel/timers.h"
#include "sentry/kernel/vfork.h"
#include "sentry/loader/stack.h"
#include "sentry/platform/stub_ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// Linux's limits on what execve copies (fs/exec.c): one string at most
// MAX_ARG_STRLEN, all of them within a quarter of the stack limit.
ErrorOr<std::vector<std::string>> read_string_array(const UserMemory& mem, uint64_t addr, size_t& total) {
  std::vector<std::string> out;
  if (addr == 0) return out;  // Linux treats a NULL argv or envp as empty
  for (uint64_t i = 0;; i++) {
    uint64_t ptr = TRY(mem.read_obj(UserPtr<uint64_t>(addr + i * 8)));
    if (ptr == 0) break;
    auto s = mem.read_string(ptr, loader::kMaxArgStrlen - 1);
    if (s.is_error()) return s.error() == Errno::NAMETOOLONG ? Errno::TooBig : s.error();
    total += s.value().size() + 1 + 8;
    if (total > loader::kMaxArgBytes) return Errno::TooBig;
    out.push_back(s.release_value());
  }
  return out;
}

// The process-wide state execve resets (man 2 execve, "effects on process attributes").
void reset_process_state(Thread& t, const std::string& path) {
  Process& p = t.process();
  p.fds().close_on_exec();
  for (GuestSigaction& sa : p.sigactions) {
    if (sa.handler != reinterpret_cast<uint64_t>(SIG_IGN)) sa = GuestSigaction{};
  }
  t.altstack_sp = t.altstack_size = 0;
  t.altstack_flags = 0;
  delete_posix_timers(p);
  p.comm = path.substr(path.rfind('/') + 1);
  t.name = p.comm.substr(0, 15);
  t.clear_child_tid = 0;
  t.robust_list = t.robust_list_len = 0;
  t.rseq = 0;
  t.fs_base = t.gs_base = 0;
}

// The fresh register state of a new program, as the kernel's start_thread
// leaves it; the FPU state goes back to its initial state too (a null fpregs
// makes rt_sigreturn reset it).
void set_entry_registers(ucontext_t* uc, uint64_t rip, uint64_t rsp) {
  greg_t* g = uc->uc_mcontext.gregs;
  for (int r : {REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RDI, REG_RSI, REG_RBP,
                REG_RBX, REG_RDX, REG_RAX, REG_RCX})
    g[r] = 0;
  g[REG_RIP] = static_cast<greg_t>(rip);
  g[REG_RSP] = static_cast<greg_t>(rsp);
  g[REG_EFL] = 0x202;
  uc->uc_mcontext.fpregs = nullptr;
}

Coro<ErrorOr<int64_t>> do_execve(SyscallContext& ctx, int dirfd, uint64_t path_addr, uint64_t argv_addr,
                                 uint64_t envp_addr, int flags) {
  Thread& t = ctx.thread;
  Process& p = ctx.process();
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) co_return Errno::INVAL;
  CO_TRY_ASSIGN(std::string path, ctx.mem().read_string(path_addr, PATH_MAX - 1));
  if ((flags & AT_SYMLINK_NOFOLLOW) && !path.empty()) {
    // execveat(2): a symbolic link as the final component is ELOOP.
    auto last = fs::resolve_at(p, dirfd, path, AT_SYMLINK_NOFOLLOW);
    if (!last.is_error() && last.value().node().is_symlink()) co_return Errno::LOOP;
  }
  if (path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) co_return Errno::NOENT;
    CO_TRY_ASSIGN(RefPtr<fs::File> file, p.fds().get(dirfd));
    path = file->path();
  } else if (path[0] != '/' && dirfd != AT_FDCWD) {
    CO_TRY_ASSIGN(RefPtr<fs::File> dir, p.fds().get(dirfd));
    path = dir->path() + "/" + path;
  }
  size_t total = 0;
  CO_TRY_ASSIGN(std::vector<std::string> argv, read_string_array(ctx.mem(), argv_addr, total));
  CO_TRY_ASSIGN(std::vector<std::string> envp, read_string_array(ctx.mem(), envp_addr, total));
  ucontext_t* uc = p.stub().trapped_context(t.slot_index(), t.ucontext_off);
  if (!uc) co_return Errno::FAULT;

  // Everything that can fail with an error for the caller fails here.
  CO_TRY_ASSIGN(ExecPlan plan, prepare_exec(p, path, std::move(argv), std::move(envp)));

  // The point of no return: the old image goes. A failure from here on is
  // fatal to the process, as in Linux (SIGSEGV).
  auto fatal = [&p](Errno e) -> ErrorOr<int64_t> {
    if (getenv("MOAT_DEBUG")) fprintf(stderr, "moat: execve in pid %d failed past the point of no return: %s\n", p.pid(), errno_name(e));
    terminate_process(p, SIGSEGV);
    return Errno::FAULT;
  };
  copy_back_vfork_memory(p);
  if (p.live_threads() > 1) {
    auto ended = co_await end_other_threads(t);
    if (ended.is_error()) co_return fatal(ended.error());
  }
  futex_exec(t);  // the old image's robust list (robust_list.h)
  auto unmapped = co_await unmap_guest(t);
  if (unmapped.is_error()) co_return fatal(unmapped.error());
  auto entry = co_await load_plan(t, plan);
  if (entry.is_error()) co_return fatal(entry.error());
  int64_t r = co_await stub_syscall(t, SYS_arch_prctl, ARCH_SET_FS, 0);
  if (r < 0) co_return fatal(static_cast<Errno>(-r));
  reset_process_state(t, plan.main.path);
  set_entry_registers(uc, entry.value().rip, entry.value().rsp);
  // A vfork parent waits for this moment (or the child's exit).
  p.vfork_released = true;
  p.vfork_done.wake_all();
  p.has_execed = true;
  co_return 0;
}

}  // namespace

// Implements Linux execve(2).
Coro<ErrorOr<int64_t>> sys_execve(SyscallContext& ctx) {
  return do_execve(ctx, AT_FDCWD, ctx.arg(0), ctx.arg(1), ctx.arg(2), 0);
}

// Implements Linux execveat(2).
Coro<ErrorOr<int64_t>> sys_execveat(SyscallContext& ctx) {
  return do_execve(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg_int(4));
}

}  // namespace moat
