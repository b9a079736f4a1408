// Conformance: chown(2), fchown(2), lchown(2), fchownat(2).
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

struct stat lstat_of(const std::string& path) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(path.c_str(), &st));
  return st;
}

// Runs fn in a child with uid and gid 1000 and the given supplementary
// groups; returns fn's result as the child's exit status.
template <typename Fn>
int as_user(std::vector<gid_t> groups, Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(groups.size(), groups.data()) != 0 || setresgid(1000, 1000, 1000) != 0 ||
        setresuid(1000, 1000, 1000) != 0)
      _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

bool fails_with(int r, int err) { return r == -1 && errno == err; }

}  // namespace

TEST(Chown, RootChangesOwnerAndGroup) {
  make_file(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), 1234, 5678));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
}

TEST(Chown, MinusOneKeepsAnId) {
  make_file(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), 10, 20));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), -1, 30));
  EXPECT_EQ(lstat_of(tmp("f")).st_uid, 10u);
  EXPECT_EQ(lstat_of(tmp("f")).st_gid, 30u);
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), 40, -1));
  EXPECT_EQ(lstat_of(tmp("f")).st_uid, 40u);
  EXPECT_EQ(lstat_of(tmp("f")).st_gid, 30u);
}

TEST(Chown, ClearsSetIdBitsOfFiles) {
  make_file(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("f").c_str(), 06755));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), 0, 0));
  EXPECT_EQ(lstat_of(tmp("f")).st_mode & 07777, 0755u);
  // Set-group-id without group execute is a locking mark, not a privilege.
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("f").c_str(), 02644));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), 0, 0));
  EXPECT_EQ(lstat_of(tmp("f")).st_mode & 07777, 02644u);
  // Even a chown that changes nothing clears them.
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("f").c_str(), 04755));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), -1, -1));
  EXPECT_EQ(lstat_of(tmp("f")).st_mode & 07777, 0755u);
}

TEST(Chown, KeepsSetIdBitsOfDirectories) {
  make_dir(tmp("d"));
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("d").c_str(), 06755));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("d").c_str(), 7, 7));
  EXPECT_EQ(lstat_of(tmp("d")).st_mode & 07777, 06755u);
}

TEST(Chown, UpdatesCtime) {
  make_file(tmp("f"));
  struct stat before = lstat_of(tmp("f"));
  usleep(20000);
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("f").c_str(), -1, -1));
  struct stat after = lstat_of(tmp("f"));
  EXPECT_TRUE(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
              (after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST(Chown, FollowsSymlinksButLchownDoesNot) {
  make_file(tmp("target"));
  make_symlink("target", tmp("link"));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("link").c_str(), 11, 12));
  EXPECT_EQ(lstat_of(tmp("target")).st_uid, 11u);
  ASSERT_SYSCALL_SUCCEEDS(lchown(tmp("link").c_str(), 21, 22));
  EXPECT_EQ(lstat_of(tmp("link")).st_uid, 21u);
  EXPECT_EQ(lstat_of(tmp("link")).st_gid, 22u);
  EXPECT_EQ(lstat_of(tmp("target")).st_uid, 11u);
  ASSERT_SYSCALL_SUCCEEDS(fchownat(AT_FDCWD, tmp("link").c_str(), 31, 32, AT_SYMLINK_NOFOLLOW));
  EXPECT_EQ(lstat_of(tmp("link")).st_uid, 31u);
  EXPECT_EQ(lstat_of(tmp("target")).st_uid, 11u);
}

TEST(Chown, MissingPathIsEnoent) {
  EXPECT_SYSCALL_FAILS_WITH(chown(tmp("missing").c_str(), 0, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(lchown(tmp("missing").c_str(), 0, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(chown(fsutil::bad_path(), 0, 0), EFAULT);
}

TEST(Fchown, ChangesTheOpenFile) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(fchown(fd, 3, 4));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_uid, 3u);
  EXPECT_EQ(st.st_gid, 4u);
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(fchown(9999, 0, 0), EBADF);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(fchown(path_fd, 0, 0), EBADF);
  close(path_fd);
}

TEST(Fchownat, EmptyPathAndFlags) {
  make_file(tmp("f"));
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  ASSERT_SYSCALL_SUCCEEDS(fchownat(path_fd, "", 5, 6, AT_EMPTY_PATH));
  EXPECT_EQ(lstat_of(tmp("f")).st_uid, 5u);
  EXPECT_SYSCALL_FAILS_WITH(fchownat(path_fd, "", 5, 6, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(fchownat(AT_FDCWD, tmp("f").c_str(), 5, 6, 0x8000), EINVAL);
  close(path_fd);
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(fchownat(dir, "f", 8, 9, 0));
  EXPECT_EQ(lstat_of(tmp("f")).st_gid, 9u);
  close(dir);
}

TEST(Chown, UnprivilegedOwnerRules) {
  ASSERT_SYSCALL_SUCCEEDS(chmod(conformance::temp_dir().c_str(), 0777));
  make_file(tmp("mine"));
  ASSERT_SYSCALL_SUCCEEDS(chown(tmp("mine").c_str(), 1000, 1000));
  make_file(tmp("roots"));
  make_file(tmp("setuid"));
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("setuid").c_str(), 04755));
  std::string mine = tmp("mine"), roots = tmp("roots"), setuid = tmp("setuid");
  int status = as_user({1000, 2000}, [&] {
    if (chown(mine.c_str(), -1, -1) != 0) return 1;
    if (chown(mine.c_str(), 1000, -1) != 0) return 2;  // keeping one's own uid
    if (!fails_with(chown(mine.c_str(), 1001, -1), EPERM)) return 3;
    if (!fails_with(chown(mine.c_str(), -1, 3000), EPERM)) return 4;  // not a member
    if (chown(mine.c_str(), -1, 2000) != 0) return 5;  // a supplementary group
    if (!fails_with(chown(roots.c_str(), 1000, -1), EPERM)) return 6;
    if (!fails_with(chown(roots.c_str(), -1, 1000), EPERM)) return 7;
    if (chown(roots.c_str(), -1, -1) != 0) return 8;  // nothing to change
    if (!fails_with(chown(setuid.c_str(), -1, -1), EPERM)) return 9;  // it would clear the bit
    return 0;
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(lstat_of(tmp("mine")).st_gid, 2000u);
  EXPECT_EQ(lstat_of(tmp("setuid")).st_mode & 07777, 04755u);
}
