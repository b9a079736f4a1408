#pragma once
// The mount table of a mount namespace (mount_namespaces(7)), and the
// read-only view a read-only mount puts over its filesystem.
//
// A mount is keyed by its guest path from the sandbox's top root (the path a
// Location records), so a chroot does not change which mounts a walk meets.
// Mounts on one path stack: the last one is what the walk sees, and umount
// uncovers the one below. Propagation (shared, slave) is not modelled: every
// mount is private.
//
// Ownership: Vfs ──unique_ptr──> initial MountNs; FsContext ──shared_ptr──>
// MountNs (null: the sandbox's initial one); MountNs ──shared_ptr──> Mount
// ──RefPtr──> root node. Lock: MountNs::lock is taken after FsContext's and
// before any filesystem's lock; it is never held while a node is looked up.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fs/node.h"

namespace moat::fs {

struct Mount {
  int id = 0;
  std::string path;         // guest path from the sandbox's top root ("/" for the root)
  RefPtr<Node> root;        // what the walk meets: inner, or a read-only view of it
  RefPtr<Node> inner;       // the mounted directory (or file) itself
  std::string source;       // mountinfo's source field
  std::string type;         // "tmpfs", "proc", "sysfs", or the inner fs name
  std::string root_path;    // mountinfo's root field: "/" or the bound subdirectory
  unsigned long flags = 0;  // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_RELATIME
  std::string data;         // super options shown after the type ("size=1024k,mode=755")
  bool read_only() const;
  ~Mount() {
    if (inner) inner->drop_caches();
  }
};

class MountNs {
 public:
  mutable std::shared_mutex lock;
  // Creation order; entries[0] is the root ("/").
  std::vector<std::shared_ptr<Mount>> mounts;
  size_t max_depth = 0;  // the most slashes in a mount path (walk shortcut)

  // The top mount at path, or null.
  std::shared_ptr<Mount> top_locked(std::string_view path) const;
  void recompute_depth_locked();
  std::unique_ptr<MountNs> copy() const;
};

// A read-only view of inner (a read-only bind mount, remount ro, OCI
// readonlyPaths): everything reads through, every change is EROFS, and the
// children it looks up are views too. info is shared by all the views of one
// mount, so link and rename across it and a read-write view are EXDEV.
RefPtr<Node> make_read_only_view(RefPtr<Node> inner, std::shared_ptr<FsInfo> info);
// The node under a read-only view (the node itself otherwise): inotify
// watches name the filesystem's node.
Node& unwrap_view(Node& node);

// mount(2) data for tmpfs: size= (bytes, k/m/g suffixes or %), mode= (octal),
// uid=, gid=, nr_inodes= (accepted). EINVAL for anything else.
struct TmpfsOptions {
  uint64_t size = 0;  // 0: unlimited
  mode_t mode = 01777;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string shown;  // how mountinfo shows them
};
ErrorOr<TmpfsOptions> parse_tmpfs_options(std::string_view data);

// The option string of /proc/PID/mounts for flags ("rw,nosuid,relatime").
std::string mount_flags_string(unsigned long flags);

}  // namespace moat::fs
