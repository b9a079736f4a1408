#include "sentry/kernel/process.h"

#include <sys/resource.h>

#include <algorithm>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "sentry/kernel/host_limits.h"
#include "sentry/platform/stub_process.h"

namespace moat {

Process::Process(Sandbox& sandbox, pid_t pid) : m_sandbox(sandbox), m_pid(pid) {
  // Limits start as the host's (what a process started by the user gets),
  // not the sentry's raised fd limit.
  const auto& initial = initial_guest_rlimits();
  std::copy(initial.begin(), initial.end(), rlimits.begin());
}

Process::~Process() = default;

void Process::set_stub(std::unique_ptr<StubProcess> stub) {
  m_stub = std::move(stub);
  m_mem.set_pid(m_stub->host_pid());
}

Thread& Process::add_thread(uint32_t slot_index, pid_t tid) {
  m_threads.push_back(std::make_unique<Thread>(*this, slot_index, tid));
  return *m_threads.back();
}

void Process::make_leader(Thread& t) {
  auto it = std::find_if(m_threads.begin(), m_threads.end(), [&](auto& owned) { return owned.get() == &t; });
  if (it == m_threads.end() || it == m_threads.begin()) return;
  // The old leader's object stays (exited) under a tid no lookup matches.
  m_threads.front()->set_tid(0);
  std::rotate(m_threads.begin(), it, it + 1);
  t.set_tid(m_pid);
}

Thread* Process::thread_by_slot(uint32_t slot_index) const {
  for (auto& t : m_threads)
    if (t->slot_index() == slot_index && !t->exited) return t.get();
  return nullptr;
}

Thread* Process::thread_by_tid(pid_t tid) const {
  for (auto& t : m_threads)
    if (t->tid() == tid && !t->exited) return t.get();
  return nullptr;
}

int Process::free_slot_index() const {
  // A slot is free when no live thread uses it and the host thread that
  // last used it has left it (the kernel cleared its host_tid).
  for (uint32_t i = 0; i < MOAT_MAX_THREADS; i++) {
    if (thread_by_slot(i)) continue;
    bool used_before = false;
    for (auto& t : m_threads) used_before |= t->slot_index() == i;
    if (used_before && __atomic_load_n(&m_stub->slot(i)->host_tid, __ATOMIC_ACQUIRE) != 0) continue;
    return static_cast<int>(i);
  }
  return -1;
}

std::vector<Thread*> Process::live_thread_list() const {
  std::vector<Thread*> out;
  for (auto& t : m_threads)
    if (!t->exited) out.push_back(t.get());
  return out;
}

int Process::live_threads() const {
  int n = 0;
  for (auto& t : m_threads) n += !t->exited;
  return n;
}

bool Process::any_thread_in_syscall() const {
  for (auto& t : m_threads)
    if (t->in_syscall) return true;
  return false;
}

// Safe from any thread (and a signal handler): records the status and kills
// the host process; the worker notices through the pidfd (lifecycle.cpp).
void Process::kill_with_signal(int sig) {
  int expected = -1;
  exit_status.compare_exchange_strong(expected, sig & 0x7f);
  if (m_stub) m_stub->kill(SIGKILL);
}

}  // namespace moat
