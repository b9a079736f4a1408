// net::SocketFile: what every family shares (socket.h): the wait-and-retry
// loop over a non-blocking host socket, plain host sendmsg/recvmsg, the
// SOL_SOCKET option rules, ioctls, and the socket(2) factory.

#include "net/socket.h"

#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "fs/host_fd_file.h"
#include "net/families.h"
#include "sentry/kernel/host_fd_wait.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/syscalls/readiness.h"

namespace moat::net {

namespace {

// Flags a guest may pass to sendmsg/recvmsg that reach the host as they
// are. MSG_DONTWAIT is the sentry's business (the host call never blocks);
// MSG_WAITALL is carried out by the sentry's loop; MSG_NOSIGNAL is always
// set on the host (SIGPIPE is the guest's, raised by the dispatcher).
constexpr int kSendFlags = MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_MORE | MSG_CONFIRM | MSG_FASTOPEN;
constexpr int kRecvFlags = MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_ERRQUEUE;

fs::Location socket_location(int fd) {
  struct stat st {};
  (void)::fstat(fd, &st);
  fs::Location loc;
  loc.entries.push_back(fs::PathEntry{"socket:[" + std::to_string(st.st_ino) + "]", make_ref<fs::AnonNode>(S_IFSOCK)});
  loc.anonymous = true;
  return loc;
}

constexpr int kSoRcvtimeoNew = 66, kSoSndtimeoNew = 67;

bool is_rcvtimeo(int name) { return name == SO_RCVTIMEO || name == kSoRcvtimeoNew; }
bool is_sndtimeo(int name) { return name == SO_SNDTIMEO || name == kSoSndtimeoNew; }

// SOL_SOCKET options a guest may read and set on the host socket. Options
// that need privilege on the host (SO_MARK, SO_*BUFFORCE, SO_BINDTODEVICE,
// SO_DEBUG) would run with the sentry's: they are refused instead.
bool sol_socket_settable(int name) {
  switch (name) {
    case SO_REUSEADDR:
    case SO_DONTROUTE:
    case SO_BROADCAST:
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_KEEPALIVE:
    case SO_OOBINLINE:
    case SO_NO_CHECK:
    case SO_PRIORITY:
    case SO_LINGER:
    case SO_BSDCOMPAT:
    case SO_REUSEPORT:
    case SO_PASSCRED:
    case SO_RCVLOWAT:
    case SO_SNDLOWAT:
    case SO_TIMESTAMP:
    case SO_TIMESTAMPNS:
    case SO_TIMESTAMPING:
    case 63:  // SO_TIMESTAMP_NEW
    case 64:  // SO_TIMESTAMPNS_NEW
    case 65:  // SO_TIMESTAMPING_NEW
    case SO_PEEK_OFF:
    case SO_RXQ_OVFL:
    case SO_SELECT_ERR_QUEUE:
    case SO_INCOMING_CPU:
    case SO_MAX_PACING_RATE: return true;
    default: return false;
  }
}

bool sol_socket_readable(int name) {
  if (sol_socket_settable(name)) return true;
  switch (name) {
    case SO_TYPE:
    case SO_ERROR:
    case SO_ACCEPTCONN:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_COOKIE:
    case SO_MEMINFO:
    case SO_INCOMING_NAPI_ID: return true;
    default: return false;
  }
}

// Protocol-level cmsgs (IP_PKTINFO, IPV6_HOPLIMIT...) go to the host;
// SOL_SOCKET ones (SO_MARK, SCM_TXTIME...) could use the sentry's rights.
ErrorOr<void> check_protocol_cmsgs(std::span<const std::byte> control) {
  for (size_t off = 0; off + sizeof(cmsghdr) <= control.size();) {
    cmsghdr h;
    std::memcpy(&h, control.data() + off, sizeof h);
    if (h.cmsg_len < sizeof(cmsghdr)) break;
    if (h.cmsg_level == SOL_SOCKET) return Errno::INVAL;
    off += CMSG_ALIGN(h.cmsg_len);
  }
  return {};
}

}  // namespace

int64_t monotonic_now_ns() { return monotonic_ns(); }

Creds peer_creds_of(const Process& process) {
  return Creds{process.pid(), process.creds.euid, process.creds.egid};
}

Creds message_creds_of(const Process& process) {
  return Creds{process.pid(), process.creds.uid, process.creds.gid};
}

SocketFile::SocketFile(UniqueFd fd, int family, int type, int protocol, int flags)
    : File(socket_location(fd.get()), O_RDWR | (flags & O_NONBLOCK)),
      m_fd(std::move(fd)),
      m_family(family),
      m_type(type),
      m_protocol(protocol) {
  m_name = location().entries.back().name;
}

SocketFile::~SocketFile() = default;

Coro<ErrorOr<long>> SocketFile::wait_ready(Thread* thread, unsigned events, int64_t deadline_ns, bool has_timeout) {
  // sock_intr_errno(): a call without a timeout is restarted after a
  // SA_RESTART handler, one with a timeout ends with EINTR.
  Errno intr = has_timeout ? Errno::INTR : Errno::RestartSys;
  if (thread && (thread->interrupted || deliverable_signal_pending(*thread))) co_return intr;
  int64_t left = -1;
  if (has_timeout) {
    left = deadline_ns - monotonic_ns();
    if (left <= 0) co_return Errno::AGAIN;
  }
  int32_t r = co_await wait_host_fd(m_fd.get(), events, left, thread);
  if (thread && thread->interrupted) co_return intr;
  // Without a timeout only a signal cancels the poll; with one, the
  // timeout does too and the next round reports EAGAIN.
  if (r == -ECANCELED && !has_timeout) co_return intr;
  co_return 0L;
}

// Default bind/listen/connect/accept: the address goes to the host as the
// guest gave it (inet and netlink; unix overrides them all).
ErrorOr<void> SocketFile::bind(Process&, std::span<const std::byte> addr) {
  if (::bind(m_fd.get(), reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) < 0)
    return last_host_errno();
  return {};
}

ErrorOr<void> SocketFile::listen(Process&, int backlog) {
  if (::listen(m_fd.get(), backlog) < 0) return last_host_errno();
  return {};
}

Coro<ErrorOr<RefPtr<SocketFile>>> SocketFile::accept(Process& process, Thread* thread, int flags,
                                                     std::vector<std::byte>& peer) {
  co_return Errno::NOTSUP;
}

Coro<ErrorOr<void>> SocketFile::connect(Process&, Thread*, std::span<const std::byte> addr) {
  if (::connect(m_fd.get(), reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) < 0)
    co_return last_host_errno();
  co_return ErrorOr<void>{};
}

ErrorOr<std::vector<std::byte>> SocketFile::sockname() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return last_host_errno();
  auto* b = reinterpret_cast<const std::byte*>(&ss);
  return std::vector<std::byte>(b, b + std::min<size_t>(len, sizeof ss));
}

ErrorOr<std::vector<std::byte>> SocketFile::peername() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return last_host_errno();
  auto* b = reinterpret_cast<const std::byte*>(&ss);
  return std::vector<std::byte>(b, b + std::min<size_t>(len, sizeof ss));
}

Coro<ErrorOr<size_t>> SocketFile::sendmsg(Process&, Thread* thread, SendRequest& req) {
  if (!req.files.empty() || req.creds) co_return Errno::INVAL;  // SCM_* are AF_UNIX's
  CO_TRY(check_protocol_cmsgs(req.control));
  co_return co_await host_sendmsg(thread, req, req.addr, req.control);
}

Coro<ErrorOr<size_t>> SocketFile::recvmsg(Process&, Thread* thread, RecvRequest& req) {
  std::vector<std::byte> name(req.want_addr ? sizeof(sockaddr_storage) : 0);
  // The host cuts the control data to the guest's room and says MSG_CTRUNC.
  std::vector<std::byte> control(std::min<size_t>(req.control_cap, 64 * 1024));
  auto r = co_await host_recvmsg(thread, req, name, control);
  if (r.is_error()) co_return r.error();
  req.addr = std::move(name);
  req.control = std::move(control);
  co_return r.value();
}

Coro<ErrorOr<size_t>> SocketFile::host_sendmsg(Thread* thread, SendRequest& req, std::span<const std::byte> name,
                                               std::span<const std::byte> control) {
  int fd = m_fd.get();
  bool dontwait = nonblocking() || (req.flags & MSG_DONTWAIT);
  int flags = (req.flags & kSendFlags) | MSG_DONTWAIT | MSG_NOSIGNAL;
  // A blocking stream send moves every byte (or stops at a signal with the
  // count); datagrams and records go whole or not at all.
  bool stream = m_type == SOCK_STREAM;
  size_t done = 0;
  for (;;) {
    iovec iov{const_cast<std::byte*>(req.data.data()) + done, req.data.size() - done};
    msghdr msg{};
    if (!name.empty()) {
      msg.msg_name = const_cast<std::byte*>(name.data());
      msg.msg_namelen = static_cast<socklen_t>(name.size());
    }
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (done == 0 && !control.empty()) {
      msg.msg_control = const_cast<std::byte*>(control.data());
      msg.msg_controllen = control.size();
    }
    auto r = co_await retry(thread, POLLOUT, dontwait, [&]() -> long {
      ssize_t n = ::sendmsg(fd, &msg, flags);
      return n < 0 ? -static_cast<long>(errno) : n;
    });
    if (r.is_error()) {
      if (done > 0) co_return done;
      co_return r.error();
    }
    done += static_cast<size_t>(r.value());
    if (!stream || dontwait || done >= req.data.size()) co_return done;
  }
}

Coro<ErrorOr<size_t>> SocketFile::host_recvmsg(Thread* thread, RecvRequest& req, std::vector<std::byte>& host_name,
                                               std::vector<std::byte>& host_control) {
  int fd = m_fd.get();
  bool errqueue = req.flags & MSG_ERRQUEUE;  // never waits (sock_error_queue)
  bool dontwait = nonblocking() || (req.flags & MSG_DONTWAIT) || errqueue;
  int flags = (req.flags & kRecvFlags) | MSG_DONTWAIT | MSG_CMSG_CLOEXEC;
  bool waitall = (req.flags & MSG_WAITALL) && m_type == SOCK_STREAM && !(req.flags & MSG_PEEK);
  size_t name_cap = host_name.size(), control_cap = host_control.size();
  size_t done = 0;
  for (;;) {
    iovec iov{req.data.data() + done, req.data.size() - done};
    msghdr msg{};
    if (done == 0 && name_cap) {
      msg.msg_name = host_name.data();
      msg.msg_namelen = static_cast<socklen_t>(name_cap);
    }
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (done == 0 && control_cap) {
      msg.msg_control = host_control.data();
      msg.msg_controllen = control_cap;
    }
    auto r = co_await retry(thread, POLLIN, dontwait, [&]() -> long {
      ssize_t n = ::recvmsg(fd, &msg, flags);
      return n < 0 ? -static_cast<long>(errno) : n;
    });
    if (r.is_error()) {
      if (done > 0) break;
      co_return r.error();
    }
    if (done == 0) {
      host_name.resize(std::min<size_t>(msg.msg_namelen, name_cap));
      host_control.resize(std::min<size_t>(msg.msg_controllen, control_cap));
      req.msg_flags = msg.msg_flags & ~MSG_CMSG_CLOEXEC;
    }
    done += static_cast<size_t>(r.value());
    // MSG_TRUNC on a datagram reports the real length, more than the buffer.
    if (!waitall || r.value() == 0 || done >= req.data.size()) break;
  }
  co_return done;
}

ErrorOr<void> SocketFile::shutdown(int how) {
  if (how < SHUT_RD || how > SHUT_RDWR) return Errno::INVAL;
  if (::shutdown(m_fd.get(), how) < 0) return last_host_errno();
  return {};
}

ErrorOr<void> SocketFile::check_option(int level, int name, bool set) const { return kNoProtoOpt; }

ErrorOr<void> SocketFile::setsockopt(Process& process, int level, int name, std::span<const std::byte> value) {
  if (auto r = family_setsockopt(level, name, value)) return *r;
  if (level == SOL_SOCKET && (is_rcvtimeo(name) || is_sndtimeo(name))) {
    // sock_set_timeout(): a zero timeval is no timeout; a negative one
    // never waits.
    if (value.size() < sizeof(timeval)) return Errno::INVAL;
    timeval tv;
    std::memcpy(&tv, value.data(), sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Errno::DOM;
    int64_t ns = tv.tv_sec < 0 ? -1 : tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    std::lock_guard lock(m_lock);
    (is_rcvtimeo(name) ? m_rcvtimeo_ns : m_sndtimeo_ns) = ns;
    return {};
  }
  if (level == SOL_SOCKET) {
    if (name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE || name == SO_MARK || name == SO_BINDTODEVICE ||
        name == SO_DEBUG)
      return Errno::PERM;
    if (!sol_socket_settable(name)) return kNoProtoOpt;
    // SO_PRIORITY above 6 needs CAP_NET_ADMIN (sk_setsockopt).
    if (name == SO_PRIORITY && value.size() >= sizeof(int)) {
      int prio;
      std::memcpy(&prio, value.data(), sizeof prio);
      if ((prio < 0 || prio > 6) && !(process.creds.cap_effective & (1ULL << 12))) return Errno::PERM;
    }
  } else {
    TRY(check_option(level, name, true));
  }
  if (::setsockopt(m_fd.get(), level, name, value.data(), static_cast<socklen_t>(value.size())) < 0)
    return last_host_errno();
  return {};
}

ErrorOr<std::vector<std::byte>> SocketFile::getsockopt(Process& process, int level, int name, size_t len) {
  if (auto r = family_getsockopt(process, level, name)) return *r;
  if (level == SOL_SOCKET && (is_rcvtimeo(name) || is_sndtimeo(name))) {
    int64_t ns;
    {
      std::lock_guard lock(m_lock);
      ns = is_rcvtimeo(name) ? m_rcvtimeo_ns : m_sndtimeo_ns;
    }
    timeval tv{};
    if (ns > 0) tv = timeval{ns / 1000000000LL, (ns % 1000000000LL) / 1000};
    auto* b = reinterpret_cast<const std::byte*>(&tv);
    return std::vector<std::byte>(b, b + sizeof tv);
  }
  if (level == SOL_SOCKET) {
    if (!sol_socket_readable(name)) return kNoProtoOpt;
  } else {
    TRY(check_option(level, name, false));
  }
  std::vector<std::byte> buf(std::min<size_t>(len, 4096));
  socklen_t n = static_cast<socklen_t>(buf.size());
  if (::getsockopt(m_fd.get(), level, name, buf.data(), &n) < 0) return last_host_errno();
  buf.resize(std::min<size_t>(n, buf.size()));
  return buf;
}

// read(2) and write(2). The calling thread is known only until the
// handler's first suspension (interrupt.h): a later chunk of a long
// transfer goes straight to the host, and its waits are not interrupted by
// a signal (they end when the peer moves).
Coro<ErrorOr<size_t>> SocketFile::read(std::span<std::byte> buf, int64_t offset) {
  Thread* thread = dispatching_thread();
  RecvRequest req;
  req.data = buf;
  if (thread) co_return co_await recvmsg(thread->process(), thread, req);
  std::vector<std::byte> no_name, no_control;
  co_return co_await host_recvmsg(nullptr, req, no_name, no_control);
}

Coro<ErrorOr<size_t>> SocketFile::write(std::span<const std::byte> buf, int64_t offset) {
  Thread* thread = dispatching_thread();
  SendRequest req;
  req.data = buf;
  if (thread) co_return co_await sendmsg(thread->process(), thread, req);
  co_return co_await host_sendmsg(nullptr, req, {}, {});
}

ErrorOr<struct stat> SocketFile::stat() const {
  struct stat st {};
  if (::fstat(m_fd.get(), &st) < 0) return last_host_errno();
  return st;
}

// Socket ioctls (sock_ioctl): queue sizes, and the read-only interface
// queries of netdevice(7). Requests that change interfaces are EPERM.
ErrorOr<int64_t> SocketFile::ioctl(Process& process, unsigned long request, uint64_t arg) {
  const UserMemory& mem = process.mem();
  switch (request) {
    case SIOCINQ:
    case SIOCOUTQ:
    case SIOCOUTQNSD:
    case SIOCATMARK: {
      int v = 0;
      if (::ioctl(m_fd.get(), request, &v) < 0) return last_host_errno();
      TRY(mem.write_obj(UserPtr<int>(arg), v));
      return 0;
    }
    case SIOCGIFNAME:
    case SIOCGIFINDEX:
    case SIOCGIFFLAGS:
    case SIOCGIFADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFBRDADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFMTU:
    case SIOCGIFHWADDR:
    case SIOCGIFTXQLEN:
    case SIOCGIFMETRIC: {
      ifreq ifr = TRY(mem.read_obj(UserPtr<ifreq>(arg)));
      ifr.ifr_name[IFNAMSIZ - 1] = 0;
      if (::ioctl(m_fd.get(), request, &ifr) < 0) return last_host_errno();
      TRY(mem.write_obj(UserPtr<ifreq>(arg), ifr));
      return 0;
    }
    case SIOCGIFCONF: {
      ifconf ifc = TRY(mem.read_obj(UserPtr<ifconf>(arg)));
      uint64_t guest_buf = reinterpret_cast<uint64_t>(ifc.ifc_buf);
      if (ifc.ifc_len < 0) return Errno::INVAL;
      std::vector<std::byte> buf(std::min<size_t>(static_cast<size_t>(ifc.ifc_len), 64 * 1024));
      ifconf host{};
      host.ifc_len = static_cast<int>(buf.size());
      host.ifc_buf = guest_buf ? reinterpret_cast<char*>(buf.data()) : nullptr;
      if (::ioctl(m_fd.get(), SIOCGIFCONF, &host) < 0) return last_host_errno();
      if (guest_buf && host.ifc_len > 0) TRY(mem.write(guest_buf, buf.data(), static_cast<size_t>(host.ifc_len)));
      ifc.ifc_len = host.ifc_len;
      TRY(mem.write_obj(UserPtr<ifconf>(arg), ifc));
      return 0;
    }
    case SIOCSIFFLAGS:
    case SIOCSIFADDR:
    case SIOCSIFMTU:
    case SIOCSIFNAME:
    case SIOCADDRT:
    case SIOCDELRT: return Errno::PERM;
    default: return Errno::NOTTY;
  }
}

ErrorOr<RefPtr<SocketFile>> create_socket(Process& process, int family, int type, int protocol) {
  if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) return Errno::INVAL;
  int base = type & 0xf;
  int flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
  switch (family) {
    case AF_UNIX: return make_unix_socket(process, base, protocol, flags);
    case AF_INET:
    case AF_INET6: return make_inet_socket(process, family, base, protocol, flags);
    case AF_NETLINK: return make_netlink_socket(process, base, protocol, flags);
    default: return kAfNoSupport;
  }
}

ErrorOr<std::pair<RefPtr<SocketFile>, RefPtr<SocketFile>>> create_socketpair(Process& process, int family, int type,
                                                                             int protocol) {
  if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) return Errno::INVAL;
  int flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
  if (family == AF_INET || family == AF_INET6 || family == AF_NETLINK) return Errno::NOTSUP;
  if (family != AF_UNIX) return kAfNoSupport;
  return make_unix_pair(process, type & 0xf, protocol, flags);
}

}  // namespace moat::net
