#include "fs/fifo.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <coroutine>
#include <mutex>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "fs/host_fs.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

struct FifoState {
  std::mutex lock;
  // Guarded by lock.
  UniqueFd inode;  // O_PATH fd of the host pipe; made at the first open
  int readers = 0, writers = 0;  // live guest descriptions (O_RDWR counts as both)
  uint64_t reader_opens = 0, writer_opens = 0;
  struct Waiter {
    std::coroutine_handle<> handle;
    bool done = false;
  };
  std::vector<std::shared_ptr<Waiter>> waiters;  // woken by every open

  void wake_locked() {
    for (auto& w : waiters)
      if (!w->done) {
        w->done = true;
        resume_later(w->handle);
      }
    waiters.clear();
  }
};

std::shared_ptr<FifoState> make_fifo_state() { return std::make_shared<FifoState>(); }

namespace {

// Suspends until the FIFO sees another open, or a signal.
struct OpenAwaiter {
  std::shared_ptr<FifoState> fifo;
  uint64_t FifoState::*counter;
  uint64_t seen;
  std::shared_ptr<FifoState::Waiter> waiter = std::make_shared<FifoState::Waiter>();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    {
      std::lock_guard lock(fifo->lock);
      if ((*fifo).*counter != seen) return false;  // it came meanwhile
      waiter->handle = h;
      fifo->waiters.push_back(waiter);
    }
    on_interrupt([f = fifo, w = waiter] {
      std::lock_guard lock(f->lock);
      if (w->done) return;
      w->done = true;
      std::erase(f->waiters, w);
      resume_later(w->handle);
    });
    return true;
  }
  void await_resume() const noexcept {}
};

class FifoFile final : public File {
 public:
  FifoFile(Location loc, int flags, std::shared_ptr<FifoState> fifo, UniqueFd fd)
      : File(std::move(loc), flags), m_fifo(std::move(fifo)), m_fd(std::move(fd)) {}
  ~FifoFile() override {
    std::lock_guard lock(m_fifo->lock);
    int acc = flags() & O_ACCMODE;
    if (acc != O_WRONLY) --m_fifo->readers;
    if (acc != O_RDONLY) --m_fifo->writers;
  }

  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t) override;
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override {
    if (request != FIONREAD) return Errno::NOTTY;
    int n = 0;
    if (::ioctl(m_fd.get(), FIONREAD, &n) < 0) return last_host_errno();
    TRY(process.mem().write(arg, &n, sizeof n));
    return 0;
  }
  bool is_stream() const override { return true; }
  int poll_host_fd() const override { return m_fd.get(); }
  int pipe_host_fd() const override { return m_fd.get(); }

  // A blocking open's wait for the other side (in open(2), or before the
  // first I/O): the open count of that side to pass.
  uint64_t FifoState::*m_wait_counter = nullptr;
  uint64_t m_wait_seen = 0;
  Coro<ErrorOr<void>> wait_for_partner();

 private:
  Coro<ErrorOr<void>> wait_ready(short events);

  std::shared_ptr<FifoState> m_fifo;
  UniqueFd m_fd;  // non-blocking host end
};

Coro<ErrorOr<void>> FifoFile::wait_for_partner() {
  if (!m_wait_counter) co_return ErrorOr<void>{};
  if (!nonblocking()) {
    OpenAwaiter wait{m_fifo, m_wait_counter, m_wait_seen};  // named: GCC 12 destroys co_await temporaries twice
    co_await wait;
    std::lock_guard lock(m_fifo->lock);
    if ((*m_fifo).*m_wait_counter == m_wait_seen) co_return Errno::RestartSys;  // a signal
  }
  m_wait_counter = nullptr;
  co_return ErrorOr<void>{};
}

Coro<ErrorOr<void>> FifoFile::wait_ready(short events) {
  int fd = m_fd.get();
  int32_t r = co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, events); });
  if (r == -ECANCELED || r == -EINTR) co_return Errno::RestartSys;
  if (r < 0) co_return errno_from_host(-r);
  co_return ErrorOr<void>{};
}

Coro<ErrorOr<size_t>> FifoFile::read(std::span<std::byte> buf, int64_t) {
  CO_TRY(co_await wait_for_partner());
  for (;;) {
    ssize_t n = ::read(m_fd.get(), buf.data(), buf.size());
    if (n >= 0) co_return static_cast<size_t>(n);  // 0: no writer left
    if (errno != EAGAIN) co_return last_host_errno();
    if (nonblocking()) co_return Errno::AGAIN;
    CO_TRY(co_await wait_ready(POLLIN));
  }
}

Coro<ErrorOr<size_t>> FifoFile::write(std::span<const std::byte> buf, int64_t) {
  CO_TRY(co_await wait_for_partner());
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(m_fd.get(), buf.data() + done, buf.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN) {
      if (done > 0) break;
      co_return last_host_errno();  // EPIPE: the dispatcher raises SIGPIPE
    }
    if (nonblocking()) {
      if (done > 0) break;
      co_return Errno::AGAIN;
    }
    auto waited = co_await wait_ready(POLLOUT);
    if (waited.is_error()) {
      if (done > 0) break;  // a partial write stands
      co_return waited.error();
    }
  }
  co_return done;
}

// open(2) of the FIFO, without a blocking open's wait.
ErrorOr<RefPtr<File>> open_fifo_now(const std::shared_ptr<FifoState>& fifo, const Location& loc, int flags) {
  std::lock_guard lock(fifo->lock);
  if (!fifo->inode) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return last_host_errno();
    UniqueFd r(fds[0]), w(fds[1]);
    std::string path = "/proc/self/fd/" + std::to_string(r.get());
    fifo->inode = UniqueFd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fifo->inode) return last_host_errno();
  }
  int acc = flags & O_ACCMODE;
  bool blocking = !(flags & O_NONBLOCK);
  // fifo_open(): a non-blocking writer needs a reader already there.
  if (acc == O_WRONLY && !blocking && fifo->readers == 0) return Errno::NXIO;
  int host_acc = acc == O_RDWR ? O_RDWR : acc == O_WRONLY ? O_WRONLY : O_RDONLY;
  std::string path = "/proc/self/fd/" + std::to_string(fifo->inode.get());
  UniqueFd fd(::open(path.c_str(), host_acc | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return last_host_errno();
  auto* file = new FifoFile(loc, flags, fifo, std::move(fd));
  if (host_acc != O_WRONLY) {
    if (blocking && host_acc == O_RDONLY && fifo->writers == 0) {
      file->m_wait_counter = &FifoState::writer_opens;
      file->m_wait_seen = fifo->writer_opens;
    }
    ++fifo->readers;
    ++fifo->reader_opens;
  }
  if (host_acc != O_RDONLY) {
    if (blocking && host_acc == O_WRONLY && fifo->readers == 0) {
      file->m_wait_counter = &FifoState::reader_opens;
      file->m_wait_seen = fifo->reader_opens;
    }
    ++fifo->writers;
    ++fifo->writer_opens;
  }
  fifo->wake_locked();
  return RefPtr<File>::adopt(file);
}

}  // namespace

ErrorOr<RefPtr<File>> open_fifo(const std::shared_ptr<FifoState>& fifo, const Location& loc, int flags) {
  HostFetch* fetch = HostFetch::current();
  if (fetch)
    if (auto waited = fetch->take_wait(fifo.get())) return std::move(*waited);
  RefPtr<File> file = TRY(open_fifo_now(fifo, loc, flags));
  // A blocking open waits for the other side in open(2), as on Linux: the
  // handler leaves the wait to the dispatcher and, run again, takes this
  // description. Where it cannot (a handler that changed the tree), the
  // wait comes with the first read or write.
  auto* opened = static_cast<FifoFile*>(file.ptr());
  if (fetch && opened->m_wait_counter &&
      fetch->defer_wait(fifo.get(), file, [f = RefPtr<File>(file)] { return static_cast<FifoFile*>(f.ptr())->wait_for_partner(); }))
    return Errno::FetchHost;
  return file;
}

}  // namespace moat::fs
