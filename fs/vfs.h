#pragma once
// fs::Vfs: the sandbox's mount table and the path walk.
//
// Mounts (fixed at creation): "/" hostfs of SandboxConfig::root_dir
// (read-only), "/tmp" and "/dev/shm" tmpfs, "/dev" devfs, "/proc" procfs,
// "/sys" an empty directory. A mount shadows whatever the host root has at
// that path, so host /proc, /dev and /sys are never reachable.
//
// The walk resolves one component at a time; symlinks are read and resolved
// here, in guest path space (an absolute target restarts at the guest root);
// ".." never climbs above the root; more than 40 symlinks give ELOOP.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fs/node.h"

namespace moat::fs {

enum ResolveFlags : unsigned {
  kResolveNone = 0,
  kFollowLast = 1,   // follow a symlink in the last component
  kMustBeDir = 2,    // the result must be a directory (ENOTDIR)
};

constexpr int kMaxSymlinks = 40;  // MAXSYMLINKS

class Vfs {
 public:
  static ErrorOr<std::unique_ptr<Vfs>> create(const std::string& host_root);

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

 private:
  RefPtr<Node> m_root;
  std::map<std::string, RefPtr<Node>, std::less<>> m_mounts;  // guest path -> mounted root
  size_t m_max_mount_depth = 0;
};

}  // namespace moat::fs

// The path-level operations (open_path, setup_process_fs, resolve_exec) are
// declared in fs/ops.h; included here so users of the Vfs see them.
#include "fs/ops.h"
