// Conformance: sched_getaffinity(2), sched_yield(2), getcpu(2) and the
// scheduling-policy queries.
#include <climits>
#include <sched.h>
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
