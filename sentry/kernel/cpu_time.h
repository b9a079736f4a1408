#pragma once
// Guest CPU time and resource usage. A guest's code runs in its stub
// process, so the guest's CPU time is the host CPU time of that process (or
// of the host thread behind a guest thread), read through the host's CPU
// clocks. The sentry's own time serving the guest's syscalls is not counted.
//
// A process's usage is sampled once more as it exits (the host process goes
// soon after), and a parent adds an exited child's usage, with that of the
// child's own waited-for children, when its wait reaps the child (getrusage(2)
// RUSAGE_CHILDREN, times(2)).

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace moat {

class Process;
class Thread;

constexpr int64_t kNsPerSecond = 1'000'000'000;

struct CpuTimes {
  int64_t user_ns = 0;
  int64_t system_ns = 0;
  int64_t total_ns() const { return user_ns + system_ns; }
};

// What getrusage reports, as far as moat knows it.
struct ResourceUsage {
  CpuTimes cpu;
  int64_t maxrss_kb = 0;
  int64_t minflt = 0;
  int64_t majflt = 0;
  // Times and counts add up; the peak resident set is the largest.
  void add(const ResourceUsage& other);
  struct rusage to_rusage() const;
};

// The three measures of a CPU clock (CPUCLOCK_PROF, _VIRT, _SCHED in
// linux/posix-timers.h): user plus system time (ITIMER_PROF), user time
// (ITIMER_VIRTUAL), and the scheduler's exact run time (the CPU-time clocks).
enum class CpuClockKind { Prof = 0, Virt = 1, Sched = 2 };

// The CPU time of a live guest process (all its threads) or thread;
// nullopt when its host process or thread is gone.
std::optional<int64_t> process_cpu_ns(const Process& p, CpuClockKind kind);
std::optional<int64_t> thread_cpu_ns(Thread& t, CpuClockKind kind);

// Usage of a process (live, or as sampled at its exit) or of one thread.
ResourceUsage process_usage(const Process& p);
ResourceUsage thread_usage(Thread& t);
// What wait4 reports for a reaped child: its usage and its children's.
ResourceUsage reaped_child_usage(const Process& child);

// Samples p's usage as it exits, while its host process is still there
// (exit_group samples before the stub ends the host process; each sample
// only adds to the one before).
void record_exit_usage(Process& p);
// parent's wait reaped child: parent's RUSAGE_CHILDREN grows by it.
void account_reaped_child(Process& parent, const Process& child);

// The host thread id behind a guest thread (-1 when unknown), cached.
pid_t host_tid(Thread& t);

}  // namespace moat
