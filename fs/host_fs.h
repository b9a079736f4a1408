#pragma once
// hostfs: a host directory exposed to the sandbox. Read-only by default (the
// root under the memory overlay, read-only binds); read-write for a bind of
// a host directory made with Vfs::bind_host_path(..., Access::ReadWrite),
// whose changes reach the host directory.
//
// Isolation: a HostNode holds an O_PATH fd of one host object. Children are
// looked up one component at a time with openat(fd, name, O_PATH | O_NOFOLLOW);
// symlinks are never followed by the host kernel, only read (readlinkat) and
// resolved by the sentry in guest path space (fs/vfs.cpp). Every change is an
// *at() call on a directory's fd with one checked component (no '/', never
// "." or ".."), none of which follows a symlink in that component (O_EXCL
// creates, mkdirat, unlinkat, renameat2, linkat without AT_SYMLINK_FOLLOW);
// changes of a node itself (chmod, chown, utimensat, truncate) go through its
// own O_PATH fd (AT_EMPTY_PATH or a reopen through /proc/self/fd, which names
// the inode, not a path). So no guest path reaches outside the root fd. Host
// device nodes and sockets are never opened (EACCES, as on a nodev mount);
// FIFOs made by the guest on a writable hostfs are pipes in the sentry
// shared by the guest's openers (fs/fifo.h), not the host FIFO's buffer.
//
// Dentry cache: each hostfs knows its live nodes by (parent, name) and keeps
// the most recently looked-up ones alive, so a walk through cached
// directories makes no openat. The host may change the tree behind the
// sandbox's back, so a cached child is revalidated with one fstatat of its
// name (same device, inode and type) before it is used, unless the hostfs is
// exclusive (an OCI rootfs: nothing else writes it). Changes the sandbox
// makes keep the cache right: unlink and rename mark and move the live nodes,
// which is also how getcwd and /proc/PID/fd follow a renamed or deleted file
// on a writable hostfs (current_link).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

struct HostFs;
class HostNode;

// Host lookups off the worker: while a synchronous syscall handler runs
// (sentry/syscalls/dispatch.cpp), a path walk (Vfs::child) that meets a
// hostfs name missing from the cache does not openat on the worker's
// thread. It records the lookup here and stops with Errno::FetchHost; the
// dispatcher runs it as an io_uring openat (run), which enters the node in
// the cache, and calls the handler again. Handlers walk their paths before
// they change anything, so running one again is safe. Opens of host files,
// an overlay copy-up's data and a FIFO open's wait for its other side are
// left to the dispatcher the same way (defer_open, defer_copy, defer_wait),
// so no synchronous handler blocks its worker on the host. Stats stay
// synchronous: they act on O_PATH fds the sentry holds (in-memory inodes),
// and IORING_OP_STATX always goes through an io-wq thread (3.4x a direct
// fstatat on this machine kind).
class HostFetch {
 public:
  // The fetch of the handler the calling thread runs, or null (lookups are
  // synchronous then: sandbox setup, async handlers).
  static HostFetch* current();
  class Scope {
   public:
    explicit Scope(HostFetch& f);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    HostFetch* m_saved;
  };

  // Makes the calling thread's walks and opens synchronous while it lives
  // (work whose every step is small and must not be split into rounds: the
  // set-up of an overlay copy-up).
  class Pause {
   public:
    Pause();
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

   private:
    HostFetch* m_saved;
  };

  bool pending() const { return m_dir != nullptr || job_pending(); }
  // Whether a signal may interrupt the pending work (not a copy-up's data:
  // overlayfs copy-up is not interruptible either).
  bool interruptible() const { return !job_pending() || m_jobs.back()->interruptible; }
  // Records a lookup of name in dir unless this handler fetched it already
  // (its synchronous lookup then reports what the host said) or has made
  // too many rounds. Returns whether the walk should stop.
  bool defer(HostNode& dir, std::string_view name);
  // Whether this handler fetched name in dir (its node needs no revalidation).
  bool fetched(const HostNode& dir, std::string_view name) const;
  // The error the host gave when this handler fetched name in dir, once:
  // for the lookup that asked for the fetch (the handler may create the
  // name afterwards, an overlay copy-up for one).
  std::optional<Errno> take_fetch_error(const HostNode& dir, std::string_view name);
  // The handler changed something: from now on its walks look names up
  // synchronously, since running it again would repeat the change. Every
  // path-level change reports to the inotify hooks, which call this.
  static void freeze_current() {
    if (HostFetch* f = current()) f->m_frozen = true;
  }
  // HostNode::open: records an open of `file`'s host object (openat of
  // path relative to dir with flags) unless one was made for it already.
  bool defer_open(HostNode& file, int dir, std::string path, int flags);
  // The result of the open made for `file` (a fd or an error), once.
  std::optional<ErrorOr<UniqueFd>> take_open(const HostNode& file);
  // An overlay copy-up's data: records a copy of len bytes from src into
  // dst (both at offset 0), for the copy-up of the lower object `key` into
  // `copy`, unless this handler made one for key already or cannot defer
  // any more. run() copies on io_uring (splice through a pipe: the data
  // never enters the sentry), so a large file does not hold the worker.
  bool defer_copy(const Node& key, RefPtr<Node> copy, RefPtr<File> src, RefPtr<File> dst, uint64_t len);
  // The finished copy for key (copy or the error), once.
  std::optional<ErrorOr<RefPtr<Node>>> take_copy(const Node& key);
  // A blocking open's wait (a FIFO's for its other side): records `wait`
  // for file, opened already, under key. run() awaits it, interruptibly;
  // the handler, run again, takes the file (or the wait's error).
  using Wait = std::function<Coro<ErrorOr<void>>()>;
  bool defer_wait(const void* key, RefPtr<File> file, Wait wait);
  std::optional<ErrorOr<RefPtr<File>>> take_wait(const void* key);
  // The pending lookup or open as an io_uring openat; a looked-up node
  // enters the cache, an opened fd waits for take_open. Returns -ECANCELED
  // when a signal cancelled it, else 0 (a failed lookup is left to the
  // handler's synchronous lookup to report).
  // A pending copy runs whole, polling `abandon` between chunks (the
  // caller's process is being torn down: the copy stops with EINTR).
  Coro<int32_t> run(std::function<bool()> abandon = {});

 private:
  // Work beyond a lookup or an open: what run() awaits, and what the
  // handler takes back on its next run.
  struct Job {
    const void* key;
    bool interruptible;
    std::function<Coro<ErrorOr<void>>(const std::function<bool()>& abandon)> work;
    RefPtr<Node> hold;  // a node key, kept alive so that its address stays its own
    RefPtr<Node> node;  // a copy-up's copy
    RefPtr<File> file;  // a waiting open's description
    std::optional<ErrorOr<void>> result;  // set by run()
    bool taken = false;
  };
  bool job_pending() const { return !m_jobs.empty() && !m_jobs.back()->result; }
  bool can_defer(const void* key) const;
  // The finished job for key, once.
  Job* take_job(const void* key);
  size_t rounds() const { return m_done.size() + m_opened.size() + m_jobs.size(); }
  static Coro<ErrorOr<void>> copy_data(int src, int dst, uint64_t len, const std::function<bool()>& abandon);

  static constexpr int kMaxRounds = 64;
  RefPtr<HostNode> m_dir;  // the pending lookup's directory (or open's file)
  std::string m_name;      // its name (or the open's path)
  std::optional<std::pair<int, int>> m_open;  // a pending open: {dir fd, flags}
  struct Done {
    const HostNode* dir;
    std::string name;
    Errno error = Errno::Ok;
  };
  std::vector<Done> m_done;
  struct Opened {
    RefPtr<HostNode> file;
    ErrorOr<UniqueFd> fd;
    bool taken = false;
  };
  std::vector<Opened> m_opened;
  std::vector<std::unique_ptr<Job>> m_jobs;  // stable addresses while run() awaits
  bool m_frozen = false;
};

class HostNode final : public Node {
 public:
  // The root of a hostfs over host_dir (a directory path on the host).
  // writable: changes reach the host directory; otherwise EROFS.
  // exclusive: nothing else changes the directory while the sandbox runs,
  // so cached nodes need no revalidation.
  static ErrorOr<RefPtr<Node>> create_root(const std::string& host_dir, bool writable = false, bool exclusive = false);

  ~HostNode() override;

  const FsInfo& fs_info() const override;
  ErrorOr<struct stat> stat() const override;
  ErrorOr<struct statfs> statfs() const override;
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override;
  ErrorOr<std::string> readlink(const Caller&) const override;
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override;
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override;

  // Changes: EROFS unless the hostfs is writable.
  ErrorOr<RefPtr<Node>> create(const Caller&, std::string_view name, mode_t mode) override;
  ErrorOr<RefPtr<Node>> create_tmpfile(const Caller&, mode_t mode, Linkable) override;
  ErrorOr<void> mkdir(const Caller&, std::string_view name, mode_t mode) override;
  ErrorOr<void> symlink(const Caller&, std::string_view name, std::string_view target) override;
  ErrorOr<void> mknod(const Caller&, std::string_view name, mode_t mode, dev_t dev) override;
  ErrorOr<void> link(const Caller&, std::string_view name, Node& target) override;
  ErrorOr<void> unlink(const Caller&, std::string_view name, UnlinkKind) override;
  // EXDEV unless new_dir is a node of the same hostfs (mount).
  ErrorOr<void> rename(const Caller&, std::string_view old_name, Node& new_dir, std::string_view new_name,
                       unsigned flags) override;
  ErrorOr<void> truncate(uint64_t size) override;
  ErrorOr<void> chmod(const Caller&, mode_t mode) override;
  ErrorOr<void> chown(const Caller&, uid_t uid, gid_t gid) override;
  ErrorOr<void> set_times(const Caller&, const struct timespec& atime, const struct timespec& mtime) override;
  ErrorOr<void> allocate(int mode, uint64_t offset, uint64_t len) override;
  // A directory or file node's fd to flush (fsync(2) of an open host file
  // goes through HostFile::fsync).
  ErrorOr<UniqueFd> fsync_fd() override;
  // The host object's extended attributes, through its O_PATH fd.
  ErrorOr<std::string> getxattr(std::string_view name) const override;
  ErrorOr<std::vector<std::string>> listxattr() const override;
  ErrorOr<void> setxattr(std::string_view name, std::string_view value, int flags) override;
  ErrorOr<void> removexattr(std::string_view name) override;

  // Writable hostfs only (a read-only tree never changes under the sandbox).
  std::optional<Link> current_link() const override;
  void drop_caches() override;
  bool defer_lookup(HostFetch& fetch, std::string_view name) override;

  int path_fd() const { return m_fd.get(); }
  bool writable() const;

 private:
  friend struct HostFs;
  friend class HostFetch;
  HostNode(std::shared_ptr<HostFs> fs, UniqueFd fd, const struct stat& st, RefPtr<HostNode> parent, std::string name)
      : Node(st.st_mode), m_fs(std::move(fs)), m_fd(std::move(fd)), m_dev(st.st_dev), m_ino(st.st_ino),
        m_parent(std::move(parent)), m_name(std::move(name)) {}
  // A new node for a child opened as fd (O_PATH), entered in the cache.
  RefPtr<HostNode> adopt_child(UniqueFd fd, const struct stat& st, std::string name);
  // Whether `name` in this directory still is the object `cached` stands for.
  bool still_names(std::string_view name, const HostNode& cached) const;
  // EROFS on a read-only hostfs, ENOTDIR when this is no directory, and the
  // checks of a new name (EINVAL, ENAMETOOLONG).
  ErrorOr<std::string> check_new_name(std::string_view name) const;
  // A node for the object behind fd (any fd of it), a child named name.
  ErrorOr<RefPtr<Node>> node_for_fd(int fd, std::string name);
  // An fd of this regular file opened with flags, by inode (not by name).
  ErrorOr<UniqueFd> reopen(int flags) const;
  // How open(2) of this regular file reaches the host: openat(dir, path,
  // flags), non-blocking until settle_open has seen a regular file. A
  // writable hostfs opens by inode (the name may have changed since the
  // lookup), a read-only one by name in its parent.
  struct OpenSpec {
    int dir;
    std::string path;
    int flags;
  };
  ErrorOr<OpenSpec> open_spec(int host_flags) const;
  // Refuses anything but a regular file (a FIFO or device swapped in), then
  // clears O_NONBLOCK, keeping O_APPEND when asked.
  static ErrorOr<UniqueFd> settle_open(UniqueFd fd, int keep_flags);
  // New objects belong to the caller and get exactly mode (the host umask
  // does not apply): through the new object's O_PATH fd.
  ErrorOr<void> adopt_new(int fd, const Caller& caller, mode_t mode, bool set_mode) const;

  std::shared_ptr<HostFs> m_fs;
  UniqueFd m_fd;  // O_PATH | O_NOFOLLOW
  dev_t m_dev;    // the host object's identity, for revalidation
  ino_t m_ino;
  // Where the node lives: read-only regular files are (re)opened for reading
  // with openat(parent, name). Guarded by the hostfs's cache lock on a
  // writable hostfs, where rename and unlink change them.
  RefPtr<HostNode> m_parent;
  std::string m_name;
  bool m_removed = false;  // unlinked (or renamed over) through the sandbox
};

// A regular host file opened for reading (and writing on a writable hostfs).
// Its stat is its node's, so that an overlay above shows one inode through
// paths and descriptors alike. Reads, writes and fsync go through the
// worker's io_uring.
class HostFile final : public File {
 public:
  static RefPtr<File> create(const Location& loc, int flags, UniqueFd fd) {
    return RefPtr<File>::adopt(new HostFile(loc, flags, std::move(fd)));
  }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset) override;
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) override;
  ErrorOr<void> truncate(uint64_t size) override;
  int mmap_fd() const override { return m_fd.get(); }
  // fsync(2) / fdatasync(2) with IORING_OP_FSYNC; nothing to do for a file
  // of a read-only hostfs.
  Coro<ErrorOr<void>> fsync(bool datasync);

 private:
  HostFile(Location loc, int flags, UniqueFd fd) : File(std::move(loc), flags), m_fd(std::move(fd)) {}
  // Makes the host fd's O_APPEND match the description's (F_SETFL may have
  // changed it), so that the host kernel appends atomically.
  ErrorOr<void> sync_append(bool append);
  UniqueFd m_fd;
  std::atomic<bool> m_host_append{false};
};

}  // namespace moat::fs
