// Conformance: prlimit64(2), getrlimit(2), setrlimit(2).
#include <climits>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "harness.h"

namespace {
struct Rlim64 {
  uint64_t cur, max;
};
long raw_prlimit(pid_t pid, unsigned resource, const Rlim64* new_limit, Rlim64* old_limit) {
  return syscall(SYS_prlimit64, pid, resource, new_limit, old_limit);
}
// Restores a limit when a case ends, whatever the outcome.
struct SavedLimit {
  int resource;
  rlimit saved;
  explicit SavedLimit(int r) : resource(r) { getrlimit(r, &saved); }
  ~SavedLimit() { setrlimit(resource, &saved); }
};
}  // namespace

TEST(Getrlimit, EveryResourceIsReadable) {
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    rlimit l;
    EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_getrlimit, r, &l), 0);
    EXPECT_TRUE(l.rlim_cur <= l.rlim_max);
  }
}

TEST(Getrlimit, ResourceOutOfRangeIsEinval) {
  rlimit l;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrlimit, RLIM_NLIMITS, &l), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrlimit, 1000, &l), EINVAL);
}

TEST(Getrlimit, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrlimit, RLIMIT_NOFILE, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Prlimit, SelfMatchesGetrlimit) {
  rlimit l;
  Rlim64 p;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &l));
  ASSERT_SYSCALL_SUCCEEDS(raw_prlimit(0, RLIMIT_NOFILE, nullptr, &p));
  EXPECT_EQ(p.cur, l.rlim_cur);
  EXPECT_EQ(p.max, l.rlim_max);
  Rlim64 q;
  ASSERT_SYSCALL_SUCCEEDS(raw_prlimit(getpid(), RLIMIT_NOFILE, nullptr, &q));
  EXPECT_EQ(q.cur, p.cur);
}

TEST(Prlimit, BothPointersNullSucceeds) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prlimit(0, RLIMIT_STACK, nullptr, nullptr), 0);
}

TEST(Prlimit, LowerSoftLimitThenReadBack) {
  SavedLimit guard(RLIMIT_NOFILE);
  Rlim64 old;
  ASSERT_SYSCALL_SUCCEEDS(raw_prlimit(0, RLIMIT_NOFILE, nullptr, &old));
  Rlim64 want{64, old.max};
  Rlim64 prev;
  ASSERT_SYSCALL_SUCCEEDS(raw_prlimit(0, RLIMIT_NOFILE, &want, &prev));
  EXPECT_EQ(prev.cur, old.cur);
  EXPECT_EQ(prev.max, old.max);
  rlimit now;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &now));
  EXPECT_EQ(now.rlim_cur, 64u);
  EXPECT_EQ(now.rlim_max, old.max);
}

TEST(Setrlimit, SoftAboveHardIsEinval) {
  SavedLimit guard(RLIMIT_CORE);
  rlimit cur;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &cur));
  rlimit bad{cur.rlim_max, cur.rlim_max - 1};
  EXPECT_SYSCALL_FAILS_WITH(setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
  Rlim64 bad64{100, 10};
  EXPECT_SYSCALL_FAILS_WITH(raw_prlimit(0, RLIMIT_CORE, &bad64, nullptr), EINVAL);
  rlimit after;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &after));
  EXPECT_EQ(after.rlim_cur, cur.rlim_cur);
}

TEST(Setrlimit, ResourceOutOfRangeIsEinval) {
  rlimit l{1, 1};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_setrlimit, RLIM_NLIMITS, &l), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_prlimit(0, 99, nullptr, nullptr), EINVAL);
}

TEST(Setrlimit, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_setrlimit, RLIMIT_CORE, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Setrlimit, LowerAndRaiseSoftCoreLimit) {
  SavedLimit guard(RLIMIT_CORE);
  rlimit cur;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &cur));
  rlimit zero{0, cur.rlim_max};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_CORE, &zero));
  rlimit got;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &got));
  EXPECT_EQ(got.rlim_cur, 0u);
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_CORE, &cur));
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &got));
  EXPECT_EQ(got.rlim_cur, cur.rlim_cur);
}

TEST(Prlimit, NonexistentPidIsEsrch) {
  Rlim64 l;
  EXPECT_SYSCALL_FAILS_WITH(raw_prlimit(INT_MAX, RLIMIT_NOFILE, nullptr, &l), ESRCH);
}

TEST(Prlimit, BadNewPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prlimit(0, RLIMIT_CORE, reinterpret_cast<Rlim64*>(8), nullptr), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_prlimit(0, RLIMIT_CORE, nullptr, reinterpret_cast<Rlim64*>(8)), EFAULT);
}

TEST(Prlimit, LoweredNofileLimitBoundsNewDescriptors) {
  SavedLimit guard(RLIMIT_NOFILE);
  rlimit l;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &l));
  rlimit low{32, l.rlim_max};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_NOFILE, &low));
  EXPECT_SYSCALL_FAILS_WITH(dup2(0, 40), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(0, F_DUPFD, 40), EINVAL);
}

TEST(Prlimit, RootMayRaiseTheHardLimit) {
  SKIP_IF(prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE) != 1, "needs CAP_SYS_RESOURCE");
  SavedLimit guard(RLIMIT_CORE);
  rlimit cur;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &cur));
  SKIP_IF(cur.rlim_max < 4096, "hard limit too low to test");
  rlimit lower{1024, 2048};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_CORE, &lower));
  rlimit raised{1024, 4096};
  EXPECT_SYSCALL_SUCCEEDS_WITH(setrlimit(RLIMIT_CORE, &raised), 0);
  rlimit got;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &got));
  EXPECT_EQ(got.rlim_max, 4096u);
}

// Regression: each guest file the host backs costs the sentry a host fd,
// and the sentry's RLIMIT_NOFILE was the one it gave the guest, so a guest
// met EMFILE below its own limit (CPython's test_above_fd_setsize). A
// process can hold as many fds as its hard limit allows (up to 64 Ki here,
// to stay quick).
TEST(Setrlimit, NofileHardLimitIsReachable) {
  SavedLimit guard(RLIMIT_NOFILE);
  rlimit l;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &l));
  rlimit all{l.rlim_max, l.rlim_max};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_NOFILE, &all));
  constexpr rlim_t kMaxTried = 64 * 1024;
  long want = static_cast<long>(std::min(l.rlim_max, kMaxTried)) - 32;
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(want));
  int error = 0;
  for (long i = 0; i < want; i++) {
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0) {
      error = errno;
      break;
    }
    fds.push_back(fd);
  }
  size_t opened = fds.size();
  for (int fd : fds) close(fd);
  EXPECT_EQ(error, 0);
  EXPECT_EQ(opened, static_cast<size_t>(want));
}
