#include "sentry/kernel/futex.h"

#include <algorithm>
#include <vector>

namespace moat {

void FutexTable::remove(FutexWaiter* w) {
  auto it = m_queues.find(w->addr);
  if (it == m_queues.end()) return;
  it->second.remove(w);
  if (it->second.empty()) m_queues.erase(it);
}

void FutexTable::resume_woken(std::list<FutexWaiter*>& woken) {
  // Resume after the queues are consistent: a woken thread may wait again.
  std::vector<std::coroutine_handle<>> handles;
  for (FutexWaiter* w : woken) handles.push_back(w->handle);
  for (auto h : handles) h.resume();
}

int FutexTable::wake(uint64_t addr, int n, uint32_t bitset) {
  auto it = m_queues.find(addr);
  if (it == m_queues.end() || n <= 0) return 0;
  std::list<FutexWaiter*> woken;
  auto& q = it->second;
  for (auto w = q.begin(); w != q.end() && static_cast<int>(woken.size()) < n;) {
    if ((*w)->bitset & bitset) {
      (*w)->woken = true;
      woken.push_back(*w);
      w = q.erase(w);
    } else {
      ++w;
    }
  }
  if (q.empty()) m_queues.erase(it);
  int count = static_cast<int>(woken.size());
  resume_woken(woken);
  return count;
}

int FutexTable::requeue(uint64_t addr, int n_wake, uint64_t addr2, int n_requeue) {
  auto it = m_queues.find(addr);
  if (it == m_queues.end()) return 0;
  std::list<FutexWaiter*> woken;
  auto& q = it->second;
  while (!q.empty() && static_cast<int>(woken.size()) < n_wake) {
    q.front()->woken = true;
    woken.push_back(q.front());
    q.pop_front();
  }
  int moved = 0;
  while (!q.empty() && moved < n_requeue && addr != addr2) {
    FutexWaiter* w = q.front();
    q.pop_front();
    w->addr = addr2;
    m_queues[addr2].push_back(w);
    moved++;
  }
  if (m_queues.count(addr) && m_queues[addr].empty()) m_queues.erase(addr);
  int count = static_cast<int>(woken.size()) + moved;
  resume_woken(woken);
  return count;
}

}  // namespace moat
