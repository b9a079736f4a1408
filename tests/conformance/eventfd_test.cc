// Conformance: eventfd(2) and eventfd2(2): the counter, semaphore mode,
// blocking and non-blocking reads and writes, readiness.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

// Closes the fd when the case ends.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  operator int() const { return fd; }
};

uint64_t read_counter(int fd) {
  uint64_t v = 0;
  if (read(fd, &v, sizeof v) != sizeof v) return ~0ULL;
  return v;
}

ssize_t add(int fd, uint64_t v) { return write(fd, &v, sizeof v); }

short revents_of(int fd, short events) {
  pollfd p{fd, events, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

volatile sig_atomic_t g_alarms;
void on_alarm(int) { g_alarms = g_alarms + 1; }

}  // namespace

TEST(Eventfd, InitialValueIsReadAndResets) {
  Fd fd(eventfd(5, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_EQ(read_counter(fd), 5u);
  uint64_t v;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &v, sizeof v), EAGAIN);
}

TEST(Eventfd, WritesAddUp) {
  Fd fd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 3), 8);
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 4), 8);
  EXPECT_EQ(read_counter(fd), 7u);
}

TEST(Eventfd, SemaphoreReadsOneAtATime) {
  Fd fd(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  for (int i = 0; i < 3; i++) EXPECT_EQ(read_counter(fd), 1u);
  uint64_t v;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &v, sizeof v), EAGAIN);
}

TEST(Eventfd, ShortBuffersAreEinval) {
  Fd fd(eventfd(1, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  uint32_t small = 1;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &small, sizeof small), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(write(fd, &small, sizeof small), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &small, 0), EINVAL);
  // Nothing was consumed.
  EXPECT_EQ(read_counter(fd), 1u);
}

TEST(Eventfd, LargerReadBufferStillReadsEightBytes) {
  Fd fd(eventfd(9, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  uint64_t buf[2] = {0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, buf, sizeof buf), 8);
  EXPECT_EQ(buf[0], 9u);
}

TEST(Eventfd, WritingAllOnesIsEinval) {
  Fd fd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_SYSCALL_FAILS_WITH(add(fd, ~0ULL), EINVAL);
}

TEST(Eventfd, OverflowWithoutWaitingIsEagain) {
  Fd fd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 0xfffffffffffffffeULL), 8);
  EXPECT_SYSCALL_FAILS_WITH(add(fd, 1), EAGAIN);
  // Writing zero never overflows.
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 0), 8);
  EXPECT_EQ(read_counter(fd), 0xfffffffffffffffeULL);
}

TEST(Eventfd, BadFlagsAreEinval) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_eventfd2, 0, 0x10), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_eventfd2, 0, O_RDWR), EINVAL);
}

TEST(Eventfd, FlagsShowInFcntl) {
  Fd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  int fl = fcntl(fd, F_GETFL);
  EXPECT_TRUE(fl & O_NONBLOCK);
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
  Fd plain(eventfd(0, 0));
  ASSERT_GE(plain.fd, 0);
  EXPECT_FALSE(fcntl(plain, F_GETFD) & FD_CLOEXEC);
  EXPECT_FALSE(fcntl(plain, F_GETFL) & O_NONBLOCK);
}

TEST(Eventfd, FsetflNonblockTakesEffect) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_SETFL, O_NONBLOCK));
  uint64_t v;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &v, sizeof v), EAGAIN);
}

TEST(Eventfd, LegacySyscallWorks) {
  Fd fd(static_cast<int>(syscall(SYS_eventfd, 2)));
  ASSERT_GE(fd.fd, 0);
  EXPECT_FALSE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(read_counter(fd), 2u);
}

TEST(Eventfd, DupSharesTheCounter) {
  Fd fd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  Fd copy(dup(fd));
  ASSERT_GE(copy.fd, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 11), 8);
  EXPECT_EQ(read_counter(copy), 11u);
}

TEST(Eventfd, PollReadiness) {
  Fd fd(eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(fd.fd, 0);
  EXPECT_EQ(revents_of(fd, POLLIN | POLLOUT), POLLOUT);
  add(fd, 1);
  EXPECT_EQ(revents_of(fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
  // At the maximum no write of 1 fits: not writable.
  add(fd, 0xfffffffffffffffdULL);
  EXPECT_EQ(revents_of(fd, POLLIN | POLLOUT), POLLIN);
  read_counter(fd);
  EXPECT_EQ(revents_of(fd, POLLIN | POLLOUT), POLLOUT);
}

TEST(Eventfd, BlockingReadWakesOnWriteFromAnotherProcess) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(50);
    uint64_t v = 42;
    return write(fd, &v, sizeof v) == 8 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  int64_t start = proc::now_ms();
  EXPECT_EQ(read_counter(fd), 42u);
  EXPECT_GE(proc::now_ms() - start, 30);
  EXPECT_EQ(proc::child_result(child), 0);
}

TEST(Eventfd, BlockingWriteWaitsForRoom) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(add(fd, 0xfffffffffffffffeULL));
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(50);
    uint64_t v;
    return read(fd, &v, sizeof v) == 8 && v == 0xfffffffffffffffeULL ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(add(fd, 5), 8);
  EXPECT_GE(proc::now_ms() - start, 30);
  EXPECT_EQ(proc::child_result(child), 0);
  EXPECT_EQ(read_counter(fd), 5u);
}

TEST(Eventfd, BlockingReadInterruptedByHandlerIsEintr) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  struct sigaction sa {}, old{};
  sa.sa_handler = on_alarm;  // no SA_RESTART
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGALRM, &sa, &old));
  g_alarms = 0;
  // Repeating, so that a loaded machine reaching read() late still sees one.
  itimerval it{};
  it.it_value.tv_usec = 30000;
  it.it_interval.tv_usec = 20000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  uint64_t v;
  EXPECT_SYSCALL_FAILS_WITH(read(fd, &v, sizeof v), EINTR);
  EXPECT_GE(g_alarms, 1);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
}

TEST(Eventfd, SaRestartRestartsABlockingRead) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  struct sigaction sa {}, old{};
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGALRM, &sa, &old));
  g_alarms = 0;
  itimerval it{};
  it.it_value.tv_usec = 30000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  pid_t child = proc::fork_child([&] {
    proc::sleep_ms(150);
    uint64_t v = 7;
    return write(fd, &v, sizeof v) == 8 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(read_counter(fd), 7u);
  EXPECT_EQ(g_alarms, 1);
  EXPECT_EQ(proc::child_result(child), 0);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
}

TEST(Eventfd, ProcFdLinkNamesIt) {
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  char path[64], target[128] = {};
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd.fd);
  ASSERT_SYSCALL_SUCCEEDS(readlink(path, target, sizeof target - 1));
  EXPECT_STREQ(target, "anon_inode:[eventfd]");
}

TEST(Eventfd, LseekIsAccepted) {
  // eventfd uses noop_llseek: the position stays 0.
  Fd fd(eventfd(0, 0));
  ASSERT_GE(fd.fd, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 0);
}
