#pragma once
// A guest process (thread group) and its threads.
//
// Ownership: Sandbox owns Processes; a Process owns its Threads, its
// AddressSpace and its StubProcess. The fd table and fs context are shared
// pointers because clone(CLONE_FILES / CLONE_FS) will share them.

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <array>
#include <atomic>
#include <coroutine>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sentry/io/async_mutex.h"
#include "sentry/io/wait_queue.h"
#include "sentry/kernel/cpu_time.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/signal_queue.h"
#include "sentry/mm/address_space.h"
#include "sentry/mm/user_memory.h"

namespace moat {

namespace fs {
class FdTable;
class FsContext;
}  // namespace fs
class Sandbox;
class StubProcess;
class Process;
class TimerTable;
struct ExitNotifier;

// CLOCK_BOOTTIME now: when a task starts (/proc/PID/stat's starttime counts
// from the host's boot, like the /proc/uptime a guest sees).
inline int64_t boottime_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// sigaltstack's SS_AUTODISARM (linux/signal.h; not every libc header has it).
constexpr int kSsAutodisarm = 1 << 31;

// The capabilities of Linux 6.x (CAP_LAST_CAP is 40).
constexpr uint64_t kAllCapabilities = (1ULL << 41) - 1;

struct Credentials {
  uid_t uid = 0, euid = 0, suid = 0;
  gid_t gid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups;  // supplementary (setgroups)
  // Capability sets as the guest sees them (capabilities(7)); the guest's
  // root starts with all of them, inside the sandbox only.
  uint64_t cap_effective = kAllCapabilities, cap_permitted = kAllCapabilities, cap_inheritable = 0;
};

// rt_sigaction state as recorded for the guest (delivery comes with the
// signals issue).
struct GuestSigaction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

class Thread {
 public:
  Thread(Process& process, uint32_t slot_index, pid_t tid)
      : m_process(process), m_slot_index(slot_index), m_tid(tid) {}

  Process& process() const { return m_process; }
  uint32_t slot_index() const { return m_slot_index; }
  pid_t tid() const { return m_tid; }
  void set_tid(pid_t tid) { m_tid = tid; }

  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;
  uint64_t robust_list_len = 0;
  uint64_t signal_mask = 0;
  SignalQueue pending;  // thread-directed (tgkill, faults)
  uint64_t rseq = 0;
  // sigaltstack(2): per thread, as in Linux. size 0 means disabled.
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = 0;  // SS_AUTODISARM
  // Whether sp lies on the alternate stack (the kernel's on_sig_stack);
  // never while kSsAutodisarm is set, so a handler may switch stacks.
  bool on_altstack(uint64_t sp) const {
    if (altstack_flags & kSsAutodisarm) return false;
    return sp > altstack_sp && sp - altstack_sp <= altstack_size;
  }
  uint64_t fs_base = 0;
  uint64_t gs_base = 0;
  std::string name;  // PR_SET_NAME
  int64_t start_time_ns = boottime_now_ns();  // /proc/PID/task/TID/stat
  pid_t host_tid = 0;  // the host thread behind it, once known (cpu_time.h)
  // sched_setscheduler and sched_setaffinity, recorded: the host thread
  // keeps the sentry's policy and CPUs. An empty mask means every CPU.
  int sched_policy = 0;  // SCHED_OTHER, maybe | SCHED_RESET_ON_FORK
  int sched_priority = 0;
  int nice = 0;  // setpriority(2), -20..19
  std::array<uint64_t, 16> cpu_mask{};
  // A new thread or process starts with its creator's scheduling settings;
  // SCHED_RESET_ON_FORK puts a real-time policy or a negative nice back to
  // the defaults (sched(7)).
  void inherit_scheduling(const Thread& parent) {
    sched_policy = parent.sched_policy;
    sched_priority = parent.sched_priority;
    nice = parent.nice;
    cpu_mask = parent.cpu_mask;
    if (sched_policy & kSchedResetOnFork) {  // the kernel's sched_fork()
      int policy = sched_policy & ~kSchedResetOnFork;
      if (policy != kSchedOther && policy != kSchedBatch && policy != kSchedIdle) {
        policy = kSchedOther;
        nice = 0;
      } else if (nice < 0) {
        nice = 0;
      }
      sched_policy = policy;  // the flag itself is not inherited
      sched_priority = 0;
    }
  }
  static constexpr int kSchedOther = 0, kSchedBatch = 3, kSchedIdle = 5, kSchedResetOnFork = 0x40000000;

  // The coroutine waiting for this thread's stub to report (HELLO or the
  // result of a host operation), and what it reported.
  std::coroutine_handle<> stub_waiter;
  bool stub_reported = false;
  bool stub_started = false;  // HELLO seen
  bool in_syscall = false;    // a syscall of this thread is being served
  // Where the stub said the trapped thread's saved context is (an offset in
  // its thread region); validated before use (StubProcess::trapped_context).
  uint64_t ucontext_off = 0;
  // How to interrupt the wait of the syscall in flight (interrupt.h), and
  // whether it was interrupted.
  std::function<void()> interrupt;
  bool interrupted = false;
  // rt_sigsuspend's mask replaces the thread's until a handler runs; the
  // handler's frame saves the original (the kernel's saved_sigmask).
  bool has_saved_mask = false;
  uint64_t saved_mask = 0;
  // The signals rt_sigtimedwait waits for: unblocked for the wait, yet never
  // fatal or handled while it lasts (the kernel's real_blocked).
  uint64_t sigwait_set = 0;
  // The thread has exited (its object stays until the process goes: a
  // syscall of its own may still be completing).
  bool exited = false;
  // Another thread's execve ends this one at its next stop in the sentry.
  bool must_exit = false;
  int64_t stub_result = 0;

 private:
  Process& m_process;
  uint32_t m_slot_index;
  pid_t m_tid;
};

class Process {
 public:
  Process(Sandbox& sandbox, pid_t pid);
  ~Process();

  Sandbox& sandbox() const { return m_sandbox; }
  pid_t pid() const { return m_pid; }
  pid_t ppid() const { return m_ppid; }
  // Process group and session (credentials(7)); the first process leads both.
  pid_t pgid = 1;
  pid_t sid = 1;
  bool has_execed = false;  // setpgid on a child that exec'd: EACCES
  void set_ppid(pid_t p) { m_ppid = p; }

  StubProcess& stub() const { return *m_stub; }
  bool has_stub() const { return m_stub != nullptr; }
  void set_stub(std::unique_ptr<StubProcess> stub);
  const UserMemory& mem() const { return m_mem; }
  // Guest memory is reached through this host thread from now on (the
  // leader host thread is gone after an execve from another thread).
  void set_memory_thread(pid_t host_tid, uint32_t slot) {
    m_mem.set_pid(host_tid);
    memory_slot = slot;
  }
  uint32_t memory_slot = 0;  // the slot of that thread (0: the leader)
  static constexpr uint32_t kNoMemorySlot = ~0u;  // none yet (a thread is starting)
  mm::AddressSpace& address_space() { return m_as; }
  // Serialises the memory syscalls of the process's threads across their
  // stub operations (sentry/io/async_mutex.h).
  AsyncMutex mm_lock;

  fs::FdTable& fds() const { return *m_fds; }
  fs::FsContext& fs() const { return *m_fs; }
  void set_fds(std::shared_ptr<fs::FdTable> t) { m_fds = std::move(t); }
  std::shared_ptr<fs::FdTable> shared_fds() const { return m_fds; }
  std::shared_ptr<fs::FsContext> shared_fs() const { return m_fs; }
  void set_fs(std::shared_ptr<fs::FsContext> f) { m_fs = std::move(f); }

  Thread& main_thread() const { return *m_threads.front(); }
  Thread& add_thread(uint32_t slot_index, pid_t tid);
  // Makes t the main thread, with the pid as its tid (execve from a thread).
  void make_leader(Thread& t);
  // The live thread using a slot, if any.
  Thread* thread_by_slot(uint32_t slot_index) const;
  Thread* thread_by_tid(pid_t tid) const;
  // A slot index no live thread uses; -1 when all are taken.
  int free_slot_index() const;
  int live_threads() const;
  std::vector<Thread*> live_thread_list() const;
  bool any_thread_in_syscall() const;

  FutexTable& futexes() { return m_futexes; }

  Credentials creds;
  std::array<GuestSigaction, 65> sigactions{};
  SignalQueue pending;  // process-directed (kill)
  std::array<rlimit, RLIM_NLIMITS> rlimits{};
  std::string exe_path;  // guest path of the executable (/proc/self/exe)
  // Guest addresses of the argument and environment strings (/proc/self/cmdline).
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::string comm;
  int64_t start_time_ns = boottime_now_ns();  // kept by execve (/proc/PID/stat)
  // setitimer and POSIX timers (timers.h), made at first use.
  std::shared_ptr<TimerTable> timers;
  // CPU time and usage (cpu_time.h): as sampled at exit, and that of the
  // children its waits reaped (with theirs).
  ResourceUsage exit_usage;
  ResourceUsage children_usage;
  // Job control (signal(7)): stopped by a stop signal's default action,
  // and the change of state its parent's wait has yet to see.
  enum class WaitReport { None, Stopped, Continued };
  bool stopped = false;
  int stop_signal = 0;
  WaitReport wait_report = WaitReport::None;
  bool no_new_privs = false;
  int dumpable = 1;
  int pdeathsig = 0;
  bool child_subreaper = false;  // PR_SET_CHILD_SUBREAPER (not inherited)

  // How the process ended, as the sentry decided it (the host's wait status
  // of a stub process can't tell: it is a pid namespace's init, which only
  // SIGKILL ends from outside). A wait(2) status; -1 while running.
  std::atomic<int> exit_status{-1};
  // Ends the process as if killed by sig (default action).
  void kill_with_signal(int sig);

  // Lifecycle (sentry/kernel/lifecycle.cpp). A zombie has exited and waits
  // for its parent's wait; reaped means it left the process table.
  bool zombie = false;
  bool reaped = false;
  bool vfork_released = false;  // a vfork child has exec'd or exited
  // A CLONE_VM | CLONE_VFORK child: what it writes goes back to its parent
  // (sentry/kernel/vfork.h); the caller's stack pointer at the vfork.
  bool vfork_shares_memory = false;
  uint64_t vfork_caller_sp = 0;
  std::vector<std::byte> vfork_window;  // the caller's frames as the child started
  int exit_signal = SIGCHLD;    // what its parent gets when it ends (clone's CSIGNAL)
  WaitQueue child_event;        // a child changed state (wait4 waits here)
  WaitQueue vfork_done;         // this vfork child released its parent
  std::shared_ptr<ExitNotifier> exit_notifier;  // its pidfds' (pidfd.h), made by the first

  // Worker-side state of the process's ring (owned by its worker thread).
  class Worker* worker = nullptr;
  bool doorbell_armed = false;

 private:
  Sandbox& m_sandbox;
  pid_t m_pid;
  pid_t m_ppid = 0;
  std::unique_ptr<StubProcess> m_stub;
  UserMemory m_mem;
  mm::AddressSpace m_as;
  std::shared_ptr<fs::FdTable> m_fds;
  std::shared_ptr<fs::FsContext> m_fs;
  std::vector<std::unique_ptr<Thread>> m_threads;
  FutexTable m_futexes;
};

}  // namespace moat
