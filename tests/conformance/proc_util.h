// Helpers for the signal conformance tests: resetting the process's signal
// state between cases, waiting for children with a deadline (so a test never
// hangs the binary), and running a check in a forked child that reports its
// first failed check back to the parent.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "harness.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

namespace conformance {

// The kernel's struct sigaction on x86-64 (for raw rt_sigaction calls).
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};

constexpr uint64_t sigbit(int sig) { return 1ULL << (sig - 1); }

inline long raw_sigaction(int sig, const KernelSigaction* act, KernelSigaction* old, size_t size = 8) {
  return syscall(SYS_rt_sigaction, sig, act, old, size);
}
inline long raw_sigprocmask(int how, const uint64_t* set, uint64_t* old, size_t size = 8) {
  return syscall(SYS_rt_sigprocmask, how, set, old, size);
}
// The calling thread's signal mask as the kernel holds it (all 64 bits).
inline uint64_t current_mask() {
  uint64_t m = 0;
  raw_sigprocmask(SIG_BLOCK, nullptr, &m);
  return m;
}
inline uint64_t pending_set() {
  uint64_t m = 0;
  syscall(SYS_rt_sigpending, &m, 8);
  return m;
}

inline long now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

inline void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Puts every catchable signal back to SIG_DFL, unblocks everything, drops
// pending signals, disables the alternate stack and disarms the timers. Each
// case starts with it (and ends with it through SignalStateGuard): an ASSERT
// leaves a case by longjmp, skipping destructors, so the next case cleans up.
inline void reset_signal_state() {
  itimerval zero{};
  setitimer(ITIMER_REAL, &zero, nullptr);
  alarm(0);
  KernelSigaction ign{};
  ign.handler = reinterpret_cast<void*>(SIG_IGN);
  KernelSigaction dfl{};
  dfl.handler = reinterpret_cast<void*>(SIG_DFL);
  uint64_t all = ~0ULL;
  raw_sigprocmask(SIG_SETMASK, &all, nullptr);
  // Ignoring a signal discards its pending instances; unblocking while
  // ignored drops any that were left pending anyway.
  for (int sig = 1; sig <= 64; sig++) {
    // 32 and 33 belong to glibc (thread cancellation, setxid broadcast).
    if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33) continue;
    raw_sigaction(sig, &ign, nullptr);
  }
  uint64_t none = 0;
  raw_sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33) continue;
    raw_sigaction(sig, &dfl, nullptr);
  }
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
}

struct SignalStateGuard {
  SignalStateGuard() { reset_signal_state(); }
  ~SignalStateGuard() { reset_signal_state(); }
  SignalStateGuard(const SignalStateGuard&) = delete;
  SignalStateGuard& operator=(const SignalStateGuard&) = delete;
};

// waitpid with a deadline; on timeout the child is killed and reaped and the
// result is 0 (with *status untouched). options may add WUNTRACED etc.
inline pid_t wait_for(pid_t pid, int* status, int options = 0, long timeout_ms = 5000) {
  long deadline = now_ms() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, options | WNOHANG);
    if (r != 0) return r;
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      int ignored;
      waitpid(pid, &ignored, 0);
      return 0;
    }
    sleep_ms(2);
  }
}

// Kills (SIGKILL) and reaps a helper child.
inline void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// --- Checks in a forked child -------------------------------------------

inline int& child_report_fd() {
  static int fd = -1;
  return fd;
}

[[noreturn]] inline void child_fail(int line, const char* what) {
  int e = errno;
  char msg[400];
  int n = snprintf(msg, sizeof msg, "child line %d: %s (errno %s)", line, what, errno_str(e).c_str());
  if (child_report_fd() >= 0 && n > 0) (void)!write(child_report_fd(), msg, static_cast<size_t>(n));
  _exit(100);
}

// In code run by run_in_child: the child stops at the first false check.
#define CHILD_CHECK(cond)                                       \
  do {                                                          \
    if (!(cond)) ::conformance::child_fail(__LINE__, #cond);    \
  } while (0)

struct ChildOutcome {
  bool timed_out = false;
  int status = 0;
  std::string message;  // the child's failed check, if any
  bool ok() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string describe() const {
    if (timed_out) return "child timed out";
    if (!message.empty()) return message;
    if (WIFSIGNALED(status)) return "child killed by signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status)) return "child exited " + std::to_string(WEXITSTATUS(status));
    return "child status " + std::to_string(status);
  }
};

// Runs fn in a forked child (which exits 0 when fn returns) and waits for it
// at most timeout_ms.
template <typename Fn>
ChildOutcome run_in_child(Fn fn, long timeout_ms = 5000) {
  ChildOutcome out;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    out.message = "pipe2 failed";
    out.status = 1 << 8;
    return out;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_report_fd() = fds[1];
    fn();
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    out.message = "fork failed: " + errno_str(errno);
    out.status = 1 << 8;
    return out;
  }
  pid_t r = wait_for(pid, &out.status, 0, timeout_ms);
  if (r == 0) out.timed_out = true;
  char buf[400];
  ssize_t n = read(fds[0], buf, sizeof buf);
  if (n > 0) out.message.assign(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

#define EXPECT_CHILD_OK(outcome)                                                      \
  do {                                                                                \
    ::conformance::ChildOutcome conf_o_ = (outcome);                                  \
    if (!conf_o_.ok()) CONF_FAIL_(false, "%s", conf_o_.describe().c_str());           \
  } while (0)

}  // namespace conformance
