// Conformance: mkdir(2), mkdirat(2), rmdir(2), unlink(2), unlinkat(2),
// rename(2), renameat(2), renameat2(2).
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int renameat2_raw(int olddirfd, const std::string& from, int newdirfd, const std::string& to, unsigned flags) {
  return static_cast<int>(syscall(SYS_renameat2, olddirfd, from.c_str(), newdirfd, to.c_str(), flags));
}

ino_t ino_of(const std::string& path) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(path.c_str(), &st));
  return st.st_ino;
}

nlink_t nlink_of(const std::string& path) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(path.c_str(), &st));
  return st.st_nlink;
}

}  // namespace

TEST(Mkdir, CreatesDirectoryWithModeMinusUmask) {
  mode_t old = umask(027);
  int r = mkdir(tmp("d").c_str(), 0777);
  umask(old);
  ASSERT_SYSCALL_SUCCEEDS(r);
  EXPECT_EQ(mode_of(tmp("d")), static_cast<mode_t>(S_IFDIR | 0750));
}

TEST(Mkdir, ExistingDirectoryIsEexist) {
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp("d").c_str(), 0755), EEXIST);
}

TEST(Mkdir, ExistingFileIsEexist) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp("f").c_str(), 0755), EEXIST);
}

TEST(Mkdir, ExistingSymlinkIsEexist) {
  make_symlink("missing", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp("link").c_str(), 0755), EEXIST);
}

TEST(Mkdir, MissingParentIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp("a/b").c_str(), 0755), ENOENT); }

TEST(Mkdir, TrailingSlashIsAccepted) {
  ASSERT_SYSCALL_SUCCEEDS(mkdir((tmp("d") + "/").c_str(), 0755));
  EXPECT_TRUE(S_ISDIR(mode_of(tmp("d"))));
}

TEST(Mkdir, DotAndDotDotAreEexist) {
  EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp(".").c_str(), 0755), EEXIST);
  EXPECT_SYSCALL_FAILS_WITH(mkdir(tmp("..").c_str(), 0755), EEXIST);
  EXPECT_SYSCALL_FAILS_WITH(mkdir("/", 0755), EEXIST);
}

TEST(Mkdirat, RelativeToDirfd) {
  make_dir(tmp("d"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(mkdirat(dir, "sub", 0755));
  EXPECT_TRUE(S_ISDIR(mode_of(tmp("d/sub"))));
  EXPECT_SYSCALL_FAILS_WITH(mkdirat(9999, "sub", 0755), EBADF);
  close(dir);
}

TEST(Rmdir, RemovesEmptyDirectory) {
  make_dir(tmp("d"));
  ASSERT_SYSCALL_SUCCEEDS(rmdir(tmp("d").c_str()));
  EXPECT_FALSE(exists(tmp("d")));
}

TEST(Rmdir, NonEmptyIsEnotempty) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"));
  EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("d").c_str()), ENOTEMPTY);
  EXPECT_TRUE(exists(tmp("d/f")));
}

TEST(Rmdir, FileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("f").c_str()), ENOTDIR);
}

TEST(Rmdir, SymlinkToDirectoryIsEnotdir) {
  make_dir(tmp("d"));
  make_symlink("d", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("link").c_str()), ENOTDIR);
}

TEST(Rmdir, DotIsEinval) {
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("d/.").c_str()), EINVAL);
}

TEST(Rmdir, DotDotIsEnotempty) {
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("d/..").c_str()), ENOTEMPTY);
}

TEST(Rmdir, MissingIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(rmdir(tmp("missing").c_str()), ENOENT); }

TEST(Rmdir, OpenDirectoryListsNothingAfterRemoval) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(rmdir(tmp("d").c_str()));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_SYSCALL_FAILS_WITH(openat(fd, "new", O_RDWR | O_CREAT, 0644), ENOENT);
  close(fd);
}

TEST(Unlink, RemovesFile) {
  make_file(tmp("f"));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("f").c_str()));
  EXPECT_FALSE(exists(tmp("f")));
}

TEST(Unlink, DirectoryIsEisdir) {
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(unlink(tmp("d").c_str()), EISDIR);
}

TEST(Unlink, MissingIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(unlink(tmp("missing").c_str()), ENOENT); }

TEST(Unlink, TrailingSlashOnFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(unlink((tmp("f") + "/").c_str()), ENOTDIR);
  EXPECT_TRUE(exists(tmp("f")));
}

TEST(Unlink, OpenFileStaysReadable) {
  make_file(tmp("f"), "still here");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("f").c_str()));
  EXPECT_STREQ(read_all(fd), "still here");
  close(fd);
}

TEST(Unlink, SymlinkRemovesLinkNotTarget) {
  make_file(tmp("f"), "t");
  make_symlink("f", tmp("link"));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("link").c_str()));
  EXPECT_FALSE(exists(tmp("link")));
  EXPECT_TRUE(exists(tmp("f")));
}

TEST(Unlink, NameCanBeReused) {
  make_file(tmp("f"), "old");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("f").c_str()));
  make_file(tmp("f"), "new");
  EXPECT_STREQ(read_all(fd), "old");
  EXPECT_STREQ(read_file(tmp("f")), "new");
  close(fd);
}

TEST(Unlinkat, RemovedirRemovesDirectory) {
  make_dir(tmp("d"));
  ASSERT_SYSCALL_SUCCEEDS(unlinkat(AT_FDCWD, tmp("d").c_str(), AT_REMOVEDIR));
  EXPECT_FALSE(exists(tmp("d")));
}

TEST(Unlinkat, RemovedirOnFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(unlinkat(AT_FDCWD, tmp("f").c_str(), AT_REMOVEDIR), ENOTDIR);
}

TEST(Unlinkat, InvalidFlagsIsEinval) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(unlinkat(AT_FDCWD, tmp("f").c_str(), AT_SYMLINK_NOFOLLOW), EINVAL);
  EXPECT_TRUE(exists(tmp("f")));
}

TEST(Unlinkat, RelativeToDirfd) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(unlinkat(dir, "f", 0));
  EXPECT_FALSE(exists(tmp("d/f")));
  close(dir);
}

TEST(Rename, MovesFileKeepingInode) {
  make_file(tmp("a"), "data");
  ino_t ino = ino_of(tmp("a"));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("a").c_str(), tmp("b").c_str()));
  EXPECT_FALSE(exists(tmp("a")));
  EXPECT_EQ(ino_of(tmp("b")), ino);
  EXPECT_STREQ(read_file(tmp("b")), "data");
}

TEST(Rename, ReplacesExistingFile) {
  make_file(tmp("a"), "new");
  make_file(tmp("b"), "old");
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("a").c_str(), tmp("b").c_str()));
  EXPECT_STREQ(read_file(tmp("b")), "new");
  EXPECT_FALSE(exists(tmp("a")));
}

TEST(Rename, IntoOtherDirectory) {
  make_dir(tmp("d"));
  make_file(tmp("f"), "moved");
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("f").c_str(), tmp("d/g").c_str()));
  EXPECT_STREQ(read_file(tmp("d/g")), "moved");
}

TEST(Rename, DirectoryMoveUpdatesParentLinks) {
  make_dir(tmp("p1"));
  make_dir(tmp("p2"));
  make_dir(tmp("p1/child"));
  EXPECT_EQ(nlink_of(tmp("p1")), 3u);
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("p1/child").c_str(), tmp("p2/child").c_str()));
  EXPECT_EQ(nlink_of(tmp("p1")), 2u);
  EXPECT_EQ(nlink_of(tmp("p2")), 3u);
  struct stat dots, p2;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("p2/child/..").c_str(), &dots));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("p2").c_str(), &p2));
  EXPECT_EQ(dots.st_ino, p2.st_ino);
}

TEST(Rename, DirectoryOverFileIsEnotdir) {
  make_dir(tmp("d"));
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("d").c_str(), tmp("f").c_str()), ENOTDIR);
}

TEST(Rename, FileOverDirectoryIsEisdir) {
  make_dir(tmp("d"));
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("f").c_str(), tmp("d").c_str()), EISDIR);
}

TEST(Rename, DirectoryOverEmptyDirectory) {
  make_dir(tmp("a"));
  make_file(tmp("a/inside"));
  make_dir(tmp("b"));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("a").c_str(), tmp("b").c_str()));
  EXPECT_TRUE(exists(tmp("b/inside")));
  EXPECT_FALSE(exists(tmp("a")));
}

TEST(Rename, DirectoryOverNonEmptyDirectoryIsEnotempty) {
  make_dir(tmp("a"));
  make_dir(tmp("b"));
  make_file(tmp("b/f"));
  int r = rename(tmp("a").c_str(), tmp("b").c_str());
  int e = errno;
  EXPECT_EQ(r, -1);
  EXPECT_TRUE(e == ENOTEMPTY || e == EEXIST);  // rename(2) allows both
}

TEST(Rename, IntoOwnSubdirectoryIsEinval) {
  make_dir(tmp("d"));
  make_dir(tmp("d/sub"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("d").c_str(), tmp("d/sub/x").c_str()), EINVAL);
}

TEST(Rename, SameFileIsNoop) {
  make_file(tmp("f"), "same");
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("f").c_str(), tmp("f").c_str()));
  EXPECT_STREQ(read_file(tmp("f")), "same");
}

TEST(Rename, MissingSourceIsEnoent) {
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("missing").c_str(), tmp("x").c_str()), ENOENT);
}

TEST(Rename, MissingTargetDirectoryIsEnoent) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("f").c_str(), tmp("nodir/x").c_str()), ENOENT);
}

TEST(Rename, DotIsEbusyOrEinval) {
  make_dir(tmp("d"));
  int r = rename(tmp("d/.").c_str(), tmp("x").c_str());
  int e = errno;
  EXPECT_EQ(r, -1);
  EXPECT_TRUE(e == EBUSY || e == EINVAL);
}

TEST(Rename, SymlinkIsRenamedNotFollowed) {
  make_file(tmp("f"));
  make_symlink("f", tmp("link"));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("link").c_str(), tmp("link2").c_str()));
  EXPECT_TRUE(S_ISLNK(mode_of(tmp("link2"))));
  EXPECT_TRUE(exists(tmp("f")));
}

TEST(Renameat, RelativeToDirfds) {
  make_dir(tmp("a"));
  make_dir(tmp("b"));
  make_file(tmp("a/f"), "x");
  int a = ASSERT_SYSCALL_SUCCEEDS(open(tmp("a").c_str(), O_RDONLY | O_DIRECTORY));
  int b = ASSERT_SYSCALL_SUCCEEDS(open(tmp("b").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(renameat(a, "f", b, "g"));
  EXPECT_TRUE(exists(tmp("b/g")));
  close(a);
  close(b);
}

TEST(Renameat2, NoreplaceOnExistingIsEexist) {
  make_file(tmp("a"), "a");
  make_file(tmp("b"), "b");
  EXPECT_SYSCALL_FAILS_WITH(renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("b"), RENAME_NOREPLACE), EEXIST);
  EXPECT_STREQ(read_file(tmp("b")), "b");
}

TEST(Renameat2, NoreplaceOnFreeName) {
  make_file(tmp("a"), "a");
  ASSERT_SYSCALL_SUCCEEDS(renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("c"), RENAME_NOREPLACE));
  EXPECT_STREQ(read_file(tmp("c")), "a");
}

TEST(Renameat2, ExchangeSwaps) {
  make_file(tmp("a"), "A");
  make_dir(tmp("b"));
  ASSERT_SYSCALL_SUCCEEDS(renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("b"), RENAME_EXCHANGE));
  EXPECT_TRUE(S_ISDIR(mode_of(tmp("a"))));
  EXPECT_STREQ(read_file(tmp("b")), "A");
}

TEST(Renameat2, ExchangeWithMissingTargetIsEnoent) {
  make_file(tmp("a"));
  EXPECT_SYSCALL_FAILS_WITH(renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("b"), RENAME_EXCHANGE), ENOENT);
}

TEST(Renameat2, InvalidFlagsIsEinval) {
  make_file(tmp("a"));
  EXPECT_SYSCALL_FAILS_WITH(renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("b"), 0x80), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(
      renameat2_raw(AT_FDCWD, tmp("a"), AT_FDCWD, tmp("b"), RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
}

// mkdir(2): only the permission bits and the sticky bit of mode are used.
TEST(Mkdir, DropsSetuidAndSetgidBits) {
  mode_t old = umask(0);
  int r = mkdir(tmp("d").c_str(), 07777);
  umask(old);
  ASSERT_SYSCALL_SUCCEEDS(r);
  EXPECT_EQ(mode_of(tmp("d")) & 07777, static_cast<mode_t>(01777));
}

TEST(Unlinkat, EmptyPathIsEnoent) {
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_FAILS_WITH(unlinkat(dir, "", AT_REMOVEDIR), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(unlinkat(dir, "", 0), ENOENT);
  close(dir);
}

TEST(Rename, OntoOwnAncestorIsEnotempty) {
  make_dir(tmp("d"));
  make_dir(tmp("d/sub"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("d/sub").c_str(), tmp("d").c_str()), ENOTEMPTY);
}

TEST(Rename, TrailingSlashOnFileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rename((tmp("f") + "/").c_str(), tmp("g").c_str()), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("f").c_str(), (tmp("g") + "/").c_str()), ENOTDIR);
  EXPECT_TRUE(exists(tmp("f")));
}

TEST(Rename, DirectoryWithTrailingSlash) {
  make_dir(tmp("d"));
  ASSERT_SYSCALL_SUCCEEDS(rename((tmp("d") + "/").c_str(), (tmp("e") + "/").c_str()));
  EXPECT_TRUE(S_ISDIR(mode_of(tmp("e"))));
}

TEST(Creat, OnDirectoryIsEisdir) { EXPECT_SYSCALL_FAILS_WITH(creat(conformance::temp_dir().c_str(), 0644), EISDIR); }

TEST(Umask, ReturnsPreviousMaskAndKeepsPermissionBits) {
  mode_t old = umask(022);
  EXPECT_EQ(umask(07777), 022u);
  EXPECT_EQ(umask(old), 0777u);
}
