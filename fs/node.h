#pragma once
// VFS core types: Node (an inode-like object of one filesystem), Location (a
// resolved guest path: the chain of nodes from the sandbox root), Caller (who
// asks, for permission checks and /proc/self).
//
// Lock order of fs/: FsContext -> FdTable -> MountNs::lock (fs/mounts.h) ->
// TmpFs::m_lock. No fs/ lock is held across a co_await.

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "base/unique_fd.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

class File;
class Node;

// Who performs an operation. process is null in unit tests; procfs then shows
// no process directories.
struct Caller {
  Process* process = nullptr;
  uid_t uid = 0;  // the uid and gid used for permission checks (fsuid)
  gid_t gid = 0;

  static Caller of(Process& p) { return Caller{&p, p.creds.euid, p.creds.egid}; }
  // Whether gid is the caller's group or one of its supplementary groups
  // (in_group_p).
  bool in_group(gid_t g) const;
};

// One filesystem instance; its dev number is what stat reports for synthetic
// nodes (host nodes report the host's st_dev).
struct FsInfo {
  dev_t dev = 0;
  long magic = 0;  // statfs f_type
  bool read_only = false;
  const char* name = "";
};

// statfs f_flags: Linux reports ST_VALID beside the mount flags
// (calculate_f_flags); the sandbox's mounts are all relatime.
constexpr unsigned long kStValid = 0x0020;
constexpr unsigned long kDefaultStatfsFlags = kStValid | 0x1000 /* ST_RELATIME */;

struct DirEntry {
  std::string name;
  ino_t ino = 0;
  unsigned char type = 0;  // DT_*
};

struct PathEntry {
  std::string name;  // "" for the root
  RefPtr<Node> node;
};

// A resolved path: entries[0] is the sandbox root, each further entry a child
// of the one before it. ".." pops an entry, which is why no walk can climb
// above the root: there is nothing above entries[0].
struct Location {
  std::vector<PathEntry> entries;
  // An anonymous file's location (pipe, stdio): one entry, not under the root.
  bool anonymous = false;

  bool empty() const { return entries.empty(); }
  Node& node() const { return *entries.back().node; }
  RefPtr<Node> node_ref() const { return entries.back().node; }
  // The path as recorded when the location was resolved.
  std::string path() const;
  bool contains(const Node* n) const;
  // The location as it stands now, after renames of the node or of its
  // ancestors (like d_path() following dentries). removed is set when the
  // node has been unlinked; the recorded location is returned then.
  Location current(bool* removed = nullptr) const;
  // current().path(), with " (deleted)" appended for a removed node, as
  // /proc/PID/fd and /proc/PID/cwd show it.
  std::string display_path() const;
};

enum class UnlinkKind { File, Dir };

// Whether an O_TMPFILE file may be given a name with linkat(2) (opened
// without O_EXCL: Linux's I_LINKABLE).
enum class Linkable { No, Yes };

class HostFetch;

class Node : public RefCounted<Node> {
 public:
  virtual ~Node() = default;

  mode_t type() const { return m_type; }  // S_IFMT bits
  bool is_dir() const { return S_ISDIR(m_type); }
  bool is_symlink() const { return S_ISLNK(m_type); }
  bool is_regular() const { return S_ISREG(m_type); }

  virtual const FsInfo& fs_info() const = 0;
  virtual ErrorOr<struct stat> stat() const = 0;
  // statfs(2) of the filesystem holding the node; by default made up from
  // fs_info() (no block counts).
  virtual ErrorOr<struct statfs> statfs() const;

  // Looks a child up without following symlinks. ENOTDIR for non-directories.
  virtual ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) { return Errno::NOTDIR; }
  virtual ErrorOr<std::string> readlink(const Caller&) const { return Errno::INVAL; }
  // Directory entries including "." and "..".
  virtual ErrorOr<std::vector<DirEntry>> list(const Caller&) const { return Errno::NOTDIR; }
  // Opens a file description on this node; loc is the node's own location.
  // Access checks are done by the caller (fs/ops.cpp).
  virtual ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) = 0;

  // Directory mutation. Read-only filesystems answer EROFS.
  virtual ErrorOr<RefPtr<Node>> create(const Caller&, std::string_view name, mode_t mode) { return refuse(); }
  // open(2) with O_TMPFILE in this directory: a regular file no directory
  // holds (nlink 0). Filesystems without them answer EOPNOTSUPP.
  virtual ErrorOr<RefPtr<Node>> create_tmpfile(const Caller&, mode_t mode, Linkable) { return Errno::NOTSUP; }
  virtual ErrorOr<void> mkdir(const Caller&, std::string_view name, mode_t mode) { return refuse(); }
  virtual ErrorOr<void> symlink(const Caller&, std::string_view name, std::string_view target) { return refuse(); }
  // mknod(2) of a FIFO, socket or device node (regular files go through
  // create). Device nodes are refused before this (fs/ops.cpp).
  virtual ErrorOr<void> mknod(const Caller&, std::string_view name, mode_t mode, dev_t dev) { return refuse(); }
  // A new name for target, a node of the same filesystem (link(2)).
  virtual ErrorOr<void> link(const Caller&, std::string_view name, Node& target) { return refuse(); }
  virtual ErrorOr<void> unlink(const Caller&, std::string_view name, UnlinkKind) { return refuse(); }
  // Renames child old_name of this directory to new_name in new_dir (same fs).
  virtual ErrorOr<void> rename(const Caller&, std::string_view old_name, Node& new_dir, std::string_view new_name,
                               unsigned flags) {
    return refuse();
  }
  virtual ErrorOr<void> truncate(uint64_t size) { return refuse(); }
  // chmod(2) on this node: the owner or a privileged caller; EROFS on a
  // read-only filesystem (refuse()).
  virtual ErrorOr<void> chmod(const Caller&, mode_t mode) { return refuse(); }
  // chown(2): (uid_t)-1 and (gid_t)-1 keep the current ids. Checks
  // may_chown; clears the set-id bits of non-directories.
  virtual ErrorOr<void> chown(const Caller&, uid_t uid, gid_t gid) { return refuse(); }
  // utimensat(2): each time may be UTIME_NOW or UTIME_OMIT. Checks
  // may_set_times; ctime becomes now.
  virtual ErrorOr<void> set_times(const Caller&, const struct timespec& atime, const struct timespec& mtime) {
    return refuse();
  }
  // fallocate(2) on a regular file (the description is checked by the caller).
  virtual ErrorOr<void> allocate(int mode, uint64_t offset, uint64_t len) { return Errno::NOTSUP; }
  // fsync(2): the host fd whose fsync flushes this node (the caller runs it
  // on io_uring), or none when the sandbox holds nothing to flush (memory
  // filesystems, read-only host files). Filesystems without fsync answer
  // EINVAL, as Linux does for files whose f_op has no fsync (procfs,
  // devices, pipes).
  virtual ErrorOr<UniqueFd> fsync_fd() { return Errno::INVAL; }

  // Extended attributes (xattr(7)) by full name ("user.k"). The namespace
  // and permission rules are the caller's (sentry/syscalls/xattr.cpp).
  // Filesystems without xattrs answer EOPNOTSUPP (EROFS to changes on a
  // read-only filesystem) and list nothing.
  virtual ErrorOr<std::string> getxattr(std::string_view name) const { return Errno::NOTSUP; }
  virtual ErrorOr<std::vector<std::string>> listxattr() const { return std::vector<std::string>{}; }
  // flags: XATTR_CREATE (EEXIST), XATTR_REPLACE (ENODATA).
  virtual ErrorOr<void> setxattr(std::string_view name, std::string_view value, int flags) {
    return fs_info().read_only ? Errno::ROFS : Errno::NOTSUP;
  }
  virtual ErrorOr<void> removexattr(std::string_view name) {
    return fs_info().read_only ? Errno::ROFS : Errno::NOTSUP;
  }

  // A magic link (/proc/PID/fd/N) resolves to an open file, not to a path.
  virtual RefPtr<File> magic_target() const;

  // Where the node now lives, for filesystems whose tree changes (tmpfs):
  // its parent directory and name there, or a null parent once removed.
  // nullopt for nodes that do not track it (mount roots, read-only and
  // synthetic trees): the names recorded in a Location stand for them.
  struct Link {
    RefPtr<Node> parent;
    std::string name;
  };
  virtual std::optional<Link> current_link() const { return std::nullopt; }

  // Releases the nodes a filesystem's lookup cache keeps alive (hostfs):
  // called when a mount of it goes away, which also breaks the cache's
  // reference cycle (cached node -> filesystem -> cache) at sandbox teardown.
  virtual void drop_caches() {}

  // Whether looking `name` up here would wait for the host (a hostfs name
  // not in the cache): if so, the lookup is left to `fetch` (fs/host_fs.h)
  // and the walk stops with Errno::FetchHost.
  virtual bool defer_lookup(HostFetch& fetch, std::string_view name) { return false; }

 protected:
  explicit Node(mode_t type) : m_type(type & S_IFMT) {}
  Errno refuse() const { return fs_info().read_only ? Errno::ROFS : Errno::PERM; }

 private:
  mode_t m_type;
};

// Checks mask (R_OK | W_OK | X_OK) against the mode bits as Linux
// generic_permission() does: uid 0 passes r/w always, x only when the node is
// a directory or has some x bit.
ErrorOr<void> check_access(const struct stat& st, const Caller& caller, int mask);

// The ownership rules of chown(2) (chown_ok, chgrp_ok): uid 0 may do
// anything; the owner may keep its uid and give the file to one of its
// groups; anything else is EPERM.
ErrorOr<void> may_chown(const Caller& caller, const struct stat& st, uid_t uid, gid_t gid);

// The rules of utimensat(2): the owner (or uid 0) may set any time; others
// may only set both to now (a touch), with write access (EACCES), and get
// EPERM for anything else.
ErrorOr<void> may_set_times(const Caller& caller, const struct stat& st, const struct timespec& atime,
                            const struct timespec& mtime);

// The mode a chown leaves: set-user-id goes, and set-group-id with group
// execute, on non-directories (notify_change with ATTR_KILL_SUID / SGID).
mode_t mode_after_chown(mode_t mode);

// DT_* for S_IF* bits.
unsigned char dirent_type(mode_t mode);

// Fills the fields every synthetic node shares.
struct stat synthetic_stat(const FsInfo& fs, ino_t ino, mode_t mode, off_t size, nlink_t nlink = 1);

}  // namespace moat::fs
