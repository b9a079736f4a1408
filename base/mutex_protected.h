#pragma once
// State guarded by a mutex is reachable only through it.

#include <mutex>

namespace moat {

template <typename T>
class MutexProtected {
 public:
  template <typename... Args>
  explicit MutexProtected(Args&&... args) : m_value(std::forward<Args>(args)...) {}

  template <typename F>
  decltype(auto) with_lock(F&& f) {
    std::lock_guard lock(m_mutex);
    return f(m_value);
  }
  template <typename F>
  decltype(auto) with_lock(F&& f) const {
    std::lock_guard lock(m_mutex);
    return f(m_value);
  }

 private:
  mutable std::mutex m_mutex;
  T m_value;
};

}  // namespace moat
