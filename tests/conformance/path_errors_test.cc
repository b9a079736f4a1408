// Conformance: the path-walk errors every path syscall shares (path_resolution(7)):
// ENAMETOOLONG, ENOTDIR, ELOOP, ENOENT, EFAULT.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

std::string long_component() { return tmp(std::string(NAME_MAX + 1, 'n')); }

}  // namespace

TEST(PathErrors, LongComponentEverywhere) {
  std::string p = long_component();
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(p.c_str(), &st), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(lstat(p.c_str(), &st), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(access(p.c_str(), F_OK), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(chdir(p.c_str()), ENAMETOOLONG);
}

TEST(PathErrors, LongComponentOnCreation) {
  std::string p = long_component();
  EXPECT_SYSCALL_FAILS_WITH(mkdir(p.c_str(), 0755), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(unlink(p.c_str()), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(rmdir(p.c_str()), ENAMETOOLONG);
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("f").c_str(), p.c_str()), ENAMETOOLONG);
}

TEST(PathErrors, LongComponentInTheMiddle) {
  std::string p = long_component() + "/x";
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(p.c_str(), &st), ENAMETOOLONG);
}

TEST(PathErrors, PathOfPathMaxIsEnametoolong) {
  std::string p(PATH_MAX - 3, '/');
  p += "tmp";  // PATH_MAX bytes without the NUL
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(p.c_str(), &st), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(mkdir(p.c_str(), 0755), ENAMETOOLONG);
  EXPECT_SYSCALL_FAILS_WITH(access(p.c_str(), F_OK), ENAMETOOLONG);
}

TEST(PathErrors, PathJustBelowPathMaxWorks) {
  std::string p(PATH_MAX - 4, '/');
  p += "tmp";  // PATH_MAX - 1 bytes: fits with its NUL
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(p.c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(PathErrors, ThroughFileIsEnotdirEverywhere) {
  make_file(tmp("f"));
  std::string p = tmp("f/x");
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(lstat(p.c_str(), &st), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(mkdir(p.c_str(), 0755), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(unlink(p.c_str()), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(rmdir(p.c_str()), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(rename(p.c_str(), tmp("y").c_str()), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("f").c_str(), p.c_str()), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(chdir(p.c_str()), ENOTDIR);
}

TEST(PathErrors, MissingIntermediateIsEnoent) {
  std::string p = tmp("no/such/file");
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(p.c_str(), &st), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(mkdir(p.c_str(), 0755), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(unlink(p.c_str()), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(open(p.c_str(), O_RDWR | O_CREAT, 0644), ENOENT);
}

TEST(PathErrors, EmptyPathIsEnoentEverywhere) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(lstat("", &st), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(mkdir("", 0755), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(unlink(""), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(rmdir(""), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(rename("", tmp("x").c_str()), ENOENT);
}

TEST(PathErrors, BadPointerIsEfaultEverywhere) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(lstat(bad_path(), &st), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(mkdir(bad_path(), 0755), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(unlink(bad_path()), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(rmdir(bad_path()), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(rename(bad_path(), tmp("x").c_str()), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(rename(tmp("x").c_str(), bad_path()), EFAULT);
}

TEST(PathErrors, SymlinkLoopIsEloopEverywhere) {
  make_symlink("loop2", tmp("loop1"));
  make_symlink("loop1", tmp("loop2"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("loop1").c_str(), &st), ELOOP);
  EXPECT_SYSCALL_FAILS_WITH(access(tmp("loop1").c_str(), F_OK), ELOOP);
  EXPECT_SYSCALL_FAILS_WITH(chdir(tmp("loop1").c_str()), ELOOP);
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("loop1/x").c_str(), &st), ELOOP);
  EXPECT_SYSCALL_SUCCEEDS(lstat(tmp("loop1").c_str(), &st));
}

TEST(PathErrors, SelfLoopIsEloop) {
  make_symlink("self", tmp("self"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("self").c_str(), &st), ELOOP);
}

TEST(PathErrors, FortySymlinksResolveFortyOneDoNot) {
  make_file(tmp("f"), "end");
  make_symlink("f", tmp("l0"));
  for (int i = 1; i <= 40; ++i) make_symlink("l" + std::to_string(i - 1), tmp("l" + std::to_string(i)));
  struct stat st;
  EXPECT_SYSCALL_SUCCEEDS(stat(tmp("l39").c_str(), &st));  // 40 links
  EXPECT_SYSCALL_FAILS_WITH(stat(tmp("l40").c_str(), &st), ELOOP);
}

TEST(PathErrors, AbsoluteSymlinkTarget) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "abs");
  make_symlink(tmp("d"), tmp("link"));
  EXPECT_STREQ(read_file(tmp("link/f")), "abs");
}

TEST(PathErrors, RelativeSymlinkIsRelativeToItsDirectory) {
  make_dir(tmp("a"));
  make_dir(tmp("b"));
  make_file(tmp("b/f"), "rel");
  make_symlink("../b/f", tmp("a/link"));
  EXPECT_STREQ(read_file(tmp("a/link")), "rel");
}

TEST(PathErrors, DotDotThroughSymlinkUsesTarget) {
  make_dir(tmp("x"));
  make_dir(tmp("x/y"));
  make_file(tmp("x/marker"), "m");
  make_symlink("x/y", tmp("ylink"));
  // ylink/.. is x (the target's parent), not the temp dir.
  EXPECT_STREQ(read_file(tmp("ylink/../marker")), "m");
}

TEST(PathErrors, DotAndDoubleSlashes) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "dots");
  EXPECT_STREQ(read_file(conformance::temp_dir() + "//./d/.//f"), "dots");
}

TEST(PathErrors, TrailingSlashOnMissingIsEnoent) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat((tmp("missing") + "/").c_str(), &st), ENOENT);
}

TEST(PathErrors, TrailingSlashOnDanglingSymlinkIsEnoent) {
  make_symlink("missing", tmp("link"));
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(lstat((tmp("link") + "/").c_str(), &st), ENOENT);
}
