// Conformance: open(2), openat(2), creat(2), close(2).
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

// Sets the umask for the current case; restores the previous one on scope exit.
struct UmaskGuard {
  mode_t old;
  explicit UmaskGuard(mode_t m) : old(umask(m)) {}
  ~UmaskGuard() { umask(old); }
};

}  // namespace

TEST(Open, ExistingFileReadOnly) {
  make_file(tmp("f"), "data");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_STREQ(read_all(fd), "data");
  EXPECT_SYSCALL_SUCCEEDS(close(fd));
}

TEST(Open, MissingFileIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(open(tmp("missing").c_str(), O_RDONLY), ENOENT); }

TEST(Open, MissingParentIsEnoent) {
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("nodir/f").c_str(), O_RDWR | O_CREAT, 0644), ENOENT);
}

TEST(Open, EmptyPathIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(open("", O_RDONLY), ENOENT); }

TEST(Open, BadPathPointerIsEfault) { EXPECT_SYSCALL_FAILS_WITH(open(bad_path(), O_RDONLY), EFAULT); }

TEST(Open, ReturnsLowestFreeFd) {
  make_file(tmp("f"));
  int a = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int b = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_GT(b, a);
  close(a);
  int c = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_EQ(c, a);
  close(b);
  close(c);
}

TEST(Open, CreatUsesModeMinusUmask) {
  UmaskGuard g(022);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY | O_CREAT, 0666));
  close(fd);
  EXPECT_EQ(mode_of(tmp("f")), static_cast<mode_t>(S_IFREG | 0644));
}

TEST(Open, CreatWithZeroUmaskKeepsMode) {
  UmaskGuard g(0);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY | O_CREAT, 0751));
  close(fd);
  EXPECT_EQ(mode_of(tmp("f")), static_cast<mode_t>(S_IFREG | 0751));
}

TEST(Open, CreatOnExistingFileKeepsContents) {
  make_file(tmp("f"), "keep");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR | O_CREAT, 0600));
  EXPECT_STREQ(read_all(fd), "keep");
  close(fd);
  EXPECT_EQ(mode_of(tmp("f")) & 0777, 0644u);
}

TEST(Open, CreatExclOnExistingIsEexist) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("f").c_str(), O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
}

TEST(Open, CreatExclOnDirectoryIsEexist) {
  EXPECT_SYSCALL_FAILS_WITH(open(conformance::temp_dir().c_str(), O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
}

TEST(Open, CreatExclCreatesWhenAbsent) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR | O_CREAT | O_EXCL, 0644));
  EXPECT_TRUE(exists(tmp("f")));
  close(fd);
}

TEST(Open, CreatExclOnDanglingSymlinkIsEexist) {
  make_symlink(tmp("nowhere"), tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("link").c_str(), O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_FALSE(exists(tmp("nowhere")));
}

TEST(Open, CreatOnDirectoryIsEisdir) {
  EXPECT_SYSCALL_FAILS_WITH(open(conformance::temp_dir().c_str(), O_RDONLY | O_CREAT, 0644), EISDIR);
}

TEST(Open, CreatWithTrailingSlashIsEisdir) {
  EXPECT_SYSCALL_FAILS_WITH(open((tmp("new") + "/").c_str(), O_RDWR | O_CREAT, 0644), EISDIR);
  EXPECT_FALSE(exists(tmp("new")));
}

TEST(Open, CreatWithDirectoryIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("new").c_str(), O_RDONLY | O_CREAT | O_DIRECTORY, 0644), EINVAL);
}

TEST(Open, TruncEmptiesFile) {
  make_file(tmp("f"), "0123456789");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR | O_TRUNC));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 0);
  close(fd);
}

TEST(Open, WithoutTruncKeepsSize) {
  make_file(tmp("f"), "0123456789");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  close(fd);
  EXPECT_STREQ(read_file(tmp("f")), "ab23456789");
}

TEST(Open, AppendVisibleInGetfl) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY | O_APPEND));
  int fl = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL));
  EXPECT_TRUE(fl & O_APPEND);
  EXPECT_EQ(fl & O_ACCMODE, O_WRONLY);
  close(fd);
}

TEST(Open, CreationFlagsNotInGetfl) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0644));
  int fl = ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL));
  EXPECT_EQ(fl & (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), 0);
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
  close(fd);
}

TEST(Open, CloexecVisibleViaGetfd) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Open, NoCloexecByDefault) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(Open, DirectoryFlagOnDirectorySucceeds) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  close(fd);
}

TEST(Open, DirectoryFlagOnFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("f").c_str(), O_RDONLY | O_DIRECTORY), ENOTDIR);
}

TEST(Open, DirectoryForWritingIsEisdir) {
  EXPECT_SYSCALL_FAILS_WITH(open(conformance::temp_dir().c_str(), O_WRONLY), EISDIR);
  EXPECT_SYSCALL_FAILS_WITH(open(conformance::temp_dir().c_str(), O_RDWR), EISDIR);
}

TEST(Open, ThroughRegularFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("f/x").c_str(), O_RDONLY), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("f/x").c_str(), O_RDWR | O_CREAT, 0644), ENOTDIR);
}

TEST(Open, TrailingSlashOnFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(open((tmp("f") + "/").c_str(), O_RDONLY), ENOTDIR);
}

TEST(Open, FollowsSymlink) {
  make_file(tmp("f"), "target");
  make_symlink("f", tmp("link"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_RDONLY));
  EXPECT_STREQ(read_all(fd), "target");
  close(fd);
}

TEST(Open, NofollowOnSymlinkIsEloop) {
  make_file(tmp("f"));
  make_symlink("f", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("link").c_str(), O_RDONLY | O_NOFOLLOW), ELOOP);
}

TEST(Open, NofollowFollowsEarlierComponents) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "x");
  make_symlink("d", tmp("dlink"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dlink/f").c_str(), O_RDONLY | O_NOFOLLOW));
  close(fd);
}

TEST(Open, SymlinkLoopIsEloop) {
  make_symlink("b", tmp("a"));
  make_symlink("a", tmp("b"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("a").c_str(), O_RDONLY), ELOOP);
}

TEST(Open, DanglingSymlinkIsEnoent) {
  make_symlink("missing", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("link").c_str(), O_RDONLY), ENOENT);
}

TEST(Open, ComponentTooLongIsEnametoolong) {
  std::string p = tmp(std::string(NAME_MAX + 1, 'a'));
  EXPECT_SYSCALL_FAILS_WITH(open(p.c_str(), O_RDONLY), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(open(p.c_str(), O_RDWR | O_CREAT, 0644), ENAMETOOLONG);
}

TEST(Open, MaximalComponentWorks) {
  std::string p = tmp(std::string(NAME_MAX, 'a'));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDWR | O_CREAT, 0644));
  close(fd);
  EXPECT_SYSCALL_SUCCEEDS(unlink(p.c_str()));
}

TEST(Open, PathTooLongIsEnametoolong) {
  std::string p(PATH_MAX, '/');
  EXPECT_SYSCALL_FAILS_WITH(open(p.c_str(), O_RDONLY), ENAMETOOLONG);
}

TEST(Open, OPathFdAllowsFstat) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  struct stat st;
  EXPECT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 3);
  EXPECT_TRUE(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_PATH);
  close(fd);
}

TEST(Open, OPathIgnoresAccessMode) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_PATH | O_RDWR));
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EBADF);
  close(fd);
}

TEST(Open, OPathNofollowOpensTheSymlink) {
  make_symlink("missing", tmp("link"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_PATH | O_NOFOLLOW));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  close(fd);
}

TEST(Openat, RelativeToDirfd) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "in d");
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat(dir, "f", O_RDONLY));
  EXPECT_STREQ(read_all(fd), "in d");
  close(fd);
  close(dir);
}

TEST(Openat, OPathDirfdWorks) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_PATH | O_DIRECTORY));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat(dir, "f", O_RDONLY));
  close(fd);
  close(dir);
}

TEST(Openat, AtFdcwdUsesWorkingDirectory) {
  make_file(tmp("f"), "cwd");
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat(AT_FDCWD, "f", O_RDONLY));
  EXPECT_STREQ(read_all(fd), "cwd");
  close(fd);
}

TEST(Openat, AbsolutePathIgnoresDirfd) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat(9999, tmp("f").c_str(), O_RDONLY));
  close(fd);
}

TEST(Openat, BadDirfdIsEbadf) { EXPECT_SYSCALL_FAILS_WITH(openat(9999, "f", O_RDONLY), EBADF); }

TEST(Openat, FileDirfdIsEnotdir) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(openat(fd, "x", O_RDONLY), ENOTDIR);
  close(fd);
}

TEST(Creat, CreatesWriteOnlyAndTruncates) {
  make_file(tmp("f"), "old contents");
  int fd = ASSERT_SYSCALL_SUCCEEDS(creat(tmp("f").c_str(), 0644));
  char c;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &c, 1), EBADF);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "new", 3), 3);
  EXPECT_EQ(ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFL)) & O_ACCMODE, O_WRONLY);
  close(fd);
  EXPECT_STREQ(read_file(tmp("f")), "new");
}

TEST(Close, TwiceIsEbadf) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS(close(fd));
  EXPECT_SYSCALL_FAILS_WITH(close(fd), EBADF);
}

TEST(Close, InvalidFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(close(-1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(close(100000), EBADF);
}

TEST(Close, OtherDescriptorOfSameFileStaysOpen) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int fd2 = ASSERT_SYSCALL_SUCCEEDS(dup(fd));
  close(fd);
  EXPECT_STREQ(read_all(fd2), "abc");
  close(fd2);
}

TEST(Open, CreatThroughDanglingSymlinkCreatesTarget) {
  make_symlink("target", tmp("link"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_WRONLY | O_CREAT, 0644));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "t", 1), 1);
  close(fd);
  EXPECT_TRUE(S_ISREG(mode_of(tmp("target"))));
  EXPECT_STREQ(read_file(tmp("target")), "t");
}

TEST(Open, CreatThroughSymlinkToExistingFileOpensIt) {
  make_file(tmp("f"), "keep");
  make_symlink("f", tmp("link"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_RDWR | O_CREAT, 0644));
  EXPECT_STREQ(read_all(fd), "keep");
  close(fd);
}

TEST(Open, NofollowDirectoryOnSymlinkIsEnotdir) {
  make_dir(tmp("d"));
  make_symlink("d", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("link").c_str(), O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_RDONLY | O_DIRECTORY));
  close(fd);
}

TEST(Open, ReadOnlyDescriptorRejectsWritesToDirectory) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EBADF);
  char c;
  EXPECT_SYSCALL_FAILS_WITH(pread(fd, &c, 1, 0), EISDIR);
  close(fd);
}
