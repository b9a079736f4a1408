// eventfd, timerfd and signalfd: creating the files (fs/event_files.h) and
// the calls on them.

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "fs/event_files.h"
#include "fs/fd_table.h"
#include "sentry/kernel/signals.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr int kCapWakeAlarm = 35;  // CAP_WAKE_ALARM

ErrorOr<int64_t> install(SyscallContext& ctx, ErrorOr<RefPtr<fs::File>> file, bool cloexec) {
  if (file.is_error()) return file.error();
  return TRY(ctx.process().fds().allocate(file.value(), cloexec, 0, fs::nofile_limit(ctx.process())));
}

ErrorOr<int64_t> create_eventfd(SyscallContext& ctx, unsigned initval, int flags) {
  if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) return Errno::INVAL;
  return install(ctx, fs::EventFdFile::create(initval, flags), flags & EFD_CLOEXEC);
}

ErrorOr<fs::TimerFdFile*> timerfd_of(const RefPtr<fs::File>& file) {
  auto* timer = dynamic_cast<fs::TimerFdFile*>(file.ptr());
  if (!timer) return Errno::INVAL;
  return timer;
}

ErrorOr<int64_t> do_signalfd4(SyscallContext& ctx, int fd, uint64_t mask_addr, uint64_t size, int flags) {
  if (size != sizeof(uint64_t)) return Errno::INVAL;
  uint64_t mask = TRY(ctx.mem().read_obj(UserPtr<uint64_t>(mask_addr)));
  if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) return Errno::INVAL;
  if (fd == -1) return install(ctx, fs::SignalFdFile::create(ctx.thread, mask, flags), flags & SFD_CLOEXEC);
  // An existing signalfd gets the new mask; the flags are ignored.
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(fd));
  auto* sfd = dynamic_cast<fs::SignalFdFile*>(file.ptr());
  if (!sfd) return Errno::INVAL;
  sfd->set_mask(mask);
  return fd;
}

}  // namespace

// Implements Linux eventfd(2) (the original call, without flags).
ErrorOr<int64_t> sys_eventfd(SyscallContext& ctx) { return create_eventfd(ctx, static_cast<unsigned>(ctx.arg(0)), 0); }

// Implements Linux eventfd2(2).
ErrorOr<int64_t> sys_eventfd2(SyscallContext& ctx) {
  return create_eventfd(ctx, static_cast<unsigned>(ctx.arg(0)), ctx.arg_int(1));
}

// Implements Linux timerfd_create(2).
ErrorOr<int64_t> sys_timerfd_create(SyscallContext& ctx) {
  int clock = ctx.arg_int(0), flags = ctx.arg_int(1);
  if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) return Errno::INVAL;
  if ((clock == CLOCK_REALTIME_ALARM || clock == CLOCK_BOOTTIME_ALARM) &&
      !(ctx.process().creds.cap_effective & (1ULL << kCapWakeAlarm)))
    return Errno::PERM;
  return install(ctx, fs::TimerFdFile::create(clock, flags), flags & TFD_CLOEXEC);
}

// Implements Linux timerfd_settime(2).
ErrorOr<int64_t> sys_timerfd_settime(SyscallContext& ctx) {
  itimerspec value = TRY(ctx.mem().read_obj(UserPtr<itimerspec>(ctx.arg(2))));
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  fs::TimerFdFile* timer = TRY(timerfd_of(file));
  itimerspec old = TRY(timer->settime(ctx.arg_int(1), value));
  if (ctx.arg(3)) TRY(ctx.mem().write_obj(UserPtr<itimerspec>(ctx.arg(3)), old));
  return 0;
}

// Implements Linux timerfd_gettime(2).
ErrorOr<int64_t> sys_timerfd_gettime(SyscallContext& ctx) {
  RefPtr<fs::File> file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  fs::TimerFdFile* timer = TRY(timerfd_of(file));
  itimerspec cur = TRY(timer->gettime());
  TRY(ctx.mem().write_obj(UserPtr<itimerspec>(ctx.arg(1)), cur));
  return 0;
}

// Implements Linux signalfd(2) (the original call, without flags).
ErrorOr<int64_t> sys_signalfd(SyscallContext& ctx) { return do_signalfd4(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), 0); }

// Implements Linux signalfd4(2).
ErrorOr<int64_t> sys_signalfd4(SyscallContext& ctx) {
  return do_signalfd4(ctx, ctx.arg_int(0), ctx.arg(1), ctx.arg(2), ctx.arg_int(3));
}

}  // namespace moat
