// Helpers shared by the process conformance tests (fork_wait, clone, exec):
// waiting for a child with a deadline so that a missing feature fails a case
// instead of hanging the binary, killing and reaping leftovers, burning CPU,
// and raw syscalls that never touch errno (for code running on a borrowed
// thread pointer).
//
// Code that runs in a forked child must not use the harness macros (an
// ASSERT would longjmp into the parent's copy of the runner): children check
// by hand and report through their exit status.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>

// Checks inside a forked child, which has no harness: a failed check prints
// the line and what failed, and ends the child with status 1 for the parent's
// child_result() to report.
#define CHILD_CHECK(cond)                                                                                   \
  do {                                                                                                      \
    if (!(cond)) {                                                                                          \
      fprintf(stderr, "  child check failed at line %d: %s (errno %s)\n", __LINE__, #cond, strerror(errno)); \
      _exit(1);                                                                                             \
    }                                                                                                       \
  } while (0)

// Expects expr to fail with errno err, in a forked child.
#define CHILD_CHECK_ERRNO(expr, err)                                                                         \
  do {                                                                                                       \
    errno = 0;                                                                                               \
    long r_ = (long)(expr);                                                                                  \
    int e_ = errno;                                                                                          \
    if (r_ != -1 || e_ != (err)) {                                                                           \
      fprintf(stderr, "  child line %d: %s returned %ld (%s), want %s\n", __LINE__, #expr, r_, strerror(e_), \
              strerror(err));                                                                                \
      _exit(1);                                                                                              \
    }                                                                                                        \
  } while (0)

namespace proc {

inline int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t now_ms() { return now_ns() / 1000000; }

inline void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// The process's CPU time in ns, or -1 when the clock cannot be read.
inline int64_t process_cpu_ns() {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Spins until the process has used about ms milliseconds of CPU (so a loaded
// machine does not shorten the work), or 5 * ms of wall time have passed.
inline void burn_cpu_ms(int ms) {
  int64_t want = static_cast<int64_t>(ms) * 1000000;
  int64_t wall_end = now_ns() + 5 * want;
  int64_t cpu_start = process_cpu_ns();
  volatile uint64_t x = 1;
  for (;;) {
    for (int i = 0; i < 10000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    if (cpu_start >= 0 && process_cpu_ns() - cpu_start >= want) break;
    if (now_ns() >= wall_end) break;
  }
}

// waitpid with a deadline: polls with WNOHANG added to options. Returns what
// waitpid returned (the pid, or -1 with errno), or 0 if nothing was reported
// within timeout_ms.
inline pid_t wait_timeout(pid_t pid, int* status, int options = 0, int timeout_ms = 10000) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, options | WNOHANG);
    if (r != 0) return r;
    if (now_ms() >= end) return 0;
    sleep_ms(1);
  }
}

// Kills pid (if still there) and reaps it, without ever blocking forever.
inline void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  kill(pid, SIGCONT);
  int st;
  wait_timeout(pid, &st, __WALL, 5000);
}

// The result of a child as one number: its exit code (0..255), 1000 + the
// signal that killed it, -1 if it did not finish within timeout_ms (it is then
// killed and reaped), -2 if waitpid failed.
constexpr int kTimedOut = -1;
constexpr int kWaitFailed = -2;
inline int killed_by(int sig) { return 1000 + sig; }

inline int child_result(pid_t pid, int timeout_ms = 10000, int options = 0) {
  int st = 0;
  pid_t r = wait_timeout(pid, &st, options, timeout_ms);
  if (r == 0) {
    kill_and_reap(pid);
    return kTimedOut;
  }
  if (r != pid) return kWaitFailed;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return killed_by(WTERMSIG(st));
  return kWaitFailed;
}

// Forks a child that runs fn() and exits with its return value.
template <typename F>
pid_t fork_child(F fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  return pid;
}

// Reads exactly n bytes (or fewer at EOF) with a deadline; returns the byte
// count read, or -1 on error or timeout.
inline ssize_t read_full_timeout(int fd, void* buf, size_t n, int timeout_ms = 10000) {
  size_t got = 0;
  int64_t end = now_ms() + timeout_ms;
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ssize_t result = -1;
  for (;;) {
    ssize_t r = read(fd, static_cast<char*>(buf) + got, n - got);
    if (r > 0) {
      got += static_cast<size_t>(r);
      if (got == n) {
        result = static_cast<ssize_t>(got);
        break;
      }
      continue;
    }
    if (r == 0) {
      result = static_cast<ssize_t>(got);
      break;
    }
    if (errno != EAGAIN && errno != EINTR) break;
    if (now_ms() >= end) break;
    sleep_ms(1);
  }
  fcntl(fd, F_SETFL, flags);
  return result;
}

// A pipe whose ends close when the value goes (both -1 if pipe() failed).
struct Pipe {
  int r = -1, w = -1;
  explicit Pipe(int flags = O_CLOEXEC) {
    int fds[2];
    if (pipe2(fds, flags) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) close(r);
    r = -1;
  }
  void close_w() {
    if (w >= 0) close(w);
    w = -1;
  }
  bool ok() const { return r >= 0 && w >= 0; }
};

// Blocks the calling child until the parent writes a byte or closes the pipe
// (or 10 s pass, so a child never outlives a failed case by much).
inline void child_wait_for_go(int fd) {
  char c;
  read_full_timeout(fd, &c, 1, 10000);
}

// Raw syscalls that never touch errno (errno lives behind the thread
// pointer, which a clone child may have replaced). Return -errno on failure.
inline long raw_syscall6(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) {
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

[[noreturn]] inline void raw_exit_thread(int code) {
  for (;;) raw_syscall6(SYS_exit, code);
}

[[noreturn]] inline void raw_exit_group(int code) {
  for (;;) raw_syscall6(SYS_exit_group, code);
}

// Number of entries in /proc/self/task (-1 if it cannot be read).
int count_tasks();

// The value of a "Name:\tvalue" line of /proc/self/status ("" if absent).
inline std::string status_field(const char* name) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  std::string key = std::string("\n") + name + ":";
  size_t at = text.find(key);
  if (at == std::string::npos) {
    if (text.compare(0, key.size() - 1, key.c_str() + 1) != 0) return "";
    at = 0;
  } else {
    at += 1;
  }
  at += key.size() - 1;
  while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) at++;
  size_t eol = text.find('\n', at);
  return text.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
}

}  // namespace proc

#include <dirent.h>

inline int proc::count_tasks() {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}
