#pragma once
// The pending signals of a thread or a process (the kernel's struct
// sigpending): a bit per signal and the siginfo of each instance. A standard
// signal is pending at most once (later sends coalesce into the first); a
// real-time signal queues every instance, delivered in the order sent
// (signal(7), "Real-time signals").

#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace moat {

class SignalQueue {
 public:
  // The kernel's default RLIMIT_SIGPENDING is in the thousands; one bound per
  // queue keeps a guest from growing the sentry without limit.
  static constexpr size_t kMaxQueued = 4096;

  uint64_t mask() const { return m_mask; }
  bool has(int sig) const { return m_mask & bit(sig); }

  // Adds an instance; false when a real-time signal found the queue full.
  bool enqueue(int sig, const siginfo_t& info) {
    if (sig < SIGRTMIN_KERNEL && has(sig)) return true;
    if (m_queued.size() >= kMaxQueued) return false;
    m_queued.push_back(info);
    m_queued.back().si_signo = sig;
    m_mask |= bit(sig);
    return true;
  }

  // Takes the oldest instance of sig (which must be pending).
  siginfo_t dequeue(int sig) {
    siginfo_t info{};
    info.si_signo = sig;
    auto it = std::find_if(m_queued.begin(), m_queued.end(), [&](const siginfo_t& i) { return i.si_signo == sig; });
    if (it != m_queued.end()) {
      info = *it;
      m_queued.erase(it);
    }
    if (std::none_of(m_queued.begin(), m_queued.end(), [&](const siginfo_t& i) { return i.si_signo == sig; }))
      m_mask &= ~bit(sig);
    return info;
  }

  // Drops every instance of the signals in set (a stop signal discards a
  // pending SIGCONT and the other way round; SIG_IGN discards).
  void discard(uint64_t set) {
    std::erase_if(m_queued, [&](const siginfo_t& i) { return set & bit(i.si_signo); });
    m_mask &= ~set;
  }

 private:
  // SIGRTMIN as the kernel counts (glibc reserves the first two for itself).
  static constexpr int SIGRTMIN_KERNEL = 32;
  static constexpr uint64_t bit(int sig) { return 1ULL << (sig - 1); }
  uint64_t m_mask = 0;
  std::vector<siginfo_t> m_queued;
};

}  // namespace moat
