// epoll: a guest epoll instance is a host epoll fd held by the sentry (an
// fs::EpollFile, so poll and nested epoll see it as the kernel would). Guest
// files backed by host fds (pipes, stdio, eventfds, timerfds, signalfds,
// pidfds, other epolls) are added by their host fd, so the host keeps the
// interest list, level and edge triggering, EPOLLONESHOT, EPOLLEXCLUSIVE,
// loop detection, and drops an entry when its file is released; waits go
// through io_uring. FIXME: in-sentry files (tmpfs, procfs) need wait queues
// of their own (issue 5); regular files get EPERM, as in Linux. Entries are
// keyed by (description, guest fd) as in Linux: a dup registered too gets
// a host fd of its own (fs::EpollFile::ctl).

#include <sys/epoll.h>

#include <algorithm>
#include <vector>

#include "fs/event_files.h"
#include "fs/fd_table.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/readiness.h"

namespace moat {

namespace {

constexpr int kMaxEvents = INT32_MAX / sizeof(epoll_event);

ErrorOr<int64_t> create_epoll(SyscallContext& ctx, int flags) {
  if (flags & ~EPOLL_CLOEXEC) return Errno::INVAL;
  RefPtr<fs::File> file = TRY(fs::EpollFile::create());
  int fd = TRY(ctx.process().fds().allocate(file, flags & EPOLL_CLOEXEC, 0, fs::nofile_limit(ctx.process())));
  return fd;
}

ErrorOr<fs::EpollFile*> epoll_of(const RefPtr<fs::File>& file) {
  auto* ep = dynamic_cast<fs::EpollFile*>(file.ptr());
  if (!ep) return Errno::INVAL;
  return ep;
}

Coro<ErrorOr<int64_t>> wait_epoll(SyscallContext& ctx, int epfd, uint64_t events_addr, int maxevents,
                                  int64_t timeout_ns) {
  if (maxevents <= 0 || maxevents > kMaxEvents) co_return Errno::INVAL;
  CO_TRY_ASSIGN(RefPtr<fs::File> file, ctx.process().fds().get(epfd));
  CO_TRY_ASSIGN(fs::EpollFile * ep, epoll_of(file));
  int host_ep = ep->host_fd();
  Thread& t = ctx.thread;
  // As many events as the guest takes, up to one per entry: a wait never
  // returns more, and Linux fills the guest's array that far (a buffer of
  // maxevents could be gigabytes).
  size_t room = std::clamp<size_t>(ep->entry_bound(), 1, static_cast<size_t>(maxevents));
  std::vector<epoll_event> events(room);
  int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
  for (;;) {
    // A signalfd's readiness may be stale: delivery takes signals too.
    refresh_signalfds(ctx.sandbox());
    int n = epoll_wait(host_ep, events.data(), static_cast<int>(events.size()), 0);
    if (n < 0) co_return last_host_errno();
    if (n > 0) {
      CO_TRY(ctx.mem().write(events_addr, events.data(), static_cast<size_t>(n) * sizeof(epoll_event)));
      co_return n;
    }
    int64_t left = deadline >= 0 ? deadline - monotonic_ns() : -1;
    if (timeout_ns == 0 || (deadline >= 0 && left <= 0)) co_return 0;
    if (deliverable_signal_pending(t)) co_return Errno::INTR;  // ep_poll
    co_await wait_readable(host_ep, left, &t);
    if (t.interrupted) co_return Errno::INTR;  // never restarted (signal(7))
  }
}

int64_t ms_to_ns(int timeout_ms) { return timeout_ms < 0 ? -1 : int64_t{timeout_ms} * 1000000; }

}  // namespace

// Implements Linux epoll_create(2).
ErrorOr<int64_t> sys_epoll_create(SyscallContext& ctx) {
  if (ctx.arg_int(0) <= 0) return Errno::INVAL;
  return create_epoll(ctx, 0);
}

// Implements Linux epoll_create1(2).
ErrorOr<int64_t> sys_epoll_create1(SyscallContext& ctx) { return create_epoll(ctx, ctx.arg_int(0)); }

// Implements Linux epoll_ctl(2), checking in the kernel's order: the event
// (EFAULT), both fds (EBADF), whether the target can be polled (EPERM),
// whether epfd is an epoll (EINVAL). The host checks the rest: epfd == fd,
// op, EPOLLEXCLUSIVE rules, loops, EEXIST, ENOENT.
ErrorOr<int64_t> sys_epoll_ctl(SyscallContext& ctx) {
  int epfd = ctx.arg_int(0), op = ctx.arg_int(1), fd = ctx.arg_int(2);
  Process& p = ctx.process();
  epoll_event ev{};
  if (op != EPOLL_CTL_DEL) ev = TRY(ctx.mem().read_obj(UserPtr<epoll_event>(ctx.arg(3))));
  RefPtr<fs::File> ep_file = TRY(p.fds().get(epfd));
  RefPtr<fs::File> target = TRY(p.fds().get(fd));
  if (target->poll_host_fd() < 0) return Errno::PERM;  // files epoll cannot watch (Linux: regular files, directories)
  fs::EpollFile* ep = TRY(epoll_of(ep_file));
  TRY(ep->ctl(op, *target, fd, op == EPOLL_CTL_DEL ? nullptr : &ev));
  return 0;
}

// Implements Linux epoll_wait(2).
Coro<ErrorOr<int64_t>> sys_epoll_wait(SyscallContext& ctx) {
  return wait_epoll(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ms_to_ns(ctx.arg_int(3)));
}

// Implements Linux epoll_pwait(2): the signal mask holds while it waits.
Coro<ErrorOr<int64_t>> sys_epoll_pwait(SyscallContext& ctx) {
  if (auto r = set_wait_mask(ctx.thread, ctx.mem(), ctx.arg(4), ctx.arg(5)); r.is_error())
    return async_result(r.error());
  return wait_epoll(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), ms_to_ns(ctx.arg_int(3)));
}

// Implements Linux epoll_pwait2(2): a timespec timeout (null: forever).
Coro<ErrorOr<int64_t>> sys_epoll_pwait2(SyscallContext& ctx) {
  auto timeout = read_timeout_ns(ctx.mem(), ctx.arg(3));
  if (timeout.is_error()) return async_result(timeout.error());
  if (auto r = set_wait_mask(ctx.thread, ctx.mem(), ctx.arg(4), ctx.arg(5)); r.is_error())
    return async_result(r.error());
  return wait_epoll(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg_int(2), timeout.value());
}

}  // namespace moat
