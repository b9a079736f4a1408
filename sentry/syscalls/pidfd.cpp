// pidfd_open(2) and pidfd_getfd(2) (pidfd_send_signal is in kill.cpp,
// waitid(P_PIDFD) in fork.cpp).

#include <fcntl.h>

#include "fs/fd_table.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {
constexpr int kPidfdNonblock = O_NONBLOCK;  // PIDFD_NONBLOCK
}

// Implements Linux pidfd_open(2) for processes (not PIDFD_THREAD).
ErrorOr<int64_t> sys_pidfd_open(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  unsigned flags = static_cast<unsigned>(ctx.arg(1));
  if (flags & ~kPidfdNonblock || pid <= 0) return Errno::INVAL;
  Process* target = ctx.sandbox().find_process(pid);
  if (!target) {
    // A thread's tid names no process: EINVAL, as for a non-leader in Linux.
    for (Process* p : ctx.sandbox().processes())
      if (p->thread_by_tid(pid)) return Errno::INVAL;
    return Errno::SRCH;
  }
  RefPtr<fs::File> file = TRY(PidFdFile::create(*target, static_cast<int>(flags)));
  return TRY(ctx.process().fds().allocate(file, true, 0, fs::nofile_limit(ctx.process())));
}

// Implements Linux pidfd_getfd(2): a duplicate of another process's fd.
ErrorOr<int64_t> sys_pidfd_getfd(SyscallContext& ctx) {
  if (ctx.arg(2) != 0) return Errno::INVAL;
  pid_t pid = TRY(pidfd_pid(ctx.process(), ctx.arg_int(0)));
  Process* target = ctx.sandbox().find_process(pid);
  if (!target || target->zombie) return Errno::SRCH;
  RefPtr<fs::File> file = TRY(target->fds().get(ctx.arg_int(1)));
  return TRY(ctx.process().fds().allocate(file, true, 0, fs::nofile_limit(ctx.process())));
}

}  // namespace moat
