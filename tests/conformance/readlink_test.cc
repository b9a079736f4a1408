// Conformance: readlink(2), readlinkat(2), symlink(2), symlinkat(2).
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

TEST(Readlink, ReturnsTargetWithoutNul) {
  make_symlink("some/target", tmp("link"));
  char buf[64];
  memset(buf, 'X', sizeof buf);
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlink(tmp("link").c_str(), buf, sizeof buf), 11);
  EXPECT_EQ(memcmp(buf, "some/target", 11), 0);
  EXPECT_EQ(buf[11], 'X');
}

TEST(Readlink, TruncatesToBuffer) {
  make_symlink("0123456789", tmp("link"));
  char buf[4];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlink(tmp("link").c_str(), buf, sizeof buf), 4);
  EXPECT_EQ(memcmp(buf, "0123", 4), 0);
}

TEST(Readlink, DanglingTargetIsReadable) {
  make_symlink("/does/not/exist", tmp("link"));
  char buf[64];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlink(tmp("link").c_str(), buf, sizeof buf), 15);
}

TEST(Readlink, RegularFileIsEinval) {
  make_file(tmp("f"));
  char buf[64];
  EXPECT_SYSCALL_FAILS_WITH(readlink(tmp("f").c_str(), buf, sizeof buf), EINVAL);
}

TEST(Readlink, DirectoryIsEinval) {
  char buf[64];
  EXPECT_SYSCALL_FAILS_WITH(readlink(conformance::temp_dir().c_str(), buf, sizeof buf), EINVAL);
}

TEST(Readlink, MissingIsEnoent) {
  char buf[64];
  EXPECT_SYSCALL_FAILS_WITH(readlink(tmp("missing").c_str(), buf, sizeof buf), ENOENT);
}

TEST(Readlink, ZeroSizeIsEinval) {
  make_symlink("t", tmp("link"));
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(readlink(tmp("link").c_str(), buf, 0), EINVAL);
}

TEST(Readlink, BadBufferIsEfault) {
  make_symlink("target", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(readlink(tmp("link").c_str(), static_cast<char*>(bad_ptr()), 64), EFAULT);
}

TEST(Readlink, BadPathIsEfault) {
  char buf[64];
  EXPECT_SYSCALL_FAILS_WITH(readlink(bad_path(), buf, sizeof buf), EFAULT);
}

TEST(Readlink, FollowsIntermediateLinks) {
  make_dir(tmp("d"));
  make_symlink("final", tmp("d/link"));
  make_symlink("d", tmp("dlink"));
  char buf[64];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlink(tmp("dlink/link").c_str(), buf, sizeof buf), 5);
  EXPECT_EQ(memcmp(buf, "final", 5), 0);
}

TEST(Readlinkat, RelativeToDirfd) {
  make_dir(tmp("d"));
  make_symlink("abc", tmp("d/link"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  char buf[16];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlinkat(dir, "link", buf, sizeof buf), 3);
  close(dir);
}

TEST(Readlinkat, EmptyPathReadsOPathSymlinkFd) {
  make_symlink("the-target", tmp("link"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("link").c_str(), O_PATH | O_NOFOLLOW));
  char buf[32];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlinkat(fd, "", buf, sizeof buf), 10);
  EXPECT_EQ(memcmp(buf, "the-target", 10), 0);
  close(fd);
}

TEST(Readlinkat, EmptyPathOnNonSymlinkIsEnoent) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_PATH));
  char buf[32];
  EXPECT_SYSCALL_FAILS_WITH(readlinkat(fd, "", buf, sizeof buf), ENOENT);
  close(fd);
}

TEST(Readlinkat, BadDirfdIsEbadf) {
  char buf[32];
  EXPECT_SYSCALL_FAILS_WITH(readlinkat(9999, "link", buf, sizeof buf), EBADF);
}

TEST(Symlink, CreatesLinkWithExactTarget) {
  ASSERT_SYSCALL_SUCCEEDS(symlink("../x/./y", tmp("link").c_str()));
  EXPECT_TRUE(S_ISLNK(mode_of(tmp("link"))));
  char buf[32];
  EXPECT_SYSCALL_SUCCEEDS_WITH(readlink(tmp("link").c_str(), buf, sizeof buf), 8);
  EXPECT_EQ(memcmp(buf, "../x/./y", 8), 0);
}

TEST(Symlink, ExistingNameIsEexist) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(symlink("t", tmp("f").c_str()), EEXIST);
  make_symlink("t", tmp("link"));
  EXPECT_SYSCALL_FAILS_WITH(symlink("t", tmp("link").c_str()), EEXIST);
}

TEST(Symlink, EmptyTargetIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(symlink("", tmp("link").c_str()), ENOENT); }

TEST(Symlink, MissingParentIsEnoent) {
  EXPECT_SYSCALL_FAILS_WITH(symlink("t", tmp("nodir/link").c_str()), ENOENT);
}

TEST(Symlink, BadTargetPointerIsEfault) { EXPECT_SYSCALL_FAILS_WITH(symlink(bad_path(), tmp("l").c_str()), EFAULT); }

TEST(Symlinkat, RelativeToDirfd) {
  make_dir(tmp("d"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(symlinkat("tgt", dir, "link"));
  EXPECT_TRUE(S_ISLNK(mode_of(tmp("d/link"))));
  close(dir);
}

// do_readlinkat() checks bufsiz before it even reads the path.
TEST(Readlink, NonPositiveSizeIsEinvalBeforePathChecks) {
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(readlink(tmp("missing").c_str(), buf, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(readlink(bad_path(), buf, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_readlink, tmp("missing").c_str(), buf, -1), EINVAL);
}

TEST(Symlink, TrailingSlashOnNewNameIsEnoent) {
  EXPECT_SYSCALL_FAILS_WITH(symlink("t", (tmp("link") + "/").c_str()), ENOENT);
}

TEST(Symlink, CanPointAtDirectory) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "in d");
  ASSERT_SYSCALL_SUCCEEDS(symlink("d", tmp("link").c_str()));
  EXPECT_STREQ(read_file(tmp("link/f")), "in d");
}
