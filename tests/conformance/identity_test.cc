// Conformance: getpid(2), gettid(2), getppid(2), the uid/gid getters,
// getgroups(2), getpgid(2), getsid(2), sysinfo(2), getrusage(2).
#include <grp.h>

#include <climits>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

TEST(Identity, GettidEqualsGetpidInASingleThreadedProcess) {
  EXPECT_EQ(syscall(SYS_gettid), syscall(SYS_getpid));
  EXPECT_EQ(gettid(), getpid());
}

TEST(Identity, PidIsStable) {
  pid_t a = static_cast<pid_t>(syscall(SYS_getpid));
  EXPECT_GT(a, 0);
  EXPECT_EQ(syscall(SYS_getpid), a);
}

TEST(Identity, ProcSelfNamesThisProcess) {
  char buf[64] = {};
  ASSERT_SYSCALL_SUCCEEDS(readlink("/proc/self", buf, sizeof buf - 1));
  EXPECT_EQ(atoi(buf), getpid());
}

TEST(Identity, ProcSelfStatAgreesWithGetters) {
  std::string stat = read_whole_file("/proc/self/stat");
  int pid = 0, ppid = 0;
  size_t close_paren = stat.rfind(')');
  ASSERT_TRUE(close_paren != std::string::npos);
  pid = atoi(stat.c_str());
  char state = 0;
  ASSERT_EQ(sscanf(stat.c_str() + close_paren + 1, " %c %d", &state, &ppid), 2);
  EXPECT_EQ(pid, getpid());
  EXPECT_EQ(ppid, getppid());
}

TEST(Identity, GetppidIsNotSelf) {
  EXPECT_NE(getppid(), getpid());
  EXPECT_GE(getppid(), 0);
}

TEST(Identity, GetresuidMatchesTheSingleGetters) {
  uid_t r, e, s;
  ASSERT_SYSCALL_SUCCEEDS(getresuid(&r, &e, &s));
  EXPECT_EQ(r, getuid());
  EXPECT_EQ(e, geteuid());
  gid_t gr, ge, gs;
  ASSERT_SYSCALL_SUCCEEDS(getresgid(&gr, &ge, &gs));
  EXPECT_EQ(gr, getgid());
  EXPECT_EQ(ge, getegid());
}

TEST(Identity, GetresuidBadPointerIsEfault) {
  uid_t a, b;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getresuid, &a, &b, reinterpret_cast<void*>(8)), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getresgid, reinterpret_cast<void*>(8), &a, &b), EFAULT);
}

TEST(Identity, ProcSelfStatusUidLineMatches) {
  std::string status = read_whole_file("/proc/self/status");
  size_t at = status.find("\nUid:");
  ASSERT_TRUE(at != std::string::npos);
  unsigned r = 0, e = 0;
  ASSERT_EQ(sscanf(status.c_str() + at, "\nUid: %u %u", &r, &e), 2);
  EXPECT_EQ(r, getuid());
  EXPECT_EQ(e, geteuid());
}

TEST(Identity, GetgroupsCountThenFill) {
  int n = ASSERT_SYSCALL_SUCCEEDS(getgroups(0, nullptr));
  EXPECT_GE(n, 0);
  gid_t groups[256];
  EXPECT_SYSCALL_SUCCEEDS_WITH(getgroups(256, groups), n);
}

TEST(Identity, GetgroupsNegativeSizeIsEinval) {
  gid_t g[1];
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getgroups, -1, g), EINVAL);
}

TEST(Identity, ProcessGroupAndSessionOfSelf) {
  EXPECT_EQ(getpgid(0), getpgrp());
  EXPECT_EQ(getpgid(getpid()), getpgrp());
  // The session leader may live in an ancestor pid namespace (CI containers
  // do this), in which case Linux reports the session as 0.
  EXPECT_GE(getsid(0), 0);
  EXPECT_EQ(getsid(getpid()), getsid(0));
}

TEST(Identity, SetsidInAChildMakesItTheLeader) {
  pid_t child = fork();
  if (child == 0) {
    pid_t sid = setsid();
    bool ok = sid == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
    // A session leader cannot start another session.
    ok = ok && setsid() == -1 && errno == EPERM;
    _exit(ok ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Identity, NonexistentPidIsEsrch) {
  EXPECT_SYSCALL_FAILS_WITH(getpgid(INT_MAX), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(getsid(INT_MAX), ESRCH);
}

TEST(Sysinfo, ReportsPlausibleValues) {
  struct sysinfo si;
  ASSERT_SYSCALL_SUCCEEDS(sysinfo(&si));
  EXPECT_GT(si.totalram, 0u);
  EXPECT_LE(si.freeram, si.totalram);
  EXPECT_GE(si.mem_unit, 1u);
  EXPECT_GE(si.procs, 1);
  EXPECT_GE(si.uptime, 0);
}

TEST(Sysinfo, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_sysinfo, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Getrusage, SelfAndChildrenSucceed) {
  rusage u;
  EXPECT_SYSCALL_SUCCEEDS_WITH(getrusage(RUSAGE_SELF, &u), 0);
  EXPECT_GE(u.ru_utime.tv_usec, 0);
  EXPECT_LT(u.ru_utime.tv_usec, 1000000);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getrusage(RUSAGE_CHILDREN, &u), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getrusage(RUSAGE_THREAD, &u), 0);
}

TEST(Getrusage, UnknownWhoIsEinval) {
  rusage u;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrusage, 5, &u), EINVAL);
}

TEST(Getrusage, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrusage, RUSAGE_SELF, reinterpret_cast<void*>(8)), EFAULT);
}

// capget(2) and capset(2), through the raw syscalls (no libcap).
namespace {
struct CapHeader {
  uint32_t version;
  int pid;
};
struct CapData {
  uint32_t effective, permitted, inheritable;
};
constexpr uint32_t kCapV3 = 0x20080522;

uint64_t status_hex(const char* field) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return ~0ULL;
  char line[256];
  uint64_t v = ~0ULL;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':') v = strtoull(line + n + 1, nullptr, 16);
  fclose(f);
  return v;
}
}  // namespace

TEST(Capabilities, GetReportsEffectiveWithinPermittedAndMatchesStatus) {
  CapHeader h{kCapV3, 0};
  CapData d[2] = {};
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_capget, &h, d));
  uint64_t eff = d[0].effective | (uint64_t)d[1].effective << 32;
  uint64_t perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
  EXPECT_EQ(eff & ~perm, 0ULL);
  EXPECT_EQ(status_hex("CapEff"), eff);
  EXPECT_EQ(status_hex("CapPrm"), perm);
}

TEST(Capabilities, UnknownVersionIsEinvalAndNamesThePreferredOne) {
  CapHeader h{0x12345678, 0};
  CapData d[2] = {};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_capget, &h, d), EINVAL);
  EXPECT_EQ(h.version, kCapV3);
  // A null data pointer asks for the version only.
  CapHeader q{kCapV3, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_capget, &q, nullptr), 0);
}

TEST(Capabilities, SetsOnlyShrinkAndEffectiveStaysWithinPermitted) {
  pid_t child = fork();
  if (child == 0) {
    CapHeader h{kCapV3, 0};
    CapData d[2] = {};
    if (syscall(SYS_capget, &h, d) != 0) _exit(10);
    if (!(d[0].permitted & (1u << 0))) _exit(0);  // no CAP_CHOWN to play with: nothing to check
    // Drop CAP_CHOWN from effective only: allowed, and it can come back.
    d[0].effective &= ~1u;
    if (syscall(SYS_capset, &h, d) != 0) _exit(11);
    CapData now[2] = {};
    if (syscall(SYS_capget, &h, now) != 0 || (now[0].effective & 1u)) _exit(12);
    d[0].effective |= 1u;
    if (syscall(SYS_capset, &h, d) != 0) _exit(13);
    // Drop it from permitted: then raising it is EPERM.
    d[0].effective &= ~1u;
    d[0].permitted &= ~1u;
    if (syscall(SYS_capset, &h, d) != 0) _exit(14);
    d[0].permitted |= 1u;
    if (syscall(SYS_capset, &h, d) != -1 || errno != EPERM) _exit(15);
    // Effective beyond permitted is EPERM too.
    d[0].permitted &= ~1u;
    d[0].effective |= 1u;
    if (syscall(SYS_capset, &h, d) != -1 || errno != EPERM) _exit(16);
    // Another process's capabilities cannot be set.
    CapHeader other{kCapV3, getppid() > 0 ? getppid() : 1};
    if (syscall(SYS_capget, &h, d) != 0) _exit(17);
    if (syscall(SYS_capset, &other, d) != -1 || errno != EPERM) _exit(18);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Capabilities, GivingUpRootClearsThem) {
  pid_t child = fork();
  if (child == 0) {
    if (getuid() != 0) _exit(0);
    if (setresuid(1000, 1000, 1000) != 0) _exit(10);
    CapHeader h{kCapV3, 0};
    CapData d[2] = {};
    if (syscall(SYS_capget, &h, d) != 0) _exit(11);
    _exit(d[0].effective || d[0].permitted || d[1].effective || d[1].permitted ? 12 : 0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Groups, SetgroupsThenGetgroupsRoundTrips) {
  pid_t child = fork();
  if (child == 0) {
    if (getuid() != 0) _exit(0);
    gid_t set[3] = {10, 20, 30};
    if (setgroups(3, set) != 0) _exit(10);
    gid_t got[8] = {};
    if (getgroups(0, got) != 3) _exit(11);
    if (getgroups(8, got) != 3 || got[0] != 10 || got[1] != 20 || got[2] != 30) _exit(12);
    if (getgroups(1, got) != -1 || errno != EINVAL) _exit(13);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
