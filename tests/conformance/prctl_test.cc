// Conformance: prctl(2).
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
long raw_prctl(int option, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0, unsigned long a5 = 0) {
  return syscall(SYS_prctl, option, a2, a3, a4, a5);
}
// Restores the thread name when a case ends.
struct SavedName {
  char name[16] = {};
  SavedName() { prctl(PR_GET_NAME, name); }
  ~SavedName() { prctl(PR_SET_NAME, name); }
};
}  // namespace

TEST(Prctl, SetNameGetNameRoundTrip) {
  SavedName guard;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_NAME, "conf-name"));
  char got[16] = {};
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_NAME, got));
  EXPECT_STREQ(got, "conf-name");
}

TEST(Prctl, LongNameIsTruncatedTo15Bytes) {
  SavedName guard;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"));
  char got[32];
  memset(got, 'X', sizeof got);
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_NAME, got));
  EXPECT_STREQ(got, "abcdefghijklmno");
}

TEST(Prctl, NameShowsInProcSelfComm) {
  SavedName guard;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_NAME, "comm-check"));
  EXPECT_STREQ(read_whole_file("/proc/self/comm"), "comm-check\n");
}

TEST(Prctl, InitialNameIsTheProgramBasename) {
  char got[16] = {};
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_NAME, got));
  EXPECT_STREQ(got, std::string(program_invocation_short_name).substr(0, 15));
}

TEST(Prctl, GetNameBadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_GET_NAME, 8), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_SET_NAME, 8), EFAULT);
}

TEST(Prctl, DumpableDefaultsToOneAndRoundTrips) {
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_GET_DUMPABLE), 1);
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_DUMPABLE, 0));
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_GET_DUMPABLE), 0);
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_DUMPABLE, 1));
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_GET_DUMPABLE), 1);
}

TEST(Prctl, SetDumpableTwoIsEinval) { EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_SET_DUMPABLE, 2), EINVAL); }

TEST(Prctl, NoNewPrivsSetThenGet) {
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_NO_NEW_PRIVS, 1));
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_GET_NO_NEW_PRIVS), 1);
  // Setting it again is harmless.
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_SET_NO_NEW_PRIVS, 1), 0);
}

TEST(Prctl, SetNoNewPrivsBadArgumentsAreEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_SET_NO_NEW_PRIVS, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_SET_NO_NEW_PRIVS, 1, 1), EINVAL);
}

TEST(Prctl, GetNoNewPrivsWithArgumentsIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_GET_NO_NEW_PRIVS, 1), EINVAL);
}

TEST(Prctl, NoNewPrivsShowsInProcSelfStatus) {
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_NO_NEW_PRIVS, 1));
  std::string status = read_whole_file("/proc/self/status");
  EXPECT_TRUE(status.find("NoNewPrivs:\t1") != std::string::npos);
}

TEST(Prctl, PdeathsigRoundTrip) {
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_PDEATHSIG, SIGUSR1));
  int sig = -1;
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_GET_PDEATHSIG, reinterpret_cast<unsigned long>(&sig)));
  EXPECT_EQ(sig, SIGUSR1);
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_SET_PDEATHSIG, 0));
  ASSERT_SYSCALL_SUCCEEDS(raw_prctl(PR_GET_PDEATHSIG, reinterpret_cast<unsigned long>(&sig)));
  EXPECT_EQ(sig, 0);
}

TEST(Prctl, PdeathsigInvalidSignalIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_SET_PDEATHSIG, 65), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_GET_PDEATHSIG, 8), EFAULT);
}

TEST(Prctl, CapbsetRead) {
  SKIP_IF(geteuid() != 0, "needs a full bounding set");
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_prctl(PR_CAPBSET_READ, CAP_CHOWN), 1);
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_CAPBSET_READ, 1000), EINVAL);
}

TEST(Prctl, CapbsetReadPastTheLastCapabilityIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(raw_prctl(PR_CAPBSET_READ, 63), EINVAL);
}

TEST(Prctl, UnknownOptionIsEinval) { EXPECT_SYSCALL_FAILS_WITH(raw_prctl(0x7fff0000), EINVAL); }
