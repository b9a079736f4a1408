// Conformance: sleeps, alarm(2), setitimer(2)/getitimer(2) and the POSIX
// timers (timer_create(2) and friends), including the CPU-time clocks.
//
// Every case that arms a timer disarms it and restores the signal
// dispositions and mask it changed: all cases run in one process.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>

#include "harness.h"

namespace {

constexpr int64_t kMs = 1000000, kSec = 1000000000;

int64_t ns(const timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * kSec + ts.tv_nsec; }
int64_t ns(const timeval& tv) { return static_cast<int64_t>(tv.tv_sec) * kSec + tv.tv_usec * 1000; }
timespec ts_of(int64_t n) { return timespec{static_cast<time_t>(n / kSec), static_cast<long>(n % kSec)}; }
timeval tv_of(int64_t n) { return timeval{static_cast<time_t>(n / kSec), static_cast<suseconds_t>(n % kSec / 1000)}; }

int64_t now(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ns(ts);
}

void sleep_ns(int64_t n) {
  timespec ts = ts_of(n);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Spins until pred() holds or timeout_ns of wall time passed, doing pure
// computation (no syscalls but the vDSO clock): CPU time grows meanwhile.
template <typename Pred>
bool burn_until(Pred pred, int64_t timeout_ns) {
  int64_t end = now() + timeout_ns;
  volatile uint64_t x = 1;
  while (!pred() && now() < end)
    for (int i = 0; i < 20000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return pred();
}

// Sleeps in short steps until pred() holds or timeout_ns passed.
template <typename Pred>
bool wait_until(Pred pred, int64_t timeout_ns) {
  int64_t end = now() + timeout_ns;
  while (!pred() && now() < end) sleep_ns(2 * kMs);
  return pred();
}

// What the test handlers saw.
std::atomic<int> g_count{0};
std::atomic<int> g_signo{0};
std::atomic<int> g_code{0};
std::atomic<int> g_timerid{0};
std::atomic<int> g_overrun{0};
std::atomic<int> g_value{0};
std::atomic<pid_t> g_tid{0};
std::atomic<int> g_getoverrun{-2};
std::atomic<int> g_getoverrun_timer{-1};

void reset_seen() {
  g_count = 0;
  g_signo = 0;
  g_code = 0;
  g_timerid = 0;
  g_overrun = 0;
  g_value = 0;
  g_tid = 0;
  g_getoverrun = -2;
}

void record_handler(int sig, siginfo_t* info, void*) {
  int saved = errno;
  g_signo = sig;
  g_code = info->si_code;
  if (info->si_code == SI_TIMER) {
    g_timerid = info->si_timerid;
    g_overrun = info->si_overrun;
    g_value = info->si_value.sival_int;
  }
  g_tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (g_getoverrun_timer >= 0 && g_getoverrun == -2)
    g_getoverrun = static_cast<int>(syscall(SYS_timer_getoverrun, g_getoverrun_timer.load()));
  g_count++;
  errno = saved;
}

// Installs record_handler for a signal (SA_SIGINFO, no SA_RESTART) for the
// case's lifetime.
struct Handler {
  int sig;
  struct sigaction old {};
  explicit Handler(int s) : sig(s) {
    reset_seen();
    struct sigaction sa {};
    sa.sa_sigaction = record_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &old);
  }
  ~Handler() { sigaction(sig, &old, nullptr); }
};

// Blocks signals for the case's lifetime.
struct Blocked {
  sigset_t old;
  explicit Blocked(std::initializer_list<int> sigs) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : sigs) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, &old);
  }
  ~Blocked() { sigprocmask(SIG_SETMASK, &old, nullptr); }
};

// itimers are disarmed when a case ends.
struct ItimerGuard {
  int which;
  explicit ItimerGuard(int w) : which(w) {}
  ~ItimerGuard() {
    itimerval zero{};
    setitimer(which, &zero, nullptr);
  }
};

// Raw POSIX timer syscalls, with the kernel's timer ids.
long raw_timer_create(clockid_t clock, sigevent* sev, int* id) { return syscall(SYS_timer_create, clock, sev, id); }
long raw_timer_settime(int id, int flags, const itimerspec* value, itimerspec* old) {
  return syscall(SYS_timer_settime, id, flags, value, old);
}
long raw_timer_gettime(int id, itimerspec* value) { return syscall(SYS_timer_gettime, id, value); }
long raw_timer_getoverrun(int id) { return syscall(SYS_timer_getoverrun, id); }
long raw_timer_delete(int id) { return syscall(SYS_timer_delete, id); }

// A POSIX timer deleted when the case ends.
struct Timer {
  int id = -1;
  Timer(clockid_t clock, sigevent* sev) {
    if (raw_timer_create(clock, sev, &id) != 0) id = -1;
  }
  ~Timer() {
    if (id >= 0) raw_timer_delete(id);
  }
  long arm(int64_t value_ns, int64_t interval_ns = 0, int flags = 0, itimerspec* old = nullptr) {
    itimerspec its{ts_of(interval_ns), ts_of(value_ns)};
    return raw_timer_settime(id, flags, &its, old);
  }
};

sigevent signal_event(int sig, int value) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  return sev;
}

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

}  // namespace

// ---- nanosleep and clock_nanosleep ----

TEST(Nanosleep, InvalidTimespecIsEinval) {
  timespec bad_nsec{0, 1000000000};
  EXPECT_SYSCALL_FAILS_WITH(nanosleep(&bad_nsec, nullptr), EINVAL);
  timespec negative_nsec{0, -1};
  EXPECT_SYSCALL_FAILS_WITH(nanosleep(&negative_nsec, nullptr), EINVAL);
  timespec negative_sec{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(nanosleep(&negative_sec, nullptr), EINVAL);
}

TEST(Nanosleep, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_nanosleep, reinterpret_cast<void*>(8), nullptr), EFAULT);
}

TEST(Nanosleep, InterruptedBySignalReportsTheRemainder) {
  Handler h(SIGALRM);
  ItimerGuard guard(ITIMER_REAL);
  itimerval it{{0, 0}, tv_of(50 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  timespec req = ts_of(3 * kSec), rem{-1, -1};
  int64_t start = now();
  EXPECT_SYSCALL_FAILS_WITH(nanosleep(&req, &rem), EINTR);
  int64_t took = now() - start;
  EXPECT_EQ(g_count.load(), 1);
  EXPECT_LT(took, 2 * kSec);
  EXPECT_GT(ns(rem), kSec);
  EXPECT_LE(ns(rem), 3 * kSec);
}

TEST(ClockNanosleep, MonotonicRelativeSleepsAtLeastTheRequest) {
  timespec req = ts_of(30 * kMs);
  int64_t start = now();
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, nullptr), 0);
  EXPECT_GE(now() - start, 30 * kMs);
}

TEST(ClockNanosleep, MonotonicAbsoluteSleepsUntilTheDeadline) {
  int64_t deadline = now() + 40 * kMs;
  timespec req = ts_of(deadline);
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &req, nullptr), 0);
  EXPECT_GE(now(), deadline);
  EXPECT_LT(now(), deadline + kSec);
}

TEST(ClockNanosleep, RealtimeAbsoluteSleepsUntilTheDeadline) {
  int64_t deadline = now(CLOCK_REALTIME) + 40 * kMs;
  timespec req = ts_of(deadline);
  EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &req, nullptr), 0);
  EXPECT_GE(now(CLOCK_REALTIME), deadline);
  EXPECT_LT(now(CLOCK_REALTIME), deadline + kSec);
}

TEST(ClockNanosleep, AbsoluteDeadlineInThePastReturnsAtOnce) {
  timespec req = ts_of(now() - kSec);
  int64_t start = now();
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &req, nullptr), 0);
  EXPECT_LT(now() - start, 500 * kMs);
  timespec zero{0, 0};
  EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &zero, nullptr), 0);
}

TEST(ClockNanosleep, BadClockAndTimespecAreEinval) {
  timespec req = ts_of(kMs);
  EXPECT_EQ(clock_nanosleep(12345, 0, &req, nullptr), EINVAL);
  EXPECT_EQ(clock_nanosleep(-12345, 0, &req, nullptr), EINVAL);
  timespec bad{0, 2000000000};
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr), EINVAL);
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &bad, nullptr), EINVAL);
}

TEST(ClockNanosleep, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, reinterpret_cast<void*>(8), nullptr),
                            EFAULT);
}

TEST(ClockNanosleep, InterruptedRelativeSleepReportsTheRemainder) {
  Handler h(SIGALRM);
  ItimerGuard guard(ITIMER_REAL);
  itimerval it{{0, 0}, tv_of(50 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  timespec req = ts_of(3 * kSec), rem{-1, -1};
  EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem), EINTR);
  EXPECT_GT(ns(rem), kSec);
  EXPECT_LE(ns(rem), 3 * kSec);
}

namespace {
std::atomic<bool> g_burner_stop{false};
void* burner_main(void*) {
  burn_until([] { return g_burner_stop.load(); }, 5 * kSec);
  return nullptr;
}
}  // namespace

TEST(ClockNanosleep, ProcessCpuClockWaitsForCpuTime) {
  // Another thread burns CPU while this one sleeps on the process's clock.
  g_burner_stop = false;
  pthread_t burner;
  ASSERT_EQ(pthread_create(&burner, nullptr, burner_main, nullptr), 0);
  int64_t cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
  timespec req = ts_of(50 * kMs);
  int r = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &req, nullptr);
  int64_t spent = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  g_burner_stop = true;
  pthread_join(burner, nullptr);
  EXPECT_EQ(r, 0);
  EXPECT_GE(spent, 50 * kMs);
  // No sleeping on a thread's CPU clock.
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, nullptr), EOPNOTSUPP);
}

// ---- clock_getres and the CPU clocks of clock_getcpuclockid ----

TEST(ClockGetres, HighResolutionAndCoarseClocks) {
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID,
                      CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW}) {
    timespec res{-1, -1};
    EXPECT_SYSCALL_SUCCEEDS_WITH(clock_getres(c, &res), 0);
    EXPECT_EQ(ns(res), 1);
  }
  timespec coarse{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(clock_getres(CLOCK_MONOTONIC_COARSE, &coarse), 0);
  EXPECT_GT(ns(coarse), 1);
  EXPECT_LE(ns(coarse), 10 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_getres, 12345, &coarse), EINVAL);
}

TEST(CpuClock, ProcessAndThreadClockIdsOfSelfAreReadable) {
  clockid_t process_clock, thread_clock;
  ASSERT_EQ(clock_getcpuclockid(getpid(), &process_clock), 0);
  ASSERT_EQ(pthread_getcpuclockid(pthread_self(), &thread_clock), 0);
  timespec a{}, b{}, res{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_gettime, process_clock, &a), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_gettime, thread_clock, &b), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_getres, thread_clock, &res), 0);
  EXPECT_GT(ns(a), 0);
  EXPECT_GT(ns(b), 0);
  int64_t start = now(CLOCK_PROCESS_CPUTIME_ID);
  burn_until([&] { return now(CLOCK_PROCESS_CPUTIME_ID) - start >= 30 * kMs; }, 3 * kSec);
  timespec a2{}, b2{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_gettime, process_clock, &a2), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_clock_gettime, thread_clock, &b2), 0);
  EXPECT_GT(ns(a2) - ns(a), 10 * kMs);
  EXPECT_GT(ns(b2) - ns(b), 10 * kMs);
}

TEST(CpuClock, ClockOfNonexistentProcessIsEinval) {
  // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) for a pid that does not exist.
  clockid_t clock = static_cast<clockid_t>((~static_cast<clockid_t>(INT_MAX / 8) << 3) | 2);
  timespec ts;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clock_gettime, clock, &ts), EINVAL);
}

// ---- alarm ----

TEST(Alarm, ReturnsTheSecondsLeftAndZeroCancels) {
  ItimerGuard guard(ITIMER_REAL);
  EXPECT_EQ(alarm(0), 0u);
  EXPECT_EQ(alarm(100), 0u);
  unsigned left = alarm(50);
  EXPECT_GE(left, 99u);
  EXPECT_LE(left, 100u);
  left = alarm(0);
  EXPECT_GE(left, 49u);
  EXPECT_LE(left, 50u);
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_REAL, &cur));
  EXPECT_EQ(ns(cur.it_value), 0);
  EXPECT_EQ(alarm(0), 0u);
}

TEST(Alarm, SharesTheRealTimer) {
  ItimerGuard guard(ITIMER_REAL);
  alarm(20);
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_REAL, &cur));
  EXPECT_GT(ns(cur.it_value), 19 * kSec);
  EXPECT_LE(ns(cur.it_value), 20 * kSec);
  EXPECT_EQ(ns(cur.it_interval), 0);
  alarm(0);
}

TEST(Alarm, DeliversSigalrm) {
  Handler h(SIGALRM);
  ItimerGuard guard(ITIMER_REAL);
  int64_t start = now();
  alarm(1);
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_GE(now() - start, 900 * kMs);
  EXPECT_EQ(g_signo.load(), SIGALRM);
  EXPECT_EQ(g_code.load(), SI_KERNEL);
}

// ---- setitimer and getitimer ----

TEST(Itimer, RealIntervalFiresRepeatedly) {
  Handler h(SIGALRM);
  ItimerGuard guard(ITIMER_REAL);
  itimerval it{tv_of(20 * kMs), tv_of(20 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  EXPECT_TRUE(wait_until([] { return g_count >= 3; }, 3 * kSec));
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_REAL, &cur));
  EXPECT_EQ(ns(cur.it_interval), 20 * kMs);
  EXPECT_GT(ns(cur.it_value), 0);
  EXPECT_LE(ns(cur.it_value), 20 * kMs);
}

TEST(Itimer, SetReturnsTheOldValue) {
  ItimerGuard guard(ITIMER_REAL);
  itimerval first{tv_of(kSec), tv_of(10 * kSec)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &first, nullptr));
  itimerval second{{0, 0}, tv_of(5 * kSec)}, old{};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &second, &old));
  EXPECT_EQ(ns(old.it_interval), kSec);
  EXPECT_GT(ns(old.it_value), 9 * kSec);
  EXPECT_LE(ns(old.it_value), 10 * kSec);
  itimerval zero{}, old2{};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &zero, &old2));
  EXPECT_EQ(ns(old2.it_interval), 0);
  EXPECT_GT(ns(old2.it_value), 4 * kSec);
}

TEST(Itimer, BadWhichAndTimevalAreEinval) {
  itimerval it{}, old{};
  EXPECT_SYSCALL_FAILS_WITH(setitimer(static_cast<__itimer_which>(5), &it, &old), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(getitimer(static_cast<__itimer_which>(5), &old), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getitimer, -1, &old), EINVAL);
  itimerval bad{{0, 0}, {0, 1000000}};
  EXPECT_SYSCALL_FAILS_WITH(setitimer(ITIMER_REAL, &bad, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(setitimer(ITIMER_VIRTUAL, &bad, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getitimer, ITIMER_REAL, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Itimer, VirtualFiresSigvtalrmDuringABusyLoop) {
  Handler h(SIGVTALRM);
  ItimerGuard guard(ITIMER_VIRTUAL);
  itimerval it{{0, 0}, tv_of(50 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_VIRTUAL, &it, nullptr));
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_VIRTUAL, &cur));
  EXPECT_GT(ns(cur.it_value), 0);
  EXPECT_LE(ns(cur.it_value), 60 * kMs);  // Linux adds a tick to CPU itimers
  int64_t cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
  EXPECT_TRUE(burn_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_GE(now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start, 40 * kMs);
  EXPECT_EQ(g_signo.load(), SIGVTALRM);
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_VIRTUAL, &cur));
  EXPECT_EQ(ns(cur.it_value), 0);
}

TEST(Itimer, ProfIntervalFiresSigprofDuringABusyLoop) {
  Handler h(SIGPROF);
  ItimerGuard guard(ITIMER_PROF);
  itimerval it{tv_of(20 * kMs), tv_of(20 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_PROF, &it, nullptr));
  EXPECT_TRUE(burn_until([] { return g_count >= 3; }, 3 * kSec));
  EXPECT_EQ(g_signo.load(), SIGPROF);
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_PROF, &cur));
  EXPECT_EQ(ns(cur.it_interval), 20 * kMs);
}

TEST(Itimer, VirtualDoesNotCountSleep) {
  ItimerGuard guard(ITIMER_VIRTUAL);
  itimerval it{{0, 0}, tv_of(kSec)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_VIRTUAL, &it, nullptr));
  sleep_ns(100 * kMs);
  itimerval cur;
  ASSERT_SYSCALL_SUCCEEDS(getitimer(ITIMER_VIRTUAL, &cur));
  EXPECT_GT(ns(cur.it_value), 950 * kMs);
}

TEST(Itimer, NotInheritedAcrossFork) {
  ItimerGuard guard(ITIMER_REAL);
  itimerval it{{0, 0}, tv_of(30 * kSec)};
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  pid_t child = fork();
  ASSERT_SYSCALL_SUCCEEDS(child);
  if (child == 0) {
    itimerval cur;
    if (getitimer(ITIMER_REAL, &cur) != 0) _exit(2);
    _exit(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- POSIX timers ----

TEST(TimerCreate, SigevSignalCarriesTheTimerAndValue) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0x5eed);
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kMs));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_EQ(g_signo.load(), SIGUSR1);
  EXPECT_EQ(g_code.load(), SI_TIMER);
  EXPECT_EQ(g_value.load(), 0x5eed);
  EXPECT_EQ(g_timerid.load(), t.id);
  EXPECT_EQ(g_overrun.load(), 0);
  EXPECT_EQ(raw_timer_getoverrun(t.id), 0);
  sleep_ns(30 * kMs);
  EXPECT_EQ(g_count.load(), 1);  // one-shot
}

TEST(TimerCreate, GlibcTimerIdIsTheKernelId) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 7);
  timer_t timer;
  ASSERT_SYSCALL_SUCCEEDS(timer_create(CLOCK_MONOTONIC, &sev, &timer));
  itimerspec its{{0, 0}, ts_of(5 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(timer_settime(timer, 0, &its, nullptr));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_EQ(g_timerid.load(), static_cast<int>(reinterpret_cast<intptr_t>(timer)));
  EXPECT_SYSCALL_SUCCEEDS(timer_delete(timer));
}

TEST(TimerCreate, NullSigeventSendsSigalrmWithTheId) {
  Handler h(SIGALRM);
  int id = -1;
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_create(CLOCK_MONOTONIC, nullptr, &id));
  itimerspec its{{0, 0}, ts_of(5 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_settime(id, 0, &its, nullptr));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_EQ(g_signo.load(), SIGALRM);
  EXPECT_EQ(g_code.load(), SI_TIMER);
  EXPECT_EQ(g_value.load(), id);
  EXPECT_EQ(g_timerid.load(), id);
  EXPECT_SYSCALL_SUCCEEDS(raw_timer_delete(id));
}

TEST(TimerCreate, DistinctIdsForEachTimer) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer a(CLOCK_MONOTONIC, &sev), b(CLOCK_MONOTONIC, &sev), c(CLOCK_REALTIME, &sev);
  ASSERT_GE(a.id, 0);
  ASSERT_GE(b.id, 0);
  ASSERT_GE(c.id, 0);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(b.id, c.id);
  EXPECT_NE(a.id, c.id);
}

TEST(TimerCreate, SigevNoneCountsDownWithoutASignal) {
  Handler h(SIGALRM);
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_EQ(ns(cur.it_value), 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(200 * kMs));
  sleep_ns(50 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_GT(ns(cur.it_value), 0);
  EXPECT_LE(ns(cur.it_value), 150 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(20 * kMs));
  sleep_ns(50 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_EQ(ns(cur.it_value), 0);
  EXPECT_EQ(g_count.load(), 0);
}

TEST(TimerCreate, SigevNoneIntervalReloads) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kMs, 40 * kMs));
  sleep_ns(30 * kMs);
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_EQ(ns(cur.it_interval), 40 * kMs);
  EXPECT_GT(ns(cur.it_value), 0);
  EXPECT_LE(ns(cur.it_value), 40 * kMs);
}

namespace {
std::atomic<pid_t> g_worker_tid{0};
std::atomic<bool> g_worker_stop{false};
void* worker_main(void*) {
  g_worker_tid = static_cast<pid_t>(syscall(SYS_gettid));
  while (!g_worker_stop) sleep_ns(2 * kMs);
  return nullptr;
}
}  // namespace

TEST(TimerCreate, SigevThreadIdSignalsTheNamedThread) {
  Handler h(SIGUSR2);
  g_worker_stop = false;
  g_worker_tid = 0;
  pthread_t worker;
  ASSERT_EQ(pthread_create(&worker, nullptr, worker_main, nullptr), 0);
  wait_until([] { return g_worker_tid != 0; }, 3 * kSec);
  {
    // The main thread blocks it too: a thread-directed signal must still
    // reach the worker and only it.
    Blocked blocked({SIGUSR2});
    sigevent sev = signal_event(SIGUSR2, 3);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_notify_thread_id = g_worker_tid;
    Timer t(CLOCK_MONOTONIC, &sev);
    EXPECT_GE(t.id, 0);
    if (t.id >= 0) {
      EXPECT_SYSCALL_SUCCEEDS(t.arm(5 * kMs, 10 * kMs));
      EXPECT_TRUE(wait_until([] { return g_count >= 2; }, 3 * kSec));
      t.arm(0);
    }
    EXPECT_EQ(g_tid.load(), g_worker_tid.load());
    EXPECT_EQ(g_code.load(), SI_TIMER);
    EXPECT_EQ(g_value.load(), 3);
  }
  g_worker_stop = true;
  pthread_join(worker, nullptr);
}

TEST(TimerCreate, ThreadIdOutsideTheProcessIsEinval) {
  sigevent sev = signal_event(SIGUSR1, 0);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_notify_thread_id = getppid();
  int id;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, &id), EINVAL);
  sev.sigev_notify_thread_id = INT_MAX;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, &id), EINVAL);
}

TEST(TimerCreate, BadClockNotifyAndSignalAreEinval) {
  int id;
  sigevent sev = signal_event(SIGUSR1, 0);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(12345, &sev, &id), EINVAL);
  sev.sigev_notify = 99;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, &id), EINVAL);
  sev = signal_event(0, 0);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, &id), EINVAL);
  sev = signal_event(65, 0);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, &id), EINVAL);
}

TEST(TimerCreate, ClocksWithoutTimersAreEopnotsupp) {
  int id;
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC_RAW, &sev, &id), EOPNOTSUPP);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC_COARSE, &sev, &id), EOPNOTSUPP);
}

TEST(TimerCreate, BadPointersAreEfault) {
  int id;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, reinterpret_cast<sigevent*>(8), &id), EFAULT);
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_create(CLOCK_MONOTONIC, &sev, reinterpret_cast<int*>(8)), EFAULT);
}

TEST(TimerCreate, RealtimeClockFires) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 1);
  Timer t(CLOCK_REALTIME, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kMs));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
}

TEST(TimerCreate, BoottimeClockFires) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 1);
  Timer t(CLOCK_BOOTTIME, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kMs));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
}

TEST(TimerCreate, ProcessCpuClockFiresAfterCpuWork) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 2);
  Timer t(CLOCK_PROCESS_CPUTIME_ID, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(50 * kMs));
  // Sleeping does not spend the budget.
  sleep_ns(100 * kMs);
  EXPECT_EQ(g_count.load(), 0);
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_GT(ns(cur.it_value), 20 * kMs);
  int64_t cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
  EXPECT_TRUE(burn_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_GE(now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start, 20 * kMs);
  EXPECT_EQ(g_code.load(), SI_TIMER);
}

TEST(TimerCreate, ThreadCpuClockFiresAfterCpuWork) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 2);
  Timer t(CLOCK_THREAD_CPUTIME_ID, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(30 * kMs));
  EXPECT_TRUE(burn_until([] { return g_count > 0; }, 3 * kSec));
}

TEST(TimerSettime, AbsoluteDeadline) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0);
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  int64_t deadline = now() + 30 * kMs;
  ASSERT_SYSCALL_SUCCEEDS(t.arm(deadline, 0, TIMER_ABSTIME));
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_GT(ns(cur.it_value), 0);
  EXPECT_LE(ns(cur.it_value), 30 * kMs);
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_GE(now(), deadline);
  // A deadline already past fires at once.
  ASSERT_SYSCALL_SUCCEEDS(t.arm(now() - kSec, 0, TIMER_ABSTIME));
  EXPECT_TRUE(wait_until([] { return g_count > 1; }, 500 * kMs));
}

TEST(TimerSettime, RealtimeAbsoluteDeadline) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0);
  Timer t(CLOCK_REALTIME, &sev);
  ASSERT_GE(t.id, 0);
  int64_t deadline = now(CLOCK_REALTIME) + 30 * kMs;
  ASSERT_SYSCALL_SUCCEEDS(t.arm(deadline, 0, TIMER_ABSTIME));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  EXPECT_GE(now(CLOCK_REALTIME), deadline);
}

TEST(TimerSettime, IntervalReloads) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0);
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kMs, 10 * kMs));
  EXPECT_TRUE(wait_until([] { return g_count >= 4; }, 3 * kSec));
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_EQ(ns(cur.it_interval), 10 * kMs);
  EXPECT_LE(ns(cur.it_value), 10 * kMs);
}

TEST(TimerSettime, ReturnsTheOldValue) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  itimerspec old{};
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kSec, kSec, 0, &old));
  EXPECT_EQ(ns(old.it_value), 0);
  EXPECT_EQ(ns(old.it_interval), 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(5 * kSec, 0, 0, &old));
  EXPECT_GT(ns(old.it_value), 9 * kSec);
  EXPECT_LE(ns(old.it_value), 10 * kSec);
  EXPECT_EQ(ns(old.it_interval), kSec);
}

TEST(TimerSettime, ZeroDisarms) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0);
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(30 * kMs, 30 * kMs));
  itimerspec old{};
  ASSERT_SYSCALL_SUCCEEDS(t.arm(0, 0, 0, &old));
  EXPECT_GT(ns(old.it_value), 0);
  sleep_ns(80 * kMs);
  EXPECT_EQ(g_count.load(), 0);
  itimerspec cur{};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_EQ(ns(cur.it_value), 0);
  EXPECT_EQ(ns(cur.it_interval), 0);
}

TEST(TimerSettime, InvalidTimespecIsEinval) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  itimerspec bad{{0, 0}, {0, 1000000000}};
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_settime(t.id, 0, &bad, nullptr), EINVAL);
  itimerspec bad_interval{{0, -1}, {1, 0}};
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_settime(t.id, 0, &bad_interval, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_settime(t.id, 0, reinterpret_cast<itimerspec*>(8), nullptr), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_gettime(t.id, reinterpret_cast<itimerspec*>(8)), EFAULT);
}

TEST(TimerGetoverrun, CountsExpiriesWhileTheSignalIsBlocked) {
  Handler h(SIGUSR2);
  sigevent sev = signal_event(SIGUSR2, 0);
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  g_getoverrun_timer = t.id;
  {
    Blocked blocked({SIGUSR2});
    ASSERT_SYSCALL_SUCCEEDS(t.arm(2 * kMs, 2 * kMs));
    sleep_ns(100 * kMs);
    EXPECT_EQ(g_count.load(), 0);
  }
  // Unblocked: the handler ran and read the overrun of its signal.
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  t.arm(0);
  g_getoverrun_timer = -1;
  EXPECT_GE(g_getoverrun.load(), 10);
  EXPECT_LE(g_getoverrun.load(), 1000);
}

TEST(TimerDelete, IdIsInvalidAfterwards) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  int id = -1;
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_create(CLOCK_MONOTONIC, &sev, &id));
  itimerspec its{{0, 0}, ts_of(kSec)};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_settime(id, 0, &its, nullptr));
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_timer_delete(id), 0);
  itimerspec cur;
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_gettime(id, &cur), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_settime(id, 0, &its, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_getoverrun(id), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_delete(id), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_delete(-1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_timer_gettime(INT_MAX, &cur), EINVAL);
}

TEST(TimerDelete, DeletedTimerSendsNoMoreSignals) {
  Handler h(SIGUSR1);
  sigevent sev = signal_event(SIGUSR1, 0);
  int id = -1;
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_create(CLOCK_MONOTONIC, &sev, &id));
  itimerspec its{ts_of(5 * kMs), ts_of(5 * kMs)};
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_settime(id, 0, &its, nullptr));
  EXPECT_TRUE(wait_until([] { return g_count > 0; }, 3 * kSec));
  ASSERT_SYSCALL_SUCCEEDS(raw_timer_delete(id));
  sleep_ns(10 * kMs);
  int seen = g_count;
  sleep_ns(50 * kMs);
  EXPECT_EQ(g_count.load(), seen);
}

TEST(TimerFork, TimersAreNotInherited) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_NONE;
  Timer t(CLOCK_MONOTONIC, &sev);
  ASSERT_GE(t.id, 0);
  ASSERT_SYSCALL_SUCCEEDS(t.arm(10 * kSec));
  pid_t child = fork();
  ASSERT_SYSCALL_SUCCEEDS(child);
  if (child == 0) {
    itimerspec cur;
    long r = syscall(SYS_timer_gettime, t.id, &cur);
    _exit(r == -1 && errno == EINVAL ? 0 : 1);
  }
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  itimerspec cur{};
  EXPECT_SYSCALL_SUCCEEDS(raw_timer_gettime(t.id, &cur));
  EXPECT_GT(ns(cur.it_value), 0);
}

// ---- getrusage and times: the CPU time behind the CPU clocks ----

namespace {
int64_t cpu_ns(const rusage& u) { return ns(u.ru_utime) + ns(u.ru_stime); }

// Forks a child that burns about burn_ns of CPU and exits; returns its pid.
pid_t fork_busy_child(int64_t burn_ns) {
  pid_t child = fork();
  if (child == 0) {
    int64_t start = now(CLOCK_PROCESS_CPUTIME_ID);
    burn_until([&] { return now(CLOCK_PROCESS_CPUTIME_ID) - start >= burn_ns; }, 5 * kSec);
    _exit(0);
  }
  return child;
}
}  // namespace

TEST(Getrusage, SelfUserTimeGrowsWithBusyWork) {
  rusage before{}, after{};
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_SELF, &before));
  int64_t start = now(CLOCK_PROCESS_CPUTIME_ID);
  burn_until([&] { return now(CLOCK_PROCESS_CPUTIME_ID) - start >= 100 * kMs; }, 3 * kSec);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_SELF, &after));
  EXPECT_GE(ns(after.ru_utime) - ns(before.ru_utime), 50 * kMs);
  EXPECT_GE(ns(after.ru_stime), ns(before.ru_stime));
  EXPECT_GT(after.ru_maxrss, 0);
  // The process CPU clock and getrusage tell the same story.
  EXPECT_LE(cpu_ns(after), now(CLOCK_PROCESS_CPUTIME_ID) + 20 * kMs);
}

TEST(Getrusage, ThreadUserTimeGrowsWithBusyWork) {
  rusage before{}, after{};
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_THREAD, &before));
  int64_t start = now(CLOCK_THREAD_CPUTIME_ID);
  burn_until([&] { return now(CLOCK_THREAD_CPUTIME_ID) - start >= 100 * kMs; }, 3 * kSec);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_THREAD, &after));
  EXPECT_GE(cpu_ns(after) - cpu_ns(before), 50 * kMs);
}

TEST(Getrusage, ChildrenCountsAWaitedBusyChild) {
  rusage before{}, after{};
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &before));
  pid_t child = fork_busy_child(150 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(child);
  // Exited but not yet waited for: not counted.
  siginfo_t info{};
  ASSERT_SYSCALL_SUCCEEDS(waitid(P_PID, child, &info, WEXITED | WNOWAIT));
  rusage middle{};
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &middle));
  EXPECT_LT(cpu_ns(middle) - cpu_ns(before), 50 * kMs);
  int status;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &after));
  EXPECT_GE(cpu_ns(after) - cpu_ns(before), 100 * kMs);
  EXPECT_LT(cpu_ns(after) - cpu_ns(before), 2 * kSec);
}

TEST(Getrusage, Wait4ReportsTheChildsUsage) {
  pid_t child = fork_busy_child(100 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(child);
  int status;
  rusage usage{};
  ASSERT_SYSCALL_SUCCEEDS_WITH(wait4(child, &status, 0, &usage), child);
  EXPECT_GE(cpu_ns(usage), 70 * kMs);
  EXPECT_LT(cpu_ns(usage), 2 * kSec);
}

TEST(Times, ReportsOwnAndChildrenTicks) {
  long hz = sysconf(_SC_CLK_TCK);
  ASSERT_GT(hz, 0);
  tms before{}, after{};
  clock_t t0 = times(&before);
  ASSERT_TRUE(t0 != static_cast<clock_t>(-1));
  int64_t start = now(CLOCK_PROCESS_CPUTIME_ID);
  burn_until([&] { return now(CLOCK_PROCESS_CPUTIME_ID) - start >= 100 * kMs; }, 3 * kSec);
  pid_t child = fork_busy_child(150 * kMs);
  ASSERT_SYSCALL_SUCCEEDS(child);
  int status;
  ASSERT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  clock_t t1 = times(&after);
  // The return value counts ticks of elapsed real time.
  EXPECT_GE(t1 - t0, hz / 10);
  EXPECT_GE((after.tms_utime + after.tms_stime) - (before.tms_utime + before.tms_stime), hz / 20);
  EXPECT_GE((after.tms_cutime + after.tms_cstime) - (before.tms_cutime + before.tms_cstime), hz / 10);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_times, reinterpret_cast<void*>(8)), EFAULT);
  EXPECT_GT(syscall(SYS_times, nullptr), 0);
}

namespace {
std::atomic<int> g_thread_notified{0};
void on_timer_thread(sigval v) { g_thread_notified += v.sival_int; }
}  // namespace

// glibc builds SIGEV_THREAD on SIGEV_THREAD_ID: a helper thread waits for
// the timer's signal with sigwaitinfo and runs the function.
TEST(TimerCreate, GlibcSigevThreadRunsTheFunction) {
  g_thread_notified = 0;
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = on_timer_thread;
  sev.sigev_value.sival_int = 1;
  timer_t timer;
  ASSERT_SYSCALL_SUCCEEDS(timer_create(CLOCK_MONOTONIC, &sev, &timer));
  itimerspec its{ts_of(5 * kMs), ts_of(5 * kMs)};
  EXPECT_SYSCALL_SUCCEEDS(timer_settime(timer, 0, &its, nullptr));
  EXPECT_TRUE(wait_until([] { return g_thread_notified >= 2; }, 3 * kSec));
  EXPECT_SYSCALL_SUCCEEDS(timer_delete(timer));
}
