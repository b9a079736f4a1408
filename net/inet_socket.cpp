// AF_INET and AF_INET6 sockets (ip(7), tcp(7), udp(7)) and AF_NETLINK
// NETLINK_ROUTE (rtnetlink(7)): host sockets in the sentry's network
// namespace, passed through with the sentry's checks: an option
// allow-list, CAP_NET_BIND_SERVICE for low ports, no raw sockets, and
// read-only route netlink.

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>

#include <cstring>

#include "net/families.h"
#include "sentry/kernel/process.h"

namespace moat::net {

namespace {

constexpr int kCapNetBindService = 10;
constexpr int kSolNetlink = 270;

bool tcp_option(int name, bool set) {
  switch (name) {
    case TCP_NODELAY:
    case TCP_MAXSEG:
    case TCP_CORK:
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
    case TCP_SYNCNT:
    case TCP_LINGER2:
    case TCP_DEFER_ACCEPT:
    case TCP_WINDOW_CLAMP:
    case TCP_QUICKACK:
    case TCP_USER_TIMEOUT:
    case TCP_FASTOPEN:
    case TCP_FASTOPEN_CONNECT:
    case TCP_NOTSENT_LOWAT:
    case TCP_THIN_LINEAR_TIMEOUTS:
    case TCP_THIN_DUPACK: return true;
    case TCP_INFO:
    case TCP_CONGESTION: return !set;  // a congestion module could be loaded with the sentry's rights
    default: return false;
  }
}

bool ip_option(int name) {
  switch (name) {
    case IP_TOS:
    case IP_TTL:
    case IP_OPTIONS:
    case IP_RECVOPTS:
    case IP_RETOPTS:
    case IP_PKTINFO:
    case IP_MTU_DISCOVER:
    case IP_RECVERR:
    case IP_RECVTTL:
    case IP_RECVTOS:
    case IP_MTU:
    case IP_FREEBIND:
    case IP_MINTTL:
    case IP_NODEFRAG:
    case IP_CHECKSUM:
    case IP_BIND_ADDRESS_NO_PORT:
    case IP_RECVFRAGSIZE:
    case IP_MULTICAST_IF:
    case IP_MULTICAST_TTL:
    case IP_MULTICAST_LOOP:
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP:
    case IP_UNBLOCK_SOURCE:
    case IP_BLOCK_SOURCE:
    case IP_ADD_SOURCE_MEMBERSHIP:
    case IP_DROP_SOURCE_MEMBERSHIP:
    case IP_MULTICAST_ALL:
    case IP_RECVORIGDSTADDR: return true;
    default: return false;
  }
}

bool ipv6_option(int name) {
  switch (name) {
    case IPV6_UNICAST_HOPS:
    case IPV6_MULTICAST_IF:
    case IPV6_MULTICAST_HOPS:
    case IPV6_MULTICAST_LOOP:
    case IPV6_ADD_MEMBERSHIP:
    case IPV6_DROP_MEMBERSHIP:
    case IPV6_MTU_DISCOVER:
    case IPV6_MTU:
    case IPV6_RECVERR:
    case IPV6_V6ONLY:
    case IPV6_RECVPKTINFO:
    case IPV6_PKTINFO:
    case IPV6_RECVHOPLIMIT:
    case IPV6_HOPLIMIT:
    case IPV6_RECVTCLASS:
    case IPV6_TCLASS:
    case IPV6_DONTFRAG:
    case IPV6_RECVPATHMTU:
    case IPV6_PATHMTU:
    case 70:  // IPV6_AUTOFLOWLABEL
    case 72:  // IPV6_ADDR_PREFERENCES
    case 73:  // IPV6_MINHOPCOUNT
    case 74:  // IPV6_RECVORIGDSTADDR
    case 78:  // IPV6_FREEBIND
    case 29:  // IPV6_MULTICAST_ALL
      return true;
    default: return false;
  }
}

class InetSocket final : public SocketFile {
 public:
  InetSocket(UniqueFd fd, int family, int type, int protocol, int flags)
      : SocketFile(std::move(fd), family, type, protocol, flags) {}

  // inet_bind(): a port below 1024 needs CAP_NET_BIND_SERVICE, the guest's.
  ErrorOr<void> bind(Process& process, std::span<const std::byte> addr) override {
    uint16_t port = 0;
    if (m_family == AF_INET && addr.size() >= sizeof(sockaddr_in)) {
      sockaddr_in sin;
      std::memcpy(&sin, addr.data(), sizeof sin);
      port = ntohs(sin.sin_port);
    } else if (m_family == AF_INET6 && addr.size() >= sizeof(sockaddr_in6)) {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, addr.data(), sizeof sin6);
      port = ntohs(sin6.sin6_port);
    }
    if (port != 0 && port < 1024 && !(process.creds.cap_effective & (1ULL << kCapNetBindService)))
      return Errno::ACCES;
    return SocketFile::bind(process, addr);
  }

  // A blocking connect waits for the handshake (POLLOUT), at most
  // SO_SNDTIMEO (then EINPROGRESS), and reports SO_ERROR
  // (__inet_stream_connect).
  Coro<ErrorOr<void>> connect(Process&, Thread* thread, std::span<const std::byte> addr) override {
    int fd = m_fd.get();
    if (::connect(fd, reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) == 0)
      co_return ErrorOr<void>{};
    int e = errno;
    if ((e != EINPROGRESS && e != EALREADY) || nonblocking()) co_return errno_from_host(e);
    auto r = co_await retry(thread, POLLOUT, false, [fd]() -> long {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 0) < 0) return -static_cast<long>(errno);
      return p.revents ? 0 : -EAGAIN;
    });
    if (r.is_error()) co_return r.error() == Errno::AGAIN ? static_cast<Errno>(EINPROGRESS) : r.error();
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) co_return last_host_errno();
    if (err) co_return errno_from_host(err);
    co_return ErrorOr<void>{};
  }

  Coro<ErrorOr<RefPtr<SocketFile>>> accept(Process&, Thread* thread, int flags, std::vector<std::byte>& peer) override {
    if (m_type != SOCK_STREAM) co_return Errno::NOTSUP;
    sockaddr_storage ss{};
    socklen_t len = 0;
    int fd = m_fd.get();
    auto r = co_await retry(thread, POLLIN, nonblocking(), [&]() -> long {
      len = sizeof ss;
      int n = ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      return n < 0 ? -static_cast<long>(errno) : n;
    });
    if (r.is_error()) co_return r.error();
    auto* b = reinterpret_cast<const std::byte*>(&ss);
    peer.assign(b, b + std::min<size_t>(len, sizeof ss));
    co_return RefPtr<SocketFile>(
        make_ref<InetSocket>(UniqueFd(static_cast<int>(r.value())), m_family, m_type, m_protocol, flags));
  }

 protected:
  ErrorOr<void> check_option(int level, int name, bool set) const override {
    bool ok = false;
    switch (level) {
      case IPPROTO_TCP: ok = m_type == SOCK_STREAM && tcp_option(name, set); break;
      case IPPROTO_IP: ok = ip_option(name); break;
      case IPPROTO_IPV6: ok = m_family == AF_INET6 && ipv6_option(name); break;
      case IPPROTO_UDP: ok = m_type == SOCK_DGRAM && (name == UDP_CORK || name == UDP_SEGMENT || name == UDP_GRO); break;
      case IPPROTO_ICMPV6: ok = name == 1; break;  // ICMP6_FILTER
      default: break;
    }
    if (!ok) return kNoProtoOpt;
    return {};
  }
};

// rtnetlink_rcv_msg(): message kinds other than GET change the network and
// need CAP_NET_ADMIN, which the host would check against the sentry; the
// sentry refuses them. Parsed the way netlink_rcv_skb walks a buffer.
ErrorOr<void> check_route_requests(std::span<const std::byte> data) {
  size_t off = 0;
  while (data.size() - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, data.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > data.size() - off) break;
    if (h.nlmsg_type >= NLMSG_MIN_TYPE && (h.nlmsg_type & 3) != 2) return Errno::PERM;
    off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), data.size() - off);
  }
  return {};
}

// Only the kernel (port 0, no multicast groups) may be written to: another
// netlink port would be a host process in the sentry's namespace.
ErrorOr<void> check_netlink_peer(std::span<const std::byte> addr) {
  if (addr.empty()) return {};
  if (addr.size() < sizeof(sockaddr_nl)) return Errno::INVAL;
  sockaddr_nl nl;
  std::memcpy(&nl, addr.data(), sizeof nl);
  if (nl.nl_family != AF_NETLINK) return Errno::INVAL;
  if (nl.nl_pid != 0 || nl.nl_groups != 0) return Errno::PERM;
  return {};
}

class NetlinkSocket final : public SocketFile {
 public:
  NetlinkSocket(UniqueFd fd, int type, int protocol, int flags)
      : SocketFile(std::move(fd), AF_NETLINK, type, protocol, flags) {}

  Coro<ErrorOr<void>> connect(Process& process, Thread* thread, std::span<const std::byte> addr) override {
    CO_TRY(check_netlink_peer(addr));
    co_return co_await SocketFile::connect(process, thread, addr);
  }
  Coro<ErrorOr<size_t>> sendmsg(Process& process, Thread* thread, SendRequest& req) override {
    CO_TRY(check_netlink_peer(req.addr));
    CO_TRY(check_route_requests(req.data));
    if (!req.control.empty()) co_return Errno::INVAL;
    co_return co_await SocketFile::sendmsg(process, thread, req);
  }

 protected:
  ErrorOr<void> check_option(int level, int name, bool set) const override {
    if (level != kSolNetlink) return kNoProtoOpt;
    switch (name) {
      case NETLINK_ADD_MEMBERSHIP:
      case NETLINK_DROP_MEMBERSHIP:
      case NETLINK_PKTINFO:
      case NETLINK_BROADCAST_ERROR:
      case NETLINK_NO_ENOBUFS:
      case NETLINK_LIST_MEMBERSHIPS:
      case NETLINK_CAP_ACK:
      case NETLINK_EXT_ACK:
      case NETLINK_GET_STRICT_CHK: return {};
      default: return kNoProtoOpt;
    }
  }
};

}  // namespace

ErrorOr<RefPtr<SocketFile>> make_inet_socket(Process& process, int family, int type, int protocol, int flags) {
  switch (type) {
    case SOCK_STREAM:
      if (protocol != 0 && protocol != IPPROTO_TCP) return kProtoNoSupport;
      break;
    case SOCK_DGRAM:
      // ICMP "ping sockets" are the host's to allow (net.ipv4.ping_group_range).
      if (protocol != 0 && protocol != IPPROTO_UDP && protocol != IPPROTO_UDPLITE &&
          protocol != (family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}))
        return kProtoNoSupport;
      break;
    case SOCK_RAW: return Errno::PERM;  // FIXME: raw sockets would see the namespace's traffic
    default: return kSockTNoSupport;
  }
  UniqueFd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd) return last_host_errno();
  return RefPtr<SocketFile>(make_ref<InetSocket>(std::move(fd), family, type, protocol, flags));
}

ErrorOr<RefPtr<SocketFile>> make_netlink_socket(Process& process, int type, int protocol, int flags) {
  if (type != SOCK_RAW && type != SOCK_DGRAM) return kSockTNoSupport;
  if (protocol != NETLINK_ROUTE) return kProtoNoSupport;
  UniqueFd fd(::socket(AF_NETLINK, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd) return last_host_errno();
  return RefPtr<SocketFile>(make_ref<NetlinkSocket>(std::move(fd), type, protocol, flags));
}

}  // namespace moat::net
