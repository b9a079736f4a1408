// AF_UNIX sockets (net/unix.h): host unix sockets with sentry-kept names,
// credentials and passed fds.

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <random>

#include "fs/fd_table.h"
#include "fs/ops.h"
#include "net/families.h"
#include "net/unix.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/syscalls/readiness.h"

namespace moat::net {

namespace {

constexpr size_t kPathOffset = offsetof(sockaddr_un, sun_path);
constexpr size_t kMaxPending = 4096;

// A guest sockaddr_un, decoded (unix_validate_addr, unix_mkname_bsd).
struct UnixAddr {
  enum class Kind { Unnamed, Path, Abstract } kind = Kind::Unnamed;
  std::string name;             // the path, or the abstract name without its NUL
  std::vector<std::byte> guest; // what getsockname gives back
};

ErrorOr<UnixAddr> parse_addr(std::span<const std::byte> addr) {
  if (addr.size() < kPathOffset || addr.size() > sizeof(sockaddr_un)) return Errno::INVAL;
  sa_family_t family;
  std::memcpy(&family, addr.data(), sizeof family);
  if (family != AF_UNIX) return Errno::INVAL;
  UnixAddr a;
  size_t n = addr.size() - kPathOffset;
  const char* p = reinterpret_cast<const char*>(addr.data()) + kPathOffset;
  if (n == 0) return a;
  if (p[0] == 0) {
    a.kind = UnixAddr::Kind::Abstract;
    a.name.assign(p + 1, n - 1);
    a.guest.assign(addr.begin(), addr.end());
    return a;
  }
  a.kind = UnixAddr::Kind::Path;
  a.name.assign(p, strnlen(p, n));
  // The kernel keeps the path NUL-terminated: family, path, NUL.
  a.guest.resize(kPathOffset + a.name.size() + 1);
  std::memcpy(a.guest.data(), addr.data(), kPathOffset);
  std::memcpy(a.guest.data() + kPathOffset, a.name.data(), a.name.size());
  return a;
}

std::vector<std::byte> unnamed_addr() {
  std::vector<std::byte> v(kPathOffset);
  sa_family_t f = AF_UNIX;
  std::memcpy(v.data(), &f, sizeof f);
  return v;
}

// The host address of a private name: abstract, "\0" + name.
std::vector<std::byte> host_addr(const std::string& name) {
  std::vector<std::byte> v(kPathOffset + 1 + name.size());
  sa_family_t f = AF_UNIX;
  std::memcpy(v.data(), &f, sizeof f);
  v[kPathOffset] = std::byte{0};
  std::memcpy(v.data() + kPathOffset + 1, name.data(), name.size());
  return v;
}

// The private name in a host address, or "" when it is not abstract.
std::string host_name_of(const std::vector<std::byte>& addr) {
  if (addr.size() <= kPathOffset + 1 || addr[kPathOffset] != std::byte{0}) return {};
  return std::string(reinterpret_cast<const char*>(addr.data()) + kPathOffset + 1, addr.size() - kPathOffset - 1);
}

bool has_cap(const Process& p, int cap) { return p.creds.cap_effective & (1ULL << cap); }

// scm_check_creds(): a sender may claim its own pid and any of its ids, or
// others with CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID.
ErrorOr<void> check_creds(const Process& p, const Creds& c) {
  const Credentials& k = p.creds;
  if (c.pid != p.pid() && !has_cap(p, 21)) return Errno::PERM;
  if (c.uid != k.uid && c.uid != k.euid && c.uid != k.suid && !has_cap(p, 7)) return Errno::PERM;
  if (c.gid != k.gid && c.gid != k.egid && c.gid != k.sgid && !has_cap(p, 6)) return Errno::PERM;
  return {};
}

class UnixSocket final : public SocketFile {
 public:
  UnixSocket(UniqueFd fd, int type, int flags, const Sandbox* sandbox, std::shared_ptr<Endpoint> ep, bool accepted)
      : SocketFile(std::move(fd), AF_UNIX, type, 0, flags),
        m_sandbox(sandbox),
        m_ep(std::move(ep)),
        m_accepted(accepted) {}
  ~UnixSocket() override {
    unix_names::remove(m_ep.get());
    in_flight::sweep();
  }

  ErrorOr<void> bind(Process& process, std::span<const std::byte> addr) override;
  ErrorOr<void> listen(Process& process, int backlog) override;
  Coro<ErrorOr<RefPtr<SocketFile>>> accept(Process& process, Thread* thread, int flags,
                                           std::vector<std::byte>& peer) override;
  Coro<ErrorOr<void>> connect(Process& process, Thread* thread, std::span<const std::byte> addr) override;
  ErrorOr<std::vector<std::byte>> sockname() const override;
  ErrorOr<std::vector<std::byte>> peername() const override;
  Coro<ErrorOr<size_t>> sendmsg(Process& process, Thread* thread, SendRequest& req) override;
  Coro<ErrorOr<size_t>> recvmsg(Process& process, Thread* thread, RecvRequest& req) override;

 protected:
  ErrorOr<void> check_option(int level, int name, bool set) const override { return Errno::NOTSUP; }
  std::optional<ErrorOr<std::vector<std::byte>>> family_getsockopt(Process&, int level, int name) override;
  std::optional<ErrorOr<void>> family_setsockopt(int level, int name, std::span<const std::byte> value) override;

 private:
  // Gives the host socket its private name if it has none (m_lock held).
  ErrorOr<void> ensure_host_bound_locked();
  // The endpoint a guest address names: ENOENT, EACCES (write permission on
  // the socket inode, unix_find_bsd), ECONNREFUSED when nothing listens.
  ErrorOr<std::shared_ptr<Endpoint>> resolve(Process& process, const UnixAddr& a) const;

  const Sandbox* m_sandbox;
  std::shared_ptr<Endpoint> m_ep;
  const bool m_accepted;            // has its listener's host address
  std::atomic<bool> m_passcred{false};
  std::atomic<bool> m_listening{false};
};

ErrorOr<void> UnixSocket::ensure_host_bound_locked() {
  std::lock_guard lock(m_ep->lock);
  if (!m_ep->host_name.empty() || m_accepted) return {};
  std::string name = unix_names::new_host_name();
  auto addr = host_addr(name);
  if (::bind(m_fd.get(), reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size())) < 0)
    return last_host_errno();
  m_ep->host_name = name;
  unix_names::add_host(name, m_ep);
  return {};
}

ErrorOr<std::shared_ptr<Endpoint>> UnixSocket::resolve(Process& process, const UnixAddr& a) const {
  std::shared_ptr<Endpoint> ep;
  if (a.kind == UnixAddr::Kind::Abstract) {
    ep = unix_names::find_abstract(m_sandbox, a.name);
  } else if (a.kind == UnixAddr::Kind::Path) {
    fs::Location loc = TRY(fs::resolve_at(process, AT_FDCWD, a.name, 0));
    struct stat st = TRY(loc.node().stat());
    TRY(fs::check_access(st, fs::Caller::of(process), W_OK));
    if (!S_ISSOCK(st.st_mode)) return kConnRefused;
    ep = unix_names::find_inode(m_sandbox, st.st_dev, st.st_ino);
  } else {
    return Errno::INVAL;
  }
  if (!ep) return kConnRefused;
  return ep;
}

// unix_bind(): a path makes a socket inode (EADDRINUSE if the name exists),
// an abstract name is taken in the sandbox's namespace, and an address of
// the family alone picks a free abstract name (unix_autobind).
ErrorOr<void> UnixSocket::bind(Process& process, std::span<const std::byte> addr) {
  if (addr.size() < sizeof(sa_family_t)) return Errno::INVAL;
  sa_family_t family;
  std::memcpy(&family, addr.data(), sizeof family);
  if (family != AF_UNIX) return Errno::INVAL;
  std::lock_guard lock(m_lock);
  {
    std::lock_guard ep_lock(m_ep->lock);
    if (m_accepted || !m_ep->guest_name.empty()) return Errno::INVAL;
  }
  UnixAddr a;
  if (addr.size() == kPathOffset) {
    a.kind = UnixAddr::Kind::Abstract;
  } else {
    a = TRY(parse_addr(addr));
  }
  TRY(ensure_host_bound_locked());
  if (a.kind == UnixAddr::Kind::Abstract && addr.size() == kPathOffset) {
    // Five hex digits, as Linux picks them.
    static thread_local std::mt19937 rng{std::random_device{}()};
    for (int tries = 0;; tries++) {
      if (tries > 1 << 20) return Errno::NOSPC;
      char name[8];
      snprintf(name, sizeof name, "%05x", static_cast<unsigned>(rng() & 0xfffff));
      a.name = name;
      if (!unix_names::add_abstract(m_sandbox, a.name, m_ep).is_error()) break;
    }
    a.guest = unnamed_addr();
    a.guest.push_back(std::byte{0});
    for (char c : a.name) a.guest.push_back(static_cast<std::byte>(c));
  } else if (a.kind == UnixAddr::Kind::Abstract) {
    TRY(unix_names::add_abstract(m_sandbox, a.name, m_ep));
  } else {
    auto made = fs::mknod_at(process, AT_FDCWD, a.name, S_IFSOCK | 0777, 0);
    if (made.is_error()) return made.error() == Errno::EXIST ? kAddrInUse : made.error();
    fs::Location loc = TRY(fs::resolve_at(process, AT_FDCWD, a.name, AT_SYMLINK_NOFOLLOW));
    struct stat st = TRY(loc.node().stat());
    TRY(unix_names::add_inode(m_sandbox, st.st_dev, st.st_ino, m_ep));
  }
  std::lock_guard ep_lock(m_ep->lock);
  m_ep->guest_name = std::move(a.guest);
  return {};
}

ErrorOr<void> UnixSocket::listen(Process& process, int backlog) {
  if (m_type == SOCK_DGRAM) return Errno::NOTSUP;
  std::lock_guard lock(m_lock);
  {
    std::lock_guard ep_lock(m_ep->lock);
    if (m_ep->guest_name.empty()) return Errno::INVAL;  // no listens on an unbound socket
  }
  if (::listen(m_fd.get(), backlog) < 0) return last_host_errno();
  std::lock_guard ep_lock(m_ep->lock);
  m_ep->listen_creds = peer_creds_of(process);
  m_listening = true;
  return {};
}

Coro<ErrorOr<void>> UnixSocket::connect(Process& process, Thread* thread, std::span<const std::byte> addr) {
  if (addr.size() >= sizeof(sa_family_t) && m_type == SOCK_DGRAM) {
    sa_family_t family;
    std::memcpy(&family, addr.data(), sizeof family);
    if (family == AF_UNSPEC) {
      // Dissolves a datagram association (unix_dgram_connect).
      sockaddr sa{};
      sa.sa_family = AF_UNSPEC;
      if (::connect(m_fd.get(), &sa, sizeof sa) < 0) co_return last_host_errno();
      std::lock_guard ep_lock(m_ep->lock);
      m_ep->connected = false;
      m_ep->peer_name.clear();
      m_ep->peer.reset();
      co_return ErrorOr<void>{};
    }
  }
  CO_TRY_ASSIGN(UnixAddr a, parse_addr(addr));
  if (a.kind == UnixAddr::Kind::Unnamed) co_return Errno::INVAL;
  CO_TRY_ASSIGN(std::shared_ptr<Endpoint> target, resolve(process, a));
  {
    std::lock_guard lock(m_lock);
    CO_TRY(ensure_host_bound_locked());
  }
  std::string target_host;
  std::vector<std::byte> target_name;
  Creds target_creds;
  bool stream = m_type != SOCK_DGRAM;
  {
    std::lock_guard ep_lock(m_ep->lock);
    m_ep->connect_creds = peer_creds_of(process);
  }
  {
    std::lock_guard t_lock(target->lock);
    target_host = target->host_name;
    target_name = target->guest_name;
    target_creds = target->listen_creds;
    // The listener learns who this client is when it accepts.
    if (stream) {
      target->pending.push_back(m_ep);
      if (target->pending.size() > kMaxPending) target->pending.pop_front();
    }
  }
  auto forget = [&] {
    if (!stream) return;
    std::lock_guard t_lock(target->lock);
    std::erase(target->pending, m_ep);
  };
  auto haddr = host_addr(target_host);
  for (;;) {
    if (::connect(m_fd.get(), reinterpret_cast<const sockaddr*>(haddr.data()), static_cast<socklen_t>(haddr.size())) == 0)
      break;
    int e = errno;
    // A full backlog: a blocking connect waits for room (unix_wait_for_peer).
    // FIXME: the host gives no readiness for it; poll every few ms.
    if (e == EAGAIN && !nonblocking()) {
      if (thread && deliverable_signal_pending(*thread)) {
        forget();
        co_return Errno::RestartSys;
      }
      int32_t r = co_await uring_sleep(__kernel_timespec{0, 5'000'000});
      if (r == -ECANCELED || (thread && thread->interrupted)) {
        forget();
        co_return Errno::RestartSys;
      }
      continue;
    }
    forget();
    co_return errno_from_host(e);
  }
  std::lock_guard ep_lock(m_ep->lock);
  m_ep->connected = true;
  m_ep->peer_name = target_name;
  if (stream) {
    m_ep->peer_creds = target_creds;
  } else {
    m_ep->peer = target;
  }
  co_return ErrorOr<void>{};
}

Coro<ErrorOr<RefPtr<SocketFile>>> UnixSocket::accept(Process& process, Thread* thread, int flags,
                                                     std::vector<std::byte>& peer) {
  if (m_type == SOCK_DGRAM) co_return Errno::NOTSUP;
  if (!m_listening) co_return Errno::INVAL;
  sockaddr_un sa{};
  socklen_t len = 0;
  int fd = m_fd.get();
  auto r = co_await retry(thread, POLLIN, nonblocking(), [&]() -> long {
    len = sizeof sa;
    int n = ::accept4(fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return n < 0 ? -static_cast<long>(errno) : n;
  });
  if (r.is_error()) co_return r.error();
  UniqueFd conn(static_cast<int>(r.value()));
  auto* b = reinterpret_cast<const std::byte*>(&sa);
  std::string client_host = host_name_of(std::vector<std::byte>(b, b + std::min<size_t>(len, sizeof sa)));
  std::shared_ptr<Endpoint> client;
  auto ep = std::make_shared<Endpoint>();
  {
    std::lock_guard l_lock(m_ep->lock);
    for (auto it = m_ep->pending.begin(); it != m_ep->pending.end(); ++it) {
      if ((*it)->host_name == client_host) {
        client = *it;
        m_ep->pending.erase(it);
        break;
      }
    }
    ep->guest_name = m_ep->guest_name;  // an accepted socket shares its listener's address
  }
  if (!client && !client_host.empty()) client = unix_names::find_host(client_host);
  ep->connected = true;
  if (client) {
    std::lock_guard c_lock(client->lock);
    ep->peer_name = client->guest_name;
    ep->peer_creds = client->connect_creds;
    ep->peer = client;
    client->peer = ep;
  }
  peer = ep->peer_name.empty() ? unnamed_addr() : ep->peer_name;  // unix_getname(peer)
  co_return RefPtr<SocketFile>(make_ref<UnixSocket>(std::move(conn), m_type, flags, m_sandbox, ep, true));
}

ErrorOr<std::vector<std::byte>> UnixSocket::sockname() const {
  std::lock_guard ep_lock(m_ep->lock);
  return m_ep->guest_name.empty() ? unnamed_addr() : m_ep->guest_name;
}

ErrorOr<std::vector<std::byte>> UnixSocket::peername() const {
  std::lock_guard ep_lock(m_ep->lock);
  if (!m_ep->connected) return kNotConn;
  return m_ep->peer_name.empty() ? unnamed_addr() : m_ep->peer_name;
}

Coro<ErrorOr<size_t>> UnixSocket::sendmsg(Process& process, Thread* thread, SendRequest& req) {
  {
    std::lock_guard ep_lock(m_ep->lock);
    m_ep->last_sender = message_creds_of(process);
    m_ep->has_sender = true;
  }
  std::vector<std::byte> to;
  if (!req.addr.empty() && m_type == SOCK_STREAM) {
    // unix_stream_sendmsg: no addresses on a stream.
    std::lock_guard ep_lock(m_ep->lock);
    co_return m_ep->connected ? kIsConn : Errno::NOTSUP;
  }
  if (!req.addr.empty() && m_type == SOCK_DGRAM) {
    CO_TRY_ASSIGN(UnixAddr a, parse_addr(req.addr));
    if (a.kind == UnixAddr::Kind::Unnamed) co_return Errno::INVAL;
    CO_TRY_ASSIGN(std::shared_ptr<Endpoint> target, resolve(process, a));
    {
      std::lock_guard lock(m_lock);
      CO_TRY(ensure_host_bound_locked());
    }
    std::lock_guard t_lock(target->lock);
    to = host_addr(target->host_name);
  }
  // SOCK_SEQPACKET ignores an address (unix_seqpacket_sendmsg).
  std::vector<std::byte> control;
  UniqueFd token;
  if (!req.files.empty() || req.creds) {
    if (req.creds) CO_TRY(check_creds(process, *req.creds));
    CO_TRY_ASSIGN(token, in_flight::deposit(in_flight::Payload{req.files, req.creds}));
    CmsgWriter w(CMSG_SPACE(sizeof(int)));
    int t = token.get();
    w.put_fds(&t, 1);
    control = w.take();
  }
  auto r = co_await host_sendmsg(thread, req, to, control);
  if (token && r.is_error()) in_flight::cancel(token.get());
  co_return r;
}

Coro<ErrorOr<size_t>> UnixSocket::recvmsg(Process& process, Thread* thread, RecvRequest& req) {
  std::vector<std::byte> name(m_type == SOCK_DGRAM ? sizeof(sockaddr_un) : 0);
  // Room for the tokens the host may deliver and for SO_TIMESTAMP's data.
  std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * 253) + 256);
  auto r = co_await host_recvmsg(thread, req, name, control);
  if (r.is_error()) co_return r.error();
  bool peek = req.flags & MSG_PEEK;
  std::vector<RefPtr<fs::File>> files;
  std::optional<Creds> creds;
  CmsgWriter w(req.control_cap);
  msghdr msg{};
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  for (cmsghdr* c = control.empty() ? nullptr : CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    size_t len = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      for (size_t i = 0; i < len / sizeof(int); i++) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        UniqueFd token(fd);
        if (auto payload = in_flight::redeem(fd, peek)) {
          for (auto& f : payload->files) files.push_back(std::move(f));
          if (payload->creds) creds = payload->creds;
        }
      }
      continue;
    }
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) continue;  // the sentry's own
    w.put(c->cmsg_level, c->cmsg_type, CMSG_DATA(c), len);
  }
  // Who sent it: a datagram names its sender's host socket; a stream's
  // sender is the peer.
  std::shared_ptr<Endpoint> sender;
  std::optional<Creds> peer_creds;
  {
    std::lock_guard ep_lock(m_ep->lock);
    if (m_type != SOCK_DGRAM) {
      sender = m_ep->peer.lock();
      if (req.want_addr) req.addr = m_ep->peer_name;
    }
    peer_creds = m_ep->peer_creds;
  }
  if (m_type == SOCK_DGRAM) {
    std::string host = host_name_of(name);
    if (!host.empty()) sender = unix_names::find_host(host);
  }
  if (sender && (req.want_addr || m_passcred)) {
    std::lock_guard s_lock(sender->lock);
    if (m_type == SOCK_DGRAM && req.want_addr) req.addr = sender->guest_name;
    if (!creds && sender->has_sender) creds = sender->last_sender;
  }
  if (m_passcred) {
    Creds c = creds ? *creds : peer_creds ? *peer_creds : Creds{};
    ucred u{c.pid, c.uid, c.gid};
    w.put(SOL_SOCKET, SCM_CREDENTIALS, &u, sizeof u);
  }
  if (!files.empty()) {
    // scm_detach_fds(): as many as fit; the rest are closed, MSG_CTRUNC.
    bool cloexec = req.flags & MSG_CMSG_CLOEXEC;
    size_t room = w.fd_room();
    std::vector<int> fds;
    for (auto& f : files) {
      if (fds.size() >= room) break;
      auto fd = process.fds().allocate(f, cloexec, 0, fs::nofile_limit(process));
      if (fd.is_error()) break;
      fds.push_back(fd.value());
    }
    if (fds.size() < files.size()) w.set_flags(MSG_CTRUNC);
    w.put_fds(fds.data(), fds.size());
  }
  req.msg_flags = (req.msg_flags & ~MSG_CTRUNC) | w.flags();
  req.control = w.take();
  co_return r.value();
}

std::optional<ErrorOr<std::vector<std::byte>>> UnixSocket::family_getsockopt(Process&, int level, int name) {
  if (level != SOL_SOCKET) return std::nullopt;
  if (name == SO_PASSCRED) {
    int v = m_passcred ? 1 : 0;
    auto* b = reinterpret_cast<const std::byte*>(&v);
    return ErrorOr<std::vector<std::byte>>(std::vector<std::byte>(b, b + sizeof v));
  }
  if (name == SO_PEERCRED) {
    Creds c;
    {
      std::lock_guard ep_lock(m_ep->lock);
      if (m_ep->peer_creds)
        c = *m_ep->peer_creds;
      else if (m_listening)
        c = m_ep->listen_creds;
    }
    ucred u{c.pid, c.uid, c.gid};
    auto* b = reinterpret_cast<const std::byte*>(&u);
    return ErrorOr<std::vector<std::byte>>(std::vector<std::byte>(b, b + sizeof u));
  }
  return std::nullopt;
}

std::optional<ErrorOr<void>> UnixSocket::family_setsockopt(int level, int name, std::span<const std::byte> value) {
  if (level != SOL_SOCKET || name != SO_PASSCRED) return std::nullopt;
  // Kept by the sentry: set on the host, it would autobind host names.
  if (value.size() < sizeof(int)) return ErrorOr<void>(Errno::INVAL);
  int v;
  std::memcpy(&v, value.data(), sizeof v);
  m_passcred = v != 0;
  return ErrorOr<void>{};
}

}  // namespace

ErrorOr<RefPtr<SocketFile>> make_unix_socket(Process& process, int type, int protocol, int flags) {
  if (type == SOCK_RAW) type = SOCK_DGRAM;  // unix_create()
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) return kSockTNoSupport;
  if (protocol != 0 && protocol != PF_UNIX) return kProtoNoSupport;
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return last_host_errno();
  return RefPtr<SocketFile>(
      make_ref<UnixSocket>(std::move(fd), type, flags, &process.sandbox(), std::make_shared<Endpoint>(), false));
}

ErrorOr<std::pair<RefPtr<SocketFile>, RefPtr<SocketFile>>> make_unix_pair(Process& process, int type, int protocol,
                                                                          int flags) {
  if (type == SOCK_RAW) type = SOCK_DGRAM;
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) return kSockTNoSupport;
  if (protocol != 0 && protocol != PF_UNIX) return kProtoNoSupport;
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) return last_host_errno();
  UniqueFd a(fds[0]), b(fds[1]);
  auto ea = std::make_shared<Endpoint>(), eb = std::make_shared<Endpoint>();
  Creds creds = peer_creds_of(process);
  for (auto* e : {ea.get(), eb.get()}) {
    e->connected = true;
    e->peer_creds = creds;
    e->last_sender = message_creds_of(process);
  }
  ea->peer = eb;
  eb->peer = ea;
  RefPtr<SocketFile> sa = make_ref<UnixSocket>(std::move(a), type, flags, &process.sandbox(), ea, false);
  RefPtr<SocketFile> sb = make_ref<UnixSocket>(std::move(b), type, flags, &process.sandbox(), eb, false);
  return std::pair{sa, sb};
}

}  // namespace moat::net
