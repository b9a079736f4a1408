// Working directory, umask and namespace operations (mkdir, unlink, rename).
#include <fcntl.h>
#include <linux/fs.h>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

ErrorOr<int64_t> do_mkdirat(SyscallContext& ctx, int dirfd, uint64_t path_addr, mode_t mode) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  TRY(fs::mkdir_at(ctx.process(), dirfd, path, mode));
  return 0;
}

ErrorOr<int64_t> do_symlinkat(SyscallContext& ctx, uint64_t target_addr, int dirfd, uint64_t path_addr) {
  std::string target = TRY(fs::read_user_path(ctx.mem(), target_addr));
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  TRY(fs::symlink_at(ctx.process(), target, dirfd, path));
  return 0;
}

ErrorOr<int64_t> do_unlinkat(SyscallContext& ctx, int dirfd, uint64_t path_addr, int flags) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  TRY(fs::unlink_at(ctx.process(), dirfd, path, flags));
  return 0;
}

ErrorOr<int64_t> do_renameat2(SyscallContext& ctx, int olddirfd, uint64_t oldpath, int newdirfd, uint64_t newpath,
                              unsigned flags) {
  std::string from = TRY(fs::read_user_path(ctx.mem(), oldpath));
  std::string to = TRY(fs::read_user_path(ctx.mem(), newpath));
  TRY(fs::rename_at(ctx.process(), olddirfd, from, newdirfd, to, flags));
  return 0;
}

}  // namespace

// Implements Linux getcwd(2): returns the length including the NUL.
ErrorOr<int64_t> sys_getcwd(SyscallContext& ctx) {
  bool removed = false;
  std::string cwd = ctx.process().fs().cwd().current(&removed).path();
  if (removed) return Errno::NOENT;  // d_unlinked(pwd): sys_getcwd gives ENOENT
  // The path from the process's root (chroot(2)); one outside it is
  // "(unreachable)" as in Linux's getcwd.
  std::string root = ctx.process().fs().root().current().path();
  if (root != "/") {
    if (cwd == root) cwd = "/";
    else if (cwd.size() > root.size() && cwd.compare(0, root.size(), root) == 0 && cwd[root.size()] == '/')
      cwd = cwd.substr(root.size());
    else
      cwd = "(unreachable)" + cwd;
  }
  uint64_t size = ctx.arg(1);
  if (size < cwd.size() + 1) return Errno::RANGE;
  TRY(ctx.mem().write(ctx.arg(0), cwd.c_str(), cwd.size() + 1));
  return static_cast<int64_t>(cwd.size() + 1);
}

// Implements Linux chdir(2).
ErrorOr<int64_t> sys_chdir(SyscallContext& ctx) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), AT_FDCWD, path, 0));
  TRY(fs::chdir_to(ctx.process(), std::move(loc)));
  return 0;
}

// Implements Linux fchdir(2).
ErrorOr<int64_t> sys_fchdir(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  TRY(fs::chdir_to(ctx.process(), file->location()));
  return 0;
}

// Implements Linux umask(2).
ErrorOr<int64_t> sys_umask(SyscallContext& ctx) {
  return static_cast<int64_t>(ctx.process().fs().exchange_umask(static_cast<mode_t>(ctx.arg(0)) & 0777));
}

// Implements Linux mkdir(2).
ErrorOr<int64_t> sys_mkdir(SyscallContext& ctx) {
  return do_mkdirat(ctx, AT_FDCWD, ctx.arg(0), static_cast<mode_t>(ctx.arg(1)));
}

// Implements Linux mkdirat(2).
ErrorOr<int64_t> sys_mkdirat(SyscallContext& ctx) {
  return do_mkdirat(ctx, ctx.arg_int(0), ctx.arg(1), static_cast<mode_t>(ctx.arg(2)));
}

// Implements Linux symlink(2).
ErrorOr<int64_t> sys_symlink(SyscallContext& ctx) { return do_symlinkat(ctx, ctx.arg(0), AT_FDCWD, ctx.arg(1)); }

// Implements Linux symlinkat(2).
ErrorOr<int64_t> sys_symlinkat(SyscallContext& ctx) {
  return do_symlinkat(ctx, ctx.arg(0), ctx.arg_int(1), ctx.arg(2));
}

// Implements Linux unlink(2).
ErrorOr<int64_t> sys_unlink(SyscallContext& ctx) { return do_unlinkat(ctx, AT_FDCWD, ctx.arg(0), 0); }

// Implements Linux unlinkat(2).
ErrorOr<int64_t> sys_unlinkat(SyscallContext& ctx) {
  return do_unlinkat(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2));
}

// Implements Linux rmdir(2).
ErrorOr<int64_t> sys_rmdir(SyscallContext& ctx) { return do_unlinkat(ctx, AT_FDCWD, ctx.arg(0), AT_REMOVEDIR); }

// Implements Linux rename(2).
ErrorOr<int64_t> sys_rename(SyscallContext& ctx) {
  return do_renameat2(ctx, AT_FDCWD, ctx.arg(0), AT_FDCWD, ctx.arg(1), 0);
}

// Implements Linux renameat(2).
ErrorOr<int64_t> sys_renameat(SyscallContext& ctx) {
  return do_renameat2(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ctx.arg(3), 0);
}

// Implements Linux renameat2(2).
ErrorOr<int64_t> sys_renameat2(SyscallContext& ctx) {
  return do_renameat2(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ctx.arg(3), static_cast<unsigned>(ctx.arg(4)));
}

}  // namespace moat
