#pragma once
// Path-level operations shared by the syscall handlers and the loader:
// dirfd handling, open(2) semantics, permission and read-only checks. The
// handlers in sentry/syscalls/ decode arguments and call these.

#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <string_view>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"

namespace moat {
class Sandbox;
}

namespace moat::fs {

// Creates the sandbox's Vfs if it has none, then the process's FsContext (cwd
// = guest_cwd if it exists in the sandbox, else "/") and FdTable with the
// guest's fds 0, 1, 2 wrapping the moat process's own 0, 1, 2.
ErrorOr<void> setup_process_fs(Sandbox& sandbox, Process& process, const std::string& guest_cwd);

// open(2) relative to dirfd (AT_FDCWD or an fd of process). Used by openat
// and the loader.
ErrorOr<RefPtr<File>> open_path(Process& process, int dirfd, std::string_view path, int flags, mode_t mode);

// openat2(2)'s struct open_how, as the guest passes it.
struct OpenHow {
  uint64_t flags = 0;
  uint64_t mode = 0;
  uint64_t resolve = 0;
};
// openat2(2): the struct's checks (EINVAL; EAGAIN for RESOLVE_CACHED with a
// create), then open_path under the RESOLVE_* rules.
ErrorOr<RefPtr<File>> open_path2(Process& process, int dirfd, std::string_view path, const OpenHow& how);

// The guest path of the executable `cmd` as execvp(3) finds it: cmd itself
// when it contains '/', else the first match in path_env (':'-separated).
// ENOENT when nothing matches, EACCES when a match was not executable.
ErrorOr<std::string> resolve_exec(Process& process, std::string_view cmd, std::string_view path_env);

// Resolves path relative to dirfd. at_flags: AT_SYMLINK_NOFOLLOW,
// AT_EMPTY_PATH (empty path: the location of dirfd itself).
ErrorOr<Location> resolve_at(Process& process, int dirfd, std::string_view path, int at_flags);

ErrorOr<void> mkdir_at(Process& process, int dirfd, std::string_view path, mode_t mode);
// symlinkat(2): creates path (relative to dirfd) holding target verbatim.
ErrorOr<void> symlink_at(Process& process, std::string_view target, int dirfd, std::string_view path);
ErrorOr<void> unlink_at(Process& process, int dirfd, std::string_view path, int at_flags);
// linkat(2). flags: AT_SYMLINK_FOLLOW, AT_EMPTY_PATH.
ErrorOr<void> link_at(Process& process, int olddirfd, std::string_view oldpath, int newdirfd,
                      std::string_view newpath, int flags);
// mknodat(2): regular files, FIFOs and sockets; device nodes are EPERM (the
// sandbox grants no CAP_MKNOD).
ErrorOr<void> mknod_at(Process& process, int dirfd, std::string_view path, mode_t mode, dev_t dev);
ErrorOr<void> rename_at(Process& process, int olddirfd, std::string_view oldpath, int newdirfd,
                        std::string_view newpath, unsigned flags);
// faccessat2(2). mode: F_OK or R_OK | W_OK | X_OK; flags: AT_EACCESS,
// AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
ErrorOr<void> access_at(Process& process, int dirfd, std::string_view path, int mode, int flags);
ErrorOr<std::string> readlink_at(Process& process, int dirfd, std::string_view path);
ErrorOr<void> chdir_to(Process& process, Location loc);

Vfs& vfs_of(Process& process);

}  // namespace moat::fs

namespace moat::fs {
// Reads a guest path: EFAULT for bad memory, ENAMETOOLONG from PATH_MAX on
// (strncpy_from_user in getname()).
ErrorOr<std::string> read_user_path(const UserMemory& mem, uint64_t addr);
}  // namespace moat::fs
