// Conformance: sched_getaffinity(2), sched_yield(2), getcpu(2) and the
// scheduling-policy queries.
#include <climits>
#include <cstdio>
#include <ctime>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

TEST(SchedGetaffinity, ReportsAtLeastOneCpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof set, &set));
  EXPECT_GE(CPU_COUNT(&set), 1);
}

TEST(SchedGetaffinity, RawSyscallReturnsTheMaskSize) {
  cpu_set_t set;
  long n = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
  ASSERT_GT(n, 0);
  EXPECT_EQ(n % 8, 0);
  EXPECT_LE(n, static_cast<long>(sizeof set));
}

TEST(SchedGetaffinity, SelfByPidOrTidMatches) {
  cpu_set_t a, b;
  CPU_ZERO(&a);
  CPU_ZERO(&b);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof a, &a));
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(getpid(), sizeof b, &b));
  EXPECT_TRUE(CPU_EQUAL(&a, &b));
}

TEST(SchedGetaffinity, SmallBufferIsEinval) {
  cpu_set_t set;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 0, &set), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 9, &set), EINVAL);
}

TEST(SchedGetaffinity, NonexistentPidIsEsrch) {
  cpu_set_t set;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, INT_MAX, sizeof set, &set), ESRCH);
}

TEST(SchedGetaffinity, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, sizeof(cpu_set_t), reinterpret_cast<void*>(8)), EFAULT);
}

TEST(SchedYield, Succeeds) {
  for (int i = 0; i < 10; i++) EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_sched_yield), 0);
}

TEST(Getcpu, CpuIsInTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof set, &set));
  unsigned cpu = UINT_MAX, node = UINT_MAX;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_getcpu, &cpu, &node, nullptr));
  EXPECT_LT(cpu, static_cast<unsigned>(CPU_SETSIZE));
  EXPECT_TRUE(CPU_ISSET(cpu, &set));
  EXPECT_NE(node, UINT_MAX);
}

TEST(Getcpu, NullArgumentsAreAllowed) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_getcpu, nullptr, nullptr, nullptr), 0);
  unsigned cpu;
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_getcpu, &cpu, nullptr, nullptr), 0);
}

TEST(Getcpu, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getcpu, reinterpret_cast<void*>(8), nullptr, nullptr), EFAULT);
}

TEST(SchedPolicy, DefaultPolicyIsOther) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_OTHER);
}

TEST(SchedPolicy, PriorityRanges) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_get_priority_max(SCHED_FIFO), 99);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_get_priority_min(SCHED_FIFO), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_get_priority_max(SCHED_OTHER), 0);
  EXPECT_SYSCALL_FAILS_WITH(sched_get_priority_max(12345), EINVAL);
}

TEST(SchedPolicy, GetparamOfSelfIsZero) {
  sched_param p{-1};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getparam(0, &p), 0);
  EXPECT_EQ(p.sched_priority, 0);
}

// ---- sched_setaffinity ----

namespace {
// Restores the calling thread's CPU mask when a case ends.
struct SavedAffinity {
  cpu_set_t set;
  SavedAffinity() {
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
  }
  ~SavedAffinity() { sched_setaffinity(0, sizeof set, &set); }
};

// Restores the calling thread's policy and priority when a case ends.
struct SavedPolicy {
  int policy;
  sched_param param{};
  SavedPolicy() : policy(sched_getscheduler(0)) { sched_getparam(0, &param); }
  ~SavedPolicy() { sched_setscheduler(0, policy, &param); }
};
}  // namespace

TEST(SchedSetaffinity, RoundTripsOneCpu) {
  SavedAffinity saved;
  int first = -1;
  for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
    if (CPU_ISSET(i, &saved.set)) first = i;
  ASSERT_GE(first, 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setaffinity(0, sizeof one, &one), 0);
  cpu_set_t got;
  CPU_ZERO(&got);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof got, &got));
  EXPECT_TRUE(CPU_EQUAL(&got, &one));
  // By tid too.
  CPU_ZERO(&got);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(static_cast<pid_t>(syscall(SYS_gettid)), sizeof got, &got));
  EXPECT_TRUE(CPU_EQUAL(&got, &one));
  // Back to everything.
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setaffinity(0, sizeof saved.set, &saved.set), 0);
  CPU_ZERO(&got);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof got, &got));
  EXPECT_TRUE(CPU_EQUAL(&got, &saved.set));
}

TEST(SchedSetaffinity, CpusBeyondTheMachineAreDropped) {
  SavedAffinity saved;
  cpu_set_t set = saved.set;
  CPU_SET(CPU_SETSIZE - 1, &set);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setaffinity(0, sizeof set, &set), 0);
  cpu_set_t got;
  CPU_ZERO(&got);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof got, &got));
  EXPECT_TRUE(CPU_EQUAL(&got, &saved.set));
}

TEST(SchedSetaffinity, EmptyMaskIsEinval) {
  SavedAffinity saved;
  cpu_set_t none;
  CPU_ZERO(&none);
  EXPECT_SYSCALL_FAILS_WITH(sched_setaffinity(0, sizeof none, &none), EINVAL);
  // Only CPUs that do not exist: empty once masked with the online CPUs.
  cpu_set_t absent;
  CPU_ZERO(&absent);
  CPU_SET(CPU_SETSIZE - 1, &absent);
  EXPECT_SYSCALL_FAILS_WITH(sched_setaffinity(0, sizeof absent, &absent), EINVAL);
  // A zero-length mask is empty too.
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setaffinity, 0, 0, &saved.set), EINVAL);
}

TEST(SchedSetaffinity, BadPointerAndPidFail) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setaffinity, 0, sizeof(cpu_set_t), reinterpret_cast<void*>(8)), EFAULT);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  EXPECT_SYSCALL_FAILS_WITH(sched_setaffinity(INT_MAX, sizeof set, &set), ESRCH);
}

// ---- scheduling policies ----

TEST(SchedSetscheduler, BatchAndIdleRoundTrip) {
  SavedPolicy saved;
  sched_param p{0};
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_BATCH, &p), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_BATCH);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_IDLE, &p), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_IDLE);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(getpid()), SCHED_IDLE);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &p), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_OTHER);
}

TEST(SchedSetscheduler, ResetOnForkFlagIsReported) {
  SavedPolicy saved;
  sched_param p{0};
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &p), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_BATCH | SCHED_RESET_ON_FORK);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &p), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_OTHER);
}

TEST(SchedSetscheduler, InvalidArgumentsAreEinval) {
  SavedPolicy saved;
  sched_param p{0};
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, 12345, &p), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(-1, SCHED_OTHER, &p), EINVAL);
  // Non-real-time policies take priority 0 only; real-time ones 1..99.
  sched_param five{5};
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, SCHED_OTHER, &five), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, SCHED_BATCH, &five), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, SCHED_FIFO, &p), EINVAL);
  sched_param high{100};
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, SCHED_RR, &high), EINVAL);
  // SCHED_DEADLINE needs sched_setattr.
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(0, 6, &p), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setscheduler(INT_MAX, SCHED_OTHER, &p), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, reinterpret_cast<void*>(8)), EFAULT);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), saved.policy);
}

TEST(SchedSetscheduler, RealTimeAsRoot) {
  SKIP_IF(geteuid() != 0, "needs root");
  SavedPolicy saved;
  sched_param p{1};
  int r = sched_setscheduler(0, SCHED_FIFO, &p);
  SKIP_IF(r == -1 && errno == EPERM, "no CAP_SYS_NICE here");
  ASSERT_SYSCALL_SUCCEEDS_WITH(r, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_FIFO);
  sched_param got{-1};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getparam(0, &got), 0);
  EXPECT_EQ(got.sched_priority, 1);
  // sched_setparam keeps the policy and changes the priority.
  sched_param two{2};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_setparam(0, &two), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getparam(0, &got), 0);
  EXPECT_EQ(got.sched_priority, 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_FIFO);
  sched_param zero{0};
  EXPECT_SYSCALL_FAILS_WITH(sched_setparam(0, &zero), EINVAL);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_getscheduler(0), SCHED_OTHER);
}

TEST(SchedSetscheduler, RealTimeWithoutPrivilegeIsEperm) {
  SKIP_IF(geteuid() != 0, "needs root to drop privileges");
  pid_t child = fork();
  ASSERT_SYSCALL_SUCCEEDS(child);
  if (child == 0) {
    rlimit none{0, 0};
    if (setrlimit(RLIMIT_RTPRIO, &none) != 0) _exit(2);
    if (setuid(65534) != 0) _exit(3);
    sched_param p{1};
    if (sched_setscheduler(0, SCHED_FIFO, &p) != -1 || errno != EPERM) _exit(4);
    if (sched_setscheduler(0, SCHED_RR, &p) != -1 || errno != EPERM) _exit(5);
    // Non-real-time policies need no privilege.
    sched_param zero{0};
    if (sched_setscheduler(0, SCHED_BATCH, &zero) != 0) _exit(6);
    if (sched_setscheduler(0, SCHED_OTHER, &zero) != 0) _exit(7);
    _exit(0);
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SchedSetparam, NonRealTimeTakesZeroOnly) {
  SavedPolicy saved;
  sched_param zero{0};
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_setparam(0, &zero), 0);
  sched_param one{1};
  EXPECT_SYSCALL_FAILS_WITH(sched_setparam(0, &one), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setparam, 0, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setparam(-1, &zero), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_setparam(INT_MAX, &zero), ESRCH);
}

TEST(SchedGetparam, InvalidArgumentsFail) {
  sched_param p;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getparam, 0, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_getparam(-1, &p), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_getparam(INT_MAX, &p), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(sched_getscheduler(-1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sched_getscheduler(INT_MAX), ESRCH);
}

TEST(Getcpu, CpuIsBelowTheProcessorCount) {
  unsigned cpu = UINT_MAX;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_getcpu, &cpu, nullptr, nullptr));
  EXPECT_LT(static_cast<long>(cpu), sysconf(_SC_NPROCESSORS_CONF));
  EXPECT_GE(sched_getcpu(), 0);
}

namespace {
// Runs body in a forked child (so nice changes stay there); body returns the
// exit code, 0 for success.
int in_child(int (*body)()) {
  pid_t child = fork();
  if (child == 0) _exit(body());
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}
}  // namespace

TEST(Priority, RawGetpriorityIsTwentyMinusNice) {
  // The raw call returns 20 - nice so that it is never negative.
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_getpriority, PRIO_PROCESS, 0), 20 - nice);
}

TEST(Priority, SetpriorityRaisesNiceAndIsClamped) {
  EXPECT_EQ(in_child([] {
              if (setpriority(PRIO_PROCESS, 0, 5) != 0) return 1;
              errno = 0;
              if (getpriority(PRIO_PROCESS, 0) != 5 || errno) return 2;
              if (getpriority(PRIO_PROCESS, getpid()) != 5) return 3;
              if (setpriority(PRIO_PROCESS, 0, 100) != 0) return 4;  // clamped to 19
              if (getpriority(PRIO_PROCESS, 0) != 19) return 5;
              if (setpriority(PRIO_PGRP, 0, 10) != 0) return 6;
              if (getpriority(PRIO_PGRP, 0) != 10) return 7;
              return 0;
            }),
            0);
}

TEST(Priority, NiceIsInheritedAcrossFork) {
  EXPECT_EQ(in_child([] {
              if (setpriority(PRIO_PROCESS, 0, 7) != 0) return 1;
              pid_t grandchild = fork();
              if (grandchild == 0) _exit(getpriority(PRIO_PROCESS, 0) == 7 ? 0 : 1);
              int status = 0;
              if (waitpid(grandchild, &status, 0) != grandchild) return 2;
              return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 3;
            }),
            0);
}

TEST(Priority, LoweringNiceWithoutPrivilegeIsEacces) {
  SKIP_IF(geteuid() != 0, "needs root to drop privileges");
  EXPECT_EQ(in_child([] {
              rlimit none{0, 0};
              if (setrlimit(RLIMIT_NICE, &none) != 0) return 1;
              if (setpriority(PRIO_PROCESS, 0, 10) != 0) return 2;
              if (setuid(65534) != 0) return 3;
              if (setpriority(PRIO_PROCESS, 0, 15) != 0) return 4;  // raising is free
              if (setpriority(PRIO_PROCESS, 0, 5) != -1 || errno != EACCES) return 5;
              if (setpriority(PRIO_PROCESS, 1, 19) != -1 || errno != EPERM) return 6;  // root's init
              return 0;
            }),
            0);
}

TEST(Priority, BadArgumentsFail) {
  EXPECT_SYSCALL_FAILS_WITH(getpriority(static_cast<__priority_which_t>(7), 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(setpriority(static_cast<__priority_which_t>(-1), 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(getpriority(PRIO_PROCESS, 999999), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(setpriority(PRIO_PROCESS, 999999, 0), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(getpriority(PRIO_PGRP, 999999), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(getpriority(PRIO_USER, 54321), ESRCH);
}

TEST(Priority, ResetOnForkGivesTheChildNiceZero) {
  EXPECT_EQ(in_child([] {
              if (setpriority(PRIO_PROCESS, 0, -5) != 0) return 1;
              sched_param p{0};
              if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p) != 0) return 2;
              pid_t grandchild = fork();
              if (grandchild == 0)
                _exit(getpriority(PRIO_PROCESS, 0) == 0 && sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
              int status = 0;
              if (waitpid(grandchild, &status, 0) != grandchild) return 3;
              return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 4;
            }),
            0);
}

// ---- sched_rr_get_interval ----

namespace {
// The host's SCHED_RR quantum as the guest reads it, in nanoseconds.
long long rr_timeslice_ns() {
  long long ms = -1;
  if (FILE* f = fopen("/proc/sys/kernel/sched_rr_timeslice_ms", "re")) {
    if (fscanf(f, "%lld", &ms) != 1) ms = -1;
    fclose(f);
  }
  return ms * 1000000;
}
}  // namespace

TEST(SchedRrGetInterval, FairPoliciesGetLessThanASecond) {
  SavedPolicy saved;
  for (int policy : {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE}) {
    sched_param p{0};
    ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, policy, &p), 0);
    timespec ts{-1, -1};
    EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_sched_rr_get_interval, 0, &ts), 0);
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_GE(ts.tv_nsec, 0);
  }
  sched_param zero{0};
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
  timespec self{-1, -1}, by_pid{-2, -2};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_rr_get_interval(0, &self), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sched_rr_get_interval(getpid(), &by_pid), 0);
  EXPECT_EQ(self.tv_sec, by_pid.tv_sec);
}

TEST(SchedRrGetInterval, RoundRobinGetsTheSysctlQuantumAndFifoNone) {
  SKIP_IF(geteuid() != 0, "needs root");
  SavedPolicy saved;
  sched_param one{1};
  int r = sched_setscheduler(0, SCHED_RR, &one);
  SKIP_IF(r == -1 && errno == EPERM, "no CAP_SYS_NICE here");
  ASSERT_SYSCALL_SUCCEEDS_WITH(r, 0);
  timespec ts{-1, -1};
  long rr = syscall(SYS_sched_rr_get_interval, 0, &ts);
  // Back to a fair policy before anything else runs at real-time priority.
  sched_param zero{0};
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(rr, 0);
  long long want = rr_timeslice_ns();
  ASSERT_GT(want, 0);
  EXPECT_EQ(ts.tv_sec * 1000000000LL + ts.tv_nsec, want);

  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_FIFO, &one), 0);
  ts = {-1, -1};
  long fifo = syscall(SYS_sched_rr_get_interval, 0, &ts);
  ASSERT_SYSCALL_SUCCEEDS_WITH(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fifo, 0);
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
}

TEST(SchedRrGetInterval, ErrorsAreEinvalThenEsrchThenEfault) {
  timespec ts;
  void* bad = reinterpret_cast<void*>(8);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_rr_get_interval, -1, &ts), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_rr_get_interval, -1, bad), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_rr_get_interval, INT_MAX, &ts), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_rr_get_interval, INT_MAX, bad), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_rr_get_interval, 0, bad), EFAULT);
}

// Regression: CPython's test_sched_getaffinity expects OSError for pid -1;
// an EINVAL there made posix.sched_getaffinity grow its buffer until it
// overflowed. find_process_by_pid() finds no negative pid: ESRCH, while the
// calls that check the pid first say EINVAL.
TEST(SchedGetaffinity, NegativePidIsEsrch) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_SYSCALL_SUCCEEDS(sched_getaffinity(0, sizeof set, &set));
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_getaffinity, -1, sizeof set, &set), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sched_setaffinity, -1, sizeof set, &set), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(sched_getscheduler(-1), EINVAL);
  sched_param p{0};
  EXPECT_SYSCALL_FAILS_WITH(sched_getparam(-1, &p), EINVAL);
}
