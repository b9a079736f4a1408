// File operations beyond open, read and write: link, mknod, the utime
// family, fallocate, the sync family, flock and fcntl's record locks.

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/host_fd_file.h"
#include "fs/host_fs.h"
#include "fs/inotify.h"
#include "fs/locks.h"
#include "fs/ops.h"
#include "sentry/io/uring.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// The file behind fd for an operation that needs an open file: O_PATH
// descriptors are EBADF (fdget() skips them).
ErrorOr<RefPtr<fs::File>> open_file(SyscallContext& ctx, int fd) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(fd));
  if (file->flags() & O_PATH) return Errno::BADF;
  return file;
}

ErrorOr<int64_t> do_linkat(SyscallContext& ctx, int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath,
                           int flags) {
  std::string from = TRY(fs::read_user_path(ctx.mem(), oldpath));
  std::string to = TRY(fs::read_user_path(ctx.mem(), newpath));
  TRY(fs::link_at(ctx.process(), olddirfd, from, newdirfd, to, flags));
  return 0;
}

ErrorOr<int64_t> do_mknodat(SyscallContext& ctx, int dirfd, uint64_t path_addr, mode_t mode, uint64_t dev) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  TRY(fs::mknod_at(ctx.process(), dirfd, path, mode, static_cast<dev_t>(static_cast<uint32_t>(dev))));
  return 0;
}

constexpr struct timespec kNow{0, UTIME_NOW};

bool valid_nsec(long nsec) { return (nsec >= 0 && nsec <= 999'999'999) || nsec == UTIME_NOW || nsec == UTIME_OMIT; }

// do_utimes(): times (null: both now) on dirfd + path, or on the open file
// dirfd itself when path_addr is null (futimens).
ErrorOr<int64_t> do_utimes(SyscallContext& ctx, int dirfd, uint64_t path_addr, const struct timespec* times,
                           int flags) {
  struct timespec atime = times ? times[0] : kNow, mtime = times ? times[1] : kNow;
  fs::Caller caller = fs::Caller::of(ctx.process());
  if (path_addr == 0 && dirfd != AT_FDCWD) {
    if (flags) return Errno::INVAL;
    RefPtr<fs::File> file = TRY(open_file(ctx, dirfd));
    if (!valid_nsec(atime.tv_nsec) || !valid_nsec(mtime.tv_nsec)) return Errno::INVAL;
    TRY(file->node().set_times(caller, atime, mtime));
    fs::notify_change(file->location(), IN_ATTRIB);
    return 0;
  }
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno::INVAL;
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), dirfd, path, flags));
  if (!valid_nsec(atime.tv_nsec) || !valid_nsec(mtime.tv_nsec)) return Errno::INVAL;
  TRY(loc.node().set_times(caller, atime, mtime));
  fs::notify_change(loc, IN_ATTRIB);
  return 0;
}

// utimes(2) and futimesat(2): microsecond timevals, null for now.
ErrorOr<int64_t> do_futimesat(SyscallContext& ctx, int dirfd, uint64_t path_addr, uint64_t tv_addr) {
  if (tv_addr == 0) return do_utimes(ctx, dirfd, path_addr, nullptr, 0);
  struct timeval tv[2];
  TRY(ctx.mem().read(tv_addr, tv, sizeof tv));
  for (const auto& t : tv)
    if (t.tv_usec < 0 || t.tv_usec >= 1'000'000) return Errno::INVAL;
  struct timespec ts[2] = {{tv[0].tv_sec, tv[0].tv_usec * 1000}, {tv[1].tv_sec, tv[1].tv_usec * 1000}};
  return do_utimes(ctx, dirfd, path_addr, ts, 0);
}

// fsync and fdatasync, with IORING_OP_FSYNC: a host file behind stdio is
// synced on the host (EINVAL for pipes and ttys), host files and
// directories of a hostfs through a fd of theirs; the sandbox's own files
// have nothing to write back.
Coro<ErrorOr<int64_t>> do_fsync(SyscallContext& ctx, int fd, bool datasync) {
  CO_TRY_ASSIGN(RefPtr<fs::File> file, open_file(ctx, fd));
  if (auto* host = dynamic_cast<fs::HostFile*>(file.ptr())) {
    CO_TRY(co_await host->fsync(datasync));
    co_return int64_t{0};
  }
  UniqueFd own;
  int host_fd = -1;
  if (auto* stdio = dynamic_cast<fs::HostFdFile*>(file.ptr())) {
    host_fd = stdio->host_fd();
    datasync = true;
  } else {
    CO_TRY_ASSIGN(own, file->node().fsync_fd());
    host_fd = own.get();
  }
  if (host_fd < 0) co_return int64_t{0};
  unsigned flags = datasync ? IORING_FSYNC_DATASYNC : 0;
  int32_t r = co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_fsync(s, host_fd, flags); });
  if (r < 0) co_return errno_from_host(-r);
  co_return int64_t{0};
}

bool is_lock_cmd(int cmd) {
  switch (cmd) {
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: return true;
    default: return false;
  }
}

// flock_to_posix_lock(): the byte range a struct flock names.
ErrorOr<fs::LockRange> lock_range(const fs::File& file, const struct flock& fl) {
  int64_t base;
  switch (fl.l_whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = file.position(); break;
    case SEEK_END: base = TRY(file.stat()).st_size; break;
    default: return Errno::INVAL;
  }
  int64_t start;
  if (__builtin_add_overflow(base, static_cast<int64_t>(fl.l_start), &start)) return Errno::OVERFLOW_;
  if (start < 0) return Errno::INVAL;
  fs::LockRange r{fl.l_type, start, fs::kLockToEof};
  if (fl.l_len > 0) {
    if (fl.l_len - 1 > fs::kLockToEof - start) return Errno::OVERFLOW_;
    r.end = start + fl.l_len - 1;
  } else if (fl.l_len < 0) {
    if (start + fl.l_len < 0) return Errno::INVAL;
    r.end = start - 1;
    r.start = start + fl.l_len;
  }
  return r;
}

Coro<ErrorOr<int64_t>> do_record_lock(SyscallContext& ctx, RefPtr<fs::File> file, int cmd, uint64_t addr) {
  CO_TRY_ASSIGN(struct flock fl, ctx.mem().read_obj(UserPtr<struct flock>(addr)));
  bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl.l_pid != 0) co_return Errno::INVAL;
  bool get = cmd == F_GETLK || cmd == F_OFD_GETLK;
  if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && (get || fl.l_type != F_UNLCK)) co_return Errno::INVAL;
  CO_TRY_ASSIGN(fs::LockRange range, lock_range(*file, fl));
  Process& p = ctx.process();
  // POSIX locks belong to the fd table (Linux: the files_struct), OFD locks
  // to the open file description.
  const void* owner = ofd ? static_cast<const void*>(file.ptr()) : static_cast<const void*>(&p.fds());
  if (get) {
    CO_TRY_ASSIGN(auto conflict, fs::test_record_lock(*file, owner, range));
    if (!conflict) {
      fl.l_type = F_UNLCK;
    } else {
      fl.l_type = conflict->range.type;
      fl.l_whence = SEEK_SET;
      fl.l_start = conflict->range.start;
      fl.l_len = conflict->range.end == fs::kLockToEof ? 0 : conflict->range.end - conflict->range.start + 1;
      fl.l_pid = conflict->pid;
    }
    CO_TRY(ctx.mem().write_obj(UserPtr<struct flock>(addr), fl));
    co_return 0;
  }
  if (fl.l_type == F_RDLCK && !file->readable()) co_return Errno::BADF;
  if (fl.l_type == F_WRLCK && !file->writable()) co_return Errno::BADF;
  bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
  CO_TRY(co_await fs::set_record_lock(ctx.thread, *file, ofd ? fs::LockOwnerKind::Ofd : fs::LockOwnerKind::Posix,
                                      owner, p.pid(), range, wait));
  co_return 0;
}

}  // namespace

// Implements Linux link(2).
ErrorOr<int64_t> sys_link(SyscallContext& ctx) { return do_linkat(ctx, AT_FDCWD, ctx.arg(0), AT_FDCWD, ctx.arg(1), 0); }

// Implements Linux linkat(2).
ErrorOr<int64_t> sys_linkat(SyscallContext& ctx) {
  return do_linkat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ctx.arg(3), ctx.arg_int(4));
}

// Implements Linux mknod(2).
ErrorOr<int64_t> sys_mknod(SyscallContext& ctx) {
  return do_mknodat(ctx, AT_FDCWD, ctx.arg(0), static_cast<mode_t>(ctx.arg(1)), ctx.arg(2));
}

// Implements Linux mknodat(2).
ErrorOr<int64_t> sys_mknodat(SyscallContext& ctx) {
  return do_mknodat(ctx, ctx.arg_int(0), ctx.arg(1), static_cast<mode_t>(ctx.arg(2)), ctx.arg(3));
}

// Implements Linux utimensat(2).
ErrorOr<int64_t> sys_utimensat(SyscallContext& ctx) {
  uint64_t times_addr = ctx.arg(2);
  if (times_addr == 0) return do_utimes(ctx, ctx.arg_int(0), ctx.arg(1), nullptr, ctx.arg_int(3));
  struct timespec ts[2];
  TRY(ctx.mem().read(times_addr, ts, sizeof ts));
  // Nothing to change: not even the path is looked at.
  if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) return 0;
  return do_utimes(ctx, ctx.arg_int(0), ctx.arg(1), ts, ctx.arg_int(3));
}

// Implements Linux utimes(2).
ErrorOr<int64_t> sys_utimes(SyscallContext& ctx) { return do_futimesat(ctx, AT_FDCWD, ctx.arg(0), ctx.arg(1)); }

// Implements Linux futimesat(2).
ErrorOr<int64_t> sys_futimesat(SyscallContext& ctx) {
  return do_futimesat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2));
}

// Implements Linux utime(2).
ErrorOr<int64_t> sys_utime(SyscallContext& ctx) {
  uint64_t buf = ctx.arg(1);
  if (buf == 0) return do_utimes(ctx, AT_FDCWD, ctx.arg(0), nullptr, 0);
  struct utimbuf ub;
  TRY(ctx.mem().read(buf, &ub, sizeof ub));
  struct timespec ts[2] = {{ub.actime, 0}, {ub.modtime, 0}};
  return do_utimes(ctx, AT_FDCWD, ctx.arg(0), ts, 0);
}

// Implements Linux fallocate(2), in the order of vfs_fallocate's checks.
ErrorOr<int64_t> sys_fallocate(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(open_file(ctx, ctx.arg_int(0)));
  int mode = ctx.arg_int(1);
  auto offset = static_cast<int64_t>(ctx.arg(2)), len = static_cast<int64_t>(ctx.arg(3));
  if (offset < 0 || len <= 0) return Errno::INVAL;
  if (mode & ~0xff) return Errno::NOTSUP;  // beyond FALLOC_FL_SUPPORTED_MASK
  if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) return Errno::NOTSUP;
  if (!file->writable()) return Errno::BADF;
  struct stat st = TRY(file->stat());
  if (S_ISFIFO(st.st_mode)) return Errno::SPIPE;
  if (S_ISDIR(st.st_mode)) return Errno::ISDIR;
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return Errno::NODEV;
  int64_t end;
  if (__builtin_add_overflow(offset, len, &end)) return Errno::FBIG;
  TRY(file->node().allocate(mode, static_cast<uint64_t>(offset), static_cast<uint64_t>(len)));
  return 0;
}

// Implements Linux fsync(2).
Coro<ErrorOr<int64_t>> sys_fsync(SyscallContext& ctx) { co_return co_await do_fsync(ctx, ctx.arg_int(0), false); }

// Implements Linux fdatasync(2).
Coro<ErrorOr<int64_t>> sys_fdatasync(SyscallContext& ctx) { co_return co_await do_fsync(ctx, ctx.arg_int(0), true); }

// Implements Linux syncfs(2): the sandbox's filesystems live in memory or
// are read-only; there is nothing to write back.
ErrorOr<int64_t> sys_syncfs(SyscallContext& ctx) {
  TRY(open_file(ctx, ctx.arg_int(0)));
  return 0;
}

// Implements Linux sync(2).
ErrorOr<int64_t> sys_sync(SyscallContext&) { return 0; }

// Implements Linux sync_file_range(2).
ErrorOr<int64_t> sys_sync_file_range(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(open_file(ctx, ctx.arg_int(0)));
  auto offset = static_cast<int64_t>(ctx.arg(1)), nbytes = static_cast<int64_t>(ctx.arg(2));
  auto flags = static_cast<unsigned>(ctx.arg(3));
  if (flags & ~(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)) return Errno::INVAL;
  int64_t end;
  if (offset < 0 || __builtin_add_overflow(offset, nbytes, &end) || end < 0 || end < offset) return Errno::INVAL;
  mode_t mode = TRY(file->stat()).st_mode;
  if (!S_ISREG(mode) && !S_ISBLK(mode) && !S_ISDIR(mode) && !S_ISLNK(mode)) return Errno::SPIPE;
  return 0;
}

// Implements Linux flock(2).
Coro<ErrorOr<int64_t>> sys_flock(SyscallContext& ctx) {
  int op = ctx.arg_int(1);
  // LOCK_MAND never worked; Linux ignores it (with a warning).
  if (op & LOCK_MAND) co_return 0;
  int cmd = op & ~LOCK_NB;
  if (cmd != LOCK_SH && cmd != LOCK_EX && cmd != LOCK_UN) co_return Errno::INVAL;
  CO_TRY_ASSIGN(RefPtr<fs::File> file, open_file(ctx, ctx.arg_int(0)));
  CO_TRY(co_await fs::flock_file(ctx.thread, *file, op));
  co_return 0;
}

// Implements Linux fcntl(2): the record-lock commands here (F_SETLKW
// waits), everything else in sys_fcntl (open.cpp).
Coro<ErrorOr<int64_t>> sys_fcntl_locks(SyscallContext& ctx) {
  int cmd = ctx.arg_int(1);
  if (!is_lock_cmd(cmd)) co_return sys_fcntl(ctx);
  CO_TRY_ASSIGN(RefPtr<fs::File> file, open_file(ctx, ctx.arg_int(0)));
  co_return co_await do_record_lock(ctx, std::move(file), cmd, ctx.arg(2));
}

}  // namespace moat
