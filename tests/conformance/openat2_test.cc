// Conformance: openat2(2) (struct open_how, RESOLVE_*) and O_TMPFILE.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fs_util.h"
#include "harness.h"

using namespace conformance;
using fsutil::make_dir;
using fsutil::make_file;
using fsutil::make_symlink;
using fsutil::read_file;
using fsutil::tmp;

namespace {

int openat2_(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int open_dir(const std::string& p) { return open(p.c_str(), O_RDONLY | O_DIRECTORY); }

std::string fd_link(int fd) {
  char buf[512] = {};
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// temp/
//   file      "data"
//   sub/inner "in"
//   rel  -> file
//   abs  -> <temp>/file
//   up   -> ../<temp name>/file   (climbs out and back)
void make_tree() {
  make_file(tmp("file"), "data");
  make_dir(tmp("sub"));
  make_file(tmp("sub/inner"), "in");
  make_symlink("file", tmp("rel"));
  make_symlink(tmp("file"), tmp("abs"));
  std::string base = temp_dir().substr(temp_dir().rfind('/') + 1);
  make_symlink("../" + base + "/file", tmp("up"));
}

}  // namespace

TEST(Openat2, OpensLikeOpenat) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "file", O_RDONLY, 0, 0));
  EXPECT_STREQ(std::string(fsutil::read_all(fd)).c_str(), "data");
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
  mode_t old = umask(022);
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "new", O_RDWR | O_CREAT | O_CLOEXEC, 0666, 0));
  umask(old);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  close(fd);
  close(dir);
}

TEST(Openat2, StructChecks) {
  make_file(tmp("file"), "x");
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  struct {
    struct open_how how;
    uint64_t extra;
  } big {};
  big.how.flags = O_RDONLY;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_openat2, dir, "file", &big, 23), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_openat2, dir, "file", &big, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_openat2, dir, "file", &big, 4097), E2BIG);
  // Larger than the kernel's struct: fine if the tail is zero.
  int fd = EXPECT_SYSCALL_SUCCEEDS(syscall(SYS_openat2, dir, "file", &big, sizeof big));
  if (fd >= 0) close(fd);
  big.extra = 1;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_openat2, dir, "file", &big, sizeof big), E2BIG);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_openat2, dir, "file", reinterpret_cast<void*>(8), 24), EFAULT);
  close(dir);
}

TEST(Openat2, FlagChecks) {
  make_file(tmp("file"), "x");
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", 1ULL << 40, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", 0x80000000u, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", O_RDONLY, 0, 0x80), EINVAL);  // unknown resolve bit
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", O_RDONLY, 0644, 0), EINVAL);  // mode without O_CREAT
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "n", O_RDWR | O_CREAT, 010000, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", O_PATH | O_RDWR, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "n", O_RDWR | O_CREAT, 0600, RESOLVE_CACHED), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "file", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "", O_RDONLY, 0, 0), ENOENT);
  close(dir);
}

TEST(Openat2, ResolveCachedMayOpen) {
  make_file(tmp("file"), "x");
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  int fd = openat2_(dir, "file", O_RDONLY, 0, RESOLVE_CACHED);
  if (fd >= 0) {
    close(fd);
  } else {
    EXPECT_EQ(errno, EAGAIN);  // Linux may answer EAGAIN when not all is cached
  }
  close(dir);
}

TEST(Openat2, NoSymlinks) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "abs", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "sub/inner", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  close(fd);
  // The last link itself, not followed, is fine with O_PATH | O_NOFOLLOW.
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
  close(fd);
  ASSERT_SYSCALL_SUCCEEDS(symlink("sub", tmp("sublink").c_str()));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "sublink/inner", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
  close(dir);
}

TEST(Openat2, NoMagicLinks) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  int f = ASSERT_SYSCALL_SUCCEEDS(open(tmp("file").c_str(), O_RDONLY));
  std::string magic = "/proc/self/fd/" + std::to_string(f);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(AT_FDCWD, magic.c_str(), O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(AT_FDCWD, magic.c_str(), O_RDONLY, 0, 0));
  close(fd);
  // Ordinary symlinks are still followed.
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "rel", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  close(fd);
  close(f);
  close(dir);
}

TEST(Openat2, Beneath) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "sub/../file", O_RDONLY, 0, RESOLVE_BENEATH));
  close(fd);
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "rel", O_RDONLY, 0, RESOLVE_BENEATH));
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "..", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "up", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "abs", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, tmp("file").c_str(), O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "../x", O_RDWR | O_CREAT, 0600, RESOLVE_BENEATH), EXDEV);
  int f = ASSERT_SYSCALL_SUCCEEDS(open(tmp("file").c_str(), O_RDONLY));
  int proc = ASSERT_SYSCALL_SUCCEEDS(open_dir("/proc/self/fd"));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(proc, std::to_string(f).c_str(), O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
  close(proc);
  close(f);
  close(dir);
}

TEST(Openat2, InRoot) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  // "/" and ".." stay inside the directory.
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
  EXPECT_STREQ(std::string(fsutil::read_all(fd)).c_str(), "data");
  close(fd);
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "../../file", O_RDONLY, 0, RESOLVE_IN_ROOT));
  EXPECT_STREQ(std::string(fsutil::read_all(fd)).c_str(), "data");
  close(fd);
  // An absolute link resolves under the directory: <temp>/<temp> is missing.
  EXPECT_SYSCALL_FAILS_WITH(openat2_(dir, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT), ENOENT);
  ASSERT_SYSCALL_SUCCEEDS(symlink("/sub/inner", tmp("rooted").c_str()));
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "rooted", O_RDONLY, 0, RESOLVE_IN_ROOT));
  EXPECT_STREQ(std::string(fsutil::read_all(fd)).c_str(), "in");
  close(fd);
  fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "/new", O_RDWR | O_CREAT, 0600, RESOLVE_IN_ROOT));
  close(fd);
  EXPECT_EQ(access(tmp("new").c_str(), F_OK), 0);
  close(dir);
}

TEST(Openat2, NoXdev) {
  make_tree();
  int dir = ASSERT_SYSCALL_SUCCEEDS(open_dir(temp_dir()));
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(dir, "sub/inner", O_RDONLY, 0, RESOLVE_NO_XDEV));
  close(fd);
  int root = ASSERT_SYSCALL_SUCCEEDS(open_dir("/"));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(root, "proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
  int proc = ASSERT_SYSCALL_SUCCEEDS(open_dir("/proc"));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(proc, "..", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(proc, "/proc", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
  close(proc);
  close(root);
  close(dir);
}

TEST(Openat2, DirfdMustBeADirectory) {
  make_file(tmp("file"), "x");
  int f = ASSERT_SYSCALL_SUCCEEDS(open(tmp("file").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(openat2_(f, "x", O_RDONLY, 0, 0), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(f, "x", O_RDONLY, 0, RESOLVE_BENEATH), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(-1, "x", O_RDONLY, 0, RESOLVE_IN_ROOT), EBADF);
  close(f);
}

TEST(Tmpfile, UnnamedFileInDirectory) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_TMPFILE | O_RDWR, 0600));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "tmp", 3), 3);
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string link = fd_link(fd);
  std::string want = tmp("d") + "/#" + std::to_string(st.st_ino) + " (deleted)";
  EXPECT_STREQ(link.c_str(), want.c_str());
  // Nothing shows in the directory: it is empty.
  EXPECT_SYSCALL_SUCCEEDS(rmdir(tmp("d").c_str()));
  close(fd);
}

TEST(Tmpfile, LinkatGivesItAName) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_TMPFILE | O_WRONLY, 0644));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "named", 5), 5);
  std::string magic = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_SYSCALL_SUCCEEDS(linkat(AT_FDCWD, magic.c_str(), AT_FDCWD, tmp("now").c_str(), AT_SYMLINK_FOLLOW));
  EXPECT_STREQ(std::string(read_file(tmp("now"))).c_str(), "named");
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_nlink, 1u);
  close(fd);
}

TEST(Tmpfile, ExclForbidsLinking) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_TMPFILE | O_RDWR | O_EXCL, 0600));
  std::string magic = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_SYSCALL_FAILS_WITH(linkat(AT_FDCWD, magic.c_str(), AT_FDCWD, tmp("no").c_str(), AT_SYMLINK_FOLLOW),
                            ENOENT);
  close(fd);
}

// A directory outside the temp directory: in moat, the memory overlay of the
// root; natively, the host's /var/tmp (where O_TMPFILE leaves nothing behind).
TEST(Tmpfile, InVarTmp) {
  int fd = open("/var/tmp", O_TMPFILE | O_RDWR, 0600);
  SKIP_IF(fd < 0 && errno == EOPNOTSUPP, "the filesystem of /var/tmp has no O_TMPFILE");
  ASSERT_SYSCALL_SUCCEEDS(fd);
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "var", 3), 3);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 3, 0), 3);
  EXPECT_STREQ(buf, "var");
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_nlink, 0u);
  std::string name = "/var/tmp/conf-tmpfile-" + std::to_string(getpid());
  std::string magic = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_SYSCALL_SUCCEEDS(linkat(AT_FDCWD, magic.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW));
  EXPECT_STREQ(read_file(name).c_str(), "var");
  EXPECT_SYSCALL_SUCCEEDS(unlink(name.c_str()));
  close(fd);
}

TEST(Tmpfile, Errors) {
  make_file(tmp("file"), "x");
  EXPECT_SYSCALL_FAILS_WITH(open(temp_dir().c_str(), O_TMPFILE | O_RDONLY, 0600), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(open(temp_dir().c_str(), O_TMPFILE | O_RDWR | O_CREAT, 0600), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("file").c_str(), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("missing").c_str(), O_TMPFILE | O_RDWR, 0600), ENOENT);
  int fd = ASSERT_SYSCALL_SUCCEEDS(openat2_(AT_FDCWD, temp_dir().c_str(), O_TMPFILE | O_RDWR, 0600, 0));
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(openat2_(AT_FDCWD, temp_dir().c_str(), O_TMPFILE | O_RDWR, 0600, RESOLVE_CACHED),
                            EAGAIN);
}
