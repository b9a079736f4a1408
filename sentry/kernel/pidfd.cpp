#include "sentry/kernel/pidfd.h"

#include <sys/eventfd.h>
#include <sys/stat.h>

#include "fs/host_fd_file.h"
#include "sentry/kernel/process.h"

namespace moat {

void ExitNotifier::fire() {
  if (fired) return;
  fired = true;
  uint64_t one = 1;
  // An eventfd write of 1 cannot block or fail short of overflow.
  [[maybe_unused]] ssize_t n = ::write(eventfd.get(), &one, sizeof one);
}

ErrorOr<RefPtr<fs::File>> PidFdFile::create(Process& target, int flags) {
  if (!target.exit_notifier) {
    auto notifier = std::make_shared<ExitNotifier>();
    notifier->eventfd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!notifier->eventfd) return last_host_errno();
    if (target.zombie) notifier->fire();
    target.exit_notifier = std::move(notifier);
  }
  fs::Location loc;
  loc.entries.push_back(fs::PathEntry{"anon_inode:[pidfd]", make_ref<fs::AnonNode>(S_IFREG)});
  loc.anonymous = true;
  return RefPtr<fs::File>::adopt(new PidFdFile(std::move(loc), O_RDWR | flags, target.pid(), target.exit_notifier));
}

Coro<ErrorOr<size_t>> PidFdFile::read(std::span<std::byte>, int64_t) { co_return Errno::INVAL; }

void notify_pidfds(Process& p) {
  if (p.exit_notifier) p.exit_notifier->fire();
}

}  // namespace moat

#include "fs/fd_table.h"

namespace moat {

ErrorOr<pid_t> pidfd_pid(Process& caller, int fd) {
  RefPtr<fs::File> file = TRY(caller.fds().get(fd));
  auto* pidfd = dynamic_cast<PidFdFile*>(file.ptr());
  if (!pidfd) return Errno::BADF;
  return pidfd->pid();
}

}  // namespace moat
