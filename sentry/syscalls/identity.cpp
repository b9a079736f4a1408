// Identity and system information: ids, uname, sysinfo, getrandom, resource
// limits, resource usage, CPU affinity and scheduling policies.

#include <linux/capability.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "sentry/kernel/cpu_time.h"
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
  int size = ctx.arg_int(0);
  const std::vector<gid_t>& groups = ctx.process().creds.groups;
  if (size < 0) return Errno::INVAL;
  if (size == 0) return static_cast<int64_t>(groups.size());
  if (static_cast<size_t>(size) < groups.size()) return Errno::INVAL;
  if (!groups.empty()) TRY(ctx.mem().write(ctx.arg(1), groups.data(), groups.size() * sizeof(gid_t)));
  return static_cast<int64_t>(groups.size());
}

// Implements Linux uname(2). The release is the host's (programs check it for
// features), the version, node name and domain name are the sandbox's.
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
  set(u.nodename, ctx.sandbox().hostname());
  set(u.release, host.release);
  set(u.version, "#1 SMP moat");
  set(u.machine, "x86_64");
  set(u.domainname, ctx.sandbox().domainname());
  TRY(ctx.mem().write(ctx.arg(0), &u, sizeof u));
  return 0;
}

namespace {

// The name sethostname/setdomainname give (kernel/sys.c): CAP_SYS_ADMIN in
// the UTS namespace's user namespace first (the guest's root has it in the
// sandbox's), then the length (__NEW_UTS_LEN, 64), then the copy. The name
// ends at its first NUL, as uname's fields do.
ErrorOr<std::string> read_uts_name(const SyscallContext& ctx) {
  constexpr int kMaxUtsName = 64;
  if (!(ctx.process().creds.cap_effective & (1ULL << CAP_SYS_ADMIN))) return Errno::PERM;
  int len = ctx.arg_int(1);
  if (len < 0 || len > kMaxUtsName) return Errno::INVAL;
  char buf[kMaxUtsName];
  if (len > 0) TRY(ctx.mem().read(ctx.arg(0), buf, static_cast<size_t>(len)));
  return std::string(buf, strnlen(buf, static_cast<size_t>(len)));
}

}  // namespace

// Implements Linux sethostname(2) on the sandbox's UTS name; the host's is
// never touched.
ErrorOr<int64_t> sys_sethostname(SyscallContext& ctx) {
  ctx.sandbox().set_hostname(TRY(read_uts_name(ctx)));
  return 0;
}

// Implements Linux setdomainname(2) on the sandbox's UTS name.
ErrorOr<int64_t> sys_setdomainname(SyscallContext& ctx) {
  ctx.sandbox().set_domainname(TRY(read_uts_name(ctx)));
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

// Implements Linux getrusage(2): the CPU time of the guest's stub process
// or thread (cpu_time.h), and its children's as its waits reaped them.
// FIXME: context switches and the other counters stay zero.
ErrorOr<int64_t> sys_getrusage(SyscallContext& ctx) {
  ResourceUsage usage;
  switch (ctx.arg_int(0)) {
    case RUSAGE_SELF: usage = process_usage(ctx.process()); break;
    case RUSAGE_THREAD: usage = thread_usage(ctx.thread); break;
    case RUSAGE_CHILDREN: usage = ctx.process().children_usage; break;
    default: return Errno::INVAL;
  }
  struct rusage out = usage.to_rusage();
  TRY(ctx.mem().write(ctx.arg(1), &out, sizeof out));
  return 0;
}

namespace {

using CpuMask = std::array<uint64_t, 16>;
static_assert(sizeof(CpuMask) == sizeof(cpu_set_t));

// The CPUs the sandbox's guests run on: those of the stub process (the
// sentry's workers pin themselves to one each, so not the caller's), and
// the size of the kernel's mask in bytes (nr_cpu_ids rounded up to a long).
ErrorOr<std::pair<CpuMask, size_t>> sandbox_cpus(const SyscallContext& ctx) {
  CpuMask set{};
  long size = syscall(SYS_sched_getaffinity, ctx.mem().host_pid(), sizeof set, set.data());
  if (size < 0) size = syscall(SYS_sched_getaffinity, getpid(), sizeof set, set.data());
  if (size < 0) return last_host_errno();
  return std::pair{set, static_cast<size_t>(size)};
}

bool is_empty(const CpuMask& m) {
  return std::all_of(m.begin(), m.end(), [](uint64_t w) { return w == 0; });
}

// The CPUs a thread may run on: the recorded mask within the sandbox's.
CpuMask thread_cpus(const Thread& t, const CpuMask& sandbox) {
  if (is_empty(t.cpu_mask)) return sandbox;
  CpuMask out;
  for (size_t i = 0; i < out.size(); i++) out[i] = t.cpu_mask[i] & sandbox[i];
  return out;
}

// The thread a sched_* call names: 0 is the caller, else any live thread of
// the sandbox by its id (the kernel's find_process_by_pid(), which finds no
// negative id: ESRCH; the calls that want EINVAL for one check first).
ErrorOr<Thread*> sched_target(SyscallContext& ctx, pid_t pid) {
  if (pid < 0) return Errno::SRCH;
  if (pid == 0 || pid == ctx.thread.tid()) return &ctx.thread;
  if (Thread* t = ctx.process().thread_by_tid(pid)) return t;
  for (Process* p : ctx.sandbox().processes())
    if (!p->zombie)
      if (Thread* t = p->thread_by_tid(pid)) return t;
  return Errno::SRCH;
}

bool has_cap_sys_nice(const Credentials& c) { return c.cap_effective & (1ULL << CAP_SYS_NICE); }

// Changing another's scheduling needs the same user or CAP_SYS_NICE
// (the kernel's check_same_owner()).
bool may_reschedule(const SyscallContext& ctx, const Thread& target) {
  const Credentials& me = ctx.process().creds;
  const Credentials& them = target.process().creds;
  return has_cap_sys_nice(me) || me.euid == them.euid || me.euid == them.uid;
}

bool is_rt_policy(int policy) { return policy == SCHED_FIFO || policy == SCHED_RR; }

// The host's SCHED_RR quantum in milliseconds (kernel.sched_rr_timeslice_ms),
// Linux's default of 100 ms when it cannot be read.
int64_t rr_timeslice_ms() {
  constexpr int64_t kDefaultRrTimesliceMs = 100;
  int64_t ms = kDefaultRrTimesliceMs;
  if (FILE* f = fopen("/proc/sys/kernel/sched_rr_timeslice_ms", "re")) {
    long long v = 0;
    if (fscanf(f, "%lld", &v) == 1 && v > 0) ms = v;
    fclose(f);
  }
  return ms;
}

constexpr int kKeepPolicy = -1;  // sched_setparam: the thread's own policy
constexpr int kMaxRtPriority = 99;
constexpr int kSchedDeadline = 6;

// The kernel's __sched_setscheduler() checks, then records the policy.
ErrorOr<void> set_scheduler(SyscallContext& ctx, Thread& t, int policy, int32_t priority) {
  bool reset_on_fork = t.sched_policy & SCHED_RESET_ON_FORK;
  int current = t.sched_policy & ~SCHED_RESET_ON_FORK;
  if (policy == kKeepPolicy) {
    policy = current;
  } else {
    reset_on_fork = policy & SCHED_RESET_ON_FORK;
    policy &= ~SCHED_RESET_ON_FORK;
    if (policy != SCHED_OTHER && policy != SCHED_FIFO && policy != SCHED_RR && policy != SCHED_BATCH &&
        policy != SCHED_IDLE && policy != kSchedDeadline)
      return Errno::INVAL;
  }
  // SCHED_DEADLINE takes its parameters from sched_setattr only.
  if (policy == kSchedDeadline) return Errno::INVAL;
  if (static_cast<uint32_t>(priority) > kMaxRtPriority) return Errno::INVAL;
  if (is_rt_policy(policy) != (priority != 0)) return Errno::INVAL;
  const Process& me = ctx.process();
  if (!has_cap_sys_nice(me.creds)) {
    if (is_rt_policy(policy)) {
      rlim_t rtprio = me.rlimits[RLIMIT_RTPRIO].rlim_cur;
      if (policy != current && rtprio == 0) return Errno::PERM;
      if (static_cast<rlim_t>(priority) > std::max<rlim_t>(t.sched_priority, rtprio)) return Errno::PERM;
    }
    // Leaving SCHED_IDLE needs the right to nice 0 (can_nice(): RLIMIT_NICE 20).
    if (current == SCHED_IDLE && policy != SCHED_IDLE && me.rlimits[RLIMIT_NICE].rlim_cur < 20) return Errno::PERM;
    if ((t.sched_policy & SCHED_RESET_ON_FORK) && !reset_on_fork) return Errno::PERM;
    if (!may_reschedule(ctx, t)) return Errno::PERM;
  }
  t.sched_policy = policy | (reset_on_fork ? SCHED_RESET_ON_FORK : 0);
  t.sched_priority = is_rt_policy(policy) ? priority : 0;
  return {};
}

}  // namespace

// Implements Linux sched_getaffinity(2): the thread's recorded mask within
// the sandbox's CPUs. The raw syscall returns the size of the kernel's mask.
ErrorOr<int64_t> sys_sched_getaffinity(SyscallContext& ctx) {
  auto len = static_cast<uint32_t>(ctx.arg(1));
  auto [sandbox, kernel_size] = TRY(sandbox_cpus(ctx));
  // Linux: EINVAL when the buffer is smaller than nr_cpu_ids bits or not a
  // multiple of sizeof(long); for multiples of 8 the first is len < kernel_size.
  if (len & (sizeof(long) - 1)) return Errno::INVAL;
  if (len < kernel_size) return Errno::INVAL;
  Thread* t = TRY(sched_target(ctx, ctx.arg_int(0)));
  CpuMask mask = thread_cpus(*t, sandbox);
  TRY(ctx.mem().write(ctx.arg(2), mask.data(), kernel_size));
  return static_cast<int64_t>(kernel_size);
}

// Implements Linux sched_setaffinity(2): the mask is checked and recorded
// (within the sandbox's CPUs, EINVAL when none is left) but the host thread
// keeps running where the sandbox runs.
ErrorOr<int64_t> sys_sched_setaffinity(SyscallContext& ctx) {
  auto [sandbox, kernel_size] = TRY(sandbox_cpus(ctx));
  // get_user_cpu_mask(): a short mask is zero-extended, a long one cut.
  CpuMask wanted{};
  size_t len = std::min<size_t>(static_cast<uint32_t>(ctx.arg(1)), kernel_size);
  TRY(ctx.mem().read(ctx.arg(2), wanted.data(), len));
  Thread* t = TRY(sched_target(ctx, ctx.arg_int(0)));
  if (!may_reschedule(ctx, *t)) return Errno::PERM;
  CpuMask allowed;
  for (size_t i = 0; i < allowed.size(); i++) allowed[i] = wanted[i] & sandbox[i];
  if (is_empty(allowed)) return Errno::INVAL;
  t->cpu_mask = allowed;
  return 0;
}

// Implements Linux sched_yield(2). The guest thread is already off CPU while
// the sentry serves it.
ErrorOr<int64_t> sys_sched_yield(SyscallContext&) { return 0; }

// Implements Linux getcpu(2): the CPU the guest thread last ran on (field 39
// of its host thread's stat), else the sentry worker's.
ErrorOr<int64_t> sys_getcpu(SyscallContext& ctx) {
  unsigned cpu = 0, node = 0;
  if (getcpu(&cpu, &node) != 0) cpu = node = 0;
  pid_t tid = host_tid(ctx.thread);
  if (tid > 0) {
    std::string path = "/proc/" + std::to_string(ctx.mem().host_pid()) + "/task/" + std::to_string(tid) + "/stat";
    if (FILE* f = fopen(path.c_str(), "re")) {
      char buf[1024];
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = 0;
      // Fields after the command name: state is field 3, processor field 39.
      if (const char* p = strrchr(buf, ')')) {
        int field = 2;
        for (p++; *p && field < 39; p++)
          if (*p == ' ') field++;
        unsigned got;
        if (field == 39 && sscanf(p, "%u", &got) == 1) cpu = got;
      }
    }
  }
  if (ctx.arg(0) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<uint32_t>(0), cpu));
  if (ctx.arg(1) != 0) TRY(ctx.mem().write_obj(ctx.arg_ptr<uint32_t>(1), node));
  return 0;
}

// Implements Linux sched_setscheduler(2): checked and recorded, not applied
// to the host thread.
ErrorOr<int64_t> sys_sched_setscheduler(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  if (!ctx.arg(2) || pid < 0) return Errno::INVAL;
  int32_t priority = TRY(ctx.mem().read_obj(UserPtr<int32_t>(ctx.arg(2))));
  Thread* t = TRY(sched_target(ctx, pid));
  TRY(set_scheduler(ctx, *t, ctx.arg_int(1), priority));
  return 0;
}

// Implements Linux sched_setparam(2).
ErrorOr<int64_t> sys_sched_setparam(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  if (!ctx.arg(1) || pid < 0) return Errno::INVAL;
  int32_t priority = TRY(ctx.mem().read_obj(UserPtr<int32_t>(ctx.arg(1))));
  Thread* t = TRY(sched_target(ctx, pid));
  TRY(set_scheduler(ctx, *t, kKeepPolicy, priority));
  return 0;
}

// Implements Linux sched_getscheduler(2).
ErrorOr<int64_t> sys_sched_getscheduler(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  if (pid < 0) return Errno::INVAL;
  Thread* t = TRY(sched_target(ctx, pid));
  return t->sched_policy;
}

// Implements Linux sched_getparam(2).
ErrorOr<int64_t> sys_sched_getparam(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  if (!ctx.arg(1) || pid < 0) return Errno::INVAL;
  Thread* t = TRY(sched_target(ctx, pid));
  TRY(ctx.mem().write_obj(UserPtr<int32_t>(ctx.arg(1)), t->sched_priority));
  return 0;
}

// Implements Linux sched_rr_get_interval(2): the time slice of the thread's
// recorded policy as the host's kernel would give it. SCHED_RR threads get
// the round-robin quantum (kernel.sched_rr_timeslice_ms, 100 ms by default),
// SCHED_FIFO ones none; the fair classes get the EEVDF slice in whole
// jiffies (get_rr_interval_fair()), 0 when a jiffy is longer than the slice,
// which is what the host answers for the calling worker, a running
// SCHED_OTHER thread.
ErrorOr<int64_t> sys_sched_rr_get_interval(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0);
  if (pid < 0) return Errno::INVAL;
  Thread* t = TRY(sched_target(ctx, pid));
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  int64_t ns = 0;
  switch (t->sched_policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_RR: ns = rr_timeslice_ms() * 1'000'000; break;
    case SCHED_FIFO: break;
    default: {
      struct timespec host {};
      if (syscall(SYS_sched_rr_get_interval, 0, &host) == 0) ns = host.tv_sec * kNanosPerSecond + host.tv_nsec;
      break;
    }
  }
  struct timespec out {ns / kNanosPerSecond, ns % kNanosPerSecond};
  TRY(ctx.mem().write(ctx.arg(1), &out, sizeof out));
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

namespace moat {

namespace {

constexpr int kMinNice = -20, kMaxNice = 19;

// The threads getpriority/setpriority address (kernel/sys.c): one thread for
// PRIO_PROCESS (who = a tid, 0 = the caller), every thread of a process group
// or of a user's processes (by real uid) for PRIO_PGRP and PRIO_USER.
ErrorOr<std::vector<Thread*>> priority_targets(SyscallContext& ctx, int which, int who) {
  if (which < PRIO_PROCESS || which > PRIO_USER) return Errno::INVAL;
  std::vector<Thread*> out;
  if (which == PRIO_PROCESS) {
    if (who < 0) return out;
    auto t = sched_target(ctx, who);
    if (t.is_error()) return out;
    out.push_back(t.value());
    return out;
  }
  if (which == PRIO_PGRP) {
    pid_t pgid = who ? who : ctx.process().pgid;
    for (Process* p : ctx.sandbox().processes())
      if (!p->zombie && p->pgid == pgid)
        for (Thread* t : p->live_thread_list()) out.push_back(t);
    return out;
  }
  uid_t uid = who ? static_cast<uid_t>(who) : ctx.process().creds.uid;
  for (Process* p : ctx.sandbox().processes())
    if (!p->zombie && p->creds.uid == uid)
      for (Thread* t : p->live_thread_list()) out.push_back(t);
  return out;
}

}  // namespace

// Implements Linux getpriority(2): the raw call returns 20 - nice of the
// highest-priority (lowest nice) target, so 1..40; ESRCH when none matches.
ErrorOr<int64_t> sys_getpriority(SyscallContext& ctx) {
  auto targets = TRY(priority_targets(ctx, ctx.arg_int(0), ctx.arg_int(1)));
  if (targets.empty()) return Errno::SRCH;
  int best = kMaxNice;
  for (Thread* t : targets) best = std::min(best, t->nice);
  return 20 - best;
}

// Implements Linux setpriority(2) (set_one_prio for each target): the nice
// value is clamped to -20..19; another user's thread needs CAP_SYS_NICE
// (EPERM), and lowering nice below RLIMIT_NICE's floor needs it too (EACCES).
ErrorOr<int64_t> sys_setpriority(SyscallContext& ctx) {
  auto targets = TRY(priority_targets(ctx, ctx.arg_int(0), ctx.arg_int(1)));
  int nice = std::clamp(ctx.arg_int(2), kMinNice, kMaxNice);
  const Process& me = ctx.process();
  bool privileged = has_cap_sys_nice(me.creds);
  // can_nice(): RLIMIT_NICE holds 20 - the lowest nice allowed.
  bool may_lower = privileged || static_cast<rlim_t>(20 - nice) <= me.rlimits[RLIMIT_NICE].rlim_cur;
  Errno error = Errno::SRCH;
  bool ok = false;
  for (Thread* t : targets) {
    const Credentials& them = t->process().creds;
    if (!privileged && me.creds.euid != them.uid && me.creds.euid != them.euid) {
      error = Errno::PERM;
      continue;
    }
    if (nice < t->nice && !may_lower) {
      error = Errno::ACCES;
      continue;
    }
    t->nice = nice;
    ok = true;
  }
  // As Linux: the last failure if any target failed, else success, and
  // ESRCH when nothing matched.
  if (error != Errno::SRCH || !ok) return error;
  return 0;
}

}  // namespace moat
