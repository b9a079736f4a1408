// Metadata and directories: stat family, getdents64, readlink, access, statfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <vector>

#include "fs/fd_table.h"
#include "fs/host_fd_file.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

// stat of dirfd + path as fstatat(2) defines it.
ErrorOr<struct stat> stat_at(SyscallContext& ctx, int dirfd, uint64_t path_addr, int flags) {
  Process& p = ctx.process();
  std::string path;
  // Linux 6.11+ accepts a NULL path with AT_EMPTY_PATH.
  if (!(path_addr == 0 && (flags & AT_EMPTY_PATH))) path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  if (path.empty() && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD) {
    auto file = TRY(p.fds().get(dirfd));
    return file->stat();
  }
  fs::Location loc = TRY(fs::resolve_at(p, dirfd, path, flags));
  return loc.node().stat();
}

ErrorOr<int64_t> put_stat(SyscallContext& ctx, uint64_t addr, const ErrorOr<struct stat>& st) {
  if (st.is_error()) return st.error();
  TRY(ctx.mem().write_obj(UserPtr<struct stat>(addr), st.value()));
  return 0;
}

struct statx to_statx(const struct stat& st) {
  struct statx sx {};
  sx.stx_mask = STATX_BASIC_STATS;
  sx.stx_blksize = static_cast<uint32_t>(st.st_blksize);
  sx.stx_nlink = static_cast<uint32_t>(st.st_nlink);
  sx.stx_uid = st.st_uid;
  sx.stx_gid = st.st_gid;
  sx.stx_mode = static_cast<uint16_t>(st.st_mode);
  sx.stx_ino = st.st_ino;
  sx.stx_size = static_cast<uint64_t>(st.st_size);
  sx.stx_blocks = static_cast<uint64_t>(st.st_blocks);
  sx.stx_atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec), 0};
  sx.stx_mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec), 0};
  sx.stx_ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec), 0};
  sx.stx_rdev_major = major(st.st_rdev);
  sx.stx_rdev_minor = minor(st.st_rdev);
  sx.stx_dev_major = major(st.st_dev);
  sx.stx_dev_minor = minor(st.st_dev);
  return sx;
}

ErrorOr<int64_t> do_readlinkat(SyscallContext& ctx, int dirfd, uint64_t path_addr, uint64_t buf, int64_t size) {
  if (size <= 0) return Errno::INVAL;  // do_readlinkat checks bufsiz first
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  std::string target = TRY(fs::readlink_at(ctx.process(), dirfd, path));
  // No NUL is appended; a short buffer truncates silently (readlink(2)).
  size_t n = std::min(target.size(), static_cast<size_t>(size));
  TRY(ctx.mem().write(buf, target.data(), n));
  return static_cast<int64_t>(n);
}

ErrorOr<int64_t> do_faccessat(SyscallContext& ctx, int dirfd, uint64_t path_addr, int mode, int flags) {
  std::string path;
  if (!(path_addr == 0 && (flags & AT_EMPTY_PATH))) path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  TRY(fs::access_at(ctx.process(), dirfd, path, mode, flags));
  return 0;
}

}  // namespace

// Implements Linux stat(2).
ErrorOr<int64_t> sys_stat(SyscallContext& ctx) {
  return put_stat(ctx, ctx.arg(1), stat_at(ctx, AT_FDCWD, ctx.arg(0), 0));
}

// Implements Linux fstat(2).
ErrorOr<int64_t> sys_fstat(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  return put_stat(ctx, ctx.arg(1), file->stat());
}

// Implements Linux lstat(2).
ErrorOr<int64_t> sys_lstat(SyscallContext& ctx) {
  return put_stat(ctx, ctx.arg(1), stat_at(ctx, AT_FDCWD, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
}

// Implements Linux newfstatat(2).
ErrorOr<int64_t> sys_newfstatat(SyscallContext& ctx) {
  int flags = ctx.arg_int(3);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return Errno::INVAL;
  return put_stat(ctx, ctx.arg(2), stat_at(ctx, ctx.arg_int(0), ctx.arg(1), flags));
}

// Implements Linux statx(2).
ErrorOr<int64_t> sys_statx(SyscallContext& ctx) {
  int flags = ctx.arg_int(2);
  auto mask = static_cast<uint32_t>(ctx.arg(3));
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) return Errno::INVAL;
  if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) return Errno::INVAL;
  if (mask & STATX__RESERVED) return Errno::INVAL;
  struct stat st = TRY(stat_at(ctx, ctx.arg_int(0), ctx.arg(1), flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)));
  TRY(ctx.mem().write_obj(UserPtr<struct statx>(ctx.arg(4)), to_statx(st)));
  return 0;
}

// Implements Linux getdents64(2).
ErrorOr<int64_t> sys_getdents64(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  size_t count = std::min<uint64_t>(static_cast<uint32_t>(ctx.arg(2)), 1 << 20);
  std::vector<std::byte> buf(count);
  size_t n = TRY(file->getdents64(buf));
  TRY(ctx.mem().write(ctx.arg(1), buf.data(), n));
  return static_cast<int64_t>(n);
}

// Implements Linux readlink(2).
ErrorOr<int64_t> sys_readlink(SyscallContext& ctx) {
  return do_readlinkat(ctx, AT_FDCWD, ctx.arg(0), ctx.arg(1), static_cast<int32_t>(ctx.arg(2)));
}

// Implements Linux readlinkat(2).
ErrorOr<int64_t> sys_readlinkat(SyscallContext& ctx) {
  return do_readlinkat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), static_cast<int32_t>(ctx.arg(3)));
}

// Implements Linux access(2).
ErrorOr<int64_t> sys_access(SyscallContext& ctx) { return do_faccessat(ctx, AT_FDCWD, ctx.arg(0), ctx.arg_int(1), 0); }

// Implements Linux faccessat(2) (the syscall has no flags argument).
ErrorOr<int64_t> sys_faccessat(SyscallContext& ctx) {
  return do_faccessat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), 0);
}

// Implements Linux faccessat2(2).
ErrorOr<int64_t> sys_faccessat2(SyscallContext& ctx) {
  return do_faccessat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ctx.arg_int(3));
}

// Implements Linux statfs(2).
ErrorOr<int64_t> sys_statfs(SyscallContext& ctx) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), AT_FDCWD, path, 0));
  struct statfs sf = TRY(loc.node().statfs());
  TRY(ctx.mem().write_obj(UserPtr<struct statfs>(ctx.arg(1)), sf));
  return 0;
}

// Implements Linux fstatfs(2).
ErrorOr<int64_t> sys_fstatfs(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  struct statfs sf {};
  if (auto* host = dynamic_cast<fs::HostFdFile*>(file.ptr())) {
    // Stdio and pipes: the host object's own filesystem (devpts, pipefs...).
    if (::fstatfs(host->host_fd(), &sf) < 0) return last_host_errno();
  } else {
    sf = TRY(file->node().statfs());
  }
  TRY(ctx.mem().write_obj(UserPtr<struct statfs>(ctx.arg(1)), sf));
  return 0;
}

}  // namespace moat
