#pragma once
// A guest process (thread group) and its threads.
//
// Ownership: Sandbox owns Processes; a Process owns its Threads, its
// AddressSpace and its StubProcess. The fd table and fs context are shared
// pointers because clone(CLONE_FILES / CLONE_FS) will share them.

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

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
#include "sentry/kernel/futex.h"
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

struct Credentials {
  uid_t uid = 0, euid = 0, suid = 0;
  gid_t gid = 0, egid = 0, sgid = 0;
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

  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;
  uint64_t robust_list_len = 0;
  uint64_t signal_mask = 0;
  uint64_t pending_signals = 0;  // thread-directed (tgkill)
  std::array<siginfo_t, 65> pending_info{};
  uint64_t rseq = 0;
  uint64_t fs_base = 0;
  uint64_t gs_base = 0;
  std::string name;  // PR_SET_NAME

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
  // The thread has exited (its object stays until the process goes: a
  // syscall of its own may still be completing).
  bool exited = false;
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
  void set_stub(std::unique_ptr<StubProcess> stub);
  const UserMemory& mem() const { return m_mem; }
  mm::AddressSpace& address_space() { return m_as; }
  // Serialises the memory syscalls of the process's threads across their
  // stub operations (sentry/io/async_mutex.h).
  AsyncMutex mm_lock;

  fs::FdTable& fds() const { return *m_fds; }
  fs::FsContext& fs() const { return *m_fs; }
  void set_fds(std::shared_ptr<fs::FdTable> t) { m_fds = std::move(t); }
  void set_fs(std::shared_ptr<fs::FsContext> f) { m_fs = std::move(f); }

  Thread& main_thread() const { return *m_threads.front(); }
  Thread& add_thread(uint32_t slot_index, pid_t tid);
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
  uint64_t pending_signals = 0;  // process-directed (kill)
  std::array<siginfo_t, 65> pending_info{};
  std::array<rlimit, RLIM_NLIMITS> rlimits{};
  std::string exe_path;  // guest path of the executable (/proc/self/exe)
  // Guest addresses of the argument and environment strings (/proc/self/cmdline).
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::string comm;
  uint64_t altstack_sp = 0, altstack_size = 0;
  // ITIMER_REAL (alarm, setitimer): CLOCK_MONOTONIC deadline (0: disarmed),
  // interval, and a generation that retires timers already in flight.
  int64_t itimer_deadline_ns = 0;
  int64_t itimer_interval_ns = 0;
  uint64_t itimer_generation = 0;
  bool no_new_privs = false;
  int dumpable = 1;
  int pdeathsig = 0;

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
  WaitQueue child_event;        // a child changed state (wait4 waits here)
  WaitQueue vfork_done;         // this vfork child released its parent

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
