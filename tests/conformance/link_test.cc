// Conformance: link(2), linkat(2).
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/stat.h>
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

// Runs fn in a child with uid and gid 65534 and no supplementary groups;
// returns the child's exit status (fn returns it).
template <typename Fn>
int as_nobody(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

}  // namespace

TEST(Link, SecondNameSharesTheInode) {
  make_file(tmp("a"), "hello");
  ASSERT_SYSCALL_SUCCEEDS(link(tmp("a").c_str(), tmp("b").c_str()));
  struct stat a = lstat_of(tmp("a")), b = lstat_of(tmp("b"));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_nlink, static_cast<nlink_t>(2));
  // A write through one name shows through the other.
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("b").c_str(), O_WRONLY | O_APPEND));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, " world", 6), 6);
  close(fd);
  EXPECT_STREQ(read_file(tmp("a")), "hello world");
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("a").c_str()));
  EXPECT_EQ(lstat_of(tmp("b")).st_nlink, static_cast<nlink_t>(1));
  EXPECT_STREQ(read_file(tmp("b")), "hello world");
}

TEST(Link, ChangesCtimeOfTheFile) {
  make_file(tmp("a"));
  struct stat before = lstat_of(tmp("a"));
  usleep(20000);
  ASSERT_SYSCALL_SUCCEEDS(link(tmp("a").c_str(), tmp("b").c_str()));
  struct stat after = lstat_of(tmp("a"));
  EXPECT_TRUE(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
              (after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
}

TEST(Link, ExistingNewPathIsEexist) {
  make_file(tmp("a"));
  make_file(tmp("b"));
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), tmp("b").c_str()), EEXIST);
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), tmp("a").c_str()), EEXIST);
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), tmp("d").c_str()), EEXIST);
}

TEST(Link, DirectoryIsEperm) {
  make_dir(tmp("d"));
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("d").c_str(), tmp("d2").c_str()), EPERM);
  EXPECT_FALSE(exists(tmp("d2")));
}

TEST(Link, MissingPathsAreEnoent) {
  make_file(tmp("a"));
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("missing").c_str(), tmp("b").c_str()), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), tmp("nodir/b").c_str()), ENOENT);
  // "name/" names a directory, which a link cannot make.
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), (tmp("b") + "/").c_str()), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(link("", tmp("b").c_str()), ENOENT);
}

TEST(Link, SourceThroughAFileIsEnotdir) {
  make_file(tmp("a"));
  EXPECT_SYSCALL_FAILS_WITH(link((tmp("a") + "/x").c_str(), tmp("b").c_str()), ENOTDIR);
}

TEST(Link, AcrossFilesystemsIsExdev) {
  // /dev/shm is a tmpfs of its own, natively and in moat.
  make_file(tmp("a"));
  std::string other = "/dev/shm/moat-link-test-" + std::to_string(getpid());
  EXPECT_SYSCALL_FAILS_WITH(link(tmp("a").c_str(), other.c_str()), EXDEV);
  unlink(other.c_str());
}

TEST(Link, DoesNotFollowASymlinkUnlessAsked) {
  make_file(tmp("target"), "data");
  make_symlink("target", tmp("sym"));
  ASSERT_SYSCALL_SUCCEEDS(link(tmp("sym").c_str(), tmp("l1").c_str()));
  EXPECT_TRUE(S_ISLNK(mode_of(tmp("l1"))));
  EXPECT_EQ(lstat_of(tmp("l1")).st_ino, lstat_of(tmp("sym")).st_ino);
  ASSERT_SYSCALL_SUCCEEDS(linkat(AT_FDCWD, tmp("sym").c_str(), AT_FDCWD, tmp("l2").c_str(), AT_SYMLINK_FOLLOW));
  EXPECT_TRUE(S_ISREG(mode_of(tmp("l2"))));
  EXPECT_EQ(lstat_of(tmp("l2")).st_ino, lstat_of(tmp("target")).st_ino);
}

TEST(Linkat, RelativeToDirectoryFds) {
  make_dir(tmp("src"));
  make_dir(tmp("dst"));
  make_file(tmp("src/f"), "x");
  int s = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY | O_DIRECTORY));
  int d = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_PATH | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(linkat(s, "f", d, "g", 0));
  EXPECT_EQ(lstat_of(tmp("dst/g")).st_ino, lstat_of(tmp("src/f")).st_ino);
  EXPECT_SYSCALL_FAILS_WITH(linkat(9999, "f", d, "h", 0), EBADF);
  int f = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src/f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(linkat(f, "f", d, "h", 0), ENOTDIR);
  close(f);
  close(s);
  close(d);
}

TEST(Linkat, EmptyPathLinksTheOpenFile) {
  make_file(tmp("a"), "x");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("a").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(linkat(fd, "", AT_FDCWD, tmp("b").c_str(), AT_EMPTY_PATH));
  EXPECT_EQ(lstat_of(tmp("b")).st_ino, lstat_of(tmp("a")).st_ino);
  // Without AT_EMPTY_PATH an empty path is ENOENT.
  EXPECT_SYSCALL_FAILS_WITH(linkat(fd, "", AT_FDCWD, tmp("c").c_str(), 0), ENOENT);
  close(fd);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("a").c_str(), O_PATH));
  ASSERT_SYSCALL_SUCCEEDS(linkat(path_fd, "", AT_FDCWD, tmp("c").c_str(), AT_EMPTY_PATH));
  EXPECT_EQ(lstat_of(tmp("c")).st_nlink, static_cast<nlink_t>(3));
  close(path_fd);
}

TEST(Linkat, EmptyPathOfAnUnlinkedFileIsEnoent) {
  make_file(tmp("a"), "x");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("a").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("a").c_str()));
  EXPECT_SYSCALL_FAILS_WITH(linkat(fd, "", AT_FDCWD, tmp("b").c_str(), AT_EMPTY_PATH), ENOENT);
  close(fd);
}

TEST(Linkat, EmptyPathOfADirectoryIsEperm) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_FAILS_WITH(linkat(fd, "", AT_FDCWD, tmp("e").c_str(), AT_EMPTY_PATH), EPERM);
  close(fd);
}

TEST(Linkat, UnknownFlagsAreEinval) {
  make_file(tmp("a"));
  EXPECT_SYSCALL_FAILS_WITH(linkat(AT_FDCWD, tmp("a").c_str(), AT_FDCWD, tmp("b").c_str(), AT_SYMLINK_NOFOLLOW),
                            EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(linkat(AT_FDCWD, tmp("a").c_str(), AT_FDCWD, tmp("b").c_str(), 0x8000), EINVAL);
}

TEST(Link, RenameOntoAnotherLinkOfTheSameFileDoesNothing) {
  make_file(tmp("a"), "x");
  ASSERT_SYSCALL_SUCCEEDS(link(tmp("a").c_str(), tmp("b").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("a").c_str(), tmp("b").c_str()));
  EXPECT_TRUE(exists(tmp("a")));
  EXPECT_TRUE(exists(tmp("b")));
  EXPECT_EQ(lstat_of(tmp("b")).st_nlink, static_cast<nlink_t>(2));
}

TEST(Link, UnlinkingOneNameLeavesTheOtherListed) {
  make_dir(tmp("d"));
  make_file(tmp("d/a"), "x");
  ASSERT_SYSCALL_SUCCEEDS(link(tmp("d/a").c_str(), tmp("d/b").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("d/b").c_str()));
  auto entries = list_dir(tmp("d"));
  EXPECT_TRUE(find_entry(entries, "a") != nullptr);
  EXPECT_TRUE(find_entry(entries, "b") == nullptr);
  // The remaining name still opens the file and its fd path is still right.
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d/a").c_str(), O_RDONLY));
  char buf[256] = {};
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_SYSCALL_SUCCEEDS(readlink(proc.c_str(), buf, sizeof buf - 1));
  EXPECT_STREQ(buf, tmp("d/a"));
  close(fd);
}

TEST(Link, ProtectedHardlinksRefuseOthersFiles) {
  // fs.protected_hardlinks (Debian's default, and the sandbox's rule): a
  // user may not link a file it neither owns nor could read and write.
  FILE* f = fopen("/proc/sys/fs/protected_hardlinks", "r");
  if (f) {
    int v = fgetc(f);
    fclose(f);
    SKIP_IF(v != '1', "fs.protected_hardlinks is off on this host");
  }
  ASSERT_SYSCALL_SUCCEEDS(chmod(conformance::temp_dir().c_str(), 0777));
  make_file(tmp("root_ro"), "x", 0644);
  make_file(tmp("root_rw"), "x", 0666);
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("root_rw").c_str(), 0666));
  std::string ro = tmp("root_ro"), rw = tmp("root_rw"), l1 = tmp("l1"), l2 = tmp("l2");
  int status = as_nobody([&] {
    if (link(ro.c_str(), l1.c_str()) == 0 || errno != EPERM) return 1;
    if (link(rw.c_str(), l2.c_str()) != 0) return 2;
    return 0;
  });
  EXPECT_EQ(status, 0);
}
