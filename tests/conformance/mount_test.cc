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
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(write_file(m + "/under", "x"));
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, "mode=0750") == 0);
    struct stat st, parent;
    CHILD_CHECK(stat(m.c_str(), &st) == 0);
    CHILD_CHECK((st.st_mode & 07777) == 0750);
    CHILD_CHECK(stat(dir.c_str(), &parent) == 0);
    CHILD_CHECK(st.st_dev != parent.st_dev);
    CHILD_CHECK(!exists(m + "/under"));  // the mount covers what was there
    CHILD_CHECK(write_file(m + "/f", "data"));
    std::string line = mounts_line(m);
    CHILD_CHECK(line.find(" tmpfs rw") != std::string::npos);
    std::string info = slurp("/proc/self/mountinfo");
    CHILD_CHECK(info.find(" " + m + " ") != std::string::npos);
    struct statfs sf;
    CHILD_CHECK(statfs(m.c_str(), &sf) == 0);
    CHILD_CHECK(sf.f_type == 0x01021994);
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
    CHILD_CHECK(!exists(m + "/f"));
    CHILD_CHECK(exists(m + "/under"));
    CHILD_CHECK(mounts_line(m).empty());
  });
}

TEST(Mount, TmpfsSizeLimitGivesENOSPC) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, "size=64k") == 0);
    int fd = open((m + "/big").c_str(), O_WRONLY | O_CREAT, 0644);
    CHILD_CHECK(fd >= 0);
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
    CHILD_CHECK(err == ENOSPC);
    CHILD_CHECK(total == 64 * 1024);
    struct statvfs sv;
    CHILD_CHECK(statvfs(m.c_str(), &sv) == 0);
    CHILD_CHECK(sv.f_blocks * sv.f_frsize == 64 * 1024);
    CHILD_CHECK(sv.f_bfree == 0);
    // Freeing space makes room again.
    CHILD_CHECK(ftruncate(fd, 0) == 0);
    CHILD_CHECK(pwrite(fd, page, sizeof page, 0) == 4096);
    close(fd);
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, ProcAndSysfs) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string p = dir + "/p", s = dir + "/s";
    CHILD_CHECK(mkdir(p.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(s.c_str(), 0755) == 0);
    CHILD_CHECK(mount("proc", p.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0);
    CHILD_CHECK(exists(p + "/self/status"));
    CHILD_CHECK(exists(p + "/" + std::to_string(getpid())));
    CHILD_CHECK(mount("sysfs", s.c_str(), "sysfs", 0, nullptr) == 0);
    CHILD_CHECK(exists(s + "/devices/system/cpu/online"));
    CHILD_CHECK(mounts_line(p).find("proc") != std::string::npos);
    CHILD_CHECK(umount2(p.c_str(), 0) == 0);
    CHILD_CHECK(umount2(s.c_str(), 0) == 0);
    CHILD_CHECK(!exists(p + "/self"));
  });
}

TEST(Mount, BindMountOfADirectory) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHILD_CHECK(mkdir(a.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(b.c_str(), 0755) == 0);
    CHILD_CHECK(write_file(a + "/f", "hello"));
    CHILD_CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHILD_CHECK(slurp(b + "/f") == "hello");
    CHILD_CHECK(write_file(b + "/g", "via b"));
    CHILD_CHECK(slurp(a + "/g") == "via b");
    struct stat sa, sb;
    CHILD_CHECK(stat((a + "/f").c_str(), &sa) == 0);
    CHILD_CHECK(stat((b + "/f").c_str(), &sb) == 0);
    CHILD_CHECK(sa.st_ino == sb.st_ino);
    // The mount root cannot be removed while mounted.
    CHILD_CHECK_ERRNO(rmdir(b.c_str()), EBUSY);
    CHILD_CHECK(umount2(b.c_str(), 0) == 0);
    CHILD_CHECK(!exists(b + "/f"));
    CHILD_CHECK(exists(a + "/g"));
  });
}

TEST(Mount, BindMountOfAFile) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b", d = dir + "/d";
    CHILD_CHECK(write_file(a, "from a"));
    CHILD_CHECK(write_file(b, "from b"));
    CHILD_CHECK(mkdir(d.c_str(), 0755) == 0);
    CHILD_CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHILD_CHECK(slurp(b) == "from a");
    // A file does not go on a directory, nor a directory on a file.
    CHILD_CHECK_ERRNO(mount(a.c_str(), d.c_str(), nullptr, MS_BIND, nullptr), ENOTDIR);
    CHILD_CHECK_ERRNO(mount(d.c_str(), a.c_str(), nullptr, MS_BIND, nullptr), ENOTDIR);
    CHILD_CHECK(umount2(b.c_str(), 0) == 0);
    CHILD_CHECK(slurp(b) == "from b");
  });
}

TEST(Mount, RecursiveBindTakesSubmounts) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b", c = dir + "/c";
    CHILD_CHECK(mkdir(a.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir((a + "/sub").c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(b.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(c.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", (a + "/sub").c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(write_file(a + "/sub/x", "x"));
    CHILD_CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0);
    CHILD_CHECK(exists(b + "/sub/x"));
    CHILD_CHECK(mount(a.c_str(), c.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHILD_CHECK(exists(c + "/sub"));
    CHILD_CHECK(!exists(c + "/sub/x"));
    // A mount with mounts below it is busy; MNT_DETACH takes them all.
    CHILD_CHECK_ERRNO(umount2(b.c_str(), 0), EBUSY);
    CHILD_CHECK(umount2(b.c_str(), MNT_DETACH) == 0);
    CHILD_CHECK(!exists(b + "/sub"));
    CHILD_CHECK(umount2(c.c_str(), 0) == 0);
    CHILD_CHECK(umount2((a + "/sub").c_str(), 0) == 0);
  });
}

TEST(Mount, ReadOnlyBindRemount) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHILD_CHECK(mkdir(a.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(b.c_str(), 0755) == 0);
    CHILD_CHECK(write_file(a + "/f", "data"));
    CHILD_CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_BIND, nullptr) == 0);
    CHILD_CHECK(mount(nullptr, b.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0);
    CHILD_CHECK_ERRNO(open((b + "/new").c_str(), O_WRONLY | O_CREAT, 0644), EROFS);
    CHILD_CHECK_ERRNO(open((b + "/f").c_str(), O_WRONLY), EROFS);
    CHILD_CHECK_ERRNO(mkdir((b + "/d").c_str(), 0755), EROFS);
    CHILD_CHECK_ERRNO(unlink((b + "/f").c_str()), EROFS);
    CHILD_CHECK_ERRNO(chmod((b + "/f").c_str(), 0600), EROFS);
    CHILD_CHECK_ERRNO(truncate((b + "/f").c_str(), 0), EROFS);
    CHILD_CHECK(slurp(b + "/f") == "data");
    struct statvfs sv;
    CHILD_CHECK(statvfs(b.c_str(), &sv) == 0);
    CHILD_CHECK(sv.f_flag & ST_RDONLY);
    CHILD_CHECK(mounts_line(b).find(" ro") != std::string::npos);
    // The other view stays writable.
    CHILD_CHECK(write_file(a + "/g", "ok"));
    CHILD_CHECK(exists(b + "/g"));
    // And back to read-write.
    CHILD_CHECK(mount(nullptr, b.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0);
    CHILD_CHECK(write_file(b + "/h", "rw again"));
    CHILD_CHECK(umount2(b.c_str(), 0) == 0);
  });
}

TEST(Mount, RemountTmpfsReadOnly) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(write_file(m + "/f", "x"));
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    CHILD_CHECK_ERRNO(mkdir((m + "/d").c_str(), 0755), EROFS);
    CHILD_CHECK_ERRNO(open((m + "/f").c_str(), O_RDWR), EROFS);
    CHILD_CHECK(slurp(m + "/f") == "x");
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", MS_REMOUNT, nullptr) == 0);
    CHILD_CHECK(mkdir((m + "/d").c_str(), 0755) == 0);
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, StackedMountsUncoverInTurn) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(write_file(m + "/lower", "1"));
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(!exists(m + "/lower"));
    CHILD_CHECK(write_file(m + "/upper", "2"));
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
    CHILD_CHECK(exists(m + "/lower"));
    CHILD_CHECK(!exists(m + "/upper"));
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
    CHILD_CHECK(!exists(m + "/lower"));
    CHILD_CHECK_ERRNO(umount2(m.c_str(), 0), EINVAL);
  });
}

TEST(Mount, DotDotCrossesMountPoints) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m";
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(mkdir((m + "/sub").c_str(), 0755) == 0);
    struct stat top, up, mine, back;
    CHILD_CHECK(stat(dir.c_str(), &top) == 0);
    CHILD_CHECK(stat((m + "/..").c_str(), &up) == 0);
    CHILD_CHECK(up.st_ino == top.st_ino && up.st_dev == top.st_dev);
    CHILD_CHECK(stat(m.c_str(), &mine) == 0);
    CHILD_CHECK(stat((m + "/sub/../../m").c_str(), &back) == 0);
    CHILD_CHECK(back.st_dev == mine.st_dev && back.st_ino == mine.st_ino);
    // From inside the mount, relative to the working directory.
    CHILD_CHECK(chdir((m + "/sub").c_str()) == 0);
    CHILD_CHECK(stat("../..", &up) == 0);
    CHILD_CHECK(up.st_ino == top.st_ino && up.st_dev == top.st_dev);
    char cwd[4096];
    CHILD_CHECK(chdir("../..") == 0);
    CHILD_CHECK(getcwd(cwd, sizeof cwd) != nullptr);
    CHILD_CHECK(dir == cwd);
    CHILD_CHECK(umount2(m.c_str(), 0) == 0);
  });
}

TEST(Mount, Errors) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string m = dir + "/m", f = dir + "/f";
    CHILD_CHECK(mkdir(m.c_str(), 0755) == 0);
    CHILD_CHECK(write_file(f, ""));
    CHILD_CHECK_ERRNO(mount("none", m.c_str(), "no-such-fs", 0, nullptr), ENODEV);
    CHILD_CHECK_ERRNO(mount("tmpfs", (dir + "/missing").c_str(), "tmpfs", 0, nullptr), ENOENT);
    CHILD_CHECK_ERRNO(mount("tmpfs", f.c_str(), "tmpfs", 0, nullptr), ENOTDIR);
    CHILD_CHECK_ERRNO(mount("tmpfs", m.c_str(), "tmpfs", 0, "size=lots"), EINVAL);
    CHILD_CHECK_ERRNO(mount("tmpfs", m.c_str(), "tmpfs", 0, "bogus_option=1"), EINVAL);
    CHILD_CHECK_ERRNO(mount(nullptr, m.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), EINVAL);
    CHILD_CHECK_ERRNO(mount(nullptr, m.c_str(), nullptr, MS_PRIVATE, nullptr), EINVAL);
    CHILD_CHECK_ERRNO(umount2(m.c_str(), 0), EINVAL);
    CHILD_CHECK_ERRNO(umount2((dir + "/missing").c_str(), 0), ENOENT);
    CHILD_CHECK_ERRNO(umount2(m.c_str(), 0x100), EINVAL);
    CHILD_CHECK_ERRNO(umount2(m.c_str(), MNT_EXPIRE | MNT_DETACH), EINVAL);
  });
}

TEST(Mount, MoveMount) {
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string a = dir + "/a", b = dir + "/b";
    CHILD_CHECK(mkdir(a.c_str(), 0755) == 0);
    CHILD_CHECK(mkdir(b.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", a.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(write_file(a + "/f", "moved"));
    CHILD_CHECK(mount(a.c_str(), b.c_str(), nullptr, MS_MOVE, nullptr) == 0);
    CHILD_CHECK(!exists(a + "/f"));
    CHILD_CHECK(slurp(b + "/f") == "moved");
    CHILD_CHECK(umount2(b.c_str(), 0) == 0);
  });
}

TEST(Mount, NeedsCapSysAdmin) {
  std::string dir = temp_dir();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (setresuid(65534, 65534, 65534) != 0) _exit(kSkip);
    CHILD_CHECK_ERRNO(mount("tmpfs", dir.c_str(), "tmpfs", 0, nullptr), EPERM);
    CHILD_CHECK_ERRNO(umount2("/tmp", 0), EPERM);
    CHILD_CHECK_ERRNO(syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM);
    CHILD_CHECK_ERRNO(unshare(CLONE_NEWNS), EPERM);
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
        CHILD_CHECK(mount("tmpfs", (d + "/m").c_str(), "tmpfs", 0, nullptr) == 0);
        CHILD_CHECK(write_file(d + "/m/inside", "x"));
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
    CHILD_CHECK(mkdir(n.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", n.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(mkdir((n + "/old").c_str(), 0755) == 0);
    CHILD_CHECK(write_file(n + "/marker", "new root"));
    CHILD_CHECK(write_file(dir + "/outside", "old root"));
    // Errors first: not a mount point, put_old outside new_root, not a directory.
    std::string other = dir + "/other";
    CHILD_CHECK(mkdir(other.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", other.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK_ERRNO(syscall(SYS_pivot_root, (n + "/old").c_str(), (n + "/old").c_str()), EINVAL);
    CHILD_CHECK_ERRNO(syscall(SYS_pivot_root, n.c_str(), other.c_str()), EINVAL);
    CHILD_CHECK_ERRNO(syscall(SYS_pivot_root, n.c_str(), (n + "/marker").c_str()), ENOTDIR);
    CHILD_CHECK_ERRNO(syscall(SYS_pivot_root, "/", "/"), EBUSY);
    CHILD_CHECK(chdir(n.c_str()) == 0);
    CHILD_CHECK(syscall(SYS_pivot_root, ".", "old") == 0);
    CHILD_CHECK(chdir("/") == 0);
    CHILD_CHECK(slurp("/marker") == "new root");
    CHILD_CHECK(slurp("/old" + dir + "/outside") == "old root");
    char cwd[256];
    CHILD_CHECK(getcwd(cwd, sizeof cwd) && std::string(cwd) == "/");
    CHILD_CHECK(umount2("/old", MNT_DETACH) == 0);
    CHILD_CHECK(!exists("/old" + dir + "/outside"));
    CHILD_CHECK(!exists(dir + "/outside"));
  });
}

TEST(PivotRoot, DotDotStacksTheOldRoot) {
  // pivot_root(".", ".") puts the old root on top of the new one; unmounting
  // it leaves the new root alone.
  RUN_IN_MOUNT_NS([](const std::string& dir) {
    std::string n = dir + "/new";
    CHILD_CHECK(mkdir(n.c_str(), 0755) == 0);
    CHILD_CHECK(mount("tmpfs", n.c_str(), "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(write_file(n + "/marker", "new root"));
    CHILD_CHECK(chdir(n.c_str()) == 0);
    CHILD_CHECK(syscall(SYS_pivot_root, ".", ".") == 0);
    CHILD_CHECK(umount2(".", MNT_DETACH) == 0);
    CHILD_CHECK(chdir("/") == 0);
    CHILD_CHECK(slurp("/marker") == "new root");
    CHILD_CHECK(!exists(dir));
  });
}
