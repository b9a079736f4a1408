// mount, umount2, chroot, pivot_root and unshare: the mount table
// (fs/mounts.h) and the process's root.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>

#include <set>

#include "fs/fs_context.h"
#include "fs/ops.h"
#include "fs/vfs.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

bool capable(const Process& p, int cap) { return p.creds.cap_effective & (1ULL << cap); }

// A mount(2) string argument (type, source): up to a page, like
// copy_mount_string's strndup_user.
ErrorOr<std::string> read_mount_string(SyscallContext& ctx, uint64_t addr) {
  if (!addr) return std::string();
  auto s = TRY(ctx.mem().read_string(addr, 4096));
  if (s.size() >= 4096) return Errno::INVAL;
  return s;
}

ErrorOr<std::string> read_mount_data(SyscallContext& ctx, uint64_t addr) {
  if (!addr) return std::string();
  // copy_mount_options copies a page, stopping at a fault; options are text.
  auto s = TRY(ctx.mem().read_string(addr, 4096));
  return s;
}

fs::MountNs& ns_of(SyscallContext& ctx, std::shared_ptr<fs::MountNs>& keep) {
  keep = fs::vfs_of(ctx.process()).ns_of(fs::Caller::of(ctx.process()));
  return *keep;
}

}  // namespace

// Implements Linux mount(2).
ErrorOr<int64_t> sys_mount(SyscallContext& ctx) {
  Process& p = ctx.process();
  if (!capable(p, CAP_SYS_ADMIN)) return Errno::PERM;
  std::string source = TRY(read_mount_string(ctx, ctx.arg(0)));
  std::string target_path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(1)));
  std::string type = TRY(read_mount_string(ctx, ctx.arg(2)));
  unsigned long flags = ctx.arg(3);
  // The old magic number in the top half (do_mount).
  if ((flags & 0xffff0000UL) == 0xC0ED0000UL) flags &= 0xffff;
  fs::Vfs& vfs = fs::vfs_of(p);
  std::shared_ptr<fs::MountNs> keep;
  fs::MountNs& ns = ns_of(ctx, keep);
  fs::Location target = TRY(fs::resolve_at(p, AT_FDCWD, target_path, 0));

  constexpr unsigned long kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
  if (flags & MS_REMOUNT) {
    std::string data = TRY(read_mount_data(ctx, ctx.arg(4)));
    TRY(vfs.remount(ns, target, flags, data, flags & MS_BIND));
    return 0;
  }
  if (flags & MS_BIND) {
    if (source.empty()) return Errno::FAULT;
    fs::Location src = TRY(fs::resolve_at(p, AT_FDCWD, source, 0));
    TRY(vfs.mount_bind(ns, src, target, flags & MS_REC));
    return 0;
  }
  if (flags & kPropagation) {
    // Every mount is private here; changing the type only needs a mount point.
    // More than one type at once is EINVAL (flags_to_propagation_type).
    unsigned long kind = flags & kPropagation;
    if (kind & (kind - 1)) return Errno::INVAL;
    if (!vfs.is_mount_point(ns, target)) return Errno::INVAL;
    return 0;
  }
  if (flags & MS_MOVE) {
    if (source.empty()) return Errno::FAULT;
    fs::Location src = TRY(fs::resolve_at(p, AT_FDCWD, source, 0));
    TRY(vfs.move_mount(ns, src, target));
    return 0;
  }
  if (type.empty()) return Errno::FAULT;  // new mounts need a type (strndup_user of NULL)
  std::string data = TRY(read_mount_data(ctx, ctx.arg(4)));
  TRY(vfs.mount_fs(ns, target, type, source, flags, data));
  return 0;
}

// Implements Linux umount2(2).
ErrorOr<int64_t> sys_umount2(SyscallContext& ctx) {
  Process& p = ctx.process();
  int flags = ctx.arg_int(1);
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) return Errno::INVAL;
  if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH))) return Errno::INVAL;
  if (!capable(p, CAP_SYS_ADMIN)) return Errno::PERM;
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  fs::Location target = TRY(fs::resolve_at(p, AT_FDCWD, path, (flags & UMOUNT_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0));
  // MNT_EXPIRE marks a mount on the first call (EAGAIN) and unmounts an
  // unused one on the second; nothing tracks use, so it never expires.
  if (flags & MNT_EXPIRE) return fs::vfs_of(p).is_mount_point(*fs::vfs_of(p).ns_of(fs::Caller::of(p)), target)
                                     ? Errno::AGAIN
                                     : Errno::INVAL;
  std::shared_ptr<fs::MountNs> keep;
  TRY(fs::vfs_of(p).umount(ns_of(ctx, keep), target, flags));
  return 0;
}

// Implements Linux chroot(2).
ErrorOr<int64_t> sys_chroot(SyscallContext& ctx) {
  Process& p = ctx.process();
  std::string path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  fs::Location loc = TRY(fs::resolve_at(p, AT_FDCWD, path, 0));
  if (loc.anonymous || !loc.node().is_dir()) return Errno::NOTDIR;
  auto st = TRY(loc.node().stat());
  fs::Caller caller = fs::Caller::of(p);
  TRY(fs::check_access(st, caller, X_OK));
  if (!capable(p, CAP_SYS_CHROOT)) return Errno::PERM;
  // The working directory stays where it is (chroot(2)).
  p.fs().set_root(std::move(loc));
  return 0;
}

// Implements Linux pivot_root(2).
ErrorOr<int64_t> sys_pivot_root(SyscallContext& ctx) {
  Process& p = ctx.process();
  if (!capable(p, CAP_SYS_ADMIN)) return Errno::PERM;
  std::string new_path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(0)));
  std::string old_path = TRY(fs::read_user_path(ctx.mem(), ctx.arg(1)));
  fs::Location new_root = TRY(fs::resolve_at(p, AT_FDCWD, new_path, 0));
  fs::Location put_old = TRY(fs::resolve_at(p, AT_FDCWD, old_path, 0));
  fs::Vfs& vfs = fs::vfs_of(p);
  std::shared_ptr<fs::MountNs> keep;
  fs::MountNs& ns = ns_of(ctx, keep);
  auto pivot = TRY(vfs.pivot_root(ns, p.fs().root(), new_root, put_old));
  // Every process of the namespace sees the table change: their roots and
  // working directories move along (those at the old root to the new one).
  std::set<fs::FsContext*> done;
  for (Process* other : ctx.sandbox().processes()) {
    auto fsc = other->shared_fs();
    if (!fsc || done.contains(fsc.get())) continue;
    done.insert(fsc.get());
    if (vfs.ns_of(fs::Caller::of(*other)).get() != keep.get()) continue;
    fsc->set_root_and_cwd(fs::Vfs::rebase_after_pivot(pivot, fsc->root()),
                          fs::Vfs::rebase_after_pivot(pivot, fsc->cwd()));
  }
  return 0;
}

// Implements Linux unshare(2): CLONE_NEWNS (a copy of the mount table),
// CLONE_FS and CLONE_FILES; other namespaces are EINVAL.
ErrorOr<int64_t> sys_unshare(SyscallContext& ctx) {
  Process& p = ctx.process();
  uint64_t flags = ctx.arg(0);
  constexpr uint64_t kSupported = CLONE_NEWNS | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM;
  if (flags & ~kSupported) return Errno::INVAL;
  if ((flags & CLONE_NEWNS) && !capable(p, CAP_SYS_ADMIN)) return Errno::PERM;
  if (flags & (CLONE_NEWNS | CLONE_FS)) {
    auto fsc = p.fs().clone();
    if (flags & CLONE_NEWNS) {
      fs::Vfs& vfs = fs::vfs_of(p);
      fsc->set_mount_ns(vfs.copy_ns(*vfs.ns_of(fs::Caller::of(p))));
    }
    p.set_fs(std::move(fsc));
  }
  if (flags & CLONE_FILES) p.set_fds(p.fds().clone());
  return 0;
}

}  // namespace moat
