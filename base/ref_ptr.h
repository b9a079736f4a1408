#pragma once
// Intrusive reference counting for shared kernel objects (files, dentries,
// mounts, processes). Single owners use std::unique_ptr instead.

#include <atomic>
#include <cstdint>
#include <utility>

namespace moat {

template <typename T>
class RefCounted {
 public:
  void ref() const { m_refs.fetch_add(1, std::memory_order_relaxed); }
  void unref() const {
    if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete static_cast<const T*>(this);
  }
  uint32_t ref_count() const { return m_refs.load(std::memory_order_relaxed); }
  // Takes a reference unless the count already reached zero (the object is
  // being destroyed): for caches that hold raw pointers and are cleaned up by
  // the object's destructor.
  bool try_ref() const {
    uint32_t n = m_refs.load(std::memory_order_relaxed);
    while (n != 0)
      if (m_refs.compare_exchange_weak(n, n + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    return false;
  }

 protected:
  RefCounted() = default;
  ~RefCounted() = default;

 private:
  mutable std::atomic<uint32_t> m_refs{1};
};

template <typename T>
class RefPtr {
 public:
  RefPtr() = default;
  RefPtr(std::nullptr_t) {}
  RefPtr(T* p) : m_p(p) { if (m_p) m_p->ref(); }
  RefPtr(const RefPtr& o) : m_p(o.m_p) { if (m_p) m_p->ref(); }
  RefPtr(RefPtr&& o) noexcept : m_p(std::exchange(o.m_p, nullptr)) {}
  template <typename U>
  RefPtr(const RefPtr<U>& o) : m_p(o.ptr()) { if (m_p) m_p->ref(); }
  template <typename U>
  RefPtr(RefPtr<U>&& o) : m_p(o.leak()) {}
  ~RefPtr() { if (m_p) m_p->unref(); }
  RefPtr& operator=(RefPtr o) noexcept { std::swap(m_p, o.m_p); return *this; }

  // Takes over a reference that the caller already owns (a fresh object).
  static RefPtr adopt(T* p) { RefPtr r; r.m_p = p; return r; }
  T* leak() { return std::exchange(m_p, nullptr); }

  T* ptr() const { return m_p; }
  T* operator->() const { return m_p; }
  T& operator*() const { return *m_p; }
  explicit operator bool() const { return m_p != nullptr; }
  bool operator==(const RefPtr& o) const { return m_p == o.m_p; }

 private:
  T* m_p = nullptr;
};

template <typename T, typename... Args>
RefPtr<T> make_ref(Args&&... args) {
  return RefPtr<T>::adopt(new T(std::forward<Args>(args)...));
}

}  // namespace moat
