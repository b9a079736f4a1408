#pragma once
// The interval timers of a guest process: the three setitimer(2) timers and
// the POSIX timers of timer_create(2), on a wall clock or on CPU time.
//
// An armed timer that notifies by signal has a detached coroutine that sleeps
// (an io_uring timeout) until the deadline, then sends the signal. The
// coroutine keeps no pointer across a sleep: each time it wakes it finds its
// process by pid and its timer by key and generation; re-arming or deleting a
// timer bumps the generation and cancels the sleep, so a stale coroutine ends.
//
// A deadline in CPU time is slept for in wall time: CPU time cannot grow
// faster than wall time times the threads that run, so the coroutine sleeps
// for the CPU time left divided by that many threads, then looks again.
//
// Overruns (timer_getoverrun(2)): while the signal of a timer is still
// pending, later expiries only count; once it has been delivered, the count
// becomes the timer's overrun and the next expiry sends a new signal.
//
// Everything here runs on the sandbox's worker thread.

#include <signal.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <optional>

#include "base/error.h"
#include "sentry/kernel/cpu_time.h"

namespace moat {

class Process;
class Sandbox;
class Thread;
struct UringOp;

// What a guest clock id measures.
struct GuestClock {
  enum class Kind { Wall, ProcessCpu, ThreadCpu };
  Kind kind = Kind::Wall;
  clockid_t wall = CLOCK_MONOTONIC;  // Kind::Wall: the host clock behind it
  CpuClockKind cpu = CpuClockKind::Sched;
  pid_t pid = 0;  // the guest process measured (both CPU kinds)
  pid_t tid = 0;  // the guest thread measured (ThreadCpu)
  bool is_cpu() const { return kind != Kind::Wall; }
};

// What the clock is wanted for: each syscall family accepts its own clocks
// (clock_gettime reads the coarse and raw clocks, timers and sleeps don't).
enum class ClockUse { Read, Timer, Sleep };

// Resolves a guest clock id for the calling thread, including the CPU clocks
// of clock_getcpuclockid(3) and pthread_getcpuclockid(3) (negative ids).
// EINVAL for an unknown clock, EOPNOTSUPP for one the use does not support.
ErrorOr<GuestClock> resolve_clock(Thread& caller, clockid_t id, ClockUse use);

// The clock's time now, in nanoseconds; nullopt when the process or thread
// it measures is gone.
std::optional<int64_t> clock_now(Sandbox& sandbox, const GuestClock& clock);

// The wall time to sleep before looking at a clock again, for a deadline
// that lies `left` ahead on it (see above for CPU clocks).
int64_t wall_sleep_for(Sandbox& sandbox, const GuestClock& clock, int64_t left);

// A timer's value and reload interval, in nanoseconds (value 0: disarmed).
struct TimerSetting {
  int64_t value_ns = 0;
  int64_t interval_ns = 0;
};

// How a timer tells of its expiry.
struct TimerNotify {
  int how = SIGEV_SIGNAL;  // SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID
  int signo = SIGALRM;
  sigval value{};
  pid_t tid = 0;           // SIGEV_THREAD_ID: the guest thread
  int code = SI_TIMER;     // SI_TIMER, or SI_KERNEL for the setitimer timers
};

struct IntervalTimer {
  GuestClock clock;
  TimerNotify notify;
  int64_t deadline = 0;  // on the timer's clock; 0: disarmed
  int64_t interval = 0;
  uint64_t generation = 0;
  int64_t overrun = 0;       // expiries while the last signal stayed pending
  int64_t overrun_last = 0;  // what timer_getoverrun reports
  bool signal_sent = false;  // the last signal may still be pending
  UringOp* sleeping = nullptr;  // the coroutine's sleep, to cancel
};

// A process's timers. Keys: the POSIX timer ids (0 and up) and, below zero,
// the setitimer timers (itimer_key).
class TimerTable {
 public:
  static constexpr int kMaxTimers = 4096;
  static int itimer_key(int which) { return -1 - which; }

  IntervalTimer* find(int key);
  IntervalTimer& itimer(Process& p, int which);
  // A new POSIX timer's id, or EAGAIN when the process has too many.
  ErrorOr<int> create(const GuestClock& clock, const TimerNotify& notify);
  bool remove(int key);
  // Deletes the POSIX timers (execve); the setitimer ones stay.
  void remove_posix_timers();
  void disarm_all();

 private:
  std::map<int, IntervalTimer> m_timers;
  int m_next_id = 0;
};

TimerTable& timers_of(Process& p);

// The timer's time left and interval, as getitimer and timer_gettime report.
TimerSetting timer_get(Process& p, IntervalTimer& t);
// Arms (value non-zero, relative or TIMER_ABSTIME) or disarms the timer with
// the given key; returns the previous setting.
TimerSetting timer_set(Process& p, int key, TimerSetting next, bool absolute);
// timer_getoverrun(2).
int timer_overrun(Process& p, IntervalTimer& t);

// execve: the POSIX timers go, the setitimer timers stay (execve(2)).
void delete_posix_timers(Process& p);
// exit: records the process's CPU usage while its host process is still
// there, and disarms its timers.
void stop_process_clocks(Process& p);

}  // namespace moat
