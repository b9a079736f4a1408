#pragma once
// net::SocketFile: a guest socket (socket(7)). Every guest socket is a host
// socket held by the sentry, in the sentry's network namespace, so data,
// backlogs and readiness are the host kernel's. The host fd is always
// O_NONBLOCK: an operation is one non-blocking host call, and a blocking
// guest call waits for readiness with an io_uring poll (host_fd_wait.h) that
// a guest signal cancels, then tries again. What is the sentry's: names of
// unix sockets, credentials, passed fds, the option allow-list, timeouts.
// See net/README.md.
//
// Lock order: a socket's m_lock, then a unix Endpoint's lock, then the unix
// name registry's lock or the in-flight fd table's lock (leaves). None is
// held across a co_await.

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "fs/file.h"

namespace moat {
class Process;
class Thread;
}  // namespace moat

namespace moat::net {

// Errnos the Errno enum does not name.
inline constexpr Errno kAddrInUse = static_cast<Errno>(EADDRINUSE);
inline constexpr Errno kAddrNotAvail = static_cast<Errno>(EADDRNOTAVAIL);
inline constexpr Errno kConnRefused = static_cast<Errno>(ECONNREFUSED);
inline constexpr Errno kAfNoSupport = static_cast<Errno>(EAFNOSUPPORT);
inline constexpr Errno kProtoNoSupport = static_cast<Errno>(EPROTONOSUPPORT);
inline constexpr Errno kSockTNoSupport = static_cast<Errno>(ESOCKTNOSUPPORT);
inline constexpr Errno kNoProtoOpt = static_cast<Errno>(ENOPROTOOPT);
inline constexpr Errno kIsConn = static_cast<Errno>(EISCONN);
inline constexpr Errno kNotConn = static_cast<Errno>(ENOTCONN);
inline constexpr Errno kProtoType = static_cast<Errno>(EPROTOTYPE);
inline constexpr Errno kMsgSize = static_cast<Errno>(EMSGSIZE);

// The credentials a unix socket reports (SO_PEERCRED, SCM_CREDENTIALS), in
// guest terms.
struct Creds {
  int32_t pid = 0;
  uint32_t uid = ~0u, gid = ~0u;  // cred_to_ucred() without a cred: -1
};

// One sendmsg(2) as the syscall layer decoded it from guest memory.
struct SendRequest {
  std::span<const std::byte> data;
  std::vector<std::byte> addr;                 // guest sockaddr; empty: none
  std::vector<RefPtr<fs::File>> files;         // SCM_RIGHTS
  std::optional<Creds> creds;                  // SCM_CREDENTIALS
  std::vector<std::byte> control;              // other cmsgs, as the guest wrote them
  int flags = 0;
};

// One recvmsg(2): the socket fills data, addr and the guest-ready control
// bytes (installing passed fds in the caller's table).
struct RecvRequest {
  std::span<std::byte> data;
  bool want_addr = false;
  size_t control_cap = 0;                      // the guest's msg_controllen
  int flags = 0;                               // MSG_* in
  // Out:
  std::vector<std::byte> addr;                 // empty: no address (msg_namelen 0)
  std::vector<std::byte> control;
  int msg_flags = 0;                           // MSG_TRUNC, MSG_CTRUNC, MSG_EOR...
};

class SocketFile : public fs::File {
 public:
  ~SocketFile() override;

  int family() const { return m_family; }
  int type() const { return m_type; }
  int protocol() const { return m_protocol; }
  int host_fd() const { return m_fd.get(); }

  virtual ErrorOr<void> bind(Process& process, std::span<const std::byte> addr);
  virtual ErrorOr<void> listen(Process& process, int backlog);
  // flags: O_NONBLOCK for the new file (SOCK_CLOEXEC is the fd table's).
  // peer: the connecting socket's guest address.
  virtual Coro<ErrorOr<RefPtr<SocketFile>>> accept(Process& process, Thread* thread, int flags,
                                                   std::vector<std::byte>& peer);
  virtual Coro<ErrorOr<void>> connect(Process& process, Thread* thread, std::span<const std::byte> addr);
  virtual ErrorOr<std::vector<std::byte>> sockname() const;
  virtual ErrorOr<std::vector<std::byte>> peername() const;
  virtual Coro<ErrorOr<size_t>> sendmsg(Process& process, Thread* thread, SendRequest& req);
  virtual Coro<ErrorOr<size_t>> recvmsg(Process& process, Thread* thread, RecvRequest& req);
  ErrorOr<void> shutdown(int how);
  ErrorOr<void> setsockopt(Process& process, int level, int name, std::span<const std::byte> value);
  // Returns the bytes to give back (at most out.size() are copied by the caller).
  ErrorOr<std::vector<std::byte>> getsockopt(Process& process, int level, int name, size_t len);

  // fs::File
  std::string path() const override { return m_name; }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset) override;
  ErrorOr<struct stat> stat() const override;
  ErrorOr<int64_t> lseek(int64_t, int) override { return Errno::SPIPE; }
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override;
  bool is_stream() const override { return true; }
  int poll_host_fd() const override { return m_fd.get(); }

 protected:
  SocketFile(UniqueFd fd, int family, int type, int protocol, int flags);

  // The option rules of a family: kNoProtoOpt for what it does not allow.
  // Called for every level but SOL_SOCKET's sentry-kept options.
  virtual ErrorOr<void> check_option(int level, int name, bool set) const;
  // Options the family keeps itself (unix: SO_PEERCRED, SO_PASSCRED).
  virtual std::optional<ErrorOr<std::vector<std::byte>>> family_getsockopt(Process&, int level, int name) {
    return std::nullopt;
  }
  virtual std::optional<ErrorOr<void>> family_setsockopt(int level, int name, std::span<const std::byte> value) {
    return std::nullopt;
  }

  // Runs op (a non-blocking host call: a count or -errno) until it stops
  // saying EAGAIN, waiting for events in between unless dontwait. The wait
  // honours SO_RCVTIMEO (events POLLIN) or SO_SNDTIMEO (POLLOUT) and ends
  // with EAGAIN when it passes, EINTR/ERESTARTSYS on a signal (sock_intr_errno).
  template <typename Op>
  Coro<ErrorOr<long>> retry(Thread* thread, unsigned events, bool dontwait, Op op);

  // A plain host sendmsg/recvmsg of the request (no fd passing): inet and
  // netlink use these as they are, unix wraps them.
  Coro<ErrorOr<size_t>> host_sendmsg(Thread* thread, SendRequest& req, std::span<const std::byte> name,
                                     std::span<const std::byte> control);
  // Receives into req.data; the host's address and control bytes go to
  // host_name and host_control (sized by the caller).
  Coro<ErrorOr<size_t>> host_recvmsg(Thread* thread, RecvRequest& req, std::vector<std::byte>& host_name,
                                     std::vector<std::byte>& host_control);

  UniqueFd m_fd;
  const int m_family, m_type, m_protocol;
  std::string m_name;  // "socket:[ino]"
  std::mutex m_lock;
  int64_t m_rcvtimeo_ns = 0;  // 0: none (guarded by m_lock)
  int64_t m_sndtimeo_ns = 0;

 private:
  Coro<ErrorOr<long>> wait_ready(Thread* thread, unsigned events, int64_t deadline_ns, bool has_timeout);
};

// socket(2): the factory for every family. type may carry SOCK_NONBLOCK.
ErrorOr<RefPtr<SocketFile>> create_socket(Process& process, int family, int type, int protocol);
// socketpair(2): AF_UNIX only (EOPNOTSUPP for the others, like Linux).
ErrorOr<std::pair<RefPtr<SocketFile>, RefPtr<SocketFile>>> create_socketpair(Process& process, int family, int type,
                                                                             int protocol);

// The guest's credentials as a unix socket reports them: SO_PEERCRED has
// the effective ids (cred_to_ucred), SCM_CREDENTIALS the real ones (scm_send).
Creds peer_creds_of(const Process& process);
Creds message_creds_of(const Process& process);

// CLOCK_MONOTONIC in ns (for SO_RCVTIMEO deadlines).
int64_t monotonic_now_ns();

}  // namespace moat::net

namespace moat::net {

template <typename Op>
Coro<ErrorOr<long>> SocketFile::retry(Thread* thread, unsigned events, bool dontwait, Op op) {
  int64_t timeout;
  {
    std::lock_guard lock(m_lock);
    timeout = (events & 0x1 /* POLLIN */) ? m_rcvtimeo_ns : m_sndtimeo_ns;
  }
  if (timeout < 0) dontwait = true;  // a negative SO_RCVTIMEO: sock_set_timeout's 0
  int64_t deadline = timeout > 0 ? monotonic_now_ns() + timeout : -1;
  for (;;) {
    long r = op();
    if (r != -EAGAIN) {
      if (r < 0) co_return errno_from_host(static_cast<int>(-r));
      co_return r;
    }
    if (dontwait) co_return Errno::AGAIN;
    auto w = co_await wait_ready(thread, events, deadline, timeout > 0);
    if (w.is_error()) co_return w.error();
  }
}

}  // namespace moat::net
