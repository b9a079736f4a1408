// Conformance: access(2), faccessat(2), faccessat2(2). The tests run as root
// (CI) or as another user; root's answers follow generic_permission().
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int faccessat2_raw(int dirfd, const char* path, int mode, int flags) {
  return static_cast<int>(syscall(SYS_faccessat2, dirfd, path, mode, flags));
}

// Creates path with exactly mode (no umask applied).
void make_mode_file(const std::string& path, mode_t mode) {
  mode_t old = umask(0);
  make_file(path, "", mode);
  umask(old);
  ASSERT_EQ(mode_of(path) & 07777, mode);
}

}  // namespace

TEST(Access, FOkOnExistingFile) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("f").c_str(), F_OK));
}

TEST(Access, FOkOnMissingIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(access(tmp("missing").c_str(), F_OK), ENOENT); }

TEST(Access, ReadWriteOnOwnFile) {
  make_file(tmp("f"), "", 0600);
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("f").c_str(), R_OK | W_OK));
}

TEST(Access, RootReadsAndWritesModeZeroFile) {
  SKIP_IF(geteuid() != 0, "needs root");
  make_file(tmp("f"), "", 0);
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("f").c_str(), R_OK | W_OK));
}

TEST(Access, ExecuteOnNonExecutableFileIsEacces) {
  make_file(tmp("f"), "", 0644);
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("f").c_str(), X_OK), EACCES);
}

TEST(Access, ExecuteOnExecutableFile) {
  make_file(tmp("f"), "", 0755);
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("f").c_str(), X_OK));
}

TEST(Access, RootExecutesWhenAnyExecuteBitIsSet) {
  SKIP_IF(geteuid() != 0, "needs root");
  make_mode_file(tmp("f"), 0601);
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("f").c_str(), X_OK));
}

TEST(Access, RootSearchesDirectoryWithoutExecuteBits) {
  SKIP_IF(geteuid() != 0, "needs root");
  ASSERT_SYSCALL_SUCCEEDS(mkdir(tmp("d").c_str(), 0));
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("d").c_str(), R_OK | W_OK | X_OK));
}

TEST(Access, InvalidModeIsEinval) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("f").c_str(), 8), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("f").c_str(), -1), EINVAL);
}

TEST(Access, BadPathIsEfault) { EXPECT_SYSCALL_FAILS_WITH(access(bad_path(), F_OK), EFAULT); }

TEST(Access, EmptyPathIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(access("", F_OK), ENOENT); }

TEST(Access, ThroughFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("f/x").c_str(), F_OK), ENOTDIR);
}

TEST(Access, FollowsSymlink) {
  make_file(tmp("f"), "", 0755);
  make_symlink("f", tmp("link"));
  EXPECT_SYSCALL_SUCCEEDS(access(tmp("link").c_str(), X_OK));
  make_symlink("missing", tmp("dangling"));
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("dangling").c_str(), F_OK), ENOENT);
}

TEST(Access, DevNullIsReadableAndWritable) { EXPECT_SYSCALL_SUCCEEDS(access("/dev/null", R_OK | W_OK)); }

TEST(Faccessat, RelativeToDirfd) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "", 0755);
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_SUCCEEDS(syscall(SYS_faccessat, dir, "f", X_OK));
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_faccessat, dir, "missing", F_OK), ENOENT);
  close(dir);
}

TEST(Faccessat, BadDirfdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_faccessat, 9999, "f", F_OK), EBADF); }

TEST(Faccessat, FileDirfdIsEnotdir) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_faccessat, fd, "x", F_OK), ENOTDIR);
  close(fd);
}

TEST(Faccessat2, EaccessFlag) {
  make_file(tmp("f"), "", 0755);
  EXPECT_SYSCALL_SUCCEEDS(faccessat2_raw(AT_FDCWD, tmp("f").c_str(), R_OK | X_OK, AT_EACCESS));
}

TEST(Faccessat2, InvalidFlagsIsEinval) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(faccessat2_raw(AT_FDCWD, tmp("f").c_str(), F_OK, 0x2), EINVAL);
}

TEST(Faccessat2, SymlinkNofollowChecksTheLink) {
  make_symlink("missing", tmp("dangling"));
  EXPECT_SYSCALL_SUCCEEDS(faccessat2_raw(AT_FDCWD, tmp("dangling").c_str(), F_OK, AT_SYMLINK_NOFOLLOW));
  EXPECT_SYSCALL_FAILS_WITH(faccessat2_raw(AT_FDCWD, tmp("dangling").c_str(), F_OK, 0), ENOENT);
}

TEST(Faccessat2, EmptyPathChecksTheFd) {
  make_file(tmp("f"), "", 0644);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_SUCCEEDS(faccessat2_raw(fd, "", F_OK, AT_EMPTY_PATH));
  EXPECT_SYSCALL_FAILS_WITH(faccessat2_raw(fd, "", X_OK, AT_EMPTY_PATH), EACCES);
  EXPECT_SYSCALL_FAILS_WITH(faccessat2_raw(fd, "", F_OK, 0), ENOENT);
  close(fd);
}
