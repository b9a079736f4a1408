// socket(2) and friends: decode guest arguments (addresses, msghdrs,
// iovecs, control messages), call the net::SocketFile, copy results out.
// The sockets themselves are net/ (see net/README.md).

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "fs/fd_table.h"
#include "net/socket.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/readiness.h"

namespace moat {

namespace {

constexpr size_t kMaxRwCount = 0x7ffff000;  // MAX_RW_COUNT
constexpr int kIovMax = 1024;                // UIO_MAXIOV
constexpr size_t kStreamChunk = 1 << 20;     // bounce buffer per host call on a stream
constexpr size_t kMaxDatagram = 16 << 20;    // more than any host socket buffer takes
constexpr size_t kMaxControl = 64 * 1024;    // sysctl_optmem_max-like bound (ENOBUFS)
constexpr int kScmMaxFd = 253;               // SCM_MAX_FD

ErrorOr<RefPtr<net::SocketFile>> socket_of(SyscallContext& ctx, int fd) {
  auto file = TRY(ctx.process().fds().get(fd));
  if (file->flags() & O_PATH) return Errno::BADF;
  auto* sock = dynamic_cast<net::SocketFile*>(file.ptr());
  if (!sock) return Errno::NOTSOCK;
  return RefPtr<net::SocketFile>(sock);
}

// move_addr_to_kernel(): at most a sockaddr_storage.
ErrorOr<std::vector<std::byte>> read_addr(const UserMemory& mem, uint64_t addr, int64_t len) {
  if (len < 0 || len > static_cast<int64_t>(sizeof(sockaddr_storage))) return Errno::INVAL;
  std::vector<std::byte> v(static_cast<size_t>(len));
  if (len) TRY(mem.read(addr, v.data(), v.size()));
  return v;
}

// move_addr_to_user(): copies what fits, reports the whole length.
ErrorOr<void> write_addr(const UserMemory& mem, const std::vector<std::byte>& name, uint64_t addr, uint64_t len_addr) {
  if (!addr || !len_addr) return {};
  int32_t len = TRY(mem.read_obj(UserPtr<int32_t>(len_addr)));
  if (len < 0) return Errno::INVAL;
  size_t n = std::min<size_t>(static_cast<size_t>(len), name.size());
  if (n) TRY(mem.write(addr, name.data(), n));
  TRY(mem.write_obj(UserPtr<int32_t>(len_addr), static_cast<int32_t>(name.size())));
  return {};
}

struct GuestIov {
  std::vector<iovec> iov;
  size_t total = 0;
};

ErrorOr<GuestIov> read_iov(const UserMemory& mem, uint64_t addr, uint64_t count) {
  if (count > static_cast<uint64_t>(kIovMax)) return net::kMsgSize;
  GuestIov g;
  g.iov.resize(count);
  if (count) TRY(mem.read(addr, g.iov.data(), count * sizeof(iovec)));
  for (auto& v : g.iov) {
    if (static_cast<int64_t>(v.iov_len) < 0) return Errno::INVAL;
    v.iov_len = std::min<size_t>(v.iov_len, kMaxRwCount - g.total);
    g.total += v.iov_len;
  }
  return g;
}

// Copies count bytes at offset `from` of the guest iovecs into dst.
ErrorOr<void> gather(const UserMemory& mem, const GuestIov& g, size_t from, std::byte* dst, size_t count) {
  size_t pos = 0;
  for (const auto& v : g.iov) {
    if (count == 0) break;
    if (from >= pos + v.iov_len) {
      pos += v.iov_len;
      continue;
    }
    size_t skip = from > pos ? from - pos : 0;
    size_t n = std::min(count, v.iov_len - skip);
    TRY(mem.read(reinterpret_cast<uint64_t>(v.iov_base) + skip, dst, n));
    dst += n;
    from += n;
    count -= n;
    pos += v.iov_len;
  }
  return {};
}

// Copies src into the guest iovecs; EFAULT at a bad segment.
ErrorOr<void> scatter(const UserMemory& mem, const GuestIov& g, const std::byte* src, size_t count) {
  for (const auto& v : g.iov) {
    if (count == 0) break;
    size_t n = std::min(count, v.iov_len);
    if (n) TRY(mem.write(reinterpret_cast<uint64_t>(v.iov_base), src, n));
    src += n;
    count -= n;
  }
  return {};
}

std::unique_ptr<std::byte[]> bounce(size_t n) { return std::unique_ptr<std::byte[]>(new std::byte[std::max<size_t>(n, 1)]); }

// __scm_send() and the rest of the guest's control buffer: SCM_RIGHTS become
// Files, SCM_CREDENTIALS a Creds, other SOL_SOCKET types EINVAL; messages
// of other levels are kept verbatim for the protocol.
ErrorOr<void> read_control(SyscallContext& ctx, uint64_t addr, size_t len, net::SendRequest& req) {
  if (!addr || len == 0) return {};
  if (len > kMaxControl) return static_cast<Errno>(ENOBUFS);
  std::vector<std::byte> ctl(len);
  TRY(ctx.mem().read(addr, ctl.data(), len));
  for (size_t off = 0; off + sizeof(cmsghdr) <= len;) {
    cmsghdr h;
    std::memcpy(&h, ctl.data() + off, sizeof h);
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > len - off) return Errno::INVAL;
    size_t data_len = h.cmsg_len - CMSG_LEN(0);
    const std::byte* data = ctl.data() + off + CMSG_LEN(0);
    if (h.cmsg_level == SOL_SOCKET) {
      if (h.cmsg_type == SCM_RIGHTS) {
        size_t n = data_len / sizeof(int);
        if (req.files.size() + n > kScmMaxFd) return Errno::INVAL;
        for (size_t i = 0; i < n; i++) {
          int fd;
          std::memcpy(&fd, data + i * sizeof(int), sizeof fd);
          auto file = TRY(ctx.process().fds().get(fd));
          if (file->flags() & O_PATH) return Errno::BADF;
          req.files.push_back(std::move(file));
        }
      } else if (h.cmsg_type == SCM_CREDENTIALS) {
        if (h.cmsg_len != CMSG_LEN(sizeof(ucred))) return Errno::INVAL;
        ucred u;
        std::memcpy(&u, data, sizeof u);
        req.creds = net::Creds{u.pid, u.uid, u.gid};
      } else {
        return Errno::INVAL;
      }
    } else {
      size_t space = std::min<size_t>(CMSG_ALIGN(h.cmsg_len), len - off);
      req.control.insert(req.control.end(), ctl.data() + off, ctl.data() + off + space);
    }
    off += CMSG_ALIGN(h.cmsg_len);
  }
  return {};
}

// One sendmsg: gathers the guest's bytes and sends them. A stream goes in
// chunks (a blocking one until all is sent, like write); a datagram whole.
Coro<ErrorOr<int64_t>> send_one(SyscallContext& ctx, net::SocketFile& sock, const GuestIov& g, net::SendRequest& req) {
  if (req.flags & MSG_NOSIGNAL) ctx.suppress_sigpipe = true;
  const UserMemory& mem = ctx.mem();
  if (sock.type() != SOCK_STREAM) {
    if (g.total > kMaxDatagram) co_return net::kMsgSize;
    auto buf = bounce(g.total);
    CO_TRY(gather(mem, g, 0, buf.get(), g.total));
    req.data = std::span<const std::byte>(buf.get(), g.total);
    auto r = co_await sock.sendmsg(ctx.process(), &ctx.thread, req);
    if (r.is_error()) co_return r.error();
    co_return static_cast<int64_t>(r.value());
  }
  size_t done = 0;
  auto buf = bounce(std::min(g.total, kStreamChunk));
  do {
    size_t n = std::min(g.total - done, kStreamChunk);
    if (auto f = gather(mem, g, done, buf.get(), n); f.is_error()) {
      if (done) break;
      co_return f.error();
    }
    req.data = std::span<const std::byte>(buf.get(), n);
    auto r = co_await sock.sendmsg(ctx.process(), &ctx.thread, req);
    if (r.is_error()) {
      if (done) break;
      co_return r.error();
    }
    done += r.value();
    // Passed fds and credentials go with the first bytes only.
    req.files.clear();
    req.creds.reset();
    req.control.clear();
    // Short: non-blocking, or a signal ended a blocking send.
    if (r.value() < n) break;
  } while (done < g.total);
  co_return static_cast<int64_t>(done);
}

// One recvmsg into the guest's iovecs.
Coro<ErrorOr<int64_t>> recv_one(SyscallContext& ctx, net::SocketFile& sock, const GuestIov& g, net::RecvRequest& req) {
  size_t cap = sock.type() == SOCK_STREAM ? std::min(g.total, kStreamChunk) : std::min(g.total, kMaxDatagram);
  if (sock.type() == SOCK_STREAM && (req.flags & MSG_WAITALL)) cap = std::min(g.total, kMaxDatagram);
  auto buf = bounce(cap);
  req.data = std::span<std::byte>(buf.get(), cap);
  auto r = co_await sock.recvmsg(ctx.process(), &ctx.thread, req);
  if (r.is_error()) co_return r.error();
  // MSG_TRUNC may report more than the buffer held.
  CO_TRY(scatter(ctx.mem(), g, buf.get(), std::min(r.value(), cap)));
  co_return static_cast<int64_t>(r.value());
}

constexpr size_t kNameOff = offsetof(msghdr, msg_namelen);
constexpr size_t kControlLenOff = offsetof(msghdr, msg_controllen);
constexpr size_t kFlagsOff = offsetof(msghdr, msg_flags);

Coro<ErrorOr<int64_t>> sendmsg_at(SyscallContext& ctx, net::SocketFile& sock, uint64_t msg_addr, int flags) {
  CO_TRY_ASSIGN(msghdr m, ctx.mem().read_obj(UserPtr<msghdr>(msg_addr)));
  net::SendRequest req;
  req.flags = flags;
  if (m.msg_name && m.msg_namelen) {
    CO_TRY_ASSIGN(req.addr, read_addr(ctx.mem(), reinterpret_cast<uint64_t>(m.msg_name), m.msg_namelen));
  }
  CO_TRY_ASSIGN(GuestIov g, read_iov(ctx.mem(), reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen));
  CO_TRY(read_control(ctx, reinterpret_cast<uint64_t>(m.msg_control), m.msg_controllen, req));
  co_return co_await send_one(ctx, sock, g, req);
}

Coro<ErrorOr<int64_t>> recvmsg_at(SyscallContext& ctx, net::SocketFile& sock, uint64_t msg_addr, int flags) {
  const UserMemory& mem = ctx.mem();
  CO_TRY_ASSIGN(msghdr m, mem.read_obj(UserPtr<msghdr>(msg_addr)));
  if (static_cast<int>(m.msg_namelen) < 0) co_return Errno::INVAL;
  CO_TRY_ASSIGN(GuestIov g, read_iov(mem, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen));
  net::RecvRequest req;
  req.flags = flags;
  req.want_addr = m.msg_name != nullptr;
  req.control_cap = m.msg_control ? std::min<size_t>(m.msg_controllen, kMaxControl) : 0;
  auto received = co_await recv_one(ctx, sock, g, req);
  if (received.is_error()) co_return received.error();
  int64_t n = received.value();
  uint32_t namelen = 0;
  if (m.msg_name) {
    size_t copy = std::min<size_t>(m.msg_namelen, req.addr.size());
    if (copy) CO_TRY(mem.write(reinterpret_cast<uint64_t>(m.msg_name), req.addr.data(), copy));
    namelen = static_cast<uint32_t>(req.addr.size());
  }
  CO_TRY(mem.write(msg_addr + kNameOff, &namelen, sizeof namelen));
  if (!req.control.empty()) CO_TRY(mem.write(reinterpret_cast<uint64_t>(m.msg_control), req.control.data(), req.control.size()));
  size_t controllen = req.control.size();
  CO_TRY(mem.write(msg_addr + kControlLenOff, &controllen, sizeof controllen));
  int msg_flags = req.msg_flags;
  CO_TRY(mem.write(msg_addr + kFlagsOff, &msg_flags, sizeof msg_flags));
  co_return n;
}

ErrorOr<int64_t> install(SyscallContext& ctx, RefPtr<net::SocketFile> sock, bool cloexec) {
  Process& p = ctx.process();
  return TRY(p.fds().allocate(RefPtr<fs::File>(std::move(sock)), cloexec, 0, fs::nofile_limit(p)));
}

Coro<ErrorOr<int64_t>> do_accept(SyscallContext& ctx, int fd, uint64_t addr, uint64_t len_addr, int flags) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) co_return Errno::INVAL;
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, fd));
  if (addr && len_addr) {
    CO_TRY_ASSIGN(int32_t len, ctx.mem().read_obj(UserPtr<int32_t>(len_addr)));
    if (len < 0) co_return Errno::INVAL;
  }
  std::vector<std::byte> peer;
  auto accepted = co_await sock->accept(ctx.process(), &ctx.thread, (flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0, peer);
  if (accepted.is_error()) co_return accepted.error();
  RefPtr<net::SocketFile> conn = accepted.release_value();
  // The address goes out before the fd exists (move_addr_to_user before
  // fd_install): a bad buffer loses the connection, as in Linux.
  CO_TRY(write_addr(ctx.mem(), peer, addr, len_addr));
  co_return install(ctx, std::move(conn), flags & SOCK_CLOEXEC);
}

ErrorOr<int64_t> do_getname(SyscallContext& ctx, bool peer) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  int32_t len = TRY(ctx.mem().read_obj(UserPtr<int32_t>(ctx.arg(2))));
  if (len < 0) return Errno::INVAL;
  auto name = TRY(peer ? sock->peername() : sock->sockname());
  TRY(write_addr(ctx.mem(), name, ctx.arg(1), ctx.arg(2)));
  return 0;
}

}  // namespace

// Implements Linux socket(2).
ErrorOr<int64_t> sys_socket(SyscallContext& ctx) {
  int type = ctx.arg_int(1);
  auto sock = TRY(net::create_socket(ctx.process(), ctx.arg_int(0), type, ctx.arg_int(2)));
  return install(ctx, std::move(sock), type & SOCK_CLOEXEC);
}

// Implements Linux socketpair(2).
ErrorOr<int64_t> sys_socketpair(SyscallContext& ctx) {
  int type = ctx.arg_int(1);
  auto [a, b] = TRY(net::create_socketpair(ctx.process(), ctx.arg_int(0), type, ctx.arg_int(2)));
  Process& p = ctx.process();
  bool cloexec = type & SOCK_CLOEXEC;
  int fa = static_cast<int>(TRY(install(ctx, a, cloexec)));
  auto fb = install(ctx, b, cloexec);
  if (fb.is_error()) {
    (void)p.fds().remove(fa);
    return fb.error();
  }
  int fds[2] = {fa, static_cast<int>(fb.value())};
  if (auto w = ctx.mem().write(ctx.arg(3), fds, sizeof fds); w.is_error()) {
    (void)p.fds().remove(fds[0]);
    (void)p.fds().remove(fds[1]);
    return w.error();
  }
  return 0;
}

// Implements Linux bind(2).
ErrorOr<int64_t> sys_bind(SyscallContext& ctx) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  auto addr = TRY(read_addr(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  TRY(sock->bind(ctx.process(), addr));
  return 0;
}

// Implements Linux listen(2).
ErrorOr<int64_t> sys_listen(SyscallContext& ctx) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  TRY(sock->listen(ctx.process(), ctx.arg_int(1)));
  return 0;
}

// Implements Linux accept(2).
Coro<ErrorOr<int64_t>> sys_accept(SyscallContext& ctx) {
  return do_accept(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), 0);
}

// Implements Linux accept4(2).
Coro<ErrorOr<int64_t>> sys_accept4(SyscallContext& ctx) {
  return do_accept(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), ctx.arg_int(3));
}

// Implements Linux connect(2).
Coro<ErrorOr<int64_t>> sys_connect(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  CO_TRY_ASSIGN(auto addr, read_addr(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  auto r = co_await sock->connect(ctx.process(), &ctx.thread, addr);
  if (r.is_error()) co_return r.error();
  co_return int64_t{0};
}

// Implements Linux getsockname(2).
ErrorOr<int64_t> sys_getsockname(SyscallContext& ctx) { return do_getname(ctx, false); }

// Implements Linux getpeername(2).
ErrorOr<int64_t> sys_getpeername(SyscallContext& ctx) { return do_getname(ctx, true); }

// Implements Linux sendto(2).
Coro<ErrorOr<int64_t>> sys_sendto(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  net::SendRequest req;
  req.flags = ctx.arg_int(3);
  if (ctx.arg(4) && ctx.arg_int(5)) {
    CO_TRY_ASSIGN(req.addr, read_addr(ctx.mem(), ctx.arg(4), ctx.arg_int(5)));
  }
  GuestIov g;
  g.iov.push_back(iovec{reinterpret_cast<void*>(ctx.arg(1)), std::min<size_t>(ctx.arg(2), kMaxRwCount)});
  g.total = g.iov[0].iov_len;
  co_return co_await send_one(ctx, *sock, g, req);
}

// Implements Linux recvfrom(2).
Coro<ErrorOr<int64_t>> sys_recvfrom(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  uint64_t addr = ctx.arg(4), len_addr = ctx.arg(5);
  if (addr && len_addr) {
    CO_TRY_ASSIGN(int32_t len, ctx.mem().read_obj(UserPtr<int32_t>(len_addr)));
    if (len < 0) co_return Errno::INVAL;
  }
  net::RecvRequest req;
  req.flags = ctx.arg_int(3);
  req.want_addr = addr != 0;
  GuestIov g;
  g.iov.push_back(iovec{reinterpret_cast<void*>(ctx.arg(1)), std::min<size_t>(ctx.arg(2), kMaxRwCount)});
  g.total = g.iov[0].iov_len;
  auto received = co_await recv_one(ctx, *sock, g, req);
  if (received.is_error()) co_return received.error();
  int64_t n = received.value();
  CO_TRY(write_addr(ctx.mem(), req.addr, addr, len_addr));
  co_return n;
}

// Implements Linux sendmsg(2).
Coro<ErrorOr<int64_t>> sys_sendmsg(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  co_return co_await sendmsg_at(ctx, *sock, ctx.arg(1), ctx.arg_int(2));
}

// Implements Linux recvmsg(2).
Coro<ErrorOr<int64_t>> sys_recvmsg(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  co_return co_await recvmsg_at(ctx, *sock, ctx.arg(1), ctx.arg_int(2));
}

// Implements Linux sendmmsg(2): stops at the first error, which is returned
// only when nothing was sent (__sys_sendmmsg).
Coro<ErrorOr<int64_t>> sys_sendmmsg(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  uint64_t vec = ctx.arg(1);
  unsigned vlen = std::min<unsigned>(static_cast<unsigned>(ctx.arg(2)), kIovMax);
  int flags = ctx.arg_int(3);
  unsigned sent = 0;
  for (; sent < vlen; sent++) {
    uint64_t entry = vec + sent * sizeof(mmsghdr);
    auto r = co_await sendmsg_at(ctx, *sock, entry, flags);
    if (r.is_error()) {
      if (sent == 0) co_return r.error();
      break;
    }
    auto len = static_cast<unsigned>(r.value());
    if (auto w = ctx.mem().write(entry + offsetof(mmsghdr, msg_len), &len, sizeof len); w.is_error()) {
      if (sent == 0) co_return w.error();
      break;
    }
  }
  co_return static_cast<int64_t>(sent);
}

// Implements Linux recvmmsg(2). The timeout is looked at between messages
// only (a known Linux quirk, recvmmsg(2) BUGS); MSG_WAITFORONE makes every
// message after the first non-blocking.
Coro<ErrorOr<int64_t>> sys_recvmmsg(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto sock, socket_of(ctx, ctx.arg_int(0)));
  uint64_t vec = ctx.arg(1);
  unsigned vlen = std::min<unsigned>(static_cast<unsigned>(ctx.arg(2)), kIovMax);
  int flags = ctx.arg_int(3);
  uint64_t timeout_addr = ctx.arg(4);
  CO_TRY_ASSIGN(int64_t timeout_ns, read_timeout_ns(ctx.mem(), timeout_addr));
  int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
  unsigned got = 0;
  for (; got < vlen; got++) {
    uint64_t entry = vec + got * sizeof(mmsghdr);
    auto r = co_await recvmsg_at(ctx, *sock, entry, flags);
    if (r.is_error()) {
      if (got == 0) co_return r.error();
      break;
    }
    auto len = static_cast<unsigned>(r.value());
    CO_TRY(ctx.mem().write(entry + offsetof(mmsghdr, msg_len), &len, sizeof len));
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
    if (deadline >= 0 && monotonic_ns() >= deadline) {
      got++;
      break;
    }
  }
  if (timeout_addr) {
    int64_t left = deadline >= 0 ? std::max<int64_t>(deadline - monotonic_ns(), 0) : 0;
    timespec ts{left / 1000000000LL, left % 1000000000LL};
    CO_TRY(ctx.mem().write_obj(UserPtr<timespec>(timeout_addr), ts));
  }
  co_return static_cast<int64_t>(got);
}

// Implements Linux shutdown(2).
ErrorOr<int64_t> sys_shutdown(SyscallContext& ctx) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  TRY(sock->shutdown(ctx.arg_int(1)));
  return 0;
}

// Implements Linux setsockopt(2).
ErrorOr<int64_t> sys_setsockopt(SyscallContext& ctx) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  int len = ctx.arg_int(4);
  if (len < 0) return Errno::INVAL;
  if (static_cast<size_t>(len) > kMaxControl) return Errno::NOMEM;
  std::vector<std::byte> value(static_cast<size_t>(len));
  if (len) TRY(ctx.mem().read(ctx.arg(3), value.data(), value.size()));
  TRY(sock->setsockopt(ctx.process(), ctx.arg_int(1), ctx.arg_int(2), value));
  return 0;
}

// Implements Linux getsockopt(2).
ErrorOr<int64_t> sys_getsockopt(SyscallContext& ctx) {
  auto sock = TRY(socket_of(ctx, ctx.arg_int(0)));
  uint64_t len_addr = ctx.arg(4);
  int32_t len = TRY(ctx.mem().read_obj(UserPtr<int32_t>(len_addr)));
  if (len < 0) return Errno::INVAL;
  auto value = TRY(sock->getsockopt(ctx.process(), ctx.arg_int(1), ctx.arg_int(2), static_cast<size_t>(len)));
  size_t n = std::min<size_t>(static_cast<size_t>(len), value.size());
  if (n) TRY(ctx.mem().write(ctx.arg(3), value.data(), n));
  TRY(ctx.mem().write_obj(UserPtr<int32_t>(len_addr), static_cast<int32_t>(n)));
  return 0;
}

}  // namespace moat
