// Conformance: chroot(2), and the ways out of a root that must stay shut:
// ".." past the root, absolute and relative symlinks pointing out,
// /proc/self/root and /proc/self/cwd.
//
// Each case chroots in a forked child (the root is per process); children
// check by hand and report through their exit status (proc_child.h).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

constexpr int kSkip = 77;

std::string slurp(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<" + std::string(strerror(errno)) + ">";
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

void put(const std::string& path, const std::string& data) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, data.data(), data.size()), data.size());
  close(fd);
}

bool same_file(const char* a, const char* b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string link_of(const char* path) {
  char buf[4096];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) return "<" + std::string(strerror(errno)) + ">";
  return std::string(buf, static_cast<size_t>(n));
}

// A jail under the case's directory: DIR/jail/{marker,sub/}, and a secret
// beside it (DIR/outside) that no walk from inside may reach.
struct Jail {
  std::string dir, jail;
};

Jail make_jail() {
  Jail j{temp_dir(), temp_dir() + "/jail"};
  ASSERT_SYSCALL_SUCCEEDS(mkdir(j.jail.c_str(), 0755));
  ASSERT_SYSCALL_SUCCEEDS(mkdir((j.jail + "/sub").c_str(), 0755));
  ASSERT_SYSCALL_SUCCEEDS(mkdir((j.jail + "/proc").c_str(), 0755));
  put(j.jail + "/marker", "inside");
  put(j.dir + "/outside", "SECRET");
  return j;
}

int run_child(void (*body)(const Jail&), const Jail& j) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    body(j);
    _exit(0);
  }
  return proc::child_result(pid);
}

}  // namespace

TEST(Chroot, Errors) {
  Jail j = make_jail();
  int r = run_child(
      [](const Jail& j) {
        CHILD_CHECK_ERRNO(chroot((j.dir + "/missing").c_str()), ENOENT);
        CHILD_CHECK_ERRNO(chroot((j.jail + "/marker").c_str()), ENOTDIR);
        CHILD_CHECK_ERRNO(chroot((j.jail + "/marker/x").c_str()), ENOTDIR);
        CHILD_CHECK(chmod(j.dir.c_str(), 0755) == 0);
        CHILD_CHECK(chmod(j.jail.c_str(), 0700) == 0);
        if (setresuid(65534, 65534, 65534) != 0) _exit(kSkip);
        CHILD_CHECK_ERRNO(chroot((j.dir + "/missing").c_str()), ENOENT);
        // Search permission first (the walk), then CAP_SYS_CHROOT.
        CHILD_CHECK_ERRNO(chroot((j.jail + "/sub").c_str()), EACCES);
        CHILD_CHECK_ERRNO(chroot(j.dir.c_str()), EPERM);
      },
      j);
  SKIP_IF(r == kSkip && !running_in_moat(), "not root");
  EXPECT_EQ(r, 0);
}

TEST(Chroot, DotDotStopsAtTheRoot) {
  Jail j = make_jail();
  int r = run_child(
      [](const Jail& j) {
        CHILD_CHECK(chroot(j.jail.c_str()) == 0);
        CHILD_CHECK(chdir("/") == 0);
        CHILD_CHECK(slurp("/marker") == "inside");
        CHILD_CHECK(same_file("/..", "/"));
        CHILD_CHECK(same_file("/../../../..", "/"));
        CHILD_CHECK(same_file("sub/../../..", "/"));
        CHILD_CHECK_ERRNO(open("/../outside", O_RDONLY), ENOENT);
        CHILD_CHECK_ERRNO(open("../../outside", O_RDONLY), ENOENT);
        CHILD_CHECK(chdir("/sub") == 0);
        CHILD_CHECK_ERRNO(open("../../outside", O_RDONLY), ENOENT);
        char cwd[4096];
        CHILD_CHECK(getcwd(cwd, sizeof cwd) && std::string(cwd) == "/sub");
        CHILD_CHECK(chdir("../../..") == 0);
        CHILD_CHECK(getcwd(cwd, sizeof cwd) && std::string(cwd) == "/");
      },
      j);
  EXPECT_EQ(r, 0);
}

TEST(Chroot, SymlinksResolveInsideTheRoot) {
  Jail j = make_jail();
  // An absolute link naming the secret's real path, a relative one climbing
  // out, and one to "/".
  ASSERT_SYSCALL_SUCCEEDS(symlink((j.dir + "/outside").c_str(), (j.jail + "/abs").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(symlink("../../../../outside", (j.jail + "/sub/rel").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(symlink("/", (j.jail + "/sub/top").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(symlink("../..", (j.jail + "/up").c_str()));
  int r = run_child(
      [](const Jail& j) {
        CHILD_CHECK(chroot(j.jail.c_str()) == 0);
        CHILD_CHECK(chdir("/") == 0);
        CHILD_CHECK_ERRNO(open("/abs", O_RDONLY), ENOENT);
        CHILD_CHECK_ERRNO(open("/sub/rel", O_RDONLY), ENOENT);
        CHILD_CHECK(same_file("/sub/top", "/"));
        CHILD_CHECK(same_file("/up", "/"));
        CHILD_CHECK_ERRNO(open("/up/outside", O_RDONLY), ENOENT);
        CHILD_CHECK(slurp("/sub/top/marker") == "inside");
        // The absolute link's target is read in the new root: give it one.
        std::string path;
        for (size_t i = 1; i <= j.dir.size(); i++) {
          if (i == j.dir.size() || j.dir[i] == '/') {
            path = j.dir.substr(0, i);
            CHILD_CHECK(mkdir(path.c_str(), 0755) == 0 || errno == EEXIST);
          }
        }
        int fd = open((j.dir + "/outside").c_str(), O_WRONLY | O_CREAT, 0644);
        CHILD_CHECK(fd >= 0);
        CHILD_CHECK(write(fd, "decoy", 5) == 5);
        close(fd);
        CHILD_CHECK(slurp("/abs") == "decoy");
      },
      j);
  EXPECT_EQ(r, 0);
  // The real secret is untouched.
  EXPECT_TRUE(slurp(j.dir + "/outside") == "SECRET");
}

TEST(Chroot, ProcSelfRootAndCwdStayInside) {
  Jail j = make_jail();
  int r = run_child(
      [](const Jail& j) {
        // proc inside the jail needs a mount, in a namespace of our own.
        if (unshare(CLONE_NEWNS) != 0) _exit(kSkip);
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(kSkip);
        CHILD_CHECK(mount("proc", (j.jail + "/proc").c_str(), "proc", 0, nullptr) == 0);
        CHILD_CHECK(chroot(j.jail.c_str()) == 0);
        CHILD_CHECK(chdir("/sub") == 0);
        CHILD_CHECK(link_of("/proc/self/root") == "/");
        CHILD_CHECK(link_of("/proc/self/cwd") == "/sub");
        CHILD_CHECK(same_file("/proc/self/root", "/"));
        CHILD_CHECK(same_file("/proc/self/cwd", "/sub"));
        CHILD_CHECK(slurp("/proc/self/root/marker") == "inside");
        CHILD_CHECK_ERRNO(open("/proc/self/root/../outside", O_RDONLY), ENOENT);
        CHILD_CHECK_ERRNO(open("/proc/self/cwd/../../outside", O_RDONLY), ENOENT);
        CHILD_CHECK(same_file("/proc/self/cwd/../../..", "/"));
        // The mount table shows what is below the root, from the root.
        std::string mounts = slurp("/proc/self/mounts");
        CHILD_CHECK(mounts.find(" /proc proc ") != std::string::npos);
        CHILD_CHECK(mounts.find(j.jail) == std::string::npos);
      },
      j);
  SKIP_IF(r == kSkip && !running_in_moat(), "no mount namespace here (needs CAP_SYS_ADMIN)");
  EXPECT_EQ(r, 0);
}

TEST(Chroot, ChildrenInheritTheRoot) {
  Jail j = make_jail();
  int r = run_child(
      [](const Jail& j) {
        CHILD_CHECK(chroot(j.jail.c_str()) == 0);
        CHILD_CHECK(chdir("/") == 0);
        pid_t pid = fork();
        if (pid == 0) _exit(access("/marker", F_OK) == 0 && access("/../outside", F_OK) != 0 ? 0 : 1);
        int status = 0;
        CHILD_CHECK(waitpid(pid, &status, 0) == pid);
        CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        // chroot("/") again stays where it is.
        CHILD_CHECK(chroot("/") == 0);
        CHILD_CHECK(slurp("/marker") == "inside");
        CHILD_CHECK(chroot("sub") == 0);
        CHILD_CHECK_ERRNO(open("/marker", O_RDONLY), ENOENT);
      },
      j);
  EXPECT_EQ(r, 0);
}
