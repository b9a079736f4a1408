// close_range, ftruncate and truncate.

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/stat.h>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/inotify.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

// Implements Linux close_range(2). CLOSE_RANGE_UNSHARE needs nothing: a
// process's fd table is already its own after fork.
ErrorOr<int64_t> sys_close_range(SyscallContext& ctx) {
  auto first = static_cast<uint32_t>(ctx.arg(0)), last = static_cast<uint32_t>(ctx.arg(1));
  uint64_t flags = ctx.arg(2);
  if (flags & ~static_cast<uint64_t>(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)) return Errno::INVAL;
  if (first > last) return Errno::INVAL;
  fs::FdTable& fds = ctx.process().fds();
  for (const auto& [fd, file] : fds.snapshot()) {
    auto u = static_cast<uint32_t>(fd);
    if (u < first || u > last) continue;
    if (flags & CLOSE_RANGE_CLOEXEC)
      (void)fds.set_cloexec(fd, true);
    else
      (void)fds.remove(fd);
  }
  return 0;
}

// Implements Linux ftruncate(2).
ErrorOr<int64_t> sys_ftruncate(SyscallContext& ctx) {
  auto length = static_cast<int64_t>(ctx.arg(1));
  if (length < 0) return Errno::INVAL;
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  // A file not open for writing, or not a regular file: EINVAL (man 2 truncate).
  if (!file->writable()) return Errno::INVAL;
  // Anonymous files are pipes and stdio, but for memfds (regular tmpfs files).
  if (file->location().anonymous && !file->node().is_regular()) return Errno::INVAL;
  if (!S_ISREG(TRY(file->stat()).st_mode)) return Errno::INVAL;
  TRY(file->truncate(static_cast<uint64_t>(length)));
  fs::notify_change(file->location(), IN_MODIFY);
  return 0;
}

// Implements Linux truncate(2).
ErrorOr<int64_t> sys_truncate(SyscallContext& ctx) {
  auto length = static_cast<int64_t>(ctx.arg(1));
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  if (length < 0) return Errno::INVAL;
  fs::Location loc = TRY(fs::resolve_at(ctx.process(), AT_FDCWD, path, 0));
  fs::Node& node = loc.node();
  if (node.is_dir()) return Errno::ISDIR;
  if (!node.is_regular()) return Errno::INVAL;
  TRY(fs::access_at(ctx.process(), AT_FDCWD, path, W_OK, 0));
  TRY(node.truncate(static_cast<uint64_t>(length)));
  fs::notify_change(loc, IN_MODIFY);
  return 0;
}

}  // namespace moat
