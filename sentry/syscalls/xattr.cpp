// Extended attributes. FIXME: no filesystem stores any yet, so every lookup
// is ENODATA and every list is empty (a documented partial). The path and
// name checks follow fs/xattr.c so that errors are exact.
#include <fcntl.h>
#include <sys/xattr.h>

#include "fs/fd_table.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr size_t kXattrNameMax = 255;

// import_xattr_name(): empty or longer than XATTR_NAME_MAX -> ERANGE.
ErrorOr<void> check_name(SyscallContext& ctx, uint64_t addr) {
  auto name = ctx.mem().read_string(addr, kXattrNameMax + 1);
  if (name.is_error()) return name.error() == Errno::NAMETOOLONG ? Errno::RANGE : name.error();
  if (name.value().empty() || name.value().size() > kXattrNameMax) return Errno::RANGE;
  return {};
}

ErrorOr<void> check_path(SyscallContext& ctx, uint64_t addr, int at_flags) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), addr));
  TRY(fs::resolve_at(ctx.process(), AT_FDCWD, path, at_flags));
  return {};
}

ErrorOr<void> check_fd(SyscallContext& ctx, int fd) {
  auto file = TRY(ctx.process().fds().get(fd));
  if (file->flags() & O_PATH) return Errno::BADF;
  return {};
}

}  // namespace

// Implements Linux getxattr(2).
ErrorOr<int64_t> sys_getxattr(SyscallContext& ctx) {
  TRY(check_path(ctx, ctx.arg(0), 0));
  TRY(check_name(ctx, ctx.arg(1)));
  return Errno::NODATA;
}

// Implements Linux lgetxattr(2).
ErrorOr<int64_t> sys_lgetxattr(SyscallContext& ctx) {
  TRY(check_path(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  TRY(check_name(ctx, ctx.arg(1)));
  return Errno::NODATA;
}

// Implements Linux fgetxattr(2).
ErrorOr<int64_t> sys_fgetxattr(SyscallContext& ctx) {
  TRY(check_fd(ctx, ctx.arg_int(0)));
  TRY(check_name(ctx, ctx.arg(1)));
  return Errno::NODATA;
}

// Implements Linux listxattr(2).
ErrorOr<int64_t> sys_listxattr(SyscallContext& ctx) {
  TRY(check_path(ctx, ctx.arg(0), 0));
  return 0;
}

// Implements Linux llistxattr(2).
ErrorOr<int64_t> sys_llistxattr(SyscallContext& ctx) {
  TRY(check_path(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  return 0;
}

// Implements Linux flistxattr(2).
ErrorOr<int64_t> sys_flistxattr(SyscallContext& ctx) {
  TRY(check_fd(ctx, ctx.arg_int(0)));
  return 0;
}

}  // namespace moat
