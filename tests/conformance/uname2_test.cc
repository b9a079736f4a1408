// Conformance: uname(2) details beyond uname_test.cc, and the identity
// strings the kernel also publishes under /proc/sys/kernel.
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
bool terminated(const char* field) { return memchr(field, 0, _UTSNAME_LENGTH) != nullptr; }
std::string chomp(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}
}  // namespace

TEST(Uname2, EveryFieldIsTerminated) {
  struct utsname u;
  memset(&u, 0x7f, sizeof u);
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_uname, &u));
  EXPECT_TRUE(terminated(u.sysname));
  EXPECT_TRUE(terminated(u.nodename));
  EXPECT_TRUE(terminated(u.release));
  EXPECT_TRUE(terminated(u.version));
  EXPECT_TRUE(terminated(u.machine));
  EXPECT_TRUE(terminated(u.domainname));
}

TEST(Uname2, ReleaseLooksLikeAKernelVersion) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  int major = 0, minor = 0;
  EXPECT_EQ(sscanf(u.release, "%d.%d", &major, &minor), 2);
  EXPECT_GE(major, 3);
}

TEST(Uname2, VersionIsNotEmpty) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  EXPECT_GT(strlen(u.version), 0u);
  EXPECT_GT(strlen(u.domainname), 0u);
}

TEST(Uname2, TwoCallsAgree) {
  struct utsname a, b;
  ASSERT_SYSCALL_SUCCEEDS(uname(&a));
  ASSERT_SYSCALL_SUCCEEDS(uname(&b));
  EXPECT_EQ(memcmp(&a, &b, sizeof a), 0);
}

TEST(Uname2, PartiallyUnmappedBufferIsEfault) {
  char* p = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(p != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_uname, page_at(p, 1) - 100), EFAULT);
  munmap(p, kPage);
}

TEST(Uname2, ProcSysKernelMatchesUname) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  EXPECT_STREQ(chomp(read_whole_file("/proc/sys/kernel/ostype")), u.sysname);
  EXPECT_STREQ(chomp(read_whole_file("/proc/sys/kernel/osrelease")), u.release);
  EXPECT_STREQ(chomp(read_whole_file("/proc/sys/kernel/hostname")), u.nodename);
  EXPECT_STREQ(chomp(read_whole_file("/proc/sys/kernel/domainname")), u.domainname);
}
