// Extended attributes: the get, list, set and remove families of xattr(7).
// The argument checks and their order follow fs/xattr.c (flags, name,
// value size, then the path); the namespace rules follow xattr_permission()
// and the capability hooks; the values live in the filesystems (Node::*xattr).
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/xattr.h>

#include <string_view>

#include "fs/fd_table.h"
#include "fs/ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr size_t kXattrNameMax = 255;       // XATTR_NAME_MAX
constexpr size_t kXattrSizeMax = 65536;     // XATTR_SIZE_MAX
constexpr size_t kXattrListMax = 65536;     // XATTR_LIST_MAX

enum class Access { Read, Write };

bool has_prefix(std::string_view name, std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; }

bool cap_sys_admin(const Process& p) { return p.creds.cap_effective & (1ULL << CAP_SYS_ADMIN); }

// import_xattr_name(): empty or longer than XATTR_NAME_MAX -> ERANGE.
ErrorOr<std::string> import_name(SyscallContext& ctx, uint64_t addr) {
  auto name = ctx.mem().read_string(addr, kXattrNameMax + 1);
  if (name.is_error()) return name.error() == Errno::NAMETOOLONG ? Errno::RANGE : name.error();
  if (name.value().empty() || name.value().size() > kXattrNameMax) return Errno::RANGE;
  return name.release_value();
}

ErrorOr<RefPtr<fs::Node>> path_node(SyscallContext& ctx, uint64_t addr, int at_flags) {
  std::string path = TRY(fs::read_user_path(ctx.mem(), addr));
  return TRY(fs::resolve_at(ctx.process(), AT_FDCWD, path, at_flags)).node_ref();
}

ErrorOr<RefPtr<fs::Node>> fd_node(SyscallContext& ctx, int fd) {
  auto file = TRY(ctx.process().fds().get(fd));
  if (file->flags() & O_PATH) return Errno::BADF;
  return file->location().node_ref();
}

// xattr_resolve_name(): a known namespace with an empty suffix is EINVAL, an
// unknown one EOPNOTSUPP. FIXME: system.* (POSIX ACLs) is not kept.
ErrorOr<void> check_namespace(std::string_view name) {
  for (std::string_view prefix : {"user.", "trusted.", "security."}) {
    if (!has_prefix(name, prefix)) continue;
    if (name.size() == prefix.size()) return Errno::INVAL;
    return {};
  }
  return Errno::NOTSUP;
}

// xattr_permission() and, for changes, the security.* rule of
// cap_inode_setxattr (CAP_SYS_ADMIN).
ErrorOr<void> xattr_permission(SyscallContext& ctx, const fs::Node& node, std::string_view name, Access access) {
  Process& p = ctx.process();
  bool write = access == Access::Write;
  if (has_prefix(name, "security.") || has_prefix(name, "system.")) {
    if (write && has_prefix(name, "security.") && !cap_sys_admin(p)) return Errno::PERM;
    return {};
  }
  if (has_prefix(name, "trusted.")) {
    if (!cap_sys_admin(p)) return write ? Errno::PERM : Errno::NODATA;
    return {};
  }
  auto st = TRY(node.stat());
  fs::Caller caller = fs::Caller::of(p);
  if (has_prefix(name, "user.")) {
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return write ? Errno::PERM : Errno::NODATA;
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && write && caller.uid != 0 && caller.uid != st.st_uid)
      return Errno::PERM;
  }
  return fs::check_access(st, caller, write ? W_OK : R_OK);
}

ErrorOr<int64_t> do_get(SyscallContext& ctx, const fs::Node& node, const std::string& name, uint64_t buf,
                        size_t size) {
  TRY(xattr_permission(ctx, node, name, Access::Read));
  TRY(check_namespace(name));
  std::string value = TRY(node.getxattr(name));
  if (size == 0) return static_cast<int64_t>(value.size());
  size = std::min(size, kXattrSizeMax);
  if (value.size() > size) return size >= kXattrSizeMax ? Errno::TooBig : Errno::RANGE;
  TRY(ctx.mem().write(buf, value.data(), value.size()));
  return static_cast<int64_t>(value.size());
}

ErrorOr<int64_t> do_list(SyscallContext& ctx, const fs::Node& node, uint64_t buf, size_t size) {
  auto names = TRY(node.listxattr());
  // simple_xattr_list(): trusted.* shows only to CAP_SYS_ADMIN.
  std::string out;
  for (const auto& n : names) {
    if (has_prefix(n, "trusted.") && !cap_sys_admin(ctx.process())) continue;
    out += n;
    out += '\0';
  }
  if (size == 0) return static_cast<int64_t>(out.size());
  size = std::min(size, kXattrListMax);
  if (out.size() > size) return size >= kXattrListMax ? Errno::TooBig : Errno::RANGE;
  TRY(ctx.mem().write(buf, out.data(), out.size()));
  return static_cast<int64_t>(out.size());
}

// setxattr_copy(): flags, name, then the value.
struct SetArgs {
  std::string name;
  std::string value;
  int flags;
};

ErrorOr<SetArgs> copy_set_args(SyscallContext& ctx, uint64_t name_addr, uint64_t value_addr, size_t size, int flags) {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return Errno::INVAL;
  SetArgs a{TRY(import_name(ctx, name_addr)), {}, flags};
  if (size) {
    if (size > kXattrSizeMax) return Errno::TooBig;
    a.value.resize(size);
    TRY(ctx.mem().read(value_addr, a.value.data(), size));
  }
  return a;
}

ErrorOr<int64_t> do_set(SyscallContext& ctx, fs::Node& node, const SetArgs& a) {
  if (node.fs_info().read_only) return Errno::ROFS;  // mnt_want_write
  TRY(xattr_permission(ctx, node, a.name, Access::Write));
  TRY(check_namespace(a.name));
  TRY(node.setxattr(a.name, a.value, a.flags));
  return 0;
}

ErrorOr<int64_t> do_remove(SyscallContext& ctx, fs::Node& node, const std::string& name) {
  if (node.fs_info().read_only) return Errno::ROFS;
  TRY(xattr_permission(ctx, node, name, Access::Write));
  TRY(check_namespace(name));
  TRY(node.removexattr(name));
  return 0;
}

}  // namespace

// Implements Linux getxattr(2).
ErrorOr<int64_t> sys_getxattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(path_node(ctx, ctx.arg(0), 0));
  return do_get(ctx, *node, name, ctx.arg(2), ctx.arg(3));
}

// Implements Linux lgetxattr(2).
ErrorOr<int64_t> sys_lgetxattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(path_node(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  return do_get(ctx, *node, name, ctx.arg(2), ctx.arg(3));
}

// Implements Linux fgetxattr(2).
ErrorOr<int64_t> sys_fgetxattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(fd_node(ctx, ctx.arg_int(0)));
  return do_get(ctx, *node, name, ctx.arg(2), ctx.arg(3));
}

// Implements Linux listxattr(2).
ErrorOr<int64_t> sys_listxattr(SyscallContext& ctx) {
  auto node = TRY(path_node(ctx, ctx.arg(0), 0));
  return do_list(ctx, *node, ctx.arg(1), ctx.arg(2));
}

// Implements Linux llistxattr(2).
ErrorOr<int64_t> sys_llistxattr(SyscallContext& ctx) {
  auto node = TRY(path_node(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  return do_list(ctx, *node, ctx.arg(1), ctx.arg(2));
}

// Implements Linux flistxattr(2).
ErrorOr<int64_t> sys_flistxattr(SyscallContext& ctx) {
  auto node = TRY(fd_node(ctx, ctx.arg_int(0)));
  return do_list(ctx, *node, ctx.arg(1), ctx.arg(2));
}

// Implements Linux setxattr(2).
ErrorOr<int64_t> sys_setxattr(SyscallContext& ctx) {
  SetArgs a = TRY(copy_set_args(ctx, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg_int(4)));
  auto node = TRY(path_node(ctx, ctx.arg(0), 0));
  return do_set(ctx, *node, a);
}

// Implements Linux lsetxattr(2).
ErrorOr<int64_t> sys_lsetxattr(SyscallContext& ctx) {
  SetArgs a = TRY(copy_set_args(ctx, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg_int(4)));
  auto node = TRY(path_node(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  return do_set(ctx, *node, a);
}

// Implements Linux fsetxattr(2).
ErrorOr<int64_t> sys_fsetxattr(SyscallContext& ctx) {
  SetArgs a = TRY(copy_set_args(ctx, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg_int(4)));
  auto node = TRY(fd_node(ctx, ctx.arg_int(0)));
  return do_set(ctx, *node, a);
}

// Implements Linux removexattr(2).
ErrorOr<int64_t> sys_removexattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(path_node(ctx, ctx.arg(0), 0));
  return do_remove(ctx, *node, name);
}

// Implements Linux lremovexattr(2).
ErrorOr<int64_t> sys_lremovexattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(path_node(ctx, ctx.arg(0), AT_SYMLINK_NOFOLLOW));
  return do_remove(ctx, *node, name);
}

// Implements Linux fremovexattr(2).
ErrorOr<int64_t> sys_fremovexattr(SyscallContext& ctx) {
  std::string name = TRY(import_name(ctx, ctx.arg(1)));
  auto node = TRY(fd_node(ctx, ctx.arg_int(0)));
  return do_remove(ctx, *node, name);
}

}  // namespace moat
