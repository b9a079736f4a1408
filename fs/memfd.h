#pragma once
// memfd_create(2) files and file seals (F_ADD_SEALS, F_GET_SEALS).
//
// A memfd is a tmpfs regular file that no directory holds: a TmpNode of a
// private tmpfs instance over a host memfd made with the guest's flags. The
// host memfd keeps the seals, so the host enforces them on every write,
// truncate and mapping the stub makes, exactly as Linux does (memfd.c).

#include <string>

#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

// MFD_NAME_MAX_LEN: NAME_MAX less the "memfd:" prefix.
constexpr size_t kMemfdNameMax = 249;

// The flag checks memfd_create(2) makes before it reads the name (EINVAL).
ErrorOr<void> check_memfd_flags(unsigned flags);

// A new memfd description named name, open O_RDWR | O_LARGEFILE. flags as
// memfd_create(2) takes them (MFD_CLOEXEC is the fd table's business).
ErrorOr<RefPtr<File>> create_memfd(const Caller& caller, const std::string& name, unsigned flags);

// fcntl(2) F_ADD_SEALS and F_GET_SEALS on any file: tmpfs files answer
// from their host memfd (those not made by memfd_create carry F_SEAL_SEAL,
// as shmem files do); others are EINVAL.
ErrorOr<int64_t> file_seals(File& file, int cmd, uint64_t arg);

}  // namespace moat::fs
