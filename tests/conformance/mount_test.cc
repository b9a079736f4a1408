// Conformance: mount(2) (tmpfs, proc, sysfs, bind, remount), umount2(2),
// pivot_root(2), unshare(CLONE_NEWNS), and /proc/self/mounts.
//
// Each case that mounts runs in a forked child with its own mount namespace
// (unshare(CLONE_NEWNS), all mounts private), so nothing leaks to the runner
// or the host. Natively that needs CAP_SYS_ADMIN: without it the case is
// skipped; inside moat it must run. Children check by hand and report
// through their exit status (proc_child.h).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "fs_util.h"
#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

constexpr int kSkip = 77;

#define CHECK(cond)                                                                                         \
  do {                                                                                                      \
    if (!(cond)) {                                                                                          \
      fprintf(stderr, "  child check failed at line %d: %s (errno %s)\n", __LINE__, #cond, strerror(errno)); \
      _exit(1);                                                                                             \
    }                                                                                                       \
  } while (0)

#define CHECK_ERRNO(expr, err)                                                                            \
  do {                                                                                                    \
    errno = 0;                                                                                            \
    long r_ = (long)(expr);                                                                               \
    int e_ = errno;                                                                                       \
    if (r_ != -1 || e_ != (err)) {                                                                        \
      fprintf(stderr, "  child line %d: %s returned %ld (%s), want %s\n", __LINE__, #expr, r_, strerror(e_), \
              strerror(err));                                                                             \
      _exit(1);                                                                                           \
    }                                                                                                     \
  } while (0)

std::string slurp(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

bool write_file(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  return ok;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The line of /proc/self/mounts for mount point path, or "".
std::string mounts_line(const std::string& path) {
  std::string all = slurp("/proc/self/mounts");
  size_t pos = 0;
  std::string found;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    std::string line = all.substr(pos, end - pos);
    size_t a = line.find(' ');
    if (a != std::string::npos) {
      size_t b = line.find(' ', a + 1);
      if (line.substr(a + 1, b - a - 1) == path) found = line;  // the last (top) one
    }
    pos = end + 1;
  }
  return found;
}

// Runs body(dir) in a child with a private mount namespace. Returns the
// child's result: 0, kSkip, or a failure.
int in_mount_ns(void (*body)(const std::string&), const std::string& dir) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0) _exit(kSkip);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(kSkip);
    body(dir);
    _exit(0);
  }
  return proc::child_result(pid);
}

#define RUN_IN_MOUNT_NS(...)                                                          \
  do {                                                                                 \
    int r_ = in_mount_ns(__VA_ARGS__, temp_dir());                                          \
    SKIP_IF(r_ == kSkip && !running_in_moat(), "no mount namespace here (needs CAP_SYS_ADMIN)"); \
    EXPECT_EQ(r_, 0);                                                                  \
  } while (0)

}  // namespace

TEST(Mount, TmpfsWithModeShowsInMountsAndGoesAway) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(write_file(m + "/under", "x"));
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, "mode=0750") == 0);
    struct stat st, parent;
    CHECK(stat(m.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0750);
    CHECK(stat(dir.c_str(), &parent) == 0);
    CHECK(st.st_dev != parent.st_dev);
    CHECK(!exists(m + "/under"));  // the mount covers what was there
    CHECK(write_file(m + "/f", "data"));
    std::string line = mounts_line(m);
    CHECK(line.find(" tmpfs rw") != std::string::npos);
    std::string info = slurp("/proc/self/mountinfo");
    CHECK(info.find(" " + m + " ") != std::string::npos);
    struct statfs sf;
    CHECK(statfs(m.c_str(), &sf) == 0);
    CHECK(sf.f_type == 0x01021994);
    CHECK(umount2(m.c_str(), 0) == 0);
    CHECK(!exists(m + "/f"));
    CHECK(exists(m + "/under"));
    CHECK(mounts_line(m).empty());
  });
}

TEST(Mount, TmpfsSizeLimitGivesENOSPC) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, "size=64k") == 0);
    int fd = open((m + "/big").c_str(), O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    char page[4096];
    memset(page, 'a', sizeof page);
    size_t total = 0;
    int err = 0;
    for (int i = 0; i < 32; i++) {
      ssize_t n = write(fd, page, sizeof page);
      if (n < 0) {
        err = errno;
        break;
      }
      total += static_cast<size_t>(n);
    }
    CHECK(err == ENOSPC);
    CHECK(total == 64 * 1024);
    struct statvfs sv;
    CHECK(statvfs(m.c_str(), &sv) == 0);
    CHECK(sv.f_blocks * sv.f_frsize == 64 * 1024);
    CHECK(sv.f_bfree == 0);
    // Freeing space makes room again.
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, page, sizeof page, 0) == 4096);
    close(fd);
    CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, ProcAndSysfs) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string p = dir + "/p", s = dir + "/s";
    CHECK(mkdir(p.c_str(), 0755) == 0);
    CHECK(mkdir(s.c_str(), 0755) == 0);
    CHECK(mount("proc", p.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0);
    CHECK(exists(p + "/self/status"));
    CHECK(exists(p + "/" + std::to_string(getpid())));
    CHECK(mount("sysfs", s.c_str(), "sysfs", 0, nullptr) == 0);
    CHECK(exists(s + "/devices/system/cpu/online"));
    CHECK(mounts_line(p).find("proc") != std::string::npos);
    CHECK(umount2(p.c_str(), 0) == 0);
    CHECK(umount2(s.c_str(), 0) == 0);
    CHECK(!exists(p + "/self"));
  });
}

TEST(Mount, BindMountOfADirectory) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHECK(mkdir(a.c_str(), 0755) == 0);
    CHECK(mkdir(b.c_str(), 0755) == 0);
    CHECK(write_file(a + "/f", "hello"));
    CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHECK(slurp(b + "/f") == "hello");
    CHECK(write_file(b + "/g", "via b"));
    CHECK(slurp(a + "/g") == "via b");
    struct stat sa, sb;
    CHECK(stat((a + "/f").c_str(), &sa) == 0);
    CHECK(stat((b + "/f").c_str(), &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino);
    // The mount root cannot be removed while mounted.
    CHECK_ERRNO(rmdir(b.c_str()), EBUSY);
    CHECK(umount2(b.c_str(), 0) == 0);
    CHECK(!exists(b + "/f"));
    CHECK(exists(a + "/g"));
  });
}

TEST(Mount, BindMountOfAFile) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b", d = dir + "/d";
    CHECK(write_file(a, "from a"));
    CHECK(write_file(b, "from b"));
    CHECK(mkdir(d.c_str(), 0755) == 0);
    CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHECK(slurp(b) == "from a");
    // A file does not go on a directory, nor a directory on a file.
    CHECK_ERRNO(mount(a.c_str(), d.c_str(), nullptr, MS_BIND, nullptr), ENOTDIR);
    CHECK_ERRNO(mount(d.c_str(), a.c_str(), nullptr, MS_BIND, nullptr), ENOTDIR);
    CHECK(umount2(b.c_str(), 0) == 0);
    CHECK(slurp(b) == "from b");
  });
}

TEST(Mount, RecursiveBindTakesSubmounts) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b", c = dir + "/c";
    CHECK(mkdir(a.c_str(), 0755) == 0);
    CHECK(mkdir((a + "/sub").c_str(), 0755) == 0);
    CHECK(mkdir(b.c_str(), 0755) == 0);
    CHECK(mkdir(c.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", (a + "/sub").c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(write_file(a + "/sub/x", "x"));
    CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0);
    CHECK(exists(b + "/sub/x"));
    CHECK(mount(a.c_str(), c.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHECK(exists(c + "/sub"));
    CHECK(!exists(c + "/sub/x"));
    // A mount with mounts below it is busy; MNT_DETACH takes them all.
    CHECK_ERRNO(umount2(b.c_str(), 0), EBUSY);
    CHECK(umount2(b.c_str(), MNT_DETACH) == 0);
    CHECK(!exists(b + "/sub"));
    CHECK(umount2(c.c_str(), 0) == 0);
    CHECK(umount2((a + "/sub").c_str(), 0) == 0);
  });
}

TEST(Mount, ReadOnlyBindRemount) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHECK(mkdir(a.c_str(), 0755) == 0);
    CHECK(mkdir(b.c_str(), 0755) == 0);
    CHECK(write_file(a + "/f", "data"));
    CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHECK(mount(nullptr, b.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0);
    CHECK_ERRNO(open((b + "/new").c_str(), O_WRONLY | O_CREAT, 0644), EROFS);
    CHECK_ERRNO(open((b + "/f").c_str(), O_WRONLY), EROFS);
    CHECK_ERRNO(mkdir((b + "/d").c_str(), 0755), EROFS);
    CHECK_ERRNO(unlink((b + "/f").c_str()), EROFS);
    CHECK_ERRNO(chmod((b + "/f").c_str(), 0600), EROFS);
    CHECK_ERRNO(truncate((b + "/f").c_str(), 0), EROFS);
    CHECK(slurp(b + "/f") == "data");
    struct statvfs sv;
    CHECK(statvfs(b.c_str(), &sv) == 0);
    CHECK(sv.f_flag & ST_RDONLY);
    CHECK(mounts_line(b).find(" ro") != std::string::npos);
    // The other view stays writable.
    CHECK(write_file(a + "/g", "ok"));
    CHECK(exists(b + "/g"));
    // And back to read-write.
    CHECK(mount(nullptr, b.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0);
    CHECK(write_file(b + "/h", "rw again"));
    CHECK(umount2(b.c_str(), 0) == 0);
  });
}

TEST(Mount, RemountTmpfsReadOnly) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(write_file(m + "/f", "x"));
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    CHECK_ERRNO(mkdir((m + "/d").c_str(), 0755), EROFS);
    CHECK_ERRNO(open((m + "/f").c_str(), O_RDWR), EROFS);
    CHECK(slurp(m + "/f") == "x");
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", MS_REMOUNT, nullptr) == 0);
    CHECK(mkdir((m + "/d").c_str(), 0755) == 0);
    CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, StackedMountsUncoverInTurn) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(write_file(m + "/lower", "1"));
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(!exists(m + "/lower"));
    CHECK(write_file(m + "/upper", "2"));
    CHECK(umount2(m.c_str(), 0) == 0);
    CHECK(exists(m + "/lower"));
    CHECK(!exists(m + "/upper"));
    CHECK(umount2(m.c_str(), 0) == 0);
    CHECK(!exists(m + "/lower"));
    CHECK_ERRNO(umount2(m.c_str(), 0), EINVAL);
  });
}

TEST(Mount, DotDotCrossesMountPoints) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(mkdir((m + "/sub").c_str(), 0755) == 0);
    struct stat top, up, mine, back;
    CHECK(stat(dir.c_str(), &top) == 0);
    CHECK(stat((m + "/..").c_str(), &up) == 0);
    CHECK(up.st_ino == top.st_ino && up.st_dev == top.st_dev);
    CHECK(stat(m.c_str(), &mine) == 0);
    CHECK(stat((m + "/sub/../../m").c_str(), &back) == 0);
    CHECK(back.st_dev == mine.st_dev && back.st_ino == mine.st_ino);
    // From inside the mount, relative to the working directory.
    CHECK(chdir((m + "/sub").c_str()) == 0);
    CHECK(stat("../..", &up) == 0);
    CHECK(up.st_ino == top.st_ino && up.st_dev == top.st_dev);
    char cwd[4096];
    CHECK(chdir("../..") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != nullptr);
    CHECK(dir == cwd);
    CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, Errors) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m", f = dir + "/f";
    CHECK(mkdir(m.c_str(), 0755) == 0);
    CHECK(write_file(f, ""));
    CHECK_ERRNO(mount("none", m.c_str(), "no-such-fs", 0, nullptr), ENODEV);
    CHECK_ERRNO(mount("tmpfs", (dir + "/missing").c_str(), "tmpfs", 0, nullptr), ENOENT);
    CHECK_ERRNO(mount("tmpfs", f.c_str(), "tmpfs", 0, nullptr), ENOTDIR);
    CHECK_ERRNO(mount("tmpfs", m.c_str(), "tmpfs", 0, "size=lots"), EINVAL);
    CHECK_ERRNO(mount("tmpfs", m.c_str(), "tmpfs", 0, "bogus_option=1"), EINVAL);
    CHECK_ERRNO(mount(nullptr, m.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), EINVAL);
    CHECK_ERRNO(mount(nullptr, m.c_str(), nullptr, MS_PRIVATE, nullptr), EINVAL);
    CHECK_ERRNO(umount2(m.c_str(), 0), EINVAL);
    CHECK_ERRNO(umount2((dir + "/missing").c_str(), 0), ENOENT);
    CHECK_ERRNO(umount2(m.c_str(), 0x100), EINVAL);
    CHECK_ERRNO(umount2(m.c_str(), MNT_EXPIRE | MNT_DETACH), EINVAL);
  });
}

TEST(Mount, MoveMount) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHECK(mkdir(a.c_str(), 0755) == 0);
    CHECK(mkdir(b.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", a.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(write_file(a + "/f", "moved"));
    CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_MOVE, nullptr) == 0);
    CHECK(!exists(a + "/f"));
    CHECK(slurp(b + "/f") == "moved");
    CHECK(umount2(b.c_str(), 0) == 0);
  });
}

TEST(Mount, NeedsCapSysAdmin) {
  std::string dir = temp_dir();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (setresuid(65534, 65534, 65534) != 0) _exit(kSkip);
    CHECK_ERRNO(mount("tmpfs", dir.c_str(), "tmpfs", 0, nullptr), EPERM);
    CHECK_ERRNO(umount2("/tmp", 0), EPERM);
    CHECK_ERRNO(syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM);
    CHECK_ERRNO(unshare(CLONE_NEWNS), EPERM);
    _exit(0);
  }
  int r = proc::child_result(pid);
  SKIP_IF(r == kSkip && !running_in_moat(), "not root");
  EXPECT_EQ(r, 0);
}

TEST(Mount, UnshareKeepsMountsPrivate) {
  std::string dir = temp_dir();
  std::string m = dir + "/m";
  ASSERT_SYSCALL_SUCCEEDS(mkdir(m.c_str(), 0755));
  int r = in_mount_ns(
      [](const std::string& d) {
        CHECK(mount("tmpfs", (d + "/m").c_str(), "tmpfs", 0, nullptr) == 0);
        CHECK(write_file(d + "/m/inside", "x"));
      },
      dir);
  SKIP_IF(r == kSkip && !running_in_moat(), "no mount namespace here (needs CAP_SYS_ADMIN)");
  EXPECT_EQ(r, 0);
  // The child's mount went with its namespace; the parent never saw it.
  EXPECT_FALSE(fsutil::exists(m + "/inside"));
  EXPECT_TRUE(mounts_line(m).empty());
}

TEST(PivotRoot, SwapsTheRoot) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string n = dir + "/new";
    CHECK(mkdir(n.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", n.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(mkdir((n + "/old").c_str(), 0755) == 0);
    CHECK(write_file(n + "/marker", "new root"));
    CHECK(write_file(dir + "/outside", "old root"));
    // Errors first: not a mount point, put_old outside new_root, not a directory.
    std::string other = dir + "/other";
    CHECK(mkdir(other.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", other.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK_ERRNO(syscall(SYS_pivot_root, (n + "/old").c_str(), (n + "/old").c_str()), EINVAL);
    CHECK_ERRNO(syscall(SYS_pivot_root, n.c_str(), other.c_str()), EINVAL);
    CHECK_ERRNO(syscall(SYS_pivot_root, n.c_str(), (n + "/marker").c_str()), ENOTDIR);
    CHECK_ERRNO(syscall(SYS_pivot_root, "/", "/"), EBUSY);
    CHECK(chdir(n.c_str()) == 0);
    CHECK(syscall(SYS_pivot_root, ".", "old") == 0);
    CHECK(chdir("/") == 0);
    CHECK(slurp("/marker") == "new root");
    CHECK(slurp("/old" + dir + "/outside") == "old root");
    char cwd[256];
    CHECK(getcwd(cwd, sizeof cwd) && std::string(cwd) == "/");
    CHECK(umount2("/old", MNT_DETACH) == 0);
    CHECK(!exists("/old" + dir + "/outside"));
    CHECK(!exists(dir + "/outside"));
  });
}

TEST(PivotRoot, DotDotStacksTheOldRoot) {
  // pivot_root(".", ".") puts the old root on top of the new one; unmounting
  // it leaves the new root alone.
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string n = dir + "/new";
    CHECK(mkdir(n.c_str(), 0755) == 0);
    CHECK(mount("tmpfs", n.c_str(), "tmpfs", 0, nullptr) == 0);
    CHECK(write_file(n + "/marker", "new root"));
    CHECK(chdir(n.c_str()) == 0);
    CHECK(syscall(SYS_pivot_root, ".", ".") == 0);
    CHECK(umount2(".", MNT_DETACH) == 0);
    CHECK(chdir("/") == 0);
    CHECK(slurp("/marker") == "new root");
    CHECK(!exists(dir));
  });
}
