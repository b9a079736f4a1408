#pragma once
// Access to guest memory from the sentry. Guest addresses are typed
// (UserPtr<T>) and read or written only through these calls, which return
// EFAULT for unmapped or inaccessible memory. Copy once, then validate the
// copy: never read guest memory twice for one decision.

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"

namespace moat {

template <typename T>
struct UserPtr {
  uint64_t addr = 0;
  UserPtr() = default;
  explicit UserPtr(uint64_t a) : addr(a) {}
  bool is_null() const { return addr == 0; }
  UserPtr operator+(uint64_t n) const { return UserPtr(addr + n * sizeof(T)); }
};

class UserMemory {
 public:
  explicit UserMemory(pid_t host_pid = -1) : m_pid(host_pid) {}
  void set_pid(pid_t pid) { m_pid = pid; }
  // The host process whose memory this is (the guest's stub process).
  pid_t host_pid() const { return m_pid; }

  ErrorOr<void> read(uint64_t addr, void* dst, size_t len) const;
  ErrorOr<void> write(uint64_t addr, const void* src, size_t len) const;
  // Reads a NUL-terminated string of at most max bytes (without the NUL);
  // ENAMETOOLONG when no NUL is found within max.
  ErrorOr<std::string> read_string(uint64_t addr, size_t max) const;
  // Reads as much as possible up to len; returns the count read (0 = EFAULT at addr).
  size_t read_partial(uint64_t addr, void* dst, size_t len) const;
  size_t write_partial(uint64_t addr, const void* src, size_t len) const;

  template <typename T>
  ErrorOr<T> read_obj(UserPtr<T> p) const {
    T v;
    auto r = read(p.addr, &v, sizeof(T));
    if (r.is_error()) return r.error();
    return v;
  }
  template <typename T>
  ErrorOr<void> write_obj(UserPtr<T> p, const T& v) const {
    return write(p.addr, &v, sizeof(T));
  }

 private:
  pid_t m_pid;
};

}  // namespace moat
