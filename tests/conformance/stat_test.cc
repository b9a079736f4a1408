// Conformance: stat(2), fstat(2), lstat(2), newfstatat(2), statx(2).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int raw_statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* sx) {
  return static_cast<int>(syscall(SYS_statx, dirfd, path, flags, mask, sx));
}

}  // namespace

TEST(Stat, RegularFileSizeAndType) {
  make_file(tmp("f"), "12345", 0640);
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, geteuid());
}

TEST(Stat, ModeBitsAsCreated) {
  mode_t old = umask(0);
  make_file(tmp("f"), "", 0754);
  umask(old);
  EXPECT_EQ(mode_of(tmp("f")), static_cast<mode_t>(S_IFREG | 0754));
}

TEST(Stat, DirectoryHasTwoLinks) {
  make_dir(tmp("d"));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST(Stat, SubdirectoryIncrementsParentLinks) {
  make_dir(tmp("d"));
  make_dir(tmp("d/a"));
  make_dir(tmp("d/b"));
  make_file(tmp("d/f"));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d").c_str(), &st));
  EXPECT_EQ(st.st_nlink, 4u);
  ASSERT_SYSCALL_SUCCEEDS(rmdir(tmp("d/a").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d").c_str(), &st));
  EXPECT_EQ(st.st_nlink, 3u);
}

TEST(Stat, InodeStableAcrossCalls) {
  make_file(tmp("f"));
  struct stat a, b;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &a));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
}

TEST(Stat, DistinctFilesHaveDistinctInodes) {
  make_file(tmp("a"));
  make_file(tmp("b"));
  struct stat a, b;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("a").c_str(), &a));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("b").c_str(), &b));
  EXPECT_NE(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
}

TEST(Stat, DotDotIsParent) {
  make_dir(tmp("d"));
  struct stat parent, viadots;
  ASSERT_SYSCALL_SUCCEEDS(stat(conformance::temp_dir().c_str(), &parent));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d/..").c_str(), &viadots));
  EXPECT_EQ(parent.st_ino, viadots.st_ino);
}

TEST(Stat, MissingIsEnoent) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("missing").c_str(), &st), ENOENT);
}

TEST(Stat, EmptyPathIsEnoent) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat("", &st), ENOENT);
}

TEST(Stat, BadPathIsEfault) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(bad_path(), &st), EFAULT);
}

TEST(Stat, BadBufferIsEfault) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("f").c_str(), static_cast<struct stat*>(bad_ptr())), EFAULT);
}

TEST(Stat, ThroughFileIsEnotdir) {
  make_file(tmp("f"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("f/x").c_str(), &st), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(stat((tmp("f") + "/").c_str(), &st), ENOTDIR);
}

TEST(Stat, FollowsSymlink) {
  make_file(tmp("f"), "abcdef");
  make_symlink("f", tmp("link"));
  struct stat viaf, vialink;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &viaf));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("link").c_str(), &vialink));
  EXPECT_EQ(viaf.st_ino, vialink.st_ino);
  EXPECT_TRUE(S_ISREG(vialink.st_mode));
}

TEST(Stat, DanglingSymlinkIsEnoent) {
  make_symlink("missing", tmp("link"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("link").c_str(), &st), ENOENT);
  EXPECT_SYSCALL_SUCCEEDS(lstat(tmp("link").c_str(), &st));
}

TEST(Stat, DevNullIsCharacterDevice) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat("/dev/null", &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
}

TEST(Lstat, SymlinkReportsItself) {
  make_file(tmp("f"));
  make_symlink("f", tmp("link"));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(tmp("link").c_str(), &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 1);  // strlen("f")
}

TEST(Lstat, RegularFileSameAsStat) {
  make_file(tmp("f"), "xyz");
  struct stat a, b;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &a));
  ASSERT_SYSCALL_SUCCEEDS(lstat(tmp("f").c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode, b.st_mode);
  EXPECT_EQ(a.st_size, b.st_size);
}

TEST(Lstat, FollowsSymlinkWithTrailingSlash) {
  make_dir(tmp("d"));
  make_symlink("d", tmp("link"));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat((tmp("link") + "/").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(Fstat, MatchesStat) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat a, b;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &a));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_size, 3);
  close(fd);
}

TEST(Fstat, SizeFollowsWrites) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR | O_CREAT, 0644));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 0);
  ASSERT_SYSCALL_SUCCEEDS(pwrite(fd, "x", 1, 99));
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 100);
  close(fd);
}

TEST(Fstat, UnlinkedFileHasNoLinks) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("f").c_str()));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 3);
  close(fd);
}

TEST(Fstat, BadFdIsEbadf) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(fstat(-1, &st), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fstat(9999, &st), EBADF);
}

TEST(Fstat, BadBufferIsEfault) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(fstat(fd, static_cast<struct stat*>(bad_ptr())), EFAULT);
  close(fd);
}

TEST(Fstat, OPathFdWorks) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_PATH));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  close(fd);
}

TEST(Fstat, PipeIsFifo) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(p[0], &st));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  close(p[0]);
  close(p[1]);
}

TEST(Fstatat, RelativeToDirfd) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "1234");
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstatat(dir, "f", &st, 0));
  EXPECT_EQ(st.st_size, 4);
  close(dir);
}

TEST(Fstatat, EmptyPathWithFlagStatsTheFd) {
  make_file(tmp("f"), "12");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstatat(fd, "", &st, AT_EMPTY_PATH));
  EXPECT_EQ(st.st_size, 2);
  close(fd);
}

TEST(Fstatat, EmptyPathWithAtFdcwdStatsCwd) {
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  struct stat a, b;
  ASSERT_SYSCALL_SUCCEEDS(fstatat(AT_FDCWD, "", &a, AT_EMPTY_PATH));
  ASSERT_SYSCALL_SUCCEEDS(stat(conformance::temp_dir().c_str(), &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(Fstatat, EmptyPathWithoutFlagIsEnoent) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(fstatat(fd, "", &st, 0), ENOENT);
  close(fd);
}

TEST(Fstatat, SymlinkNofollow) {
  make_file(tmp("f"));
  make_symlink("f", tmp("link"));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstatat(AT_FDCWD, tmp("link").c_str(), &st, AT_SYMLINK_NOFOLLOW));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_SYSCALL_SUCCEEDS(fstatat(AT_FDCWD, tmp("link").c_str(), &st, 0));
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(Fstatat, InvalidFlagsIsEinval) {
  make_file(tmp("f"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(fstatat(AT_FDCWD, tmp("f").c_str(), &st, AT_REMOVEDIR), EINVAL);
}

TEST(Fstatat, BadDirfdIsEbadf) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(fstatat(9999, "f", &st, 0), EBADF);
}

TEST(Fstatat, FileDirfdIsEnotdir) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(fstatat(fd, "x", &st, 0), ENOTDIR);
  close(fd);
}

TEST(Statx, BasicFieldsMatchStat) {
  make_file(tmp("f"), "12345");
  struct statx sx;
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(raw_statx(AT_FDCWD, tmp("f").c_str(), 0, STATX_BASIC_STATS, &sx));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("f").c_str(), &st));
  EXPECT_EQ(sx.stx_mask & STATX_BASIC_STATS, static_cast<unsigned>(STATX_BASIC_STATS));
  EXPECT_EQ(sx.stx_size, 5u);
  EXPECT_EQ(sx.stx_ino, st.st_ino);
  EXPECT_EQ(sx.stx_mode, st.st_mode);
  EXPECT_EQ(sx.stx_nlink, 1u);
  EXPECT_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
}

TEST(Statx, EmptyPathStatsTheFd) {
  make_file(tmp("f"), "123");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct statx sx;
  ASSERT_SYSCALL_SUCCEEDS(raw_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
  EXPECT_EQ(sx.stx_size, 3u);
  EXPECT_SYSCALL_FAILS_WITH(raw_statx(fd, "", 0, STATX_SIZE, &sx), ENOENT);
  close(fd);
}

TEST(Statx, SymlinkNofollow) {
  make_file(tmp("f"));
  make_symlink("f", tmp("link"));
  struct statx sx;
  ASSERT_SYSCALL_SUCCEEDS(raw_statx(AT_FDCWD, tmp("link").c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx));
  EXPECT_TRUE(S_ISLNK(sx.stx_mode));
}

TEST(Statx, ReservedMaskIsEinval) {
  make_file(tmp("f"));
  struct statx sx;
  EXPECT_SYSCALL_FAILS_WITH(raw_statx(AT_FDCWD, tmp("f").c_str(), 0, 0x80000000u, &sx), EINVAL);
}

TEST(Statx, BothSyncFlagsIsEinval) {
  make_file(tmp("f"));
  struct statx sx;
  EXPECT_SYSCALL_FAILS_WITH(raw_statx(AT_FDCWD, tmp("f").c_str(), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
                                      STATX_BASIC_STATS, &sx),
                            EINVAL);
}

TEST(Statx, BadBufferIsEfault) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(raw_statx(AT_FDCWD, tmp("f").c_str(), 0, STATX_BASIC_STATS,
                                      static_cast<struct statx*>(bad_ptr())),
                            EFAULT);
}

TEST(Statx, MissingIsEnoent) {
  struct statx sx;
  EXPECT_SYSCALL_FAILS_WITH(raw_statx(AT_FDCWD, tmp("missing").c_str(), 0, STATX_BASIC_STATS, &sx), ENOENT);
}

// Linux 6.11+: a NULL path with AT_EMPTY_PATH stats dirfd.
TEST(Fstatat, NullPathWithEmptyPathFlag) {
  make_file(tmp("f"), "1234");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_newfstatat, fd, nullptr, &st, AT_EMPTY_PATH));
  EXPECT_EQ(st.st_size, 4);
  close(fd);
}
