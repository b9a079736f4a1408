#include "fs/overlay.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "fs/file.h"

namespace moat::fs {

constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
// Upper-only objects get inode numbers from here up, above any lower one.
constexpr ino_t kUpperFirstIno = ino_t{1} << 62;

struct OverlayFs {
  FsInfo info;
  dev_t lower_dev = 0;  // st_dev of the lower root
  RefPtr<TmpNode> upper_root;
  std::mutex lock;
  // Bumped whenever the upper layer gains an entry, so that nodes without
  // an upper object know when to look for one again. Guarded by lock.
  uint64_t generation = 1;

  // The inode number an object of the lower layer shows. Objects of other
  // host filesystems under the root (submounts) get their device mixed into
  // the high bits, so that all stay distinct under the one overlay st_dev.
  ino_t lower_ino(dev_t dev, ino_t ino) const {
    if (dev == lower_dev) return ino;
    uint64_t mix = std::hash<uint64_t>{}(dev) & 0x3fff;
    return ino ^ (mix << 48);
  }
};

namespace {

// The overlay's own changes to the upper layer are made with full rights.
const Caller kInternal{};

bool is_whiteout(const Node& n) {
  auto* t = dynamic_cast<const TmpNode*>(&n);
  return t && t->is_whiteout();
}

RefPtr<TmpNode> as_tmp(RefPtr<Node> n) { return RefPtr<TmpNode>(dynamic_cast<TmpNode*>(n.ptr())); }

}  // namespace

ErrorOr<RefPtr<Node>> OverlayNode::create_root(RefPtr<Node> lower_root, dev_t dev) {
  if (!lower_root->is_dir()) return Errno::NOTDIR;
  auto st = TRY(lower_root->stat());
  auto fs = std::make_shared<OverlayFs>();
  fs->info = FsInfo{dev, kOverlayMagic, false, "overlay"};
  fs->lower_dev = st.st_dev;
  RefPtr<Node> upper_root = TmpNode::create_root(makedev(0, 0), st.st_mode & 07777, "overlay-upper", false, kUpperFirstIno);
  fs->upper_root = as_tmp(upper_root);
  fs->upper_root->set_ino(fs->lower_ino(st.st_dev, st.st_ino));
  TRY(fs->upper_root->chown(kInternal, st.st_uid, st.st_gid));
  TRY(fs->upper_root->chmod(kInternal, st.st_mode & 07777));
  TRY(fs->upper_root->set_times(kInternal, st.st_atim, st.st_mtim));
  return RefPtr<Node>::adopt(new OverlayNode(fs, nullptr, "", S_IFDIR, fs->upper_root, std::move(lower_root)));
}

const FsInfo& OverlayNode::fs_info() const { return m_fs->info; }

RefPtr<TmpNode> OverlayNode::upper_locked() const {
  if (m_upper) return m_upper;
  if (!m_parent || m_upper_checked == m_fs->generation) return nullptr;
  m_upper_checked = m_fs->generation;
  RefPtr<TmpNode> parent_upper = m_parent->upper_locked();
  if (!parent_upper) return nullptr;
  auto found = parent_upper->lookup(kInternal, m_name);
  if (found.is_error()) return nullptr;
  RefPtr<Node> n = found.release_value();
  // Another object of another type took the name meanwhile: not ours.
  if (is_whiteout(*n) || n->type() != type()) return nullptr;
  m_upper = as_tmp(std::move(n));
  return m_upper;
}

bool OverlayNode::lower_has_locked(std::string_view name) const {
  if (!m_lower) return false;
  RefPtr<TmpNode> up = upper_locked();
  if (up && up->opaque()) return false;
  return !m_lower->lookup(kInternal, name).is_error();
}

ErrorOr<struct stat> OverlayNode::stat_locked() const {
  struct stat st {};
  if (RefPtr<TmpNode> up = upper_locked()) {
    st = TRY(up->stat());
    if (is_dir() && m_lower) {
      // A merged directory shows the host directory's size and link count
      // (the upper copy holds only what changed); owner, mode and times are
      // the copy's.
      struct stat lower = TRY(m_lower->stat());
      st.st_size = lower.st_size;
      st.st_blocks = lower.st_blocks;
      st.st_blksize = lower.st_blksize;
      st.st_nlink = lower.st_nlink;
    }
  } else {
    st = TRY(m_lower->stat());
    st.st_ino = m_fs->lower_ino(st.st_dev, st.st_ino);
  }
  st.st_dev = m_fs->info.dev;
  return st;
}

ErrorOr<struct stat> OverlayNode::stat() const {
  std::lock_guard lock(m_fs->lock);
  return stat_locked();
}

ErrorOr<struct statfs> OverlayNode::statfs() const {
  // The space is the upper layer's (memory); the type is overlay's.
  struct statfs sf = TRY(m_fs->upper_root->statfs());
  sf.f_type = kOverlayMagic;
  sf.f_fsid.__val[0] = static_cast<int>(m_fs->info.dev);
  sf.f_fsid.__val[1] = 0;
  sf.f_flags = kDefaultStatfsFlags;
  return sf;
}

ErrorOr<RefPtr<OverlayNode>> OverlayNode::lookup_locked(std::string_view name) {
  if (!is_dir()) return Errno::NOTDIR;
  RefPtr<TmpNode> up = upper_locked();
  RefPtr<TmpNode> upper_child;
  if (up) {
    auto r = up->lookup(kInternal, name);
    if (!r.is_error()) {
      if (is_whiteout(*r.value())) return Errno::NOENT;
      upper_child = as_tmp(r.release_value());
    } else if (r.error() != Errno::NOENT) {
      return r.error();
    }
  }
  auto self = RefPtr<OverlayNode>(this);
  if (upper_child) {
    // A directory merges with the lower one of its name unless either
    // directory hides it (opaque).
    RefPtr<Node> lower_child;
    if (upper_child->is_dir() && !upper_child->opaque() && m_lower && !(up && up->opaque())) {
      auto l = m_lower->lookup(kInternal, name);
      if (!l.is_error() && l.value()->is_dir()) lower_child = l.release_value();
    }
    mode_t t = upper_child->type();
    return RefPtr<OverlayNode>::adopt(
        new OverlayNode(m_fs, self, std::string(name), t, std::move(upper_child), std::move(lower_child)));
  }
  if (!m_lower || (up && up->opaque())) return Errno::NOENT;
  RefPtr<Node> lower_child = TRY(m_lower->lookup(kInternal, name));
  mode_t t = lower_child->type();
  auto node = RefPtr<OverlayNode>::adopt(new OverlayNode(m_fs, self, std::string(name), t, nullptr, std::move(lower_child)));
  node->m_upper_checked = m_fs->generation;  // just looked: no upper object now
  return node;
}

ErrorOr<RefPtr<Node>> OverlayNode::lookup(const Caller&, std::string_view name) {
  std::lock_guard lock(m_fs->lock);
  return RefPtr<Node>(TRY(lookup_locked(name)));
}

bool OverlayNode::defer_lookup(HostFetch& fetch, std::string_view name) {
  if (!is_dir()) return false;
  std::lock_guard lock(m_fs->lock);
  if (RefPtr<TmpNode> up = upper_locked(); up && up->defer_lookup(fetch, name)) return true;
  return m_lower && m_lower->defer_lookup(fetch, name);
}

ErrorOr<std::string> OverlayNode::readlink(const Caller& caller) const {
  if (!is_symlink()) return Errno::INVAL;
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  return up ? up->readlink(caller) : m_lower->readlink(caller);
}

ErrorOr<std::vector<DirEntry>> OverlayNode::list_locked() const {
  if (!is_dir()) return Errno::NOTDIR;
  std::vector<DirEntry> out;
  auto self_st = TRY(stat_locked());
  ino_t parent_ino = self_st.st_ino;
  if (m_parent) parent_ino = TRY(m_parent->stat_locked()).st_ino;
  out.push_back(DirEntry{".", self_st.st_ino, DT_DIR});
  out.push_back(DirEntry{"..", parent_ino, DT_DIR});
  std::set<std::string, std::less<>> hidden;  // names the upper layer has, entries or whiteouts
  RefPtr<TmpNode> up = upper_locked();
  if (up) {
    for (DirEntry& e : TRY(up->list(kInternal))) {
      if (e.name == "." || e.name == "..") continue;
      hidden.insert(e.name);
      if (e.type == DT_CHR) {
        auto n = up->lookup(kInternal, e.name);
        if (!n.is_error() && is_whiteout(*n.value())) continue;
      }
      out.push_back(std::move(e));
    }
  }
  if (m_lower && !(up && up->opaque())) {
    dev_t lower_dev = TRY(m_lower->stat()).st_dev;
    for (DirEntry& e : TRY(m_lower->list(kInternal))) {
      if (e.name == "." || e.name == ".." || hidden.contains(e.name)) continue;
      e.ino = m_fs->lower_ino(lower_dev, e.ino);
      out.push_back(std::move(e));
    }
  }
  return out;
}

ErrorOr<std::vector<DirEntry>> OverlayNode::list(const Caller&) const {
  std::lock_guard lock(m_fs->lock);
  return list_locked();
}

ErrorOr<bool> OverlayNode::empty_locked() const { return TRY(list_locked()).size() <= 2; }

ErrorOr<RefPtr<TmpNode>> OverlayNode::copy_up_locked(CopyData data) {
  if (RefPtr<TmpNode> up = upper_locked()) return up;
  if (!m_parent || !m_lower) return Errno::NOENT;  // the root always has an upper object
  RefPtr<TmpNode> parent_up = TRY(m_parent->copy_up_locked());
  struct stat st = TRY(m_lower->stat());
  mode_t perm = st.st_mode & 07777;
  RefPtr<TmpNode> up;
  if (is_dir()) {
    TRY(parent_up->mkdir(kInternal, m_name, perm));
    up = as_tmp(TRY(parent_up->lookup(kInternal, m_name)));
  } else if (is_regular()) {
    up = as_tmp(TRY(parent_up->create(kInternal, m_name, perm)));
    if (data == CopyData::Yes && st.st_size > 0) {
      Location loc;
      loc.entries.push_back(PathEntry{m_name, m_lower});
      RefPtr<File> src = TRY(m_lower->open(kInternal, loc, O_RDONLY));
      std::vector<std::byte> buf(1 << 16);
      uint64_t off = 0;
      for (;;) {
        size_t n = TRY(src->pread_sync(buf, off));
        if (n == 0) break;
        size_t done = 0;
        while (done < n) {
          ssize_t w = ::pwrite(up->memfd(), buf.data() + done, n - done, static_cast<off_t>(off + done));
          if (w < 0) return last_host_errno();
          done += static_cast<size_t>(w);
        }
        off += n;
      }
    }
  } else if (is_symlink()) {
    std::string target = TRY(m_lower->readlink(kInternal));
    TRY(parent_up->symlink(kInternal, m_name, target));
    up = as_tmp(TRY(parent_up->lookup(kInternal, m_name)));
  } else {
    TRY(parent_up->mknod(kInternal, m_name, st.st_mode, st.st_rdev));
    up = as_tmp(TRY(parent_up->lookup(kInternal, m_name)));
  }
  // Metadata: owner first (a chown clears set-id bits), then the mode, then
  // the times. ctime is the copy's own, as on overlayfs.
  up->set_ino(m_fs->lower_ino(st.st_dev, st.st_ino));
  TRY(up->chown(kInternal, st.st_uid, st.st_gid));
  if (!is_symlink()) TRY(up->chmod(kInternal, perm));
  TRY(up->set_times(kInternal, st.st_atim, st.st_mtim));
  m_upper = up;
  ++m_fs->generation;
  return up;
}

ErrorOr<void> OverlayNode::clear_whiteouts_locked(TmpNode& dir) const {
  for (const DirEntry& e : TRY(dir.list(kInternal))) {
    if (e.type != DT_CHR) continue;
    auto n = dir.lookup(kInternal, e.name);
    if (!n.is_error() && is_whiteout(*n.value())) TRY(dir.unlink(kInternal, e.name, UnlinkKind::File));
  }
  return {};
}

ErrorOr<bool> OverlayNode::take_whiteout_locked(TmpNode& dir, std::string_view name) const {
  auto n = dir.lookup(kInternal, name);
  if (n.is_error() || !is_whiteout(*n.value())) return false;
  TRY(dir.unlink(kInternal, name, UnlinkKind::File));
  return true;
}

ErrorOr<RefPtr<File>> OverlayNode::open(const Caller& caller, const Location& loc, int flags) {
  if (is_dir()) return DirFile::create(loc, flags, caller);
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (writing && is_regular())
      up = TRY(copy_up_locked((flags & O_TRUNC) ? CopyData::No : CopyData::Yes));
    else
      up = upper_locked();
  }
  // FIXME: a description opened for reading before a copy-up keeps reading
  // the lower file (overlayfs before Linux 4.19 did the same).
  return up ? up->open(caller, loc, flags) : m_lower->open(caller, loc, flags);
}

ErrorOr<RefPtr<Node>> OverlayNode::create(const Caller& caller, std::string_view name, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  RefPtr<TmpNode> node = as_tmp(TRY(up->create(caller, name, mode)));
  ++m_fs->generation;
  mode_t t = node->type();
  return RefPtr<Node>::adopt(new OverlayNode(m_fs, RefPtr<OverlayNode>(this), std::string(name), t, std::move(node), nullptr));
}

ErrorOr<RefPtr<Node>> OverlayNode::create_tmpfile(const Caller& caller, mode_t mode, Linkable linkable) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  RefPtr<TmpNode> node = as_tmp(TRY(up->create_tmpfile(caller, mode, linkable)));
  auto st = TRY(node->stat());
  return RefPtr<Node>::adopt(new OverlayNode(m_fs, RefPtr<OverlayNode>(this), "#" + std::to_string(st.st_ino),
                                             S_IFREG, std::move(node), nullptr));
}

ErrorOr<void> OverlayNode::mkdir(const Caller& caller, std::string_view name, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  // Where a whiteout stood, the lower directory of that name must not show
  // through the new one: it is opaque.
  bool over_whiteout = TRY(take_whiteout_locked(*up, name));
  TRY(up->mkdir(caller, name, mode));
  if (over_whiteout) as_tmp(TRY(up->lookup(kInternal, name)))->set_opaque(true);
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::symlink(const Caller& caller, std::string_view name, std::string_view target) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  TRY(up->symlink(caller, name, target));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::mknod(const Caller& caller, std::string_view name, mode_t mode, dev_t dev) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  TRY(up->mknod(caller, name, mode, dev));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::link(const Caller& caller, std::string_view name, Node& target_node) {
  auto* target = dynamic_cast<OverlayNode*>(&target_node);
  if (!target || target->m_fs != m_fs) return Errno::XDEV;
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> target_up = TRY(target->copy_up_locked());
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  TRY(up->link(caller, name, *target_up));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::unlink(const Caller& caller, std::string_view name, UnlinkKind kind) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<OverlayNode> victim = TRY(lookup_locked(name));
  if (kind == UnlinkKind::File && victim->is_dir()) return Errno::ISDIR;
  if (kind == UnlinkKind::Dir && !victim->is_dir()) return Errno::NOTDIR;
  if (kind == UnlinkKind::Dir && !TRY(victim->empty_locked())) return Errno::NOTEMPTY;
  bool whiteout = lower_has_locked(name);
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  if (RefPtr<TmpNode> victim_up = victim->upper_locked()) {
    if (kind == UnlinkKind::Dir) TRY(clear_whiteouts_locked(*victim_up));
    TRY(up->unlink(caller, name, kind));
  }
  if (whiteout) TRY(up->mknod(kInternal, name, S_IFCHR, 0));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::rename(const Caller& caller, std::string_view old_name, Node& new_dir_node,
                                  std::string_view new_name, unsigned flags) {
  auto* new_dir = dynamic_cast<OverlayNode*>(&new_dir_node);
  if (!new_dir || new_dir->m_fs != m_fs) return Errno::XDEV;
  if (!is_dir() || !new_dir->is_dir()) return Errno::NOTDIR;
  std::lock_guard lock(m_fs->lock);
  RefPtr<OverlayNode> source = TRY(lookup_locked(old_name));
  auto target_or = new_dir->lookup_locked(new_name);
  if (target_or.is_error() && target_or.error() != Errno::NOENT) return target_or.error();
  RefPtr<OverlayNode> target = target_or.is_error() ? nullptr : target_or.release_value();
  if (new_dir == this && old_name == new_name) return {};
  if ((flags & RENAME_EXCHANGE) && !target) return Errno::NOENT;
  if ((flags & RENAME_NOREPLACE) && target) return Errno::EXIST;
  // Directories that have lower content cannot move (no redirects): EXDEV,
  // and the caller copies (overlayfs with redirect_dir=off).
  if (source->is_dir() && source->m_lower) return Errno::XDEV;
  if ((flags & RENAME_EXCHANGE) && target->is_dir() && target->m_lower) return Errno::XDEV;
  if (target && !(flags & RENAME_EXCHANGE)) {
    if (source->is_dir() && !target->is_dir()) return Errno::NOTDIR;
    if (!source->is_dir() && target->is_dir()) return Errno::ISDIR;
    if (target->is_dir() && !TRY(target->empty_locked())) return Errno::NOTEMPTY;
  }
  RefPtr<TmpNode> source_up = TRY(source->copy_up_locked());
  if (target) {
    RefPtr<TmpNode> target_up = (flags & RENAME_EXCHANGE) ? TRY(target->copy_up_locked()) : target->upper_locked();
    if (target_up && target_up == source_up) return {};  // two links of one file: nothing to do
    if (target_up && target_up->is_dir() && !(flags & RENAME_EXCHANGE)) TRY(clear_whiteouts_locked(*target_up));
  }
  bool old_whiteout = !(flags & RENAME_EXCHANGE) && lower_has_locked(old_name);
  bool new_lower = new_dir->lower_has_locked(new_name);
  RefPtr<TmpNode> old_up = TRY(copy_up_locked());
  RefPtr<TmpNode> new_up = TRY(new_dir->copy_up_locked());
  TRY(take_whiteout_locked(*new_up, new_name));
  TRY(old_up->rename(caller, old_name, *new_up, new_name, flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)));
  // A directory moved over a name the lower layer has must not show the
  // lower directory's entries.
  if (source_up->is_dir() && new_lower) source_up->set_opaque(true);
  if ((flags & RENAME_EXCHANGE) && target && target->is_dir() && lower_has_locked(old_name)) {
    if (RefPtr<TmpNode> t = target->upper_locked()) t->set_opaque(true);
  }
  if (old_whiteout) TRY(old_up->mknod(kInternal, old_name, S_IFCHR, 0));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::truncate(uint64_t size) {
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::INVAL;
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = TRY(copy_up_locked(size == 0 ? CopyData::No : CopyData::Yes));
  }
  return up->truncate(size);
}

ErrorOr<void> OverlayNode::chmod(const Caller& caller, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  // Refused changes copy nothing up.
  auto st = TRY(stat_locked());
  if (caller.uid != 0 && caller.uid != st.st_uid) return Errno::PERM;
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  return up->chmod(caller, mode);
}

ErrorOr<void> OverlayNode::chown(const Caller& caller, uid_t uid, gid_t gid) {
  std::lock_guard lock(m_fs->lock);
  TRY(may_chown(caller, TRY(stat_locked()), uid, gid));
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  return up->chown(caller, uid, gid);
}

ErrorOr<void> OverlayNode::set_times(const Caller& caller, const struct timespec& atime,
                                     const struct timespec& mtime) {
  std::lock_guard lock(m_fs->lock);
  TRY(may_set_times(caller, TRY(stat_locked()), atime, mtime));
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  return up->set_times(caller, atime, mtime);
}

ErrorOr<void> OverlayNode::allocate(int mode, uint64_t offset, uint64_t len) {
  if (!is_regular()) return Errno::NODEV;
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = TRY(copy_up_locked());
  }
  return up->allocate(mode, offset, len);
}

ErrorOr<std::string> OverlayNode::getxattr(std::string_view name) const {
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  if (up) return up->getxattr(name);
  return m_lower ? m_lower->getxattr(name) : ErrorOr<std::string>(Errno::NODATA);
}

ErrorOr<std::vector<std::string>> OverlayNode::listxattr() const {
  RefPtr<TmpNode> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  if (up) return up->listxattr();
  return m_lower ? m_lower->listxattr() : ErrorOr<std::vector<std::string>>(std::vector<std::string>{});
}

ErrorOr<RefPtr<TmpNode>> OverlayNode::copy_up_xattrs_locked() {
  bool fresh = !upper_locked();
  RefPtr<TmpNode> up = TRY(copy_up_locked());
  if (fresh && m_lower) {
    auto names = m_lower->listxattr();
    if (!names.is_error()) {
      for (const auto& n : names.value()) {
        auto v = m_lower->getxattr(n);
        if (!v.is_error()) (void)up->setxattr(n, v.value(), 0);
      }
    }
  }
  return up;
}

ErrorOr<void> OverlayNode::setxattr(std::string_view name, std::string_view value, int flags) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<TmpNode> up = TRY(copy_up_xattrs_locked());
  return up->setxattr(name, value, flags);
}

ErrorOr<void> OverlayNode::removexattr(std::string_view name) {
  std::lock_guard lock(m_fs->lock);
  // A missing attribute copies nothing up.
  if (!upper_locked()) TRY(m_lower ? m_lower->getxattr(name) : ErrorOr<std::string>(Errno::NODATA));
  RefPtr<TmpNode> up = TRY(copy_up_xattrs_locked());
  return up->removexattr(name);
}

}  // namespace moat::fs
