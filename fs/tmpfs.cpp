#include "fs/tmpfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <vector>

#include "fs/fifo.h"

namespace moat::fs {

namespace {
struct timespec now() {
  struct timespec t {};
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}
}  // namespace

TmpNode::TmpNode(std::shared_ptr<TmpFs> fs, mode_t mode, uid_t uid, gid_t gid)
    : Node(mode), m_fs(std::move(fs)), m_ino(m_fs->next_ino.fetch_add(1)), m_mode(mode), m_uid(uid), m_gid(gid) {
  m_atime = m_mtime = m_ctime = now();
  if (S_ISDIR(mode)) m_nlink = 2;
  m_fs->live_nodes.fetch_add(1, std::memory_order_relaxed);
}

TmpNode::~TmpNode() {
  m_fs->live_nodes.fetch_sub(1, std::memory_order_relaxed);
  // Not under m_fs->lock: the last reference may go while it is held.
  if (m_charged) m_fs->used_bytes.fetch_sub(m_charged);
}

void TmpNode::set_size_limit(uint64_t bytes) { m_fs->max_bytes.store(bytes); }

ErrorOr<size_t> TmpNode::reserve(uint64_t offset, size_t len) {
  uint64_t max = m_fs->max_bytes.load(std::memory_order_relaxed);
  if (!max || len == 0) return len;
  std::lock_guard lock(m_fs->lock);
  uint64_t end = (offset + len + 4095) / 4096 * 4096;
  if (end <= m_charged) return len;
  uint64_t used = m_fs->used_bytes.load();
  uint64_t avail = max > used ? max - used : 0;
  uint64_t grow = std::min(end - m_charged, avail / 4096 * 4096);
  uint64_t charged = m_charged + grow;
  if (charged <= offset) return Errno::NOSPC;
  m_fs->used_bytes += grow;
  m_charged = charged;
  return static_cast<size_t>(std::min<uint64_t>(len, charged - offset));
}

RefPtr<Node> TmpNode::create_root(dev_t dev, mode_t mode, const char* name, bool read_only, ino_t first_ino) {
  auto fs = std::make_shared<TmpFs>();
  fs->info = FsInfo{dev, 0x01021994 /* TMPFS_MAGIC */, read_only, name};
  fs->next_ino = first_ino;
  auto* root = new TmpNode(std::move(fs), S_IFDIR | (mode & 07777), 0, 0);
  root->m_parent_ino = root->m_ino;
  return RefPtr<Node>::adopt(root);
}

ErrorOr<struct statfs> TmpNode::statfs() const {
  struct statfs sf = TRY(Node::statfs());
  // tmpfs's defaults: half of RAM, and an inode per two of its pages. Pages
  // in use are not counted (FIXME: account memfd sizes).
  long pages = sysconf(_SC_PHYS_PAGES);
  sf.f_blocks = sf.f_bfree = sf.f_bavail = static_cast<fsblkcnt_t>(pages > 0 ? pages / 2 : 0);
  sf.f_files = static_cast<fsfilcnt_t>(pages > 0 ? pages / 4 : 0);
  uint64_t used = m_fs->live_nodes.load(std::memory_order_relaxed);
  sf.f_ffree = sf.f_files > used ? sf.f_files - used : 0;
  if (uint64_t max = m_fs->max_bytes.load()) {
    std::lock_guard lock(m_fs->lock);
    sf.f_blocks = max / 4096;
    sf.f_bfree = sf.f_bavail = (max - std::min(max, m_fs->used_bytes.load())) / 4096;
  }
  return sf;
}

bool TmpNode::opaque() const {
  std::lock_guard lock(m_fs->lock);
  return m_opaque;
}

void TmpNode::set_opaque(bool opaque) {
  std::lock_guard lock(m_fs->lock);
  m_opaque = opaque;
}

void TmpNode::set_ino(ino_t ino) {
  std::lock_guard lock(m_fs->lock);
  if (m_parent_ino == m_ino) m_parent_ino = ino;  // a root is its own parent
  m_ino = ino;
  for (auto& [name, child] : m_children) child->m_parent_ino = ino;
}

ErrorOr<struct stat> TmpNode::stat() const {
  std::lock_guard lock(m_fs->lock);
  off_t size = 0;
  blkcnt_t blocks = -1;
  if (is_regular()) {
    struct stat mst {};
    if (::fstat(m_memfd.get(), &mst) < 0) return last_host_errno();
    size = mst.st_size;
    blocks = mst.st_blocks;  // the pages the memfd holds (fallocate, holes)
  } else if (is_dir()) {
    size = static_cast<off_t>((m_children.size() + 2) * 20);
  } else if (is_symlink()) {
    size = static_cast<off_t>(m_target.size());
  }
  struct stat st = synthetic_stat(m_fs->info, m_ino, m_mode, size, m_nlink);
  st.st_rdev = m_rdev;
  if (blocks >= 0) st.st_blocks = blocks;
  st.st_uid = m_uid;
  st.st_gid = m_gid;
  st.st_atim = m_atime;
  st.st_mtim = m_mtime;
  st.st_ctim = m_ctime;
  return st;
}

ErrorOr<RefPtr<Node>> TmpNode::lookup(const Caller&, std::string_view name) {
  if (!is_dir()) return Errno::NOTDIR;
  std::lock_guard lock(m_fs->lock);
  auto it = m_children.find(name);
  if (it == m_children.end()) return Errno::NOENT;
  return RefPtr<Node>(it->second);
}

ErrorOr<std::string> TmpNode::readlink(const Caller&) const {
  if (!is_symlink()) return Errno::INVAL;
  return m_target;  // immutable after creation
}

ErrorOr<std::vector<DirEntry>> TmpNode::list(const Caller&) const {
  if (!is_dir()) return Errno::NOTDIR;
  std::lock_guard lock(m_fs->lock);
  std::vector<DirEntry> out;
  out.push_back(DirEntry{".", m_ino, DT_DIR});
  out.push_back(DirEntry{"..", m_parent_ino, DT_DIR});
  for (const auto& [name, child] : m_children) out.push_back(DirEntry{name, child->m_ino, dirent_type(child->m_mode)});
  return out;
}

ErrorOr<RefPtr<File>> TmpNode::open(const Caller& caller, const Location& loc, int flags) {
  if (is_dir()) return DirFile::create(loc, flags, caller);
  if (is_symlink()) return Errno::LOOP;
  if (S_ISFIFO(type())) return open_fifo(m_fifo, loc, flags);
  if (S_ISSOCK(type())) return Errno::NXIO;  // no socket bound to it
  if (!is_regular()) return Errno::ACCES;  // device nodes: nodev, as on the host root
  return TmpFile::create(loc, flags, RefPtr<TmpNode>(this));
}

ErrorOr<RefPtr<TmpNode>> TmpNode::make_child_locked(const Caller& caller, std::string_view name, mode_t mode) {
  if (!is_dir()) return Errno::NOTDIR;
  if (m_fs->info.read_only) return Errno::ROFS;
  if (m_dead) return Errno::NOENT;
  if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  if (m_children.contains(name)) return Errno::EXIST;
  // New files take the group of a setgid directory (inode_init_owner).
  gid_t gid = (m_mode & S_ISGID) ? m_gid : caller.gid;
  if (S_ISDIR(mode) && (m_mode & S_ISGID)) mode |= S_ISGID;
  auto node = RefPtr<TmpNode>::adopt(new TmpNode(m_fs, mode, caller.uid, gid));
  node->m_parent_ino = m_ino;
  node->m_parent = this;
  node->m_name = std::string(name);
  m_children.emplace(std::string(name), node);
  m_mtime = m_ctime = now();
  return node;
}

ErrorOr<RefPtr<Node>> TmpNode::create(const Caller& caller, std::string_view name, mode_t mode) {
  UniqueFd memfd(::memfd_create("moat-tmpfs", MFD_CLOEXEC));
  if (!memfd) return last_host_errno();
  std::lock_guard lock(m_fs->lock);
  auto node = TRY(make_child_locked(caller, name, S_IFREG | (mode & 07777)));
  node->m_memfd = std::move(memfd);
  return RefPtr<Node>(node);
}

ErrorOr<RefPtr<TmpNode>> TmpNode::create_unlinked(const Caller& caller, mode_t mode, UniqueFd memfd,
                                                  Linkable linkable) {
  if (!is_dir()) return Errno::NOTDIR;
  if (m_fs->info.read_only) return Errno::ROFS;
  std::lock_guard lock(m_fs->lock);
  if (m_dead) return Errno::NOENT;
  gid_t gid = (m_mode & S_ISGID) ? m_gid : caller.gid;
  auto node = RefPtr<TmpNode>::adopt(new TmpNode(m_fs, S_IFREG | (mode & 07777), caller.uid, gid));
  node->m_nlink = 0;
  node->m_parent_ino = m_ino;
  node->m_linkable = linkable == Linkable::Yes;
  node->m_memfd = std::move(memfd);
  return node;
}

ErrorOr<RefPtr<Node>> TmpNode::create_tmpfile(const Caller& caller, mode_t mode, Linkable linkable) {
  UniqueFd memfd(::memfd_create("moat-tmpfs", MFD_CLOEXEC));
  if (!memfd) return last_host_errno();
  return RefPtr<Node>(TRY(create_unlinked(caller, mode, std::move(memfd), linkable)));
}

ErrorOr<void> TmpNode::mkdir(const Caller& caller, std::string_view name, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  TRY(make_child_locked(caller, name, S_IFDIR | (mode & 07777)));
  ++m_nlink;
  return {};
}

ErrorOr<void> TmpNode::symlink(const Caller& caller, std::string_view name, std::string_view target) {
  std::lock_guard lock(m_fs->lock);
  auto node = TRY(make_child_locked(caller, name, S_IFLNK | 0777));
  node->m_target = std::string(target);
  return {};
}

void TmpNode::unlink_from_locked(const TmpNode* parent, std::string_view name) {
  // A file with several links tracks one of them; others come and go freely.
  if (m_parent == parent && m_name == name) m_parent = nullptr;
}

ErrorOr<void> TmpNode::mknod(const Caller& caller, std::string_view name, mode_t mode, dev_t dev) {
  if (S_ISREG(mode) || (mode & S_IFMT) == 0) {
    TRY(create(caller, name, mode & 07777));
    return {};
  }
  if (!S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode)) return Errno::INVAL;
  std::lock_guard lock(m_fs->lock);
  auto node = TRY(make_child_locked(caller, name, (mode & S_IFMT) | (mode & 07777)));
  if (S_ISCHR(mode) || S_ISBLK(mode)) node->m_rdev = dev;
  if (S_ISFIFO(mode)) node->m_fifo = make_fifo_state();
  return {};
}

ErrorOr<void> TmpNode::link(const Caller&, std::string_view name, Node& target_node) {
  auto* target = dynamic_cast<TmpNode*>(&target_node);
  if (!target || target->m_fs != m_fs) return Errno::XDEV;
  if (target->is_dir()) return Errno::PERM;
  if (!is_dir()) return Errno::NOTDIR;
  if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  if (m_dead) return Errno::NOENT;
  if (m_children.contains(name)) return Errno::EXIST;
  // An unlinked file cannot come back (linkat(AT_EMPTY_PATH) of an open fd),
  // but for an O_TMPFILE one opened without O_EXCL (I_LINKABLE).
  if (target->m_nlink == 0 && !target->m_linkable) return Errno::NOENT;
  m_children.emplace(std::string(name), RefPtr<TmpNode>(target));
  if (target->m_nlink++ == 0) {
    target->m_linkable = false;
    target->m_parent = this;
    target->m_parent_ino = m_ino;
    target->m_name = std::string(name);
  }
  auto stamp = now();
  target->m_ctime = stamp;
  m_mtime = m_ctime = stamp;
  return {};
}

ErrorOr<void> TmpNode::unlink(const Caller&, std::string_view name, UnlinkKind kind) {
  if (!is_dir()) return Errno::NOTDIR;
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  auto it = m_children.find(name);
  if (it == m_children.end()) return Errno::NOENT;
  TmpNode& child = *it->second;
  if (kind == UnlinkKind::File && child.is_dir()) return Errno::ISDIR;
  if (kind == UnlinkKind::Dir) {
    if (!child.is_dir()) return Errno::NOTDIR;
    if (!child.m_children.empty()) return Errno::NOTEMPTY;
    child.m_dead = true;
    child.m_nlink = 0;
    --m_nlink;
  } else {
    --child.m_nlink;
    child.m_ctime = now();
  }
  if (kind == UnlinkKind::Dir)
    child.m_parent = nullptr;
  else
    child.unlink_from_locked(this, name);
  m_children.erase(it);
  m_mtime = m_ctime = now();
  return {};
}

// Mirrors vfs_rename(): the subtree check (EINVAL) is done by the caller,
// which knows the ancestors of new_dir.
ErrorOr<void> TmpNode::rename(const Caller&, std::string_view old_name, Node& new_dir_node, std::string_view new_name,
                              unsigned flags) {
  auto* new_dir = dynamic_cast<TmpNode*>(&new_dir_node);
  if (!new_dir || new_dir->m_fs != m_fs) return Errno::XDEV;
  if (!is_dir() || !new_dir->is_dir()) return Errno::NOTDIR;
  if (new_name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  auto old_it = m_children.find(old_name);
  if (old_it == m_children.end()) return Errno::NOENT;
  RefPtr<TmpNode> source = old_it->second;
  auto new_it = new_dir->m_children.find(new_name);
  RefPtr<TmpNode> target = new_it == new_dir->m_children.end() ? RefPtr<TmpNode>() : new_it->second;
  if (new_dir->m_dead) return Errno::NOENT;
  if ((flags & RENAME_EXCHANGE) && !target) return Errno::NOENT;
  if ((flags & RENAME_NOREPLACE) && target) return Errno::EXIST;
  if (target == source) return {};
  auto stamp = now();
  if (flags & RENAME_EXCHANGE) {
    if (source->is_dir() != target->is_dir() && this != new_dir) {
      if (source->is_dir()) --m_nlink, ++new_dir->m_nlink;
      else ++m_nlink, --new_dir->m_nlink;
    }
    old_it->second = target;
    new_it->second = source;
    std::swap(source->m_parent_ino, target->m_parent_ino);
    std::swap(source->m_parent, target->m_parent);
    std::swap(source->m_name, target->m_name);
    source->m_ctime = target->m_ctime = stamp;
  } else {
    if (target) {
      if (source->is_dir() && !target->is_dir()) return Errno::NOTDIR;
      if (!source->is_dir() && target->is_dir()) return Errno::ISDIR;
      if (target->is_dir()) {
        if (!target->m_children.empty()) return Errno::NOTEMPTY;
        target->m_dead = true;
        target->m_nlink = 0;
        --new_dir->m_nlink;
        target->m_parent = nullptr;
      } else {
        --target->m_nlink;
        target->unlink_from_locked(new_dir, new_name);
      }
      target->m_ctime = stamp;
    }
    m_children.erase(old_it);
    new_dir->m_children.insert_or_assign(std::string(new_name), source);
    if (source->is_dir() && this != new_dir) --m_nlink, ++new_dir->m_nlink;
    source->m_parent_ino = new_dir->m_ino;
    source->m_parent = new_dir;
    source->m_name = std::string(new_name);
    source->m_ctime = stamp;
  }
  m_mtime = m_ctime = new_dir->m_mtime = new_dir->m_ctime = stamp;
  return {};
}

ErrorOr<void> TmpNode::allocate(int mode, uint64_t offset, uint64_t len) {
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::NODEV;
  if (m_fs->info.read_only) return Errno::ROFS;
  // shmem_fallocate behind the memfd gives tmpfs's answers (EOPNOTSUPP for
  // the modes tmpfs lacks).
  if (::fallocate(m_memfd.get(), mode, static_cast<off_t>(offset), static_cast<off_t>(len)) < 0)
    return last_host_errno();
  std::lock_guard lock(m_fs->lock);
  m_ctime = now();
  return {};
}

ErrorOr<void> TmpNode::truncate(uint64_t size) {
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::INVAL;
  if (m_fs->info.read_only) return Errno::ROFS;
  if (::ftruncate(m_memfd.get(), static_cast<off_t>(size)) < 0) return last_host_errno();
  if (m_charged) {
    std::lock_guard lock(m_fs->lock);
    uint64_t keep = (size + 4095) / 4096 * 4096;
    if (keep < m_charged) {
      m_fs->used_bytes.fetch_sub(m_charged - keep);
      m_charged = keep;
    }
  }
  touch_modified();
  return {};
}

std::optional<Node::Link> TmpNode::current_link() const {
  std::lock_guard lock(m_fs->lock);
  if (m_parent) return Link{RefPtr<Node>(m_parent), m_name};
  if (m_dead || (!is_dir() && m_nlink == 0)) return Link{};
  return std::nullopt;  // the root of this tmpfs
}

void TmpNode::touch_modified() {
  std::lock_guard lock(m_fs->lock);
  m_mtime = m_ctime = now();
}

Coro<ErrorOr<size_t>> TmpFile::read(std::span<std::byte> buf, int64_t offset) {
  CO_TRY_ASSIGN(auto n, pread_sync(buf, static_cast<uint64_t>(effective_offset(offset))));
  advance(offset, n);
  co_return n;
}

ErrorOr<size_t> TmpFile::pread_sync(std::span<std::byte> buf, uint64_t offset) {
  if (offset > static_cast<uint64_t>(LLONG_MAX)) return Errno::INVAL;
  ssize_t r = ::pread(m_node->memfd(), buf.data(), buf.size(), static_cast<off_t>(offset));
  if (r < 0) return last_host_errno();
  return static_cast<size_t>(r);
}

ErrorOr<size_t> TmpFile::pwrite_sync(std::span<const std::byte> buf, int64_t offset) {
  int fd = m_node->memfd();
  // O_APPEND writes at the end even for pwrite (a documented Linux bug, pwrite(2)).
  bool append = flags() & O_APPEND;
  int64_t off = append ? ::lseek(fd, 0, SEEK_END) : effective_offset(offset);
  if (off < 0) return last_host_errno();
  size_t fits = TRY(m_node->reserve(static_cast<uint64_t>(off), buf.size()));
  ssize_t r = ::pwrite(fd, buf.data(), fits, off);
  if (r < 0) return last_host_errno();
  if (offset < 0) m_pos.store(off + r);
  if (r > 0) m_node->touch_modified();
  return static_cast<size_t>(r);
}

Coro<ErrorOr<size_t>> TmpFile::write(std::span<const std::byte> buf, int64_t offset) {
  co_return pwrite_sync(buf, offset);
}

ErrorOr<std::string> TmpNode::getxattr(std::string_view name) const {
  std::lock_guard lock(m_fs->lock);
  auto it = m_xattrs.find(name);
  if (it == m_xattrs.end()) return Errno::NODATA;
  return it->second;
}

ErrorOr<std::vector<std::string>> TmpNode::listxattr() const {
  std::lock_guard lock(m_fs->lock);
  std::vector<std::string> out;
  for (const auto& [name, value] : m_xattrs) out.push_back(name);
  return out;
}

ErrorOr<void> TmpNode::setxattr(std::string_view name, std::string_view value, int flags) {
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  auto it = m_xattrs.find(name);
  if ((flags & XATTR_CREATE) && it != m_xattrs.end()) return Errno::EXIST;
  if ((flags & XATTR_REPLACE) && it == m_xattrs.end()) return Errno::NODATA;
  if (it != m_xattrs.end())
    it->second = std::string(value);
  else
    m_xattrs.emplace(std::string(name), std::string(value));
  m_ctime = now();
  return {};
}

ErrorOr<void> TmpNode::removexattr(std::string_view name) {
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  auto it = m_xattrs.find(name);
  if (it == m_xattrs.end()) return Errno::NODATA;
  m_xattrs.erase(it);
  m_ctime = now();
  return {};
}

// Implements chmod(2) on tmpfs: only the owner or uid 0 (CAP_FOWNER) may.
ErrorOr<void> TmpNode::chmod(const Caller& caller, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  if (caller.uid != 0 && caller.uid != m_uid) return Errno::PERM;
  // Setting set-group-id needs the file's group among the caller's (setattr_prepare).
  if (caller.uid != 0 && !caller.in_group(m_gid)) mode &= ~static_cast<mode_t>(S_ISGID);
  m_mode = (m_mode & S_IFMT) | (mode & 07777);
  clock_gettime(CLOCK_REALTIME, &m_ctime);
  return {};
}

// Implements chown(2) on tmpfs.
ErrorOr<void> TmpNode::chown(const Caller& caller, uid_t uid, gid_t gid) {
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  struct stat st {};
  st.st_mode = m_mode;
  st.st_uid = m_uid;
  st.st_gid = m_gid;
  TRY(may_chown(caller, st, uid, gid));
  if (uid != static_cast<uid_t>(-1)) m_uid = uid;
  if (gid != static_cast<gid_t>(-1)) m_gid = gid;
  m_mode = mode_after_chown(m_mode);
  m_ctime = now();
  return {};
}

// Implements utimensat(2) on tmpfs.
ErrorOr<void> TmpNode::set_times(const Caller& caller, const struct timespec& atime, const struct timespec& mtime) {
  std::lock_guard lock(m_fs->lock);
  if (m_fs->info.read_only) return Errno::ROFS;
  struct stat st {};
  st.st_mode = m_mode;
  st.st_uid = m_uid;
  st.st_gid = m_gid;
  TRY(may_set_times(caller, st, atime, mtime));
  auto stamp = now();
  if (atime.tv_nsec != UTIME_OMIT) m_atime = atime.tv_nsec == UTIME_NOW ? stamp : atime;
  if (mtime.tv_nsec != UTIME_OMIT) m_mtime = mtime.tv_nsec == UTIME_NOW ? stamp : mtime;
  m_ctime = stamp;
  return {};
}

}  // namespace moat::fs
