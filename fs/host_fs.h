#pragma once
// hostfs: the sandbox's root directory on the host, exposed READ-ONLY.
//
// Isolation: a HostNode holds an O_PATH fd of one host object. Children are
// looked up one component at a time with openat(fd, name, O_PATH | O_NOFOLLOW);
// symlinks are never followed by the host kernel, only read (readlinkat) and
// resolved by the sentry in guest path space (fs/vfs.cpp). So no guest path
// reaches outside the root fd. Host device nodes, FIFOs and sockets in the
// root are never opened (EACCES, as on a nodev mount).

#include <memory>
#include <string>

#include "base/unique_fd.h"
#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

class HostNode final : public Node {
 public:
  // The root of a hostfs over host_dir (a directory path on the host).
  static ErrorOr<RefPtr<Node>> create_root(const std::string& host_dir);

  const FsInfo& fs_info() const override { return *m_fs; }
  ErrorOr<struct stat> stat() const override;
  ErrorOr<struct statfs> statfs() const override;
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override;
  ErrorOr<std::string> readlink(const Caller&) const override;
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override;
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override;
  // Nothing the guest can write reaches the host files: nothing to flush.
  ErrorOr<void> fsync() override { return {}; }
  // The host object's extended attributes, read through its O_PATH fd.
  ErrorOr<std::string> getxattr(std::string_view name) const override;
  ErrorOr<std::vector<std::string>> listxattr() const override;

  int path_fd() const { return m_fd.get(); }

 private:
  HostNode(std::shared_ptr<const FsInfo> fs, UniqueFd fd, mode_t type, RefPtr<HostNode> parent, std::string name)
      : Node(type), m_fs(std::move(fs)), m_fd(std::move(fd)), m_parent(std::move(parent)), m_name(std::move(name)) {}

  std::shared_ptr<const FsInfo> m_fs;
  UniqueFd m_fd;  // O_PATH | O_NOFOLLOW
  // Regular files are (re)opened for reading with openat(parent, name).
  RefPtr<HostNode> m_parent;
  std::string m_name;
};

// A regular host file opened for reading. Its stat is its node's, so that an
// overlay above shows one inode through paths and descriptors alike.
class HostFile final : public File {
 public:
  static RefPtr<File> create(const Location& loc, int flags, UniqueFd fd) {
    return RefPtr<File>::adopt(new HostFile(loc, flags, std::move(fd)));
  }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) override;
  int mmap_fd() const override { return m_fd.get(); }

 private:
  HostFile(Location loc, int flags, UniqueFd fd) : File(std::move(loc), flags), m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

}  // namespace moat::fs
