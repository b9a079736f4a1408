#include "runtime/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace moat::runtime {

namespace {

constexpr const char* kSocketName = "control.sock";
constexpr size_t kMaxLine = 1 << 20;  // an exec request carries a whole process spec
constexpr size_t kMaxFds = 8;

// The socket's address through an fd of its directory; dir_fd must stay
// open while the address is used.
std::optional<sockaddr_un> socket_address(const std::string& state_dir, UniqueFd& dir_fd, std::string* error) {
  dir_fd = UniqueFd(::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    *error = state_dir + ": " + strerror(errno);
    return std::nullopt;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dir_fd.get(), kSocketName);
  return addr;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reads up to a newline, within the deadline (-1: none), keeping fds
// passed along (SCM_RIGHTS) when fds is given. Bytes past the newline are
// left in the socket: it reads with MSG_PEEK first.
std::optional<std::string> read_line(int fd, int64_t deadline_ms, std::vector<UniqueFd>* fds = nullptr) {
  std::string line;
  char buf[4096];
  for (;;) {
    int wait = -1;
    if (deadline_ms >= 0) {
      int64_t left = deadline_ms - now_ms();
      if (left <= 0) return std::nullopt;
      wait = static_cast<int>(left);
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    ssize_t peeked = ::recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (peeked <= 0) return std::nullopt;  // EOF before a whole line
    size_t take = static_cast<size_t>(peeked);
    if (auto nl = std::string_view(buf, take).find('\n'); nl != std::string_view::npos) take = nl + 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    iovec iov{buf, take};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return std::nullopt;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int received;
        memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (fds)
          fds->emplace_back(received);
        else
          ::close(received);
      }
    }
    line.append(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      return line;
    }
    if (line.size() > kMaxLine) return std::nullopt;
  }
}

void write_line_raw(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void write_line(int fd, const std::string& text) { write_line_raw(fd, text + "\n"); }

}  // namespace

std::optional<UniqueFd> listen_control(const std::string& state_dir, std::string* error) {
  UniqueFd dir_fd;
  auto addr = socket_address(state_dir, dir_fd, error);
  if (!addr) return std::nullopt;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sock) {
    *error = std::string("control socket: ") + strerror(errno);
    return std::nullopt;
  }
  ::unlinkat(dir_fd.get(), kSocketName, 0);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0 ||
      ::listen(sock.get(), 16) != 0) {
    *error = state_dir + "/" + kSocketName + ": " + strerror(errno);
    return std::nullopt;
  }
  // Only root (the owner) may drive the container.
  ::fchmodat(dir_fd.get(), kSocketName, 0600, 0);
  return sock;
}

std::optional<std::string> read_request(int conn, int timeout_ms) { return read_line(conn, now_ms() + timeout_ms); }

std::optional<std::string> read_request(int conn, int timeout_ms, std::vector<UniqueFd>* fds) {
  return read_line(conn, now_ms() + timeout_ms, fds);
}

std::optional<std::string> read_line_from(int conn, int timeout_ms) {
  return read_line(conn, timeout_ms < 0 ? -1 : now_ms() + timeout_ms);
}

std::string send_line_with_fds(int conn, const std::string& text, const std::vector<int>& fds) {
  std::string line = text + "\n";
  if (fds.size() > kMaxFds) return "too many fds for one request";
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  iovec iov{line.data(), line.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(conn, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::string("sending to the sentry: ") + strerror(errno);
  // The fds went with the first bytes; the rest of a long line follows plainly.
  if (static_cast<size_t>(n) < line.size()) write_line_raw(conn, line.substr(static_cast<size_t>(n)));
  return {};
}

std::optional<UniqueFd> control_connect(const std::string& state_dir, std::string* error) {
  UniqueFd dir_fd;
  auto addr = socket_address(state_dir, dir_fd, error);
  if (!addr) return std::nullopt;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    *error = std::string("control socket: ") + strerror(errno);
    return std::nullopt;
  }
  int r;
  do {
    r = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    *error = "cannot reach the container's sentry: " + std::string(strerror(errno));
    return std::nullopt;
  }
  return sock;
}

void send_reply(int conn, const std::string& reply) { write_line(conn, reply); }

std::optional<std::string> control_request(const std::string& state_dir, const std::string& request,
                                           std::string* error, int timeout_ms) {
  std::optional<UniqueFd> sock = control_connect(state_dir, error);
  if (!sock) return std::nullopt;
  write_line(sock->get(), request);
  auto reply = read_line(sock->get(), now_ms() + timeout_ms);
  if (!reply) *error = "the container's sentry did not answer \"" + request + "\"";
  return reply;
}

}  // namespace moat::runtime
