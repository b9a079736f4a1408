// Conformance: the setxattr(2), getxattr(2), listxattr(2) and removexattr(2)
// families on files of the temp directory.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fs_util.h"
#include "harness.h"

using namespace conformance;
using fsutil::make_file;
using fsutil::tmp;

namespace {

std::vector<std::string> names(const char* buf, ssize_t n) {
  std::vector<std::string> out;
  for (ssize_t i = 0; i < n;) {
    std::string s(buf + i);
    i += static_cast<ssize_t>(s.size()) + 1;
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Runs fn in a child process as uid/gid 65534 (no capabilities); returns its exit code.
template <typename Fn>
int as_nobody(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(100);
    _exit(fn());
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST(Xattr, SetGetListRemove) {
  std::string f = tmp("f");
  make_file(f);
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.color", "blue", 4, 0));
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.empty", "", 0, 0));
  char buf[64] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(f.c_str(), "user.color", buf, sizeof buf), 4);
  EXPECT_STREQ(std::string(std::string(buf, 4)).c_str(), "blue");
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(f.c_str(), "user.color", nullptr, 0), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(f.c_str(), "user.empty", buf, sizeof buf), 0);
  char list[256] = {};
  ssize_t n = listxattr(f.c_str(), list, sizeof list);
  ASSERT_GT(n, 0);
  auto v = names(list, n);
  EXPECT_TRUE(has(v, "user.color"));
  EXPECT_TRUE(has(v, "user.empty"));
  EXPECT_SYSCALL_SUCCEEDS_WITH(listxattr(f.c_str(), nullptr, 0), n);
  EXPECT_SYSCALL_SUCCEEDS(removexattr(f.c_str(), "user.color"));
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), "user.color", buf, sizeof buf), ENODATA);
  EXPECT_SYSCALL_FAILS_WITH(removexattr(f.c_str(), "user.color"), ENODATA);
  n = listxattr(f.c_str(), list, sizeof list);
  v = names(list, n);
  EXPECT_FALSE(has(v, "user.color"));
  EXPECT_TRUE(has(v, "user.empty"));
}

TEST(Xattr, CreateAndReplaceFlags) {
  std::string f = tmp("f");
  make_file(f);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.k", "1", 1, XATTR_REPLACE), ENODATA);
  EXPECT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.k", "1", 1, XATTR_CREATE));
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.k", "2", 1, XATTR_CREATE), EEXIST);
  EXPECT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.k", "22", 2, XATTR_REPLACE));
  char buf[8] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(f.c_str(), "user.k", buf, sizeof buf), 2);
  EXPECT_STREQ(std::string(std::string(buf, 2)).c_str(), "22");
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.k", "2", 1, XATTR_CREATE | XATTR_REPLACE | 4), EINVAL);
}

TEST(Xattr, FdAndLinkVariants) {
  std::string f = tmp("f"), l = tmp("l");
  make_file(f);
  ASSERT_SYSCALL_SUCCEEDS(symlink(f.c_str(), l.c_str()));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(f.c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS(fsetxattr(fd, "user.fd", "v", 1, 0));
  char buf[8] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(l.c_str(), "user.fd", buf, sizeof buf), 1);  // follows the link
  EXPECT_SYSCALL_SUCCEEDS_WITH(fgetxattr(fd, "user.fd", buf, sizeof buf), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lgetxattr(f.c_str(), "user.fd", buf, sizeof buf), 1);
  // user.* is for regular files and directories only.
  EXPECT_SYSCALL_FAILS_WITH(lgetxattr(l.c_str(), "user.fd", buf, sizeof buf), ENODATA);
  EXPECT_SYSCALL_FAILS_WITH(lsetxattr(l.c_str(), "user.fd", "v", 1, 0), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(lremovexattr(l.c_str(), "user.fd"), EPERM);
  char list[64];
  EXPECT_SYSCALL_SUCCEEDS_WITH(flistxattr(fd, list, sizeof list), 8);
  EXPECT_SYSCALL_SUCCEEDS(fremovexattr(fd, "user.fd"));
  EXPECT_SYSCALL_FAILS_WITH(fgetxattr(fd, "user.fd", buf, sizeof buf), ENODATA);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(f.c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(fgetxattr(path_fd, "user.fd", buf, sizeof buf), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fsetxattr(path_fd, "user.fd", "v", 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(flistxattr(path_fd, list, sizeof list), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fgetxattr(-1, "user.fd", buf, sizeof buf), EBADF);
  close(path_fd);
  close(fd);
}

TEST(Xattr, Directories) {
  std::string d = tmp("d");
  fsutil::make_dir(d);
  EXPECT_SYSCALL_SUCCEEDS(setxattr(d.c_str(), "user.dir", "x", 1, 0));
  char buf[4];
  EXPECT_SYSCALL_SUCCEEDS_WITH(getxattr(d.c_str(), "user.dir", buf, sizeof buf), 1);
}

TEST(Xattr, SizeErrors) {
  std::string f = tmp("f");
  make_file(f);
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.k", "value", 5, 0));
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), "user.k", buf, 2), ERANGE);
  EXPECT_SYSCALL_FAILS_WITH(listxattr(f.c_str(), buf, 2), ERANGE);
  std::string big(65537, 'x');
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.big", big.data(), big.size(), 0), E2BIG);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.k", reinterpret_cast<const void*>(8), 4, 0), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), "user.k", reinterpret_cast<void*>(8), 16), EFAULT);
}

TEST(Xattr, NameErrors) {
  std::string f = tmp("f");
  make_file(f);
  char buf[8];
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "", "v", 1, 0), ERANGE);
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), "", buf, sizeof buf), ERANGE);
  std::string long_name = "user." + std::string(251, 'n');
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), long_name.c_str(), "v", 1, 0), ERANGE);
  EXPECT_SYSCALL_FAILS_WITH(removexattr(f.c_str(), long_name.c_str()), ERANGE);
  std::string max_name = "user." + std::string(250, 'n');
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), max_name.c_str(), buf, sizeof buf), ENODATA);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "nonamespace", "v", 1, 0), EOPNOTSUPP);
  EXPECT_SYSCALL_FAILS_WITH(getxattr(f.c_str(), "bogus.k", buf, sizeof buf), EOPNOTSUPP);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), "user.", "v", 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(f.c_str(), reinterpret_cast<const char*>(8), "v", 1, 0), EFAULT);
  // The name is checked before the path.
  EXPECT_SYSCALL_FAILS_WITH(getxattr(tmp("missing").c_str(), "", buf, sizeof buf), ERANGE);
  EXPECT_SYSCALL_FAILS_WITH(getxattr(tmp("missing").c_str(), "user.k", buf, sizeof buf), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(setxattr(tmp("missing").c_str(), "user.k", "v", 1, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(listxattr(tmp("missing").c_str(), buf, sizeof buf), ENOENT);
}

TEST(Xattr, EmptyListOfAFreshFile) {
  std::string f = tmp("f");
  make_file(f);
  char buf[256];
  ssize_t n = listxattr(f.c_str(), buf, sizeof buf);
  ASSERT_GE(n, 0);
  // An LSM may add its security.* label; no user.* name is there.
  for (const auto& name : names(buf, n)) EXPECT_TRUE(name.rfind("user.", 0) != 0);
}

TEST(Xattr, TrustedAndSecurityNeedCapSysAdmin) {
  SKIP_IF(geteuid() != 0, "needs root to test both sides");
  std::string f = tmp("f");
  make_file(f);
  ASSERT_SYSCALL_SUCCEEDS(chmod(f.c_str(), 0666));
  ASSERT_SYSCALL_SUCCEEDS(chmod(temp_dir().c_str(), 0777));
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "trusted.t", "1", 1, 0));
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "security.s", "2", 1, 0));
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.u", "3", 1, 0));
  char buf[256];
  ssize_t n = listxattr(f.c_str(), buf, sizeof buf);
  auto v = names(buf, n);
  EXPECT_TRUE(has(v, "trusted.t"));
  EXPECT_TRUE(has(v, "security.s"));
  int code = as_nobody([&] {
    char b[256];
    if (setxattr(f.c_str(), "trusted.t", "x", 1, 0) == 0 || errno != EPERM) return 1;
    if (getxattr(f.c_str(), "trusted.t", b, sizeof b) >= 0 || errno != ENODATA) return 2;
    if (setxattr(f.c_str(), "security.s", "x", 1, 0) == 0 || errno != EPERM) return 3;
    if (getxattr(f.c_str(), "security.s", b, sizeof b) != 1) return 4;
    if (getxattr(f.c_str(), "user.u", b, sizeof b) != 1) return 5;
    if (setxattr(f.c_str(), "user.u", "4", 1, 0) != 0) return 6;  // the file is 0666
    ssize_t m = listxattr(f.c_str(), b, sizeof b);
    if (m < 0) return 7;
    auto seen = names(b, m);
    if (has(seen, "trusted.t") || !has(seen, "user.u")) return 8;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(Xattr, UserNamespaceFollowsFilePermissions) {
  SKIP_IF(geteuid() != 0, "needs root to switch users");
  std::string f = tmp("private");
  make_file(f, "", 0600);
  ASSERT_SYSCALL_SUCCEEDS(chmod(temp_dir().c_str(), 0777));
  ASSERT_SYSCALL_SUCCEEDS(setxattr(f.c_str(), "user.k", "v", 1, 0));
  int code = as_nobody([&] {
    char b[8];
    if (getxattr(f.c_str(), "user.k", b, sizeof b) >= 0 || errno != EACCES) return 1;
    if (setxattr(f.c_str(), "user.k", "w", 1, 0) == 0 || errno != EACCES) return 2;
    if (removexattr(f.c_str(), "user.k") == 0 || errno != EACCES) return 3;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(Xattr, StickyDirectoryNeedsTheOwner) {
  SKIP_IF(geteuid() != 0, "needs root to switch users");
  std::string d = tmp("sticky");
  fsutil::make_dir(d, 01777);
  ASSERT_SYSCALL_SUCCEEDS(chmod(d.c_str(), 01777));
  ASSERT_SYSCALL_SUCCEEDS(chmod(temp_dir().c_str(), 0777));
  int code = as_nobody([&] {
    if (setxattr(d.c_str(), "user.k", "v", 1, 0) == 0 || errno != EPERM) return 1;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(Xattr, MemfdCarriesAttributes) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd_create("xattr", 0));
  EXPECT_SYSCALL_SUCCEEDS(fsetxattr(fd, "user.m", "1", 1, 0));
  char b[4];
  EXPECT_SYSCALL_SUCCEEDS_WITH(fgetxattr(fd, "user.m", b, sizeof b), 1);
  close(fd);
}

TEST(Xattr, PipesRefuseUserAttributes) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  char b[4];
  EXPECT_SYSCALL_FAILS_WITH(fsetxattr(p[1], "user.k", "v", 1, 0), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(fgetxattr(p[0], "user.k", b, sizeof b), ENODATA);
  close(p[0]);
  close(p[1]);
}
