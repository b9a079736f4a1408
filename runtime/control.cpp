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
constexpr size_t kMaxLine = 4096;

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

// Reads up to a newline, within the deadline.
std::optional<std::string> read_line(int fd, int64_t deadline_ms) {
  std::string line;
  char buf[512];
  for (;;) {
    int64_t left = deadline_ms - now_ms();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return line.empty() ? std::nullopt : std::optional(line);
    line.append(buf, static_cast<size_t>(n));
    if (auto nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
    if (line.size() > kMaxLine) return std::nullopt;
  }
}

void write_line(int fd, const std::string& text) {
  std::string line = text + "\n";
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

void send_reply(int conn, const std::string& reply) { write_line(conn, reply); }

std::optional<std::string> control_request(const std::string& state_dir, const std::string& request,
                                           std::string* error, int timeout_ms) {
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
  write_line(sock.get(), request);
  auto reply = read_line(sock.get(), now_ms() + timeout_ms);
  if (!reply) *error = "the container's sentry did not answer \"" + request + "\"";
  return reply;
}

}  // namespace moat::runtime
