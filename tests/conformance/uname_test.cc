// Conformance: uname(2).
#include <sys/utsname.h>
#include <unistd.h>

#include "harness.h"

TEST(Uname, FillsEveryField) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  EXPECT_STREQ(u.sysname, "Linux");
  EXPECT_STREQ(u.machine, "x86_64");
  EXPECT_GT(strlen(u.release), 0u);
  EXPECT_GT(strlen(u.nodename), 0u);
}

TEST(Uname, BadPointerIsEfault) { EXPECT_SYSCALL_FAILS_WITH(uname(reinterpret_cast<struct utsname*>(8)), EFAULT); }

TEST(Uname, NodenameMatchesGethostname) {
  struct utsname u;
  char host[256] = {};
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  ASSERT_SYSCALL_SUCCEEDS(gethostname(host, sizeof host));
  EXPECT_STREQ(u.nodename, host);
}
