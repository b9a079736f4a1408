// Conformance: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2),
// rt_sigsuspend(2), sigaltstack(2), kill(2), tkill(2), tgkill(2),
// rt_sigtimedwait(2), rt_sigqueueinfo(2), rt_tgsigqueueinfo(2), EINTR and
// SA_RESTART, default actions, dispositions across fork and execve, and
// hardware faults delivered to handlers.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <climits>

#include "harness.h"
#include "proc_util.h"

using namespace conformance;

namespace {

volatile sig_atomic_t g_count;
volatile sig_atomic_t g_last_sig;
siginfo_t g_info;
uint64_t g_mask_in_handler;
long g_first_handler_ms;

void reset_records() {
  g_count = 0;
  g_last_sig = 0;
  memset(&g_info, 0, sizeof g_info);
  g_mask_in_handler = 0;
  g_first_handler_ms = 0;
}

void counting_handler(int sig) {
  if (g_count == 0) g_first_handler_ms = now_ms();
  g_count = g_count + 1;
  g_last_sig = sig;
  g_mask_in_handler = current_mask();
}

void info_handler(int sig, siginfo_t* info, void*) {
  g_count = g_count + 1;
  g_last_sig = sig;
  g_info = *info;
  g_mask_in_handler = current_mask();
}

sigset_t to_sigset(uint64_t bits) {
  sigset_t s;
  sigemptyset(&s);
  for (int sig = 1; sig <= 64; sig++)
    if (bits & sigbit(sig)) sigaddset(&s, sig);
  return s;
}

int install(int sig, void (*handler)(int), int flags = 0, uint64_t mask = 0) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sa.sa_mask = to_sigset(mask);
  return sigaction(sig, &sa, nullptr);
}

int install_info(int sig, void (*handler)(int, siginfo_t*, void*), int flags = 0, uint64_t mask = 0) {
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = flags | SA_SIGINFO;
  sa.sa_mask = to_sigset(mask);
  return sigaction(sig, &sa, nullptr);
}

int block(uint64_t bits) { return static_cast<int>(raw_sigprocmask(SIG_BLOCK, &bits, nullptr)); }
int unblock(uint64_t bits) { return static_cast<int>(raw_sigprocmask(SIG_UNBLOCK, &bits, nullptr)); }

// A helper child that sends sig to target count times, every every_ms after
// first_ms, then (if write_fd >= 0) writes one 'x' to write_fd at write_at_ms
// after its start, then exits.
pid_t start_signaller(pid_t target, int sig, long first_ms, long every_ms, int count, int write_fd = -1,
                      long write_at_ms = 0) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) return pid;
  long start = now_ms();
  sleep_ms(first_ms);
  for (int i = 0; i < count; i++) {
    if (kill(target, sig) != 0) _exit(1);
    if (i + 1 < count) sleep_ms(every_ms);
  }
  if (write_fd >= 0) {
    long left = write_at_ms - (now_ms() - start);
    if (left > 0) sleep_ms(left);
    char c = 'x';
    if (write(write_fd, &c, 1) != 1) _exit(2);
  }
  _exit(0);
}

alignas(64) char g_altstack[256 * 1024];
alignas(64) char g_altstack2[256 * 1024];

bool on_range(const void* p, const void* base, size_t size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(base);
  return a >= b && a < b + size;
}

int set_altstack(void* base, size_t size, int flags = 0) {
  stack_t ss{};
  ss.ss_sp = base;
  ss.ss_size = size;
  ss.ss_flags = flags;
  return sigaltstack(&ss, nullptr);
}

// What a handler saw about its stack.
volatile bool g_local_on_altstack;
stack_t g_stack_in_handler;
int g_altstack_change_result;
int g_altstack_change_errno;

void altstack_probe_handler(int sig) {
  int local = 0;
  g_local_on_altstack = on_range(&local, g_altstack, sizeof g_altstack);
  sigaltstack(nullptr, &g_stack_in_handler);
  stack_t other{};
  other.ss_sp = g_altstack2;
  other.ss_size = sizeof g_altstack2;
  errno = 0;
  g_altstack_change_result = sigaltstack(&other, nullptr);
  g_altstack_change_errno = errno;
  counting_handler(sig);
}

// --- The re-exec'd report mode ----------------------------------------------
//
// `signal_test --child-report` prints what execve left of the signal state and
// exits before the harness runs (this constructor runs before main).
__attribute__((constructor)) void child_report_mode(int argc, char** argv, char**) {
  if (argc < 2 || strcmp(argv[1], "--child-report") != 0) return;
  struct sigaction usr1 {}, usr2 {};
  sigaction(SIGUSR1, nullptr, &usr1);
  sigaction(SIGUSR2, nullptr, &usr2);
  stack_t ss{};
  sigaltstack(nullptr, &ss);
  uint64_t mask = current_mask(), pending = pending_set();
  printf("usr1=%s usr2=%s mask_prof=%d pending_prof=%d altstack=%s\n",
         usr1.sa_handler == SIG_DFL ? "dfl" : usr1.sa_handler == SIG_IGN ? "ign" : "handler",
         usr2.sa_handler == SIG_DFL ? "dfl" : usr2.sa_handler == SIG_IGN ? "ign" : "handler",
         (mask & sigbit(SIGPROF)) ? 1 : 0, (pending & sigbit(SIGPROF)) ? 1 : 0,
         (ss.ss_flags & SS_DISABLE) ? "disabled" : "enabled");
  fflush(stdout);
  _exit(0);
}

// --- Faults -------------------------------------------------------------------

sigjmp_buf g_fault_jmp;
siginfo_t g_fault_info;
uintptr_t g_fault_rip;
uintptr_t g_expect_addr;

void fault_handler(int sig, siginfo_t* info, void* ucv) {
  g_fault_info = *info;
  g_fault_rip = static_cast<uintptr_t>(static_cast<ucontext_t*>(ucv)->uc_mcontext.gregs[REG_RIP]);
  g_count = g_count + 1;
  g_last_sig = sig;
  siglongjmp(g_fault_jmp, 1);
}

void no_core_dumps() {
  rlimit rl{0, 0};
  setrlimit(RLIMIT_CORE, &rl);
}

void do_null_read() {
  volatile uintptr_t addr = 0x10;
  (void)*reinterpret_cast<volatile int*>(addr);
}

void do_divide_by_zero() {
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rax, %0\n\t"
      "xorl %%edx, %%edx\n\t"
      "movl $1, %%eax\n\t"
      "xorl %%ecx, %%ecx\n\t"
      "1: idivl %%ecx\n\t"
      : "=m"(g_expect_addr)
      :
      : "rax", "rcx", "rdx", "memory", "cc");
}

void do_ud2() {
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rax, %0\n\t"
      "1: ud2\n\t"
      : "=m"(g_expect_addr)
      :
      : "rax", "memory");
}

}  // namespace

// --- rt_sigaction -------------------------------------------------------------

TEST(Sigaction, OldActionRoundTrip) {
  SignalStateGuard guard;
  struct sigaction sa {};
  sa.sa_handler = counting_handler;
  sa.sa_flags = SA_RESTART;
  sa.sa_mask = to_sigset(sigbit(SIGUSR2) | sigbit(SIGHUP));
  struct sigaction old {};
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, &sa, &old));
  EXPECT_TRUE(old.sa_handler == SIG_DFL);
  struct sigaction back {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, &dfl, &back));
  EXPECT_TRUE(back.sa_handler == counting_handler);
  EXPECT_TRUE(back.sa_flags & SA_RESTART);
  EXPECT_FALSE(back.sa_flags & SA_SIGINFO);
  EXPECT_EQ(sigismember(&back.sa_mask, SIGUSR2), 1);
  EXPECT_EQ(sigismember(&back.sa_mask, SIGHUP), 1);
  EXPECT_EQ(sigismember(&back.sa_mask, SIGINT), 0);
  // A query alone (no new action) changes nothing.
  struct sigaction q {};
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, nullptr, &q));
  EXPECT_TRUE(q.sa_handler == SIG_DFL);
}

TEST(Sigaction, RawRoundTripKeepsRestorerAndFullMask) {
  SignalStateGuard guard;
  KernelSigaction act{};
  act.handler = reinterpret_cast<void*>(counting_handler);
  act.flags = SA_RESTORER | SA_ONSTACK;
  act.restorer = reinterpret_cast<void*>(0x1234);
  act.mask = sigbit(SIGRTMIN + 2) | sigbit(64) | sigbit(SIGKILL);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigaction(SIGUSR1, &act, nullptr));
  KernelSigaction back{};
  ASSERT_SYSCALL_SUCCEEDS(raw_sigaction(SIGUSR1, nullptr, &back));
  EXPECT_EQ(back.handler, act.handler);
  EXPECT_EQ(back.restorer, act.restorer);
  EXPECT_EQ(back.flags & (SA_RESTORER | SA_ONSTACK), static_cast<unsigned long>(SA_RESTORER | SA_ONSTACK));
  // SIGKILL and SIGSTOP are dropped from sa_mask.
  EXPECT_EQ(back.mask, sigbit(SIGRTMIN + 2) | sigbit(64));
}

TEST(Sigaction, ResetHandRestoresDefaultAfterOneDelivery) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, SA_RESETHAND));
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  EXPECT_EQ(g_count, 1);
  struct sigaction q {};
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR1, nullptr, &q));
  EXPECT_TRUE(q.sa_handler == SIG_DFL);
  // A second instance is no longer caught (kept blocked here: the default
  // action would end this process); the guard discards it.
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_EQ(g_count, 1);
  EXPECT_TRUE(pending_set() & sigbit(SIGUSR1));
}

TEST(Sigaction, HandledSignalBlockedInHandlerWithoutNodefer) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, 0, sigbit(SIGUSR2)));
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_TRUE(g_mask_in_handler & sigbit(SIGUSR1));
  EXPECT_TRUE(g_mask_in_handler & sigbit(SIGUSR2));
  EXPECT_FALSE(g_mask_in_handler & sigbit(SIGHUP));
  // The handler's mask is gone once it returns.
  EXPECT_EQ(current_mask(), 0u);
}

TEST(Sigaction, NodeferLeavesSignalUnblockedInHandler) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, SA_NODEFER, sigbit(SIGUSR2)));
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_FALSE(g_mask_in_handler & sigbit(SIGUSR1));
  EXPECT_TRUE(g_mask_in_handler & sigbit(SIGUSR2));
}

TEST(Sigaction, SiginfoHandlerGetsThreeArguments) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR2, info_handler));
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_last_sig, SIGUSR2);
  EXPECT_EQ(g_info.si_signo, SIGUSR2);
  EXPECT_EQ(g_info.si_code, SI_TKILL);
  EXPECT_EQ(g_info.si_pid, getpid());
  EXPECT_EQ(g_info.si_uid, getuid());
  struct sigaction q {};
  ASSERT_SYSCALL_SUCCEEDS(sigaction(SIGUSR2, nullptr, &q));
  EXPECT_TRUE(q.sa_flags & SA_SIGINFO);
  EXPECT_TRUE(q.sa_sigaction == info_handler);
}

TEST(Sigaction, InvalidSignalsAreEinval) {
  SignalStateGuard guard;
  KernelSigaction act{};
  act.handler = reinterpret_cast<void*>(counting_handler);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGKILL, &act, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGSTOP, &act, nullptr), EINVAL);
  act.handler = reinterpret_cast<void*>(SIG_IGN);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGKILL, &act, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGSTOP, &act, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(0, &act, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(65, &act, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(-1, nullptr, nullptr), EINVAL);
  // Querying SIGKILL is allowed and reports the default.
  KernelSigaction q{};
  q.handler = reinterpret_cast<void*>(1234);
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_sigaction(SIGKILL, nullptr, &q), 0);
  EXPECT_TRUE(q.handler == reinterpret_cast<void*>(SIG_DFL));
}

TEST(Sigaction, BadSigsetsizeIsEinval) {
  SignalStateGuard guard;
  KernelSigaction act{};
  act.handler = reinterpret_cast<void*>(SIG_IGN);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGUSR1, &act, nullptr, 4), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGUSR1, &act, nullptr, 16), EINVAL);
  // Nothing was installed.
  KernelSigaction q{};
  ASSERT_SYSCALL_SUCCEEDS(raw_sigaction(SIGUSR1, nullptr, &q));
  EXPECT_TRUE(q.handler == reinterpret_cast<void*>(SIG_DFL));
}

TEST(Sigaction, BadPointersAreEfault) {
  SignalStateGuard guard;
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGUSR1, reinterpret_cast<KernelSigaction*>(8), nullptr), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigaction(SIGUSR1, nullptr, reinterpret_cast<KernelSigaction*>(8)), EFAULT);
}

TEST(Sigaction, IgnoringDiscardsAPendingSignal) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_TRUE(pending_set() & sigbit(SIGUSR1));
  ASSERT_TRUE(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
  EXPECT_FALSE(pending_set() & sigbit(SIGUSR1));
  // A blocked signal is never ignored at sending time (the disposition may
  // change before it is unblocked): it is left pending...
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_TRUE(pending_set() & sigbit(SIGUSR1));
  // ...and dropped when unblocked while still ignored.
  ASSERT_SYSCALL_SUCCEEDS(unblock(sigbit(SIGUSR1)));
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  EXPECT_FALSE(pending_set() & sigbit(SIGUSR1));
}

// --- rt_sigprocmask -----------------------------------------------------------

TEST(Sigprocmask, BlockUnblockSetmask) {
  SignalStateGuard guard;
  uint64_t set = sigbit(SIGUSR1) | sigbit(SIGUSR2), old = ~0ULL;
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, &set, &old));
  EXPECT_EQ(old, 0u);
  EXPECT_EQ(current_mask(), set);
  uint64_t more = sigbit(SIGHUP) | sigbit(SIGRTMIN + 3);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, &more, &old));
  EXPECT_EQ(old, set);
  EXPECT_EQ(current_mask(), set | more);
  uint64_t drop = sigbit(SIGUSR1) | sigbit(SIGTERM);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_UNBLOCK, &drop, &old));
  EXPECT_EQ(old, set | more);
  EXPECT_EQ(current_mask(), sigbit(SIGUSR2) | more);
  uint64_t replace = sigbit(SIGINT);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_SETMASK, &replace, &old));
  EXPECT_EQ(old, sigbit(SIGUSR2) | more);
  EXPECT_EQ(current_mask(), sigbit(SIGINT));
}

TEST(Sigprocmask, InvalidHowIsEinvalOnlyWithASet) {
  SignalStateGuard guard;
  uint64_t set = sigbit(SIGUSR1), old = 0;
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(3, &set, nullptr), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(-1, &set, nullptr), EINVAL);
  EXPECT_EQ(current_mask(), 0u);
  // Without a new set, how is not looked at.
  EXPECT_SYSCALL_SUCCEEDS_WITH(raw_sigprocmask(99, nullptr, &old), 0);
}

TEST(Sigprocmask, KillAndStopCannotBeBlocked) {
  SignalStateGuard guard;
  uint64_t all = ~0ULL;
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_SETMASK, &all, nullptr));
  uint64_t got = current_mask();
  reset_signal_state();
  EXPECT_EQ(got, ~(sigbit(SIGKILL) | sigbit(SIGSTOP)));
}

TEST(Sigprocmask, BadSizeIsEinvalAndBadPointerEfault) {
  SignalStateGuard guard;
  uint64_t set = sigbit(SIGUSR1), old;
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(SIG_BLOCK, &set, nullptr, 4), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(SIG_BLOCK, &set, nullptr, 16), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(SIG_BLOCK, reinterpret_cast<uint64_t*>(8), nullptr), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_sigprocmask(SIG_BLOCK, nullptr, reinterpret_cast<uint64_t*>(8)), EFAULT);
  EXPECT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, nullptr, &old));
  EXPECT_EQ(old, 0u);
}

TEST(Sigprocmask, BlockedSignalRunsWhenUnblocked) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler));
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_EQ(g_count, 0);
  // The unblocking call itself delivers it before returning.
  ASSERT_SYSCALL_SUCCEEDS(unblock(sigbit(SIGUSR1)));
  EXPECT_EQ(g_count, 1);
  EXPECT_FALSE(pending_set() & sigbit(SIGUSR1));
}

// --- rt_sigpending ------------------------------------------------------------

TEST(Sigpending, ReportsOnlyBlockedPendingSignals) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR2, counting_handler));
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1) | sigbit(SIGUSR2)));
  EXPECT_EQ(pending_set(), 0u);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  sigset_t s;
  ASSERT_SYSCALL_SUCCEEDS(sigpending(&s));
  EXPECT_EQ(sigismember(&s, SIGUSR1), 1);
  EXPECT_EQ(sigismember(&s, SIGUSR2), 0);
  ASSERT_SYSCALL_SUCCEEDS(unblock(sigbit(SIGUSR1) | sigbit(SIGUSR2)));
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(pending_set(), 0u);
}

TEST(Sigpending, BadSizeIsEinvalAndBadPointerEfault) {
  uint64_t set;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigpending, &set, 16), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigpending, reinterpret_cast<void*>(8), 8), EFAULT);
}

// --- rt_sigsuspend ------------------------------------------------------------

TEST(Sigsuspend, ReturnsEintrAfterHandlerAndRestoresMask) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler));
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1) | sigbit(SIGHUP)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  ASSERT_EQ(g_count, 0);
  uint64_t during = sigbit(SIGUSR2);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigsuspend, &during, 8), EINTR);
  EXPECT_EQ(g_count, 1);
  // The handler ran with the temporary mask plus the handled signal.
  EXPECT_EQ(g_mask_in_handler, sigbit(SIGUSR2) | sigbit(SIGUSR1));
  // And the old mask is back.
  EXPECT_EQ(current_mask(), sigbit(SIGUSR1) | sigbit(SIGHUP));
}

TEST(Sigsuspend, WakesForASignalFromAnotherProcess) {
  SignalStateGuard guard;
  EXPECT_CHILD_OK(run_in_child(
      [] {
        reset_records();
        CHILD_CHECK(install(SIGUSR1, counting_handler) == 0);
        CHILD_CHECK(block(sigbit(SIGUSR1)) == 0);
        pid_t helper = start_signaller(getpid(), SIGUSR1, 50, 50, 40);
        CHILD_CHECK(helper > 0);
        uint64_t none = 0;
        long r = syscall(SYS_rt_sigsuspend, &none, 8);
        CHILD_CHECK(r == -1 && errno == EINTR);
        CHILD_CHECK(g_count == 1);
        CHILD_CHECK(current_mask() == sigbit(SIGUSR1));
        kill_and_reap(helper);
      },
      5000));
}

TEST(Sigsuspend, BadSizeIsEinvalAndBadPointerEfault) {
  SignalStateGuard guard;
  uint64_t none = 0;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigsuspend, &none, 4), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigsuspend, reinterpret_cast<void*>(8), 8), EFAULT);
}

// --- sigaltstack --------------------------------------------------------------

TEST(Sigaltstack, DisabledByDefaultAndRoundTrips) {
  SignalStateGuard guard;
  stack_t ss{};
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_EQ(ss.ss_flags, SS_DISABLE);
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack));
  stack_t old{};
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(&off, &old));
  EXPECT_TRUE(old.ss_sp == g_altstack);
  EXPECT_EQ(old.ss_size, sizeof g_altstack);
  EXPECT_EQ(old.ss_flags, 0);
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_EQ(ss.ss_flags, SS_DISABLE);
}

TEST(Sigaltstack, HandlerRunsOnItAndSeesSsOnstack) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, altstack_probe_handler, SA_ONSTACK));
  g_local_on_altstack = false;
  memset(&g_stack_in_handler, 0, sizeof g_stack_in_handler);
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_TRUE(g_local_on_altstack);
  EXPECT_EQ(g_stack_in_handler.ss_flags, SS_ONSTACK);
  EXPECT_TRUE(g_stack_in_handler.ss_sp == g_altstack);
  // Off it again afterwards.
  stack_t ss{};
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_EQ(ss.ss_flags, 0);
}

TEST(Sigaltstack, ChangingItWhileOnItIsEperm) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, altstack_probe_handler, SA_ONSTACK));
  g_altstack_change_result = 0;
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_altstack_change_result, -1);
  EXPECT_EQ(g_altstack_change_errno, EPERM);
  stack_t ss{};
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_TRUE(ss.ss_sp == g_altstack);
}

TEST(Sigaltstack, HandlerWithoutOnstackStaysOnTheThreadStack) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, altstack_probe_handler, 0));
  g_local_on_altstack = true;
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_FALSE(g_local_on_altstack);
  EXPECT_EQ(g_stack_in_handler.ss_flags, 0);
  // Not on it, so changing it is allowed.
  EXPECT_EQ(g_altstack_change_result, 0);
}

TEST(Sigaltstack, SmallSizeIsEnomem) {
  SignalStateGuard guard;
  EXPECT_SYSCALL_FAILS_WITH(set_altstack(g_altstack, 1024), ENOMEM);
  EXPECT_SYSCALL_FAILS_WITH(set_altstack(g_altstack, 2047), ENOMEM);
  stack_t ss{};
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_EQ(ss.ss_flags, SS_DISABLE);
  // With SS_DISABLE the size does not matter.
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigaltstack(&off, nullptr), 0);
}

TEST(Sigaltstack, BadFlagsEinvalAndBadPointerEfault) {
  SignalStateGuard guard;
  EXPECT_SYSCALL_FAILS_WITH(set_altstack(g_altstack, sizeof g_altstack, 0x1234), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sigaltstack(reinterpret_cast<stack_t*>(8), nullptr), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(sigaltstack(nullptr, reinterpret_cast<stack_t*>(8)), EFAULT);
}

TEST(Sigaltstack, SsDisableStopsItsUse) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack));
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(&off, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, altstack_probe_handler, SA_ONSTACK));
  g_local_on_altstack = true;
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_FALSE(g_local_on_altstack);
  EXPECT_EQ(g_stack_in_handler.ss_flags, SS_DISABLE);
}

TEST(Sigaltstack, AutodisarmClearsItInsideTheHandler) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(set_altstack(g_altstack, sizeof g_altstack, SS_AUTODISARM));
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, altstack_probe_handler, SA_ONSTACK));
  ASSERT_SYSCALL_SUCCEEDS(raise(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_TRUE(g_local_on_altstack);
  EXPECT_EQ(g_stack_in_handler.ss_flags, SS_DISABLE);
  // The handler's own sigaltstack call (allowed: it was disarmed) was then
  // overwritten by the restore from the frame on return.
  EXPECT_EQ(g_altstack_change_result, 0);
  stack_t ss{};
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(nullptr, &ss));
  EXPECT_TRUE(ss.ss_sp == g_altstack);
  EXPECT_EQ(static_cast<unsigned>(ss.ss_flags), SS_AUTODISARM);
}

// --- kill, tkill, tgkill, raise -----------------------------------------------

TEST(Kill, ToSelfRunsTheHandlerBeforeReturning) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, info_handler));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_info.si_code, SI_USER);
  EXPECT_EQ(g_info.si_pid, getpid());
}

TEST(Kill, SignalZeroChecksExistence) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler));
  EXPECT_SYSCALL_SUCCEEDS_WITH(kill(getpid(), 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(kill(0, 0), 0);
  EXPECT_SYSCALL_FAILS_WITH(kill(0x3ffffff0, 0), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(kill(-0x3ffffff0, 0), ESRCH);
  EXPECT_EQ(g_count, 0);
}

TEST(Kill, ZombieExistsUntilReaped) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  siginfo_t si{};
  ASSERT_SYSCALL_SUCCEEDS(waitid(P_PID, child, &si, WEXITED | WNOWAIT));
  EXPECT_SYSCALL_SUCCEEDS_WITH(kill(child, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(kill(child, SIGTERM), 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_SYSCALL_FAILS_WITH(kill(child, 0), ESRCH);
}

TEST(Kill, InvalidSignalIsEinval) {
  SignalStateGuard guard;
  EXPECT_SYSCALL_FAILS_WITH(kill(getpid(), 65), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(kill(getpid(), -1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tkill, gettid(), 65), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
}

TEST(Kill, ProcessGroupTargets) {
  SignalStateGuard guard;
  EXPECT_CHILD_OK(run_in_child([] {
    reset_records();
    CHILD_CHECK(setpgid(0, 0) == 0);
    CHILD_CHECK(install(SIGUSR1, counting_handler) == 0);
    CHILD_CHECK(kill(0, SIGUSR1) == 0);
    CHILD_CHECK(g_count == 1);
    CHILD_CHECK(kill(-getpid(), SIGUSR1) == 0);
    CHILD_CHECK(g_count == 2);
    CHILD_CHECK(killpg(getpgrp(), SIGUSR1) == 0);
    CHILD_CHECK(g_count == 3);
  }));
}

TEST(Tkill, ToSelfAndErrors) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, info_handler));
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_tkill, gettid(), SIGUSR1));
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_info.si_code, SI_TKILL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_tkill, gettid(), 0), 0);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tkill, -1, SIGUSR1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tkill, 0x3ffffff0, 0), ESRCH);
  EXPECT_EQ(g_count, 1);
}

TEST(Tgkill, ToSelfAndErrors) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, info_handler));
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1));
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_info.si_code, SI_TKILL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_tgkill, getpid(), gettid(), 0), 0);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, 0, gettid(), SIGUSR1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, getpid(), -5, SIGUSR1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, getpid(), 0x3ffffff0, 0), ESRCH);
  // The thread exists, but not in that thread group.
  fflush(stdout);
  pid_t other = fork();
  if (other == 0) {
    for (;;) pause();
  }
  ASSERT_GT(other, 0);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, other, gettid(), 0), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_tgkill, getpid(), other, 0), ESRCH);
  kill_and_reap(other);
  EXPECT_EQ(g_count, 1);
}

TEST(Raise, HandlerRunsBeforeRaiseReturns) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGWINCH, counting_handler));
  EXPECT_EQ(raise(SIGWINCH), 0);
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_last_sig, SIGWINCH);
  EXPECT_EQ(current_mask(), 0u);
}

// --- rt_sigtimedwait ----------------------------------------------------------

TEST(Sigtimedwait, ReturnsAPendingBlockedSignalWithItsSiginfo) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  sigset_t set = to_sigset(sigbit(SIGUSR1));
  siginfo_t si{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigwaitinfo(&set, &si), SIGUSR1);
  EXPECT_EQ(si.si_signo, SIGUSR1);
  EXPECT_EQ(si.si_code, SI_USER);
  EXPECT_EQ(si.si_pid, getpid());
  EXPECT_EQ(si.si_uid, getuid());
  // Taken: no longer pending.
  EXPECT_FALSE(pending_set() & sigbit(SIGUSR1));
}

TEST(Sigtimedwait, TimeoutIsEagain) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  sigset_t set = to_sigset(sigbit(SIGUSR1));
  timespec ts{0, 100 * 1000 * 1000};
  long start = now_ms();
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&set, nullptr, &ts), EAGAIN);
  long took = now_ms() - start;
  EXPECT_GE(took, 90);
  EXPECT_LT(took, 3000);
}

TEST(Sigtimedwait, ZeroTimeoutPolls) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1) | sigbit(SIGUSR2)));
  sigset_t set = to_sigset(sigbit(SIGUSR1) | sigbit(SIGUSR2));
  timespec zero{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&set, nullptr, &zero), EAGAIN);
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR2));
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, nullptr, &zero), SIGUSR2);
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&set, nullptr, &zero), EAGAIN);
  // A pending signal outside the set stays pending.
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  sigset_t only2 = to_sigset(sigbit(SIGUSR2));
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&only2, nullptr, &zero), EAGAIN);
  EXPECT_TRUE(pending_set() & sigbit(SIGUSR1));
}

TEST(Sigtimedwait, WakesForASignalFromAChild) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR2)));
  pid_t helper = start_signaller(getpid(), SIGUSR2, 50, 0, 1);
  ASSERT_GT(helper, 0);
  sigset_t set = to_sigset(sigbit(SIGUSR2));
  siginfo_t si{};
  timespec ts{3, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, &si, &ts), SIGUSR2);
  EXPECT_EQ(si.si_pid, helper);
  EXPECT_EQ(si.si_code, SI_USER);
  kill_and_reap(helper);
}

TEST(Sigtimedwait, BadArgumentsAreRejected) {
  SignalStateGuard guard;
  uint64_t set = sigbit(SIGUSR1);
  timespec bad{0, 2000000000L};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigtimedwait, &set, nullptr, &bad, 8), EINVAL);
  timespec negative{-1, 0};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigtimedwait, &set, nullptr, &negative, 8), EINVAL);
  timespec zero{0, 0};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigtimedwait, &set, nullptr, &zero, 4), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigtimedwait, reinterpret_cast<void*>(8), nullptr, &zero, 8), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigtimedwait, &set, nullptr, reinterpret_cast<void*>(8), 8), EFAULT);
}

// --- rt_sigqueueinfo, rt_tgsigqueueinfo ----------------------------------------

TEST(Sigqueue, ValueArrivesInSiValueWithSiQueue) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, info_handler));
  sigval v{};
  v.sival_int = 4242;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGUSR1, v));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_info.si_signo, SIGUSR1);
  EXPECT_EQ(g_info.si_code, SI_QUEUE);
  EXPECT_EQ(g_info.si_value.sival_int, 4242);
  EXPECT_EQ(g_info.si_pid, getpid());
  EXPECT_EQ(g_info.si_uid, getuid());
}

TEST(Sigqueue, RealtimeSignalsQueueInOrder) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGRTMIN)));
  for (int i = 1; i <= 3; i++) {
    sigval v{};
    v.sival_int = i * 10;
    ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGRTMIN, v));
  }
  sigset_t set = to_sigset(sigbit(SIGRTMIN));
  timespec zero{0, 0};
  for (int i = 1; i <= 3; i++) {
    siginfo_t si{};
    EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, &si, &zero), SIGRTMIN);
    EXPECT_EQ(si.si_value.sival_int, i * 10);
    EXPECT_EQ(si.si_code, SI_QUEUE);
  }
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&set, nullptr, &zero), EAGAIN);
}

TEST(Sigqueue, StandardSignalsCoalesce) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR1)));
  sigval v{};
  v.sival_int = 1;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGUSR1, v));
  v.sival_int = 2;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGUSR1, v));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  sigset_t set = to_sigset(sigbit(SIGUSR1));
  timespec zero{0, 0};
  siginfo_t si{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, &si, &zero), SIGUSR1);
  // The first instance is the one kept.
  EXPECT_EQ(si.si_value.sival_int, 1);
  EXPECT_EQ(si.si_code, SI_QUEUE);
  EXPECT_SYSCALL_FAILS_WITH(sigtimedwait(&set, nullptr, &zero), EAGAIN);
}

namespace {
int g_rt_values[8];
int g_rt_signals[8];
void rt_record_handler(int sig, siginfo_t* info, void*) {
  if (g_count < 8) {
    g_rt_values[g_count] = info->si_value.sival_int;
    g_rt_signals[g_count] = sig;
  }
  g_count = g_count + 1;
}
}  // namespace

TEST(Sigqueue, QueuedInstancesAllRunLowestSignalFirst) {
  SignalStateGuard guard;
  reset_records();
  // Each handler blocks both signals so they run one after the other rather
  // than nested (a second delivery would otherwise stack on the first frame).
  uint64_t both = sigbit(SIGRTMIN) | sigbit(SIGRTMIN + 1);
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGRTMIN, rt_record_handler, 0, both));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGRTMIN + 1, rt_record_handler, 0, both));
  ASSERT_SYSCALL_SUCCEEDS(block(both));
  sigval v{};
  v.sival_int = 100;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGRTMIN + 1, v));
  v.sival_int = 1;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGRTMIN, v));
  v.sival_int = 2;
  ASSERT_SYSCALL_SUCCEEDS(sigqueue(getpid(), SIGRTMIN, v));
  ASSERT_SYSCALL_SUCCEEDS(unblock(both));
  ASSERT_EQ(g_count, 3);
  EXPECT_EQ(g_rt_signals[0], SIGRTMIN);
  EXPECT_EQ(g_rt_values[0], 1);
  EXPECT_EQ(g_rt_signals[1], SIGRTMIN);
  EXPECT_EQ(g_rt_values[1], 2);
  EXPECT_EQ(g_rt_signals[2], SIGRTMIN + 1);
  EXPECT_EQ(g_rt_values[2], 100);
}

TEST(Sigqueue, NonNegativeCodeToAnotherProcessIsEperm) {
  SignalStateGuard guard;
  int ready[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(ready, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    for (;;) pause();
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  close(ready[0]);
  siginfo_t si{};
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  si.si_pid = getpid();
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &si), EPERM);
  si.si_code = SI_TKILL;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &si), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, child, child, SIGUSR1, &si), EPERM);
  // A negative code other than SI_TKILL is allowed: the child dies of it.
  si.si_code = SI_QUEUE;
  EXPECT_SYSCALL_SUCCEEDS_WITH(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &si), 0);
  int status = 0;
  pid_t r = wait_for(child, &status, 0, 3000);
  ASSERT_EQ(r, child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1);
}

TEST(Sigqueue, ToSelfAnyCodeAndFieldsPassThrough) {
  SignalStateGuard guard;
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGUSR2)));
  siginfo_t si{};
  si.si_signo = SIGUSR2;
  si.si_code = SI_USER;
  si.si_pid = 12345;
  si.si_uid = 678;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, &si));
  sigset_t set = to_sigset(sigbit(SIGUSR2));
  timespec zero{0, 0};
  siginfo_t got{};
  EXPECT_SYSCALL_SUCCEEDS_WITH(sigtimedwait(&set, &got, &zero), SIGUSR2);
  EXPECT_EQ(got.si_code, SI_USER);
  EXPECT_EQ(got.si_pid, 12345);
  EXPECT_EQ(got.si_uid, 678u);
}

TEST(Sigqueue, ErrorsAreEinvalEsrchEfault) {
  SignalStateGuard guard;
  siginfo_t si{};
  si.si_code = SI_QUEUE;
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, 0x3ffffff0, SIGUSR1, &si), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, reinterpret_cast<void*>(8)), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR1, &si), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, getpid(), 0x3ffffff0, SIGUSR1, &si), ESRCH);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), 65, &si), EINVAL);
}

TEST(Sigqueue, TgsigqueueinfoToSelfDeliversTheValue) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, info_handler));
  siginfo_t si{};
  si.si_signo = SIGUSR1;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = 77;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_info.si_code, SI_QUEUE);
  EXPECT_EQ(g_info.si_value.sival_int, 77);
}

// --- EINTR and SA_RESTART -----------------------------------------------------

TEST(Restart, PipeReadWithoutSaRestartIsEintr) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, 0));
  int fds[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(fds, O_CLOEXEC));
  // Signals every 30 ms from 50 ms on; a byte at 3 s so the read cannot hang.
  pid_t helper = start_signaller(getpid(), SIGUSR1, 50, 30, 30, fds[1], 3000);
  ASSERT_GT(helper, 0);
  char c;
  long r = read(fds[0], &c, 1);
  int e = errno;
  kill_and_reap(helper);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, EINTR);
  EXPECT_GE(g_count, 1);
}

TEST(Restart, PipeReadWithSaRestartResumesAndGetsTheData) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, SA_RESTART));
  int fds[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(fds, O_CLOEXEC));
  long start = now_ms();
  pid_t helper = start_signaller(getpid(), SIGUSR1, 30, 30, 5, fds[1], 600);
  ASSERT_GT(helper, 0);
  char c = 0;
  long r = read(fds[0], &c, 1);
  int e = errno;
  kill_and_reap(helper);
  close(fds[0]);
  close(fds[1]);
  if (r < 0) CONF_FAIL_(false, "read failed: %s", errno_str(e).c_str());
  EXPECT_EQ(r, 1);
  EXPECT_EQ(c, 'x');
  ASSERT_GE(g_count, 1);
  // The handler ran while the read was blocked, well before the data came.
  EXPECT_LT(g_first_handler_ms - start, 450);
}

TEST(Restart, SetitimerInterruptsAPipeRead) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGALRM, counting_handler, 0));
  int fds[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(fds, O_CLOEXEC));
  pid_t helper = start_signaller(getpid(), 0, 0, 0, 1, fds[1], 3000);
  ASSERT_GT(helper, 0);
  itimerval it{};
  it.it_value.tv_usec = 50 * 1000;
  it.it_interval.tv_usec = 50 * 1000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  char c;
  long r = read(fds[0], &c, 1);
  int e = errno;
  itimerval zero{};
  setitimer(ITIMER_REAL, &zero, nullptr);
  kill_and_reap(helper);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, EINTR);
  EXPECT_GE(g_count, 1);
  EXPECT_EQ(g_last_sig, SIGALRM);
}

TEST(Restart, NanosleepIsEintrEvenWithSaRestart) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGALRM, counting_handler, SA_RESTART));
  itimerval it{};
  it.it_value.tv_usec = 100 * 1000;
  ASSERT_SYSCALL_SUCCEEDS(setitimer(ITIMER_REAL, &it, nullptr));
  timespec req{1, 0}, rem{0, 0};
  long start = now_ms();
  long r = nanosleep(&req, &rem);
  int e = errno;
  long took = now_ms() - start;
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, EINTR);
  EXPECT_EQ(g_count, 1);
  EXPECT_LT(took, 800);
  // The time left is reported.
  EXPECT_EQ(rem.tv_sec, 0);
  EXPECT_GT(rem.tv_nsec, 200 * 1000 * 1000L);
  EXPECT_LT(rem.tv_nsec, 950 * 1000 * 1000L);
}

TEST(Restart, WaitpidWithoutSaRestartIsEintr) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR2, counting_handler, 0));
  // The helper signals us for about 1 s, then exits (so the wait ends either way).
  pid_t helper = start_signaller(getpid(), SIGUSR2, 50, 30, 30);
  ASSERT_GT(helper, 0);
  int status;
  pid_t r = waitpid(helper, &status, 0);
  int e = errno;
  kill_and_reap(helper);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, EINTR);
  EXPECT_GE(g_count, 1);
}

TEST(Restart, PauseReturnsEintrAfterTheHandler) {
  SignalStateGuard guard;
  EXPECT_CHILD_OK(run_in_child(
      [] {
        reset_records();
        CHILD_CHECK(install(SIGALRM, counting_handler, SA_RESTART) == 0);
        alarm(1);
        long start = now_ms();
        long r = pause();
        CHILD_CHECK(r == -1 && errno == EINTR);
        CHILD_CHECK(g_count == 1);
        CHILD_CHECK(now_ms() - start >= 900);
      },
      5000));
}

// --- Default actions ----------------------------------------------------------

TEST(DefaultAction, SigtermTerminates) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  ASSERT_GT(child, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGTERM));
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(DefaultAction, RaisedTerminatingSignalKillsBeforeReturn) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    raise(SIGUSR2);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2);
}

TEST(DefaultAction, ChldUrgWinchContAreIgnored) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    kill(getpid(), SIGCONT);
    _exit(7);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(DefaultAction, StopAndContinueAreReportedToWaitpid) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  ASSERT_GT(child, 0);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGSTOP));
  int status = 0;
  ASSERT_EQ(wait_for(child, &status, WUNTRACED, 3000), child);
  EXPECT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGCONT));
  ASSERT_EQ(wait_for(child, &status, WCONTINUED, 3000), child);
  EXPECT_TRUE(WIFCONTINUED(status));
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGKILL));
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(DefaultAction, TstpStopsAndAStoppedChildStillDiesOfSigkill) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    // Its own process group, in this session, whose parent (this process)
    // is in another group of the same session: not orphaned, so SIGTSTP stops.
    setpgid(0, 0);
    for (;;) pause();
  }
  ASSERT_GT(child, 0);
  setpgid(child, child);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGTSTP));
  int status = 0;
  ASSERT_EQ(wait_for(child, &status, WUNTRACED, 3000), child);
  EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP);
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGKILL));
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(DefaultAction, TstpToAnOrphanedProcessGroupIsDiscarded) {
  SignalStateGuard guard;
  int ready[2], go[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(ready, O_CLOEXEC));
  ASSERT_SYSCALL_SUCCEEDS(pipe2(go, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    // A new session: the only member's parent is in another session, so the
    // group is orphaned and the terminal stop signals do nothing.
    if (setsid() != getpid()) _exit(2);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    if (read(go[0], &c, 1) != 1) _exit(4);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  close(go[0]);
  char c;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS(kill(child, SIGTSTP));
  EXPECT_SYSCALL_SUCCEEDS(kill(child, SIGTTOU));
  sleep_ms(150);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, WUNTRACED | WNOHANG), 0);
  EXPECT_EQ(write(go[1], "g", 1), 1);
  pid_t r = wait_for(child, &status);
  close(ready[0]);
  close(go[1]);
  ASSERT_EQ(r, child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(DefaultAction, IgnoredSigtermIsSurvived) {
  SignalStateGuard guard;
  int ready[2], go[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(ready, O_CLOEXEC));
  ASSERT_SYSCALL_SUCCEEDS(pipe2(go, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (signal(SIGTERM, SIG_IGN) == SIG_ERR) _exit(2);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    if (read(go[0], &c, 1) != 1) _exit(4);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  close(go[0]);
  char c;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS(kill(child, SIGTERM));
  EXPECT_SYSCALL_SUCCEEDS(kill(child, SIGTERM));
  EXPECT_EQ(write(go[1], "g", 1), 1);
  int status = 0;
  pid_t r = wait_for(child, &status);
  close(ready[0]);
  close(go[1]);
  ASSERT_EQ(r, child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(DefaultAction, BlockedSigtermStaysPendingThenKillsOnUnblock) {
  SignalStateGuard guard;
  int ready[2], go[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(ready, O_CLOEXEC));
  ASSERT_SYSCALL_SUCCEEDS(pipe2(go, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (block(sigbit(SIGTERM)) != 0) _exit(2);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    if (read(go[0], &c, 1) != 1) _exit(4);
    if (!(pending_set() & sigbit(SIGTERM))) _exit(5);
    unblock(sigbit(SIGTERM));
    _exit(6);
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  close(go[0]);
  char c;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_SYSCALL_SUCCEEDS(kill(child, SIGTERM));
  EXPECT_EQ(write(go[1], "g", 1), 1);
  int status = 0;
  pid_t r = wait_for(child, &status);
  close(ready[0]);
  close(go[1]);
  ASSERT_EQ(r, child);
  if (WIFEXITED(status)) CONF_FAIL_(false, "child exited %d", WEXITSTATUS(status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

TEST(DefaultAction, SigkillCannotBeCaughtIgnoredOrBlocked) {
  SignalStateGuard guard;
  int ready[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(ready, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    bool ok = signal(SIGKILL, SIG_IGN) == SIG_ERR && errno == EINVAL;
    ok = ok && signal(SIGKILL, counting_handler) == SIG_ERR;
    uint64_t all = ~0ULL;
    raw_sigprocmask(SIG_SETMASK, &all, nullptr);
    char c = ok ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
  ASSERT_GT(child, 0);
  close(ready[1]);
  char c = 0;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  EXPECT_EQ(c, 'y');
  ASSERT_SYSCALL_SUCCEEDS(kill(child, SIGKILL));
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

// --- Fork and execve ----------------------------------------------------------

TEST(Inherit, ForkKeepsDispositionsAndMaskButNotPending) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install(SIGUSR1, counting_handler, SA_RESTART));
  ASSERT_TRUE(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
  ASSERT_SYSCALL_SUCCEEDS(block(sigbit(SIGPROF)));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGPROF));
  ASSERT_TRUE(pending_set() & sigbit(SIGPROF));
  EXPECT_CHILD_OK(run_in_child([] {
    struct sigaction q {};
    CHILD_CHECK(sigaction(SIGUSR1, nullptr, &q) == 0);
    CHILD_CHECK(q.sa_handler == counting_handler);
    CHILD_CHECK(q.sa_flags & SA_RESTART);
    CHILD_CHECK(sigaction(SIGUSR2, nullptr, &q) == 0);
    CHILD_CHECK(q.sa_handler == SIG_IGN);
    CHILD_CHECK(current_mask() == sigbit(SIGPROF));
    CHILD_CHECK(!(pending_set() & sigbit(SIGPROF)));
    reset_records();
    CHILD_CHECK(raise(SIGUSR1) == 0);
    CHILD_CHECK(g_count == 1);
    CHILD_CHECK(raise(SIGUSR2) == 0);
  }));
  // Still pending here.
  EXPECT_TRUE(pending_set() & sigbit(SIGPROF));
}

TEST(Inherit, ExecveResetsHandlersKeepsIgnoredMaskAndPending) {
  SignalStateGuard guard;
  int out[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe2(out, O_CLOEXEC));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    close(out[0]);
    if (install(SIGUSR1, counting_handler) != 0) _exit(2);
    if (signal(SIGUSR2, SIG_IGN) == SIG_ERR) _exit(3);
    if (block(sigbit(SIGPROF)) != 0) _exit(4);
    if (kill(getpid(), SIGPROF) != 0) _exit(5);
    if (set_altstack(g_altstack, sizeof g_altstack) != 0) _exit(6);
    if (dup2(out[1], 1) != 1) _exit(7);
    char arg0[] = "signal_test";
    char arg1[] = "--child-report";
    char* argv[] = {arg0, arg1, nullptr};
    execv("/proc/self/exe", argv);
    _exit(8);
  }
  ASSERT_GT(child, 0);
  close(out[1]);
  std::string report;
  char buf[256];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_STREQ(report, "usr1=dfl usr2=ign mask_prof=1 pending_prof=1 altstack=disabled\n");
}

// --- Faults -------------------------------------------------------------------

TEST(Fault, NullDereferenceIsSegvMaperr) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGSEGV, fault_handler));
  if (sigsetjmp(g_fault_jmp, 1) == 0) {
    do_null_read();
    CONF_FAIL_(true, "reading address 0x10 did not fault");
  }
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_fault_info.si_signo, SIGSEGV);
  EXPECT_EQ(g_fault_info.si_code, SEGV_MAPERR);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g_fault_info.si_addr), 0x10u);
  // siglongjmp restored the mask sigsetjmp saved.
  EXPECT_EQ(current_mask(), 0u);
}

TEST(Fault, WriteToReadOnlyPageIsSegvAccerr) {
  SignalStateGuard guard;
  reset_records();
  void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(page != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGSEGV, fault_handler));
  volatile char* target = static_cast<volatile char*>(page) + 100;
  if (sigsetjmp(g_fault_jmp, 1) == 0) {
    *target = 1;
    munmap(page, 4096);
    CONF_FAIL_(true, "writing a PROT_READ page did not fault");
  }
  munmap(page, 4096);
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_fault_info.si_signo, SIGSEGV);
  EXPECT_EQ(g_fault_info.si_code, SEGV_ACCERR);
  EXPECT_TRUE(g_fault_info.si_addr == static_cast<volatile void*>(target));
}

TEST(Fault, IntegerDivideByZeroIsFpeIntdiv) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGFPE, fault_handler));
  g_expect_addr = 0;
  if (sigsetjmp(g_fault_jmp, 1) == 0) {
    do_divide_by_zero();
    CONF_FAIL_(true, "idiv by zero did not fault");
  }
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_fault_info.si_signo, SIGFPE);
  EXPECT_EQ(g_fault_info.si_code, FPE_INTDIV);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g_fault_info.si_addr), g_expect_addr);
  EXPECT_EQ(g_fault_rip, g_expect_addr);
}

TEST(Fault, Ud2IsSigillIllopn) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGILL, fault_handler));
  g_expect_addr = 0;
  if (sigsetjmp(g_fault_jmp, 1) == 0) {
    do_ud2();
    CONF_FAIL_(true, "ud2 did not fault");
  }
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_fault_info.si_signo, SIGILL);
  EXPECT_EQ(g_fault_info.si_code, ILL_ILLOPN);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g_fault_info.si_addr), g_expect_addr);
  EXPECT_EQ(g_fault_rip, g_expect_addr);
}

namespace {
uintptr_t g_trap_rip;
void trap_handler(int sig, siginfo_t* info, void* ucv) {
  g_info = *info;
  g_last_sig = sig;
  g_trap_rip = static_cast<uintptr_t>(static_cast<ucontext_t*>(ucv)->uc_mcontext.gregs[REG_RIP]);
  g_count = g_count + 1;
}
}  // namespace

TEST(Fault, Int3IsSigtrapAndResumesAfterIt) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGTRAP, trap_handler));
  uintptr_t after = 0;
  asm volatile(
      "leaq 1f(%%rip), %0\n\t"
      "int3\n\t"
      "1:\n\t"
      : "=&r"(after)
      :
      : "memory");
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_last_sig, SIGTRAP);
  EXPECT_EQ(g_info.si_signo, SIGTRAP);
  EXPECT_EQ(g_info.si_code, SI_KERNEL);
  EXPECT_EQ(g_trap_rip, after);
}

TEST(Fault, AccessBeyondEndOfFileMappingIsSigbusAdrerr) {
  SignalStateGuard guard;
  reset_records();
  std::string path = temp_dir() + "/short";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 100));
  char* map = static_cast<char*>(mmap(nullptr, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0));
  close(fd);
  ASSERT_TRUE(map != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGBUS, fault_handler));
  // Within the file's last page the tail reads as zeros.
  EXPECT_EQ(static_cast<volatile char*>(map)[200], 0);
  volatile char* beyond = map + 4096 + 8;
  if (sigsetjmp(g_fault_jmp, 1) == 0) {
    (void)*beyond;
    munmap(map, 2 * 4096);
    CONF_FAIL_(true, "reading past the end of the file did not fault");
  }
  munmap(map, 2 * 4096);
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_fault_info.si_signo, SIGBUS);
  EXPECT_EQ(g_fault_info.si_code, BUS_ADRERR);
  EXPECT_TRUE(g_fault_info.si_addr == static_cast<volatile void*>(beyond));
}

TEST(Fault, DefaultActionKillsWithTheFaultSignal) {
  SignalStateGuard guard;
  struct Kind {
    void (*fn)();
    int sig;
  };
  const Kind kinds[] = {{do_null_read, SIGSEGV}, {do_divide_by_zero, SIGFPE}, {do_ud2, SIGILL}};
  for (const Kind& k : kinds) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      no_core_dumps();
      k.fn();
      _exit(0);
    }
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(wait_for(child, &status), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), k.sig);
  }
}

TEST(Fault, BlockedOrIgnoredFaultSignalStillKills) {
  SignalStateGuard guard;
  for (int variant = 0; variant < 2; variant++) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      no_core_dumps();
      if (variant == 0) {
        install_info(SIGSEGV, fault_handler);
        block(sigbit(SIGSEGV));
      } else {
        signal(SIGSEGV, SIG_IGN);
      }
      do_null_read();
      _exit(0);
    }
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(wait_for(child, &status), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  }
}
