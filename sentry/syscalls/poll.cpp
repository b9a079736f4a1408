// poll, ppoll, select and pselect6.
//
// Files backed by a host fd (pipes, the caller's stdio, eventfds, timerfds,
// signalfds' readiness eventfds, epolls) are polled on the host; every other
// file moat has today is always ready, as regular files are on Linux. To
// wait, the sentry gathers the host fds in a short-lived epoll instance and
// awaits it through io_uring (with a linked timeout), so no worker ever
// blocks. A signal the thread does not block ends the wait with EINTR.
// FIXME: a wait queue for in-sentry files (issue 5).

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fs/event_files.h"
#include "fs/fd_table.h"
#include "fs/host_fd_file.h"
#include "sentry/io/uring.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/readiness.h"

namespace moat {

namespace {

constexpr short kAlwaysReady = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

struct PollEntry {
  int fd;
  short events;
  short revents;
  int host_fd;  // -1: always ready (or invalid)
};

// Fills revents of every entry without blocking; returns how many are ready.
int poll_once(Process& p, std::vector<PollEntry>& entries) {
  std::vector<pollfd> host;
  std::vector<size_t> index;
  int ready = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    PollEntry& e = entries[i];
    e.revents = 0;
    e.host_fd = -1;
    if (e.fd < 0) continue;
    auto file = p.fds().get(e.fd);
    if (file.is_error()) {
      e.revents = POLLNVAL;
      ready++;
      continue;
    }
    if (int host_fd = file.value()->poll_host_fd(); host_fd >= 0) {
      e.host_fd = host_fd;
      host.push_back(pollfd{e.host_fd, e.events, 0});
      index.push_back(i);
      continue;
    }
    e.revents = static_cast<short>(e.events & kAlwaysReady);
    if (e.revents) ready++;
  }
  if (!host.empty() && ::poll(host.data(), host.size(), 0) > 0) {
    for (size_t k = 0; k < host.size(); k++) {
      if (!host[k].revents) continue;
      entries[index[k]].revents = host[k].revents;
      ready++;
    }
  }
  return ready;
}

// The common core: timeout_ns < 0 waits forever. *left_ns (if given) gets
// what is left of the timeout, for the calls that write it back.
Coro<ErrorOr<int>> do_poll(Thread& t, std::vector<PollEntry>& entries, int64_t timeout_ns, int64_t* left_ns = nullptr) {
  Process& p = t.process();
  int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
  auto remaining = [&] {
    int64_t left = deadline >= 0 ? std::max<int64_t>(deadline - monotonic_ns(), 0) : -1;
    if (left_ns) *left_ns = left;
    return left;
  };
  for (;;) {
    refresh_signalfds(p.sandbox());
    int ready = poll_once(p, entries);
    if (ready > 0) {
      remaining();
      co_return ready;
    }
    // Ready fds win over a pending signal; a signal wins over the timeout
    // (the kernel's do_poll).
    if (deliverable_signal_pending(t)) co_return Errno::INTR;
    int64_t left = remaining();
    if (timeout_ns == 0 || (deadline >= 0 && left <= 0)) co_return 0;
    UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
    if (!ep) co_return last_host_errno();
    for (const PollEntry& e : entries) {
      if (e.host_fd < 0) continue;
      epoll_event ev{};
      ev.events = static_cast<uint32_t>(e.events) | EPOLLERR | EPOLLHUP;
      ev.data.fd = e.host_fd;
      epoll_ctl(ep.get(), EPOLL_CTL_ADD, e.host_fd, &ev);  // EEXIST for a repeated fd is fine
    }
    co_await wait_readable(ep.get(), left, &t);
    // poll and select are not restarted after a handler (EINTR, signal(7)).
    if (t.interrupted) {
      remaining();
      co_return Errno::INTR;
    }
  }
}

ErrorOr<std::vector<PollEntry>> read_pollfds(SyscallContext& ctx, uint64_t addr, uint64_t nfds) {
  if (nfds > ctx.process().rlimits[RLIMIT_NOFILE].rlim_cur) return Errno::INVAL;
  std::vector<pollfd> raw(nfds);
  TRY(ctx.mem().read(addr, raw.data(), nfds * sizeof(pollfd)));
  std::vector<PollEntry> entries;
  for (const pollfd& r : raw) entries.push_back({r.fd, r.events, 0, -1});
  return entries;
}

ErrorOr<void> write_revents(SyscallContext& ctx, uint64_t addr, const std::vector<PollEntry>& entries) {
  for (size_t i = 0; i < entries.size(); i++)
    TRY(ctx.mem().write(addr + i * sizeof(pollfd) + offsetof(pollfd, revents), &entries[i].revents, sizeof(short)));
  return {};
}

Coro<ErrorOr<int64_t>> poll_common(SyscallContext& ctx, uint64_t addr, uint64_t nfds, int64_t timeout_ns,
                                   int64_t* left_ns = nullptr) {
  CO_TRY_ASSIGN(std::vector<PollEntry> entries, read_pollfds(ctx, addr, nfds));
  CO_TRY_ASSIGN(int ready, co_await do_poll(ctx.thread, entries, timeout_ns, left_ns));
  CO_TRY(write_revents(ctx, addr, entries));
  co_return ready;
}

// The time left, written back where the guest's timeout was (ppoll and
// pselect6 as a timespec, select as a timeval; poll_select_finish), whatever
// the result. A failed write is ignored, as in Linux.
template <typename T>
void write_back_timeout(SyscallContext& ctx, uint64_t addr, int64_t left_ns) {
  if (!addr || left_ns < 0) return;
  T out{};
  out.tv_sec = left_ns / 1000000000;
  if constexpr (std::is_same_v<T, timeval>)
    out.tv_usec = (left_ns % 1000000000) / 1000;
  else
    out.tv_nsec = left_ns % 1000000000;
  (void)ctx.mem().write_obj(UserPtr<T>(addr), out);
}

// select's fd_sets as poll entries, and back.
Coro<ErrorOr<int64_t>> select_common(SyscallContext& ctx, int nfds, uint64_t rd, uint64_t wr, uint64_t ex,
                                     int64_t timeout_ns, int64_t* left_ns = nullptr) {
  if (nfds < 0) co_return Errno::INVAL;
  // Linux looks no further than its fd table's size (max_fds); moat's
  // table may grow to RLIMIT_NOFILE.
  nfds = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(nfds), fs::nofile_limit(ctx.process())));
  size_t bytes = (static_cast<size_t>(nfds) + 63) / 64 * 8;
  std::vector<uint64_t> sets[3];
  uint64_t addrs[3] = {rd, wr, ex};
  for (int k = 0; k < 3; k++) {
    sets[k].assign(bytes / 8, 0);
    if (addrs[k] && bytes) CO_TRY(ctx.mem().read(addrs[k], sets[k].data(), bytes));
  }
  auto bit = [](const std::vector<uint64_t>& s, int fd) { return (s[fd / 64] >> (fd % 64)) & 1; };
  std::vector<PollEntry> entries;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = 0;
    if (bit(sets[0], fd)) ev |= POLLIN;
    if (bit(sets[1], fd)) ev |= POLLOUT;
    if (bit(sets[2], fd)) ev |= POLLPRI;
    if (ev) entries.push_back({fd, ev, 0, -1});
  }
  // select reports a closed fd in any set as EBADF (poll says POLLNVAL).
  for (const PollEntry& e : entries)
    if (ctx.process().fds().get(e.fd).is_error()) co_return Errno::BADF;
  CO_TRY_ASSIGN(int ready, co_await do_poll(ctx.thread, entries, timeout_ns, left_ns));
  (void)ready;
  for (auto& s : sets) std::fill(s.begin(), s.end(), 0);
  int count = 0;
  for (const PollEntry& e : entries) {
    auto set = [&](std::vector<uint64_t>& s) {
      s[e.fd / 64] |= 1ULL << (e.fd % 64);
      count++;
    };
    if ((e.events & POLLIN) && (e.revents & (POLLIN | POLLHUP | POLLERR))) set(sets[0]);
    if ((e.events & POLLOUT) && (e.revents & (POLLOUT | POLLERR))) set(sets[1]);
    if ((e.events & POLLPRI) && (e.revents & POLLPRI)) set(sets[2]);
  }
  for (int k = 0; k < 3; k++)
    if (addrs[k] && bytes) CO_TRY(ctx.mem().write(addrs[k], sets[k].data(), bytes));
  co_return count;
}

// ppoll: poll_common, then the time left goes back into the timespec.
Coro<ErrorOr<int64_t>> ppoll_common(SyscallContext& ctx, int64_t timeout_ns) {
  int64_t left = -1;
  ErrorOr<int64_t> r = co_await poll_common(ctx, ctx.arg(0), ctx.arg(1), timeout_ns, &left);
  write_back_timeout<timespec>(ctx, ctx.arg(2), left);
  co_return r;
}

// select and pselect6: select_common, then the time left goes back into
// the timeval (select) or timespec (pselect6) at timeout_addr.
template <typename T>
Coro<ErrorOr<int64_t>> select_with_timeout(SyscallContext& ctx, int64_t timeout_ns, uint64_t timeout_addr) {
  int64_t left = -1;
  ErrorOr<int64_t> r =
      co_await select_common(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), ctx.arg(3), timeout_ns, &left);
  write_back_timeout<T>(ctx, timeout_addr, left);
  co_return r;
}

}  // namespace

// Implements Linux poll(2).
Coro<ErrorOr<int64_t>> sys_poll(SyscallContext& ctx) {
  int timeout_ms = ctx.arg_int(2);
  return poll_common(ctx, ctx.arg(0), ctx.arg(1), timeout_ms < 0 ? -1 : int64_t{timeout_ms} * 1000000);
}

// Implements Linux ppoll(2): the signal mask holds while it waits, and the
// time left goes back into the timeout.
Coro<ErrorOr<int64_t>> sys_ppoll(SyscallContext& ctx) {
  auto timeout = read_timeout_ns(ctx.mem(), ctx.arg(2));
  if (timeout.is_error()) return async_result(timeout.error());
  if (auto r = set_wait_mask(ctx.thread, ctx.mem(), ctx.arg(3), ctx.arg(4)); r.is_error())
    return async_result(r.error());
  return ppoll_common(ctx, timeout.value());
}

// Implements Linux select(2). The time left goes back into the timeval.
Coro<ErrorOr<int64_t>> sys_select(SyscallContext& ctx) {
  int64_t timeout_ns = -1;
  if (uint64_t tv_addr = ctx.arg(4)) {
    auto tv = ctx.mem().read_obj(UserPtr<timeval>(tv_addr));
    if (tv.is_error()) return async_result(tv.error());
    // Whole seconds in tv_usec carry over; what is negative after that is
    // EINVAL (kern_select, poll_select_set_timeout).
    int64_t sec = tv.value().tv_sec + tv.value().tv_usec / 1000000;
    int64_t usec = tv.value().tv_usec % 1000000;
    if (sec < 0 || usec < 0) return async_result(Errno::INVAL);
    timeout_ns = sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX / 2 : sec * 1000000000LL + usec * 1000LL;
  }
  return select_with_timeout<timeval>(ctx, timeout_ns, ctx.arg(4));
}

// Implements Linux pselect6(2). The sixth argument points at the signal
// mask's address and size.
Coro<ErrorOr<int64_t>> sys_pselect6(SyscallContext& ctx) {
  auto timeout = read_timeout_ns(ctx.mem(), ctx.arg(4));
  if (timeout.is_error()) return async_result(timeout.error());
  if (uint64_t sig_addr = ctx.arg(5)) {
    struct {
      uint64_t mask_addr;
      uint64_t size;
    } sig;
    if (auto r = ctx.mem().read(sig_addr, &sig, sizeof sig); r.is_error()) return async_result(r.error());
    if (auto r = set_wait_mask(ctx.thread, ctx.mem(), sig.mask_addr, sig.size); r.is_error())
      return async_result(r.error());
  }
  return select_with_timeout<timespec>(ctx, timeout.value(), ctx.arg(4));
}

}  // namespace moat
