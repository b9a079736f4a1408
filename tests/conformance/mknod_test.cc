// Conformance: mknod(2), mknodat(2), mkfifo(3) and opening FIFOs.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

// Waits for pid for at most 10 s (then kills it); returns its wait status.
int reap(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

TEST(Mknod, FifoHasTheTypeAndModeMinusUmask) {
  mode_t old = umask(022);
  int r = mknod(tmp("p").c_str(), S_IFIFO | 0666, 0);
  umask(old);
  ASSERT_SYSCALL_SUCCEEDS(r);
  EXPECT_EQ(mode_of(tmp("p")), static_cast<mode_t>(S_IFIFO | 0644));
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("q").c_str(), 0600));
  EXPECT_TRUE(S_ISFIFO(mode_of(tmp("q"))));
  auto entries = list_dir(conformance::temp_dir());
  const Dirent* e = find_entry(entries, "q");
  ASSERT_TRUE(e != nullptr);
  EXPECT_EQ(e->type, DT_FIFO);
}

TEST(Mknod, RegularFiles) {
  ASSERT_SYSCALL_SUCCEEDS(mknod(tmp("a").c_str(), 0640, 0));
  EXPECT_EQ(mode_of(tmp("a")), static_cast<mode_t>(S_IFREG | 0640));
  ASSERT_SYSCALL_SUCCEEDS(mknod(tmp("b").c_str(), S_IFREG | 0600, 0));
  EXPECT_EQ(mode_of(tmp("b")), static_cast<mode_t>(S_IFREG | 0600));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("b").c_str(), &st));
  EXPECT_EQ(st.st_size, 0);
}

TEST(Mknod, SocketNodeCannotBeOpened) {
  ASSERT_SYSCALL_SUCCEEDS(mknod(tmp("s").c_str(), S_IFSOCK | 0600, 0));
  EXPECT_TRUE(S_ISSOCK(mode_of(tmp("s"))));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("s").c_str(), O_RDONLY), ENXIO);
}

TEST(Mknod, BadTypesAndExistingNames) {
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("d").c_str(), S_IFDIR | 0755, 0), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("x").c_str(), 0170000 | 0644, 0), EINVAL);
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("f").c_str(), S_IFIFO | 0644, 0), EEXIST);
  // The type is checked before the path.
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("f").c_str(), S_IFDIR | 0644, 0), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("nodir/p").c_str(), S_IFIFO | 0644, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(mknod(bad_path(), S_IFIFO | 0644, 0), EFAULT);
}

TEST(Mknod, DeviceNodesNeedPrivilege) {
  ASSERT_SYSCALL_SUCCEEDS(chmod(conformance::temp_dir().c_str(), 0777));
  std::string path = tmp("null");
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(100);
    if (mknod(path.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) _exit(1);
    _exit(errno == EPERM ? 0 : 2);
  }
  EXPECT_EQ(reap(pid), 0);
}

TEST(Mknod, TheSandboxMakesNoDeviceNodes) {
  SKIP_IF(!conformance::running_in_moat(), "root makes device nodes natively");
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("null").c_str(), S_IFCHR | 0600, makedev(1, 3)), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(mknod(tmp("blk").c_str(), S_IFBLK | 0600, makedev(8, 0)), EPERM);
}

TEST(Mknodat, RelativeToDirfd) {
  make_dir(tmp("d"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(mknodat(dir, "p", S_IFIFO | 0600, 0));
  EXPECT_TRUE(S_ISFIFO(mode_of(tmp("d/p"))));
  EXPECT_SYSCALL_FAILS_WITH(mknodat(9999, "p", S_IFIFO | 0600, 0), EBADF);
  close(dir);
}

TEST(Fifo, NonblockingWriterWithoutReaderIsEnxio) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  EXPECT_SYSCALL_FAILS_WITH(open(tmp("p").c_str(), O_WRONLY | O_NONBLOCK), ENXIO);
}

TEST(Fifo, DataPassesBetweenDescriptions) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  int r = ASSERT_SYSCALL_SUCCEEDS(open(tmp("p").c_str(), O_RDONLY | O_NONBLOCK));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(tmp("p").c_str(), O_WRONLY | O_NONBLOCK));
  char buf[16] = {};
  EXPECT_SYSCALL_FAILS_WITH(read(r, buf, sizeof buf), EAGAIN);
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(w, "hello", 5), 5);
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(r, buf, sizeof buf), 5);
  EXPECT_STREQ(std::string(buf, 5), "hello");
  EXPECT_SYSCALL_FAILS_WITH(lseek(r, 0, SEEK_SET), ESPIPE);
  // The last writer gone: end of file.
  close(w);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(r, buf, sizeof buf), 0);
  close(r);
}

TEST(Fifo, WriterGetsEpipeOnceTheReaderHasGone) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  int r = ASSERT_SYSCALL_SUCCEEDS(open(tmp("p").c_str(), O_RDONLY | O_NONBLOCK));
  int w = ASSERT_SYSCALL_SUCCEEDS(open(tmp("p").c_str(), O_WRONLY));
  close(r);
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  EXPECT_SYSCALL_FAILS_WITH(write(w, "x", 1), EPIPE);
  sigaction(SIGPIPE, &old, nullptr);
  close(w);
}

TEST(Fifo, ReadWriteOpenNeverBlocks) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("p").c_str(), O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "ab", 2), 2);
  char buf[4] = {};
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 2);
  EXPECT_STREQ(std::string(buf, 2), "ab");
  close(fd);
}

TEST(Fifo, BlockingOpensMeetAcrossProcesses) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  std::string path = tmp("p");
  // The writer opens first and blocks until the reader comes.
  pid_t writer = fork();
  if (writer == 0) {
    alarm(10);
    int w = open(path.c_str(), O_WRONLY);
    if (w < 0) _exit(1);
    if (write(w, "from the writer", 15) != 15) _exit(2);
    _exit(0);
  }
  usleep(50000);
  int r = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDONLY));
  std::string got = read_all(r);  // until the writer's exit closes its end
  close(r);
  EXPECT_STREQ(got, "from the writer");
  EXPECT_EQ(reap(writer), 0);
}

TEST(Fifo, BlockingReaderWaitsForAWriter) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  std::string path = tmp("p");
  // The reader opens first; it must not see end of file before the writer.
  pid_t reader = fork();
  if (reader == 0) {
    alarm(10);
    int r = open(path.c_str(), O_RDONLY);
    if (r < 0) _exit(1);
    char buf[32];
    ssize_t n = read(r, buf, sizeof buf);
    if (n != 6 || memcmp(buf, "later!", 6) != 0) _exit(2);
    _exit(0);
  }
  usleep(100000);
  int w = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_WRONLY));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(w, "later!", 6), 6);
  EXPECT_EQ(reap(reader), 0);
  close(w);
}

// The wait is in open(2) itself: a blocking reader's open returns only
// after a writer has opened (the writer tells a pipe first, then opens).
TEST(Fifo, BlockingOpenReturnsAfterTheOtherSideOpens) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  std::string path = tmp("p");
  int told[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(told, O_NONBLOCK));
  pid_t writer = fork();
  if (writer == 0) {
    alarm(10);
    usleep(100000);
    if (write(told[1], "w", 1) != 1) _exit(1);
    int w = open(path.c_str(), O_WRONLY);
    _exit(w < 0 ? 2 : 0);
  }
  close(told[1]);
  int r = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDONLY));
  char c = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(told[0], &c, 1), 1);
  close(r);
  close(told[0]);
  EXPECT_EQ(reap(writer), 0);
}

namespace {
void on_alarm(int) {}
}  // namespace

// A signal ends a blocking open's wait: EINTR without SA_RESTART, and the
// FIFO is as it was.
TEST(Fifo, SignalInterruptsABlockingOpen) {
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("p").c_str(), 0600));
  std::string path = tmp("p");
  struct sigaction sa {}, old {};
  sa.sa_handler = on_alarm;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGALRM, &sa, &old));
  alarm(1);
  EXPECT_SYSCALL_FAILS_WITH(open(path.c_str(), O_RDONLY), EINTR);
  alarm(1);
  EXPECT_SYSCALL_FAILS_WITH(open(path.c_str(), O_WRONLY), EINTR);
  alarm(0);
  sigaction(SIGALRM, &old, nullptr);
  int rw = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(rw, "x", 1), 1);
  char c = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(rw, &c, 1), 1);
  close(rw);
}
