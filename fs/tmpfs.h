#pragma once
// tmpfs: an in-memory, writable directory tree. Regular files are each backed
// by a memfd so the stub can mmap them (MAP_SHARED stays coherent).
//
// Locking: one mutex per tmpfs instance (TmpFs::lock) guards the tree shape
// and all metadata; file data lives in the memfds and is read and written
// with pread/pwrite outside the lock.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/unique_fd.h"
#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

struct TmpFs {
  FsInfo info;
  std::mutex lock;
  std::atomic<ino_t> next_ino{1};
  std::atomic<uint64_t> live_nodes{0};  // for statfs f_ffree
  // mount -o size= (0: unlimited): file pages beyond it are ENOSPC.
  std::atomic<uint64_t> max_bytes{0};
  std::atomic<uint64_t> used_bytes{0};  // counted only while max_bytes is set
};

struct FifoState;  // fs/fifo.h

class TmpNode final : public Node {
 public:
  // A fresh tmpfs; its root directory has the given mode (e.g. 01777 for /tmp).
  // Inode numbers start at first_ino.
  static RefPtr<Node> create_root(dev_t dev, mode_t mode, const char* name = "tmpfs", bool read_only = false,
                                  ino_t first_ino = 1);
  ~TmpNode() override;

  const FsInfo& fs_info() const override { return m_fs->info; }
  ErrorOr<struct stat> stat() const override;
  ErrorOr<struct statfs> statfs() const override;
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override;
  ErrorOr<std::string> readlink(const Caller&) const override;
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override;
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override;
  ErrorOr<RefPtr<Node>> create(const Caller&, std::string_view name, mode_t mode) override;
  // A regular file of this directory's filesystem that no directory holds
  // (nlink 0), over memfd: memfd_create(2) and O_TMPFILE. A linkable one may
  // get a name with linkat(2) (O_TMPFILE without O_EXCL: I_LINKABLE).
  ErrorOr<RefPtr<TmpNode>> create_unlinked(const Caller&, mode_t mode, UniqueFd memfd, Linkable linkable);
  ErrorOr<RefPtr<Node>> create_tmpfile(const Caller&, mode_t mode, Linkable linkable) override;
  ErrorOr<void> mkdir(const Caller&, std::string_view name, mode_t mode) override;
  ErrorOr<void> unlink(const Caller&, std::string_view name, UnlinkKind kind) override;
  ErrorOr<void> rename(const Caller&, std::string_view old_name, Node& new_dir, std::string_view new_name,
                       unsigned flags) override;
  ErrorOr<void> truncate(uint64_t size) override;
  std::optional<Link> current_link() const override;
  ErrorOr<void> chmod(const Caller&, mode_t mode) override;
  ErrorOr<void> chown(const Caller&, uid_t uid, gid_t gid) override;
  ErrorOr<void> set_times(const Caller&, const struct timespec& atime, const struct timespec& mtime) override;
  ErrorOr<void> symlink(const Caller&, std::string_view name, std::string_view target) override;
  ErrorOr<void> mknod(const Caller&, std::string_view name, mode_t mode, dev_t dev) override;
  ErrorOr<void> link(const Caller&, std::string_view name, Node& target) override;
  ErrorOr<void> allocate(int mode, uint64_t offset, uint64_t len) override;
  ErrorOr<UniqueFd> fsync_fd() override { return UniqueFd(); }
  ErrorOr<std::string> getxattr(std::string_view name) const override;
  ErrorOr<std::vector<std::string>> listxattr() const override;
  ErrorOr<void> setxattr(std::string_view name, std::string_view value, int flags) override;
  ErrorOr<void> removexattr(std::string_view name) override;

  int memfd() const { return m_memfd.get(); }
  void touch_modified();
  // tmpfs size=: sets the limit of this node's filesystem. reserve()
  // accounts a write of len bytes at offset: how many of them fit (ENOSPC
  // for none).
  void set_size_limit(uint64_t bytes);
  ErrorOr<size_t> reserve(uint64_t offset, size_t len);

  // For the overlay, whose upper layer is a private tmpfs (fs/overlay.h):
  // a whiteout is a character device 0/0; an opaque directory hides the
  // lower directory of its name; a copied-up object keeps the lower inode
  // number.
  bool is_whiteout() const { return S_ISCHR(type()) && m_rdev == 0; }
  bool opaque() const;
  void set_opaque(bool opaque);
  void set_ino(ino_t ino);

 private:
  TmpNode(std::shared_ptr<TmpFs> fs, mode_t mode, uid_t uid, gid_t gid);
  ErrorOr<RefPtr<TmpNode>> make_child_locked(const Caller&, std::string_view name, mode_t mode);
  // Forgets that this node is linked as name in parent (unlink, rename over).
  void unlink_from_locked(const TmpNode* parent, std::string_view name);

  std::shared_ptr<TmpFs> m_fs;
  // Guarded by m_fs->lock.
  ino_t m_ino;
  mode_t m_mode;
  uid_t m_uid;
  gid_t m_gid;
  nlink_t m_nlink = 1;
  ino_t m_parent_ino = 0;
  // The directory holding this node and its name there; null for the root and
  // once removed. A linked node's parent is linked too (rmdir needs an empty
  // directory), so the raw pointer never dangles.
  TmpNode* m_parent = nullptr;
  std::string m_name;
  bool m_dead = false;  // a removed directory: no new entries
  uint64_t m_charged = 0;  // bytes (whole pages) counted in TmpFs::used_bytes
  bool m_opaque = false;
  bool m_linkable = false;  // an O_TMPFILE file that linkat(2) may name
  dev_t m_rdev = 0;     // device nodes
  struct timespec m_atime {}, m_mtime {}, m_ctime {};
  std::map<std::string, RefPtr<TmpNode>, std::less<>> m_children;
  std::map<std::string, std::string, std::less<>> m_xattrs;
  std::string m_target;  // symlinks
  UniqueFd m_memfd;      // regular files; immutable after creation
  std::shared_ptr<FifoState> m_fifo;  // FIFOs; immutable after creation
};

class TmpFile final : public File {
 public:
  // name: what /proc/self/fd shows for an anonymous location (memfd_create:
  // "/memfd:NAME (deleted)"); empty for files with a path.
  static RefPtr<File> create(const Location& loc, int flags, RefPtr<TmpNode> node, std::string name = {}) {
    return RefPtr<File>::adopt(new TmpFile(loc, flags, std::move(node), std::move(name)));
  }
  std::string path() const override { return m_name.empty() ? File::path() : m_name; }
  // Opening /proc/self/fd/N of a memfd gives a new description of it.
  ErrorOr<RefPtr<File>> reopen(int flags) override { return create(location(), flags, m_node, m_name); }
  TmpNode& tmp_node() const { return *m_node; }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset) override;
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) override;
  ErrorOr<size_t> pwrite_sync(std::span<const std::byte> buf, int64_t offset);
  int mmap_fd() const override { return m_node->memfd(); }
  ErrorOr<void> truncate(uint64_t size) override { return m_node->truncate(size); }

 private:
  TmpFile(Location loc, int flags, RefPtr<TmpNode> node, std::string name)
      : File(std::move(loc), flags), m_node(std::move(node)), m_name(std::move(name)) {}
  RefPtr<TmpNode> m_node;
  std::string m_name;
};

}  // namespace moat::fs
