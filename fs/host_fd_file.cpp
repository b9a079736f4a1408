#include "fs/host_fd_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "sentry/io/uring.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

const FsInfo& AnonNode::anon_fs() {
  static const FsInfo info{makedev(0, 13), PIPEFS_MAGIC, false, "pipefs"};
  return info;
}

namespace {

std::string name_for(const struct stat& st, int host_fd) {
  if (S_ISFIFO(st.st_mode)) return "pipe:[" + std::to_string(st.st_ino) + "]";
  if (S_ISSOCK(st.st_mode)) return "socket:[" + std::to_string(st.st_ino) + "]";
  if (S_ISCHR(st.st_mode)) {
    unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    if (maj >= 136 && maj <= 143) return "/dev/pts/" + std::to_string(min);
    if (maj == 1 && min == 3) return "/dev/null";
    if (maj == 5 && min == 0) return "/dev/tty";
    if (maj == 4) return "/dev/tty" + std::to_string(min);
  }
  return "anon_inode:[host-fd-" + std::to_string(host_fd) + "]";
}

// The kernel's struct termios (asm/termbits.h), not glibc's larger one.
constexpr size_t kKernelTermiosSize = 36;

}  // namespace

ErrorOr<RefPtr<File>> HostFdFile::create(UniqueFd fd, int flags, Kind kind) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return last_host_errno();
  bool stream = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode);
  std::string name = name_for(st, fd.get());
  Location loc;
  loc.entries.push_back(PathEntry{name, make_ref<AnonNode>(st.st_mode)});
  loc.anonymous = true;
  return RefPtr<File>::adopt(new HostFdFile(std::move(loc), flags, std::move(fd), kind, std::move(name), stream));
}

ErrorOr<RefPtr<File>> wrap_host_stdio(int host_fd) {
  int host_flags = ::fcntl(host_fd, F_GETFL);
  if (host_flags < 0) return last_host_errno();
  UniqueFd fd(::fcntl(host_fd, F_DUPFD_CLOEXEC, 3));
  if (!fd) return last_host_errno();
  return HostFdFile::create(std::move(fd), host_flags & (O_ACCMODE | O_APPEND | O_LARGEFILE), HostFdFile::Kind::Stdio);
}

ErrorOr<std::pair<RefPtr<File>, RefPtr<File>>> create_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | (flags & O_DIRECT)) < 0) return last_host_errno();
  UniqueFd r(fds[0]), w(fds[1]);
  int guest = flags & (O_NONBLOCK | O_DIRECT);
  auto rf = TRY(HostFdFile::create(std::move(r), O_RDONLY | guest, HostFdFile::Kind::Pipe));
  auto wf = TRY(HostFdFile::create(std::move(w), O_WRONLY | guest, HostFdFile::Kind::Pipe));
  return std::pair{rf, wf};
}

// Guest O_NONBLOCK on a stream becomes RWF_NOWAIT. A blocking guest read on a
// host fd that happens to be O_NONBLOCK (a shared tty) waits with POLL_ADD.
Coro<ErrorOr<size_t>> HostFdFile::read(std::span<std::byte> buf, int64_t offset) {
  int fd = m_fd.get();
  void* p = buf.data();
  auto len = static_cast<unsigned>(buf.size());
  int64_t off = m_stream ? -1 : offset;
  for (;;) {
    int32_t r;
    if (m_stream && nonblocking())
      r = co_await uring_op([=](io_uring_sqe* s) {
        io_uring_prep_read(s, fd, p, len, static_cast<uint64_t>(off));
        s->rw_flags = RWF_NOWAIT;
      });
    else
      r = co_await uring_read(fd, p, len, off);
    if (r == -EAGAIN && !nonblocking()) {
      co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, POLLIN); });
      continue;
    }
    if (r == -EINTR) continue;
    if (r < 0) co_return r == -EAGAIN ? Errno::AGAIN : errno_from_host(-r);
    co_return static_cast<size_t>(r);
  }
}

Coro<ErrorOr<size_t>> HostFdFile::write(std::span<const std::byte> buf, int64_t offset) {
  int fd = m_fd.get();
  const void* p = buf.data();
  auto len = static_cast<unsigned>(buf.size());
  int64_t off = m_stream ? -1 : offset;
  for (;;) {
    int32_t r;
    if (m_stream && nonblocking())
      r = co_await uring_op([=](io_uring_sqe* s) {
        io_uring_prep_write(s, fd, p, len, static_cast<uint64_t>(off));
        s->rw_flags = RWF_NOWAIT;
      });
    else
      r = co_await uring_write(fd, p, len, off);
    if (r == -EAGAIN && !nonblocking()) {
      co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, POLLOUT); });
      continue;
    }
    if (r == -EINTR) continue;
    // EPIPE goes up as Errno::PIPE; the dispatcher delivers SIGPIPE.
    if (r < 0) co_return r == -EAGAIN ? Errno::AGAIN : errno_from_host(-r);
    co_return static_cast<size_t>(r);
  }
}

ErrorOr<struct stat> HostFdFile::stat() const {
  struct stat st {};
  if (::fstat(m_fd.get(), &st) < 0) return last_host_errno();
  return st;
}

ErrorOr<int64_t> HostFdFile::lseek(int64_t offset, int whence) {
  if (m_stream) return Errno::SPIPE;
  off_t r = ::lseek(m_fd.get(), offset, whence);
  if (r < 0) return last_host_errno();
  return static_cast<int64_t>(r);
}

// Allow-list of tty ioctls forwarded to the host; everything else ENOTTY.
ErrorOr<int64_t> HostFdFile::ioctl(Process& process, unsigned long request, uint64_t arg) {
  const UserMemory& mem = process.mem();
  alignas(8) unsigned char buf[64] = {};
  size_t in = 0, out = 0;
  switch (request) {
    case TCGETS: out = kKernelTermiosSize; break;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: in = kKernelTermiosSize; break;
    case TIOCGWINSZ: out = sizeof(struct winsize); break;
    case TIOCSWINSZ: in = sizeof(struct winsize); break;
    case FIONREAD: out = sizeof(int); break;
    case TIOCGPGRP: {
      // FIXME: job control. The host's process group id means nothing to the
      // guest; report the guest process as the foreground group.
      int probe;
      if (::ioctl(m_fd.get(), TIOCGPGRP, &probe) < 0) return last_host_errno();
      int32_t pgrp = process.pid();
      TRY(mem.write(arg, &pgrp, sizeof pgrp));
      return 0;
    }
    case TIOCSPGRP: {
      int32_t pgrp;
      TRY(mem.read(arg, &pgrp, sizeof pgrp));
      int probe;
      if (::ioctl(m_fd.get(), TIOCGPGRP, &probe) < 0) return last_host_errno();
      if (pgrp <= 0) return Errno::INVAL;
      return 0;  // FIXME: job control; accepted without effect.
    }
    default: return Errno::NOTTY;
  }
  if (in) TRY(mem.read(arg, buf, in));
  if (::ioctl(m_fd.get(), request, buf) < 0) return last_host_errno();
  if (out) TRY(mem.write(arg, buf, out));
  return 0;
}

ErrorOr<RefPtr<File>> HostFdFile::reopen(int flags) {
  int host_flags = ::fcntl(m_fd.get(), F_GETFL);
  if (host_flags < 0) return last_host_errno();
  int want = flags & O_ACCMODE, have = host_flags & O_ACCMODE;
  if ((want == O_RDWR && have != O_RDWR) || (want != O_RDWR && have != O_RDWR && want != have)) return Errno::ACCES;
  UniqueFd fd(::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!fd) return last_host_errno();
  return create(std::move(fd), flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), m_kind);
}

}  // namespace moat::fs
