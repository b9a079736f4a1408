#pragma once
// Sentry worker threads. Each worker owns one io_uring and serves the rings
// of the processes assigned to it: it pops trapped syscalls, runs handlers
// (coroutines for the blocking ones) and reaps io_uring completions.
//
// Idle policy (see the probes: a cross-CPU wake-up costs 20-80 us here): a
// worker spins for a bounded budget after its last piece of work, then sleeps
// in io_uring_enter with IORING_OP_FUTEX_WAIT armed on each ring's doorbell
// and on its own wake word, so one sleep covers guest requests, host I/O
// completions and tasks posted from other threads.

#include <liburing.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace moat {

class Process;

class Worker {
 public:
  explicit Worker(int index);
  ~Worker();
  Worker(const Worker&) = delete;

  void start();
  void stop();
  // Runs fn on this worker's thread (thread-safe).
  void post(std::function<void()> fn);
  // Adds a process whose ring this worker serves (from the worker's thread).
  void attach(Process* p);
  void detach(Process* p);

  io_uring* ring() { return &m_ring; }
  static Worker* current();

  // Counters.
  std::atomic<uint64_t> sleeps{0};
  std::atomic<uint64_t> requests{0};

 private:
  void init_ring();
  void pin_to_cpu();
  void run();
  bool poll_processes();
  bool run_posted();
  bool reap_completions();
  void sleep();

  int m_index;
  io_uring m_ring{};
  std::thread m_thread;
  std::atomic<bool> m_stop{false};
  std::mutex m_post_lock;
  std::vector<std::function<void()>> m_posted;
  std::atomic<bool> m_has_posted{false};
  alignas(64) std::atomic<uint32_t> m_wake_word{0};
  std::atomic<bool> m_sleeping{false};
  bool m_wake_armed = false;
  bool m_ring_ready = false;
  bool m_futex_supported = true;
  std::vector<Process*> m_processes;
  uint64_t m_spin_cycles = 0;  // adapts between min and max
  uint64_t m_spin_min_cycles = 0;
  uint64_t m_spin_max_cycles = 0;
};

class WorkerPool {
 public:
  explicit WorkerPool(int count);
  // One worker per CPU the sentry may run on (its affinity mask: a cpuset
  // or taskset narrows it), as DESIGN.md's "one per host CPU".
  static int default_count();
  ~WorkerPool();
  Worker& worker(int i) { return *m_workers[i]; }
  // The worker that serves a new process (round robin).
  Worker& pick();
  int size() const { return static_cast<int>(m_workers.size()); }

 private:
  std::vector<std::unique_ptr<Worker>> m_workers;
  std::atomic<uint32_t> m_next{0};
};

}  // namespace moat
