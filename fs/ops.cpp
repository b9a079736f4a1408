#include "fs/ops.h"

#include <linux/fs.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <climits>
#include <unordered_map>

#include "fs/host_fd_file.h"
#include "fs/inotify.h"
#include "sentry/kernel/sandbox.h"

namespace moat::fs {

namespace {

ErrorOr<Vfs*> ensure_vfs(Sandbox& sandbox) {
  if (!sandbox.has_vfs())
    sandbox.set_vfs(TRY(Vfs::create(sandbox.config().root_dir, sandbox.config().root_overlay,
                                    sandbox.config().root_overlay_dir, sandbox.config().root_exclusive)));
  return &sandbox.vfs();
}

ErrorOr<Location> start_for(Process& p, int dirfd, std::string_view path) {
  if (!path.empty() && path[0] == '/') return p.fs().root();  // dirfd is ignored
  if (dirfd == AT_FDCWD) return p.fs().cwd();
  auto file = TRY(p.fds().get(dirfd));
  if (path.empty()) return file->location();
  if (file->location().anonymous || !file->node().is_dir()) return Errno::NOTDIR;
  return file->location();
}

// EROFS for writes to files on a read-only filesystem (devices stay writable,
// as on Linux: sb_permission).
ErrorOr<void> may_access(const Caller& caller, const Node& node, int mask) {
  if ((mask & W_OK) && node.fs_info().read_only && (node.is_regular() || node.is_dir() || node.is_symlink()))
    return Errno::ROFS;
  auto st = TRY(node.stat());
  return check_access(st, caller, mask);
}

// Write and search permission on a directory about to change (may_create /
// may_delete), after the read-only check.
ErrorOr<void> may_modify_dir(const Caller& caller, const Node& dir) {
  if (dir.fs_info().read_only) return Errno::ROFS;
  auto st = TRY(dir.stat());
  return check_access(st, caller, W_OK | X_OK);
}

// The sticky-bit rule of may_delete(): in a sticky directory only the owner
// of the file or of the directory (or root) may remove or rename it.
ErrorOr<void> check_sticky(const Caller& caller, const Node& dir, const Node& victim) {
  if (caller.uid == 0) return {};
  auto dst = TRY(dir.stat());
  if (!(dst.st_mode & S_ISVTX)) return {};
  auto vst = TRY(victim.stat());
  if (vst.st_uid == caller.uid || dst.st_uid == caller.uid) return {};
  return Errno::PERM;
}

Location child_location(const Location& dir, std::string name, RefPtr<Node> node) {
  Location loc = dir;
  loc.entries.push_back(PathEntry{std::move(name), std::move(node)});
  return loc;
}

}  // namespace

Vfs& vfs_of(Process& process) { return process.sandbox().vfs(); }

ErrorOr<void> setup_process_fs(Sandbox& sandbox, Process& process, const std::string& guest_cwd) {
  Vfs& vfs = *TRY(ensure_vfs(sandbox));
  Location root = vfs.root();
  Location cwd = root;
  if (!guest_cwd.empty()) {
    auto r = vfs.resolve(Caller::of(process), root, root, guest_cwd, kFollowLast | kMustBeDir);
    if (!r.is_error()) cwd = r.release_value();
  }
  process.set_fs(std::make_shared<FsContext>(root, cwd));
  auto table = std::make_shared<FdTable>();
  for (int fd = 0; fd < 3; ++fd) {
    auto file = wrap_host_stdio(fd);
    if (file.is_error()) continue;  // a closed host stdio fd stays closed in the guest
    TRY(table->install_at(fd, file.release_value(), false, kDefaultNofile));
  }
  process.set_fds(std::move(table));
  return {};
}

ErrorOr<Location> resolve_at(Process& process, int dirfd, std::string_view path, int at_flags) {
  if (path.empty()) {
    if (!(at_flags & AT_EMPTY_PATH)) return Errno::NOENT;
    if (dirfd == AT_FDCWD) return process.fs().cwd();
    return TRY(process.fds().get(dirfd))->location();
  }
  Location start = TRY(start_for(process, dirfd, path));
  unsigned flags = (at_flags & AT_SYMLINK_NOFOLLOW) ? kResolveNone : kFollowLast;
  return vfs_of(process).resolve(Caller::of(process), process.fs().root(), start, path, flags);
}

namespace {

// open(2) of path relative to start. depth counts the dangling symlinks
// followed to create their targets (they count toward MAXSYMLINKS).
// root: the process's root, or the dirfd's for RESOLVE_BENEATH and
// RESOLVE_IN_ROOT; rflags: the RESOLVE_* rules (fs/vfs.h).
ErrorOr<RefPtr<File>> open_path_from(Process& process, const Location& root, const Location& start_dir,
                                     std::string_view path, int flags, mode_t mode, int depth, unsigned rflags) {
  if (depth > kMaxSymlinks) return Errno::LOOP;
  if (path.empty()) return Errno::NOENT;
  Caller caller = Caller::of(process);
  Vfs& vfs = vfs_of(process);
  Location start = !path.empty() && path[0] == '/' && !(rflags & kBeneath) ? root : start_dir;
  int acc = flags & O_ACCMODE;
  Location loc;
  bool created = false;
  if (flags & O_CREAT) {
    auto parent = TRY(vfs.resolve_parent(caller, root, start, path, rflags));
    if (parent.name.empty() || parent.name == "." || parent.name == ".." || parent.trailing_slash)
      return Errno::ISDIR;
    auto existing = vfs.child(caller, parent.dir, parent.name);
    if (!existing.is_error()) {
      if (flags & O_EXCL) return Errno::EXIST;
      RefPtr<Node> node = existing.release_value();
      if (node->is_symlink()) {
        if (flags & O_NOFOLLOW) return Errno::LOOP;
        auto target = vfs.resolve(caller, root, start, path, kFollowLast | rflags);
        if (!target.is_error()) {
          loc = target.release_value();
        } else if (target.error() == Errno::NOENT) {
          // open(2): O_CREAT through a dangling symlink creates its target.
          std::string link_target = TRY(node->readlink(caller));
          return open_path_from(process, root, parent.dir, link_target, flags, mode, depth + 1, rflags);
        } else {
          return target.error();
        }
      } else {
        loc = child_location(parent.dir, parent.name, std::move(node));
      }
    } else if (existing.error() == Errno::NOENT) {
      TRY(may_modify_dir(caller, parent.dir.node()));
      mode_t perm = mode & 07777 & ~process.fs().umask();
      auto node = TRY(parent.dir.node().create(caller, parent.name, perm));
      loc = child_location(parent.dir, parent.name, std::move(node));
      created = true;
      notify_create(parent.dir, parent.name, false);
    } else {
      return existing.error();
    }
  } else {
    unsigned rf = ((flags & O_NOFOLLOW) ? kResolveNone : kFollowLast) | ((flags & O_DIRECTORY) ? kMustBeDir : kResolveNone) |
                  rflags;
    loc = TRY(vfs.resolve(caller, root, start, path, rf));
  }

  Node& node = loc.node();
  int stored = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
  if (node.is_symlink()) {
    if (flags & O_PATH) return PathFile::create(loc, stored);
    return Errno::LOOP;
  }
  if ((flags & O_DIRECTORY) && !node.is_dir()) return Errno::NOTDIR;
  if (flags & O_PATH) return PathFile::create(loc, stored);
  if (node.is_dir() && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))) return Errno::ISDIR;
  if (!created) {
    int mask = 0;
    if (acc == O_RDONLY || acc == O_RDWR || acc == O_ACCMODE) mask |= R_OK;
    if (acc == O_WRONLY || acc == O_RDWR || acc == O_ACCMODE || (flags & O_TRUNC)) mask |= W_OK;
    TRY(may_access(caller, node, mask));
  }
  // O_NOCTTY reaches terminals (fs/pty.cpp: opening one may make it the controlling terminal).
  RefPtr<File> file = TRY(node.open(caller, loc, S_ISCHR(node.type()) ? stored | (flags & O_NOCTTY) : stored));
  if ((flags & O_TRUNC) && !created && node.is_regular()) {
    TRY(node.truncate(0));
    notify_change(loc, IN_MODIFY);
  }
  notify_change(loc, IN_OPEN);
  return file;
}

// open(2) with O_TMPFILE: an unnamed regular file in the directory at path
// (do_tmpfile). tmpfs and the overlay make them; others answer EOPNOTSUPP.
ErrorOr<RefPtr<File>> open_tmpfile(Process& process, const Location& root, const Location& start,
                                   std::string_view path, int flags, mode_t mode, unsigned rflags) {
  Caller caller = Caller::of(process);
  unsigned rf = ((flags & O_NOFOLLOW) ? kResolveNone : kFollowLast) | kMustBeDir | rflags;
  Location dir = TRY(vfs_of(process).resolve(caller, root, start, path, rf));
  TRY(may_modify_dir(caller, dir.node()));
  // Without O_EXCL, linkat(2) may give the file a name later.
  auto linkable = (flags & O_EXCL) ? Linkable::No : Linkable::Yes;
  auto node = TRY(dir.node().create_tmpfile(caller, mode & 07777 & ~process.fs().umask(), linkable));
  auto st = TRY(node->stat());
  // /proc/self/fd shows "DIR/#INO (deleted)", as on Linux.
  Location loc = child_location(dir, "#" + std::to_string(st.st_ino), node);
  int stored = (flags & ~(O_TMPFILE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
  return node->open(caller, loc, stored);
}

// The kernel's __O_TMPFILE bit alone (glibc's __O_TMPFILE includes O_DIRECTORY).
constexpr int kTmpfileBit = 020000000;

ErrorOr<RefPtr<File>> open_path_impl(Process& process, int dirfd, std::string_view path, int flags, mode_t mode,
                                     unsigned rflags) {
  if (flags & kTmpfileBit) {
    // build_open_flags(): O_TMPFILE needs O_DIRECTORY, no O_CREAT, and write access.
    int acc = flags & O_ACCMODE;
    if ((flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE) return Errno::INVAL;
    if (acc != O_WRONLY && acc != O_RDWR) return Errno::INVAL;
  } else if (flags & O_PATH) {
    flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  }
  if ((flags & O_CREAT) && (flags & O_DIRECTORY)) return Errno::INVAL;  // Linux 6.4+
  if (path.empty()) return Errno::NOENT;
  Location root = process.fs().root();
  Location start;
  if (rflags & (kBeneath | kInRoot)) {
    // The dirfd is the root of the walk, even for an absolute path.
    if (dirfd == AT_FDCWD) {
      start = process.fs().cwd();
    } else {
      auto file = TRY(process.fds().get(dirfd));
      if (file->location().anonymous || !file->node().is_dir()) return Errno::NOTDIR;
      start = file->location();
    }
    root = start;
  } else {
    start = TRY(start_for(process, dirfd, path));
  }
  if ((flags & O_TMPFILE) == O_TMPFILE) return open_tmpfile(process, root, start, path, flags, mode, rflags);
  return open_path_from(process, root, start, path, flags, mode, 0, rflags);
}

}  // namespace

ErrorOr<RefPtr<File>> open_path(Process& process, int dirfd, std::string_view path, int flags, mode_t mode) {
  return open_path_impl(process, dirfd, path, flags, mode, kResolveNone);
}

ErrorOr<RefPtr<File>> open_path2(Process& process, int dirfd, std::string_view path, const OpenHow& how) {
  // build_open_flags() for openat2: unknown bits are refused, not ignored.
  constexpr uint64_t kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |
                                       O_SYNC | O_DSYNC | FASYNC | O_DIRECT | 0100000 /* O_LARGEFILE */ | O_DIRECTORY |
                                       O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE;
  constexpr uint64_t kValidResolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS |
                                     RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;
  if (how.flags & ~kValidOpenFlags) return Errno::INVAL;
  auto flags = static_cast<int>(how.flags);
  if (how.resolve & ~kValidResolve) return Errno::INVAL;
  if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)) return Errno::INVAL;
  bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  if (creates ? (how.mode & ~static_cast<uint64_t>(07777)) : how.mode != 0) return Errno::INVAL;
  if ((flags & O_CREAT) && (flags & O_DIRECTORY)) return Errno::INVAL;
  if (flags & kTmpfileBit) {
    int acc = flags & O_ACCMODE;
    if ((flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE) return Errno::INVAL;
    if (acc != O_WRONLY && acc != O_RDWR) return Errno::INVAL;
  } else if ((flags & O_PATH) && (flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))) {
    return Errno::INVAL;
  }
  // RESOLVE_CACHED: the sandbox's walk is always "cached", but Linux never
  // tries for a create, truncate or O_TMPFILE.
  if ((how.resolve & RESOLVE_CACHED) && (flags & (O_TRUNC | O_CREAT | kTmpfileBit))) return Errno::AGAIN;
  unsigned rflags = kResolveNone;
  if (how.resolve & RESOLVE_NO_SYMLINKS) rflags |= kNoSymlinks;
  if (how.resolve & RESOLVE_NO_MAGICLINKS) rflags |= kNoMagicLinks;
  if (how.resolve & RESOLVE_NO_XDEV) rflags |= kNoXdev;
  if (how.resolve & RESOLVE_BENEATH) rflags |= kBeneath;
  if (how.resolve & RESOLVE_IN_ROOT) rflags |= kInRoot;
  return open_path_impl(process, dirfd, path, flags, static_cast<mode_t>(how.mode), rflags);
}

ErrorOr<std::string> resolve_exec(Process& process, std::string_view cmd, std::string_view path_env) {
  if (cmd.empty()) return Errno::NOENT;
  Caller caller = Caller::of(process);
  Vfs& vfs = vfs_of(process);
  auto try_one = [&](std::string_view candidate) -> ErrorOr<std::string> {
    Location loc = TRY(vfs.resolve(caller, process.fs().root(), process.fs().cwd(), candidate, kFollowLast));
    if (!loc.node().is_regular()) return Errno::ACCES;
    auto st = TRY(loc.node().stat());
    TRY(check_access(st, caller, X_OK));
    return loc.path();
  };
  if (cmd.find('/') != std::string_view::npos) return try_one(cmd);
  bool saw_eacces = false;
  size_t i = 0;
  while (i <= path_env.size()) {
    size_t j = path_env.find(':', i);
    if (j == std::string_view::npos) j = path_env.size();
    std::string dir(path_env.substr(i, j - i));
    if (dir.empty()) dir = ".";  // an empty PATH entry is the current directory
    auto r = try_one(dir + "/" + std::string(cmd));
    if (!r.is_error()) return r;
    if (r.error() == Errno::ACCES) saw_eacces = true;
    i = j + 1;
  }
  return saw_eacces ? Errno::ACCES : Errno::NOENT;
}

namespace {

enum class NewEntry { Directory, NonDirectory };

// The kernel's filename_create(): the parent directory of a name about to be
// created, checked the way Linux checks it. An existing name wins over EROFS;
// "name/" is only for a directory.
ErrorOr<Vfs::Parent> filename_create(Process& process, const Caller& caller, int dirfd, std::string_view path,
                                     NewEntry kind) {
  Vfs& vfs = vfs_of(process);
  Location start = TRY(start_for(process, dirfd, path));
  auto parent = TRY(vfs.resolve_parent(caller, process.fs().root(), start, path));
  if (parent.name.empty() || parent.name == "." || parent.name == "..") return Errno::EXIST;
  auto existing = vfs.child(caller, parent.dir, parent.name);
  if (!existing.is_error()) return Errno::EXIST;
  if (existing.error() != Errno::NOENT) return existing.error();
  if (kind == NewEntry::NonDirectory && parent.trailing_slash) return Errno::NOENT;
  TRY(may_modify_dir(caller, parent.dir.node()));
  return parent;
}

}  // namespace

ErrorOr<void> mkdir_at(Process& process, int dirfd, std::string_view path, mode_t mode) {
  Caller caller = Caller::of(process);
  auto parent = TRY(filename_create(process, caller, dirfd, path, NewEntry::Directory));
  // vfs_mkdir(): only the permission bits and S_ISVTX count; setgid comes
  // from a setgid parent alone.
  TRY(parent.dir.node().mkdir(caller, parent.name, mode & (0777 | S_ISVTX) & ~process.fs().umask()));
  notify_create(parent.dir, parent.name, true);
  return {};
}

ErrorOr<void> symlink_at(Process& process, std::string_view target, int dirfd, std::string_view path) {
  if (target.empty()) return Errno::NOENT;  // do_symlinkat: getname() refuses ""
  Caller caller = Caller::of(process);
  auto parent = TRY(filename_create(process, caller, dirfd, path, NewEntry::NonDirectory));
  TRY(parent.dir.node().symlink(caller, parent.name, target));
  notify_create(parent.dir, parent.name, false);
  return {};
}

namespace {

// may_linkat() with fs.protected_hardlinks = 1: a caller that neither owns
// the file nor could read and write it may not link it (nor a set-id file).
ErrorOr<void> may_link(const Caller& caller, const Node& target) {
  if (caller.uid == 0) return {};  // CAP_FOWNER
  auto st = TRY(target.stat());
  if (st.st_uid == caller.uid) return {};
  bool setid = (st.st_mode & S_ISUID) || (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
  if (S_ISREG(st.st_mode) && !setid && !check_access(st, caller, R_OK | W_OK).is_error()) return {};
  return Errno::PERM;
}

}  // namespace

ErrorOr<void> link_at(Process& process, int olddirfd, std::string_view oldpath, int newdirfd,
                      std::string_view newpath, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return Errno::INVAL;
  Caller caller = Caller::of(process);
  // link(2) does not follow a symlink in oldpath unless AT_SYMLINK_FOLLOW.
  int resolve_flags = (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW;
  if (flags & AT_EMPTY_PATH) {
    // Linking an open file by its fd needs CAP_DAC_READ_SEARCH.
    if (oldpath.empty() && caller.uid != 0) return Errno::NOENT;
    resolve_flags |= AT_EMPTY_PATH;
  }
  Location old = TRY(resolve_at(process, olddirfd, oldpath, resolve_flags));
  auto parent = TRY(filename_create(process, caller, newdirfd, newpath, NewEntry::NonDirectory));
  Node& target = old.node();
  // Another mount: EXDEV (do_linkat compares the mounts first).
  if (old.anonymous || &target.fs_info() != &parent.dir.node().fs_info()) return Errno::XDEV;
  TRY(may_link(caller, target));
  if (target.is_dir()) return Errno::PERM;
  TRY(parent.dir.node().link(caller, parent.name, target));
  notify_change(old, IN_ATTRIB);
  notify_create(parent.dir, parent.name, false);
  return {};
}

ErrorOr<void> mknod_at(Process& process, int dirfd, std::string_view path, mode_t mode, dev_t dev) {
  // may_mknod() looks at the type before the path.
  mode_t type = mode & S_IFMT;
  switch (type) {
    case 0: type = S_IFREG; break;
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK: break;
    case S_IFDIR: return Errno::PERM;
    default: return Errno::INVAL;
  }
  Caller caller = Caller::of(process);
  auto parent = TRY(filename_create(process, caller, dirfd, path, NewEntry::NonDirectory));
  // No CAP_MKNOD inside the sandbox: a device node could name a host device.
  if (type == S_IFCHR || type == S_IFBLK) return Errno::PERM;
  mode_t perm = mode & 07777 & ~process.fs().umask();
  if (type == S_IFREG) {
    TRY(parent.dir.node().create(caller, parent.name, perm));
    notify_create(parent.dir, parent.name, false);
    return {};
  }
  TRY(parent.dir.node().mknod(caller, parent.name, type | perm, dev));
  notify_create(parent.dir, parent.name, false);
  return {};
}

ErrorOr<void> unlink_at(Process& process, int dirfd, std::string_view path, int at_flags) {
  if (at_flags & ~AT_REMOVEDIR) return Errno::INVAL;
  bool rmdir = at_flags & AT_REMOVEDIR;
  Caller caller = Caller::of(process);
  Vfs& vfs = vfs_of(process);
  Location start = TRY(start_for(process, dirfd, path));
  auto parent = TRY(vfs.resolve_parent(caller, process.fs().root(), start, path));
  // do_rmdir / do_unlinkat: the kind of last component is checked first.
  if (rmdir) {
    if (parent.name.empty()) return Errno::BUSY;
    if (parent.name == ".") return Errno::INVAL;
    if (parent.name == "..") return Errno::NOTEMPTY;
  } else if (parent.name.empty() || parent.name == "." || parent.name == "..") {
    return Errno::ISDIR;
  }
  if (parent.dir.node().fs_info().read_only) return Errno::ROFS;
  RefPtr<Node> victim = TRY(vfs.child(caller, parent.dir, parent.name));
  if (!rmdir && parent.trailing_slash) return victim->is_dir() ? Errno::ISDIR : Errno::NOTDIR;
  if (rmdir && !victim->is_dir()) return Errno::NOTDIR;
  if (!rmdir && victim->is_dir()) return Errno::ISDIR;
  TRY(may_modify_dir(caller, parent.dir.node()));
  TRY(check_sticky(caller, parent.dir.node(), *victim));
  if (vfs.is_mount_root(victim.ptr())) return Errno::BUSY;
  TRY(parent.dir.node().unlink(caller, parent.name, rmdir ? UnlinkKind::Dir : UnlinkKind::File));
  notify_remove(parent.dir, parent.name, *victim, rmdir);
  return {};
}

ErrorOr<void> rename_at(Process& process, int olddirfd, std::string_view oldpath, int newdirfd,
                        std::string_view newpath, unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return Errno::INVAL;
  if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))) return Errno::INVAL;
  // FIXME: RENAME_WHITEOUT (overlay support).
  if (flags & RENAME_WHITEOUT) return Errno::INVAL;
  Caller caller = Caller::of(process);
  Vfs& vfs = vfs_of(process);
  Location root = process.fs().root();
  Location old_start = TRY(start_for(process, olddirfd, oldpath));
  Location new_start = TRY(start_for(process, newdirfd, newpath));
  auto from = TRY(vfs.resolve_parent(caller, root, old_start, oldpath));
  auto to = TRY(vfs.resolve_parent(caller, root, new_start, newpath));
  auto is_special = [](const std::string& n) { return n.empty() || n == "." || n == ".."; };
  if (is_special(from.name)) return Errno::BUSY;
  if (is_special(to.name)) return (flags & RENAME_NOREPLACE) ? Errno::EXIST : Errno::BUSY;
  if (&from.dir.node().fs_info() != &to.dir.node().fs_info()) return Errno::XDEV;
  if (from.dir.node().fs_info().read_only) return Errno::ROFS;
  RefPtr<Node> source = TRY(vfs.child(caller, from.dir, from.name));
  auto target = vfs.child(caller, to.dir, to.name);
  if (target.is_error() && target.error() != Errno::NOENT) return target.error();
  if (!source->is_dir() && (from.trailing_slash || to.trailing_slash)) return Errno::NOTDIR;
  TRY(may_modify_dir(caller, from.dir.node()));
  TRY(may_modify_dir(caller, to.dir.node()));
  TRY(check_sticky(caller, from.dir.node(), *source));
  if (!target.is_error()) TRY(check_sticky(caller, to.dir.node(), *target.value()));
  if (vfs.is_mount_root(source.ptr())) return Errno::BUSY;
  if (!target.is_error() && vfs.is_mount_root(target.value().ptr())) return Errno::BUSY;
  // A directory cannot move below itself (lock_rename / vfs_rename EINVAL).
  if (source->is_dir() && to.dir.contains(source.ptr())) return Errno::INVAL;
  if ((flags & RENAME_EXCHANGE) && !target.is_error() && target.value()->is_dir() && from.dir.contains(target.value().ptr()))
    return Errno::INVAL;
  TRY(from.dir.node().rename(caller, from.name, to.dir.node(), to.name, flags));
  if (inotify_active()) {
    Node* replaced = target.is_error() ? nullptr : target.value().ptr();
    if (flags & RENAME_EXCHANGE) {
      notify_rename(from.dir, from.name, to.dir, to.name, *source, nullptr);
      if (replaced) notify_rename(to.dir, to.name, from.dir, from.name, *replaced, nullptr);
    } else {
      notify_rename(from.dir, from.name, to.dir, to.name, *source, replaced);
    }
  }
  return {};
}

ErrorOr<void> access_at(Process& process, int dirfd, std::string_view path, int mode, int flags) {
  if (mode & ~(R_OK | W_OK | X_OK)) return Errno::INVAL;
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno::INVAL;
  // access(2) checks with the real ids unless AT_EACCESS.
  Caller caller = Caller::of(process);
  if (!(flags & AT_EACCESS)) {
    caller.uid = process.creds.uid;
    caller.gid = process.creds.gid;
  }
  Location loc;
  if (path.empty() && (flags & AT_EMPTY_PATH)) {
    loc = TRY(resolve_at(process, dirfd, path, flags));
  } else {
    if (path.empty()) return Errno::NOENT;
    Location start = TRY(start_for(process, dirfd, path));
    unsigned rf = (flags & AT_SYMLINK_NOFOLLOW) ? kResolveNone : kFollowLast;
    loc = TRY(vfs_of(process).resolve(caller, process.fs().root(), start, path, rf));
  }
  if (mode == F_OK) return {};
  return may_access(caller, loc.node(), mode);
}

ErrorOr<std::string> readlink_at(Process& process, int dirfd, std::string_view path) {
  // readlinkat(fd, "") reads the symlink an O_PATH fd refers to.
  Location loc = TRY(resolve_at(process, dirfd, path, AT_SYMLINK_NOFOLLOW | (path.empty() ? AT_EMPTY_PATH : 0)));
  if (path.empty() && !loc.node().is_symlink()) return Errno::NOENT;
  return loc.node().readlink(Caller::of(process));
}

ErrorOr<void> chdir_to(Process& process, Location loc) {
  if (loc.anonymous || !loc.node().is_dir()) return Errno::NOTDIR;
  auto st = TRY(loc.node().stat());
  TRY(check_access(st, Caller::of(process), X_OK));
  process.fs().set_cwd(std::move(loc));
  return {};
}

}  // namespace moat::fs

namespace moat::fs {
ErrorOr<std::string> read_user_path(const UserMemory& mem, uint64_t addr) {
  auto s = TRY(mem.read_string(addr, PATH_MAX));
  if (s.size() >= PATH_MAX) return Errno::NAMETOOLONG;
  return s;
}
}  // namespace moat::fs
