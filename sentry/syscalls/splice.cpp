// Moving data between files without guest buffers: sendfile(2), splice(2),
// tee(2), copy_file_range(2).
//
// Pipes (and FIFOs) are host pipes: pipe-to-pipe splice and tee are the host
// calls on their host fds. Everything else is a loop through a sentry buffer
// over the files' own read and write, which keeps each filesystem's rules
// (tmpfs times, overlay copy-up, seals). A pipe on the writing side is only
// given what its buffer has room for, so the loop never reads data it could
// not write.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "sentry/kernel/host_fd_wait.h"
#include "sentry/kernel/process.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr size_t kMaxRwCount = 0x7ffff000;  // MAX_RW_COUNT
constexpr size_t kChunk = 128 * 1024;
constexpr unsigned kSpliceAll = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

bool is_pipe(const fs::File& f) { return f.pipe_host_fd() >= 0; }

// Once bytes moved, a later error ends the call with the count.
ErrorOr<int64_t> settle(size_t done, Errno e) {
  if (done > 0) return static_cast<int64_t>(done);
  return e;
}

// Reads an loff_t the guest passes by pointer (0: none).
ErrorOr<std::optional<int64_t>> read_offset(SyscallContext& ctx, uint64_t addr) {
  if (!addr) return std::optional<int64_t>{};
  int64_t v = TRY(ctx.mem().read_obj(UserPtr<int64_t>(addr)));
  return std::optional<int64_t>{v};
}

ErrorOr<void> write_offset(SyscallContext& ctx, uint64_t addr, const std::optional<int64_t>& v) {
  if (!addr || !v) return {};
  return ctx.mem().write_obj(UserPtr<int64_t>(addr), *v);
}

// Bytes a host pipe can take now (its size less what it holds).
size_t pipe_space(int fd) {
  int size = ::fcntl(fd, F_GETPIPE_SZ);
  int held = 0;
  if (size < 0 || ::ioctl(fd, FIONREAD, &held) < 0) return 0;
  return size > held ? static_cast<size_t>(size - held) : 0;
}

// Waits for a host fd to be ready; a signal for thread ends the wait (the
// call restarts).
Coro<ErrorOr<void>> wait_ready(Thread& thread, int fd, short events) {
  int32_t r = co_await wait_host_fd(fd, static_cast<unsigned>(events), -1, &thread);
  if (r == -ECANCELED || r == -EINTR || thread.interrupted) co_return Errno::RestartSys;
  if (r < 0) co_return errno_from_host(-r);
  co_return ErrorOr<void>{};
}

// A read of what a pipe holds now, never waiting: EAGAIN when it is empty
// and has writers, 0 when it is empty without any.
ErrorOr<size_t> pipe_read_now(int fd, std::span<std::byte> buf) {
  int held = 0;
  if (::ioctl(fd, FIONREAD, &held) < 0) return last_host_errno();
  if (held == 0) {
    struct pollfd p {fd, POLLIN, 0};
    if (::poll(&p, 1, 0) < 0) return last_host_errno();
    if ((p.revents & POLLHUP) && !(p.revents & POLLIN)) return size_t{0};
    return Errno::AGAIN;
  }
  ssize_t r = ::read(fd, buf.data(), std::min(buf.size(), static_cast<size_t>(held)));
  if (r < 0) return last_host_errno();
  return static_cast<size_t>(r);
}

enum class Blocking { Yes, No };

// Moves up to len bytes from in to out through a sentry buffer. in_off and
// out_off: explicit positions (advanced), or null for the file positions.
// A pipe on either side moves what is there or fits now; it waits only
// when nothing moved yet and the call may block.
Coro<ErrorOr<int64_t>> pump(Thread& thread, fs::File& in, std::optional<int64_t>* in_off, fs::File& out,
                            std::optional<int64_t>* out_off, size_t len, Blocking blocking) {
  len = std::min(len, kMaxRwCount);
  std::vector<std::byte> buf(std::min(len, kChunk));
  bool in_pipe = is_pipe(in), out_pipe = is_pipe(out);
  size_t done = 0;
  while (done < len) {
    size_t n = std::min(len - done, buf.size());
    if (out_pipe) {
      size_t space = pipe_space(out.pipe_host_fd());
      if (space == 0) {
        if (done > 0) break;
        if (blocking == Blocking::No) co_return Errno::AGAIN;
        CO_TRY(co_await wait_ready(thread, out.pipe_host_fd(), POLLOUT));
        continue;
      }
      n = std::min(n, space);
    }
    std::span<std::byte> chunk(buf.data(), n);
    size_t got;
    if (in_pipe && (done > 0 || blocking == Blocking::No)) {
      auto r = pipe_read_now(in.pipe_host_fd(), chunk);
      if (r.is_error()) co_return settle(done, r.error());
      got = r.value();
    } else {
      int64_t at = (in_off && *in_off) ? **in_off : -1;
      auto r = co_await in.read(chunk, at);
      if (r.is_error()) co_return settle(done, r.error());
      got = r.value();
    }
    if (got == 0) break;
    if (in_off && *in_off) **in_off += static_cast<int64_t>(got);
    for (size_t written = 0; written < got;) {
      int64_t at = (out_off && *out_off) ? **out_off : -1;
      auto r = co_await out.write(std::span<const std::byte>(buf.data() + written, got - written), at);
      if (r.is_error()) co_return settle(done, r.error());
      if (r.value() == 0) co_return settle(done, Errno::IO);
      written += r.value();
      done += r.value();
      if (out_off && *out_off) **out_off += static_cast<int64_t>(r.value());
    }
    if (in_pipe || got < n) break;
  }
  co_return static_cast<int64_t>(done);
}

// The host's splice or tee between two host pipes, waiting as a blocking
// call would: for data in in, then for room in out.
Coro<ErrorOr<int64_t>> pipe_to_pipe(Thread& thread, fs::File& in, fs::File& out, size_t len, unsigned flags, bool tee) {
  int ifd = in.pipe_host_fd(), ofd = out.pipe_host_fd();
  bool nonblock = (flags & SPLICE_F_NONBLOCK) || in.nonblocking() || out.nonblocking();
  unsigned host_flags = (flags & ~SPLICE_F_NONBLOCK) | SPLICE_F_NONBLOCK;
  for (;;) {
    ssize_t r = tee ? ::tee(ifd, ofd, len, host_flags) : ::splice(ifd, nullptr, ofd, nullptr, len, host_flags);
    if (r >= 0) co_return static_cast<int64_t>(r);
    if (errno != EAGAIN || nonblock) co_return last_host_errno();
    int held = 0;
    if (::ioctl(ifd, FIONREAD, &held) < 0) co_return last_host_errno();
    if (held == 0)
      CO_TRY(co_await wait_ready(thread, ifd, POLLIN));
    else
      CO_TRY(co_await wait_ready(thread, ofd, POLLOUT));
  }
}

ErrorOr<ino_t> pipe_ino(const fs::File& f) {
  struct stat st {};
  if (::fstat(f.pipe_host_fd(), &st) < 0) return last_host_errno();
  return st.st_ino;
}

}  // namespace

// Implements Linux sendfile(2) (do_sendfile).
Coro<ErrorOr<int64_t>> sys_sendfile(SyscallContext& ctx) {
  int out_fd = ctx.arg_int(0), in_fd = ctx.arg_int(1);
  uint64_t off_addr = ctx.arg(2);
  size_t count = ctx.arg(3);
  CO_TRY_ASSIGN(std::optional<int64_t> pos, read_offset(ctx, off_addr));
  Process& p = ctx.process();
  CO_TRY_ASSIGN(auto in, p.fds().get(in_fd));
  if (!in->readable()) co_return Errno::BADF;
  if (pos && in->is_stream()) co_return Errno::SPIPE;
  if (pos && *pos < 0) co_return Errno::INVAL;
  CO_TRY_ASSIGN(auto out, p.fds().get(out_fd));
  if (!out->writable()) co_return Errno::BADF;
  // do_splice_direct refuses appending files; directories have no splice_read.
  if (!is_pipe(*out) && (out->flags() & O_APPEND)) co_return Errno::INVAL;
  if (in->node().is_dir()) co_return Errno::INVAL;
  if (count == 0) co_return int64_t{0};
  Blocking blocking = (is_pipe(*out) && (out->nonblocking() || in->nonblocking())) ? Blocking::No : Blocking::Yes;
  auto r = co_await pump(ctx.thread, *in, &pos, *out, nullptr, count, blocking);
  // The offset is written back even when nothing moved.
  CO_TRY(write_offset(ctx, off_addr, pos));
  co_return r;
}

// Implements Linux splice(2) (__do_splice, do_splice).
Coro<ErrorOr<int64_t>> sys_splice(SyscallContext& ctx) {
  int in_fd = ctx.arg_int(0), out_fd = ctx.arg_int(2);
  uint64_t in_addr = ctx.arg(1), out_addr = ctx.arg(3);
  size_t len = ctx.arg(4);
  auto flags = static_cast<unsigned>(ctx.arg(5));
  if (len == 0) co_return int64_t{0};
  if (flags & ~kSpliceAll) co_return Errno::INVAL;
  Process& p = ctx.process();
  CO_TRY_ASSIGN(auto in, p.fds().get(in_fd));
  CO_TRY_ASSIGN(auto out, p.fds().get(out_fd));
  bool in_pipe = is_pipe(*in), out_pipe = is_pipe(*out);
  if (in_pipe && in_addr) co_return Errno::SPIPE;
  if (out_pipe && out_addr) co_return Errno::SPIPE;
  CO_TRY_ASSIGN(std::optional<int64_t> out_off, read_offset(ctx, out_addr));
  CO_TRY_ASSIGN(std::optional<int64_t> in_off, read_offset(ctx, in_addr));
  if (!in->readable() || !out->writable()) co_return Errno::BADF;
  if (in_pipe && out_pipe) {
    CO_TRY_ASSIGN(ino_t a, pipe_ino(*in));
    CO_TRY_ASSIGN(ino_t b, pipe_ino(*out));
    if (a == b) co_return Errno::INVAL;
    co_return co_await pipe_to_pipe(ctx.thread, *in, *out, std::min(len, kMaxRwCount), flags, false);
  }
  if (!in_pipe && !out_pipe) co_return Errno::INVAL;
  bool nonblock = flags & SPLICE_F_NONBLOCK;
  if (in_pipe) {
    // Into a file: an explicit offset needs a seekable file (FMODE_PWRITE).
    if (out_off && out->is_stream()) co_return Errno::INVAL;
    if (out->flags() & O_APPEND) co_return Errno::INVAL;
    if (out_off && *out_off < 0) co_return Errno::INVAL;
    if (out->node().is_dir()) co_return Errno::BADF;
    nonblock = nonblock || out->nonblocking();
  } else {
    if (in_off && in->is_stream()) co_return Errno::INVAL;
    if (in_off && *in_off < 0) co_return Errno::INVAL;
    if (in->node().is_dir()) co_return Errno::INVAL;
    nonblock = nonblock || in->nonblocking();
  }
  auto r = co_await pump(ctx.thread, *in, &in_off, *out, &out_off, len, nonblock ? Blocking::No : Blocking::Yes);
  if (r.is_error()) co_return r;
  CO_TRY(write_offset(ctx, out_addr, out_off));
  CO_TRY(write_offset(ctx, in_addr, in_off));
  co_return r;
}

// Implements Linux tee(2).
Coro<ErrorOr<int64_t>> sys_tee(SyscallContext& ctx) {
  int in_fd = ctx.arg_int(0), out_fd = ctx.arg_int(1);
  size_t len = ctx.arg(2);
  auto flags = static_cast<unsigned>(ctx.arg(3));
  if (flags & ~kSpliceAll) co_return Errno::INVAL;
  if (len == 0) co_return int64_t{0};
  Process& p = ctx.process();
  CO_TRY_ASSIGN(auto in, p.fds().get(in_fd));
  CO_TRY_ASSIGN(auto out, p.fds().get(out_fd));
  if (!in->readable() || !out->writable()) co_return Errno::BADF;
  if (!is_pipe(*in) || !is_pipe(*out)) co_return Errno::INVAL;
  CO_TRY_ASSIGN(ino_t a, pipe_ino(*in));
  CO_TRY_ASSIGN(ino_t b, pipe_ino(*out));
  if (a == b) co_return Errno::INVAL;
  co_return co_await pipe_to_pipe(ctx.thread, *in, *out, std::min(len, kMaxRwCount), flags, true);
}

// Implements Linux copy_file_range(2) (vfs_copy_file_range with the
// generic checks; the copy itself is the splice fallback).
Coro<ErrorOr<int64_t>> sys_copy_file_range(SyscallContext& ctx) {
  int in_fd = ctx.arg_int(0), out_fd = ctx.arg_int(2);
  uint64_t in_addr = ctx.arg(1), out_addr = ctx.arg(3);
  size_t len = ctx.arg(4);
  auto flags = static_cast<unsigned>(ctx.arg(5));
  Process& p = ctx.process();
  CO_TRY_ASSIGN(auto in, p.fds().get(in_fd));
  CO_TRY_ASSIGN(auto out, p.fds().get(out_fd));
  CO_TRY_ASSIGN(std::optional<int64_t> in_off, read_offset(ctx, in_addr));
  CO_TRY_ASSIGN(std::optional<int64_t> out_off, read_offset(ctx, out_addr));
  if (flags != 0) co_return Errno::INVAL;
  // generic_file_rw_checks(): the kinds first, then the modes.
  if (in->flags() & O_PATH || out->flags() & O_PATH) co_return Errno::BADF;
  if (in->node().is_dir() || out->node().is_dir()) co_return Errno::ISDIR;
  if (!in->node().is_regular() || !out->node().is_regular()) co_return Errno::INVAL;
  if (!in->readable() || !out->writable() || (out->flags() & O_APPEND)) co_return Errno::BADF;
  // lseek, not File::position(): a host-fd file (the guest's stdio) keeps its
  // position in the host description.
  int64_t pin = 0, pout = 0;
  if (in_off) {
    pin = *in_off;
  } else {
    CO_TRY_ASSIGN(pin, in->lseek(0, SEEK_CUR));
  }
  if (out_off) {
    pout = *out_off;
  } else {
    CO_TRY_ASSIGN(pout, out->lseek(0, SEEK_CUR));
  }
  len = std::min(len, kMaxRwCount);
  // The wrap check sees a negative offset as huge (EOVERFLOW); with nothing
  // to copy it is rw_verify_area's EINVAL.
  if (static_cast<uint64_t>(pin) + len < static_cast<uint64_t>(pin) ||
      static_cast<uint64_t>(pout) + len < static_cast<uint64_t>(pout))
    co_return Errno::OVERFLOW_;
  if (pin < 0 || pout < 0) co_return Errno::INVAL;
  CO_TRY_ASSIGN(struct stat ist, in->stat());
  CO_TRY_ASSIGN(struct stat ost, out->stat());
  // Shorten to the end of the source, then refuse overlapping ranges of one file.
  size_t count = pin >= ist.st_size ? 0 : std::min<uint64_t>(len, static_cast<uint64_t>(ist.st_size - pin));
  if (ist.st_dev == ost.st_dev && ist.st_ino == ost.st_ino && pout + static_cast<int64_t>(count) > pin &&
      pout < pin + static_cast<int64_t>(count))
    co_return Errno::INVAL;
  if (count == 0) co_return int64_t{0};
  // Explicit positions for both sides; the file positions move afterwards.
  std::optional<int64_t> rpos = pin, wpos = pout;
  auto r = co_await pump(ctx.thread, *in, &rpos, *out, &wpos, count, Blocking::Yes);
  if (r.is_error()) co_return r;
  auto moved = r.value();
  if (in_off) {
    in_off = pin + moved;
    CO_TRY(write_offset(ctx, in_addr, in_off));
  } else {
    (void)in->lseek(pin + moved, SEEK_SET);
  }
  if (out_off) {
    out_off = pout + moved;
    CO_TRY(write_offset(ctx, out_addr, out_off));
  } else {
    (void)out->lseek(pout + moved, SEEK_SET);
  }
  co_return r;
}

}  // namespace moat
