// Conformance: getcwd(2), chdir(2), fchdir(2).
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

std::string cwd() {
  char buf[PATH_MAX];
  ASSERT_TRUE(getcwd(buf, sizeof buf) != nullptr);
  return buf;
}

long raw_getcwd(char* buf, size_t size) { return syscall(SYS_getcwd, buf, size); }

}  // namespace

TEST(Getcwd, ReflectsChdir) {
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  EXPECT_STREQ(cwd(), conformance::temp_dir());
}

TEST(Getcwd, ReturnsLengthIncludingNul) {
  ASSERT_SYSCALL_SUCCEEDS(chdir("/"));
  char buf[16];
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getcwd(buf, sizeof buf), 2);
  EXPECT_STREQ(buf, "/");
}

TEST(Getcwd, SmallBufferIsErange) {
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(raw_getcwd(buf, sizeof buf), ERANGE);
  std::string d = conformance::temp_dir();
  std::vector<char> exact(d.size() + 1);
  EXPECT_SYSCALL_FAILS_WITH(raw_getcwd(exact.data(), d.size()), ERANGE);
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_getcwd(exact.data(), d.size() + 1), d.size() + 1);
}

TEST(Getcwd, ZeroSizeIsErange) {
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(raw_getcwd(buf, 0), ERANGE);
}

TEST(Getcwd, BadBufferIsEfault) { EXPECT_SYSCALL_FAILS_WITH(raw_getcwd(static_cast<char*>(bad_ptr()), 4096), EFAULT); }

TEST(Chdir, RelativeComponents) {
  make_dir(tmp("a"));
  make_dir(tmp("a/b"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  ASSERT_SYSCALL_SUCCEEDS(chdir("a/b"));
  EXPECT_STREQ(cwd(), tmp("a/b"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(".."));
  EXPECT_STREQ(cwd(), tmp("a"));
  ASSERT_SYSCALL_SUCCEEDS(chdir("./b/../b/."));
  EXPECT_STREQ(cwd(), tmp("a/b"));
}

TEST(Chdir, DotDotAtRootStaysAtRoot) {
  ASSERT_SYSCALL_SUCCEEDS(chdir("/"));
  ASSERT_SYSCALL_SUCCEEDS(chdir("../../.."));
  EXPECT_STREQ(cwd(), "/");
}

TEST(Chdir, RelativeOpenUsesNewCwd) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"), "here");
  ASSERT_SYSCALL_SUCCEEDS(chdir(tmp("d").c_str()));
  EXPECT_STREQ(read_file("f"), "here");
  struct stat st;
  EXPECT_SYSCALL_SUCCEEDS(stat("./f", &st));
  EXPECT_SYSCALL_SUCCEEDS(stat("../d/f", &st));
}

TEST(Chdir, ThroughSymlinkResolves) {
  make_dir(tmp("real"));
  make_symlink("real", tmp("link"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(tmp("link").c_str()));
  EXPECT_STREQ(cwd(), tmp("real"));
}

TEST(Chdir, MissingIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(chdir(tmp("missing").c_str()), ENOENT); }

TEST(Chdir, FileIsEnotdir) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(chdir(tmp("f").c_str()), ENOTDIR);
}

TEST(Chdir, EmptyPathIsEnoent) { EXPECT_SYSCALL_FAILS_WITH(chdir(""), ENOENT); }

TEST(Chdir, BadPathIsEfault) { EXPECT_SYSCALL_FAILS_WITH(chdir(bad_path()), EFAULT); }

TEST(Chdir, FailureKeepsCwd) {
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  EXPECT_SYSCALL_FAILS_WITH(chdir("missing"), ENOENT);
  EXPECT_STREQ(cwd(), conformance::temp_dir());
}

TEST(Fchdir, ToDirectoryFd) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(fchdir(fd));
  EXPECT_STREQ(cwd(), tmp("d"));
  close(fd);
}

TEST(Fchdir, OPathDirectoryFd) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_PATH | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(fchdir(fd));
  EXPECT_STREQ(cwd(), tmp("d"));
  close(fd);
}

TEST(Fchdir, FileFdIsEnotdir) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(fchdir(fd), ENOTDIR);
  close(fd);
}

TEST(Fchdir, PipeFdIsEnotdir) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(fchdir(p[0]), ENOTDIR);
  close(p[0]);
  close(p[1]);
}

TEST(Fchdir, BadFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(fchdir(-1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fchdir(9999), EBADF);
}

TEST(Fchdir, StaysValidAfterRename) {
  make_dir(tmp("old"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("old").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("old").c_str(), tmp("new").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(fchdir(fd));
  make_file("inside");
  EXPECT_TRUE(exists(tmp("new/inside")));
  close(fd);
}

TEST(Getcwd, RemovedCwdIsEnoent) {
  make_dir(tmp("d"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(tmp("d").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(rmdir(tmp("d").c_str()));
  char buf[PATH_MAX];
  EXPECT_SYSCALL_FAILS_WITH(raw_getcwd(buf, sizeof buf), ENOENT);
}

TEST(Getcwd, FollowsRenameOfCwd) {
  make_dir(tmp("old"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(tmp("old").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("old").c_str(), tmp("new").c_str()));
  EXPECT_STREQ(cwd(), tmp("new"));
}

TEST(Getcwd, FollowsRenameOfAncestor) {
  make_dir(tmp("a"));
  make_dir(tmp("a/b"));
  ASSERT_SYSCALL_SUCCEEDS(chdir(tmp("a/b").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("a").c_str(), tmp("z").c_str()));
  EXPECT_STREQ(cwd(), tmp("z/b"));
}
