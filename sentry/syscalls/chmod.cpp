// chmod, fchmod, fchmodat, fchmodat2 and the chown family: mode and owner
// changes go to the node's filesystem (tmpfs and the overlay keep them; the
// read-only host root answers EROFS).

#include <fcntl.h>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/inotify.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

ErrorOr<int64_t> chmod_at(SyscallContext& ctx, int dirfd, uint64_t path_addr, mode_t mode, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno::INVAL;
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), dirfd, path, flags));
  // A symlink's own mode cannot change on Linux.
  if ((flags & AT_SYMLINK_NOFOLLOW) && loc.node().is_symlink()) return Errno::NOTSUP;
  TRY(loc.node().chmod(fs::Caller::of(ctx.process()), mode));
  fs::notify_change(loc, IN_ATTRIB);
  return 0;
}

ErrorOr<int64_t> chown_at(SyscallContext& ctx, int dirfd, uint64_t path_addr, uint64_t uid, uint64_t gid, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno::INVAL;
  std::string path = TRY(fs::read_user_path(ctx.mem(), path_addr));
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), dirfd, path, flags));
  TRY(loc.node().chown(fs::Caller::of(ctx.process()), static_cast<uid_t>(uid), static_cast<gid_t>(gid)));
  fs::notify_change(loc, IN_ATTRIB);
  return 0;
}

}  // namespace

// Implements Linux chown(2).
ErrorOr<int64_t> sys_chown(SyscallContext& ctx) { return chown_at(ctx, AT_FDCWD, ctx.arg(0), ctx.arg(1), ctx.arg(2), 0); }

// Implements Linux lchown(2).
ErrorOr<int64_t> sys_lchown(SyscallContext& ctx) {
  return chown_at(ctx, AT_FDCWD, ctx.arg(0), ctx.arg(1), ctx.arg(2), AT_SYMLINK_NOFOLLOW);
}

// Implements Linux fchownat(2).
ErrorOr<int64_t> sys_fchownat(SyscallContext& ctx) {
  return chown_at(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg_int(4));
}

// Implements Linux fchown(2).
ErrorOr<int64_t> sys_fchown(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  TRY(file->node().chown(fs::Caller::of(ctx.process()), static_cast<uid_t>(ctx.arg(1)), static_cast<gid_t>(ctx.arg(2))));
  return 0;
}

// Implements Linux chmod(2).
ErrorOr<int64_t> sys_chmod(SyscallContext& ctx) {
  return chmod_at(ctx, AT_FDCWD, ctx.arg(0), static_cast<mode_t>(ctx.arg(1)), 0);
}

// Implements Linux fchmodat(2) (the syscall has no flags argument).
ErrorOr<int64_t> sys_fchmodat(SyscallContext& ctx) {
  return chmod_at(ctx, ctx.arg_int(0), ctx.arg(1), static_cast<mode_t>(ctx.arg(2)), 0);
}

// Implements Linux fchmodat2(2).
ErrorOr<int64_t> sys_fchmodat2(SyscallContext& ctx) {
  return chmod_at(ctx, ctx.arg_int(0), ctx.arg(1), static_cast<mode_t>(ctx.arg(2)), ctx.arg_int(3));
}

// Implements Linux fchmod(2).
ErrorOr<int64_t> sys_fchmod(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  // FIXME: pipes and stdio modes. Memfds (anonymous regular tmpfs files) have theirs.
  if (file->location().anonymous && !file->node().is_regular()) return Errno::PERM;
  TRY(file->node().chmod(fs::Caller::of(ctx.process()), static_cast<mode_t>(ctx.arg(1))));
  fs::notify_change(file->location(), IN_ATTRIB);
  return 0;
}

}  // namespace moat
