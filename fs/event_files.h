#pragma once
// Event files: eventfd(2), timerfd_create(2), signalfd(2) and the epoll(7)
// instance itself.
//
// eventfd, timerfd and epoll are host objects of the same kind, held by the
// sentry. The host eventfd and timerfd are O_NONBLOCK, so a read or write is
// one host syscall that never blocks a worker; a blocking guest call waits
// for readiness with an io_uring poll that a signal cancels. poll, select and
// epoll watch the host fd itself (poll_host_fd).
//
// A signalfd is a sentry file: reads dequeue from the reader's SignalQueues
// (Thread::pending, Process::pending). Its readiness for poll and epoll is an
// internal host eventfd, set while a signal of its mask is pending for the
// thread that made it (or its process) and cleared when none is. send_signal
// pokes it (SignalFdPoke); poll and epoll_wait bring every signalfd of the
// sandbox up to date before they look (refresh_signalfds), since delivery and
// sigtimedwait take signals without telling it.
//
// Ownership: the fd table holds the Files; a SignalFdFile and the registry
// (a list of weak pointers, event_files.cpp) share its SignalFdState. The
// registry's lock is a leaf: nothing else is taken while it is held, and no
// signalfd is updated under it.

#include <sys/epoll.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <coroutine>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "fs/file.h"

namespace moat {
class Process;
class Sandbox;
class Thread;
}  // namespace moat

namespace moat::fs {

// What eventfd and timerfd have in common: a host fd holding a counter that
// a read takes as 8 bytes.
class CounterFile : public File {
 public:
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t offset) override;
  ErrorOr<struct stat> stat() const override;
  // noop_llseek: the position stays 0; pread and pwrite are ESPIPE.
  ErrorOr<int64_t> lseek(int64_t, int) override { return 0; }
  int poll_host_fd() const override { return m_fd.get(); }
  std::string path() const override { return m_name; }
  int host_fd() const { return m_fd.get(); }

 protected:
  CounterFile(Location loc, int flags, UniqueFd fd, std::string name)
      : File(std::move(loc), flags), m_fd(std::move(fd)), m_name(std::move(name)) {}
  static Location anon_location(const std::string& name, mode_t mode);

 private:
  UniqueFd m_fd;
  std::string m_name;
};

class EventFdFile final : public CounterFile {
 public:
  // flags: EFD_SEMAPHORE, EFD_NONBLOCK (EFD_CLOEXEC is the fd table's).
  static ErrorOr<RefPtr<File>> create(unsigned initval, int flags);

 private:
  using CounterFile::CounterFile;
};

class TimerFdFile final : public CounterFile {
 public:
  // EINVAL for clocks a timerfd cannot use; flags: TFD_NONBLOCK.
  static ErrorOr<RefPtr<File>> create(int clock, int flags);
  ErrorOr<itimerspec> settime(int flags, const itimerspec& value);
  ErrorOr<itimerspec> gettime() const;

 private:
  using CounterFile::CounterFile;
};

// An epoll instance: a host epoll fd. Guest files join it by their
// poll_host_fd (sentry/syscalls/epoll.cpp).
class EpollFile final : public File {
 public:
  static ErrorOr<RefPtr<File>> create();
  int host_fd() const { return m_fd.get(); }
  int poll_host_fd() const override { return m_fd.get(); }
  ErrorOr<struct stat> stat() const override;
  std::string path() const override { return "anon_inode:[eventpoll]"; }
  // epoll_ctl(2) of `target` as guest fd `guest_fd`: entries are keyed by
  // (description, guest fd) as in Linux (File::EpollLink). The caller has
  // checked that target can be polled.
  ErrorOr<void> ctl(int op, File& target, int guest_fd, epoll_event* ev);
  // At least the number of entries, so the most events one wait can return:
  // entries added less those deleted (the host drops an entry silently when
  // its file is released, so this may be more).
  size_t entry_bound() const { return m_entries.load(std::memory_order_relaxed); }

 private:
  EpollFile(Location loc, UniqueFd fd);
  UniqueFd m_fd;
  uint64_t m_id;  // never reused, unlike the object's address
  std::atomic<size_t> m_entries{0};
};

struct SignalFdState;

class SignalFdFile final : public File {
 public:
  // owner: the thread whose pending signals (and its process's) make the
  // file readable. mask: the signals it reports (KILL and STOP dropped).
  static ErrorOr<RefPtr<File>> create(Thread& owner, uint64_t mask, int flags);
  ~SignalFdFile() override;
  // signalfd4 on an existing signalfd.
  void set_mask(uint64_t mask);
  // Takes pending signals of the mask from the calling thread, as struct
  // signalfd_siginfo records; waits for one unless O_NONBLOCK.
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  ErrorOr<int64_t> lseek(int64_t, int) override { return 0; }
  // Refreshes the readiness first: a signal may have gone since.
  int poll_host_fd() const override;
  std::string path() const override { return "anon_inode:[signalfd]"; }

 private:
  SignalFdFile(Location loc, int flags, std::shared_ptr<SignalFdState> state)
      : File(std::move(loc), flags), m_state(std::move(state)) {}
  std::shared_ptr<SignalFdState> m_state;
};

}  // namespace moat::fs

namespace moat {

// Declared first in send_signal: when it goes out of scope, the signalfds
// made by threads of the process see what is now pending (readiness, and
// blocked readers re-check). Keeps only the sandbox and pid, so it is safe
// whatever became of the process meanwhile.
class SignalFdPoke {
 public:
  explicit SignalFdPoke(Process& p);
  ~SignalFdPoke();
  SignalFdPoke(const SignalFdPoke&) = delete;
  SignalFdPoke& operator=(const SignalFdPoke&) = delete;

 private:
  Sandbox* m_sandbox;
  pid_t m_pid;
};

// Brings the readiness of every signalfd of the sandbox up to date.
void refresh_signalfds(Sandbox& sandbox);

}  // namespace moat
