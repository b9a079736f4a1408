#pragma once
// fs::FdTable: a guest process's file descriptors (fd -> File, close-on-exec).
// Shared between processes created with clone(CLONE_FILES), hence held by
// std::shared_ptr in Process. Its lock is taken after FsContext's and never
// held while a File is destroyed or does I/O.

#include <sys/resource.h>

#include <memory>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/mutex_protected.h"
#include "base/ref_ptr.h"
#include "fs/file.h"

namespace moat::fs {

constexpr uint64_t kDefaultNofile = 1024;

// RLIMIT_NOFILE of the process (1024 when the process has no limit recorded).
uint64_t nofile_limit(const Process& process);

class FdTable {
 public:
  FdTable() = default;
  ~FdTable();
  // Installs file at the lowest free fd >= min_fd; EMFILE at or past limit.
  ErrorOr<int> allocate(RefPtr<File> file, bool cloexec, int min_fd, uint64_t limit);
  // Installs file at exactly fd, replacing (and closing) what was there.
  ErrorOr<void> install_at(int fd, RefPtr<File> file, bool cloexec, uint64_t limit);
  ErrorOr<RefPtr<File>> get(int fd) const;
  ErrorOr<bool> cloexec(int fd) const;
  ErrorOr<void> set_cloexec(int fd, bool cloexec);
  // Removes fd and hands its File back so the caller drops it outside the lock.
  ErrorOr<RefPtr<File>> remove(int fd);
  // execve: closes every close-on-exec fd.
  void close_on_exec();
  // fork without CLONE_FILES.
  std::shared_ptr<FdTable> clone() const;
  std::vector<std::pair<int, RefPtr<File>>> snapshot() const;

 private:
  struct Entry {
    RefPtr<File> file;
    bool cloexec = false;
  };
  MutexProtected<std::vector<Entry>> m_entries;
};

}  // namespace moat::fs
