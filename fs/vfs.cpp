#include "fs/vfs.h"

#include <sys/sysmacros.h>

#include <climits>

#include "fs/file.h"
#include "fs/host_fd_file.h"
#include "fs/host_fs.h"
#include "fs/overlay.h"
#include "fs/synthetic.h"
#include "fs/sysfs.h"
#include "fs/tmpfs.h"

namespace moat::fs {

ErrorOr<std::unique_ptr<Vfs>> Vfs::create(const std::string& host_root, RootOverlay overlay) {
  auto vfs = std::make_unique<Vfs>();
  vfs->m_root = TRY(HostNode::create_root(host_root));
  if (overlay == RootOverlay::Memory) vfs->m_root = TRY(OverlayNode::create_root(vfs->m_root, makedev(0, 33)));
  vfs->m_mounts["/tmp"] = TmpNode::create_root(makedev(0, 30), 01777);
  vfs->m_mounts["/dev"] = create_devfs();
  vfs->m_mounts["/dev/shm"] = TmpNode::create_root(makedev(0, 31), 01777);
  vfs->m_mounts["/proc"] = create_procfs();
  vfs->m_mounts["/sys"] = create_sysfs();
  for (const auto& [path, node] : vfs->m_mounts) {
    size_t depth = 0;
    for (char c : path) depth += c == '/';
    vfs->m_max_mount_depth = std::max(vfs->m_max_mount_depth, depth);
  }
  return vfs;
}

Location Vfs::root() const {
  Location loc;
  loc.entries.push_back(PathEntry{"", m_root});
  return loc;
}

bool Vfs::is_mount_root(const Node* node) const {
  if (node == m_root.ptr()) return true;
  for (const auto& [path, root] : m_mounts)
    if (root.ptr() == node) return true;
  return false;
}

std::vector<std::pair<std::string, RefPtr<Node>>> Vfs::mounts() const {
  std::vector<std::pair<std::string, RefPtr<Node>>> out{{"/", m_root}};
  for (const auto& [path, root] : m_mounts) out.emplace_back(path, root);
  return out;
}

ErrorOr<RefPtr<Node>> Vfs::child(const Caller& caller, const Location& dir, std::string_view name) const {
  // entries.size() - 1 is the depth of dir; a mount at depth d has d slashes.
  if (!dir.anonymous && dir.entries.size() <= m_max_mount_depth) {
    std::string p = dir.entries.size() == 1 ? std::string() : dir.path();
    p += '/';
    p += name;
    if (auto it = m_mounts.find(p); it != m_mounts.end()) return it->second;
  }
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
      if (loc.entries.size() > root.entries.size()) loc.entries.pop_back();
      continue;
    }
    if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
    auto node = TRY(child(caller, loc, name));
    if (node->is_symlink() && (!last || follow_last)) {
      if (++links > kMaxSymlinks) return Errno::LOOP;
      if (auto file = node->magic_target()) {
        // /proc/self/fd/N jumps to the open file itself.
        if (!file->location().anonymous && !file->location().empty()) {
          loc = file->location();
        } else {
          auto st = TRY(file->stat());
          loc = Location{};
          loc.anonymous = true;
          loc.entries.push_back(PathEntry{file->path(), make_ref<FileRefNode>(file, st.st_mode)});
        }
        continue;
      }
      std::string target = TRY(node->readlink(caller));
      if (target.empty()) return Errno::NOENT;
      if (target[0] == '/') loc = root;
      push_components(pending, target);
      continue;
    }
    loc.entries.push_back(PathEntry{std::move(name), std::move(node)});
  }
  if (must_be_dir && !loc.node().is_dir()) return Errno::NOTDIR;
  return loc;
}

ErrorOr<Vfs::Parent> Vfs::resolve_parent(const Caller& caller, const Location& root, const Location& start,
                                         std::string_view path) const {
  if (path.empty()) return Errno::NOENT;
  if (path.size() >= PATH_MAX) return Errno::NAMETOOLONG;
  Parent out;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  out.trailing_slash = end < path.size();
  if (end == 0) {  // "/" or "///"
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
    out.dir = TRY(resolve(caller, root, start, dir, kFollowLast | kMustBeDir));
  }
  if (!out.dir.node().is_dir()) return Errno::NOTDIR;
  TRY(may_search(caller, out.dir.node()));
  return out;
}

}  // namespace moat::fs
