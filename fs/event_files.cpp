// eventfd, timerfd and epoll files over host objects (event_files.h).

#include "fs/event_files.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>

#include "fs/host_fd_file.h"
#include "sentry/kernel/host_fd_wait.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

namespace {

// The file type the host gives its own object of this kind (anon inodes).
mode_t host_type(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return 0;
  return st.st_mode & S_IFMT;
}

}  // namespace

Location CounterFile::anon_location(const std::string& name, mode_t mode) {
  Location loc;
  loc.entries.push_back(PathEntry{name, make_ref<AnonNode>(mode)});
  loc.anonymous = true;
  return loc;
}

// eventfd_read and timerfd_read: EINVAL below 8 bytes, EAGAIN with nothing
// to take. The host says which; a blocking call waits for POLLIN and tries
// again, and a signal ends the wait with ERESTARTSYS as in Linux.
Coro<ErrorOr<size_t>> CounterFile::read(std::span<std::byte> buf, int64_t offset) {
  if (offset >= 0) co_return Errno::SPIPE;
  Thread* thread = dispatching_thread();
  for (;;) {
    ssize_t n = ::read(m_fd.get(), buf.data(), buf.size());
    if (n >= 0) co_return static_cast<size_t>(n);
    if (errno != EAGAIN) co_return last_host_errno();
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    int32_t r = co_await wait_host_fd(m_fd.get(), POLLIN, -1, thread);
    if (r == -ECANCELED || (thread && thread->interrupted)) co_return Errno::RestartSys;
  }
}

// eventfd_write: one 8-byte value (more bytes are ignored), EINVAL for
// ~0ULL; a write that would pass the maximum waits for room (POLLOUT).
// timerfd has no write: the host says EINVAL.
Coro<ErrorOr<size_t>> CounterFile::write(std::span<const std::byte> buf, int64_t offset) {
  if (offset >= 0) co_return Errno::SPIPE;
  Thread* thread = dispatching_thread();
  for (;;) {
    ssize_t n = ::write(m_fd.get(), buf.data(), buf.size());
    if (n >= 0) co_return static_cast<size_t>(n);
    if (errno != EAGAIN) co_return last_host_errno();
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    int32_t r = co_await wait_host_fd(m_fd.get(), POLLOUT, -1, thread);
    if (r == -ECANCELED || (thread && thread->interrupted)) co_return Errno::RestartSys;
  }
}

ErrorOr<struct stat> CounterFile::stat() const {
  struct stat st {};
  if (::fstat(m_fd.get(), &st) < 0) return last_host_errno();
  return st;
}

ErrorOr<RefPtr<File>> EventFdFile::create(unsigned initval, int flags) {
  UniqueFd fd(::eventfd(initval, EFD_NONBLOCK | EFD_CLOEXEC | (flags & EFD_SEMAPHORE)));
  if (!fd) return last_host_errno();
  const std::string name = "anon_inode:[eventfd]";
  Location loc = anon_location(name, host_type(fd.get()));
  return RefPtr<File>::adopt(new EventFdFile(std::move(loc), O_RDWR | (flags & O_NONBLOCK), std::move(fd), name));
}

ErrorOr<RefPtr<File>> TimerFdFile::create(int clock, int flags) {
  // timerfd_create(2): these clocks only (the alarm ones need CAP_WAKE_ALARM,
  // checked by the caller).
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM: break;
    default: return Errno::INVAL;
  }
  UniqueFd fd(::timerfd_create(clock, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return last_host_errno();
  const std::string name = "anon_inode:[timerfd]";
  Location loc = anon_location(name, host_type(fd.get()));
  return RefPtr<File>::adopt(new TimerFdFile(std::move(loc), O_RDWR | (flags & O_NONBLOCK), std::move(fd), name));
}

// The host checks the flags and the timespecs (EINVAL).
ErrorOr<itimerspec> TimerFdFile::settime(int flags, const itimerspec& value) {
  itimerspec old{};
  if (::timerfd_settime(host_fd(), flags, &value, &old) < 0) return last_host_errno();
  return old;
}

ErrorOr<itimerspec> TimerFdFile::gettime() const {
  itimerspec cur{};
  if (::timerfd_gettime(host_fd(), &cur) < 0) return last_host_errno();
  return cur;
}

ErrorOr<RefPtr<File>> EpollFile::create() {
  UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!fd) return last_host_errno();
  Location loc;
  loc.entries.push_back(PathEntry{"anon_inode:[eventpoll]", make_ref<AnonNode>(host_type(fd.get()))});
  loc.anonymous = true;
  return RefPtr<File>::adopt(new EpollFile(std::move(loc), std::move(fd)));
}

namespace {
std::mutex g_epoll_links_lock;  // every File::m_epoll_links
std::atomic<uint64_t> g_next_epoll_id{1};
}  // namespace

EpollFile::EpollFile(Location loc, UniqueFd fd)
    : File(std::move(loc), O_RDWR), m_fd(std::move(fd)), m_id(g_next_epoll_id.fetch_add(1)) {}

ErrorOr<void> EpollFile::ctl(int op, File& target, int guest_fd, epoll_event* ev) {
  int own = target.poll_host_fd();
  std::lock_guard guard(g_epoll_links_lock);
  auto& links = target.m_epoll_links;
  auto is_mine = [&](const EpollLink& l) { return l.epoll_id == m_id && l.guest_fd == guest_fd; };
  auto mine = std::find_if(links.begin(), links.end(), is_mine);
  if (op == EPOLL_CTL_ADD) {
    if (mine != links.end()) return Errno::EXIST;
    bool own_taken =
        std::any_of(links.begin(), links.end(), [&](const EpollLink& l) { return l.epoll_id == m_id && !l.alias; });
    UniqueFd alias;
    if (own_taken) {
      alias = UniqueFd(::fcntl(own, F_DUPFD_CLOEXEC, 0));
      if (!alias) return last_host_errno();
    }
    if (::epoll_ctl(m_fd.get(), op, alias ? alias.get() : own, ev) < 0) return last_host_errno();
    links.push_back(EpollLink{m_id, guest_fd, std::move(alias)});
    m_entries.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  if (mine == links.end()) {
    // Not registered as this guest fd (perhaps as another): the checks
    // Linux makes before it looks the entry up, then ENOENT.
    if (op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return Errno::INVAL;
    if (&target == this) return Errno::INVAL;
    if (op == EPOLL_CTL_MOD && (ev->events & EPOLLEXCLUSIVE)) return Errno::INVAL;
    return Errno::NOENT;
  }
  if (::epoll_ctl(m_fd.get(), op, mine->alias ? mine->alias.get() : own, ev) < 0) return last_host_errno();
  if (op == EPOLL_CTL_DEL) {
    links.erase(mine);
    m_entries.fetch_sub(1, std::memory_order_relaxed);
  }
  return {};
}

ErrorOr<struct stat> EpollFile::stat() const {
  struct stat st {};
  if (::fstat(m_fd.get(), &st) < 0) return last_host_errno();
  return st;
}

}  // namespace moat::fs
