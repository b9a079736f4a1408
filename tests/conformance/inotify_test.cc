// Conformance: inotify_init1(2), inotify_add_watch(2), inotify_rm_watch(2),
// reading struct inotify_event records, and readiness for poll and epoll.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fs_util.h"
#include "harness.h"
#include "proc_child.h"

using namespace conformance;
using fsutil::make_file;
using fsutil::tmp;

namespace {

struct Ev {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
};

// Every event queued now (fd must be non-blocking).
std::vector<Ev> drain(int fd) {
  std::vector<Ev> out;
  alignas(inotify_event) char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<inotify_event*>(buf + off);
      EXPECT_EQ(e->len % sizeof(inotify_event), 0u);
      out.push_back(Ev{e->wd, e->mask, e->cookie, e->len ? std::string(e->name) : std::string()});
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return out;
}

std::string describe(const std::vector<Ev>& evs) {
  std::string s;
  for (const auto& e : evs) {
    char buf[128];
    snprintf(buf, sizeof buf, "{wd %d mask %#x cookie %u '%s'} ", e.wd, e.mask, e.cookie, e.name.c_str());
    s += buf;
  }
  return s;
}

#define EXPECT_EVENTS(got, ...)                                                                         \
  do {                                                                                                  \
    std::vector<Ev> want_ = {__VA_ARGS__};                                                              \
    bool same_ = (got).size() == want_.size();                                                          \
    for (size_t i_ = 0; same_ && i_ < want_.size(); i_++)                                               \
      same_ = (got)[i_].wd == want_[i_].wd && (got)[i_].mask == want_[i_].mask && (got)[i_].name == want_[i_].name; \
    if (!same_) CONF_FAIL_(false, "events: got %s want %s", describe(got).c_str(), describe(want_).c_str()); \
  } while (0)

int new_inotify() { return ASSERT_SYSCALL_SUCCEEDS(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)); }

}  // namespace

TEST(Inotify, InitFlags) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  char buf[256];
  EXPECT_SYSCALL_FAILS_WITH(read(fd, buf, sizeof buf), EAGAIN);
  close(fd);
  fd = ASSERT_SYSCALL_SUCCEEDS(inotify_init1(0));
  EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_SET), 0);  // noop_llseek
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(inotify_init1(0x1234), EINVAL);
}

TEST(Inotify, AddWatchErrors) {
  int fd = new_inotify();
  std::string dir = temp_dir(), file = tmp("f");
  make_file(file);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(fd, dir.c_str(), 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(-1, dir.c_str(), IN_CREATE), EBADF);
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(p[0], dir.c_str(), IN_CREATE), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(inotify_rm_watch(p[0], 1), EINVAL);
  close(p[0]);
  close(p[1]);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(fd, tmp("missing").c_str(), IN_CREATE), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(fd, file.c_str(), IN_MODIFY | IN_ONLYDIR), ENOTDIR);
  int wd = EXPECT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  EXPECT_GT(wd, 0);
  // The same inode again: the same watch.
  EXPECT_SYSCALL_SUCCEEDS_WITH(inotify_add_watch(fd, (dir + "/.").c_str(), IN_DELETE), wd);
  EXPECT_SYSCALL_FAILS_WITH(inotify_add_watch(fd, dir.c_str(), IN_DELETE | IN_MASK_CREATE), EEXIST);
  int wd2 = EXPECT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, file.c_str(), IN_MODIFY));
  EXPECT_NE(wd2, wd);
  EXPECT_SYSCALL_FAILS_WITH(inotify_rm_watch(fd, 9999), EINVAL);
  close(fd);
}

TEST(Inotify, CreateAndDeleteInADirectory) {
  int fd = new_inotify();
  std::string dir = temp_dir();
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_DELETE));
  make_file(tmp("file"));
  ASSERT_SYSCALL_SUCCEEDS(mkdir(tmp("sub").c_str(), 0755));
  ASSERT_SYSCALL_SUCCEEDS(symlink("file", tmp("link").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("file").c_str()));
  ASSERT_SYSCALL_SUCCEEDS(rmdir(tmp("sub").c_str()));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_CREATE, 0, "file"}, Ev{wd, IN_CREATE | IN_ISDIR, 0, "sub"},
                Ev{wd, IN_CREATE, 0, "link"}, Ev{wd, IN_DELETE, 0, "file"}, Ev{wd, IN_DELETE | IN_ISDIR, 0, "sub"});
  close(fd);
}

TEST(Inotify, ModifyAndCloseWrite) {
  int fd = new_inotify();
  std::string file = tmp("f");
  make_file(file);
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, file.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(file.c_str(), O_WRONLY));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(w, "abc", 3), 3);
  close(w);
  int r = ASSERT_SYSCALL_SUCCEEDS(open(file.c_str(), O_RDONLY));
  close(r);
  ASSERT_SYSCALL_SUCCEEDS(truncate(file.c_str(), 1));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_MODIFY, 0, ""}, Ev{wd, IN_CLOSE_WRITE, 0, ""}, Ev{wd, IN_CLOSE_NOWRITE, 0, ""},
                Ev{wd, IN_MODIFY, 0, ""});
  close(fd);
}

TEST(Inotify, DirectoryWatchHearsItsChildren) {
  int fd = new_inotify();
  std::string dir = temp_dir(), file = tmp("f");
  make_file(file);
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_MODIFY | IN_ATTRIB | IN_OPEN | IN_CLOSE_WRITE));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(file.c_str(), O_WRONLY));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(w, "x", 1), 1);
  close(w);
  ASSERT_SYSCALL_SUCCEEDS(chmod(file.c_str(), 0600));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_OPEN, 0, "f"}, Ev{wd, IN_MODIFY, 0, "f"}, Ev{wd, IN_CLOSE_WRITE, 0, "f"},
                Ev{wd, IN_ATTRIB, 0, "f"});
  close(fd);
}

TEST(Inotify, AttribOnChmodChownAndTimes) {
  int fd = new_inotify();
  std::string file = tmp("f");
  make_file(file);
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, file.c_str(), IN_ATTRIB));
  ASSERT_SYSCALL_SUCCEEDS(chmod(file.c_str(), 0600));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_ATTRIB, 0, ""});
  ASSERT_SYSCALL_SUCCEEDS(chown(file.c_str(), getuid(), getgid()));
  evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_ATTRIB, 0, ""});
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, file.c_str(), nullptr, 0));
  evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_ATTRIB, 0, ""});
  close(fd);
}

TEST(Inotify, RenameSharesACookie) {
  int fd = new_inotify();
  std::string a = tmp("a"), b = tmp("b");
  ASSERT_SYSCALL_SUCCEEDS(mkdir(a.c_str(), 0755));
  ASSERT_SYSCALL_SUCCEEDS(mkdir(b.c_str(), 0755));
  make_file(a + "/f");
  int wa = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, a.c_str(), IN_MOVED_FROM | IN_MOVED_TO));
  int wb = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, b.c_str(), IN_MOVED_FROM | IN_MOVED_TO));
  int wf = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, (a + "/f").c_str(), IN_MOVE_SELF));
  ASSERT_SYSCALL_SUCCEEDS(rename((a + "/f").c_str(), (b + "/g").c_str()));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wa, IN_MOVED_FROM, 0, "f"}, Ev{wb, IN_MOVED_TO, 0, "g"}, Ev{wf, IN_MOVE_SELF, 0, ""});
  if (evs.size() == 3) {
    EXPECT_NE(evs[0].cookie, 0u);
    EXPECT_EQ(evs[0].cookie, evs[1].cookie);
  }
  // A second rename gets a new cookie.
  ASSERT_SYSCALL_SUCCEEDS(rename((b + "/g").c_str(), (b + "/h").c_str()));
  auto again = drain(fd);
  EXPECT_EVENTS(again, Ev{wb, IN_MOVED_FROM, 0, "g"}, Ev{wb, IN_MOVED_TO, 0, "h"}, Ev{wf, IN_MOVE_SELF, 0, ""});
  if (again.size() == 3 && evs.size() == 3) {
    EXPECT_EQ(again[0].cookie, again[1].cookie);
    EXPECT_NE(again[0].cookie, evs[0].cookie);
  }
  close(fd);
}

TEST(Inotify, DeleteSelfThenIgnored) {
  int fd = new_inotify();
  std::string file = tmp("f"), sub = tmp("sub");
  make_file(file);
  ASSERT_SYSCALL_SUCCEEDS(mkdir(sub.c_str(), 0755));
  int wf = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, file.c_str(), IN_ATTRIB | IN_DELETE_SELF));
  ASSERT_SYSCALL_SUCCEEDS(unlink(file.c_str()));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wf, IN_ATTRIB, 0, ""}, Ev{wf, IN_DELETE_SELF, 0, ""}, Ev{wf, IN_IGNORED, 0, ""});
  // The watch is gone.
  EXPECT_SYSCALL_FAILS_WITH(inotify_rm_watch(fd, wf), EINVAL);
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, sub.c_str(), IN_DELETE_SELF));
  ASSERT_SYSCALL_SUCCEEDS(rmdir(sub.c_str()));
  evs = drain(fd);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].wd, wd);
  EXPECT_EQ(evs[0].mask & ~static_cast<uint32_t>(IN_ISDIR), static_cast<uint32_t>(IN_DELETE_SELF));
  EXPECT_EQ(evs[1].mask, static_cast<uint32_t>(IN_IGNORED));
  close(fd);
}

TEST(Inotify, OneshotAndRmWatch) {
  int fd = new_inotify();
  std::string dir = temp_dir();
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_ONESHOT));
  make_file(tmp("a"));
  make_file(tmp("b"));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_CREATE, 0, "a"}, Ev{wd, IN_IGNORED, 0, ""});
  EXPECT_SYSCALL_FAILS_WITH(inotify_rm_watch(fd, wd), EINVAL);
  int wd2 = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  EXPECT_NE(wd2, wd);  // watch descriptors are not reused at once
  EXPECT_SYSCALL_SUCCEEDS(inotify_rm_watch(fd, wd2));
  make_file(tmp("c"));
  evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd2, IN_IGNORED, 0, ""});
  close(fd);
}

TEST(Inotify, MaskAddExtendsAndPlainAddReplaces) {
  int fd = new_inotify();
  std::string dir = temp_dir();
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  EXPECT_SYSCALL_SUCCEEDS_WITH(inotify_add_watch(fd, dir.c_str(), IN_DELETE | IN_MASK_ADD), wd);
  make_file(tmp("a"));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("a").c_str()));
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_CREATE, 0, "a"}, Ev{wd, IN_DELETE, 0, "a"});
  EXPECT_SYSCALL_SUCCEEDS_WITH(inotify_add_watch(fd, dir.c_str(), IN_DELETE), wd);
  make_file(tmp("b"));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("b").c_str()));
  evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_DELETE, 0, "b"});
  close(fd);
}

TEST(Inotify, ReadNeedsRoomForAWholeEvent) {
  int fd = new_inotify();
  std::string dir = temp_dir();
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  make_file(tmp("name"));
  int avail = 0;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(fd, FIONREAD, &avail));
  EXPECT_EQ(avail, static_cast<int>(sizeof(inotify_event) + 16));
  alignas(inotify_event) char buf[sizeof(inotify_event) + 16];
  EXPECT_SYSCALL_FAILS_WITH(read(fd, buf, sizeof(inotify_event)), EINVAL);
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), sizeof buf);
  auto* e = reinterpret_cast<inotify_event*>(buf);
  EXPECT_EQ(e->wd, wd);
  EXPECT_EQ(e->len, 16u);
  EXPECT_STREQ(e->name, "name");
  close(fd);
}

TEST(Inotify, IdenticalEventsCoalesce) {
  int fd = new_inotify();
  std::string file = tmp("f");
  make_file(file);
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, file.c_str(), IN_MODIFY));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(file.c_str(), O_WRONLY));
  for (int i = 0; i < 5; i++) ASSERT_SYSCALL_SUCCEEDS_WITH(write(w, "x", 1), 1);
  close(w);
  auto evs = drain(fd);
  EXPECT_EVENTS(evs, Ev{wd, IN_MODIFY, 0, ""});
  close(fd);
}

TEST(Inotify, PollAndEpollReadiness) {
  int fd = new_inotify();
  std::string dir = temp_dir();
  ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  struct pollfd pfd = {fd, POLLIN, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 0), 0);
  int ep = ASSERT_SYSCALL_SUCCEEDS(epoll_create1(EPOLL_CLOEXEC));
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  struct epoll_event out[2];
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, out, 2, 0), 0);
  make_file(tmp("a"));
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 1000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, out, 2, 1000), 1);
  EXPECT_EQ(out[0].data.fd, fd);
  drain(fd);
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&pfd, 1, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, out, 2, 0), 0);
  close(ep);
  close(fd);
}

TEST(Inotify, BlockingReadWakesForAnotherProcess) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(inotify_init1(IN_CLOEXEC));
  std::string dir = temp_dir();
  int wd = ASSERT_SYSCALL_SUCCEEDS(inotify_add_watch(fd, dir.c_str(), IN_CREATE));
  std::string path = tmp("late");
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    proc::sleep_ms(100);
    int f = open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    _exit(f >= 0 ? 0 : 1);
  }
  alarm(10);  // a missing wake-up fails the case instead of hanging the binary
  alignas(inotify_event) char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  alarm(0);
  EXPECT_EQ(proc::child_result(pid), 0);
  ASSERT_GE(n, static_cast<ssize_t>(sizeof(inotify_event)));
  auto* e = reinterpret_cast<inotify_event*>(buf);
  EXPECT_EQ(e->wd, wd);
  EXPECT_EQ(e->mask, static_cast<uint32_t>(IN_CREATE));
  EXPECT_STREQ(e->name, "late");
  close(fd);
}
