// Conformance: futex(2) (waits, wakes, bitsets, requeues, FUTEX_WAKE_OP,
// private and shared futexes, PI), the futex2 calls futex_waitv(2),
// futex_wait(2), futex_wake(2) and futex_requeue(2), robust futex lists
// (set_robust_list(2), get_robust_list(2), robust pthread mutexes) and the
// futex wake of CLONE_CHILD_CLEARTID.
//
// Every waiter (a thread, or a forked child for shared futexes) waits with a
// safety timeout, so a missed wake fails a case instead of hanging the
// binary; every case joins its threads and reaps its children.
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "harness.h"

using namespace conformance;

// The futex2 calls (Linux 6.7); older headers lack their numbers and flags.
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef SYS_futex_wake
#define SYS_futex_wake 454
#endif
#ifndef SYS_futex_wait
#define SYS_futex_wait 455
#endif
#ifndef SYS_futex_requeue
#define SYS_futex_requeue 456
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U8 0x00
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif

namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kSafetyNs = 5000 * kMs;  // no waiter in a passing case waits this long

long futex(uint32_t* uaddr, int op, uint32_t val, const timespec* ts = nullptr, uint32_t* uaddr2 = nullptr,
           uint32_t val3 = 0) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

// The requeue and wake-op forms carry a count (val2) in the timeout's place.
long futex_val2(uint32_t* uaddr, int op, uint32_t val, uint32_t val2, uint32_t* uaddr2, uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, static_cast<unsigned long>(val2), uaddr2, val3);
}

int64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

timespec to_timespec(int64_t ns) { return timespec{ns / 1000000000LL, ns % 1000000000LL}; }

timespec deadline_in(int64_t ns, clockid_t clock = CLOCK_MONOTONIC) { return to_timespec(now_ns(clock) + ns); }

void sleep_ms(int ms) { usleep(static_cast<useconds_t>(ms) * 1000); }

int private_flag(bool is_private) { return is_private ? FUTEX_PRIVATE_FLAG : 0; }

// How many waiters are queued on uaddr: requeueing a futex onto itself moves
// no one, and the kernel's futex_requeue counts every waiter it passes.
long queued(uint32_t* uaddr, bool is_private = true) {
  return futex_val2(uaddr, FUTEX_REQUEUE | private_flag(is_private), 0, INT_MAX, uaddr, 0);
}

// Waits (polling, bounded) until at least n waiters are queued on uaddr.
bool wait_for_queued(uint32_t* uaddr, long n, bool is_private = true) {
  int64_t end = now_ns() + kSafetyNs;
  while (now_ns() < end) {
    if (queued(uaddr, is_private) >= n) return true;
    sleep_ms(1);
  }
  return false;
}

// A thread that waits once on a futex and records how the wait ended.
struct Waiter {
  uint32_t* addr = nullptr;
  int op = FUTEX_WAIT_PRIVATE;
  uint32_t val = 0;
  uint32_t bitset = FUTEX_BITSET_MATCH_ANY;
  long ret = 0;
  int err = 0;
  std::atomic<bool> done{false};
  pthread_t thread{};
  bool started = false;

  static void* main(void* arg) {
    auto* w = static_cast<Waiter*>(arg);
    int cmd = w->op & FUTEX_CMD_MASK;
    timespec ts = cmd == FUTEX_WAIT
                      ? to_timespec(kSafetyNs)
                      : deadline_in(kSafetyNs, (w->op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC);
    long r = futex(w->addr, w->op, w->val, &ts, nullptr, w->bitset);
    w->err = r == -1 ? errno : 0;
    w->ret = r;
    w->done.store(true);
    return nullptr;
  }
  void start(uint32_t* a, int o = FUTEX_WAIT_PRIVATE, uint32_t v = 0, uint32_t bits = FUTEX_BITSET_MATCH_ANY) {
    addr = a;
    op = o;
    val = v;
    bitset = bits;
    started = pthread_create(&thread, nullptr, &Waiter::main, this) == 0;
  }
  void join() {
    if (started) pthread_join(thread, nullptr);
    started = false;
  }
  bool woken() const { return done.load() && ret == 0; }
  ~Waiter() { join(); }
};

// Waits (bounded) until at least n of the waiters are done.
int wait_done(std::vector<Waiter>& ws, int n) {
  int64_t end = now_ns() + kSafetyNs;
  for (;;) {
    int count = 0;
    for (auto& w : ws) count += w.done.load();
    if (count >= n || now_ns() >= end) return count;
    sleep_ms(1);
  }
}

int count_done(std::vector<Waiter>& ws) {
  int count = 0;
  for (auto& w : ws) count += w.done.load();
  return count;
}

// A page of MAP_SHARED anonymous memory, unmapped at scope exit.
struct SharedPage {
  void* mem = MAP_FAILED;
  SharedPage() { mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0); }
  explicit SharedPage(int fd) { mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); }
  ~SharedPage() {
    if (mem != MAP_FAILED) munmap(mem, 4096);
  }
  bool ok() const { return mem != MAP_FAILED; }
  uint32_t* word(size_t i = 0) const { return static_cast<uint32_t*>(mem) + i; }
};

// An unmapped page: reserved, then released.
uint32_t* unmapped_address() {
  void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(p, 4096);
  return static_cast<uint32_t*>(p);
}

// Forks a child that runs fn and exits with its result (with an alarm as a
// backstop should it block).
pid_t fork_child(const std::function<int()>& fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(fn());
  }
  return pid;
}

// Reaps pid within a deadline (killing it after); returns its wait status,
// or -1 when it had to be killed.
int reap(pid_t pid, int64_t timeout_ns = 2 * kSafetyNs) {
  if (pid <= 0) return -1;
  int64_t end = now_ns() + timeout_ns;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (now_ns() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    sleep_ms(1);
  }
}

bool exited_with(int status, int code) { return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code; }

pid_t gettid_raw() { return static_cast<pid_t>(syscall(SYS_gettid)); }

long set_robust_list(void* head, size_t len) { return syscall(SYS_set_robust_list, head, len); }
long get_robust_list(pid_t pid, void* head_ptr, void* len_ptr) {
  return syscall(SYS_get_robust_list, pid, head_ptr, len_ptr);
}

// Restores a signal's disposition when a case ends.
struct SavedAction {
  int sig;
  struct sigaction old {};
  explicit SavedAction(int s) : sig(s) { sigaction(sig, nullptr, &old); }
  ~SavedAction() { sigaction(sig, &old, nullptr); }
};

std::atomic<int> g_signals{0};
void count_signal(int) { g_signals.fetch_add(1); }

}  // namespace

// ---------------------------------------------------------------- waiting

TEST(Futex, WaitValueMismatchIsEagain) {
  uint32_t word = 1;
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT, 0), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 2, nullptr, nullptr, 1), EAGAIN);
}

TEST(Futex, WaitRelativeTimeoutExpires) {
  uint32_t word = 0;
  timespec ts = to_timespec(50 * kMs);
  int64_t start = now_ns();
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts), ETIMEDOUT);
  int64_t elapsed = now_ns() - start;
  EXPECT_GE(elapsed, 50 * kMs);
  EXPECT_LT(elapsed, kSafetyNs);
}

TEST(Futex, WaitZeroTimeoutReturnsAtOnce) {
  uint32_t word = 0;
  timespec ts{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts), ETIMEDOUT);
}

TEST(Futex, WaitInvalidTimeoutIsEinval) {
  // The timeout is checked before the value (kernel sys_futex).
  uint32_t word = 1;
  timespec bad_nsec{0, 1000000000};
  timespec negative{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad_nsec), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 1, &negative), EINVAL);
}

TEST(Futex, WaitBadTimeoutPointerIsEfault) {
  uint32_t word = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0, reinterpret_cast<timespec*>(unmapped_address())),
                            EFAULT);
}

TEST(Futex, WaitBitsetAbsoluteMonotonicDeadline) {
  uint32_t word = 0;
  int64_t start = now_ns();
  timespec deadline = to_timespec(start + 50 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &deadline, nullptr, FUTEX_BITSET_MATCH_ANY),
                            ETIMEDOUT);
  EXPECT_GE(now_ns(), start + 50 * kMs);
  EXPECT_LT(now_ns() - start, kSafetyNs);
}

TEST(Futex, WaitBitsetAbsoluteRealtimeDeadline) {
  uint32_t word = 0;
  int64_t start = now_ns(CLOCK_REALTIME);
  timespec deadline = to_timespec(start + 50 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &deadline, nullptr,
                                  FUTEX_BITSET_MATCH_ANY),
                            ETIMEDOUT);
  EXPECT_GE(now_ns(CLOCK_REALTIME), start + 50 * kMs);
  EXPECT_LT(now_ns(CLOCK_REALTIME) - start, kSafetyNs);
}

TEST(Futex, WaitBitsetPastDeadlineTimesOutAtOnce) {
  uint32_t word = 0;
  timespec past = to_timespec(now_ns() - 1000 * kMs);
  int64_t start = now_ns();
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, nullptr, FUTEX_BITSET_MATCH_ANY),
                            ETIMEDOUT);
  EXPECT_LT(now_ns() - start, 500 * kMs);
}

TEST(Futex, ZeroBitsetIsEinval) {
  uint32_t word = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, nullptr, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0), EINVAL);
}

TEST(Futex, ClockRealtimeOnlyWithWaits) {
  uint32_t word = 1;
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1), ENOSYS);
  // Not with FUTEX_WAIT either, on current kernels.
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE | FUTEX_CLOCK_REALTIME, 0), ENOSYS);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, nullptr, nullptr,
                                  FUTEX_BITSET_MATCH_ANY),
                            EAGAIN);
}

TEST(Futex, UnknownOperationIsEnosys) {
  uint32_t word = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, 64, 0), ENOSYS);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, 99 | FUTEX_PRIVATE_FLAG, 0), ENOSYS);
}

TEST(Futex, UnalignedAddressIsEinval) {
  alignas(8) uint32_t words[2] = {0, 0};
  auto* odd = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(words) + 1);
  EXPECT_SYSCALL_FAILS_WITH(futex(odd, FUTEX_WAIT_PRIVATE, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex(odd, FUTEX_WAKE_PRIVATE, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex(odd, FUTEX_WAKE, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(words, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, odd, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(words, FUTEX_WAKE_OP_PRIVATE, 1, 1, odd, 0), EINVAL);
}

TEST(Futex, BadAddressIsEfault) {
  uint32_t* gone = unmapped_address();
  EXPECT_SYSCALL_FAILS_WITH(futex(gone, FUTEX_WAIT_PRIVATE, 0), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(futex(gone, FUTEX_WAIT, 0), EFAULT);
  // A shared wake must find what backs the address; a private one only keys
  // on it (kernel get_futex_key), so it wakes no one.
  EXPECT_SYSCALL_FAILS_WITH(futex(gone, FUTEX_WAKE, 1), EFAULT);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(gone, FUTEX_WAKE_PRIVATE, 1), 0);
  // Beyond the user address space, even a private key is refused.
  auto* kernel_half = reinterpret_cast<uint32_t*>(0xffff800000000000ULL);
  EXPECT_SYSCALL_FAILS_WITH(futex(kernel_half, FUTEX_WAKE_PRIVATE, 1), EFAULT);
  uint32_t word = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(gone, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &word, 0), EFAULT);
}

TEST(Futex, WaitInterruptedBySignalIsEintr) {
  SavedAction saved(SIGALRM);
  struct sigaction sa {};
  sa.sa_handler = count_signal;
  sigaction(SIGALRM, &sa, nullptr);
  g_signals = 0;
  itimerval it{};
  it.it_value.tv_usec = 50000;
  setitimer(ITIMER_REAL, &it, nullptr);
  uint32_t word = 0;
  timespec ts = to_timespec(kSafetyNs);
  int64_t start = now_ns();
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts), EINTR);
  EXPECT_LT(now_ns() - start, kSafetyNs);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  EXPECT_EQ(g_signals.load(), 1);
}

TEST(Futex, WaitWithoutTimeoutRestartsAfterSaRestartHandler) {
  // signal(7): FUTEX_WAIT is restarted after an SA_RESTART handler.
  SavedAction saved(SIGUSR1);
  struct sigaction sa {};
  sa.sa_handler = count_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  g_signals = 0;
  static uint32_t word;
  word = 0;
  static pthread_t waiter;
  waiter = pthread_self();
  static std::atomic<int> requeued;
  requeued = -1;
  pthread_t helper;
  pthread_create(
      &helper, nullptr,
      [](void*) -> void* {
        if (!wait_for_queued(&word, 1)) return nullptr;
        pthread_kill(waiter, SIGUSR1);
        int64_t end = now_ns() + kSafetyNs;
        while (g_signals.load() == 0 && now_ns() < end) sleep_ms(1);
        // Back in the wait after the handler: the wake finds it there.
        requeued = wait_for_queued(&word, 1);
        __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
        futex(&word, FUTEX_WAKE_PRIVATE, 1);
        return nullptr;
      },
      nullptr);
  long r = futex(&word, FUTEX_WAIT_PRIVATE, 0);
  int err = errno;
  pthread_join(helper, nullptr);
  EXPECT_EQ(r, 0);
  if (r != 0) EXPECT_EQ(err, 0);
  EXPECT_EQ(g_signals.load(), 1);
  EXPECT_EQ(requeued.load(), 1);
}

// ---------------------------------------------------------------- waking

TEST(Futex, WakeWithNoWaitersReturnsZero) {
  uint32_t word = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 1), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE, INT_MAX), 0);
}

TEST(Futex, WakeWakesAtMostTheCount) {
  uint32_t word = 0;
  std::vector<Waiter> ws(4);
  for (auto& w : ws) w.start(&word);
  ASSERT_TRUE(wait_for_queued(&word, 4));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 2), 2);
  EXPECT_EQ(wait_done(ws, 2), 2);
  sleep_ms(20);
  EXPECT_EQ(count_done(ws), 2);
  EXPECT_EQ(queued(&word), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX), 2);
  for (auto& w : ws) {
    w.join();
    EXPECT_EQ(w.ret, 0);
  }
}

TEST(Futex, WakeCountZeroStillWakesOne) {
  // Kernel futex_wake counts a waiter before comparing with the count.
  // So does a negative one: UINT32_MAX is -1 there, not "all".
  uint32_t word = 0;
  std::vector<Waiter> ws(3);
  for (auto& w : ws) w.start(&word);
  ASSERT_TRUE(wait_for_queued(&word, 3));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 0), 1);
  EXPECT_EQ(wait_done(ws, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, UINT32_MAX), 1);
  EXPECT_EQ(wait_done(ws, 2), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX), 1);
  for (auto& w : ws) {
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

TEST(Futex, WaitersWakeInArrivalOrder) {
  uint32_t word = 0;
  std::vector<Waiter> ws(3);
  for (size_t i = 0; i < ws.size(); i++) {
    ws[i].start(&word);
    ASSERT_TRUE(wait_for_queued(&word, static_cast<long>(i + 1)));
  }
  for (size_t i = 0; i < ws.size(); i++) {
    EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 1), 1);
    ws[i].join();
    EXPECT_TRUE(ws[i].woken());
  }
}

TEST(Futex, WakeBitsetWakesOnlyMatchingWaiters) {
  uint32_t word = 0;
  std::vector<Waiter> ws(3);
  ws[0].start(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, 0x1);
  ws[1].start(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, 0x2);
  ws[2].start(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, 0x6);
  ASSERT_TRUE(wait_for_queued(&word, 3));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, nullptr, nullptr, 0x2), 2);
  ws[1].join();
  ws[2].join();
  EXPECT_TRUE(ws[1].woken());
  EXPECT_TRUE(ws[2].woken());
  EXPECT_FALSE(ws[0].done.load());
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, nullptr, nullptr, 0x8), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX), 1);
  ws[0].join();
  EXPECT_TRUE(ws[0].woken());
}

TEST(Futex, BitsetWakeWakesPlainWaiter) {
  // FUTEX_WAIT waits with FUTEX_BITSET_MATCH_ANY.
  uint32_t word = 0;
  Waiter w;
  w.start(&word);
  ASSERT_TRUE(wait_for_queued(&word, 1));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0x10), 1);
  w.join();
  EXPECT_TRUE(w.woken());
}

TEST(Futex, WokenWaiterSeesNewValue) {
  uint32_t word = 0;
  Waiter w;
  w.start(&word, FUTEX_WAIT_BITSET_PRIVATE, 0);
  ASSERT_TRUE(wait_for_queued(&word, 1));
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 1), 1);
  w.join();
  EXPECT_TRUE(w.woken());
  // A new wait with the old value no longer sleeps.
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_WAIT_PRIVATE, 0), EAGAIN);
}

// ---------------------------------------------------------------- requeue

TEST(Futex, RequeueMovesWaitersToSecondFutex) {
  uint32_t a = 0, b = 0;
  std::vector<Waiter> ws(3);
  for (auto& w : ws) w.start(&a);
  ASSERT_TRUE(wait_for_queued(&a, 3));
  // One woken and two moved: the count covers both.
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex_val2(&a, FUTEX_REQUEUE_PRIVATE, 1, INT_MAX, &b, 0), 3);
  EXPECT_EQ(wait_done(ws, 1), 1);
  EXPECT_EQ(queued(&a), 0);
  EXPECT_EQ(queued(&b), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, INT_MAX), 2);
  for (auto& w : ws) {
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

TEST(Futex, RequeueHonoursBothCounts) {
  uint32_t a = 0, b = 0;
  std::vector<Waiter> ws(3);
  for (auto& w : ws) w.start(&a);
  ASSERT_TRUE(wait_for_queued(&a, 3));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex_val2(&a, FUTEX_REQUEUE_PRIVATE, 0, 1, &b, 0), 1);
  EXPECT_EQ(queued(&a), 2);
  EXPECT_EQ(queued(&b), 1);
  EXPECT_EQ(count_done(ws), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, INT_MAX), 1);
  for (auto& w : ws) w.join();
}

TEST(Futex, CmpRequeueValueMismatchIsEagain) {
  uint32_t a = 1, b = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &b, 0), EAGAIN);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex_val2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &b, 1), 0);
}

TEST(Futex, CmpRequeueMovedWaiterWokenOnSecondAddress) {
  uint32_t a = 7, b = 0;
  std::vector<Waiter> ws(2);
  for (auto& w : ws) w.start(&a, FUTEX_WAIT_PRIVATE, 7);
  ASSERT_TRUE(wait_for_queued(&a, 2));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex_val2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 0, 1, &b, 7), 1);
  // The moved waiter is woken by a wake on b, not on a.
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, 1), 1);
  EXPECT_EQ(wait_done(ws, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&a, FUTEX_WAKE_PRIVATE, 1), 1);
  for (auto& w : ws) {
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

TEST(Futex, RequeueNegativeCountIsEinval) {
  uint32_t a = 0, b = 0;
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_CMP_REQUEUE_PRIVATE, UINT32_MAX, 1, &b, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, UINT32_MAX, &b, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_REQUEUE_PRIVATE, UINT32_MAX, 1, &b, 0), EINVAL);
}

// ---------------------------------------------------------------- FUTEX_WAKE_OP

TEST(FutexWakeOp, OperationsUpdateSecondWord) {
  struct Case {
    int op;
    int oparg;
    uint32_t want;
  } cases[] = {
      {FUTEX_OP_SET, 5, 5},
      {FUTEX_OP_ADD, 2, 5},
      {FUTEX_OP_ADD, -1, 2},  // oparg is a signed 12-bit field
      {FUTEX_OP_OR, 4, 7},
      {FUTEX_OP_ANDN, 1, 2},
      {FUTEX_OP_XOR, 6, 5},
      {FUTEX_OP_OR | (FUTEX_OP_OPARG_SHIFT), 4, 3 | 16},  // oparg is 1 << 4
  };
  uint32_t a = 0;
  for (const Case& c : cases) {
    uint32_t b = 3;
    EXPECT_SYSCALL_SUCCEEDS_WITH(
        futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(c.op, c.oparg & 0xfff, FUTEX_OP_CMP_EQ, 0)), 0);
    EXPECT_EQ(b, c.want);
  }
}

TEST(FutexWakeOp, ComparisonOfOldValueDecidesSecondWake) {
  struct Case {
    int cmp;
    int cmparg;
    uint32_t old;
    bool wakes;
  } cases[] = {
      {FUTEX_OP_CMP_EQ, 10, 10, true}, {FUTEX_OP_CMP_EQ, 11, 10, false}, {FUTEX_OP_CMP_NE, 10, 10, false},
      {FUTEX_OP_CMP_NE, 9, 10, true},  {FUTEX_OP_CMP_LT, 11, 10, true},  {FUTEX_OP_CMP_LT, 10, 10, false},
      {FUTEX_OP_CMP_LE, 10, 10, true}, {FUTEX_OP_CMP_LE, 9, 10, false},  {FUTEX_OP_CMP_GT, 9, 10, true},
      {FUTEX_OP_CMP_GT, 10, 10, false}, {FUTEX_OP_CMP_GE, 10, 10, true}, {FUTEX_OP_CMP_GE, 11, 10, false},
      // The comparison is signed: 0xfffffff0 is -16.
      {FUTEX_OP_CMP_LT, 0, 0xfffffff0u, true}, {FUTEX_OP_CMP_GT, 0, 0xfffffff0u, false},
  };
  uint32_t a = 0;
  for (const Case& c : cases) {
    uint32_t b = c.old;
    Waiter w;
    w.start(&b, FUTEX_WAIT_PRIVATE, c.old);
    ASSERT_TRUE(wait_for_queued(&b, 1));
    // The op leaves b as it is (add 0); only the comparison matters.
    long r = futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_ADD, 0, c.cmp, c.cmparg & 0xfff));
    EXPECT_EQ(r, c.wakes ? 1 : 0);
    if (!c.wakes) EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, 1), 1);
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

TEST(FutexWakeOp, WakesWaitersOnBothAddresses) {
  uint32_t a = 0, b = 0;
  std::vector<Waiter> on_a(2), on_b(2);
  for (auto& w : on_a) w.start(&a);
  for (auto& w : on_b) w.start(&b);
  ASSERT_TRUE(wait_for_queued(&a, 2));
  ASSERT_TRUE(wait_for_queued(&b, 2));
  // One on a, and (old b == 0) one on b; b becomes 1.
  EXPECT_SYSCALL_SUCCEEDS_WITH(
      futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)), 2);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(queued(&a), 1);
  EXPECT_EQ(queued(&b), 1);
  // Now old b is 1: only a's waiter is woken.
  EXPECT_SYSCALL_SUCCEEDS_WITH(
      futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_SET, 2, FUTEX_OP_CMP_EQ, 0)), 1);
  EXPECT_EQ(b, 2u);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, 1), 1);
  for (auto& w : on_a) w.join();
  for (auto& w : on_b) w.join();
}

TEST(FutexWakeOp, UnknownOpOrComparisonIsEnosys) {
  uint32_t a = 0, b = 3;
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(7, 1, FUTEX_OP_CMP_EQ, 0)),
                            ENOSYS);
  EXPECT_EQ(b, 3u);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &b, FUTEX_OP(FUTEX_OP_SET, 1, 6, 0)),
                            ENOSYS);
}

TEST(FutexWakeOp, UnwritableSecondWordIsEfault) {
  uint32_t a = 0;
  EXPECT_SYSCALL_FAILS_WITH(
      futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, unmapped_address(), FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)),
      EFAULT);
  void* ro = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(ro != MAP_FAILED);
  EXPECT_SYSCALL_FAILS_WITH(futex_val2(&a, FUTEX_WAKE_OP_PRIVATE, 1, 1, static_cast<uint32_t*>(ro),
                                       FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)),
                            EFAULT);
  munmap(ro, 4096);
}

// ---------------------------------------------------------------- private and shared

TEST(Futex, SharedWakeDoesNotWakePrivateWaiter) {
  // The two flags key a futex differently (kernel get_futex_key): they
  // are not to be mixed on one word.
  uint32_t word = 0;
  Waiter w;
  w.start(&word, FUTEX_WAIT_PRIVATE);
  ASSERT_TRUE(wait_for_queued(&word, 1, true));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE, 1), 0);
  EXPECT_EQ(queued(&word, false), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 1), 1);
  w.join();
  EXPECT_TRUE(w.woken());
}

TEST(Futex, PrivateWakeDoesNotWakeSharedWaiter) {
  uint32_t word = 0;
  Waiter w;
  w.start(&word, FUTEX_WAIT);
  ASSERT_TRUE(wait_for_queued(&word, 1, false));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE_PRIVATE, 1), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_WAKE, 1), 1);
  w.join();
  EXPECT_TRUE(w.woken());
}

TEST(FutexShared, AnonymousSharedMappingChildWakesParent) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.word();
  pid_t pid = fork_child([&] {
    // Wake once the parent is queued: the child sees its waiter.
    int64_t end = now_ns() + kSafetyNs;
    while (now_ns() < end) {
      if (futex(word, FUTEX_WAKE, 1) == 1) return 0;
      sleep_ms(1);
    }
    return 1;
  });
  ASSERT_GT(pid, 0);
  timespec ts = to_timespec(kSafetyNs);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(word, FUTEX_WAIT, 0, &ts), 0);
  EXPECT_TRUE(exited_with(reap(pid), 0));
}

TEST(FutexShared, AnonymousSharedMappingParentWakesChild) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.word(5);
  pid_t pid = fork_child([&] {
    timespec ts = to_timespec(kSafetyNs);
    return futex(word, FUTEX_WAIT, 0, &ts) == 0 ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(wait_for_queued(word, 1, false));
  // Only the same word is the same futex.
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(page.word(4), FUTEX_WAKE, 1), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(word, FUTEX_WAKE, 1), 1);
  EXPECT_TRUE(exited_with(reap(pid), 0));
}

TEST(FutexShared, FileSharedMappingAcrossForkBothWays) {
  std::string path = temp_dir() + "/futex-file";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 8192));
  SharedPage page(fd);
  close(fd);
  ASSERT_TRUE(page.ok());
  uint32_t* child_waits = page.word(1);
  uint32_t* parent_waits = page.word(2);
  pid_t pid = fork_child([&] {
    timespec ts = to_timespec(kSafetyNs);
    if (futex(child_waits, FUTEX_WAIT, 0, &ts) != 0) return 1;
    int64_t end = now_ns() + kSafetyNs;
    while (now_ns() < end) {
      if (futex(parent_waits, FUTEX_WAKE, 1) == 1) return 0;
      sleep_ms(1);
    }
    return 2;
  });
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(wait_for_queued(child_waits, 1, false));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(child_waits, FUTEX_WAKE, 1), 1);
  timespec ts = to_timespec(kSafetyNs);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(parent_waits, FUTEX_WAIT, 0, &ts), 0);
  EXPECT_TRUE(exited_with(reap(pid), 0));
}

TEST(FutexShared, TwoMappingsOfOneFileAreOneFutex) {
  std::string path = temp_dir() + "/futex-file";
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  SharedPage first(fd), second(fd);
  close(fd);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(first.mem != second.mem);
  Waiter w;
  w.start(first.word(3), FUTEX_WAIT);
  ASSERT_TRUE(wait_for_queued(first.word(3), 1, false));
  EXPECT_EQ(queued(second.word(3), false), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(second.word(2), FUTEX_WAKE, 1), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(second.word(3), FUTEX_WAKE, 1), 1);
  w.join();
  EXPECT_TRUE(w.woken());
}

TEST(FutexShared, MemfdSharedMappingChildWakesParent) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(static_cast<int>(syscall(SYS_memfd_create, "futex", 0)));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  SharedPage page(fd);
  close(fd);
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.word();
  pid_t pid = fork_child([&] {
    int64_t end = now_ns() + kSafetyNs;
    while (now_ns() < end) {
      if (futex(word, FUTEX_WAKE, 1) == 1) return 0;
      sleep_ms(1);
    }
    return 1;
  });
  ASSERT_GT(pid, 0);
  timespec ts = to_timespec(kSafetyNs);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(word, FUTEX_WAIT, 0, &ts), 0);
  EXPECT_TRUE(exited_with(reap(pid), 0));
}

TEST(FutexShared, PrivateMappingIsNotSharedAcrossFork) {
  static uint32_t word = 0;
  uint32_t* addr = &word;
  pid_t pid = fork_child([&] {
    // Whatever the parent does, its waiter is not in this address space.
    int64_t end = now_ns() + 200 * kMs;
    while (now_ns() < end) {
      if (futex(addr, FUTEX_WAKE, 1) != 0 || futex(addr, FUTEX_WAKE_PRIVATE, 1) != 0) return 1;
      sleep_ms(5);
    }
    return 0;
  });
  ASSERT_GT(pid, 0);
  timespec ts = to_timespec(300 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex(addr, FUTEX_WAIT, 0, &ts), ETIMEDOUT);
  EXPECT_TRUE(exited_with(reap(pid), 0));
}

// ---------------------------------------------------------------- robust lists

namespace {

// A lock on a robust list: the kernel finds the word at the entry's address
// plus the head's futex_offset.
struct RobustLock {
  robust_list link{};
  uint32_t word = 0;
};

constexpr long kFutexOffset = offsetof(RobustLock, word) - offsetof(RobustLock, link);

// A thread that registers its own robust list, takes the locks in `owned`
// (word = its tid, plus `extra` bits), leaves `pending` in list_op_pending,
// and exits when released.
struct RobustOwner {
  robust_list_head head{};
  std::vector<RobustLock*> listed;
  RobustLock* pending = nullptr;
  uint32_t extra = 0;
  bool loop_to_self = false;  // the first entry points at itself
  std::atomic<pid_t> tid{0};
  std::atomic<bool> release{false};
  pthread_t thread{};

  static void* main(void* arg) {
    auto* o = static_cast<RobustOwner*>(arg);
    pid_t me = gettid_raw();
    o->head.futex_offset = kFutexOffset;
    o->head.list.next = &o->head.list;
    for (size_t i = o->listed.size(); i-- > 0;) {
      o->listed[i]->link.next = o->head.list.next;
      o->head.list.next = &o->listed[i]->link;
      if (o->listed[i]->word == 0) o->listed[i]->word = static_cast<uint32_t>(me) | o->extra;
    }
    if (o->loop_to_self && !o->listed.empty()) o->listed[0]->link.next = &o->listed[0]->link;
    if (o->pending) {
      if (o->pending->word == 0xffffffffu) o->pending->word = 0;
      else o->pending->word = static_cast<uint32_t>(me) | o->extra;
      o->head.list_op_pending = &o->pending->link;
    }
    set_robust_list(&o->head, sizeof o->head);
    o->tid.store(me);
    int64_t end = now_ns() + kSafetyNs;
    while (!o->release.load() && now_ns() < end) sleep_ms(1);
    return nullptr;  // exits holding everything
  }
  void start() { pthread_create(&thread, nullptr, &RobustOwner::main, this); }
  bool wait_ready() {
    int64_t end = now_ns() + kSafetyNs;
    while (tid.load() == 0 && now_ns() < end) sleep_ms(1);
    return tid.load() != 0;
  }
  void finish() {
    release.store(true);
    pthread_join(thread, nullptr);
  }
};

}  // namespace

TEST(RobustList, SetWithBadLengthIsEinval) {
  robust_list_head* before = nullptr;
  size_t len = 0;
  ASSERT_SYSCALL_SUCCEEDS(get_robust_list(0, &before, &len));
  robust_list_head mine{};
  mine.list.next = &mine.list;
  EXPECT_SYSCALL_FAILS_WITH(set_robust_list(&mine, sizeof mine - 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(set_robust_list(&mine, sizeof mine + 8), EINVAL);
  robust_list_head* after = nullptr;
  ASSERT_SYSCALL_SUCCEEDS(get_robust_list(0, &after, &len));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(after), reinterpret_cast<uintptr_t>(before));
}

TEST(RobustList, GetForSelfReturnsTheRegisteredHead) {
  // glibc registers one list per thread at start-up.
  robust_list_head* libc_head = nullptr;
  size_t len = 0;
  ASSERT_SYSCALL_SUCCEEDS(get_robust_list(0, &libc_head, &len));
  EXPECT_NE(reinterpret_cast<uintptr_t>(libc_head), 0u);
  EXPECT_EQ(len, sizeof(robust_list_head));
  robust_list_head mine{};
  mine.list.next = &mine.list;
  ASSERT_SYSCALL_SUCCEEDS(set_robust_list(&mine, sizeof mine));
  robust_list_head* got = nullptr;
  EXPECT_SYSCALL_SUCCEEDS(get_robust_list(gettid_raw(), &got, &len));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(got), reinterpret_cast<uintptr_t>(&mine));
  ASSERT_SYSCALL_SUCCEEDS(set_robust_list(libc_head, sizeof *libc_head));
}

TEST(RobustList, GetErrors) {
  robust_list_head* head = nullptr;
  size_t len = 0;
  EXPECT_SYSCALL_FAILS_WITH(get_robust_list(0x3ffffff0, &head, &len), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(get_robust_list(0, unmapped_address(), &len), EFAULT);
}

TEST(RobustList, ThreadExitMarksItsLocksOwnerDied) {
  static RobustLock held, foreign, pending_lock;
  held = {};
  foreign = {};
  pending_lock = {};
  foreign.word = 0x12345;  // another owner's tid: left alone
  RobustOwner owner;
  owner.listed = {&held, &foreign};
  owner.pending = &pending_lock;
  owner.start();
  ASSERT_TRUE(owner.wait_ready());
  owner.finish();
  // The tid goes, FUTEX_OWNER_DIED comes; FUTEX_WAITERS stays as it was.
  EXPECT_EQ(held.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
  EXPECT_EQ(foreign.word, 0x12345u);
  EXPECT_EQ(pending_lock.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
}

TEST(RobustList, ThreadExitWakesOneWaiterOfAContendedLock) {
  static RobustLock held;
  held = {};
  RobustOwner owner;
  owner.listed = {&held};
  owner.extra = FUTEX_WAITERS;
  owner.start();
  ASSERT_TRUE(owner.wait_ready());
  uint32_t seen = held.word;
  // The kernel's wake on owner death is a shared one (handle_futex_death).
  std::vector<Waiter> ws(2);
  for (auto& w : ws) w.start(&held.word, FUTEX_WAIT, seen);
  ASSERT_TRUE(wait_for_queued(&held.word, 2, false));
  owner.finish();
  EXPECT_EQ(wait_done(ws, 1), 1);
  EXPECT_EQ(held.word, static_cast<uint32_t>(FUTEX_OWNER_DIED | FUTEX_WAITERS));
  sleep_ms(20);
  EXPECT_EQ(count_done(ws), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&held.word, FUTEX_WAKE, INT_MAX), 1);
  for (auto& w : ws) {
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

TEST(RobustList, PendingUnlockedLockStillWakesAWaiter) {
  // An owner that died between unlocking (word 0) and waking: the kernel
  // wakes a waiter for it (handle_futex_death, pending_op).
  static RobustLock pending_lock;
  pending_lock = {};
  pending_lock.word = 0xffffffffu;  // RobustOwner: leave it 0
  RobustOwner owner;
  owner.pending = &pending_lock;
  owner.start();
  ASSERT_TRUE(owner.wait_ready());
  Waiter w;
  w.start(&pending_lock.word, FUTEX_WAIT, 0);
  ASSERT_TRUE(wait_for_queued(&pending_lock.word, 1, false));
  owner.finish();
  w.join();
  EXPECT_TRUE(w.woken());
  EXPECT_EQ(pending_lock.word, 0u);
}

TEST(RobustList, CyclicListIsWalkedBoundedly) {
  static RobustLock held;
  held = {};
  RobustOwner owner;
  owner.listed = {&held};
  owner.loop_to_self = true;
  owner.start();
  ASSERT_TRUE(owner.wait_ready());
  owner.release.store(true);
  timespec deadline = deadline_in(kSafetyNs, CLOCK_REALTIME);
  ASSERT_EQ(pthread_timedjoin_np(owner.thread, nullptr, &deadline), 0);
  EXPECT_EQ(held.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
}

TEST(RobustList, ExecveReleasesTheList) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  auto* lock = static_cast<RobustLock*>(page.mem);
  pid_t pid = fork_child([&] {
    static robust_list_head head;
    head.futex_offset = kFutexOffset;
    head.list.next = &lock->link;
    lock->link.next = &head.list;
    head.list_op_pending = nullptr;
    __atomic_store_n(&lock->word, static_cast<uint32_t>(gettid_raw()), __ATOMIC_SEQ_CST);
    if (set_robust_list(&head, sizeof head) != 0) return 1;
    execl("/bin/sleep", "sleep", "3", static_cast<char*>(nullptr));
    return 2;
  });
  ASSERT_GT(pid, 0);
  // The old image's list is handled at execve, while the process lives on.
  int64_t end = now_ns() + 2500 * kMs;
  bool died_marked = false;
  while (now_ns() < end) {
    if (__atomic_load_n(&lock->word, __ATOMIC_SEQ_CST) == static_cast<uint32_t>(FUTEX_OWNER_DIED)) {
      died_marked = true;
      break;
    }
    sleep_ms(2);
  }
  EXPECT_TRUE(died_marked);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);  // still sleeping
  kill(pid, SIGKILL);
  reap(pid);
}

// ---------------------------------------------------------------- robust mutexes

namespace {

void init_robust_mutex(pthread_mutex_t* m, bool shared) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (shared) pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
}

// glibc keeps the futex word first in pthread_mutex_t.
uint32_t* mutex_word(pthread_mutex_t* m) { return reinterpret_cast<uint32_t*>(m); }

int timedlock(pthread_mutex_t* m) {
  timespec deadline = deadline_in(kSafetyNs, CLOCK_REALTIME);
  return pthread_mutex_timedlock(m, &deadline);
}

// After EOWNERDEAD: make the mutex usable again and check that it is.
void recover(pthread_mutex_t* m) {
  EXPECT_EQ(pthread_mutex_consistent(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  EXPECT_EQ(timedlock(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
}

}  // namespace

TEST(RobustMutex, OwnerThreadExitGivesEownerdead) {
  static pthread_mutex_t m;
  init_robust_mutex(&m, false);
  pthread_t t;
  pthread_create(
      &t, nullptr, [](void*) -> void* { return reinterpret_cast<void*>(static_cast<intptr_t>(pthread_mutex_lock(&m))); },
      nullptr);
  void* locked = nullptr;
  pthread_join(t, &locked);
  EXPECT_EQ(reinterpret_cast<intptr_t>(locked), 0);
  EXPECT_TRUE(*mutex_word(&m) & FUTEX_OWNER_DIED);
  EXPECT_EQ(timedlock(&m), EOWNERDEAD);
  recover(&m);
  pthread_mutex_destroy(&m);
}

TEST(RobustMutex, BlockedLockerWokenWhenOwnerThreadExits) {
  static pthread_mutex_t m;
  static std::atomic<bool> locked, release;
  init_robust_mutex(&m, false);
  locked = false;
  release = false;
  pthread_t owner;
  pthread_create(
      &owner, nullptr,
      [](void*) -> void* {
        pthread_mutex_lock(&m);
        locked = true;
        int64_t end = now_ns() + kSafetyNs;
        while (!release.load() && now_ns() < end) sleep_ms(1);
        return nullptr;
      },
      nullptr);
  while (!locked.load()) sleep_ms(1);
  static std::atomic<int> result;
  result = -1;
  pthread_t locker;
  pthread_create(
      &locker, nullptr,
      [](void*) -> void* {
        result = timedlock(&m);
        if (result == EOWNERDEAD) recover(&m);
        return nullptr;
      },
      nullptr);
  // glibc's robust mutexes wait with shared futex ops.
  EXPECT_TRUE(wait_for_queued(mutex_word(&m), 1, false));
  release = true;
  pthread_join(owner, nullptr);
  pthread_join(locker, nullptr);
  EXPECT_EQ(result.load(), EOWNERDEAD);
  pthread_mutex_destroy(&m);
}

TEST(RobustMutex, SharedMutexChildExitGivesEownerdead) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  auto* m = static_cast<pthread_mutex_t*>(page.mem);
  init_robust_mutex(m, true);
  pid_t pid = fork_child([&] { return pthread_mutex_lock(m) == 0 ? 0 : 1; });
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(exited_with(reap(pid), 0));
  EXPECT_TRUE(*mutex_word(m) & FUTEX_OWNER_DIED);
  EXPECT_EQ(timedlock(m), EOWNERDEAD);
  recover(m);
  pthread_mutex_destroy(m);
}

TEST(RobustMutex, SharedMutexWaiterWokenWhenOwnerProcessExits) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  auto* m = static_cast<pthread_mutex_t*>(page.mem);
  auto* go = page.word(512);  // second half of the page: 0 until released
  auto* holding = page.word(513);
  init_robust_mutex(m, true);
  pid_t pid = fork_child([&] {
    if (pthread_mutex_lock(m) != 0) return 1;
    __atomic_store_n(holding, 1, __ATOMIC_SEQ_CST);
    timespec ts = to_timespec(kSafetyNs);
    while (__atomic_load_n(go, __ATOMIC_SEQ_CST) == 0) futex(go, FUTEX_WAIT, 0, &ts);
    return 0;  // exits holding the mutex
  });
  ASSERT_GT(pid, 0);
  int64_t end = now_ns() + kSafetyNs;
  while (__atomic_load_n(holding, __ATOMIC_SEQ_CST) == 0 && now_ns() < end) sleep_ms(1);
  // A helper releases the child once this thread waits in the lock.
  struct Release {
    uint32_t* word;
    uint32_t* go;
  } rel{mutex_word(m), go};
  pthread_t helper;
  pthread_create(
      &helper, nullptr,
      [](void* arg) -> void* {
        auto* r = static_cast<Release*>(arg);
        wait_for_queued(r->word, 1, false);
        __atomic_store_n(r->go, 1, __ATOMIC_SEQ_CST);
        futex(r->go, FUTEX_WAKE, 1);
        return nullptr;
      },
      &rel);
  EXPECT_EQ(timedlock(m), EOWNERDEAD);
  pthread_join(helper, nullptr);
  recover(m);
  EXPECT_TRUE(exited_with(reap(pid), 0));
  pthread_mutex_destroy(m);
}

TEST(RobustMutex, SharedMutexOwnerKilledGivesEownerdead) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  auto* m = static_cast<pthread_mutex_t*>(page.mem);
  auto* holding = page.word(513);
  init_robust_mutex(m, true);
  pid_t pid = fork_child([&] {
    if (pthread_mutex_lock(m) != 0) return 1;
    __atomic_store_n(holding, 1, __ATOMIC_SEQ_CST);
    for (;;) pause();
  });
  ASSERT_GT(pid, 0);
  int64_t end = now_ns() + kSafetyNs;
  while (__atomic_load_n(holding, __ATOMIC_SEQ_CST) == 0 && now_ns() < end) sleep_ms(1);
  kill(pid, SIGKILL);
  int status = reap(pid);
  EXPECT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(timedlock(m), EOWNERDEAD);
  recover(m);
  pthread_mutex_destroy(m);
}

// ---------------------------------------------------------------- CLONE_CHILD_CLEARTID

namespace {

std::atomic<bool> g_clone_go{false};

int clone_child_main(void*) {
  // Shares the parent's TLS: touch nothing but this flag, then return
  // (glibc's clone then exits the thread).
  for (long i = 0; i < 5000000000L && !g_clone_go.load(); i++) __builtin_ia32_pause();
  return 0;
}

}  // namespace

TEST(CloneChildClearTid, ThreadExitClearsTidAndWakes) {
  constexpr size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(stack != MAP_FAILED);
  g_clone_go = false;
  static uint32_t ctid;
  ctid = 0;
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
              CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  int tid = clone(clone_child_main, static_cast<char*>(stack) + kStack, flags, nullptr, &ctid, nullptr, &ctid);
  ASSERT_SYSCALL_SUCCEEDS(tid);
  EXPECT_EQ(ctid, static_cast<uint32_t>(tid));
  // The kernel's wake at thread exit is a shared one (mm_release).
  Waiter w;
  w.start(&ctid, FUTEX_WAIT, static_cast<uint32_t>(tid));
  EXPECT_TRUE(wait_for_queued(&ctid, 1, false));
  g_clone_go = true;
  w.join();
  EXPECT_TRUE(w.woken());
  EXPECT_EQ(__atomic_load_n(&ctid, __ATOMIC_SEQ_CST), 0u);
  munmap(stack, kStack);
}

// ---------------------------------------------------------------- PI futexes

TEST(FutexPi, UncontendedLockAndUnlock) {
  MOAT_KNOWN_FAILURE("PI futexes need an atomic compare-and-exchange on guest memory, which the sentry lacks");
  uint32_t word = 0;
  ASSERT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0), 0);
  EXPECT_EQ(word & FUTEX_TID_MASK, static_cast<uint32_t>(gettid_raw()));
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0), EDEADLK);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), 0);
  EXPECT_EQ(word, 0u);
  EXPECT_SYSCALL_FAILS_WITH(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0), EPERM);
}

TEST(FutexPi, PriorityInheritanceMutexLocksAndUnlocks) {
  MOAT_KNOWN_FAILURE("PI futexes need an atomic compare-and-exchange on guest memory, which the sentry lacks");
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  pthread_mutex_t m;
  pthread_mutex_init(&m, &attr);
  pthread_mutexattr_destroy(&attr);
  // The uncontended paths are user-space compare-and-exchanges; trylock on
  // a held PI mutex asks the kernel.
  EXPECT_EQ(pthread_mutex_lock(&m), 0);
  static pthread_mutex_t* shared_m;
  shared_m = &m;
  pthread_t t;
  pthread_create(
      &t, nullptr,
      [](void*) -> void* { return reinterpret_cast<void*>(static_cast<intptr_t>(pthread_mutex_trylock(shared_m))); },
      nullptr);
  void* r = nullptr;
  pthread_join(t, &r);
  EXPECT_EQ(reinterpret_cast<intptr_t>(r), EBUSY);
  EXPECT_EQ(pthread_mutex_unlock(&m), 0);
  timespec deadline = deadline_in(kSafetyNs, CLOCK_REALTIME);
  EXPECT_EQ(pthread_mutex_timedlock(&m, &deadline), 0);
  EXPECT_EQ(pthread_mutex_unlock(&m), 0);
  pthread_mutex_destroy(&m);
}

// ---------------------------------------------------------------- futex2 calls

namespace {

long futex2_wait(uint32_t* uaddr, uint64_t val, uint64_t mask, unsigned flags, const timespec* ts, clockid_t clock) {
  return syscall(SYS_futex_wait, uaddr, val, mask, flags, ts, clock);
}
long futex2_wake(uint32_t* uaddr, uint64_t mask, int nr, unsigned flags) {
  return syscall(SYS_futex_wake, uaddr, mask, nr, flags);
}
long futex2_requeue(futex_waitv* waiters, unsigned flags, int nr_wake, int nr_requeue) {
  return syscall(SYS_futex_requeue, waiters, flags, nr_wake, nr_requeue);
}

constexpr unsigned kU32Private = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;

struct Futex2Waiter {
  uint32_t* addr;
  long ret = 0;
  std::atomic<bool> done{false};
  pthread_t thread{};
  explicit Futex2Waiter(uint32_t* a) : addr(a) {
    pthread_create(
        &thread, nullptr,
        [](void* arg) -> void* {
          auto* w = static_cast<Futex2Waiter*>(arg);
          timespec deadline = deadline_in(kSafetyNs);
          w->ret = futex2_wait(w->addr, 0, FUTEX_BITSET_MATCH_ANY, kU32Private, &deadline, CLOCK_MONOTONIC);
          w->done = true;
          return nullptr;
        },
        this);
  }
  void join() {
    if (!joined) pthread_join(thread, nullptr);
    joined = true;
  }
  bool joined = false;
  ~Futex2Waiter() { join(); }
};

}  // namespace

TEST(Futex2, WaitAndWake) {
  uint32_t word = 0;
  {
    Futex2Waiter w(&word);
    ASSERT_TRUE(wait_for_queued(&word, 1, true));
    // FLAGS_STRICT: a count of zero wakes no one, unlike futex(2).
    EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&word, FUTEX_BITSET_MATCH_ANY, 0, kU32Private), 0);
    EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&word, 0x1, 1, kU32Private), 1);
    w.join();
    EXPECT_EQ(w.ret, 0);
  }
}

TEST(Futex2, WaitValueMismatchAndTimeouts) {
  uint32_t word = 1;
  EXPECT_SYSCALL_FAILS_WITH(futex2_wait(&word, 0, FUTEX_BITSET_MATCH_ANY, kU32Private, nullptr, CLOCK_MONOTONIC),
                            EAGAIN);
  timespec past = to_timespec(now_ns() - 10 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wait(&word, 1, FUTEX_BITSET_MATCH_ANY, kU32Private, &past, CLOCK_MONOTONIC),
                            ETIMEDOUT);
  int64_t start = now_ns(CLOCK_REALTIME);
  timespec deadline = to_timespec(start + 30 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wait(&word, 1, FUTEX_BITSET_MATCH_ANY, kU32Private, &deadline, CLOCK_REALTIME),
                            ETIMEDOUT);
  EXPECT_GE(now_ns(CLOCK_REALTIME), start + 30 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wait(&word, 1, FUTEX_BITSET_MATCH_ANY, kU32Private, &deadline, CLOCK_BOOTTIME),
                            EINVAL);
}

TEST(Futex2, BadArgumentsAreEinval) {
  uint32_t word = 0;
  // Only 32-bit futexes, known flags, masks and values that fit the size.
  EXPECT_SYSCALL_FAILS_WITH(futex2_wake(&word, FUTEX_BITSET_MATCH_ANY, 1, FUTEX2_SIZE_U8 | FUTEX2_PRIVATE), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wake(&word, FUTEX_BITSET_MATCH_ANY, 1, kU32Private | 0x40), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wake(&word, 0, 1, kU32Private), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wake(&word, 1ULL << 32, 1, kU32Private), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wait(&word, 1ULL << 32, FUTEX_BITSET_MATCH_ANY, kU32Private, nullptr, 0), EINVAL);
  auto* odd = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(&word) + 2);
  EXPECT_SYSCALL_FAILS_WITH(futex2_wake(odd, FUTEX_BITSET_MATCH_ANY, 1, kU32Private), EINVAL);
}

TEST(Futex2, SharesQueuesWithFutex) {
  uint32_t word = 0;
  Waiter w;
  w.start(&word, FUTEX_WAIT_PRIVATE);
  ASSERT_TRUE(wait_for_queued(&word, 1, true));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&word, FUTEX_BITSET_MATCH_ANY, 1, FUTEX2_SIZE_U32), 0);  // shared
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&word, FUTEX_BITSET_MATCH_ANY, 1, kU32Private), 1);
  w.join();
  EXPECT_TRUE(w.woken());
}

TEST(Futex2, RequeueMovesWaiters) {
  uint32_t a = 0, b = 0;
  std::vector<Waiter> ws(2);
  for (auto& w : ws) w.start(&a);
  ASSERT_TRUE(wait_for_queued(&a, 2));
  futex_waitv pair[2] = {};
  pair[0].uaddr = reinterpret_cast<uintptr_t>(&a);
  pair[0].val = 1;
  pair[0].flags = kU32Private;
  pair[1].uaddr = reinterpret_cast<uintptr_t>(&b);
  pair[1].flags = kU32Private;
  EXPECT_SYSCALL_FAILS_WITH(futex2_requeue(pair, 0, 0, 1), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(futex2_requeue(pair, 1, 0, 1), EINVAL);
  pair[0].val = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_requeue(pair, 0, 0, 1), 1);
  EXPECT_EQ(queued(&b), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&b, FUTEX_BITSET_MATCH_ANY, 1, kU32Private), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex2_wake(&a, FUTEX_BITSET_MATCH_ANY, 1, kU32Private), 1);
  for (auto& w : ws) {
    w.join();
    EXPECT_TRUE(w.woken());
  }
}

namespace {

long sys_futex_waitv(futex_waitv* waiters, unsigned n, unsigned flags, const timespec* ts, clockid_t clock) {
  return syscall(SYS_futex_waitv, waiters, n, flags, ts, clock);
}

void set_waitv(struct futex_waitv& v, uint32_t* addr, uint32_t val, unsigned flags = kU32Private) {
  v = {};
  v.uaddr = reinterpret_cast<uintptr_t>(addr);
  v.val = val;
  v.flags = flags;
}

}  // namespace

TEST(FutexWaitv, WakeOnAnyReturnsItsIndex) {
  static uint32_t words[3];
  static struct futex_waitv vec[3];
  static std::atomic<long> result;
  static std::atomic<bool> done;
  words[0] = words[1] = words[2] = 0;
  set_waitv(vec[0], &words[0], 0);
  set_waitv(vec[1], &words[1], 0, FUTEX2_SIZE_U32);  // a shared one among private ones
  set_waitv(vec[2], &words[2], 0);
  done = false;
  pthread_t t;
  pthread_create(
      &t, nullptr,
      [](void*) -> void* {
        timespec deadline = deadline_in(kSafetyNs);
        result = sys_futex_waitv(vec, 3, 0, &deadline, CLOCK_MONOTONIC);
        done = true;
        return nullptr;
      },
      nullptr);
  ASSERT_TRUE(wait_for_queued(&words[2], 1, true));
  EXPECT_EQ(queued(&words[0], true), 1);
  EXPECT_EQ(queued(&words[1], false), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&words[1], FUTEX_WAKE, 1), 1);
  pthread_join(t, nullptr);
  EXPECT_EQ(result.load(), 1);
  // The wait has left every queue it was on.
  EXPECT_EQ(queued(&words[0], true), 0);
  EXPECT_EQ(queued(&words[2], true), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&words[0], FUTEX_WAKE_PRIVATE, 1), 0);
}

TEST(FutexWaitv, ValueMismatchAndTimeout) {
  uint32_t a = 0, b = 5;
  struct futex_waitv vec[2];
  set_waitv(vec[0], &a, 0);
  set_waitv(vec[1], &b, 4);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, nullptr, CLOCK_MONOTONIC), EAGAIN);
  set_waitv(vec[1], &b, 5);
  int64_t start = now_ns(CLOCK_REALTIME);
  timespec deadline = to_timespec(start + 30 * kMs);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, &deadline, CLOCK_REALTIME), ETIMEDOUT);
  EXPECT_GE(now_ns(CLOCK_REALTIME), start + 30 * kMs);
  EXPECT_EQ(queued(&a), 0);
}

TEST(FutexWaitv, BadArguments) {
  uint32_t a = 0;
  struct futex_waitv vec[2];
  set_waitv(vec[0], &a, 0);
  set_waitv(vec[1], &a, 0);
  timespec now = deadline_in(0);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 0, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 129, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 1, 1, nullptr, CLOCK_MONOTONIC), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(nullptr, 1, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 1, 0, &now, CLOCK_BOOTTIME), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(reinterpret_cast<futex_waitv*>(unmapped_address()), 1, 0, nullptr,
                                        CLOCK_MONOTONIC),
                            EFAULT);
  vec[1].__reserved = 1;
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  set_waitv(vec[1], &a, 0, FUTEX2_SIZE_U8);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  set_waitv(vec[1], reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(&a) + 1), 0);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, nullptr, CLOCK_MONOTONIC), EINVAL);
  set_waitv(vec[1], unmapped_address(), 0);
  EXPECT_SYSCALL_FAILS_WITH(sys_futex_waitv(vec, 2, 0, nullptr, CLOCK_MONOTONIC), EFAULT);
}

TEST(FutexWaitv, TwoWakesOnOneWaitCountOnce) {
  // Once one of its futexes wakes the wait, the others no longer hold it.
  static uint32_t a, b;
  static struct futex_waitv vec[2];
  static std::atomic<long> result;
  a = b = 0;
  set_waitv(vec[0], &a, 0);
  set_waitv(vec[1], &b, 0);
  pthread_t t;
  pthread_create(
      &t, nullptr,
      [](void*) -> void* {
        timespec deadline = deadline_in(kSafetyNs);
        result = sys_futex_waitv(vec, 2, 0, &deadline, CLOCK_MONOTONIC);
        return nullptr;
      },
      nullptr);
  ASSERT_TRUE(wait_for_queued(&b, 1));
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&a, FUTEX_WAKE_PRIVATE, 1), 1);
  pthread_join(t, nullptr);
  EXPECT_EQ(result.load(), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(futex(&b, FUTEX_WAKE_PRIVATE, 1), 0);
}
