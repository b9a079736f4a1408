// Opening, closing and duplicating file descriptors; fcntl, ioctl, pipes.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "fs/fd_table.h"
#include "fs/host_fd_file.h"
#include "fs/inotify.h"
#include "fs/memfd.h"
#include "fs/ops.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

ErrorOr<int64_t> do_openat(SyscallContext& ctx, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  Process& p = ctx.process();
  RefPtr<fs::File> file = TRY(fs::open_path(p, dirfd, path, flags, mode));
  return TRY(p.fds().allocate(std::move(file), flags & O_CLOEXEC, 0, fs::nofile_limit(p)));
}

ErrorOr<int64_t> do_dup3(SyscallContext& ctx, int oldfd, int newfd, bool cloexec) {
  Process& p = ctx.process();
  auto file = TRY(p.fds().get(oldfd));
  TRY(p.fds().install_at(newfd, std::move(file), cloexec, fs::nofile_limit(p)));
  return newfd;
}

}  // namespace

// Implements Linux open(2).
ErrorOr<int64_t> sys_open(SyscallContext& ctx) {
  return do_openat(ctx, AT_FDCWD, ctx.arg(0), ctx.arg_int(1), static_cast<mode_t>(ctx.arg(2)));
}

// Implements Linux openat(2).
ErrorOr<int64_t> sys_openat(SyscallContext& ctx) {
  return do_openat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), static_cast<mode_t>(ctx.arg(3)));
}

// Implements Linux openat2(2).
ErrorOr<int64_t> sys_openat2(SyscallContext& ctx) {
  // copy_struct_from_user(): a smaller struct than version 0 is EINVAL, a
  // larger one must be zero past what the kernel knows (E2BIG).
  constexpr size_t kHowSize = sizeof(fs::OpenHow);
  size_t size = ctx.arg(3);
  if (size < kHowSize) return Errno::INVAL;
  if (size > 4096) return Errno::TooBig;
  fs::OpenHow how;
  TRY(ctx.mem().read(ctx.arg(2), &how, kHowSize));
  for (size_t off = kHowSize; off < size;) {
    std::byte rest[256];
    size_t n = std::min(sizeof rest, size - off);
    TRY(ctx.mem().read(ctx.arg(2) + off, rest, n));
    for (size_t i = 0; i < n; ++i)
      if (rest[i] != std::byte{0}) return Errno::TooBig;
    off += n;
  }
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(1)));
  Process& p = ctx.process();
  RefPtr<fs::File> file = TRY(fs::open_path2(p, ctx.arg_int(0), path, how));
  return TRY(p.fds().allocate(std::move(file), how.flags & O_CLOEXEC, 0, fs::nofile_limit(p)));
}

// Implements Linux creat(2).
ErrorOr<int64_t> sys_creat(SyscallContext& ctx) {
  return do_openat(ctx, AT_FDCWD, ctx.arg(0), O_CREAT | O_WRONLY | O_TRUNC, static_cast<mode_t>(ctx.arg(1)));
}

// Implements Linux close(2).
ErrorOr<int64_t> sys_close(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().remove(ctx.arg_int(0)));
  return 0;  // the File is released here, outside the table's lock
}

// Implements Linux dup(2).
ErrorOr<int64_t> sys_dup(SyscallContext& ctx) {
  Process& p = ctx.process();
  auto file = TRY(p.fds().get(ctx.arg_int(0)));
  return TRY(p.fds().allocate(std::move(file), false, 0, fs::nofile_limit(p)));
}

// Implements Linux dup2(2).
ErrorOr<int64_t> sys_dup2(SyscallContext& ctx) {
  int oldfd = ctx.arg_int(0), newfd = ctx.arg_int(1);
  if (oldfd == newfd) {
    TRY(ctx.process().fds().get(oldfd));
    return newfd;
  }
  return do_dup3(ctx, oldfd, newfd, false);
}

// Implements Linux dup3(2).
ErrorOr<int64_t> sys_dup3(SyscallContext& ctx) {
  int oldfd = ctx.arg_int(0), newfd = ctx.arg_int(1), flags = ctx.arg_int(2);
  if (flags & ~O_CLOEXEC) return Errno::INVAL;
  if (oldfd == newfd) return Errno::INVAL;
  return do_dup3(ctx, oldfd, newfd, flags & O_CLOEXEC);
}

namespace {

// F_SETOWN's target must exist (f_setown: ESRCH); 0 clears the owner.
ErrorOr<void> check_owner(Sandbox& sandbox, const fs::File::Owner& o) {
  if (o.id == 0) return {};
  for (Process* q : sandbox.processes()) {
    if (q->zombie) continue;
    if (o.type == F_OWNER_PGRP ? q->pgid == o.id : o.type == F_OWNER_PID ? q->pid() == o.id : q->thread_by_tid(o.id) != nullptr)
      return {};
  }
  return Errno::SRCH;
}

// What a dnotify event sends its owner (send_sigio_to_task): SIGIO from the
// kernel, or the F_SETSIG signal with the fd and POLL_MSG.
void send_sigio(Sandbox& sandbox, pid_t owner, int sig, int fd) {
  Process* target = sandbox.find_process(owner);
  if (!target || target->zombie) return;
  siginfo_t info{};
  if (sig == 0) {
    info.si_signo = SIGIO;
    info.si_code = SI_KERNEL;
  } else {
    info.si_signo = sig;
    info.si_code = POLL_MSG;
    info.si_fd = fd;
    info.si_band = POLLIN | POLLRDNORM | POLLMSG;
  }
  send_signal(*target, info.si_signo, info);
}

}  // namespace

// Implements Linux fcntl(2), but for the record-lock commands: the table
// sends fcntl to sys_fcntl_locks (file_ops.cpp), which serves those (F_SETLKW
// waits) and hands the rest here.
ErrorOr<int64_t> sys_fcntl(SyscallContext& ctx) {
  Process& p = ctx.process();
  int fd = ctx.arg_int(0), cmd = ctx.arg_int(1);
  uint64_t arg = ctx.arg(2);
  auto file = TRY(p.fds().get(fd));
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      auto min = static_cast<int64_t>(static_cast<int32_t>(arg));
      uint64_t limit = fs::nofile_limit(p);
      if (min < 0 || static_cast<uint64_t>(min) >= limit) return Errno::INVAL;
      return TRY(p.fds().allocate(std::move(file), cmd == F_DUPFD_CLOEXEC, static_cast<int>(min), limit));
    }
    case F_GETFD: return TRY(p.fds().cloexec(fd)) ? FD_CLOEXEC : 0;
    case F_SETFD: TRY(p.fds().set_cloexec(fd, arg & FD_CLOEXEC)); return 0;
    case F_GETFL: return file->flags();
    default: break;
  }
  // Everything below needs a real open file (O_PATH fds: EBADF, fcntl(2)).
  if (file->flags() & O_PATH) return Errno::BADF;
  switch (cmd) {
    case F_SETFL: file->set_status_flags(static_cast<int>(arg)); return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ: {
      int host = file->pipe_host_fd();
      if (host < 0) return Errno::BADF;
      int r = ::fcntl(host, cmd, static_cast<int>(arg));
      if (r < 0) return last_host_errno();
      return r;
    }
    case F_GETOWN: {
      fs::File::Owner o = file->owner();
      return o.type == F_OWNER_PGRP ? -o.id : o.id;
    }
    case F_SETOWN: {
      auto who = static_cast<pid_t>(static_cast<int32_t>(arg));
      fs::File::Owner o = who < 0 ? fs::File::Owner{F_OWNER_PGRP, -who} : fs::File::Owner{F_OWNER_PID, who};
      TRY(check_owner(ctx.sandbox(), o));
      file->set_owner(o);
      return 0;
    }
    case F_GETOWN_EX: {
      fs::File::Owner o = file->owner();
      f_owner_ex ex{static_cast<__pid_type>(o.type), o.id};
      TRY(ctx.mem().write(arg, &ex, sizeof ex));
      return 0;
    }
    case F_SETOWN_EX: {
      auto ex = TRY(ctx.mem().read_obj(UserPtr<f_owner_ex>(arg)));
      if (ex.type != F_OWNER_TID && ex.type != F_OWNER_PID && ex.type != F_OWNER_PGRP) return Errno::INVAL;
      fs::File::Owner o{ex.type, ex.pid};
      TRY(check_owner(ctx.sandbox(), o));
      file->set_owner(o);
      return 0;
    }
    case F_GETSIG: return file->owner_signal();
    case F_SETSIG:
      if (arg > 64) return Errno::INVAL;  // valid_signal
      file->set_owner_signal(static_cast<int>(arg));
      return 0;
    case F_NOTIFY: {
      // dnotify makes the caller the owner (fcntl_dirnotify's __f_setown).
      Sandbox* sandbox = &ctx.sandbox();
      file->set_owner(fs::File::Owner{F_OWNER_PID, p.pid()});
      pid_t owner = p.pid();
      int sig = file->owner_signal();
      TRY(fs::set_dnotify(*file, &p.fds(), arg, [sandbox, owner, sig, fd] { send_sigio(*sandbox, owner, sig, fd); }));
      return 0;
    }
    case F_GET_SEALS:
    case F_ADD_SEALS: return fs::file_seals(*file, cmd, arg);
    default: return Errno::INVAL;
  }
}

// Implements Linux ioctl(2).
ErrorOr<int64_t> sys_ioctl(SyscallContext& ctx) {
  Process& p = ctx.process();
  int fd = ctx.arg_int(0);
  auto request = static_cast<unsigned>(ctx.arg(1));
  uint64_t arg = ctx.arg(2);
  auto file = TRY(p.fds().get(fd));
  if (file->flags() & O_PATH) return Errno::BADF;
  switch (request) {
    case FIOCLEX: TRY(p.fds().set_cloexec(fd, true)); return 0;
    case FIONCLEX: TRY(p.fds().set_cloexec(fd, false)); return 0;
    case FIONBIO: {
      int on = TRY(ctx.mem().read_obj(UserPtr<int>(arg)));
      int flags = file->flags();
      file->set_status_flags(on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
      return 0;
    }
    case FIOASYNC: {
      TRY(ctx.mem().read_obj(UserPtr<int>(arg)));
      return 0;  // FIXME: SIGIO delivery
    }
    default: return file->ioctl(p, request, arg);
  }
}

namespace {
ErrorOr<int64_t> do_pipe2(SyscallContext& ctx, uint64_t addr, int flags) {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return Errno::INVAL;
  Process& p = ctx.process();
  auto [rf, wf] = TRY(fs::create_pipe(flags));
  uint64_t limit = fs::nofile_limit(p);
  bool cloexec = flags & O_CLOEXEC;
  int rfd = TRY(p.fds().allocate(rf, cloexec, 0, limit));
  auto wfd = p.fds().allocate(wf, cloexec, 0, limit);
  if (wfd.is_error()) {
    (void)p.fds().remove(rfd);
    return wfd.error();
  }
  int fds[2] = {rfd, wfd.value()};
  if (auto w = ctx.mem().write(addr, fds, sizeof fds); w.is_error()) {
    (void)p.fds().remove(fds[0]);
    (void)p.fds().remove(fds[1]);
    return w.error();
  }
  return 0;
}
}  // namespace

// Implements Linux pipe(2).
ErrorOr<int64_t> sys_pipe(SyscallContext& ctx) { return do_pipe2(ctx, ctx.arg(0), 0); }

// Implements Linux pipe2(2).
ErrorOr<int64_t> sys_pipe2(SyscallContext& ctx) { return do_pipe2(ctx, ctx.arg(0), ctx.arg_int(1)); }

}  // namespace moat
