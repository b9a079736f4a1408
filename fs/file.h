#pragma once
// fs::File: an open file description (what an fd points at). Holds the open
// flags, the position and the Location it was opened at; subclasses implement
// the I/O. Files never touch guest memory except in ioctl: the syscall layer
// copies between guest memory and the sentry buffers passed here.

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "base/unique_fd.h"
#include "fs/node.h"
#include "sentry/io/coro.h"
#include "sentry/mm/user_memory.h"

namespace moat::fs {

// Flags F_SETFL may change (fcntl(2)); the others are fixed at open.
constexpr int kSettableStatusFlags = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

class File : public RefCounted<File> {
 public:
  // Releases the flock and OFD locks the description holds (fs/locks.h).
  virtual ~File();

  int flags() const { return m_flags.load(std::memory_order_relaxed); }
  void set_status_flags(int f) {
    m_flags.store((flags() & ~kSettableStatusFlags) | (f & kSettableStatusFlags), std::memory_order_relaxed);
  }
  bool readable() const { return !(flags() & O_PATH) && ((flags() & O_ACCMODE) == O_RDONLY || (flags() & O_ACCMODE) == O_RDWR); }
  bool writable() const { return !(flags() & O_PATH) && ((flags() & O_ACCMODE) == O_WRONLY || (flags() & O_ACCMODE) == O_RDWR); }
  bool nonblocking() const { return flags() & O_NONBLOCK; }

  const Location& location() const { return m_loc; }
  Node& node() const { return m_loc.node(); }
  // Guest path, or a name like "pipe:[1234]" for anonymous files.
  virtual std::string path() const { return m_loc.current().path(); }

  // Reads into buf at offset (-1: at the file position, which advances).
  // Returns the count; 0 at end of file.
  virtual Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset);
  virtual Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset);
  // Synchronous positional read for regular files (the ELF loader uses it).
  virtual ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) { return Errno::INVAL; }
  virtual ErrorOr<struct stat> stat() const { return node().stat(); }
  // A host fd the stub may mmap (owned by the File; do not close), or -1 (ENODEV).
  virtual int mmap_fd() const { return -1; }
  virtual ErrorOr<int64_t> lseek(int64_t offset, int whence);
  // Fills buf with linux_dirent64 records; EINVAL if not even one fits.
  virtual ErrorOr<size_t> getdents64(std::span<std::byte> buf) { return Errno::NOTDIR; }
  // ioctl requests the sentry does not handle itself (FIOCLEX... are in the handler).
  virtual ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) { return Errno::NOTTY; }
  // Pipes and ttys: no position, lseek gives ESPIPE.
  virtual bool is_stream() const { return false; }
  // A host fd whose readiness poll, select and epoll watch for this file,
  // or -1 (always ready).
  virtual int poll_host_fd() const { return -1; }
  // Host fd behind a pipe (F_GETPIPE_SZ) or -1.
  virtual int pipe_host_fd() const { return -1; }
  virtual ErrorOr<void> truncate(uint64_t size) { return Errno::INVAL; }
  // A new description of the same object, for opening /proc/self/fd/N when
  // the file has no path (pipes, stdio). ENXIO when impossible.
  virtual ErrorOr<RefPtr<File>> reopen(int flags) { return Errno::NXIO; }

  int64_t position() const { return m_pos.load(std::memory_order_relaxed); }

  // fcntl(2) F_SETOWN / F_SETOWN_EX / F_SETSIG: the process (F_OWNER_PID),
  // thread (F_OWNER_TID) or group (F_OWNER_PGRP) signalled for this
  // description, and the signal (0: SIGIO). dnotify signals it (fs/inotify.h).
  // FIXME: O_ASYNC readiness signals are not sent.
  struct Owner {
    int type = F_OWNER_PID;
    pid_t id = 0;
  };
  Owner owner() const {
    uint64_t v = m_owner.load(std::memory_order_relaxed);
    return Owner{static_cast<int>(v >> 32), static_cast<pid_t>(static_cast<uint32_t>(v))};
  }
  void set_owner(Owner o) {
    m_owner.store((uint64_t{static_cast<uint32_t>(o.type)} << 32) | static_cast<uint32_t>(o.id), std::memory_order_relaxed);
  }
  int owner_signal() const { return m_owner_signal.load(std::memory_order_relaxed); }
  void set_owner_signal(int sig) { m_owner_signal.store(sig, std::memory_order_relaxed); }

  // The epoll instances this description is registered in, by guest fd
  // (fs/event_files.cpp). The host epoll keys entries by host fd, so a
  // description registered through two guest fds (a dup) gets a second host
  // fd for the second entry: an alias, closed with the description, which is
  // also when Linux drops the entries.
  struct EpollLink {
    uint64_t epoll_id;
    int guest_fd;
    UniqueFd alias;  // invalid: the description's own poll_host_fd is registered
  };

 protected:
  File(Location loc, int flags);
  // Returns the offset to use for an I/O at `offset` (-1 = file position).
  int64_t effective_offset(int64_t offset) const { return offset < 0 ? position() : offset; }
  // Advances the position after an I/O at `offset` moved n bytes.
  void advance(int64_t offset, size_t n) {
    if (offset < 0) m_pos.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  }
  // FIXME: Linux holds f_pos_lock across read/write; two guest threads reading
  // one fd concurrently may see the same position here.
  std::atomic<int64_t> m_pos{0};

 private:
  friend class EpollFile;
  std::atomic<int> m_flags;
  Location m_loc;
  std::vector<EpollLink> m_epoll_links;  // guarded by EpollFile's registry lock
  std::atomic<uint64_t> m_owner{uint64_t{F_OWNER_PID} << 32};
  std::atomic<int> m_owner_signal{0};
};

// A file opened with O_PATH: only fstat, fchdir, *at lookups and close.
class PathFile final : public File {
 public:
  static RefPtr<File> create(const Location& loc, int flags) { return RefPtr<File>::adopt(new PathFile(loc, flags)); }

 private:
  PathFile(Location loc, int flags) : File(std::move(loc), flags) {}
};

// A directory opened for reading: getdents64 over a snapshot of Node::list,
// taken at the first call and again after lseek to 0 (rewinddir).
class DirFile final : public File {
 public:
  static RefPtr<File> create(const Location& loc, int flags, const Caller& caller);
  Coro<ErrorOr<size_t>> read(std::span<std::byte>, int64_t) override;
  ErrorOr<size_t> getdents64(std::span<std::byte> buf) override;
  ErrorOr<int64_t> lseek(int64_t offset, int whence) override;

 private:
  DirFile(Location loc, int flags, const Caller& caller) : File(std::move(loc), flags), m_caller(caller) {}
  Caller m_caller;
  std::mutex m_lock;
  std::vector<DirEntry> m_entries;  // guarded by m_lock
  bool m_loaded = false;            // guarded by m_lock
};

// Generated text (procfs): a snapshot taken at open, read at any offset.
class BufferFile final : public File {
 public:
  static RefPtr<File> create(const Location& loc, int flags, std::string data) {
    return RefPtr<File>::adopt(new BufferFile(loc, flags, std::move(data)));
  }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) override;

 private:
  BufferFile(Location loc, int flags, std::string data) : File(std::move(loc), flags), m_data(std::move(data)) {}
  std::string m_data;
};

}  // namespace moat::fs
