#pragma once
// Futex wait queues of one process (private futexes: keyed by address).
// Waiters are coroutines of the process's threads; all run on the sandbox's
// worker, so no lock. FIXME: shared futexes across processes (MAP_SHARED)
// are keyed per process here, so a wake from another process is not seen.

#include <coroutine>
#include <cstdint>
#include <list>
#include <map>

namespace moat {

struct FutexTimeout;

struct FutexWaiter {
  uint64_t addr = 0;
  uint32_t bitset = 0xffffffff;
  std::coroutine_handle<> handle;
  bool woken = false;
  bool timed_out = false;
  FutexTimeout* timeout = nullptr;  // pending io_uring timeout, if any
};

class FutexTable {
 public:
  void enqueue(FutexWaiter* w) { m_queues[w->addr].push_back(w); }
  void remove(FutexWaiter* w);
  // Wakes up to n waiters on addr whose bitset intersects; returns how many.
  int wake(uint64_t addr, int n, uint32_t bitset = 0xffffffff);
  // Wakes up to n_wake waiters on addr and moves up to n_requeue more to addr2.
  int requeue(uint64_t addr, int n_wake, uint64_t addr2, int n_requeue);

 private:
  void resume_woken(std::list<FutexWaiter*>& woken);
  std::map<uint64_t, std::list<FutexWaiter*>> m_queues;
};

}  // namespace moat
