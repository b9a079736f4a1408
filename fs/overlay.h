#pragma once
// overlay: the sandbox's writable root, in the manner of Linux overlayfs.
// The lower layer is the host's root (HostNode, never written); the upper
// layer is either a private tmpfs in memory (moat do's default: the changes
// vanish with the sandbox) or a writable host directory (a HostNode root:
// the changes persist there, and a later sandbox over the same directory
// starts from them). The guest may write anywhere; the lower tree never
// changes.
//
// - A lookup looks in the upper directory first, then in the lower one.
// - Copy-up: the first change to a lower object (open for writing, truncate,
//   chmod, chown, utimens, link, rename, xattr changes) copies it, content,
//   metadata and extended attributes, into the upper layer, its parent
//   directories first. The copy keeps the lower inode number (st_ino stays
//   stable across copy-up).
// - Whiteouts: removing a name the lower layer has leaves a whiteout in the
//   upper directory (a character device 0/0, as overlayfs does), which hides
//   it. A directory made where a whiteout was is opaque: the lower directory
//   of that name no longer shows through.
// - Directories list the upper entries, then the lower ones not hidden.
// - rename of a directory that has lower content is EXDEV (overlayfs without
//   redirect_dir); mv and friends then copy.
//
// In a host upper directory these records follow overlayfs mounted with
// "userxattr", so that the directory reads the same on the next run: a
// whiteout is a character device 0/0 (or, where the host refuses mknod, an
// empty regular file with user.overlay.whiteout, its directory marked
// user.overlay.opaque="x"), an opaque directory has user.overlay.opaque="y",
// and a copy keeps the inode number it shows in user.overlay.moat.ino.
// Those user.overlay.* attributes are never shown to the guest, and no other
// name is kept in the directory (no work directory: a regular file is copied
// into an O_TMPFILE and linked into place, so no half copy ever shows).
// When the upper directory lies inside the lower tree, the lower layer never
// shows it.
//
// OverlayNodes are made per lookup (like HostNodes); all persistent state is
// in the upper layer. A node made before its object was copied up finds the
// upper copy on its next use (OverlayFs::generation says when to look again).
//
// Lock order: OverlayFs::lock -> TmpFs::lock (a memory upper layer) or the
// hostfs's locks (a host upper directory). The overlay lock is held
// across a whole operation (copy-up, whiteout, the upper change), never
// across a co_await.

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "fs/node.h"
#include "fs/tmpfs.h"

namespace moat::fs {

struct OverlayFs;

class OverlayNode final : public Node {
 public:
  // An overlay of a fresh in-memory upper layer over lower_root (a
  // directory node, read-only). dev: what stat reports as st_dev.
  static ErrorOr<RefPtr<Node>> create_root(RefPtr<Node> lower_root, dev_t dev);
  // An overlay whose upper layer is upper_root, the root of a writable
  // hostfs (HostNode::create_root(dir, true)), which may hold the upper
  // layer of an earlier run. upper_in_lower: the upper directory's path
  // relative to the lower root ("var/tmp/up") when it lies inside the lower
  // tree, which the lower layer then never shows; empty otherwise.
  static ErrorOr<RefPtr<Node>> create_root(RefPtr<Node> lower_root, RefPtr<Node> upper_root, dev_t dev,
                                           std::string_view upper_in_lower = {});

  const FsInfo& fs_info() const override;
  ErrorOr<struct stat> stat() const override;
  ErrorOr<struct statfs> statfs() const override;
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override;
  // Asks the layers: a hostfs layer may leave the lookup to io_uring.
  bool defer_lookup(HostFetch& fetch, std::string_view name) override;
  void drop_caches() override;
  ErrorOr<std::string> readlink(const Caller&) const override;
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override;
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override;
  ErrorOr<RefPtr<Node>> create(const Caller&, std::string_view name, mode_t mode) override;
  // O_TMPFILE: an unlinked file of the upper layer (overlayfs since Linux 6.6).
  ErrorOr<RefPtr<Node>> create_tmpfile(const Caller&, mode_t mode, Linkable linkable) override;
  ErrorOr<void> mkdir(const Caller&, std::string_view name, mode_t mode) override;
  ErrorOr<void> symlink(const Caller&, std::string_view name, std::string_view target) override;
  ErrorOr<void> mknod(const Caller&, std::string_view name, mode_t mode, dev_t dev) override;
  ErrorOr<void> link(const Caller&, std::string_view name, Node& target) override;
  ErrorOr<void> unlink(const Caller&, std::string_view name, UnlinkKind) override;
  ErrorOr<void> rename(const Caller&, std::string_view old_name, Node& new_dir, std::string_view new_name,
                       unsigned flags) override;
  ErrorOr<void> truncate(uint64_t size) override;
  ErrorOr<void> chmod(const Caller&, mode_t mode) override;
  ErrorOr<void> chown(const Caller&, uid_t uid, gid_t gid) override;
  ErrorOr<void> set_times(const Caller&, const struct timespec& atime, const struct timespec& mtime) override;
  ErrorOr<void> allocate(int mode, uint64_t offset, uint64_t len) override;
  // The upper copy's (a host upper directory's file reaches the disk).
  ErrorOr<UniqueFd> fsync_fd() override;
  // Extended attributes: the upper copy's once there is one, else the lower
  // object's (every copy-up brings them along). A change copies up.
  ErrorOr<std::string> getxattr(std::string_view name) const override;
  ErrorOr<std::vector<std::string>> listxattr() const override;
  ErrorOr<void> setxattr(std::string_view name, std::string_view value, int flags) override;
  ErrorOr<void> removexattr(std::string_view name) override;

 private:
  OverlayNode(std::shared_ptr<OverlayFs> fs, RefPtr<OverlayNode> parent, std::string name, mode_t type,
              RefPtr<Node> upper, RefPtr<Node> lower)
      : Node(type), m_fs(std::move(fs)), m_parent(std::move(parent)), m_name(std::move(name)),
        m_upper(std::move(upper)), m_lower(std::move(lower)) {}

  enum class CopyData { Yes, No };
  // The upper object, if the node has one now. Needs the overlay lock.
  RefPtr<Node> upper_locked() const;
  // The upper object, copied up (with its parents) if it has none yet.
  ErrorOr<RefPtr<Node>> copy_up_locked(CopyData data = CopyData::Yes);
  // Fills a fresh upper copy of this node: content, owner, extended
  // attributes, mode, times and the inode number.
  ErrorOr<void> fill_copy_locked(Node& copy, const struct stat& lower_st, CopyData data);
  // The lower file open for reading and its copy for writing (host fds).
  ErrorOr<std::pair<RefPtr<File>, RefPtr<File>>> open_content_locked(Node& copy);
  // The lower object `name` of this directory, unless it is the upper
  // directory itself (ENOENT then, as for names the lower layer lacks).
  ErrorOr<RefPtr<Node>> lower_lookup_locked(std::string_view name) const;
  bool hides_locked(std::string_view name) const;
  // Whether the lower layer has `name` in this directory, visible (the
  // upper directory is not opaque).
  bool lower_has_locked(std::string_view name) const;
  ErrorOr<RefPtr<OverlayNode>> lookup_locked(std::string_view name);
  ErrorOr<std::vector<DirEntry>> list_locked() const;
  // The merged directory has no entries but "." and "..".
  ErrorOr<bool> empty_locked() const;
  // Removes the whiteouts an upper directory holds (before it goes).
  ErrorOr<void> clear_whiteouts_locked(Node& dir) const;
  // Makes `name` free in the upper directory for a new entry; returns
  // whether a whiteout stood there.
  ErrorOr<bool> take_whiteout_locked(Node& dir, std::string_view name) const;
  ErrorOr<struct stat> stat_locked() const;

  std::shared_ptr<OverlayFs> m_fs;
  RefPtr<OverlayNode> m_parent;  // null for the root
  std::string m_name;
  // Guarded by m_fs->lock.
  mutable RefPtr<Node> m_upper;
  mutable uint64_t m_upper_checked = 0;  // the generation when no upper was found
  mutable ino_t m_upper_ino = 0;  // what stat shows for m_upper (0: not known yet)
  RefPtr<Node> m_lower;  // null for objects only the upper layer has
};

}  // namespace moat::fs
