#include "sentry/kernel/cpu_time.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_map>

#include "sentry/kernel/process.h"
#include "sentry/platform/stub_process.h"

namespace moat {

namespace {

constexpr clockid_t kPerThreadClock = 4;  // CPUCLOCK_PERTHREAD_MASK

// MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK of linux/posix-timers.h.
clockid_t host_cpu_clock(pid_t host_id, bool thread, CpuClockKind kind) {
  return static_cast<clockid_t>((~static_cast<clockid_t>(host_id) << 3) | (thread ? kPerThreadClock : 0) |
                                static_cast<clockid_t>(kind));
}

std::optional<int64_t> read_host_clock(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return std::nullopt;
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

// A thread's CPU time from /proc: the host's thread CPU clocks are readable
// only from inside the thread's own process (the kernel's pid_for_clock()).
// schedstat's first field is the exact run time; stat's utime and stime
// (fields 14 and 15) are in clock ticks.
std::optional<int64_t> read_thread_cpu(pid_t host_pid, pid_t host_tid, CpuClockKind kind) {
  std::string dir = "/proc/" + std::to_string(host_pid) + "/task/" + std::to_string(host_tid);
  char buf[1024];
  auto slurp = [&](const char* name) -> bool {
    FILE* f = fopen((dir + name).c_str(), "re");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return n > 0;
  };
  if (kind == CpuClockKind::Sched) {
    long long run = 0;
    if (!slurp("/schedstat") || sscanf(buf, "%lld", &run) != 1) return std::nullopt;
    return run;
  }
  if (!slurp("/stat")) return std::nullopt;
  const char* p = strrchr(buf, ')');
  unsigned long long utime = 0, stime = 0;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return std::nullopt;
  static const int64_t tick_ns = kNsPerSecond / sysconf(_SC_CLK_TCK);
  return static_cast<int64_t>(kind == CpuClockKind::Virt ? utime : utime + stime) * tick_ns;
}

// User and system time that add up to the scheduler's exact run time, split
// in the proportion of the tick-sampled user and system times (the kernel's
// cputime_adjust(), which getrusage uses). The thread's host_id is its tid.
CpuTimes adjusted_times(pid_t host_pid, pid_t host_id, bool thread) {
  CpuTimes out;
  auto read = [&](CpuClockKind kind) {
    return thread ? read_thread_cpu(host_pid, host_id, kind) : read_host_clock(host_cpu_clock(host_id, false, kind));
  };
  auto sched = read(CpuClockKind::Sched);
  auto user = read(CpuClockKind::Virt);
  auto prof = read(CpuClockKind::Prof);
  if (!sched) return out;
  if (!user || !prof || *prof <= 0) {
    out.user_ns = *sched;
    return out;
  }
  out.user_ns = static_cast<int64_t>(static_cast<__int128>(*sched) * *user / *prof);
  out.system_ns = *sched - out.user_ns;
  return out;
}

// Page faults (fields 10 and 12 of /proc/PID/stat, after the command name)
// and the peak resident set (VmHWM of /proc/PID/status) of a host process.
void read_memory_usage(pid_t host_pid, ResourceUsage& usage) {
  std::ifstream stat("/proc/" + std::to_string(host_pid) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    size_t paren = line.rfind(')');
    if (paren != std::string::npos) {
      long long minflt = 0, majflt = 0;
      // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
      if (sscanf(line.c_str() + paren + 1, " %*c %*d %*d %*d %*d %*d %*u %lld %*u %lld", &minflt, &majflt) == 2) {
        usage.minflt = minflt;
        usage.majflt = majflt;
      }
    }
  }
  std::ifstream status("/proc/" + std::to_string(host_pid) + "/status");
  while (std::getline(status, line)) {
    long long kb = 0;
    if (sscanf(line.c_str(), "VmHWM: %lld kB", &kb) == 1) {
      usage.maxrss_kb = kb;
      break;
    }
  }
}

// What each live process was last told, by host pid: the split of the
// run time follows tick samples, so a later sample can give less system
// (or user) time than an earlier one. cputime_adjust() keeps both parts
// from going back; so does this.
struct SeenTimes {
  std::mutex lock;
  std::unordered_map<pid_t, CpuTimes> by_pid;
};
SeenTimes& seen_times() {
  static SeenTimes s;
  return s;
}

CpuTimes never_back(pid_t pid, CpuTimes now) {
  SeenTimes& seen = seen_times();
  std::lock_guard guard(seen.lock);
  CpuTimes& prev = seen.by_pid[pid];
  int64_t run = now.total_ns();
  if (run < prev.total_ns()) return prev;
  now.system_ns = std::max(now.system_ns, prev.system_ns);
  now.user_ns = run - now.system_ns;
  if (now.user_ns < prev.user_ns) {
    now.user_ns = prev.user_ns;
    now.system_ns = run - now.user_ns;
  }
  prev = now;
  return now;
}

void forget_times(pid_t pid) {
  SeenTimes& seen = seen_times();
  std::lock_guard guard(seen.lock);
  seen.by_pid.erase(pid);
}

// nullopt when the host process is gone.
std::optional<ResourceUsage> live_process_usage(const Process& p) {
  ResourceUsage usage;
  pid_t pid = p.mem().host_pid();
  if (pid <= 0 || !read_host_clock(host_cpu_clock(pid, false, CpuClockKind::Sched))) return std::nullopt;
  usage.cpu = never_back(pid, adjusted_times(pid, pid, false));
  read_memory_usage(pid, usage);
  return usage;
}

}  // namespace

void ResourceUsage::add(const ResourceUsage& other) {
  cpu.user_ns += other.cpu.user_ns;
  cpu.system_ns += other.cpu.system_ns;
  maxrss_kb = std::max(maxrss_kb, other.maxrss_kb);
  minflt += other.minflt;
  majflt += other.majflt;
}

struct rusage ResourceUsage::to_rusage() const {
  struct rusage r;
  memset(&r, 0, sizeof r);
  r.ru_utime.tv_sec = cpu.user_ns / kNsPerSecond;
  r.ru_utime.tv_usec = cpu.user_ns % kNsPerSecond / 1000;
  r.ru_stime.tv_sec = cpu.system_ns / kNsPerSecond;
  r.ru_stime.tv_usec = cpu.system_ns % kNsPerSecond / 1000;
  r.ru_maxrss = maxrss_kb;
  r.ru_minflt = minflt;
  r.ru_majflt = majflt;
  return r;
}

pid_t host_tid(Thread& t) {
  if (t.host_tid > 0) return t.host_tid;
  Process& p = t.process();
  if (!p.has_stub()) return p.mem().host_pid();
  pid_t tid = p.stub().host_tid_of(t.slot_index());
  // A forked child's main thread is its host process's leader, whatever the
  // slot it kept from the parent's forking thread.
  if (tid <= 0 && t.tid() == p.pid()) tid = p.mem().host_pid();
  if (tid > 0) t.host_tid = tid;
  return tid;
}

std::optional<int64_t> process_cpu_ns(const Process& p, CpuClockKind kind) {
  pid_t pid = p.mem().host_pid();
  if (pid <= 0 || p.zombie) return std::nullopt;
  return read_host_clock(host_cpu_clock(pid, false, kind));
}

std::optional<int64_t> thread_cpu_ns(Thread& t, CpuClockKind kind) {
  pid_t tid = host_tid(t);
  if (tid <= 0 || t.exited) return std::nullopt;
  return read_thread_cpu(t.process().mem().host_pid(), tid, kind);
}

ResourceUsage process_usage(const Process& p) {
  if (p.zombie) return p.exit_usage;
  return live_process_usage(p).value_or(ResourceUsage{});
}

ResourceUsage thread_usage(Thread& t) {
  ResourceUsage usage;
  pid_t tid = host_tid(t);
  if (tid <= 0) return usage;
  usage.cpu = adjusted_times(t.process().mem().host_pid(), tid, true);
  // The peak resident set belongs to the address space, shared by the threads.
  read_memory_usage(t.process().mem().host_pid(), usage);
  return usage;
}

ResourceUsage reaped_child_usage(const Process& child) {
  ResourceUsage usage = process_usage(child);
  usage.add(child.children_usage);
  return usage;
}

void record_exit_usage(Process& p) {
  // Usage only grows: a later sample adds CPU time, but one taken as the host
  // process exits has lost its memory figures (no mm, no VmHWM).
  auto usage = live_process_usage(p);
  if (!usage) return;
  forget_times(p.mem().host_pid());  // the process is ending
  ResourceUsage& u = p.exit_usage;
  if (usage->cpu.total_ns() >= u.cpu.total_ns()) u.cpu = usage->cpu;
  u.maxrss_kb = std::max(u.maxrss_kb, usage->maxrss_kb);
  u.minflt = std::max(u.minflt, usage->minflt);
  u.majflt = std::max(u.majflt, usage->majflt);
}

void account_reaped_child(Process& parent, const Process& child) {
  parent.children_usage.add(reaped_child_usage(child));
}

}  // namespace moat
