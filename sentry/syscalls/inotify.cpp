// inotify_init, inotify_init1, inotify_add_watch and inotify_rm_watch
// (fs/inotify.h).
#include <fcntl.h>
#include <sys/inotify.h>

#include "fs/fd_table.h"
#include "fs/inotify.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

ErrorOr<int64_t> create_inotify(SyscallContext& ctx, int flags) {
  if (flags & ~(IN_NONBLOCK | IN_CLOEXEC)) return Errno::INVAL;
  RefPtr<fs::File> file = TRY(fs::InotifyFile::create(flags));
  return TRY(ctx.process().fds().allocate(file, flags & IN_CLOEXEC, 0, fs::nofile_limit(ctx.process())));
}

ErrorOr<fs::InotifyFile*> inotify_of(const RefPtr<fs::File>& file) {
  auto* in = dynamic_cast<fs::InotifyFile*>(file.ptr());
  if (!in) return Errno::INVAL;
  return in;
}

}  // namespace

// Implements Linux inotify_init(2).
ErrorOr<int64_t> sys_inotify_init(SyscallContext& ctx) { return create_inotify(ctx, 0); }

// Implements Linux inotify_init1(2).
ErrorOr<int64_t> sys_inotify_init1(SyscallContext& ctx) { return create_inotify(ctx, ctx.arg_int(0)); }

// Implements Linux inotify_add_watch(2).
ErrorOr<int64_t> sys_inotify_add_watch(SyscallContext& ctx) {
  Process& p = ctx.process();
  uint32_t mask = static_cast<uint32_t>(ctx.arg(2));
  // The order of inotify_add_watch: the mask, the fd, then the path.
  if (!(mask & IN_ALL_EVENTS)) return Errno::INVAL;
  if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)) return Errno::INVAL;
  RefPtr<fs::File> file = TRY(p.fds().get(ctx.arg_int(0)));
  fs::InotifyFile* in = TRY(inotify_of(file));
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(1)));
  fs::Location loc = TRY(fs::resolve_at(p, AT_FDCWD, path, (mask & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0));
  if ((mask & IN_ONLYDIR) && !loc.node().is_dir()) return Errno::NOTDIR;
  // inode_permission(MAY_READ).
  if (!loc.anonymous) {
    auto st = TRY(loc.node().stat());
    TRY(fs::check_access(st, fs::Caller::of(p), R_OK));
  }
  return TRY(in->add_watch(loc, mask));
}

// Implements Linux inotify_rm_watch(2).
ErrorOr<int64_t> sys_inotify_rm_watch(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  fs::InotifyFile* in = TRY(inotify_of(file));
  TRY(in->rm_watch(ctx.arg_int(1)));
  return 0;
}

}  // namespace moat
