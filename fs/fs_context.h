#pragma once
// fs::FsContext: a process's root, working directory and umask. Shared
// between processes created with clone(CLONE_FS), hence std::shared_ptr in
// Process. Lock order: FsContext before FdTable.

#include <sys/types.h>

#include <memory>
#include <mutex>

#include "fs/node.h"

namespace moat::fs {

class MountNs;

class FsContext {
 public:
  FsContext(Location root, Location cwd, mode_t umask = 022)
      : m_root(std::move(root)), m_cwd(std::move(cwd)), m_umask(umask) {}

  Location root() const {
    std::lock_guard lock(m_lock);
    return m_root;
  }
  Location cwd() const {
    std::lock_guard lock(m_lock);
    return m_cwd;
  }
  void set_cwd(Location cwd) {
    std::lock_guard lock(m_lock);
    std::swap(m_cwd, cwd);
  }
  // chroot(2).
  void set_root(Location root) {
    std::lock_guard lock(m_lock);
    std::swap(m_root, root);
  }
  void set_root_and_cwd(Location root, Location cwd) {
    std::lock_guard lock(m_lock);
    std::swap(m_root, root);
    std::swap(m_cwd, cwd);
  }
  // The mount namespace (fs/mounts.h); null for the sandbox's initial one.
  // Kept here rather than in a namespace proxy: fork copies it with the
  // context, and unshare(CLONE_NEWNS) unshares the context first, as Linux
  // does (unshare(2): CLONE_NEWNS implies CLONE_FS).
  std::shared_ptr<MountNs> mount_ns() const {
    std::lock_guard lock(m_lock);
    return m_ns;
  }
  void set_mount_ns(std::shared_ptr<MountNs> ns) {
    std::lock_guard lock(m_lock);
    m_ns = std::move(ns);
  }
  mode_t umask() const {
    std::lock_guard lock(m_lock);
    return m_umask;
  }
  // Sets the umask, returns the previous one (umask(2)).
  mode_t exchange_umask(mode_t mask) {
    std::lock_guard lock(m_lock);
    return std::exchange(m_umask, mask & 0777);
  }
  std::shared_ptr<FsContext> clone() const {
    std::lock_guard lock(m_lock);
    auto copy = std::make_shared<FsContext>(m_root, m_cwd, m_umask);
    copy->m_ns = m_ns;
    return copy;
  }

 private:
  mutable std::mutex m_lock;
  Location m_root;
  Location m_cwd;
  mode_t m_umask;
  std::shared_ptr<MountNs> m_ns;
};

}  // namespace moat::fs
