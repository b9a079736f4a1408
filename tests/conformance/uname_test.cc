// Conformance: uname(2), sethostname(2), setdomainname(2).
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

// ---- sethostname(2), setdomainname(2) ----
//
// Natively these change the host's names, so each case runs in a child in a
// UTS namespace of its own. moat's sandbox is one UTS namespace (unshare
// CLONE_NEWUTS is EINVAL there): its child changes the sandbox's names and
// puts them back.

namespace {

using SetName = int (*)(const char*, size_t);

int set_hostname(const char* name, size_t len) { return static_cast<int>(syscall(SYS_sethostname, name, len)); }
int set_domainname(const char* name, size_t len) { return static_cast<int>(syscall(SYS_setdomainname, name, len)); }

// Runs body in a child with a UTS namespace of its own (natively) and
// expects it to exit 0; skips when the namespace cannot be had.
template <typename F>
void in_own_uts_namespace(F body) {
  SKIP_IF(!conformance::running_in_moat() && geteuid() != 0, "needs root for a UTS namespace");
  pid_t child = fork();
  ASSERT_SYSCALL_SUCCEEDS(child);
  if (child == 0) {
    alarm(10);
    if (!conformance::running_in_moat() && unshare(CLONE_NEWUTS) != 0) _exit(99);
    struct utsname saved;
    if (uname(&saved) != 0) _exit(98);
    int status = body();
    // Restore the sandbox's names in moat (natively the namespace goes).
    sethostname(saved.nodename, strlen(saved.nodename));
    setdomainname(saved.domainname, strlen(saved.domainname));
    _exit(status);
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  SKIP_IF(WEXITSTATUS(status) == 99, "no UTS namespace here");
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace

TEST(Sethostname, NewNameShowsInUnameGethostnameAndProc) {
  in_own_uts_namespace([] {
    if (set_hostname("conf-new", 8) != 0) return 1;
    struct utsname u;
    if (uname(&u) != 0 || strcmp(u.nodename, "conf-new") != 0) return 2;
    char host[256] = {};
    if (gethostname(host, sizeof host) != 0 || strcmp(host, "conf-new") != 0) return 3;
    char proc[256] = {};
    FILE* f = fopen("/proc/sys/kernel/hostname", "re");
    if (!f || !fgets(proc, sizeof proc, f)) return 4;
    fclose(f);
    if (strcmp(proc, "conf-new\n") != 0) return 5;
    // The length counts, not a terminator: "conf" out of "conf-new".
    if (set_hostname("conf-new", 4) != 0 || uname(&u) != 0 || strcmp(u.nodename, "conf") != 0) return 6;
    // 64 bytes is the longest name.
    char longest[65];
    memset(longest, 'h', 64);
    longest[64] = 0;
    if (set_hostname(longest, 64) != 0 || uname(&u) != 0 || strcmp(u.nodename, longest) != 0) return 7;
    // An empty name is allowed.
    if (set_hostname("", 0) != 0 || uname(&u) != 0 || u.nodename[0] != 0) return 8;
    return 0;
  });
}

TEST(Setdomainname, NewNameShowsInUnameAndProc) {
  in_own_uts_namespace([] {
    if (set_domainname("example.test", 12) != 0) return 1;
    struct utsname u;
    if (uname(&u) != 0 || strcmp(u.domainname, "example.test") != 0) return 2;
    char proc[256] = {};
    FILE* f = fopen("/proc/sys/kernel/domainname", "re");
    if (!f || !fgets(proc, sizeof proc, f)) return 3;
    fclose(f);
    if (strcmp(proc, "example.test\n") != 0) return 4;
    return 0;
  });
}

TEST(Sethostname, BadLengthIsEinvalAndBadPointerEfault) {
  in_own_uts_namespace([] {
    char name[80];
    memset(name, 'x', sizeof name);
    for (SetName set : {set_hostname, set_domainname}) {
      if (set(name, 65) != -1 || errno != EINVAL) return 1;
      if (set(name, static_cast<size_t>(-1)) != -1 || errno != EINVAL) return 2;
      if (set(reinterpret_cast<const char*>(8), 4) != -1 || errno != EFAULT) return 3;
      // A bad pointer with a bad length: the length is checked first.
      if (set(reinterpret_cast<const char*>(8), 65) != -1 || errno != EINVAL) return 4;
    }
    // Nothing changed.
    struct utsname u;
    if (uname(&u) != 0 || strchr(u.nodename, 'x') == u.nodename) return 5;
    return 0;
  });
}

TEST(Sethostname, WithoutCapSysAdminIsEperm) {
  in_own_uts_namespace([] {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    if (syscall(SYS_capget, &h, d) != 0) return 1;
    d[0].effective &= ~(1u << CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &h, d) != 0) return 2;
    for (SetName set : {set_hostname, set_domainname}) {
      if (set("denied", 6) != -1 || errno != EPERM) return 3;
      // The capability is checked before the length.
      if (set("denied", 65) != -1 || errno != EPERM) return 4;
    }
    d[0].effective |= 1u << CAP_SYS_ADMIN;
    if (syscall(SYS_capset, &h, d) != 0) return 5;
    return 0;
  });
}
