// read(2), write(2) and their positional and vectored forms.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/inotify.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr size_t kChunk = 1 << 20;           // sentry bounce buffer per host call
constexpr size_t kMaxRwCount = 0x7ffff000;   // MAX_RW_COUNT (INT_MAX & PAGE_MASK)
constexpr int kIovMax = 1024;                // UIO_MAXIOV

struct Segment {
  uint64_t base;
  size_t len;
};

// The partial-transfer rule, in one place (gVisor error.go, Linux
// rw_verify_area callers): once bytes have moved, a later error (EFAULT,
// EPIPE, EAGAIN, EINTR) ends the call with the count; with nothing moved, the
// error itself is returned.
ErrorOr<int64_t> settle(size_t done, Errno e) {
  if (done > 0) return static_cast<int64_t>(done);
  return e;
}

// Clamps the total to MAX_RW_COUNT like rw_copy_check_uvector + rw_verify_area.
void clamp_total(std::vector<Segment>& segs) {
  size_t total = 0;
  for (auto& s : segs) {
    s.len = std::min(s.len, kMaxRwCount - total);
    total += s.len;
  }
}

ErrorOr<std::vector<Segment>> read_iovecs(const UserMemory& mem, uint64_t addr, int64_t count) {
  if (count < 0 || count > kIovMax) return Errno::INVAL;
  std::vector<struct iovec> raw(static_cast<size_t>(count));
  if (count) TRY(mem.read(addr, raw.data(), raw.size() * sizeof(struct iovec)));
  std::vector<Segment> segs;
  uint64_t total = 0;
  for (const auto& v : raw) {
    auto len = static_cast<int64_t>(v.iov_len);
    if (len < 0) return Errno::INVAL;
    total += static_cast<uint64_t>(len);
    if (total > static_cast<uint64_t>(INT64_MAX)) return Errno::INVAL;
    segs.push_back(Segment{reinterpret_cast<uint64_t>(v.iov_base), static_cast<size_t>(len)});
  }
  clamp_total(segs);
  return segs;
}

// Reads into the guest segments. offset -1 uses the file position. A stream
// (pipe, tty) is read once: a second read could block after data arrived.
Coro<ErrorOr<int64_t>> transfer_in(const UserMemory& mem, fs::File& file, std::vector<Segment> segs, int64_t offset) {
  size_t want = 0;
  for (auto& s : segs) want += s.len;
  if (want == 0) {
    auto r = co_await file.read({}, offset);
    if (r.is_error()) co_return r.error();
    co_return int64_t{0};
  }
  // A stream cannot give data back: probe the first destination byte so a bad
  // buffer fails before anything is consumed (pipe_read leaves the data).
  // FIXME: a buffer that turns bad further on still loses the bytes past it.
  if (file.is_stream()) {
    const Segment& first = *std::find_if(segs.begin(), segs.end(), [](const Segment& s) { return s.len > 0; });
    std::byte probe{};
    if (mem.read_partial(first.base, &probe, 1) != 1 || mem.write_partial(first.base, &probe, 1) != 1)
      co_return Errno::FAULT;
  }
  std::vector<std::byte> buf(std::min(want, kChunk));
  size_t done = 0, seg = 0, seg_off = 0;
  while (done < want) {
    size_t n = std::min(want - done, kChunk);
    auto r = co_await file.read(std::span(buf.data(), n), offset < 0 ? -1 : offset + static_cast<int64_t>(done));
    if (r.is_error()) co_return settle(done, r.error());
    size_t got = r.value();
    // Scatter into the segments.
    for (size_t copied = 0; copied < got;) {
      while (seg_off == segs[seg].len) ++seg, seg_off = 0;
      size_t piece = std::min(got - copied, segs[seg].len - seg_off);
      size_t w = mem.write_partial(segs[seg].base + seg_off, buf.data() + copied, piece);
      done += w;
      copied += w;
      seg_off += w;
      if (w < piece) {
        // The file position covers only what reached the guest (Linux copies
        // before it advances f_pos).
        if (offset < 0 && !file.is_stream()) (void)file.lseek(-static_cast<int64_t>(got - copied), SEEK_CUR);
        co_return settle(done, Errno::FAULT);
      }
    }
    if (got < n || file.is_stream()) break;
  }
  co_return static_cast<int64_t>(done);
}

// Writes the guest segments. A blocking stream write keeps going until all
// bytes are written (pipe_write); a non-blocking one stops at the first short
// write.
Coro<ErrorOr<int64_t>> transfer_out(Thread& thread, const UserMemory& mem, fs::File& file, std::vector<Segment> segs,
                                    int64_t offset) {
  size_t want = 0;
  for (auto& s : segs) want += s.len;
  if (want == 0) {
    auto r = co_await file.write({}, offset);
    if (r.is_error()) co_return r.error();
    co_return int64_t{0};
  }
  std::vector<std::byte> buf(std::min(want, kChunk));
  size_t done = 0, seg = 0, seg_off = 0;
  fs::ModifyNotifier notify(file, done);  // IN_MODIFY once something was written
  while (done < want) {
    // Gather up to one chunk; a fault ends the gathering.
    size_t n = 0;
    bool fault = false;
    while (n < buf.size() && seg < segs.size()) {
      if (seg_off == segs[seg].len) {
        ++seg, seg_off = 0;
        continue;
      }
      size_t piece = std::min(buf.size() - n, segs[seg].len - seg_off);
      size_t r = mem.read_partial(segs[seg].base + seg_off, buf.data() + n, piece);
      n += r;
      seg_off += r;
      if (r < piece) {
        fault = true;
        break;
      }
    }
    for (size_t written = 0; written < n;) {
      // A signal ends a blocking write that has moved bytes with their
      // count (pipe_write). Only the call's first wait is interruptible by
      // itself (interrupt.h), so every write here names the thread.
      if (done > 0 && thread.interrupted) co_return static_cast<int64_t>(done);
      auto r = co_await start_interruptible(
          thread, file.write(std::span<const std::byte>(buf.data() + written, n - written),
                             offset < 0 ? -1 : offset + static_cast<int64_t>(done)));
      if (r.is_error()) co_return settle(done, r.error());
      size_t w = r.value();
      done += w;
      written += w;
      bool blocking_stream = file.is_stream() && !file.nonblocking();
      if (w == 0 || (written < n && !blocking_stream)) co_return static_cast<int64_t>(done);
    }
    if (fault) co_return settle(done, Errno::FAULT);
  }
  co_return static_cast<int64_t>(done);
}

ErrorOr<RefPtr<fs::File>> readable_file(SyscallContext& ctx, int fd) {
  auto file = TRY(ctx.process().fds().get(fd));
  if (!file->readable()) return Errno::BADF;
  return file;
}

ErrorOr<RefPtr<fs::File>> writable_file(SyscallContext& ctx, int fd) {
  auto file = TRY(ctx.process().fds().get(fd));
  if (!file->writable()) return Errno::BADF;
  return file;
}

// pread/pwrite: a negative offset is EINVAL, a stream ESPIPE.
ErrorOr<void> check_positional(const fs::File& file, int64_t offset) {
  if (offset < 0) return Errno::INVAL;
  if (file.is_stream()) return Errno::SPIPE;
  return {};
}

}  // namespace

// Implements Linux read(2).
Coro<ErrorOr<int64_t>> sys_read(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, readable_file(ctx, ctx.arg_int(0)));
  std::vector<Segment> segs{{ctx.arg(1), std::min<uint64_t>(ctx.arg(2), kMaxRwCount)}};
  co_return co_await transfer_in(ctx.mem(), *file, std::move(segs), -1);
}

// Implements Linux write(2).
Coro<ErrorOr<int64_t>> sys_write(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, writable_file(ctx, ctx.arg_int(0)));
  std::vector<Segment> segs{{ctx.arg(1), std::min<uint64_t>(ctx.arg(2), kMaxRwCount)}};
  co_return co_await transfer_out(ctx.thread, ctx.mem(), *file, std::move(segs), -1);
}

// Implements Linux pread64(2).
Coro<ErrorOr<int64_t>> sys_pread64(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, readable_file(ctx, ctx.arg_int(0)));
  auto offset = static_cast<int64_t>(ctx.arg(3));
  CO_TRY(check_positional(*file, offset));
  std::vector<Segment> segs{{ctx.arg(1), std::min<uint64_t>(ctx.arg(2), kMaxRwCount)}};
  co_return co_await transfer_in(ctx.mem(), *file, std::move(segs), offset);
}

// Implements Linux pwrite64(2).
Coro<ErrorOr<int64_t>> sys_pwrite64(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, writable_file(ctx, ctx.arg_int(0)));
  auto offset = static_cast<int64_t>(ctx.arg(3));
  CO_TRY(check_positional(*file, offset));
  std::vector<Segment> segs{{ctx.arg(1), std::min<uint64_t>(ctx.arg(2), kMaxRwCount)}};
  co_return co_await transfer_out(ctx.thread, ctx.mem(), *file, std::move(segs), offset);
}

// Implements Linux readv(2).
Coro<ErrorOr<int64_t>> sys_readv(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, readable_file(ctx, ctx.arg_int(0)));
  CO_TRY_ASSIGN(auto segs, read_iovecs(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  co_return co_await transfer_in(ctx.mem(), *file, std::move(segs), -1);
}

// Implements Linux writev(2).
Coro<ErrorOr<int64_t>> sys_writev(SyscallContext& ctx) {
  CO_TRY_ASSIGN(auto file, writable_file(ctx, ctx.arg_int(0)));
  CO_TRY_ASSIGN(auto segs, read_iovecs(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  co_return co_await transfer_out(ctx.thread, ctx.mem(), *file, std::move(segs), -1);
}

// Implements Linux lseek(2).
ErrorOr<int64_t> sys_lseek(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  int whence = ctx.arg_int(2);
  if (whence < SEEK_SET || whence > SEEK_HOLE) return Errno::INVAL;
  return file->lseek(static_cast<int64_t>(ctx.arg(1)), whence);
}

}  // namespace moat

namespace moat {

namespace {

// RWF_* (linux/fs.h): what preadv2/pwritev2 take on this kernel.
constexpr uint64_t kRwfHipri = 0x1, kRwfDsync = 0x2, kRwfSync = 0x4, kRwfNowait = 0x8, kRwfAppend = 0x10,
                   kRwfNoappend = 0x20, kRwfAtomic = 0x40, kRwfDontcache = 0x80;
constexpr uint64_t kRwfKnown =
    kRwfHipri | kRwfDsync | kRwfSync | kRwfNowait | kRwfAppend | kRwfNoappend | kRwfAtomic | kRwfDontcache;

// kiocb_set_rw_flags(): unknown flags and what our files cannot honour are
// EOPNOTSUPP. Synchronous-completion hints need nothing (sentry files are
// memory or read-only host files); RWF_NOWAIT is honoured by files that never
// block (regular files) and refused on streams.
ErrorOr<void> check_rw_flags(const fs::File& file, uint64_t flags) {
  if (flags & ~kRwfKnown) return Errno::NOTSUP;
  if (flags & (kRwfAtomic | kRwfDontcache)) return Errno::NOTSUP;
  if ((flags & kRwfNowait) && file.is_stream()) return Errno::NOTSUP;
  return {};
}

// preadv/pwritev: the offset is one 64-bit register on x86-64 (pos_h is
// shifted out entirely); negative is EINVAL, a stream ESPIPE.
Coro<ErrorOr<int64_t>> vectored(SyscallContext& ctx, bool write, int64_t offset, uint64_t flags) {
  CO_TRY_ASSIGN(auto file, write ? writable_file(ctx, ctx.arg_int(0)) : readable_file(ctx, ctx.arg_int(0)));
  CO_TRY_ASSIGN(auto segs, read_iovecs(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  CO_TRY(check_rw_flags(*file, flags));
  if (offset != -1) CO_TRY(check_positional(*file, offset));
  if (write && (flags & kRwfAppend) && !file->is_stream()) {
    // RWF_APPEND writes at the end of the file, whatever the offset.
    CO_TRY_ASSIGN(struct stat st, file->stat());
    offset = st.st_size;
  }
  if (write) co_return co_await transfer_out(ctx.thread, ctx.mem(), *file, std::move(segs), offset);
  co_return co_await transfer_in(ctx.mem(), *file, std::move(segs), offset);
}

}  // namespace

// Implements Linux preadv(2).
Coro<ErrorOr<int64_t>> sys_preadv(SyscallContext& ctx) {
  auto offset = static_cast<int64_t>(ctx.arg(3));
  if (offset < 0) return async_result(Errno::INVAL);
  return vectored(ctx, false, offset, 0);
}

// Implements Linux pwritev(2).
Coro<ErrorOr<int64_t>> sys_pwritev(SyscallContext& ctx) {
  auto offset = static_cast<int64_t>(ctx.arg(3));
  if (offset < 0) return async_result(Errno::INVAL);
  return vectored(ctx, true, offset, 0);
}

// Implements Linux preadv2(2): offset -1 reads at the file position (readv).
Coro<ErrorOr<int64_t>> sys_preadv2(SyscallContext& ctx) {
  auto offset = static_cast<int64_t>(ctx.arg(3));
  if (offset < -1) return async_result(Errno::INVAL);
  return vectored(ctx, false, offset, ctx.arg(5));
}

// Implements Linux pwritev2(2): offset -1 writes at the file position.
Coro<ErrorOr<int64_t>> sys_pwritev2(SyscallContext& ctx) {
  auto offset = static_cast<int64_t>(ctx.arg(3));
  if (offset < -1) return async_result(Errno::INVAL);
  return vectored(ctx, true, offset, ctx.arg(5));
}

// Implements Linux fadvise64(2) (generic_fadvise): advice is checked and
// otherwise has no effect; a FIFO or pipe is ESPIPE, a negative length EINVAL.
ErrorOr<int64_t> sys_fadvise64(SyscallContext& ctx) {
  auto file = TRY(ctx.process().fds().get(ctx.arg_int(0)));
  if (file->flags() & O_PATH) return Errno::BADF;
  struct stat st = TRY(file->stat());
  if (S_ISFIFO(st.st_mode)) return Errno::SPIPE;
  auto len = static_cast<int64_t>(ctx.arg(2));
  int advice = ctx.arg_int(3);
  if (len < 0 || advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE) return Errno::INVAL;
  return 0;
}

// Implements Linux readahead(2): a readable regular file, else EBADF or
// EINVAL; the sentry's files need no read-ahead.
ErrorOr<int64_t> sys_readahead(SyscallContext& ctx) {
  auto file = TRY(readable_file(ctx, ctx.arg_int(0)));
  struct stat st = TRY(file->stat());
  if (!S_ISREG(st.st_mode)) return Errno::INVAL;
  return 0;
}

// Implements Linux vmsplice(2) by copying: user memory into a pipe opened
// for writing, or out of one opened for reading, as writev and readv of the
// pipe would (SPLICE_F_GIFT is a hint Linux may ignore too). With
// SPLICE_F_NONBLOCK an empty (or full) pipe is EAGAIN; FIXME: a write larger
// than the pipe's room may still wait for the rest.
Coro<ErrorOr<int64_t>> sys_vmsplice(SyscallContext& ctx) {
  auto flags = static_cast<unsigned>(ctx.arg(3));
  if (flags & ~static_cast<unsigned>(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
    co_return Errno::INVAL;
  CO_TRY_ASSIGN(auto file, ctx.process().fds().get(ctx.arg_int(0)));
  int pipe_fd = file->pipe_host_fd();
  if (pipe_fd < 0) co_return Errno::BADF;
  bool write = file->writable();
  if (!write && !file->readable()) co_return Errno::BADF;
  CO_TRY_ASSIGN(auto segs, read_iovecs(ctx.mem(), ctx.arg(1), ctx.arg_int(2)));
  if (flags & SPLICE_F_NONBLOCK) {
    struct pollfd p {pipe_fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, 0) < 0) co_return last_host_errno();
    if (!(p.revents & (write ? POLLOUT : POLLIN | POLLHUP))) co_return Errno::AGAIN;
  }
  if (write) co_return co_await transfer_out(ctx.thread, ctx.mem(), *file, std::move(segs), -1);
  co_return co_await transfer_in(ctx.mem(), *file, std::move(segs), -1);
}

}  // namespace moat
