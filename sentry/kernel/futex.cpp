#include "sentry/kernel/futex.h"

#include <sys/mman.h>

#include <vector>

#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/mm/address_space.h"

namespace moat {

ErrorOr<FutexKey> futex_key(Process& p, uint64_t addr, FutexScope scope) {
  if (addr & 3) return Errno::INVAL;
  // The kernel's access_ok: the word must lie in the user address space.
  if (addr > mm::kUserTop - sizeof(uint32_t)) return Errno::FAULT;
  FutexKey key;
  key.offset = addr;
  if (scope == FutexScope::Private) return key;
  key.kind = FutexKey::Kind::ProcessShared;
  const mm::Mapping* m = p.address_space().find(addr);
  if (!m) return Errno::FAULT;
  if (m->reserved || !(m->flags & MAP_SHARED)) return key;
  if ((m->flags & MAP_ANONYMOUS) && m->shared_id) {
    key.kind = FutexKey::Kind::SharedAnon;
    key.object = m->shared_id;
    key.offset = m->shared_offset + (addr - m->start);
  } else if (!(m->flags & MAP_ANONYMOUS) && m->inode) {
    key.kind = FutexKey::Kind::SharedFile;
    key.device = m->dev;
    key.object = m->inode;
    key.offset = m->offset + (addr - m->start);
  }
  return key;
}

FutexTable& futex_table(Process& p, const FutexKey& key) {
  return key.in_process_table() ? p.futexes() : p.sandbox().shared_futexes();
}

void FutexTable::enqueue(FutexWaiter* w) {
  w->table = this;
  m_queues[w->key].push_back(w);
}

void FutexTable::remove(FutexWaiter* w) {
  if (w->table != this) return;
  w->table = nullptr;
  auto it = m_queues.find(w->key);
  if (it == m_queues.end()) return;
  it->second.remove(w);
  if (it->second.empty()) m_queues.erase(it);
}

FutexTable::Queue::iterator FutexTable::skip_dead(Queue& q, Queue::iterator it) {
  while (it != q.end() && !(*it)->alive()) {
    (*it)->table = nullptr;
    it = q.erase(it);
  }
  return it;
}

FutexTable::Queue::iterator FutexTable::take(Queue& q, Queue::iterator it, std::vector<FutexWait*>& woken) {
  FutexWaiter* w = *it;
  w->wait->state = FutexWait::State::Woken;
  w->wait->woken_index = w->index;
  w->table = nullptr;
  woken.push_back(w->wait);
  return q.erase(it);
}

void FutexTable::resume_all(const std::vector<FutexWait*>& waits, Resume resume) {
  // Resume after the queues are consistent: a woken thread may wait again.
  std::vector<std::coroutine_handle<>> handles;
  for (FutexWait* w : waits) handles.push_back(w->handle);
  for (auto h : handles) {
    if (resume == Resume::Now)
      h.resume();
    else
      resume_later(h);
  }
}

int FutexTable::wake(const FutexKey& key, int n, uint32_t bitset, Resume resume) {
  auto found = m_queues.find(key);
  if (found == m_queues.end() || n <= 0) return 0;
  std::vector<FutexWait*> woken;
  Queue& q = found->second;
  for (auto it = skip_dead(q, q.begin()); it != q.end() && static_cast<int>(woken.size()) < n;
       it = skip_dead(q, it)) {
    if ((*it)->bitset & bitset)
      it = take(q, it, woken);
    else
      ++it;
  }
  if (q.empty()) m_queues.erase(found);
  resume_all(woken, resume);
  return static_cast<int>(woken.size());
}

int FutexTable::requeue(const FutexKey& key, int n_wake, FutexTable& table2, const FutexKey& key2, int n_requeue) {
  auto found = m_queues.find(key);
  if (found == m_queues.end()) return 0;
  std::vector<FutexWait*> woken;
  Queue& q = found->second;
  auto it = skip_dead(q, q.begin());
  while (it != q.end() && static_cast<int>(woken.size()) < n_wake) it = skip_dead(q, take(q, it, woken));
  int moved = 0;
  const bool same = &table2 == this && key2 == key;
  while (it != q.end() && moved < n_requeue) {
    FutexWaiter* w = *it;
    moved++;
    if (same) {
      it = skip_dead(q, std::next(it));
      continue;
    }
    it = skip_dead(q, q.erase(it));
    w->key = key2;
    table2.enqueue(w);
  }
  // Looked up again: the requeue may have added to this table's map.
  if (auto again = m_queues.find(key); again != m_queues.end() && again->second.empty()) m_queues.erase(again);
  resume_all(woken, Resume::Now);
  return static_cast<int>(woken.size()) + moved;
}

void FutexTable::cancel_process(const Process& p) {
  std::vector<FutexWait*> cancelled;
  for (auto queue = m_queues.begin(); queue != m_queues.end();) {
    Queue& q = queue->second;
    for (auto it = q.begin(); it != q.end();) {
      FutexWaiter* w = *it;
      if (&w->wait->thread->process() != &p) {
        ++it;
        continue;
      }
      if (w->alive()) {
        w->wait->state = FutexWait::State::Interrupted;
        cancelled.push_back(w->wait);
      }
      w->table = nullptr;
      it = q.erase(it);
    }
    queue = q.empty() ? m_queues.erase(queue) : std::next(queue);
  }
  resume_all(cancelled, Resume::Later);
}

}  // namespace moat
