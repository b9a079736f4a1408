#pragma once
// fs::Vfs: the sandbox's mount table and the path walk.
//
// Mounts at creation: "/" hostfs of SandboxConfig::root_dir (read-only), or
// an overlay of it under an in-memory tmpfs (fs/overlay.h) that takes the
// guest's writes, "/tmp" and "/dev/shm" tmpfs, "/dev" devfs, "/proc" procfs,
// "/sys" sysfs (read-only). A mount shadows whatever the host root has at
// that path, so host /proc, /dev and /sys are never reachable. The table is
// a MountNs (fs/mounts.h): the guest changes it with mount(2), umount2(2)
// and pivot_root(2), and unshare(CLONE_NEWNS) gives a process its own copy.
//
// The walk resolves one component at a time; symlinks are read and resolved
// here, in guest path space (an absolute target restarts at the guest root);
// ".." never climbs above the root; more than 40 symlinks give ELOOP.

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/mounts.h"
#include "fs/node.h"
#include "sentry/kernel/sandbox.h"

namespace moat::fs {

enum ResolveFlags : unsigned {
  kResolveNone = 0,
  kFollowLast = 1,   // follow a symlink in the last component
  kMustBeDir = 2,    // the result must be a directory (ENOTDIR)
  // openat2(2) RESOLVE_* rules. For kBeneath and kInRoot the caller passes
  // the dirfd's location as root.
  kNoSymlinks = 4,    // following any symlink is ELOOP
  kNoMagicLinks = 8,  // following a /proc magic link is ELOOP
  kNoXdev = 16,       // crossing a mount (either way) is EXDEV
  kBeneath = 32,      // leaving root is EXDEV (absolute paths, "..", jumps)
  kInRoot = 64,       // root acts as "/" (jumps are EXDEV)
};

constexpr int kMaxSymlinks = 40;  // MAXSYMLINKS

class Vfs {
 public:
  // upper_dir: the host directory of RootOverlay::HostDir's upper layer.
  // exclusive: see SandboxConfig::root_exclusive.
  static ErrorOr<std::unique_ptr<Vfs>> create(const std::string& host_root,
                                              RootOverlay overlay = RootOverlay::None,
                                              const std::string& upper_dir = {}, bool exclusive = false);
  Vfs();
  ~Vfs();

  Location root() const;

  // Resolves path from start (relative) or root (absolute).
  ErrorOr<Location> resolve(const Caller& caller, const Location& root, const Location& start, std::string_view path,
                            unsigned flags) const;

  struct Parent {
    Location dir;
    std::string name;  // last component: "" for "/", may be "." or ".."
    bool trailing_slash = false;
  };
  // Resolves all but the last component (which need not exist). flags:
  // the RESOLVE_* rules (kNoSymlinks...).
  ErrorOr<Parent> resolve_parent(const Caller& caller, const Location& root, const Location& start,
                                 std::string_view path, unsigned flags = kResolveNone) const;

  // Looks name up in dir, honouring mounts. Does not follow symlinks.
  ErrorOr<RefPtr<Node>> child(const Caller& caller, const Location& dir, std::string_view name) const;
  // True when node is the root of a mount (rmdir, rename and unlink: EBUSY).
  bool is_mount_root(const Node* node) const;
  // Every mount of the initial namespace as {guest path, root node}, in
  // creation order ("/" first).
  std::vector<std::pair<std::string, RefPtr<Node>>> mounts() const;

  // The caller's mount namespace (the initial one without a process).
  std::shared_ptr<MountNs> ns_of(const Caller& caller) const;
  std::shared_ptr<MountNs> initial_ns() const { return m_ns; }
  // A copy of ns for unshare(CLONE_NEWNS).
  std::shared_ptr<MountNs> copy_ns(const MountNs& ns);
  // Snapshot of the caller's mounts, in creation order, each with the id of
  // the mount it sits on (parent_id; the root's is its own id - 1).
  struct MountView {
    Mount mount;
    int parent_id = 0;
  };
  std::vector<MountView> mount_list(const Caller& caller) const;

  // mount(2) and umount2(2) on the caller's namespace. Capabilities are the
  // caller's business (sentry/syscalls/mount.cpp); these check the rest.
  // A new filesystem (tmpfs, proc, sysfs; ENODEV for others) on dir target.
  ErrorOr<void> mount_fs(MountNs& ns, const Location& target, std::string_view type, std::string_view source,
                         unsigned long flags, std::string_view data);
  // MS_BIND: source (directory or file) appears at target too; recursive
  // (MS_REC) takes the mounts below source along.
  ErrorOr<void> mount_bind(MountNs& ns, const Location& source, const Location& target, bool recursive);
  // MS_REMOUNT: the mount at target gets flags (MS_RDONLY...); without
  // bind, tmpfs data (size=) changes too. EINVAL when target is no mount.
  ErrorOr<void> remount(MountNs& ns, const Location& target, unsigned long flags, std::string_view data, bool bind);
  // MS_MOVE.
  ErrorOr<void> move_mount(MountNs& ns, const Location& source, const Location& target);
  // umount2 flags: MNT_DETACH. EINVAL when target is no mount point, EBUSY
  // with mounts below it (unless MNT_DETACH) or for the root.
  ErrorOr<void> umount(MountNs& ns, const Location& target, int flags);
  // pivot_root(2) checks and table change; root is the caller's root. On
  // success returns the new root node: the caller moves every process's root
  // and cwd (rebase_after_pivot).
  struct Pivot {
    std::string new_root_path;  // guest path of new_root before the pivot
    std::string put_old_path;   // ... of put_old before, relative to new_root after
    RefPtr<Node> new_root;
    RefPtr<Node> old_root;
    Location old_base;  // where the old root now is, from the new root
  };
  ErrorOr<Pivot> pivot_root(MountNs& ns, const Location& root, const Location& new_root, const Location& put_old);
  // loc as seen after pivot p: under the new root, or under put_old.
  static Location rebase_after_pivot(const Pivot& p, const Location& loc);
  // Whether loc is the root of a mount (its path is a mount point and the
  // node the mount's root).
  bool is_mount_point(const MountNs& ns, const Location& loc) const;

  // --- For the OCI runtime (runtime/container.cpp), at sandbox creation,
  // before the guest runs; all act on the initial namespace as uid 0 and
  // create a missing guest_path (directory, or empty file for a file source)
  // when the filesystem there is writable. guest_path is absolute.
  //
  // Bind-mounts host_path (a directory or a file) at guest_path. Read-only:
  // the host files as they are (EROFS). Read-write: a writable hostfs
  // (fs/host_fs.h): the guest's changes reach host_path, and nothing outside it.
  enum class Access { ReadOnly, ReadWrite };
  ErrorOr<void> bind_host_path(const std::string& host_path, const std::string& guest_path, Access access);
  // A fresh tmpfs at guest_path: size in bytes (0: unlimited; ENOSPC when
  // full) and the root directory's mode.
  ErrorOr<void> mount_tmpfs(const std::string& guest_path, uint64_t size, mode_t mode);
  // OCI maskedPaths: a directory becomes an empty read-only tmpfs, a file
  // reads as /dev/null (empty). A missing path is not an error.
  ErrorOr<void> mask_path(const std::string& guest_path);
  // OCI readonlyPaths: the path becomes a read-only bind of itself (EROFS
  // for writes below it). A missing path is not an error.
  ErrorOr<void> make_path_read_only(const std::string& guest_path);

 private:
  ErrorOr<void> add_mount_locked(MountNs& ns, std::shared_ptr<Mount> m);
  ErrorOr<Location> ensure_guest_path(const std::string& guest_path, bool directory);
  int next_mount_id() { return m_next_mount_id++; }
  dev_t next_dev();

  std::shared_ptr<MountNs> m_ns;  // the initial namespace
  // Every namespace made (is_mount_root looks at all of them).
  mutable std::mutex m_ns_list_lock;
  std::vector<std::weak_ptr<MountNs>> m_all_ns;
  std::atomic<int> m_next_mount_id{20};
  std::atomic<unsigned> m_next_minor{40};
};

}  // namespace moat::fs

// The path-level operations (open_path, setup_process_fs, resolve_exec) are
// declared in fs/ops.h; included here so users of the Vfs see them.
#include "fs/ops.h"
