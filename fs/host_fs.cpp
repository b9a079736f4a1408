#include "fs/host_fs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "sentry/io/uring.h"

namespace moat::fs {

namespace {

ErrorOr<struct stat> fstat_empty(int fd) {
  struct stat st {};
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) return last_host_errno();
  return st;
}

}  // namespace

ErrorOr<RefPtr<Node>> HostNode::create_root(const std::string& host_dir) {
  UniqueFd fd(::open(host_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_host_errno();
  auto info = std::make_shared<FsInfo>();
  info->magic = 0;  // statfs reports the host's own f_type
  info->read_only = true;
  info->name = "hostfs";
  info->dev = TRY(fstat_empty(fd.get())).st_dev;
  return RefPtr<Node>::adopt(new HostNode(std::move(info), std::move(fd), S_IFDIR, nullptr, ""));
}

ErrorOr<struct stat> HostNode::stat() const { return fstat_empty(m_fd.get()); }

ErrorOr<struct statfs> HostNode::statfs() const {
  struct statfs sf {};
  if (::fstatfs(m_fd.get(), &sf) < 0) return last_host_errno();
  sf.f_flags |= ST_RDONLY;  // the sandbox never writes the host root
  return sf;
}

ErrorOr<RefPtr<Node>> HostNode::lookup(const Caller&, std::string_view name) {
  if (!is_dir()) return Errno::NOTDIR;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) return Errno::INVAL;
  if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  std::string n(name);
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return last_host_errno();
  auto st = TRY(fstat_empty(fd.get()));
  return RefPtr<Node>::adopt(new HostNode(m_fs, std::move(fd), st.st_mode, RefPtr<HostNode>(this), std::move(n)));
}

ErrorOr<std::string> HostNode::readlink(const Caller&) const {
  if (!is_symlink()) return Errno::INVAL;
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(m_fd.get(), "", buf, sizeof buf);
  if (n < 0) return last_host_errno();
  return std::string(buf, static_cast<size_t>(n));
}

ErrorOr<std::vector<DirEntry>> HostNode::list(const Caller&) const {
  if (!is_dir()) return Errno::NOTDIR;
  UniqueFd dir(::openat(m_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return last_host_errno();
  std::vector<DirEntry> out;
  alignas(8) char buf[16384];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n < 0) return last_host_errno();
    if (n == 0) break;
    for (long off = 0; off < n;) {
      uint64_t ino;
      uint16_t reclen;
      uint8_t type;
      std::memcpy(&ino, buf + off, 8);
      std::memcpy(&reclen, buf + off + 16, 2);
      std::memcpy(&type, buf + off + 18, 1);
      out.push_back(DirEntry{std::string(buf + off + 19), ino, type});
      off += reclen;
    }
  }
  return out;
}

ErrorOr<RefPtr<File>> HostNode::open(const Caller& caller, const Location& loc, int flags) {
  if (is_dir()) return DirFile::create(loc, flags, caller);
  if (!is_regular()) return Errno::ACCES;  // nodev: never open host devices, FIFOs
  if (!m_parent) return Errno::ACCES;
  // O_NONBLOCK so that a FIFO swapped in after lookup cannot block the worker;
  // it is cleared once the file is known to be regular (io_uring would
  // otherwise return EAGAIN for uncached pages).
  UniqueFd fd(::openat(m_parent->path_fd(), m_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return last_host_errno();
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return last_host_errno();
  if (!S_ISREG(st.st_mode)) return Errno::ACCES;
  if (::fcntl(fd.get(), F_SETFL, 0) < 0) return last_host_errno();
  return HostFile::create(loc, flags, std::move(fd));
}

Coro<ErrorOr<size_t>> HostFile::read(std::span<std::byte> buf, int64_t offset) {
  int64_t off = effective_offset(offset);
  int32_t r = co_await uring_read(m_fd.get(), buf.data(), static_cast<unsigned>(buf.size()), off);
  if (r < 0) co_return errno_from_host(-r);
  advance(offset, static_cast<size_t>(r));
  co_return static_cast<size_t>(r);
}

ErrorOr<size_t> HostFile::pread_sync(std::span<std::byte> buf, uint64_t offset) {
  ssize_t r = ::pread(m_fd.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
  if (r < 0) return last_host_errno();
  return static_cast<size_t>(r);
}

namespace {
// An O_PATH fd takes no f*xattr calls; its /proc/self/fd link does, and
// names the object itself even when that is a symlink.
std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }
}  // namespace

ErrorOr<std::string> HostNode::getxattr(std::string_view name) const {
  std::string path = proc_fd_path(m_fd.get());
  std::string key(name);
  for (;;) {
    ssize_t n = ::getxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (n < 0) return last_host_errno();
    std::string value(static_cast<size_t>(n), '\0');
    ssize_t r = ::getxattr(path.c_str(), key.c_str(), value.data(), value.size());
    if (r < 0 && errno == ERANGE) continue;  // it grew meanwhile
    if (r < 0) return last_host_errno();
    value.resize(static_cast<size_t>(r));
    return value;
  }
}

ErrorOr<std::vector<std::string>> HostNode::listxattr() const {
  std::string path = proc_fd_path(m_fd.get());
  for (;;) {
    ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return errno == ENOTSUP ? ErrorOr<std::vector<std::string>>(std::vector<std::string>{})
                                       : ErrorOr<std::vector<std::string>>(last_host_errno());
    std::string buf(static_cast<size_t>(n), '\0');
    ssize_t r = ::listxattr(path.c_str(), buf.data(), buf.size());
    if (r < 0 && errno == ERANGE) continue;
    if (r < 0) return last_host_errno();
    std::vector<std::string> out;
    for (size_t i = 0; i < static_cast<size_t>(r);) {
      size_t end = buf.find('\0', i);
      if (end == std::string::npos) end = static_cast<size_t>(r);
      if (end > i) out.emplace_back(buf.substr(i, end - i));
      i = end + 1;
    }
    return out;
  }
}

}  // namespace moat::fs
