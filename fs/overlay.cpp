#include "fs/overlay.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "fs/file.h"
#include "fs/host_fs.h"

namespace moat::fs {

constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
// Upper-only objects get inode numbers from here up, above any lower one.
constexpr ino_t kUpperFirstIno = ino_t{1} << 62;

namespace {

// The overlay's records in a host upper directory (overlayfs with
// "userxattr": Documentation/filesystems/overlayfs.rst).
constexpr std::string_view kPrivateXattrPrefix = "user.overlay.";
constexpr const char* kOpaqueXattr = "user.overlay.opaque";      // "y": opaque; "x": holds xattr whiteouts
constexpr const char* kWhiteoutXattr = "user.overlay.whiteout";  // on an empty regular file: a whiteout
constexpr const char* kInoXattr = "user.overlay.moat.ino";       // moat's: the inode number a copy shows

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && name.size() <= NAME_MAX;
}

// What the overlay needs of its upper layer beyond the Node interface: how
// whiteouts, opaque directories and the inode numbers of copies are kept.
class UpperLayer {
 public:
  virtual ~UpperLayer() = default;
  // The caller the overlay's own changes in the upper layer are made as.
  virtual const Caller& internal() const = 0;
  // Whether n, an entry of an upper directory, is a whiteout.
  virtual bool is_whiteout(const Node& n) const = 0;
  // Whether regular files of upper directory dir may be whiteouts (a
  // listing then looks at its empty files).
  virtual bool file_whiteouts(const Node& dir) const { return false; }
  // Leaves a whiteout as `name` (free) in upper directory dir.
  virtual ErrorOr<void> make_whiteout(Node& dir, std::string_view name) = 0;
  virtual bool opaque(const Node& dir) const = 0;
  virtual ErrorOr<void> set_opaque(Node& dir) = 0;
  // A copy-up's device node, FIFO or socket `name` in upper directory dir.
  virtual ErrorOr<void> make_node(Node& dir, std::string_view name, mode_t mode, dev_t rdev) = 0;
  // Records that copy shows inode number ino (the lower object's).
  virtual ErrorOr<void> set_ino(Node& copy, ino_t ino) = 0;
  // The inode number the overlay shows for upper object n of stat st, and
  // for entry e of upper directory dir (the same for one object).
  virtual ino_t ino_of(const Node& n, const struct stat& st) const = 0;
  virtual ino_t entry_ino(const Node& dir, const DirEntry& e) const = 0;
  // Extended attributes of the overlay's own, never shown to the guest.
  virtual bool private_xattr(std::string_view name) const { return false; }
  // Whether a regular file is copied into an unnamed file first and linked
  // into place once complete (a persistent layer must never hold a half
  // copy that would hide the lower file on the next run).
  virtual bool atomic_copy_up() const { return false; }
};

// The memory upper layer: a private tmpfs, whose nodes keep the records
// themselves (fs/tmpfs.h).
class MemoryUpper final : public UpperLayer {
 public:
  const Caller& internal() const override { return m_internal; }
  bool is_whiteout(const Node& n) const override {
    auto* t = dynamic_cast<const TmpNode*>(&n);
    return t && t->is_whiteout();
  }
  ErrorOr<void> make_whiteout(Node& dir, std::string_view name) override {
    return dir.mknod(m_internal, name, S_IFCHR, 0);
  }
  bool opaque(const Node& dir) const override {
    auto* t = dynamic_cast<const TmpNode*>(&dir);
    return t && t->opaque();
  }
  ErrorOr<void> set_opaque(Node& dir) override {
    auto* t = dynamic_cast<TmpNode*>(&dir);
    if (!t) return Errno::INVAL;
    t->set_opaque(true);
    return {};
  }
  ErrorOr<void> make_node(Node& dir, std::string_view name, mode_t mode, dev_t rdev) override {
    return dir.mknod(m_internal, name, mode, rdev);
  }
  ErrorOr<void> set_ino(Node& copy, ino_t ino) override {
    auto* t = dynamic_cast<TmpNode*>(&copy);
    if (!t) return Errno::INVAL;
    t->set_ino(ino);
    return {};
  }
  ino_t ino_of(const Node&, const struct stat& st) const override { return st.st_ino; }
  ino_t entry_ino(const Node&, const DirEntry& e) const override { return e.ino; }

 private:
  Caller m_internal{};
};

// A host upper directory (a writable hostfs). Its records are files and
// user.overlay.* attributes, made through the Node interface, except device
// nodes (whiteouts), which a hostfs never makes for the guest: those are
// mknodat(2) calls on the directory's O_PATH fd with one checked name.
class HostUpper final : public UpperLayer {
 public:
  // The overlay's own objects belong to the sentry's user (the copies are
  // then given the lower owners); uid 0 when the sentry runs as root.
  HostUpper() : m_internal{nullptr, ::geteuid(), ::getegid()} {}

  const Caller& internal() const override { return m_internal; }

  bool is_whiteout(const Node& n) const override {
    if (S_ISCHR(n.type())) {
      auto st = n.stat();
      return !st.is_error() && st.value().st_rdev == 0;
    }
    if (!n.is_regular()) return false;
    auto st = n.stat();
    if (st.is_error() || st.value().st_size != 0) return false;
    return !n.getxattr(kWhiteoutXattr).is_error();
  }

  bool file_whiteouts(const Node& dir) const override { return !dir.getxattr(kOpaqueXattr).is_error(); }

  ErrorOr<void> make_whiteout(Node& dir, std::string_view name) override {
    if (!valid_name(name)) return Errno::INVAL;
    auto* host = dynamic_cast<HostNode*>(&dir);
    if (!host) return Errno::INVAL;
    std::string n(name);
    // A 0/0 character device needs no CAP_MKNOD since Linux 5.8.
    if (::mknodat(host->path_fd(), n.c_str(), S_IFCHR, 0) == 0) return {};
    if (errno != EPERM && errno != EOPNOTSUPP && errno != EINVAL) return last_host_errno();
    // Refused: an empty file marked as a whiteout, in a directory marked as
    // holding such files (overlayfs's "xwhiteouts", Linux 6.7).
    RefPtr<Node> file = TRY(dir.create(m_internal, name, 0));
    auto marked = file->setxattr(kWhiteoutXattr, "y", 0);
    if (!marked.is_error() && dir.getxattr(kOpaqueXattr).is_error()) marked = dir.setxattr(kOpaqueXattr, "x", 0);
    if (marked.is_error()) {
      (void)dir.unlink(m_internal, name, UnlinkKind::File);
      return marked.error();
    }
    return {};
  }

  bool opaque(const Node& dir) const override {
    auto v = dir.getxattr(kOpaqueXattr);
    return !v.is_error() && v.value() == "y";
  }
  ErrorOr<void> set_opaque(Node& dir) override { return dir.setxattr(kOpaqueXattr, "y", 0); }

  ErrorOr<void> make_node(Node& dir, std::string_view name, mode_t mode, dev_t rdev) override {
    if (S_ISFIFO(mode) || S_ISSOCK(mode)) return dir.mknod(m_internal, name, mode, rdev);
    if (!valid_name(name)) return Errno::INVAL;
    auto* host = dynamic_cast<HostNode*>(&dir);
    if (!host) return Errno::INVAL;
    // A copied-up device node is never opened (hostfs is nodev).
    std::string n(name);
    if (::mknodat(host->path_fd(), n.c_str(), mode, rdev) < 0) return last_host_errno();
    return {};
  }

  ErrorOr<void> set_ino(Node& copy, ino_t ino) override {
    auto r = copy.setxattr(kInoXattr, std::to_string(ino), 0);
    // Symlinks take no user.* attributes: their copies show their own number.
    if (r.is_error() && (r.error() == Errno::PERM || r.error() == Errno::NOTSUP)) return {};
    return r;
  }

  ino_t ino_of(const Node& n, const struct stat& st) const override {
    auto v = n.getxattr(kInoXattr);
    if (!v.is_error())
      if (auto ino = parse_ino(v.value())) return ino;
    return st.st_ino | kUpperFirstIno;
  }

  ino_t entry_ino(const Node& dir, const DirEntry& e) const override {
    auto* host = dynamic_cast<const HostNode*>(&dir);
    if (host && valid_name(e.name)) {
      // The entry by name under the directory's fd (a listed name, one
      // component; lgetxattr follows no symlink in it).
      std::string path = "/proc/self/fd/" + std::to_string(host->path_fd()) + "/" + e.name;
      char buf[32];
      ssize_t n = ::lgetxattr(path.c_str(), kInoXattr, buf, sizeof buf);
      if (n > 0)
        if (auto ino = parse_ino(std::string_view(buf, static_cast<size_t>(n)))) return ino;
    }
    return e.ino | kUpperFirstIno;
  }

  bool private_xattr(std::string_view name) const override {
    return name.substr(0, kPrivateXattrPrefix.size()) == kPrivateXattrPrefix;
  }
  bool atomic_copy_up() const override { return true; }

 private:
  static ino_t parse_ino(std::string_view s) {
    ino_t ino = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ino);
    return ec == std::errc() && end == s.data() + s.size() ? ino : 0;
  }
  Caller m_internal;
};

// Copies len bytes from src to dst (host fds, both at offset 0) in the
// kernel: copy_file_range (same filesystem; reflinks where it can), else
// sendfile. Never through a buffer of the file's size. Synchronous: used
// outside a synchronous handler's fetch (sandbox set-up, async handlers),
// and when the handler can defer no more (HostFetch::defer_copy).
ErrorOr<void> copy_content(int src, int dst, uint64_t len) {
  loff_t in = 0, out = 0;
  bool ranges = true;
  while (static_cast<uint64_t>(in) < len) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - static_cast<uint64_t>(in), 1u << 30));
    ssize_t n;
    if (ranges) {
      n = ::copy_file_range(src, &in, dst, &out, chunk, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        ranges = false;
        if (::lseek(dst, out, SEEK_SET) < 0) return last_host_errno();
        continue;
      }
    } else {
      n = ::sendfile(dst, src, &in, chunk);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_host_errno();
    if (n == 0) break;  // the file shrank meanwhile
  }
  return {};
}

}  // namespace

struct OverlayFs {
  FsInfo info;
  dev_t lower_dev = 0;  // st_dev of the lower root
  RefPtr<Node> upper_root;
  std::unique_ptr<UpperLayer> upper;
  RefPtr<Node> memory_lower_root;  // a memory upper layer's lower root: statfs shows its space
  // The upper directory's path under the lower root, by component, when it
  // lies inside the lower tree (empty otherwise), and its identity, for the
  // paths the name does not catch (a host bind mount of it in the tree).
  std::vector<std::string> hidden_path;
  std::optional<std::pair<dev_t, ino_t>> hidden_id;
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

// Two upper nodes for one object (hostfs makes a node per lookup; a tmpfs
// has one node per object).
bool same_object(const RefPtr<Node>& a, const RefPtr<Node>& b) {
  if (!a || !b) return false;
  if (a == b) return true;
  if (!dynamic_cast<const HostNode*>(a.ptr()) || !dynamic_cast<const HostNode*>(b.ptr())) return false;
  auto sa = a->stat();
  auto sb = b->stat();
  return !sa.is_error() && !sb.is_error() && sa.value().st_dev == sb.value().st_dev &&
         sa.value().st_ino == sb.value().st_ino;
}

// Copies n's extended attributes to copy, but those the upper layer keeps
// for itself; those the upper layer refuses (a namespace it lacks, one the
// sentry may not set) stay behind, as overlayfs leaves them.
ErrorOr<void> copy_xattrs(const Node& from, Node& to, const UpperLayer& layer) {
  auto names = from.listxattr();
  if (names.is_error()) return names.error() == Errno::NOTSUP ? ErrorOr<void>{} : ErrorOr<void>(names.error());
  for (const std::string& name : names.value()) {
    if (layer.private_xattr(name)) continue;
    auto value = from.getxattr(name);
    if (value.is_error()) {
      Errno e = value.error();
      if (e == Errno::NODATA || e == Errno::NOTSUP || e == Errno::PERM) continue;
      return e;
    }
    auto r = to.setxattr(name, value.value(), 0);
    if (r.is_error() && r.error() != Errno::NOTSUP && r.error() != Errno::PERM) return r.error();
  }
  return {};
}

// The fields every overlay root shares; fs->upper and fs->upper_root are
// the caller's.
std::shared_ptr<OverlayFs> make_fs(const struct stat& lower_st, dev_t dev) {
  auto fs = std::make_shared<OverlayFs>();
  fs->info = FsInfo{dev, kOverlayMagic, false, "overlay"};
  fs->lower_dev = lower_st.st_dev;
  return fs;
}

}  // namespace

ErrorOr<RefPtr<Node>> OverlayNode::create_root(RefPtr<Node> lower_root, dev_t dev) {
  if (!lower_root->is_dir()) return Errno::NOTDIR;
  auto st = TRY(lower_root->stat());
  auto fs = make_fs(st, dev);
  fs->upper = std::make_unique<MemoryUpper>();
  fs->memory_lower_root = lower_root;
  const Caller& internal = fs->upper->internal();
  fs->upper_root = TmpNode::create_root(makedev(0, 0), st.st_mode & 07777, "overlay-upper", false, kUpperFirstIno);
  TRY(fs->upper->set_ino(*fs->upper_root, fs->lower_ino(st.st_dev, st.st_ino)));
  TRY(fs->upper_root->chown(internal, st.st_uid, st.st_gid));
  TRY(fs->upper_root->chmod(internal, st.st_mode & 07777));
  TRY(fs->upper_root->set_times(internal, st.st_atim, st.st_mtim));
  return RefPtr<Node>::adopt(new OverlayNode(fs, nullptr, "", S_IFDIR, fs->upper_root, std::move(lower_root)));
}

ErrorOr<RefPtr<Node>> OverlayNode::create_root(RefPtr<Node> lower_root, RefPtr<Node> upper_root, dev_t dev,
                                               std::string_view upper_in_lower) {
  if (!lower_root->is_dir() || !upper_root->is_dir()) return Errno::NOTDIR;
  auto* host = dynamic_cast<HostNode*>(upper_root.ptr());
  if (!host) return Errno::INVAL;
  if (!host->writable()) return Errno::ROFS;
  auto st = TRY(lower_root->stat());
  auto fs = make_fs(st, dev);
  fs->upper = std::make_unique<HostUpper>();
  fs->upper_root = upper_root;
  for (size_t i = 0; i < upper_in_lower.size();) {
    size_t j = std::min(upper_in_lower.find('/', i), upper_in_lower.size());
    if (j > i) fs->hidden_path.emplace_back(upper_in_lower.substr(i, j - i));
    i = j + 1;
  }
  auto upper_st = TRY(upper_root->stat());
  fs->hidden_id = std::make_pair(upper_st.st_dev, upper_st.st_ino);
  // A fresh upper directory is the root's copy-up: it takes the lower
  // root's owner, mode and times once (a directory of the last run keeps
  // what the guest made of it). The mark also proves that the directory
  // keeps user.* attributes, without which whiteouts and opaque directories
  // could not last.
  const Caller& internal = fs->upper->internal();
  if (upper_root->getxattr(kInoXattr).is_error()) {
    auto owned = upper_root->chown(internal, st.st_uid, st.st_gid);
    if (owned.is_error() && !(owned.error() == Errno::PERM && internal.uid != 0)) return owned.error();
    TRY(upper_root->chmod(internal, st.st_mode & 07777));
    TRY(upper_root->set_times(internal, st.st_atim, st.st_mtim));
    TRY(upper_root->setxattr(kInoXattr, std::to_string(fs->lower_ino(st.st_dev, st.st_ino)), 0));
  }
  return RefPtr<Node>::adopt(new OverlayNode(fs, nullptr, "", S_IFDIR, std::move(upper_root), std::move(lower_root)));
}

const FsInfo& OverlayNode::fs_info() const { return m_fs->info; }

RefPtr<Node> OverlayNode::upper_locked() const {
  if (m_upper) return m_upper;
  if (!m_parent || m_upper_checked == m_fs->generation) return nullptr;
  m_upper_checked = m_fs->generation;
  RefPtr<Node> parent_upper = m_parent->upper_locked();
  if (!parent_upper) return nullptr;
  auto found = parent_upper->lookup(m_fs->upper->internal(), m_name);
  if (found.is_error()) return nullptr;
  RefPtr<Node> n = found.release_value();
  // Another object of another type took the name meanwhile: not ours.
  if (n->type() != type() || m_fs->upper->is_whiteout(*n)) return nullptr;
  m_upper = std::move(n);
  return m_upper;
}

bool OverlayNode::hides_locked(std::string_view name) const {
  const auto& path = m_fs->hidden_path;
  if (path.empty() || name != path.back()) return false;
  // This directory must be the hidden path's parent: its names up to the
  // root are the path's leading components (directories with lower content
  // never move, so the names are the lower ones).
  const OverlayNode* n = this;
  for (size_t i = path.size() - 1; i-- > 0; n = n->m_parent.ptr())
    if (!n->m_parent || n->m_name != path[i]) return false;
  return !n->m_parent;
}

ErrorOr<RefPtr<Node>> OverlayNode::lower_lookup_locked(std::string_view name) const {
  if (!m_lower || hides_locked(name)) return Errno::NOENT;
  RefPtr<Node> n = TRY(m_lower->lookup(m_fs->upper->internal(), name));
  if (m_fs->hidden_id && n->is_dir()) {
    struct stat st = TRY(n->stat());
    if (std::make_pair(st.st_dev, st.st_ino) == *m_fs->hidden_id) return Errno::NOENT;
  }
  return n;
}

bool OverlayNode::lower_has_locked(std::string_view name) const {
  if (!m_lower) return false;
  RefPtr<Node> up = upper_locked();
  if (up && m_fs->upper->opaque(*up)) return false;
  return !lower_lookup_locked(name).is_error();
}

ErrorOr<struct stat> OverlayNode::stat_locked() const {
  struct stat st {};
  if (RefPtr<Node> up = upper_locked()) {
    st = TRY(up->stat());
    if (is_dir() && m_lower) {
      // A merged directory shows the host directory's size, link count and
      // inode number (the upper copy holds only what changed); owner, mode
      // and times are the copy's.
      struct stat lower = TRY(m_lower->stat());
      st.st_size = lower.st_size;
      st.st_blocks = lower.st_blocks;
      st.st_blksize = lower.st_blksize;
      st.st_nlink = lower.st_nlink;
      st.st_ino = m_fs->lower_ino(lower.st_dev, lower.st_ino);
    } else {
      if (!m_upper_ino) m_upper_ino = m_fs->upper->ino_of(*up, st);
      st.st_ino = m_upper_ino;
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
  // The space is the upper layer's, as on overlayfs (a host upper
  // directory's filesystem). Over a memory upper layer it is the lower
  // layer's, with no more free than memory offers: df of the root shows
  // the disk's use, not an empty tmpfs. The type is overlay's.
  struct statfs sf = TRY(m_fs->upper_root->statfs());
  if (m_fs->memory_lower_root) {
    struct statfs low = TRY(m_fs->memory_lower_root->statfs());
    uint64_t bsize = low.f_bsize > 0 ? static_cast<uint64_t>(low.f_bsize) : 4096;
    auto in_lower_blocks = [&](fsblkcnt_t upper_blocks) {
      return static_cast<fsblkcnt_t>(upper_blocks * static_cast<uint64_t>(sf.f_bsize) / bsize);
    };
    low.f_bfree = std::min(low.f_bfree, in_lower_blocks(sf.f_bfree));
    low.f_bavail = std::min(low.f_bavail, in_lower_blocks(sf.f_bavail));
    low.f_ffree = std::min(low.f_ffree, sf.f_ffree);
    sf = low;
  }
  sf.f_type = kOverlayMagic;
  sf.f_fsid.__val[0] = static_cast<int>(m_fs->info.dev);
  sf.f_fsid.__val[1] = 0;
  sf.f_flags = kDefaultStatfsFlags;
  return sf;
}

ErrorOr<RefPtr<OverlayNode>> OverlayNode::lookup_locked(std::string_view name) {
  if (!is_dir()) return Errno::NOTDIR;
  UpperLayer& layer = *m_fs->upper;
  RefPtr<Node> up = upper_locked();
  bool up_opaque = up && layer.opaque(*up);
  RefPtr<Node> upper_child;
  if (up) {
    auto r = up->lookup(layer.internal(), name);
    if (!r.is_error()) {
      if (layer.is_whiteout(*r.value())) return Errno::NOENT;
      upper_child = r.release_value();
    } else if (r.error() != Errno::NOENT) {
      return r.error();
    }
  }
  auto self = RefPtr<OverlayNode>(this);
  if (upper_child) {
    // A directory merges with the lower one of its name unless either
    // directory hides it (opaque).
    RefPtr<Node> lower_child;
    if (upper_child->is_dir() && m_lower && !up_opaque && !layer.opaque(*upper_child)) {
      auto l = lower_lookup_locked(name);
      if (!l.is_error() && l.value()->is_dir()) lower_child = l.release_value();
    }
    mode_t t = upper_child->type();
    return RefPtr<OverlayNode>::adopt(
        new OverlayNode(m_fs, self, std::string(name), t, std::move(upper_child), std::move(lower_child)));
  }
  if (!m_lower || up_opaque) return Errno::NOENT;
  RefPtr<Node> lower_child = TRY(lower_lookup_locked(name));
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
  UpperLayer& layer = *m_fs->upper;
  RefPtr<Node> up = upper_locked();
  if (up) {
    if (up->defer_lookup(fetch, name)) return true;
    if (layer.opaque(*up)) return false;
    // What the upper layer has decides, unless it is a directory that
    // merges with the lower one (as lookup_locked does): no lower lookup.
    auto r = up->lookup(layer.internal(), name);
    if (!r.is_error() && (layer.is_whiteout(*r.value()) || !r.value()->is_dir() || layer.opaque(*r.value())))
      return false;
  }
  return m_lower && m_lower->defer_lookup(fetch, name);
}

void OverlayNode::drop_caches() {
  if (m_lower) m_lower->drop_caches();
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  if (up) up->drop_caches();
}

ErrorOr<std::string> OverlayNode::readlink(const Caller& caller) const {
  if (!is_symlink()) return Errno::INVAL;
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  return up ? up->readlink(caller) : m_lower->readlink(caller);
}

ErrorOr<std::vector<DirEntry>> OverlayNode::list_locked() const {
  if (!is_dir()) return Errno::NOTDIR;
  UpperLayer& layer = *m_fs->upper;
  std::vector<DirEntry> out;
  auto self_st = TRY(stat_locked());
  ino_t parent_ino = self_st.st_ino;
  if (m_parent) parent_ino = TRY(m_parent->stat_locked()).st_ino;
  out.push_back(DirEntry{".", self_st.st_ino, DT_DIR});
  out.push_back(DirEntry{"..", parent_ino, DT_DIR});
  std::set<std::string, std::less<>> hidden;  // names the upper layer has, entries or whiteouts
  RefPtr<Node> up = upper_locked();
  bool up_opaque = up && layer.opaque(*up);
  if (up) {
    bool file_whiteouts = layer.file_whiteouts(*up);
    for (DirEntry& e : TRY(up->list(layer.internal()))) {
      if (e.name == "." || e.name == "..") continue;
      hidden.insert(e.name);
      if (e.type == DT_CHR || e.type == DT_UNKNOWN || (e.type == DT_REG && file_whiteouts)) {
        auto n = up->lookup(layer.internal(), e.name);
        if (n.is_error()) continue;  // gone meanwhile
        if (layer.is_whiteout(*n.value())) continue;
        e.type = dirent_type(n.value()->type());
      }
      e.ino = layer.entry_ino(*up, e);
      out.push_back(std::move(e));
    }
  }
  if (m_lower && !up_opaque) {
    dev_t lower_dev = TRY(m_lower->stat()).st_dev;
    for (DirEntry& e : TRY(m_lower->list(layer.internal()))) {
      if (e.name == "." || e.name == ".." || hidden.contains(e.name) || hides_locked(e.name)) continue;
      // (A bind mount of the upper directory still lists, under the mount
      // point's own inode number, but its lookup is ENOENT.)
      if (m_fs->hidden_id && (e.type == DT_DIR || e.type == DT_UNKNOWN) &&
          std::make_pair(lower_dev, e.ino) == *m_fs->hidden_id)
        continue;
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

ErrorOr<RefPtr<Node>> OverlayNode::copy_up_locked(CopyData data) {
  if (RefPtr<Node> up = upper_locked()) return up;
  if (!m_parent || !m_lower) return Errno::NOENT;  // the root always has an upper object
  // Inside a synchronous handler a regular file's data is copied on
  // io_uring (HostFetch::defer_copy): the handler stops here with FetchHost
  // and, run again, finds the filled copy and links it into place. A copy
  // never shows under its name before it is whole. The other steps are
  // small: they are made here, synchronously, in one round.
  HostFetch* fetch = HostFetch::current();
  HostFetch::Pause pause;
  RefPtr<Node> parent_up = TRY(m_parent->copy_up_locked());
  UpperLayer& layer = *m_fs->upper;
  const Caller& internal = layer.internal();
  struct stat st = TRY(m_lower->stat());
  mode_t perm = st.st_mode & 07777;
  RefPtr<Node> up;
  bool unnamed = false;
  if (is_dir()) {
    TRY(parent_up->mkdir(internal, m_name, perm));
  } else if (is_regular()) {
    bool with_data = data == CopyData::Yes && st.st_size > 0;
    if (auto copied = with_data && fetch ? fetch->take_copy(*m_lower) : std::nullopt) {
      up = TRY(std::move(*copied));
      unnamed = true;
      data = CopyData::No;  // filled already
    } else {
      // Writable by its owner until filled (a sentry that is not root could
      // not write a read-only copy); fill_copy_locked sets the mode.
      mode_t fill_perm = perm | S_IWUSR;
      if (layer.atomic_copy_up() || (with_data && fetch)) {
        auto tmp = parent_up->create_tmpfile(internal, fill_perm, Linkable::Yes);
        if (!tmp.is_error()) {
          up = tmp.release_value();
          unnamed = true;
        } else if (tmp.error() != Errno::NOTSUP && tmp.error() != Errno::ISDIR && tmp.error() != Errno::INVAL) {
          return tmp.error();
        }
      }
      if (up && with_data && fetch) {
        auto [src, dst] = TRY(open_content_locked(*up));
        if (fetch->defer_copy(*m_lower, up, std::move(src), std::move(dst), static_cast<uint64_t>(st.st_size)))
          return Errno::FetchHost;
      }
      if (!up) up = TRY(parent_up->create(internal, m_name, fill_perm));
    }
  } else if (is_symlink()) {
    std::string target = TRY(m_lower->readlink(internal));
    TRY(parent_up->symlink(internal, m_name, target));
  } else {
    TRY(layer.make_node(*parent_up, m_name, st.st_mode, st.st_rdev));
  }
  auto filled = [&]() -> ErrorOr<void> {
    if (!up) up = TRY(parent_up->lookup(internal, m_name));
    TRY(fill_copy_locked(*up, st, data));
    if (unnamed) {
      TRY(parent_up->link(internal, m_name, *up));
      up = TRY(parent_up->lookup(internal, m_name));
    }
    return {};
  }();
  if (filled.is_error()) {
    // No half copy stays behind to hide the lower object.
    if (!unnamed) (void)parent_up->unlink(internal, m_name, is_dir() ? UnlinkKind::Dir : UnlinkKind::File);
    return filled.error();
  }
  m_upper = up;
  ++m_fs->generation;
  return up;
}

ErrorOr<std::pair<RefPtr<File>, RefPtr<File>>> OverlayNode::open_content_locked(Node& copy) {
  const Caller& internal = m_fs->upper->internal();
  Location from;
  from.entries.push_back(PathEntry{m_name, m_lower});
  RefPtr<File> src = TRY(m_lower->open(internal, from, O_RDONLY));
  Location to;
  to.entries.push_back(PathEntry{m_name, RefPtr<Node>(&copy)});
  RefPtr<File> dst = TRY(copy.open(internal, to, O_WRONLY));
  if (src->mmap_fd() < 0 || dst->mmap_fd() < 0) return Errno::NOTSUP;
  return std::pair{std::move(src), std::move(dst)};
}

ErrorOr<void> OverlayNode::fill_copy_locked(Node& copy, const struct stat& st, CopyData data) {
  UpperLayer& layer = *m_fs->upper;
  const Caller& internal = layer.internal();
  if (is_regular() && data == CopyData::Yes && st.st_size > 0) {
    auto [src, dst] = TRY(open_content_locked(copy));
    TRY(copy_content(src->mmap_fd(), dst->mmap_fd(), static_cast<uint64_t>(st.st_size)));
  }
  // Metadata: owner first (a chown clears set-id bits and file
  // capabilities), then the extended attributes, the mode and the times.
  // ctime is the copy's own, as on overlayfs. A sentry that is not root
  // keeps the copies its own.
  auto owned = copy.chown(internal, st.st_uid, st.st_gid);
  if (owned.is_error() && !(owned.error() == Errno::PERM && internal.uid != 0)) return owned.error();
  if (m_lower) TRY(copy_xattrs(*m_lower, copy, layer));
  if (!is_symlink()) TRY(copy.chmod(internal, st.st_mode & 07777));
  TRY(copy.set_times(internal, st.st_atim, st.st_mtim));
  TRY(layer.set_ino(copy, m_fs->lower_ino(st.st_dev, st.st_ino)));
  return {};
}

ErrorOr<void> OverlayNode::clear_whiteouts_locked(Node& dir) const {
  UpperLayer& layer = *m_fs->upper;
  bool file_whiteouts = layer.file_whiteouts(dir);
  for (const DirEntry& e : TRY(dir.list(layer.internal()))) {
    if (e.type != DT_CHR && e.type != DT_UNKNOWN && !(e.type == DT_REG && file_whiteouts)) continue;
    auto n = dir.lookup(layer.internal(), e.name);
    if (!n.is_error() && layer.is_whiteout(*n.value())) TRY(dir.unlink(layer.internal(), e.name, UnlinkKind::File));
  }
  return {};
}

ErrorOr<bool> OverlayNode::take_whiteout_locked(Node& dir, std::string_view name) const {
  UpperLayer& layer = *m_fs->upper;
  auto n = dir.lookup(layer.internal(), name);
  if (n.is_error() || !layer.is_whiteout(*n.value())) return false;
  TRY(dir.unlink(layer.internal(), name, UnlinkKind::File));
  return true;
}

ErrorOr<RefPtr<File>> OverlayNode::open(const Caller& caller, const Location& loc, int flags) {
  if (is_dir()) return DirFile::create(loc, flags, caller);
  RefPtr<Node> up;
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
  RefPtr<Node> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  RefPtr<Node> node = TRY(up->create(caller, name, mode));
  ++m_fs->generation;
  mode_t t = node->type();
  return RefPtr<Node>::adopt(new OverlayNode(m_fs, RefPtr<OverlayNode>(this), std::string(name), t, std::move(node), nullptr));
}

ErrorOr<RefPtr<Node>> OverlayNode::create_tmpfile(const Caller& caller, mode_t mode, Linkable linkable) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<Node> up = TRY(copy_up_locked());
  RefPtr<Node> node = TRY(up->create_tmpfile(caller, mode, linkable));
  auto st = TRY(node->stat());
  return RefPtr<Node>::adopt(new OverlayNode(m_fs, RefPtr<OverlayNode>(this), "#" + std::to_string(st.st_ino),
                                             S_IFREG, std::move(node), nullptr));
}

ErrorOr<void> OverlayNode::mkdir(const Caller& caller, std::string_view name, mode_t mode) {
  std::lock_guard lock(m_fs->lock);
  UpperLayer& layer = *m_fs->upper;
  RefPtr<Node> up = TRY(copy_up_locked());
  // Where a whiteout stood, the lower directory of that name must not show
  // through the new one: it is opaque.
  bool over_whiteout = TRY(take_whiteout_locked(*up, name));
  auto made = up->mkdir(caller, name, mode);
  ErrorOr<void> marked{};
  if (!made.is_error() && over_whiteout) {
    auto dir = up->lookup(layer.internal(), name);
    marked = dir.is_error() ? ErrorOr<void>(dir.error()) : layer.set_opaque(*dir.value());
    if (marked.is_error()) (void)up->unlink(layer.internal(), name, UnlinkKind::Dir);
  }
  if (made.is_error() || marked.is_error()) {
    // The lower object stays hidden whatever failed.
    if (over_whiteout) TRY(layer.make_whiteout(*up, name));
    return made.is_error() ? made.error() : marked.error();
  }
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::symlink(const Caller& caller, std::string_view name, std::string_view target) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<Node> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  TRY(up->symlink(caller, name, target));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::mknod(const Caller& caller, std::string_view name, mode_t mode, dev_t dev) {
  std::lock_guard lock(m_fs->lock);
  RefPtr<Node> up = TRY(copy_up_locked());
  TRY(take_whiteout_locked(*up, name));
  TRY(up->mknod(caller, name, mode, dev));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::link(const Caller& caller, std::string_view name, Node& target_node) {
  auto* target = dynamic_cast<OverlayNode*>(&target_node);
  if (!target || target->m_fs != m_fs) return Errno::XDEV;
  std::lock_guard lock(m_fs->lock);
  RefPtr<Node> target_up = TRY(target->copy_up_locked());
  RefPtr<Node> up = TRY(copy_up_locked());
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
  RefPtr<Node> up = TRY(copy_up_locked());
  if (RefPtr<Node> victim_up = victim->upper_locked()) {
    if (kind == UnlinkKind::Dir) TRY(clear_whiteouts_locked(*victim_up));
    TRY(up->unlink(caller, name, kind));
  }
  if (whiteout) TRY(m_fs->upper->make_whiteout(*up, name));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::rename(const Caller& caller, std::string_view old_name, Node& new_dir_node,
                                  std::string_view new_name, unsigned flags) {
  auto* new_dir = dynamic_cast<OverlayNode*>(&new_dir_node);
  if (!new_dir || new_dir->m_fs != m_fs) return Errno::XDEV;
  if (!is_dir() || !new_dir->is_dir()) return Errno::NOTDIR;
  std::lock_guard lock(m_fs->lock);
  UpperLayer& layer = *m_fs->upper;
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
  RefPtr<Node> source_up = TRY(source->copy_up_locked());
  if (target) {
    RefPtr<Node> target_up = (flags & RENAME_EXCHANGE) ? TRY(target->copy_up_locked()) : target->upper_locked();
    if (target_up && same_object(target_up, source_up)) return {};  // two links of one file: nothing to do
    if (target_up && target_up->is_dir() && !(flags & RENAME_EXCHANGE)) TRY(clear_whiteouts_locked(*target_up));
  }
  bool old_whiteout = !(flags & RENAME_EXCHANGE) && lower_has_locked(old_name);
  bool new_lower = new_dir->lower_has_locked(new_name);
  RefPtr<Node> old_up = TRY(copy_up_locked());
  RefPtr<Node> new_up = TRY(new_dir->copy_up_locked());
  TRY(take_whiteout_locked(*new_up, new_name));
  TRY(old_up->rename(caller, old_name, *new_up, new_name, flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)));
  // A directory moved over a name the lower layer has must not show the
  // lower directory's entries.
  if (source_up->is_dir() && new_lower) TRY(layer.set_opaque(*source_up));
  if ((flags & RENAME_EXCHANGE) && target && target->is_dir() && lower_has_locked(old_name)) {
    if (RefPtr<Node> t = target->upper_locked()) TRY(layer.set_opaque(*t));
  }
  if (old_whiteout) TRY(layer.make_whiteout(*old_up, old_name));
  ++m_fs->generation;
  return {};
}

ErrorOr<void> OverlayNode::truncate(uint64_t size) {
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::INVAL;
  RefPtr<Node> up;
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
  RefPtr<Node> up = TRY(copy_up_locked());
  return up->chmod(caller, mode);
}

ErrorOr<void> OverlayNode::chown(const Caller& caller, uid_t uid, gid_t gid) {
  std::lock_guard lock(m_fs->lock);
  TRY(may_chown(caller, TRY(stat_locked()), uid, gid));
  RefPtr<Node> up = TRY(copy_up_locked());
  return up->chown(caller, uid, gid);
}

ErrorOr<void> OverlayNode::set_times(const Caller& caller, const struct timespec& atime,
                                     const struct timespec& mtime) {
  std::lock_guard lock(m_fs->lock);
  TRY(may_set_times(caller, TRY(stat_locked()), atime, mtime));
  RefPtr<Node> up = TRY(copy_up_locked());
  return up->set_times(caller, atime, mtime);
}

ErrorOr<void> OverlayNode::allocate(int mode, uint64_t offset, uint64_t len) {
  if (!is_regular()) return Errno::NODEV;
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = TRY(copy_up_locked());
  }
  return up->allocate(mode, offset, len);
}

ErrorOr<UniqueFd> OverlayNode::fsync_fd() {
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  return up ? up->fsync_fd() : ErrorOr<UniqueFd>(UniqueFd());
}

// The overlay's own attributes behave as overlayfs's do: no such attribute
// for the guest (EOPNOTSUPP), and never listed.
ErrorOr<std::string> OverlayNode::getxattr(std::string_view name) const {
  if (m_fs->upper->private_xattr(name)) return Errno::NOTSUP;
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  if (up) return up->getxattr(name);
  return m_lower ? m_lower->getxattr(name) : ErrorOr<std::string>(Errno::NODATA);
}

ErrorOr<std::vector<std::string>> OverlayNode::listxattr() const {
  RefPtr<Node> up;
  {
    std::lock_guard lock(m_fs->lock);
    up = upper_locked();
  }
  if (!up && !m_lower) return std::vector<std::string>{};
  std::vector<std::string> names = TRY(up ? up->listxattr() : m_lower->listxattr());
  std::erase_if(names, [&](const std::string& n) { return m_fs->upper->private_xattr(n); });
  return names;
}

ErrorOr<void> OverlayNode::setxattr(std::string_view name, std::string_view value, int flags) {
  if (m_fs->upper->private_xattr(name)) return Errno::NOTSUP;
  std::lock_guard lock(m_fs->lock);
  RefPtr<Node> up = TRY(copy_up_locked());
  return up->setxattr(name, value, flags);
}

ErrorOr<void> OverlayNode::removexattr(std::string_view name) {
  if (m_fs->upper->private_xattr(name)) return Errno::NOTSUP;
  std::lock_guard lock(m_fs->lock);
  // A missing attribute copies nothing up.
  if (!upper_locked()) TRY(m_lower ? m_lower->getxattr(name) : ErrorOr<std::string>(Errno::NODATA));
  RefPtr<Node> up = TRY(copy_up_locked());
  return up->removexattr(name);
}

}  // namespace moat::fs
