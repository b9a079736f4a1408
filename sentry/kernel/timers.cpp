#include "sentry/kernel/timers.h"

#include <liburing.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "sentry/io/coro.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"
#include "sentry/platform/worker.h"

namespace moat {

namespace {

constexpr clockid_t kCpuClockWhichMask = 3;  // CPUCLOCK_CLOCK_MASK
constexpr clockid_t kCpuClockThread = 4;     // CPUCLOCK_PERTHREAD_MASK
constexpr int64_t kMinCpuSleepNs = 1'000'000;

int host_cpus() {
  static const int n = std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN));
  return n;
}

GuestClock wall_clock(clockid_t host) {
  GuestClock c;
  c.wall = host;
  return c;
}

GuestClock process_cpu_clock(pid_t pid, CpuClockKind kind) {
  GuestClock c;
  c.kind = GuestClock::Kind::ProcessCpu;
  c.pid = pid;
  c.cpu = kind;
  return c;
}

// The CPU clock ids of clock_getcpuclockid(3) and pthread_getcpuclockid(3):
// MAKE_PROCESS_CPUCLOCK(pid, which) and MAKE_THREAD_CPUCLOCK(tid, which) of
// linux/posix-timers.h, with pid 0 for the caller (the kernel's
// pid_for_clock(): a thread clock names a thread of the caller's process).
ErrorOr<GuestClock> resolve_cpu_clock_id(Thread& caller, clockid_t id, ClockUse use) {
  clockid_t which = id & kCpuClockWhichMask;
  if (which > static_cast<clockid_t>(CpuClockKind::Sched)) return Errno::INVAL;
  pid_t pid = ~(id >> 3);
  Process& self = caller.process();
  GuestClock c;
  c.cpu = static_cast<CpuClockKind>(which);
  if (id & kCpuClockThread) {
    // posix_cpu_nsleep(): no sleeping on a thread's CPU clock.
    if (use == ClockUse::Sleep) return Errno::INVAL;
    Thread* t = pid == 0 ? &caller : self.thread_by_tid(pid);
    if (!t) return Errno::INVAL;
    c.kind = GuestClock::Kind::ThreadCpu;
    c.pid = self.pid();
    c.tid = t->tid();
    return c;
  }
  if (pid != 0) {
    Process* p = self.sandbox().find_process(pid);
    if (!p || p->reaped) return Errno::INVAL;
  }
  c.kind = GuestClock::Kind::ProcessCpu;
  c.pid = pid == 0 ? self.pid() : pid;
  return c;
}

Thread* find_thread(Sandbox& sandbox, pid_t pid, pid_t tid) {
  Process* p = sandbox.find_process(pid);
  return p ? p->thread_by_tid(tid) : nullptr;
}

// Whether the last signal of a timer is still pending (not yet delivered).
// FIXME: another instance of the same real-time signal, queued by someone
// else, counts as the timer's.
bool signal_pending(Process& p, const IntervalTimer& t) {
  int sig = t.notify.signo;
  if (p.pending.has(sig)) return true;
  if (t.notify.how == SIGEV_THREAD_ID)
    if (Thread* th = p.thread_by_tid(t.notify.tid)) return th->pending.has(sig);
  return false;
}

// The last signal has been delivered: its overruns become the timer's.
void note_delivery(Process& p, IntervalTimer& t) {
  if (!t.signal_sent || signal_pending(p, t)) return;
  t.signal_sent = false;
  t.overrun_last = t.overrun;
  t.overrun = 0;
}

void cancel_sleep(IntervalTimer& t) {
  UringOp* op = std::exchange(t.sleeping, nullptr);
  if (!op || !Worker::current()) return;
  io_uring* ring = current_ring();
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (!sqe) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  if (!sqe) return;  // the stale sleep then ends at its own time
  io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(op), 0);
  io_uring_sqe_set_data64(sqe, 0);
}

siginfo_t timer_siginfo(int key, const IntervalTimer& t) {
  siginfo_t info{};
  info.si_signo = t.notify.signo;
  info.si_code = t.notify.code;
  if (t.notify.code == SI_TIMER) {
    info.si_timerid = key;
    info.si_overrun = static_cast<int>(std::min<int64_t>(t.overrun, INT_MAX));
    info.si_value = t.notify.value;
  }
  return info;
}

// Sleeps until the timer with this key and generation expires, signals, and
// re-arms for its interval; ends when the timer changes or goes.
Detached run_timer(Sandbox& sandbox, pid_t pid, int key, uint64_t generation) {
  for (;;) {
    Process* p = sandbox.find_process(pid);
    if (!p || p->zombie || !p->timers) co_return;
    IntervalTimer* t = p->timers->find(key);
    if (!t || t->generation != generation || !t->deadline) co_return;
    t->sleeping = nullptr;
    std::optional<int64_t> now = clock_now(sandbox, t->clock);
    if (!now) co_return;  // the thread or process it measures is gone
    if (*now < t->deadline) {
      int64_t wall = wall_sleep_for(sandbox, t->clock, t->deadline - *now);
      UringSleep sleep(__kernel_timespec{wall / kNsPerSecond, wall % kNsPerSecond});
      t->sleeping = static_cast<UringOp*>(&sleep);
      co_await sleep;
      continue;  // look again: re-armed, deleted, or not yet due (CPU time)
    }
    // Expired: every period that has passed counts.
    int64_t periods = t->interval ? 1 + (*now - t->deadline) / t->interval : 1;
    t->deadline = t->interval ? t->deadline + periods * t->interval : 0;
    if (t->notify.code == SI_TIMER) {
      note_delivery(*p, *t);
      if (t->signal_sent) {
        t->overrun += periods;
        continue;
      }
      t->overrun = periods - 1;
      t->signal_sent = true;
    }
    siginfo_t info = timer_siginfo(key, *t);
    Thread* target = t->notify.how == SIGEV_THREAD_ID ? p->thread_by_tid(t->notify.tid) : nullptr;
    // The signal may end the process (and reap it): nothing of p or t is
    // used after it.
    send_signal(*p, info.si_signo, info, target);
  }
}

void start_timer(Sandbox& sandbox, pid_t pid, int key, uint64_t generation) {
  // The coroutine's sleeps are its own, not an interruptible wait of the
  // syscall that armed it (interrupt.h).
  Thread* dispatching = std::exchange(dispatching_thread(), nullptr);
  run_timer(sandbox, pid, key, generation);
  dispatching_thread() = dispatching;
}

}  // namespace

ErrorOr<GuestClock> resolve_clock(Thread& caller, clockid_t id, ClockUse use) {
  if (id < 0) return resolve_cpu_clock_id(caller, id, use);
  switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI: return wall_clock(id);
    // Readable, but without timers or sleeps (EOPNOTSUPP from the kernel's
    // k_clock tables).
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
      if (use != ClockUse::Read) return Errno::NOTSUP;
      return wall_clock(id);
    // The alarm clocks need an RTC to wake the system, which a sandbox has
    // not (Linux's alarmtimer gives EOPNOTSUPP without one).
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM: return use == ClockUse::Read ? Errno::INVAL : Errno::NOTSUP;
    case CLOCK_PROCESS_CPUTIME_ID: return process_cpu_clock(caller.process().pid(), CpuClockKind::Sched);
    case CLOCK_THREAD_CPUTIME_ID: {
      if (use == ClockUse::Sleep) return Errno::NOTSUP;
      GuestClock c;
      c.kind = GuestClock::Kind::ThreadCpu;
      c.pid = caller.process().pid();
      c.tid = caller.tid();
      return c;
    }
    default: return Errno::INVAL;
  }
}

std::optional<int64_t> clock_now(Sandbox& sandbox, const GuestClock& clock) {
  switch (clock.kind) {
    case GuestClock::Kind::Wall: {
      timespec ts{};
      if (clock_gettime(clock.wall, &ts) != 0) return std::nullopt;
      return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
    }
    case GuestClock::Kind::ProcessCpu: {
      Process* p = sandbox.find_process(clock.pid);
      if (!p) return std::nullopt;
      return process_cpu_ns(*p, clock.cpu);
    }
    case GuestClock::Kind::ThreadCpu: {
      Thread* t = find_thread(sandbox, clock.pid, clock.tid);
      if (!t) return std::nullopt;
      return thread_cpu_ns(*t, clock.cpu);
    }
  }
  return std::nullopt;
}

int64_t wall_sleep_for(Sandbox& sandbox, const GuestClock& clock, int64_t left) {
  if (!clock.is_cpu()) return std::max<int64_t>(left, 0);
  int64_t runners = 1;
  if (clock.kind == GuestClock::Kind::ProcessCpu)
    if (Process* p = sandbox.find_process(clock.pid)) runners = std::clamp(p->live_threads(), 1, host_cpus());
  return std::max(left / runners, kMinCpuSleepNs);
}

IntervalTimer* TimerTable::find(int key) {
  auto it = m_timers.find(key);
  return it == m_timers.end() ? nullptr : &it->second;
}

IntervalTimer& TimerTable::itimer(Process& p, int which) {
  int key = itimer_key(which);
  if (IntervalTimer* t = find(key)) return *t;
  IntervalTimer& t = m_timers[key];
  t.notify.code = SI_KERNEL;
  switch (which) {
    case ITIMER_REAL:
      t.clock = wall_clock(CLOCK_MONOTONIC);
      t.notify.signo = SIGALRM;
      break;
    case ITIMER_VIRTUAL:
      t.clock = process_cpu_clock(p.pid(), CpuClockKind::Virt);
      t.notify.signo = SIGVTALRM;
      break;
    default:
      t.clock = process_cpu_clock(p.pid(), CpuClockKind::Prof);
      t.notify.signo = SIGPROF;
      break;
  }
  return t;
}

ErrorOr<int> TimerTable::create(const GuestClock& clock, const TimerNotify& notify) {
  size_t posix = std::count_if(m_timers.begin(), m_timers.end(), [](auto& kv) { return kv.first >= 0; });
  if (posix >= kMaxTimers) return Errno::AGAIN;
  // Ids count up from 0 as in Linux, skipping any still in use after a wrap.
  while (m_timers.count(m_next_id)) m_next_id = m_next_id == INT_MAX ? 0 : m_next_id + 1;
  int id = m_next_id;
  m_next_id = m_next_id == INT_MAX ? 0 : m_next_id + 1;
  IntervalTimer& t = m_timers[id];
  t.clock = clock;
  t.notify = notify;
  return id;
}

bool TimerTable::remove(int key) {
  auto it = m_timers.find(key);
  if (it == m_timers.end()) return false;
  cancel_sleep(it->second);
  m_timers.erase(it);
  return true;
}

void TimerTable::remove_posix_timers() {
  for (auto it = m_timers.begin(); it != m_timers.end();) {
    if (it->first < 0) {
      ++it;
      continue;
    }
    cancel_sleep(it->second);
    it = m_timers.erase(it);
  }
}

void TimerTable::disarm_all() {
  for (auto& [key, t] : m_timers) {
    cancel_sleep(t);
    t.deadline = 0;
    t.generation++;
  }
}

TimerTable& timers_of(Process& p) {
  if (!p.timers) p.timers = std::make_shared<TimerTable>();
  return *p.timers;
}

TimerSetting timer_get(Process& p, IntervalTimer& t) {
  TimerSetting s{0, t.interval};
  if (!t.deadline) return s;
  std::optional<int64_t> now = clock_now(p.sandbox(), t.clock);
  if (!now) return s;
  int64_t left = t.deadline - *now;
  if (left > 0) {
    s.value_ns = left;
  } else if (t.interval) {
    // Due, and the coroutine has yet to see it: the next period's end.
    s.value_ns = t.interval - (-left) % t.interval;
  } else if (t.notify.how == SIGEV_NONE) {
    t.deadline = 0;  // a SIGEV_NONE timer just expires
  } else {
    s.value_ns = 1;  // still armed until its signal goes (common_timer_get())
  }
  return s;
}

TimerSetting timer_set(Process& p, int key, TimerSetting next, bool absolute) {
  TimerTable& table = timers_of(p);
  IntervalTimer* t = table.find(key);
  if (!t) return {};
  TimerSetting old = timer_get(p, *t);
  cancel_sleep(*t);
  t->generation++;
  t->overrun = 0;
  t->overrun_last = 0;
  t->signal_sent = false;
  bool setitimer_timer = key < 0;
  // A disarmed setitimer timer has no interval; a POSIX one keeps it
  // (do_setitimer() and common_timer_set()).
  t->interval = next.value_ns || !setitimer_timer ? next.interval_ns : 0;
  t->deadline = 0;
  if (next.value_ns) {
    int64_t now = clock_now(p.sandbox(), t->clock).value_or(0);
    t->deadline = absolute ? next.value_ns : now + next.value_ns;
    if (t->notify.how != SIGEV_NONE) start_timer(p.sandbox(), p.pid(), key, t->generation);
  }
  return old;
}

int timer_overrun(Process& p, IntervalTimer& t) {
  note_delivery(p, t);
  return static_cast<int>(std::min<int64_t>(t.overrun_last, INT_MAX));
}

void delete_posix_timers(Process& p) {
  if (p.timers) p.timers->remove_posix_timers();
}

void stop_process_clocks(Process& p) {
  record_exit_usage(p);
  if (p.timers) p.timers->disarm_all();
}

}  // namespace moat
