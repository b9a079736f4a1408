#pragma once
// Files over a host fd that has no path in the sandbox: the guest's stdio
// (dups of the moat process's own fds 0, 1, 2) and pipes created by the
// sentry. I/O goes through io_uring, so a blocking pipe or tty never blocks a
// worker. The host fd stays blocking; guest O_NONBLOCK becomes RWF_NOWAIT.

#include <string>

#include "base/unique_fd.h"
#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

// The node behind an anonymous file: stat comes from the file itself.
class AnonNode final : public Node {
 public:
  explicit AnonNode(mode_t type) : Node(type) {}
  static const FsInfo& anon_fs();
  const FsInfo& fs_info() const override { return anon_fs(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(anon_fs(), 1, type() | 0600, 0); }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location&, int) override { return Errno::NXIO; }
};

// The result of following a magic link to an anonymous file.
class FileRefNode final : public Node {
 public:
  FileRefNode(RefPtr<File> file, mode_t type) : Node(type), m_file(std::move(file)) {}
  const FsInfo& fs_info() const override { return AnonNode::anon_fs(); }
  ErrorOr<struct stat> stat() const override { return m_file->stat(); }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location&, int flags) override { return m_file->reopen(flags); }

 private:
  RefPtr<File> m_file;
};

class HostFdFile final : public File {
 public:
  enum class Kind { Stdio, Pipe };
  // name: what /proc/self/fd shows ("pipe:[ino]", "/dev/pts/0").
  static ErrorOr<RefPtr<File>> create(UniqueFd fd, int flags, Kind kind);

  std::string path() const override { return m_name; }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset) override;
  ErrorOr<struct stat> stat() const override;
  ErrorOr<int64_t> lseek(int64_t offset, int whence) override;
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override;
  bool is_stream() const override { return m_stream; }
  int pipe_host_fd() const override { return m_kind == Kind::Pipe ? m_fd.get() : -1; }
  ErrorOr<RefPtr<File>> reopen(int flags) override;
  int host_fd() const { return m_fd.get(); }
  int poll_host_fd() const override { return m_fd.get(); }

 private:
  HostFdFile(Location loc, int flags, UniqueFd fd, Kind kind, std::string name, bool stream)
      : File(std::move(loc), flags), m_fd(std::move(fd)), m_kind(kind), m_name(std::move(name)), m_stream(stream) {}
  UniqueFd m_fd;
  Kind m_kind;
  std::string m_name;
  bool m_stream;
};

// pipe2(2): a host pipe wrapped as two HostFdFiles. flags: O_NONBLOCK,
// O_DIRECT (O_CLOEXEC is the fd table's business).
ErrorOr<std::pair<RefPtr<File>, RefPtr<File>>> create_pipe(int flags);

// Wraps host fd `host_fd` (dup'ed) as the guest's stdio file.
ErrorOr<RefPtr<File>> wrap_host_stdio(int host_fd);

}  // namespace moat::fs
