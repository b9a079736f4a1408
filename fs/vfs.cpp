#include "fs/vfs.h"

#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <climits>
#include <cstdlib>

#include "fs/file.h"
#include "fs/host_fd_file.h"
#include "fs/host_fs.h"
#include "fs/overlay.h"
#include "fs/synthetic.h"
#include "fs/sysfs.h"
#include "fs/tmpfs.h"

namespace moat::fs {

namespace {

// The upper directory's path relative to the lower root when it lies inside
// it ("" when not); EINVAL when the lower root is the upper directory or
// lies inside it (the lower tree would change with the upper layer).
ErrorOr<std::string> upper_in_lower(const std::string& host_root, const std::string& upper_dir) {
  char* lower_real = ::realpath(host_root.c_str(), nullptr);
  if (!lower_real) return last_host_errno();
  std::string lower(lower_real);
  free(lower_real);
  char* upper_real = ::realpath(upper_dir.c_str(), nullptr);
  if (!upper_real) return last_host_errno();
  std::string upper(upper_real);
  free(upper_real);
  auto inside = [](const std::string& path, const std::string& dir) {
    return dir == "/" || path == dir || path.rfind(dir + "/", 0) == 0;
  };
  if (inside(lower, upper)) return Errno::INVAL;
  if (!inside(upper, lower)) return std::string();
  return upper.substr(lower == "/" ? 1 : lower.size() + 1);
}

}  // namespace

ErrorOr<std::unique_ptr<Vfs>> Vfs::create(const std::string& host_root, RootOverlay overlay,
                                          const std::string& upper_dir, bool exclusive) {
  auto vfs = std::make_unique<Vfs>();
  RefPtr<Node> root = TRY(HostNode::create_root(host_root, /*writable=*/false, exclusive));
  if (overlay == RootOverlay::Memory) root = TRY(OverlayNode::create_root(root, makedev(0, 33)));
  if (overlay == RootOverlay::HostDir) {
    std::string hidden = TRY(upper_in_lower(host_root, upper_dir));
    RefPtr<Node> upper = TRY(HostNode::create_root(upper_dir, /*writable=*/true));
    root = TRY(OverlayNode::create_root(root, std::move(upper), makedev(0, 33), hidden));
  }
  // The mount flags mirror what a Linux system has: nosuid and friends on the
  // pseudo filesystems (fs/mounts.h shows them).
  auto add = [&](const char* path, RefPtr<Node> node, const char* source, unsigned long flags, const char* data) {
    auto m = std::make_shared<Mount>();
    m->id = vfs->next_mount_id();
    m->path = path;
    m->inner = node;
    m->root = std::move(node);
    m->source = source;
    m->type = m->root->fs_info().name;
    m->root_path = "/";
    m->flags = flags | (m->root->fs_info().read_only ? MS_RDONLY : 0);
    m->data = data;
    vfs->m_ns->mounts.push_back(std::move(m));
  };
  add("/", std::move(root), "none", MS_RELATIME, "");
  add("/dev", create_devfs(), "udev", MS_NOSUID, "");
  add("/dev/shm", TmpNode::create_root(makedev(0, 31), 01777), "tmpfs", MS_NOSUID | MS_NODEV, "");
  add("/proc", create_procfs(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "");
  add("/sys", create_sysfs(), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "");
  add("/tmp", TmpNode::create_root(makedev(0, 30), 01777), "tmpfs", MS_NOSUID | MS_NODEV, "");
  vfs->m_ns->recompute_depth_locked();
  return vfs;
}

Vfs::Vfs() : m_ns(std::make_shared<MountNs>()) { m_all_ns.push_back(m_ns); }
Vfs::~Vfs() = default;

Location Vfs::root() const {
  Location loc;
  std::shared_lock guard(m_ns->lock);
  loc.entries.push_back(PathEntry{"", m_ns->top_locked("/")->root});
  return loc;
}

bool Vfs::is_mount_root(const Node* node) const {
  std::lock_guard list_guard(m_ns_list_lock);
  for (const auto& weak : m_all_ns) {
    auto ns = weak.lock();
    if (!ns) continue;
    std::shared_lock guard(ns->lock);
    for (const auto& m : ns->mounts)
      if (m->root.ptr() == node) return true;
  }
  return false;
}

std::vector<std::pair<std::string, RefPtr<Node>>> Vfs::mounts() const {
  std::vector<std::pair<std::string, RefPtr<Node>>> out;
  std::shared_lock guard(m_ns->lock);
  for (const auto& m : m_ns->mounts) out.emplace_back(m->path, m->root);
  return out;
}

ErrorOr<RefPtr<Node>> Vfs::child(const Caller& caller, const Location& dir, std::string_view name) const {
  // entries.size() - 1 is the depth of dir; a mount at depth d has d slashes.
  if (!dir.anonymous) {
    auto ns = ns_of(caller);
    std::shared_lock guard(ns->lock);
    if (dir.entries.size() <= ns->max_depth) {
      std::string p = dir.entries.size() == 1 ? std::string() : dir.path();
      p += '/';
      p += name;
      if (auto m = ns->top_locked(p)) return m->root;
    }
  }
  if (HostFetch* fetch = HostFetch::current(); fetch && dir.node().defer_lookup(*fetch, name)) return Errno::FetchHost;
  return dir.node().lookup(caller, name);
}

namespace {

// Pushes the components of path onto `pending` so that the first component
// is popped first.
void push_components(std::vector<std::string>& pending, std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(std::move(*it));
}

// Search permission on a directory; uid 0 always passes.
ErrorOr<void> may_search(const Caller& caller, const Node& dir) {
  if (caller.uid == 0) return {};
  auto st = TRY(dir.stat());
  return check_access(st, caller, X_OK);
}

}  // namespace

ErrorOr<Location> Vfs::resolve(const Caller& caller, const Location& root, const Location& start, std::string_view path,
                               unsigned flags) const {
  if (path.empty()) return Errno::NOENT;
  if (path.size() >= PATH_MAX) return Errno::NAMETOOLONG;
  Location loc = path[0] == '/' ? root : start;
  bool follow_last = flags & kFollowLast;
  bool must_be_dir = flags & kMustBeDir;
  if (path.back() == '/') {
    // "link/" follows the link and requires a directory (path_resolution(7)).
    follow_last = true;
    must_be_dir = true;
  }
  bool beneath = flags & kBeneath, scoped = flags & (kBeneath | kInRoot);
  if (beneath && path[0] == '/') return Errno::XDEV;
  // RESOLVE_NO_XDEV: the innermost mount the walk is in may never change.
  auto mount_of = [&](const Location& l) -> const Node* {
    for (size_t i = l.entries.size(); i-- > 1;)
      if (is_mount_root(l.entries[i].node.ptr())) return l.entries[i].node.ptr();
    return l.entries.front().node.ptr();
  };
  const Node* start_mount = (flags & kNoXdev) ? mount_of(loc) : nullptr;
  auto crossed = [&] { return (flags & kNoXdev) && mount_of(loc) != start_mount; };
  std::vector<std::string> pending;
  push_components(pending, path);
  int links = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.back());
    pending.pop_back();
    bool last = pending.empty();
    if (!loc.node().is_dir()) return Errno::NOTDIR;
    TRY(may_search(caller, loc.node()));
    if (name == ".") continue;
    if (name == "..") {
      // Like a chroot: ".." at the root stays at the root.
      if (loc.entries.size() > root.entries.size())
        loc.entries.pop_back();
      else if (beneath)
        return Errno::XDEV;
      if (crossed()) return Errno::XDEV;
      continue;
    }
    if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
    auto node = TRY(child(caller, loc, name));
    if (node->is_symlink() && (!last || follow_last)) {
      if (flags & kNoSymlinks) return Errno::LOOP;
      if (++links > kMaxSymlinks) return Errno::LOOP;
      if (auto file = node->magic_target()) {
        if (flags & kNoMagicLinks) return Errno::LOOP;
        // /proc/self/fd/N jumps to the open file itself.
        if (!file->location().anonymous && !file->location().empty()) {
          loc = file->location();
        } else {
          auto st = TRY(file->stat());
          loc = Location{};
          loc.anonymous = true;
          loc.entries.push_back(PathEntry{file->path(), make_ref<FileRefNode>(file, st.st_mode)});
        }
        if (crossed() || scoped) return Errno::XDEV;  // nd_jump_link
        continue;
      }
      std::string target = TRY(node->readlink(caller));
      if (target.empty()) return Errno::NOENT;
      if (target[0] == '/') {
        if (beneath) return Errno::XDEV;
        loc = root;
        if (crossed()) return Errno::XDEV;
      }
      push_components(pending, target);
      continue;
    }
    loc.entries.push_back(PathEntry{std::move(name), std::move(node)});
    if (crossed()) return Errno::XDEV;
  }
  if (must_be_dir && !loc.node().is_dir()) return Errno::NOTDIR;
  return loc;
}

ErrorOr<Vfs::Parent> Vfs::resolve_parent(const Caller& caller, const Location& root, const Location& start,
                                         std::string_view path, unsigned flags) const {
  if (path.empty()) return Errno::NOENT;
  if (path.size() >= PATH_MAX) return Errno::NAMETOOLONG;
  Parent out;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  out.trailing_slash = end < path.size();
  if (end == 0) {  // "/" or "///"
    if (flags & kBeneath) return Errno::XDEV;
    out.dir = root;
    return out;
  }
  std::string_view trimmed = path.substr(0, end);
  size_t slash = trimmed.rfind('/');
  out.name = std::string(slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1));
  if (out.name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  if (slash == std::string_view::npos) {
    out.dir = start;
  } else {
    std::string_view dir = trimmed.substr(0, slash + 1);  // keep the slash: "/" stays absolute
    out.dir = TRY(resolve(caller, root, start, dir, kFollowLast | kMustBeDir | flags));
  }
  if (!out.dir.node().is_dir()) return Errno::NOTDIR;
  TRY(may_search(caller, out.dir.node()));
  return out;
}

}  // namespace moat::fs
