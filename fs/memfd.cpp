#include "fs/memfd.h"

#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "fs/tmpfs.h"

namespace moat::fs {

namespace {

// The internal mount memfds live on (Linux's shm_mnt), made on first use.
TmpNode& memfd_root() {
  static RefPtr<Node> root = TmpNode::create_root(makedev(0, 1), 01777, "tmpfs");
  return static_cast<TmpNode&>(*root);
}

constexpr unsigned kHugeSizeMask = 0x3fu << 26;  // MFD_HUGE_MASK << MFD_HUGE_SHIFT
constexpr unsigned kKnownFlags = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | 0x8u /* MFD_NOEXEC_SEAL */ |
                                 0x10u /* MFD_EXEC */;

}  // namespace

ErrorOr<void> check_memfd_flags(unsigned flags) {
  if (flags & ~(kKnownFlags | kHugeSizeMask)) return Errno::INVAL;
  if ((flags & kHugeSizeMask) && !(flags & MFD_HUGETLB)) return Errno::INVAL;
  return {};
}

ErrorOr<RefPtr<File>> create_memfd(const Caller& caller, const std::string& name, unsigned flags) {
  TRY(check_memfd_flags(flags));
  if (name.size() > kMemfdNameMax) return Errno::INVAL;
  // The host checks the remaining flag combinations (MFD_EXEC with
  // MFD_NOEXEC_SEAL, vm.memfd_noexec) and gives their errors.
  UniqueFd fd(::memfd_create(name.c_str(), (flags & ~MFD_CLOEXEC) | MFD_CLOEXEC));
  if (!fd) return last_host_errno();
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return last_host_errno();
  auto node = TRY(memfd_root().create_unlinked(caller, st.st_mode & 07777, std::move(fd), Linkable::No));
  Location loc;
  loc.anonymous = true;
  std::string display = "/memfd:" + name + " (deleted)";
  loc.entries.push_back(PathEntry{display, node});
  return TmpFile::create(loc, O_RDWR | O_LARGEFILE, std::move(node), std::move(display));
}

ErrorOr<int64_t> file_seals(File& file, int cmd, uint64_t arg) {
  auto* tmp = dynamic_cast<TmpFile*>(&file);
  if (!tmp) return Errno::INVAL;
  // memfd_add_seals(): sealing needs a writable description.
  if (cmd == F_ADD_SEALS && !file.writable()) return Errno::PERM;
  int r = ::fcntl(tmp->tmp_node().memfd(), cmd, static_cast<unsigned>(arg));
  if (r < 0) return last_host_errno();
  return r;
}

}  // namespace moat::fs
