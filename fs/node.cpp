#include "fs/node.h"

#include "fs/file.h"

#include <dirent.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>

namespace moat::fs {

std::string Location::path() const {
  if (entries.size() <= 1) return "/";
  std::string p;
  for (size_t i = 1; i < entries.size(); ++i) {
    p += '/';
    p += entries[i].name;
  }
  return p;
}

Location Location::current(bool* removed) const {
  if (removed) *removed = false;
  if (anonymous || entries.size() <= 1) return *this;
  // Walk up from the node through the tracked links until a node that the
  // recorded entries hold; that prefix stays, the walked chain replaces the rest.
  std::vector<PathEntry> chain;  // innermost first
  RefPtr<Node> node = entries.back().node;
  for (size_t guard = 0; guard < 4096; ++guard) {
    auto link = node->current_link();
    if (!link) {
      for (size_t j = entries.size(); j-- > 0;) {
        if (entries[j].node.ptr() != node.ptr()) continue;
        Location out;
        out.entries.assign(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(j) + 1);
        out.entries.insert(out.entries.end(), chain.rbegin(), chain.rend());
        return out;
      }
      return *this;  // moved out of sight of the recorded path: keep it
    }
    if (!link->parent) {
      if (removed) *removed = true;
      return *this;
    }
    chain.push_back(PathEntry{std::move(link->name), node});
    node = std::move(link->parent);
  }
  return *this;
}

std::string Location::display_path() const {
  bool removed = false;
  std::string p = current(&removed).path();
  return removed ? p + " (deleted)" : p;
}

bool Location::contains(const Node* n) const {
  for (const auto& e : entries)
    if (e.node.ptr() == n) return true;
  return false;
}

RefPtr<File> Node::magic_target() const { return nullptr; }

bool Caller::in_group(gid_t g) const {
  if (g == gid) return true;
  if (!process) return false;
  const auto& groups = process->creds.groups;
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

ErrorOr<struct statfs> Node::statfs() const {
  const FsInfo& info = fs_info();
  struct statfs sf {};
  sf.f_type = info.magic;
  sf.f_bsize = 4096;
  sf.f_frsize = 4096;
  sf.f_namelen = NAME_MAX;
  sf.f_fsid.__val[0] = static_cast<int>(info.dev);
  sf.f_flags = kDefaultStatfsFlags | (info.read_only ? ST_RDONLY : 0);
  return sf;
}

ErrorOr<void> may_chown(const Caller& caller, const struct stat& st, uid_t uid, gid_t gid) {
  if (caller.uid == 0) return {};  // CAP_CHOWN
  bool owner = caller.uid == st.st_uid;
  if (uid != static_cast<uid_t>(-1) && !(owner && uid == st.st_uid)) return Errno::PERM;
  if (gid != static_cast<gid_t>(-1) && !(owner && (gid == st.st_gid || caller.in_group(gid)))) return Errno::PERM;
  // Even chown(-1, -1) clears set-id bits, a mode change only the owner may make.
  if (!owner && !S_ISDIR(st.st_mode) && (st.st_mode & S_ISUID || (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)))
    return Errno::PERM;
  return {};
}

ErrorOr<void> may_set_times(const Caller& caller, const struct stat& st, const struct timespec& atime,
                            const struct timespec& mtime) {
  if (caller.uid == 0 || caller.uid == st.st_uid) return {};  // CAP_FOWNER or the owner
  // Only "both now" (or a null times) is a touch, allowed with write access;
  // anything else, UTIME_OMIT included, is the owner's (vfs_utimes).
  if (atime.tv_nsec != UTIME_NOW || mtime.tv_nsec != UTIME_NOW) return Errno::PERM;
  return check_access(st, caller, W_OK);
}

mode_t mode_after_chown(mode_t mode) {
  if (S_ISDIR(mode)) return mode;
  mode &= ~S_ISUID;
  // A setgid bit without group execute marks mandatory locking, not privilege: it stays.
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) mode &= ~S_ISGID;
  return mode;
}

ErrorOr<void> check_access(const struct stat& st, const Caller& caller, int mask) {
  mask &= R_OK | W_OK | X_OK;
  if (mask == 0) return {};
  if (caller.uid == 0) {
    // CAP_DAC_OVERRIDE: read and write always; execute only if some x bit is
    // set or the node is a directory (fs/namei.c generic_permission).
    if (!(mask & X_OK) || S_ISDIR(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) return {};
    return Errno::ACCES;
  }
  mode_t bits;
  if (caller.uid == st.st_uid)
    bits = (st.st_mode >> 6) & 7;
  else if (caller.gid == st.st_gid)
    bits = (st.st_mode >> 3) & 7;
  else
    bits = st.st_mode & 7;
  if ((bits & static_cast<mode_t>(mask)) != static_cast<mode_t>(mask)) return Errno::ACCES;
  return {};
}

unsigned char dirent_type(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

struct stat synthetic_stat(const FsInfo& fs, ino_t ino, mode_t mode, off_t size, nlink_t nlink) {
  struct stat st {};
  st.st_dev = fs.dev;
  st.st_ino = ino;
  st.st_mode = mode;
  st.st_nlink = nlink;
  st.st_size = size;
  st.st_blksize = 4096;
  st.st_blocks = (size + 511) / 512;
  // Synthetic files appear created when the sentry started.
  static const struct timespec boot = [] {
    struct timespec t {};
    clock_gettime(CLOCK_REALTIME, &t);
    return t;
  }();
  st.st_atim = st.st_mtim = st.st_ctim = boot;
  return st;
}

}  // namespace moat::fs
