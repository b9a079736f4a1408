#pragma once
// pidfds (pidfd_open(2)): a file that refers to a guest process. It polls
// readable once the process has exited; pidfd_send_signal and
// waitid(P_PIDFD) find the process through it. Guest pids are never reused in
// a sandbox, so the pid alone names the process for the file's lifetime.

#include <sys/types.h>

#include <memory>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "base/unique_fd.h"
#include "fs/file.h"

namespace moat {

class Process;

// The host eventfd that every pidfd of a process polls; written once when
// the process exits. Shared by the process and its pidfds.
struct ExitNotifier {
  UniqueFd eventfd;
  bool fired = false;
  void fire();
};

class PidFdFile final : public fs::File {
 public:
  static ErrorOr<RefPtr<fs::File>> create(Process& target, int flags);
  pid_t pid() const { return m_pid; }
  int poll_host_fd() const override { return m_notifier->eventfd.get(); }
  Coro<ErrorOr<size_t>> read(std::span<std::byte>, int64_t) override;
  std::string path() const override { return "anon_inode:[pidfd]"; }

 private:
  PidFdFile(fs::Location loc, int flags, pid_t pid, std::shared_ptr<ExitNotifier> notifier)
      : File(std::move(loc), flags), m_pid(pid), m_notifier(std::move(notifier)) {}
  pid_t m_pid;
  std::shared_ptr<ExitNotifier> m_notifier;
};

// Tells p's pidfds that it exited (process_exited calls it).
void notify_pidfds(Process& p);

}  // namespace moat

namespace moat {

// The pid a guest fd's pidfd refers to: EBADF when fd is not a pidfd.
ErrorOr<pid_t> pidfd_pid(Process& caller, int fd);

}  // namespace moat
