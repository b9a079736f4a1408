#include "fs/mounts.h"

#include <sys/mount.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstdio>

#include "fs/file.h"

namespace moat::fs {

bool Mount::read_only() const { return (flags & MS_RDONLY) || root->fs_info().read_only; }

std::shared_ptr<Mount> MountNs::top_locked(std::string_view path) const {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if ((*it)->path == path) return *it;
  return nullptr;
}

void MountNs::recompute_depth_locked() {
  size_t most = 0;
  for (const auto& m : mounts) {
    size_t depth = 0;
    for (char c : m->path) depth += c == '/';
    if (m->path != "/") most = std::max(most, depth);
  }
  max_depth = most;
}

std::unique_ptr<MountNs> MountNs::copy() const {
  auto out = std::make_unique<MountNs>();
  std::shared_lock guard(lock);
  for (const auto& m : mounts) out->mounts.push_back(std::make_shared<Mount>(*m));
  out->max_depth = max_depth;
  return out;
}

namespace {

class ReadOnlyView final : public Node {
 public:
  ReadOnlyView(RefPtr<Node> inner, std::shared_ptr<FsInfo> info)
      : Node(inner->type()), m_inner(std::move(inner)), m_info(std::move(info)) {}

  Node& inner() const { return *m_inner; }
  const FsInfo& fs_info() const override { return *m_info; }
  ErrorOr<struct stat> stat() const override { return m_inner->stat(); }
  ErrorOr<struct statfs> statfs() const override {
    struct statfs sf = TRY(m_inner->statfs());
    sf.f_flags |= ST_RDONLY;
    return sf;
  }
  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    RefPtr<Node> child = TRY(m_inner->lookup(caller, name));
    return make_read_only_view(std::move(child), m_info);
  }
  bool defer_lookup(HostFetch& fetch, std::string_view name) override { return m_inner->defer_lookup(fetch, name); }
  void drop_caches() override { m_inner->drop_caches(); }
  ErrorOr<std::string> readlink(const Caller& caller) const override { return m_inner->readlink(caller); }
  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override { return m_inner->list(caller); }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    // Devices stay writable on a read-only mount (sb_permission looks at
    // regular files, directories and symlinks only).
    if ((flags & O_ACCMODE) != O_RDONLY && !(flags & O_PATH) && (is_regular() || is_dir() || is_symlink()))
      return Errno::ROFS;
    return m_inner->open(caller, loc, flags);
  }
  ErrorOr<void> allocate(int, uint64_t, uint64_t) override { return Errno::ROFS; }
  ErrorOr<UniqueFd> fsync_fd() override { return m_inner->fsync_fd(); }
  RefPtr<File> magic_target() const override { return m_inner->magic_target(); }

 private:
  RefPtr<Node> m_inner;
  std::shared_ptr<FsInfo> m_info;
};

}  // namespace

RefPtr<Node> make_read_only_view(RefPtr<Node> inner, std::shared_ptr<FsInfo> info) {
  if (auto* view = dynamic_cast<ReadOnlyView*>(inner.ptr())) inner = RefPtr<Node>(&view->inner());
  return make_ref<ReadOnlyView>(std::move(inner), std::move(info));
}

Node& unwrap_view(Node& node) {
  if (auto* view = dynamic_cast<ReadOnlyView*>(&node)) return view->inner();
  return node;
}

namespace {

ErrorOr<uint64_t> parse_number(std::string_view s, int base) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr == s.data()) return Errno::INVAL;
  if (ptr != s.data() + s.size()) return Errno::INVAL;
  return v;
}

// memparse(): a number with an optional k, m, g, t suffix.
ErrorOr<uint64_t> parse_size(std::string_view s) {
  if (s.empty()) return Errno::INVAL;
  uint64_t mult = 1;
  char last = s.back();
  if (last == '%') {
    uint64_t pct = TRY(parse_number(s.substr(0, s.size() - 1), 10));
    long pages = sysconf(_SC_PHYS_PAGES);
    return static_cast<uint64_t>(pages > 0 ? pages : 0) * 4096 / 100 * pct;
  }
  switch (last) {
    case 'k': case 'K': mult = 1ULL << 10; break;
    case 'm': case 'M': mult = 1ULL << 20; break;
    case 'g': case 'G': mult = 1ULL << 30; break;
    case 't': case 'T': mult = 1ULL << 40; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  uint64_t v = TRY(parse_number(s, 10));
  return v * mult;
}

}  // namespace

ErrorOr<TmpfsOptions> parse_tmpfs_options(std::string_view data) {
  TmpfsOptions out;
  bool have_mode = false, have_size = false;
  size_t i = 0;
  while (i < data.size()) {
    size_t j = data.find(',', i);
    if (j == std::string_view::npos) j = data.size();
    std::string_view opt = data.substr(i, j - i);
    i = j + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
    if (key == "size") {
      out.size = TRY(parse_size(val));
      // shmem rounds the size up to pages.
      out.size = (out.size + 4095) / 4096 * 4096;
      have_size = true;
    } else if (key == "mode") {
      out.mode = static_cast<mode_t>(TRY(parse_number(val, 8)) & 07777);
      have_mode = true;
    } else if (key == "uid") {
      out.uid = static_cast<uid_t>(TRY(parse_number(val, 10)));
    } else if (key == "gid") {
      out.gid = static_cast<gid_t>(TRY(parse_number(val, 10)));
    } else if (key == "nr_inodes" || key == "nr_blocks") {
      TRY(parse_size(val));
    } else if (key == "rw" || key == "ro" || key == "noatime" || key == "relatime" || key == "nosuid" ||
               key == "nodev" || key == "noexec" || key == "exec" || key == "suid" || key == "dev" ||
               key == "strictatime" || key == "huge" || key == "mpol" || key == "inode64" || key == "inode32") {
      // Generic flags that libmount may also pass as data.
    } else {
      return Errno::INVAL;
    }
  }
  char buf[96];
  std::string shown;
  if (have_size && out.size) {
    snprintf(buf, sizeof buf, "size=%luk", static_cast<unsigned long>(out.size / 1024));
    shown += buf;
  }
  if (have_mode || out.mode != 01777) {
    if (!shown.empty()) shown += ',';
    snprintf(buf, sizeof buf, "mode=%o", out.mode);
    shown += buf;
  }
  if (out.uid) shown += (shown.empty() ? "" : ",") + std::string("uid=") + std::to_string(out.uid);
  if (out.gid) shown += (shown.empty() ? "" : ",") + std::string("gid=") + std::to_string(out.gid);
  out.shown = shown;
  return out;
}

std::string mount_flags_string(unsigned long flags) {
  std::string s = (flags & MS_RDONLY) ? "ro" : "rw";
  if (flags & MS_NOSUID) s += ",nosuid";
  if (flags & MS_NODEV) s += ",nodev";
  if (flags & MS_NOEXEC) s += ",noexec";
  if (flags & MS_NOATIME) s += ",noatime";
  else if (flags & MS_RELATIME) s += ",relatime";
  return s;
}

}  // namespace moat::fs

// ---------------------------------------------------------------------------
// Vfs: the mount operations (the walk is in vfs.cpp).

#include <sys/sysmacros.h>

#include "fs/fs_context.h"
#include "fs/host_fs.h"
#include "fs/overlay.h"
#include "fs/synthetic.h"
#include "fs/sysfs.h"
#include "fs/tmpfs.h"
#include "fs/vfs.h"

namespace moat::fs {

namespace {

// The mount flags a mount keeps (the rest of mount(2)'s flags act once).
constexpr unsigned long kPerMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                                         MS_RELATIME | MS_STRICTATIME;

bool path_under(std::string_view path, std::string_view dir) {
  if (dir == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

bool path_at_or_under(std::string_view path, std::string_view dir) { return path == dir || path_under(path, dir); }

// dir + suffix, where suffix is "" or starts with '/'.
std::string join(std::string_view dir, std::string_view suffix) {
  if (suffix.empty()) return std::string(dir);
  if (dir == "/") return std::string(suffix);
  return std::string(dir) + std::string(suffix);
}

size_t depth_of(std::string_view path) {
  if (path == "/") return 0;
  size_t d = 0;
  for (char c : path) d += c == '/';
  return d;
}

unsigned long effective_flags(unsigned long flags) {
  flags &= kPerMountFlags;
  // Linux mounts relatime unless told otherwise (do_mount: MS_RELATIME default).
  if (!(flags & (MS_NOATIME | MS_STRICTATIME))) flags |= MS_RELATIME;
  flags &= ~MS_STRICTATIME;
  return flags;
}

RefPtr<Node> view_for(const RefPtr<Node>& inner, bool read_only) {
  if (!read_only || inner->fs_info().read_only) return inner;
  auto info = std::make_shared<FsInfo>(inner->fs_info());
  info->read_only = true;
  return make_read_only_view(inner, std::move(info));
}

// The innermost mount holding path (the top one of its stack).
std::shared_ptr<Mount> mount_holding_locked(const MountNs& ns, std::string_view path) {
  std::shared_ptr<Mount> best;
  for (auto it = ns.mounts.rbegin(); it != ns.mounts.rend(); ++it) {
    const auto& m = *it;
    if (!path_at_or_under(path, m->path)) continue;
    if (!best || m->path.size() > best->path.size()) best = m;
  }
  return best;
}

}  // namespace

std::shared_ptr<MountNs> Vfs::ns_of(const Caller& caller) const {
  if (caller.process) {
    if (auto fs = caller.process->shared_fs())
      if (auto ns = fs->mount_ns()) return ns;
  }
  return m_ns;
}

std::shared_ptr<MountNs> Vfs::copy_ns(const MountNs& ns) {
  std::shared_ptr<MountNs> out(ns.copy().release());
  std::lock_guard guard(m_ns_list_lock);
  std::erase_if(m_all_ns, [](const std::weak_ptr<MountNs>& w) { return w.expired(); });
  m_all_ns.push_back(out);
  return out;
}

dev_t Vfs::next_dev() { return makedev(0, m_next_minor++); }

std::vector<Vfs::MountView> Vfs::mount_list(const Caller& caller) const {
  auto ns = ns_of(caller);
  std::vector<MountView> out;
  std::shared_lock guard(ns->lock);
  for (size_t i = 0; i < ns->mounts.size(); i++) {
    const Mount& m = *ns->mounts[i];
    MountView v{m, m.id - 1};
    // The parent: the mount below it on its own path, or else the innermost
    // one holding its path.
    size_t best = 0;
    bool found = false;
    for (size_t j = 0; j < i; j++) {
      const Mount& q = *ns->mounts[j];
      if (m.path == "/" && q.path != "/") continue;
      if (!path_at_or_under(m.path, q.path)) continue;
      if (!found || q.path.size() >= best) {
        best = q.path.size();
        found = true;
        v.parent_id = q.id;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

bool Vfs::is_mount_point(const MountNs& ns, const Location& loc) const {
  if (loc.anonymous || loc.empty()) return false;
  std::string path = loc.path();
  std::shared_lock guard(ns.lock);
  for (const auto& m : ns.mounts)
    if (m->path == path && (m->root.ptr() == &loc.node() || m->inner.ptr() == &loc.node())) return true;
  return false;
}

ErrorOr<void> Vfs::add_mount_locked(MountNs& ns, std::shared_ptr<Mount> m) {
  if (m->path.size() >= PATH_MAX) return Errno::NAMETOOLONG;
  ns.mounts.push_back(std::move(m));
  ns.recompute_depth_locked();
  return {};
}

ErrorOr<void> Vfs::mount_fs(MountNs& ns, const Location& target, std::string_view type, std::string_view source,
                            unsigned long flags, std::string_view data) {
  if (target.anonymous || target.empty()) return Errno::INVAL;
  auto m = std::make_shared<Mount>();
  if (type == "tmpfs") {
    TmpfsOptions opts = TRY(parse_tmpfs_options(data));
    m->inner = TmpNode::create_root(next_dev(), opts.mode);
    if (opts.uid || opts.gid) TRY(m->inner->chown(Caller{}, opts.uid, opts.gid));
    static_cast<TmpNode&>(*m->inner).set_size_limit(opts.size);
    m->data = opts.shown;
  } else if (type == "proc") {
    m->inner = create_procfs();
  } else if (type == "sysfs") {
    m->inner = create_sysfs();
  } else {
    return Errno::NODEV;
  }
  if (!target.node().is_dir()) return Errno::NOTDIR;
  m->id = next_mount_id();
  m->path = target.path();
  m->flags = effective_flags(flags);
  m->root = view_for(m->inner, m->flags & MS_RDONLY);
  m->source = source.empty() ? std::string("none") : std::string(source);
  m->type = std::string(type);
  m->root_path = "/";
  std::unique_lock guard(ns.lock);
  return add_mount_locked(ns, std::move(m));
}

ErrorOr<void> Vfs::mount_bind(MountNs& ns, const Location& source, const Location& target, bool recursive) {
  if (source.anonymous || source.empty() || target.anonymous || target.empty()) return Errno::INVAL;
  // graft_tree(): a directory goes on a directory, anything else on a non-directory.
  if (source.node().is_dir() != target.node().is_dir()) return Errno::NOTDIR;
  std::string src = source.path();
  std::string dst = target.path();
  std::unique_lock guard(ns.lock);
  auto holder = mount_holding_locked(ns, src);
  auto m = std::make_shared<Mount>();
  m->id = next_mount_id();
  m->path = dst;
  m->root = source.node_ref();
  m->inner = RefPtr<Node>(&unwrap_view(source.node()));
  if (holder) {
    m->source = holder->source;
    m->type = holder->type;
    m->flags = holder->flags;  // clone_mnt keeps the mount flags, read-only included
    m->data = holder->data;
    std::string rel = src.substr(holder->path == "/" ? 0 : holder->path.size());
    m->root_path = join(holder->root_path, rel.empty() || rel == "/" ? "" : rel);
    if (m->root_path.empty()) m->root_path = "/";
  } else {
    m->source = "none";
    m->type = m->root->fs_info().name;
    m->flags = MS_RELATIME;
    m->root_path = src;
  }
  std::vector<std::shared_ptr<Mount>> below;
  if (recursive) {
    for (const auto& sub : ns.mounts) {
      if (!path_under(sub->path, src)) continue;
      auto copy = std::make_shared<Mount>(*sub);
      copy->id = next_mount_id();
      copy->path = join(dst, std::string_view(sub->path).substr(src == "/" ? 0 : src.size()));
      below.push_back(std::move(copy));
    }
  }
  TRY(add_mount_locked(ns, std::move(m)));
  for (auto& b : below) TRY(add_mount_locked(ns, std::move(b)));
  return {};
}

ErrorOr<void> Vfs::remount(MountNs& ns, const Location& target, unsigned long flags, std::string_view data,
                           bool bind) {
  if (!is_mount_point(ns, target)) return Errno::INVAL;
  std::string path = target.path();
  std::unique_lock guard(ns.lock);
  auto old = ns.top_locked(path);
  if (!old) return Errno::INVAL;
  auto m = std::make_shared<Mount>(*old);
  if (!bind && m->type == "tmpfs" && !data.empty()) {
    TmpfsOptions opts = TRY(parse_tmpfs_options(data));
    if (auto* tmp = dynamic_cast<TmpNode*>(m->inner.ptr())) {
      if (opts.size) tmp->set_size_limit(opts.size);
    }
    if (!opts.shown.empty()) m->data = opts.shown;
  }
  m->flags = effective_flags(flags);
  m->root = view_for(m->inner, m->flags & MS_RDONLY);
  // Replace in place: the mount keeps its id and position.
  for (auto& slot : ns.mounts)
    if (slot == old) slot = m;
  return {};
}

ErrorOr<void> Vfs::move_mount(MountNs& ns, const Location& source, const Location& target) {
  if (!is_mount_point(ns, source)) return Errno::INVAL;
  if (!target.node().is_dir() && source.node().is_dir()) return Errno::NOTDIR;
  std::string src = source.path();
  std::string dst = target.path();
  if (src == "/") return Errno::INVAL;
  if (path_at_or_under(dst, src)) return Errno::LOOP;  // do_move_mount: moving a mount under itself
  std::unique_lock guard(ns.lock);
  auto top = ns.top_locked(src);
  for (auto& m : ns.mounts) {
    if (m == top) {
      m = std::make_shared<Mount>(*m);
      m->path = dst;
    } else if (path_under(m->path, src)) {
      m = std::make_shared<Mount>(*m);
      m->path = join(dst, std::string_view(m->path).substr(src.size()));
    }
  }
  ns.recompute_depth_locked();
  return {};
}

ErrorOr<void> Vfs::umount(MountNs& ns, const Location& target, int flags) {
  if (!is_mount_point(ns, target)) return Errno::INVAL;
  std::string path = target.path();
  std::unique_lock guard(ns.lock);
  if (path == "/") {
    // The namespace's root: something always uses it.
    size_t roots = 0;
    for (const auto& m : ns.mounts) roots += m->path == "/";
    if (roots < 2) return Errno::BUSY;
  }
  auto top = ns.top_locked(path);
  bool has_below = false;
  for (const auto& m : ns.mounts)
    if (path_under(m->path, path)) has_below = true;
  if (has_below && !(flags & MNT_DETACH)) return Errno::BUSY;
  std::erase_if(ns.mounts, [&](const std::shared_ptr<Mount>& m) { return m == top || path_under(m->path, path); });
  ns.recompute_depth_locked();
  return {};
}

ErrorOr<Vfs::Pivot> Vfs::pivot_root(MountNs& ns, const Location& root, const Location& new_root,
                                    const Location& put_old) {
  if (new_root.anonymous || put_old.anonymous) return Errno::INVAL;
  if (!new_root.node().is_dir() || !put_old.node().is_dir()) return Errno::NOTDIR;
  std::string np = new_root.path();
  std::string op = put_old.path();
  bool root_mounted = is_mount_point(ns, root) && root.path() == "/";
  bool new_mounted = is_mount_point(ns, new_root);
  std::unique_lock guard(ns.lock);
  auto root_mnt = ns.top_locked("/");
  auto new_mnt = mount_holding_locked(ns, np);
  auto old_mnt = mount_holding_locked(ns, op);
  // The kernel's order: the same mount as the root (EBUSY), then the
  // mount-point checks (EINVAL).
  if (new_mnt == root_mnt || old_mnt == root_mnt) return Errno::BUSY;
  if (!root_mounted) return Errno::INVAL;
  if (!new_mounted || np == "/") return Errno::INVAL;
  if (!path_at_or_under(op, np)) return Errno::INVAL;

  Pivot p;
  p.new_root_path = np;
  p.put_old_path = op == np ? "/" : op.substr(np.size());
  p.new_root = ns.top_locked(np)->root;
  p.old_root = root_mnt->root;
  std::vector<std::shared_ptr<Mount>> moved_in, moved_out;
  for (const auto& m : ns.mounts) {
    auto c = std::make_shared<Mount>(*m);
    if (path_at_or_under(m->path, np)) {
      c->path = m->path == np ? "/" : m->path.substr(np.size());
      moved_in.push_back(std::move(c));
    } else {
      c->path = join(p.put_old_path, m->path == "/" ? "" : std::string_view(m->path));
      moved_out.push_back(std::move(c));
    }
  }
  ns.mounts = std::move(moved_in);
  // The old root goes on top of put_old (on top of the new root itself for
  // pivot_root(".", ".")).
  for (auto& m : moved_out) ns.mounts.push_back(std::move(m));
  ns.recompute_depth_locked();

  // Where put_old's old contents now are: the new root, put_old's components
  // below it, and the old root's node at the end.
  Location base;
  base.entries.push_back(PathEntry{"", p.new_root});
  size_t nd = depth_of(np);
  for (size_t i = nd + 1; i < put_old.entries.size(); i++) base.entries.push_back(put_old.entries[i]);
  base.entries.back().node = p.old_root;
  p.old_base = std::move(base);
  return p;
}

Location Vfs::rebase_after_pivot(const Pivot& p, const Location& loc) {
  if (loc.anonymous || loc.empty()) return loc;
  if (loc.entries.size() == 1 && loc.node_ref().ptr() == p.old_root.ptr()) {
    Location out;
    out.entries.push_back(PathEntry{"", p.new_root});
    return out;
  }
  std::string path = loc.path();
  if (path_at_or_under(path, p.new_root_path)) {
    Location out;
    out.entries.push_back(PathEntry{"", p.new_root});
    size_t nd = depth_of(p.new_root_path);
    for (size_t i = nd + 1; i < loc.entries.size(); i++) out.entries.push_back(loc.entries[i]);
    return out;
  }
  Location out = p.old_base;
  for (size_t i = 1; i < loc.entries.size(); i++) out.entries.push_back(loc.entries[i]);
  return out;
}

// --- The OCI runtime's mounts.

ErrorOr<Location> Vfs::ensure_guest_path(const std::string& guest_path, bool directory) {
  if (guest_path.empty() || guest_path[0] != '/') return Errno::INVAL;
  Caller root_caller;
  Location top = root();
  auto existing = resolve(root_caller, top, top, guest_path, kFollowLast);
  if (!existing.is_error()) return existing.release_value();
  if (existing.error() != Errno::NOENT) return existing.error();
  // mkdir -p of the parents, then the last component.
  Location loc = top;
  size_t i = 1;
  while (i <= guest_path.size()) {
    size_t j = guest_path.find('/', i);
    if (j == std::string::npos) j = guest_path.size();
    std::string name = guest_path.substr(i, j - i);
    i = j + 1;
    if (name.empty() || name == ".") continue;
    bool last = i > guest_path.size();
    auto next = resolve(root_caller, top, loc, name, kFollowLast);
    if (next.is_error()) {
      if (next.error() != Errno::NOENT) return next.error();
      if (last && !directory) {
        TRY(loc.node().create(root_caller, name, 0644));
      } else {
        TRY(loc.node().mkdir(root_caller, name, 0755));
      }
      next = resolve(root_caller, top, loc, name, kFollowLast);
      if (next.is_error()) return next.error();
    }
    loc = next.release_value();
  }
  return loc;
}

ErrorOr<void> Vfs::bind_host_path(const std::string& host_path, const std::string& guest_path, Access access) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) < 0) return last_host_errno();
  RefPtr<Node> node;
  bool dir = S_ISDIR(st.st_mode);
  if (dir) {
    // Read-write: a writable hostfs, the guest's changes reach host_path.
    node = TRY(HostNode::create_root(host_path, access == Access::ReadWrite));
  } else {
    size_t slash = host_path.rfind('/');
    std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : host_path.substr(0, slash);
    std::string name = slash == std::string::npos ? host_path : host_path.substr(slash + 1);
    RefPtr<Node> parent_node = TRY(HostNode::create_root(parent, access == Access::ReadWrite));
    node = TRY(parent_node->lookup(Caller{}, name));
  }
  Location target = TRY(ensure_guest_path(guest_path, dir));
  if (target.node().is_dir() != node->is_dir()) return Errno::NOTDIR;
  auto m = std::make_shared<Mount>();
  m->id = next_mount_id();
  m->path = target.path();
  m->inner = node;
  m->root = node;
  m->source = host_path;
  m->type = node->fs_info().name;
  m->root_path = "/";
  m->flags = MS_RELATIME | (access == Access::ReadOnly ? MS_RDONLY : 0);
  std::unique_lock guard(m_ns->lock);
  return add_mount_locked(*m_ns, std::move(m));
}

ErrorOr<void> Vfs::mount_tmpfs(const std::string& guest_path, uint64_t size, mode_t mode) {
  Location target = TRY(ensure_guest_path(guest_path, true));
  char data[64];
  if (size)
    snprintf(data, sizeof data, "size=%llu,mode=%o", static_cast<unsigned long long>(size), mode & 07777);
  else
    snprintf(data, sizeof data, "mode=%o", mode & 07777);
  return mount_fs(*m_ns, target, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, data);
}

ErrorOr<void> Vfs::mask_path(const std::string& guest_path) {
  Caller root_caller;
  Location top = root();
  auto loc = resolve(root_caller, top, top, guest_path, kFollowLast);
  if (loc.is_error()) return loc.error() == Errno::NOENT ? ErrorOr<void>{} : ErrorOr<void>(loc.error());
  if (loc.value().node().is_dir()) return mount_fs(*m_ns, loc.value(), "tmpfs", "tmpfs", MS_RDONLY, "mode=755");
  Location null_dev = TRY(resolve(root_caller, top, top, "/dev/null", kFollowLast));
  return mount_bind(*m_ns, null_dev, loc.value(), false);
}

ErrorOr<void> Vfs::make_path_read_only(const std::string& guest_path) {
  Caller root_caller;
  Location top = root();
  auto loc = resolve(root_caller, top, top, guest_path, kFollowLast);
  if (loc.is_error()) return loc.error() == Errno::NOENT ? ErrorOr<void>{} : ErrorOr<void>(loc.error());
  TRY(mount_bind(*m_ns, loc.value(), loc.value(), true));
  return remount(*m_ns, loc.value(), MS_RDONLY, "", true);
}

}  // namespace moat::fs
