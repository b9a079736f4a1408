#pragma once
// Synthetic filesystems: devfs (/dev), procfs (/proc) and the building blocks
// they share: a fixed directory and a fixed symlink. Nothing here touches the
// host's /dev or /proc; the mounts shadow them.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

// A directory with a fixed set of children, built once.
class SynthDir final : public Node {
 public:
  SynthDir(std::shared_ptr<const FsInfo> fs, ino_t ino, mode_t mode = 0755)
      : Node(S_IFDIR), m_fs(std::move(fs)), m_ino(ino), m_mode(mode) {}
  void add(std::string name, RefPtr<Node> node) { m_children.insert_or_assign(std::move(name), std::move(node)); }

  const FsInfo& fs_info() const override { return *m_fs; }
  ErrorOr<struct stat> stat() const override;
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override;
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override;
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }

 private:
  std::shared_ptr<const FsInfo> m_fs;
  ino_t m_ino;
  mode_t m_mode;
  std::map<std::string, RefPtr<Node>, std::less<>> m_children;
};

// A symlink whose target is fixed or computed per caller (/proc/self).
class SynthSymlink final : public Node {
 public:
  using Target = std::function<ErrorOr<std::string>(const Caller&)>;
  SynthSymlink(std::shared_ptr<const FsInfo> fs, ino_t ino, Target target)
      : Node(S_IFLNK), m_fs(std::move(fs)), m_ino(ino), m_target(std::move(target)) {}
  SynthSymlink(std::shared_ptr<const FsInfo> fs, ino_t ino, std::string target)
      : SynthSymlink(std::move(fs), ino, [t = std::move(target)](const Caller&) -> ErrorOr<std::string> { return t; }) {}

  const FsInfo& fs_info() const override { return *m_fs; }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*m_fs, m_ino, S_IFLNK | 0777, 0); }
  ErrorOr<std::string> readlink(const Caller& caller) const override { return m_target(caller); }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location&, int) override { return Errno::LOOP; }

 private:
  std::shared_ptr<const FsInfo> m_fs;
  ino_t m_ino;
  Target m_target;
};

// /dev: null, zero, full, random, urandom, tty (ENXIO), the stdio and fd
// symlinks into /proc/self/fd, and empty pts/ and shm/ (the Vfs mounts a
// tmpfs over /dev/shm).
RefPtr<Node> create_devfs();

// /proc: self, thread-self, a directory per process of the sandbox, the
// system-wide files and sys/ (fs/procfs.h has the layout).
RefPtr<Node> create_procfs();

}  // namespace moat::fs
