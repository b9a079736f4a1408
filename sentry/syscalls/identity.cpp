// Identity and system information: ids, uname, sysinfo, getrandom, resource
// limits, CPU affinity.

#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sentry/syscalls/handlers.h"

namespace moat {
namespace {

// FIXME: Process keeps no process group or session yet (setpgid and setsid
// are unimplemented): every guest process belongs to the group and session of
// the sandbox's first process.
constexpr pid_t kFirstPid = 1;

// Linux's default fs.nr_open: the ceiling for RLIMIT_NOFILE.
constexpr uint64_t kNrOpen = 1024 * 1024;

// Both the 64-bit rlimit of prlimit64 and struct rlimit on x86-64.
struct GuestRlimit {
  uint64_t cur;
  uint64_t max;
};
static_assert(sizeof(GuestRlimit) == sizeof(struct rlimit));

ErrorOr<int64_t> write_id(const SyscallContext& ctx, int i, uint32_t id) {
  TRY(ctx.mem().write_obj(ctx.arg_ptr<uint32_t>(i), id));
  return 0;
}

// True when pid names the calling process (0 means "self").
bool is_self(const SyscallContext& ctx, pid_t pid) { return pid == 0 || pid == ctx.process().pid(); }

// Linux do_prlimit(): validate, then swap in the new limit and return the old.
ErrorOr<GuestRlimit> do_prlimit(SyscallContext& ctx, uint64_t resource, const GuestRlimit* new_limit) {
  if (resource >= RLIM_NLIMITS) return Errno::INVAL;
  Process& process = ctx.process();
  rlimit& limit = process.rlimits[resource];
  GuestRlimit old{limit.rlim_cur, limit.rlim_max};
  if (new_limit) {
    if (new_limit->cur > new_limit->max) return Errno::INVAL;
    if (resource == RLIMIT_NOFILE && new_limit->max > kNrOpen) return Errno::PERM;
    // Raising a hard limit needs CAP_SYS_RESOURCE; the guest's root has it.
    if (new_limit->max > old.max && process.creds.euid != 0) return Errno::PERM;
    limit.rlim_cur = new_limit->cur;
    limit.rlim_max = new_limit->max;
  }
  return old;
}

}  // namespace

// Implements Linux getpid(2).
ErrorOr<int64_t> sys_getpid(SyscallContext& ctx) { return ctx.process().pid(); }

// Implements Linux gettid(2).
ErrorOr<int64_t> sys_gettid(SyscallContext& ctx) { return ctx.thread.tid(); }

// Implements Linux getppid(2).
ErrorOr<int64_t> sys_getppid(SyscallContext& ctx) { return ctx.process().ppid(); }

// Implements Linux getuid(2).
ErrorOr<int64_t> sys_getuid(SyscallContext& ctx) { return ctx.process().creds.uid; }

// Implements Linux geteuid(2).
ErrorOr<int64_t> sys_geteuid(SyscallContext& ctx) { return ctx.process().creds.euid; }

// Implements Linux getgid(2).
ErrorOr<int64_t> sys_getgid(SyscallContext& ctx) { return ctx.process().creds.gid; }

// Implements Linux getegid(2).
ErrorOr<int64_t> sys_getegid(SyscallContext& ctx) { return ctx.process().creds.egid; }

// Implements Linux getresuid(2).
ErrorOr<int64_t> sys_getresuid(SyscallContext& ctx) {
  const Credentials c = ctx.process().creds;
  TRY(write_id(ctx, 0, c.uid));
  TRY(write_id(ctx, 1, c.euid));
  TRY(write_id(ctx, 2, c.suid));
  return 0;
}

// Implements Linux getresgid(2).
ErrorOr<int64_t> sys_getresgid(SyscallContext& ctx) {
  const Credentials c = ctx.process().creds;
  TRY(write_id(ctx, 0, c.gid));
  TRY(write_id(ctx, 1, c.egid));
  TRY(write_id(ctx, 2, c.sgid));
  return 0;
}

// Implements Linux getgroups(2). The guest has no supplementary groups.
ErrorOr<int64_t> sys_getgroups(SyscallContext& ctx) {
  if (ctx.arg_int(0) < 0) return Errno::INVAL;
  return 0;
}

// Implements Linux uname(2). The release is the host's (programs check it for
// features), the version and node name are the sandbox's.
ErrorOr<int64_t> sys_uname(SyscallContext& ctx) {
  struct utsname host;
  if (uname(&host) != 0) return last_host_errno();
  struct utsname u;
  memset(&u, 0, sizeof u);
  auto set = [](char* field, std::string_view value) {
    size_t n = std::min(value.size(), sizeof(u.sysname) - 1);
    memcpy(field, value.data(), n);
  };
  set(u.sysname, "Linux");
  set(u.nodename, ctx.sandbox().config().hostname);
  set(u.release, host.release);
  set(u.version, "#1 SMP moat");
  set(u.machine, "x86_64");
  set(u.domainname, "(none)");
  TRY(ctx.mem().write(ctx.arg(0), &u, sizeof u));
  return 0;
}

// Implements Linux sysinfo(2): the host's memory and load, one process.
ErrorOr<int64_t> sys_sysinfo(SyscallContext& ctx) {
  struct sysinfo info;
  if (sysinfo(&info) != 0) return last_host_errno();
  info.procs = 1;
  TRY(ctx.mem().write(ctx.arg(0), &info, sizeof info));
  return 0;
}

// Implements Linux getrandom(2).
ErrorOr<int64_t> sys_getrandom(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0);
  uint64_t len = ctx.arg(1);
  auto flags = static_cast<uint32_t>(ctx.arg(2));
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return Errno::INVAL;
  if ((flags & (GRND_INSECURE | GRND_RANDOM)) == (GRND_INSECURE | GRND_RANDOM)) return Errno::INVAL;
  // Linux caps one call at INT_MAX bytes.
  len = std::min<uint64_t>(len, 0x7fffffff);
  // The host pool is initialised long before a sandbox starts, so the
  // sentry's own getrandom never blocks here; GRND_RANDOM is the same pool
  // since Linux 5.6.
  char chunk[4096];
  uint64_t done = 0;
  while (done < len) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof chunk, len - done));
    ssize_t got = getrandom(chunk, want, GRND_NONBLOCK);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return last_host_errno();
    }
    size_t copied = ctx.mem().write_partial(addr + done, chunk, static_cast<size_t>(got));
    done += copied;
    // EFAULT only when nothing was copied (Linux get_random_bytes_user()).
    if (copied < static_cast<size_t>(got)) {
      if (done == 0) return Errno::FAULT;
      break;
    }
  }
  return static_cast<int64_t>(done);
}

// Implements Linux prlimit64(2).
ErrorOr<int64_t> sys_prlimit64(SyscallContext& ctx) {
  GuestRlimit new_limit;
  bool has_new = ctx.arg(2) != 0;
  // Linux copies the new limit in before looking the task up.
  if (has_new) new_limit = TRY(ctx.mem().read_obj(ctx.arg_ptr<GuestRlimit>(2)));
  if (!is_self(ctx, ctx.arg_int(0))) return Errno::SRCH;
  GuestRlimit old = TRY(do_prlimit(ctx, ctx.arg(1) & 0xffffffff, has_new ? &new_limit : nullptr));
  if (ctx.arg(3) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<GuestRlimit>(3), old));
  return 0;
}

// Implements Linux getrlimit(2).
ErrorOr<int64_t> sys_getrlimit(SyscallContext& ctx) {
  GuestRlimit old = TRY(do_prlimit(ctx, ctx.arg(0) & 0xffffffff, nullptr));
  TRY(ctx.mem().write_obj(ctx.arg_ptr<GuestRlimit>(1), old));
  return 0;
}

// Implements Linux setrlimit(2).
ErrorOr<int64_t> sys_setrlimit(SyscallContext& ctx) {
  GuestRlimit new_limit = TRY(ctx.mem().read_obj(ctx.arg_ptr<GuestRlimit>(1)));
  TRY(do_prlimit(ctx, ctx.arg(0) & 0xffffffff, &new_limit));
  return 0;
}

// Implements Linux getrusage(2).
// FIXME: times are zero and ru_maxrss is the sentry's; the guest's usage
// needs accounting of the stub processes.
ErrorOr<int64_t> sys_getrusage(SyscallContext& ctx) {
  int who = ctx.arg_int(0);
  if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD) return Errno::INVAL;
  struct rusage usage;
  memset(&usage, 0, sizeof usage);
  if (who != RUSAGE_CHILDREN) {
    struct rusage host;
    if (getrusage(RUSAGE_SELF, &host) == 0) usage.ru_maxrss = host.ru_maxrss;
  }
  TRY(ctx.mem().write(ctx.arg(1), &usage, sizeof usage));
  return 0;
}

// Implements Linux sched_getaffinity(2): the sentry's own CPU set. The raw
// syscall returns the size of the kernel's mask (nr_cpu_ids rounded up to a
// long), which is what the guest sees too.
ErrorOr<int64_t> sys_sched_getaffinity(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  auto len = static_cast<uint32_t>(ctx.arg(1));
  cpu_set_t set;
  CPU_ZERO(&set);
  long kernel_size = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
  if (kernel_size < 0) return last_host_errno();
  // Linux: EINVAL when the buffer is smaller than nr_cpu_ids bits or not a
  // multiple of sizeof(long); for multiples of 8 the first is len < kernel_size.
  if (len & (sizeof(long) - 1)) return Errno::INVAL;
  if (len < static_cast<uint64_t>(kernel_size)) return Errno::INVAL;
  if (pid != 0 && pid != ctx.thread.tid() && pid != ctx.process().pid()) return Errno::SRCH;
  size_t n = static_cast<size_t>(kernel_size);
  TRY(ctx.mem().write(ctx.arg(2), &set, n));
  return static_cast<int64_t>(n);
}

// Implements Linux sched_yield(2). The guest thread is already off CPU while
// the sentry serves it.
ErrorOr<int64_t> sys_sched_yield(SyscallContext&) { return 0; }

// Implements Linux getcpu(2): the CPU the sentry worker runs on.
ErrorOr<int64_t> sys_getcpu(SyscallContext& ctx) {
  unsigned cpu = 0, node = 0;
  if (getcpu(&cpu, &node) != 0) cpu = node = 0;
  if (ctx.arg(0) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<uint32_t>(0), cpu));
  if (ctx.arg(1) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<uint32_t>(1), node));
  return 0;
}

namespace {

// Only the caller itself (pid 0 or its own tid) is visible to the sched_*
// queries for now.
ErrorOr<void> check_sched_target(SyscallContext& ctx, int pid) {
  if (pid < 0) return Errno::INVAL;
  if (pid != 0 && pid != ctx.thread.tid() && pid != ctx.process().pid()) return Errno::SRCH;
  return {};
}

}  // namespace

// Implements Linux sched_getscheduler(2): guests run under SCHED_OTHER.
ErrorOr<int64_t> sys_sched_getscheduler(SyscallContext& ctx) {
  TRY(check_sched_target(ctx, ctx.arg_int(0)));
  return SCHED_OTHER;
}

// Implements Linux sched_getparam(2).
ErrorOr<int64_t> sys_sched_getparam(SyscallContext& ctx) {
  TRY(check_sched_target(ctx, ctx.arg_int(0)));
  if (!ctx.arg(1)) return Errno::INVAL;
  TRY(ctx.mem().write_obj(UserPtr<int32_t>(ctx.arg(1)), 0));
  return 0;
}

// Implements Linux sched_get_priority_max(2).
ErrorOr<int64_t> sys_sched_get_priority_max(SyscallContext& ctx) {
  switch (ctx.arg_int(0)) {
    case SCHED_FIFO: case SCHED_RR: return 99;
    case SCHED_OTHER: case SCHED_BATCH: case SCHED_IDLE: return 0;
    default: return Errno::INVAL;
  }
}

// Implements Linux sched_get_priority_min(2).
ErrorOr<int64_t> sys_sched_get_priority_min(SyscallContext& ctx) {
  switch (ctx.arg_int(0)) {
    case SCHED_FIFO: case SCHED_RR: return 1;
    case SCHED_OTHER: case SCHED_BATCH: case SCHED_IDLE: return 0;
    default: return Errno::INVAL;
  }
}

}  // namespace moat
