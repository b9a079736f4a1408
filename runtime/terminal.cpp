#include "runtime/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <span>
#include <vector>

#include "base/unique_fd.h"
#include "fs/pty.h"
#include "sentry/io/coro.h"
#include "sentry/io/uring.h"

namespace moat::cli {

namespace {

// Written by the SIGWINCH handler; a coroutine on the worker waits on it.
int g_winch_event = -1;

void on_winch(int) {
  uint64_t one = 1;
  int saved = errno;
  [[maybe_unused]] ssize_t n = ::write(g_winch_event, &one, sizeof one);
  errno = saved;
}

Coro<int> wait_ready(int fd, short events) {
  int r = co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, events); });
  co_return r;
}

// Writes all of data to a host fd; false when the fd is broken.
Coro<bool> write_all(int fd, const std::byte* data, size_t len) {
  size_t off = 0;
  while (off < len) {
    int w = co_await uring_write(fd, data + off, static_cast<unsigned>(len - off), -1);
    if (w == -EINTR) continue;
    if (w == -EAGAIN) {
      co_await wait_ready(fd, POLLOUT);
      continue;
    }
    if (w <= 0) co_return false;
    off += static_cast<size_t>(w);
  }
  co_return true;
}

}  // namespace

struct HostTerminal::Shared {
  std::promise<void> out_done;
};

namespace {

// The master's output to the user's terminal, until the master reads EIO
// (every replica closed, or pty_hang_up_replica). Output the terminal
// refuses is read and dropped, so the guest never blocks on it.
Coro<int> copy_out(RefPtr<fs::File> master, int out_fd, std::shared_ptr<HostTerminal::Shared> shared) {
  std::vector<std::byte> buf(16384);
  bool broken = false;
  for (;;) {
    auto r = co_await master->read(std::span(buf), -1);
    if (r.is_error() || r.value() == 0) break;
    if (!broken) broken = !co_await write_all(out_fd, buf.data(), r.value());
  }
  shared->out_done.set_value();
  co_return 0;
}

// The user's keystrokes to the master. The poll and FIONREAD keep the
// worker from ever blocking in read(2).
Coro<int> copy_in(RefPtr<fs::File> master, int in_fd) {
  std::vector<std::byte> buf(4096);
  for (;;) {
    int ready = co_await wait_ready(in_fd, POLLIN);
    if (ready == -EINTR) continue;
    if (ready < 0) break;
    int avail = 0;
    if (::ioctl(in_fd, FIONREAD, &avail) < 0) break;
    size_t want = avail > 0 ? std::min(static_cast<size_t>(avail), buf.size()) : buf.size();
    ssize_t n = ::read(in_fd, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the terminal hung up
    bool failed = false;
    for (size_t off = 0; off < static_cast<size_t>(n) && !failed;) {
      auto w = co_await master->write(std::span<const std::byte>(buf.data() + off, static_cast<size_t>(n) - off), -1);
      if (w.is_error())
        failed = true;
      else
        off += w.value();
    }
    if (failed) break;
  }
  co_return 0;
}

// The host terminal's size, whenever it changes, to the pty (which sends
// SIGWINCH to its foreground group).
Coro<int> forward_window_size(RefPtr<fs::File> master, int tty_fd, int event_fd) {
  for (;;) {
    int ready = co_await wait_ready(event_fd, POLLIN);
    if (ready == -EINTR) continue;
    if (ready < 0) break;
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(event_fd, &count, sizeof count);
    struct winsize ws {};
    if (::ioctl(tty_fd, TIOCGWINSZ, &ws) == 0) (void)fs::pty_set_window_size(*master, ws);
  }
  co_return 0;
}

}  // namespace

ErrorOr<std::unique_ptr<HostTerminal>> HostTerminal::open(int in_fd, int out_fd) {
  struct termios saved {};
  if (!::isatty(in_fd) || ::tcgetattr(in_fd, &saved) < 0) return Errno::NOTTY;
  return std::unique_ptr<HostTerminal>(new HostTerminal(in_fd, out_fd, saved));
}

HostTerminal::~HostTerminal() { restore(); }

void HostTerminal::restore() {
  if (!m_raw) return;
  ::tcsetattr(m_in, TCSADRAIN, &m_saved);
  m_raw = false;
}

struct winsize HostTerminal::window_size() const {
  struct winsize ws {};
  if (::ioctl(m_in, TIOCGWINSZ, &ws) < 0) ws = {};
  return ws;
}

void HostTerminal::start(RefPtr<fs::File> master, const std::function<void(std::function<void()>)>& post) {
  struct termios raw = m_saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(m_in, TCSADRAIN, &raw) == 0) m_raw = true;
  m_master = master;
  m_shared = std::make_shared<Shared>();
  if (g_winch_event < 0) g_winch_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_winch;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (g_winch_event >= 0) ::sigaction(SIGWINCH, &sa, nullptr);
  int in = m_in, out = m_out, winch = g_winch_event;
  auto shared = m_shared;
  post([master, in, out, winch, shared] {
    spawn(copy_out(master, out, shared), [](int) {});
    spawn(copy_in(master, in), [](int) {});
    if (winch >= 0) spawn(forward_window_size(master, in, winch), [](int) {});
  });
}

void HostTerminal::finish(const std::function<void(std::function<void()>)>& post, std::chrono::milliseconds timeout) {
  if (m_master && m_shared) {
    std::future<void> done = m_shared->out_done.get_future();
    RefPtr<fs::File> master = m_master;
    post([master] { fs::pty_hang_up_replica(*master); });
    done.wait_for(timeout);
  }
  restore();
}

}  // namespace moat::cli
