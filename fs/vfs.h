#pragma once
// fs::Vfs: the sandbox's mount table and the path walk.
//
// Mounts (fixed at creation): "/" hostfs of SandboxConfig::root_dir
// (read-only), or an overlay of it under an in-memory tmpfs (fs/overlay.h)
// that takes the guest's writes, "/tmp" and "/dev/shm" tmpfs, "/dev" devfs, "/proc" procfs,
// "/sys" sysfs (read-only). A mount shadows whatever the host root has at
// that path, so host /proc, /dev and /sys are never reachable.
//
// The walk resolves one component at a time; symlinks are read and resolved
// here, in guest path space (an absolute target restarts at the guest root);
// ".." never climbs above the root; more than 40 symlinks give ELOOP.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/node.h"
#include "sentry/kernel/sandbox.h"

namespace moat::fs {

enum ResolveFlags : unsigned {
  kResolveNone = 0,
  kFollowLast = 1,   // follow a symlink in the last component
  kMustBeDir = 2,    // the result must be a directory (ENOTDIR)
};

constexpr int kMaxSymlinks = 40;  // MAXSYMLINKS

class Vfs {
 public:
  static ErrorOr<std::unique_ptr<Vfs>> create(const std::string& host_root,
                                              RootOverlay overlay = RootOverlay::None);

  Location root() const;

  // Resolves path from start (relative) or root (absolute).
  ErrorOr<Location> resolve(const Caller& caller, const Location& root, const Location& start, std::string_view path,
                            unsigned flags) const;

  struct Parent {
    Location dir;
    std::string name;  // last component: "" for "/", may be "." or ".."
    bool trailing_slash = false;
  };
  // Resolves all but the last component (which need not exist).
  ErrorOr<Parent> resolve_parent(const Caller& caller, const Location& root, const Location& start,
                                 std::string_view path) const;

  // Looks name up in dir, honouring mounts. Does not follow symlinks.
  ErrorOr<RefPtr<Node>> child(const Caller& caller, const Location& dir, std::string_view name) const;
  // True when node is the root of a mount (rmdir, rename and unlink: EBUSY).
  bool is_mount_root(const Node* node) const;
  // Every mount as {guest path, root node}: "/" first, then in path order
  // (a mount comes before the mounts below it). /proc/PID/mountinfo.
  std::vector<std::pair<std::string, RefPtr<Node>>> mounts() const;

 private:
  RefPtr<Node> m_root;
  std::map<std::string, RefPtr<Node>, std::less<>> m_mounts;  // guest path -> mounted root
  size_t m_max_mount_depth = 0;
};

}  // namespace moat::fs

// The path-level operations (open_path, setup_process_fs, resolve_exec) are
// declared in fs/ops.h; included here so users of the Vfs see them.
#include "fs/ops.h"
