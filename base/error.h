#pragma once
// Error handling for moat: a strong Errno, ErrorOr<T> and TRY().
// Only the syscall dispatcher turns an Errno into a negative return value.

#include <cerrno>
#include <cstdint>
#include <utility>
#include <variant>

namespace moat {

// Linux errno values, kept as a strong type so an errno is never confused with
// a count. Internal codes (above 4095) never reach the guest.
enum class Errno : int {
  Ok = 0,
  PERM = EPERM, NOENT = ENOENT, SRCH = ESRCH, INTR = EINTR, IO = EIO, NXIO = ENXIO,
  TooBig = E2BIG, NOEXEC = ENOEXEC, BADF = EBADF, CHILD = ECHILD, AGAIN = EAGAIN,
  NOMEM = ENOMEM, ACCES = EACCES, FAULT = EFAULT, BUSY = EBUSY, EXIST = EEXIST,
  XDEV = EXDEV, NODEV = ENODEV, NOTDIR = ENOTDIR, ISDIR = EISDIR, INVAL = EINVAL,
  NFILE = ENFILE, MFILE = EMFILE, NOTTY = ENOTTY, TXTBSY = ETXTBSY, FBIG = EFBIG,
  NOSPC = ENOSPC, SPIPE = ESPIPE, ROFS = EROFS, MLINK = EMLINK, PIPE = EPIPE,
  DOM = EDOM, RANGE = ERANGE, NAMETOOLONG = ENAMETOOLONG, NOSYS = ENOSYS,
  NOTEMPTY = ENOTEMPTY, LOOP = ELOOP, NODATA = ENODATA, OVERFLOW_ = EOVERFLOW,
  NOTSUP = EOPNOTSUPP, NOTSOCK = ENOTSOCK, TIMEDOUT = ETIMEDOUT, LIBBAD = ELIBBAD,
  // Internal: the operation would block; the caller waits and retries.
  WouldBlock = 5000,
  // Internal: interrupted, restart the syscall transparently.
  RestartSys = 5001,
  // Internal: a path walk left a host lookup to io_uring (fs::HostFetch);
  // the dispatcher runs it and calls the handler again.
  FetchHost = 5002,
};

constexpr int to_int(Errno e) { return static_cast<int>(e); }
inline Errno errno_from_host(int e) { return static_cast<Errno>(e); }
inline Errno last_host_errno() { return static_cast<Errno>(errno); }
const char* errno_name(Errno e);  // "ENOENT"; defined in base/error.cpp

// A value of T or an Errno. Small, move-only when T is.
template <typename T>
class [[nodiscard]] ErrorOr {
 public:
  ErrorOr(T value) : m_v(std::move(value)) {}
  ErrorOr(Errno e) : m_v(e) {}
  template <typename U>
    requires std::is_convertible_v<U, T> && (!std::is_same_v<std::decay_t<U>, Errno>)
  ErrorOr(U&& u) : m_v(T(std::forward<U>(u))) {}

  bool is_error() const { return std::holds_alternative<Errno>(m_v); }
  Errno error() const { return std::get<Errno>(m_v); }
  T& value() { return std::get<T>(m_v); }
  const T& value() const { return std::get<T>(m_v); }
  T release_value() { return std::move(std::get<T>(m_v)); }

 private:
  std::variant<T, Errno> m_v;
};

template <>
class [[nodiscard]] ErrorOr<void> {
 public:
  ErrorOr() = default;
  ErrorOr(Errno e) : m_e(e) {}
  bool is_error() const { return m_e != Errno::Ok; }
  Errno error() const { return m_e; }
  void release_value() {}

 private:
  Errno m_e = Errno::Ok;
};

// Host syscall helpers: turn -1/errno into an Errno.
inline ErrorOr<long> host_result(long r) {
  if (r < 0) return last_host_errno();
  return r;
}

}  // namespace moat

// TRY(expr): evaluate an ErrorOr, return its error from the enclosing function
// (or coroutine, via CO_TRY), else yield its value.
#define TRY(expr)                                   \
  ({                                                \
    auto _moat_try = (expr);                        \
    if (_moat_try.is_error()) return _moat_try.error(); \
    _moat_try.release_value();                      \
  })

// Coroutines cannot `return` from a statement expression, and GCC 12 cannot
// compile co_return inside one either, so the coroutine forms are statements:
//   CO_TRY(expr);                 propagate an error, drop the value
//   CO_TRY_ASSIGN(auto x, expr);  propagate an error, else bind the value
#define MOAT_CONCAT_(a, b) a##b
#define MOAT_CONCAT(a, b) MOAT_CONCAT_(a, b)
#define CO_TRY(expr)                                          \
  do {                                                        \
    auto _moat_co_try = (expr);                               \
    if (_moat_co_try.is_error()) co_return _moat_co_try.error(); \
  } while (0)
#define CO_TRY_ASSIGN(lhs, expr)                                              \
  auto MOAT_CONCAT(_moat_co_try_, __LINE__) = (expr);                         \
  if (MOAT_CONCAT(_moat_co_try_, __LINE__).is_error())                        \
    co_return MOAT_CONCAT(_moat_co_try_, __LINE__).error();                   \
  lhs = MOAT_CONCAT(_moat_co_try_, __LINE__).release_value()
