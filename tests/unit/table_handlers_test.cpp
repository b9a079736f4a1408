// The identity and time handlers, run against this test process as the
// "guest" (its UserMemory points at our own pid).

#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <optional>
#include <string>

#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/syscalls/handlers.h"

using namespace moat;

namespace {

struct SelfGuest {
  Sandbox sandbox;
  Process process{sandbox, 1};
  Thread thread{process, 0, 1};

  explicit SelfGuest(SandboxConfig config = {}) : sandbox(std::move(config)) {
    const_cast<UserMemory&>(process.mem()).set_pid(getpid());
  }

  SyscallContext ctx(uint64_t nr, std::initializer_list<uint64_t> args) {
    SyscallContext c{thread, nr, {}};
    int i = 0;
    for (uint64_t a : args) c.args[i++] = a;
    return c;
  }
  ErrorOr<int64_t> call(SyncHandler h, std::initializer_list<uint64_t> args) {
    SyscallContext c = ctx(0, args);
    return h(c);
  }
  // Runs a coroutine handler that finishes without suspending.
  ErrorOr<int64_t> call(AsyncHandler h, std::initializer_list<uint64_t> args) {
    SyscallContext c = ctx(0, args);
    std::optional<ErrorOr<int64_t>> out;
    spawn(h(c), [&](ErrorOr<int64_t> r) { out.emplace(std::move(r)); });
    REQUIRE(out.has_value());
    return *out;
  }
};

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }
constexpr uint64_t kBadAddress = 0x10;

int64_t ok(const ErrorOr<int64_t>& r) {
  REQUIRE_FALSE(r.is_error());
  return r.value();
}
Errno err(const ErrorOr<int64_t>& r) {
  REQUIRE(r.is_error());
  return r.error();
}

}  // namespace

TEST_CASE("identity: ids", "[identity]") {
  SelfGuest g;
  g.process.creds.uid = 1000;
  g.process.creds.euid = 1001;
  g.process.creds.suid = 1002;
  g.process.creds.gid = 2000;
  CHECK(ok(g.call(sys_getpid, {})) == 1);
  CHECK(ok(g.call(sys_gettid, {})) == 1);
  CHECK(ok(g.call(sys_getppid, {})) == 0);
  CHECK(ok(g.call(sys_getuid, {})) == 1000);
  CHECK(ok(g.call(sys_geteuid, {})) == 1001);
  CHECK(ok(g.call(sys_getgid, {})) == 2000);
  uint32_t r = 0, e = 0, s = 0;
  CHECK(ok(g.call(sys_getresuid, {addr(&r), addr(&e), addr(&s)})) == 0);
  CHECK((r == 1000 && e == 1001 && s == 1002));
  CHECK(err(g.call(sys_getresuid, {addr(&r), kBadAddress, addr(&s)})) == Errno::FAULT);
  CHECK(ok(g.call(sys_getgroups, {0, 0})) == 0);
  CHECK(err(g.call(sys_getgroups, {static_cast<uint64_t>(-1), 0})) == Errno::INVAL);
  CHECK(ok(g.call(sys_getpgrp, {})) == 1);
  CHECK(ok(g.call(sys_getpgid, {0})) == 1);
  CHECK(ok(g.call(sys_getsid, {1})) == 1);
  CHECK(err(g.call(sys_getpgid, {42})) == Errno::SRCH);
}

TEST_CASE("identity: uname", "[identity]") {
  SandboxConfig config;
  config.hostname = "box1";
  SelfGuest g(config);
  struct utsname u;
  memset(&u, 'x', sizeof u);
  CHECK(ok(g.call(sys_uname, {addr(&u)})) == 0);
  CHECK(std::string(u.sysname) == "Linux");
  CHECK(std::string(u.nodename) == "box1");
  CHECK(std::string(u.machine) == "x86_64");
  CHECK(std::string(u.version) == "#1 SMP moat");
  CHECK(std::string(u.domainname) == "(none)");
  struct utsname host;
  uname(&host);
  CHECK(std::string(u.release) == host.release);
  CHECK(err(g.call(sys_uname, {kBadAddress})) == Errno::FAULT);
}

TEST_CASE("identity: sysinfo and getrandom", "[identity]") {
  SelfGuest g;
  struct sysinfo info {};
  CHECK(ok(g.call(sys_sysinfo, {addr(&info)})) == 0);
  CHECK(info.procs == 1);
  CHECK(info.totalram > 0);

  unsigned char buf[1000] = {};
  CHECK(ok(g.call(sys_getrandom, {addr(buf), sizeof buf, 0})) == 1000);
  int zeros = 0;
  for (unsigned char c : buf) zeros += c == 0;
  CHECK(zeros < 50);  // about 4 expected
  CHECK(ok(g.call(sys_getrandom, {addr(buf), 16, GRND_NONBLOCK | GRND_INSECURE})) == 16);
  CHECK(ok(g.call(sys_getrandom, {addr(buf), 0, 0})) == 0);
  CHECK(err(g.call(sys_getrandom, {addr(buf), 16, 0x100})) == Errno::INVAL);
  CHECK(err(g.call(sys_getrandom, {addr(buf), 16, GRND_RANDOM | GRND_INSECURE})) == Errno::INVAL);
  CHECK(err(g.call(sys_getrandom, {kBadAddress, 16, 0})) == Errno::FAULT);
}

TEST_CASE("identity: resource limits", "[identity]") {
  SelfGuest g;
  g.process.rlimits[RLIMIT_NOFILE] = {1024, 4096};
  struct rlimit lim {};
  CHECK(ok(g.call(sys_getrlimit, {RLIMIT_NOFILE, addr(&lim)})) == 0);
  CHECK((lim.rlim_cur == 1024 && lim.rlim_max == 4096));
  CHECK(err(g.call(sys_getrlimit, {RLIM_NLIMITS, addr(&lim)})) == Errno::INVAL);

  struct rlimit want {2048, 4096}, old {};
  CHECK(ok(g.call(sys_prlimit64, {0, RLIMIT_NOFILE, addr(&want), addr(&old)})) == 0);
  CHECK((old.rlim_cur == 1024 && old.rlim_max == 4096));
  CHECK(g.process.rlimits[RLIMIT_NOFILE].rlim_cur == 2048);
  CHECK(err(g.call(sys_prlimit64, {7, RLIMIT_NOFILE, 0, addr(&old)})) == Errno::SRCH);
  want = {5000, 4096};  // soft above hard
  CHECK(err(g.call(sys_prlimit64, {0, RLIMIT_NOFILE, addr(&want), 0})) == Errno::INVAL);
  CHECK(err(g.call(sys_prlimit64, {0, RLIMIT_NOFILE, kBadAddress, 0})) == Errno::FAULT);

  // Lowering the hard limit is allowed; raising it again needs root.
  g.process.creds.euid = 1000;
  want = {1024, 2048};
  CHECK(ok(g.call(sys_setrlimit, {RLIMIT_NOFILE, addr(&want)})) == 0);
  want = {1024, 4096};
  CHECK(err(g.call(sys_setrlimit, {RLIMIT_NOFILE, addr(&want)})) == Errno::PERM);
  g.process.creds.euid = 0;
  CHECK(ok(g.call(sys_setrlimit, {RLIMIT_NOFILE, addr(&want)})) == 0);
  CHECK(g.process.rlimits[RLIMIT_NOFILE].rlim_max == 4096);
}

TEST_CASE("identity: getrusage, affinity, cpu", "[identity]") {
  SelfGuest g;
  struct rusage usage;
  memset(&usage, 0xff, sizeof usage);
  CHECK(ok(g.call(sys_getrusage, {RUSAGE_SELF, addr(&usage)})) == 0);
  CHECK(usage.ru_maxrss > 0);
  CHECK(usage.ru_utime.tv_sec == 0);
  CHECK(err(g.call(sys_getrusage, {5, addr(&usage)})) == Errno::INVAL);

  cpu_set_t set;
  CPU_ZERO(&set);
  int64_t n = ok(g.call(sys_sched_getaffinity, {0, sizeof set, addr(&set)}));
  CHECK(n >= 8);
  CHECK(n % 8 == 0);
  CHECK(CPU_COUNT(&set) >= 1);
  CHECK(err(g.call(sys_sched_getaffinity, {0, 7, addr(&set)})) == Errno::INVAL);
  CHECK(err(g.call(sys_sched_getaffinity, {0, 0, addr(&set)})) == Errno::INVAL);
  CHECK(err(g.call(sys_sched_getaffinity, {99, sizeof set, addr(&set)})) == Errno::SRCH);
  CHECK(err(g.call(sys_sched_getaffinity, {0, sizeof set, kBadAddress})) == Errno::FAULT);

  CHECK(ok(g.call(sys_sched_yield, {})) == 0);
  unsigned cpu = 9999, node = 9999;
  CHECK(ok(g.call(sys_getcpu, {addr(&cpu), addr(&node), 0})) == 0);
  CHECK(cpu < 4096);
  CHECK(ok(g.call(sys_getcpu, {0, 0, 0})) == 0);
}

TEST_CASE("time: clocks", "[time]") {
  SelfGuest g;
  struct timespec ts {}, host {};
  clock_gettime(CLOCK_REALTIME, &host);
  CHECK(ok(g.call(sys_clock_gettime, {CLOCK_REALTIME, addr(&ts)})) == 0);
  CHECK(ts.tv_sec >= host.tv_sec);
  CHECK(ts.tv_sec - host.tv_sec < 5);
  for (clockid_t c : {CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
                      CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI}) {
    INFO("clock " << c);
    CHECK(ok(g.call(sys_clock_gettime, {static_cast<uint64_t>(c), addr(&ts)})) == 0);
    CHECK(ok(g.call(sys_clock_getres, {static_cast<uint64_t>(c), addr(&ts)})) == 0);
  }
  CHECK(err(g.call(sys_clock_gettime, {10, addr(&ts)})) == Errno::INVAL);
  CHECK(err(g.call(sys_clock_gettime, {static_cast<uint64_t>(-1), addr(&ts)})) == Errno::INVAL);
  CHECK(err(g.call(sys_clock_gettime, {CLOCK_MONOTONIC, kBadAddress})) == Errno::FAULT);
  CHECK(ok(g.call(sys_clock_getres, {CLOCK_MONOTONIC, 0})) == 0);
  ts = {};
  CHECK(ok(g.call(sys_clock_getres, {CLOCK_MONOTONIC, addr(&ts)})) == 0);
  CHECK((ts.tv_sec == 0 && ts.tv_nsec > 0));

  struct timeval tv {};
  struct timezone tz {1, 1};
  CHECK(ok(g.call(sys_gettimeofday, {addr(&tv), addr(&tz)})) == 0);
  CHECK(tv.tv_sec >= host.tv_sec);
  CHECK(ok(g.call(sys_gettimeofday, {0, 0})) == 0);
  CHECK(err(g.call(sys_gettimeofday, {kBadAddress, 0})) == Errno::FAULT);

  time_t t = 0;
  int64_t r = ok(g.call(sys_time, {addr(&t)}));
  CHECK(r == t);
  CHECK(r >= host.tv_sec);
  CHECK(ok(g.call(sys_time, {0})) >= host.tv_sec);
  CHECK(err(g.call(sys_time, {kBadAddress})) == Errno::FAULT);
}

TEST_CASE("time: sleeps that return before suspending", "[time]") {
  SelfGuest g;
  struct timespec zero {0, 0}, bad_nsec {0, 1'000'000'000}, negative {-1, 0};
  CHECK(ok(g.call(sys_nanosleep, {addr(&zero), 0})) == 0);
  CHECK(err(g.call(sys_nanosleep, {addr(&bad_nsec), 0})) == Errno::INVAL);
  CHECK(err(g.call(sys_nanosleep, {addr(&negative), 0})) == Errno::INVAL);
  CHECK(err(g.call(sys_nanosleep, {kBadAddress, 0})) == Errno::FAULT);

  CHECK(ok(g.call(sys_clock_nanosleep, {CLOCK_MONOTONIC, 0, addr(&zero), 0})) == 0);
  CHECK(err(g.call(sys_clock_nanosleep, {CLOCK_MONOTONIC, 0, addr(&bad_nsec), 0})) == Errno::INVAL);
  CHECK(err(g.call(sys_clock_nanosleep, {CLOCK_MONOTONIC, 0, kBadAddress, 0})) == Errno::FAULT);
  CHECK(err(g.call(sys_clock_nanosleep, {10, 0, addr(&zero), 0})) == Errno::INVAL);
  CHECK(err(g.call(sys_clock_nanosleep, {CLOCK_THREAD_CPUTIME_ID, 0, addr(&zero), 0})) == Errno::NOTSUP);
  // An absolute time in the past returns at once.
  struct timespec past {1, 0};
  CHECK(ok(g.call(sys_clock_nanosleep, {CLOCK_MONOTONIC, TIMER_ABSTIME, addr(&past), 0})) == 0);
  CHECK(ok(g.call(sys_clock_nanosleep, {CLOCK_REALTIME, TIMER_ABSTIME, addr(&past), 0})) == 0);
}
