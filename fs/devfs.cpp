// devfs: the character devices a guest expects in /dev, served by the sentry.
#include <sys/random.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "fs/pty.h"
#include "fs/synthetic.h"

namespace moat::fs {

namespace {

enum class Dev { Null, Zero, Full, Random, Urandom };

std::shared_ptr<const FsInfo> devfs_info() {
  static const auto info = std::make_shared<const FsInfo>(FsInfo{makedev(0, 5), 0x01021994, false, "devtmpfs"});
  return info;
}

class DevFile final : public File {
 public:
  DevFile(const Location& loc, int flags, Dev dev) : File(loc, flags), m_dev(dev) {}

  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override { co_return pread_sync(buf, 0); }
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t) override {
    switch (m_dev) {
      case Dev::Null: return size_t{0};
      case Dev::Zero:
      case Dev::Full: std::memset(buf.data(), 0, buf.size()); return buf.size();
      case Dev::Random:
      case Dev::Urandom: {
        ssize_t n = ::getrandom(buf.data(), buf.size(), 0);
        if (n < 0) return last_host_errno();
        return static_cast<size_t>(n);
      }
    }
    return Errno::NXIO;
  }
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t) override {
    if (m_dev == Dev::Full) co_return Errno::NOSPC;
    co_return buf.size();
  }
  // null_lseek / memory_lseek: the position stays 0.
  ErrorOr<int64_t> lseek(int64_t, int) override { return int64_t{0}; }
  // FIXME: mmap of /dev/zero should give anonymous memory; the mm layer can
  // special-case rdev 1:5.

 private:
  Dev m_dev;
};

class DevNode final : public Node {
 public:
  DevNode(ino_t ino, Dev dev, dev_t rdev) : Node(S_IFCHR), m_ino(ino), m_dev(dev), m_rdev(rdev) {}
  const FsInfo& fs_info() const override { return *devfs_info(); }
  ErrorOr<struct stat> stat() const override {
    struct stat st = synthetic_stat(*devfs_info(), m_ino, S_IFCHR | 0666, 0);
    st.st_rdev = m_rdev;
    st.st_blocks = 0;
    return st;
  }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override {
    return RefPtr<File>::adopt(new DevFile(loc, flags & ~O_NOCTTY, m_dev));
  }

 private:
  ino_t m_ino;
  Dev m_dev;
  dev_t m_rdev;
};

}  // namespace

RefPtr<Node> create_devfs() {
  auto info = devfs_info();
  auto root = make_ref<SynthDir>(info, 1, 0755);
  root->add("null", make_ref<DevNode>(2, Dev::Null, makedev(1, 3)));
  root->add("zero", make_ref<DevNode>(3, Dev::Zero, makedev(1, 5)));
  root->add("full", make_ref<DevNode>(4, Dev::Full, makedev(1, 7)));
  root->add("random", make_ref<DevNode>(5, Dev::Random, makedev(1, 8)));
  root->add("urandom", make_ref<DevNode>(6, Dev::Urandom, makedev(1, 9)));
  DevPtsNodes pts = create_devpts(info, 14, 7);  // fs/pty.h
  root->add("tty", pts.tty);
  root->add("ptmx", pts.ptmx);
  root->add("stdin", make_ref<SynthSymlink>(info, 8, std::string("/proc/self/fd/0")));
  root->add("stdout", make_ref<SynthSymlink>(info, 9, std::string("/proc/self/fd/1")));
  root->add("stderr", make_ref<SynthSymlink>(info, 10, std::string("/proc/self/fd/2")));
  root->add("fd", make_ref<SynthSymlink>(info, 11, std::string("/proc/self/fd")));
  root->add("pts", pts.pts);
  root->add("shm", make_ref<SynthDir>(info, 13, 01777));  // shadowed by a tmpfs mount
  return root;
}

}  // namespace moat::fs
