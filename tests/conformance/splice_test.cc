// Conformance: sendfile(2), splice(2), tee(2), copy_file_range(2).
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fs_util.h"
#include "harness.h"

using namespace conformance;
using fsutil::make_file;
using fsutil::read_file;
using fsutil::tmp;

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (pipe(fds) == 0) r = fds[0], w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
};

std::string read_n(int fd, size_t n) {
  std::string s(n, '\0');
  ssize_t r = read(fd, s.data(), n);
  s.resize(r < 0 ? 0 : static_cast<size_t>(r));
  return s;
}

off_t pos(int fd) { return lseek(fd, 0, SEEK_CUR); }

ssize_t cfr(int in, loff_t* in_off, int out, loff_t* out_off, size_t len, unsigned flags) {
  return syscall(SYS_copy_file_range, in, in_off, out, out_off, len, flags);
}

}  // namespace

TEST(Sendfile, FileToFileMovesPositions) {
  make_file(tmp("src"), "0123456789");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(out, in, nullptr, 4), 4);
  EXPECT_EQ(pos(in), 4);
  EXPECT_EQ(pos(out), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(out, in, nullptr, 100), 6);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(out, in, nullptr, 100), 0);  // end of file
  EXPECT_STREQ(std::string(read_file(tmp("dst"))).c_str(), "0123456789");
  close(in);
  close(out);
}

TEST(Sendfile, OffsetPointerLeavesThePosition) {
  make_file(tmp("src"), "0123456789");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  off_t off = 3;
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(out, in, &off, 4), 4);
  EXPECT_EQ(off, 7);
  EXPECT_EQ(pos(in), 0);
  off = 20;
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(out, in, &off, 4), 0);
  EXPECT_EQ(off, 20);
  EXPECT_STREQ(std::string(read_file(tmp("dst"))).c_str(), "3456");
  close(in);
  close(out);
}

TEST(Sendfile, LargeFileInChunks) {
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  make_file(tmp("big"), data);
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("big").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("copy").c_str(), O_WRONLY | O_CREAT, 0600));
  size_t total = 0;
  while (total < data.size()) {
    ssize_t n = sendfile(out, in, nullptr, data.size() - total);
    ASSERT_GT(n, 0);
    total += static_cast<size_t>(n);
  }
  close(in);
  close(out);
  EXPECT_TRUE(read_file(tmp("copy")) == data);
}

TEST(Sendfile, FileToPipe) {
  make_file(tmp("src"), "through a pipe");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  Pipe p;
  ASSERT_GE(p.r, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(p.w, in, nullptr, 100), 14);
  EXPECT_STREQ(std::string(read_n(p.r, 100)).c_str(), "through a pipe");
  close(in);
}

TEST(Sendfile, Errors) {
  make_file(tmp("src"), "abc");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int wo = ASSERT_SYSCALL_SUCCEEDS(open(tmp("wo").c_str(), O_WRONLY | O_CREAT, 0600));
  int app = ASSERT_SYSCALL_SUCCEEDS(open(tmp("app").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
  Pipe p;
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, -1, nullptr, 1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(sendfile(-1, in, nullptr, 1), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, wo, nullptr, 1), EBADF);  // in not readable
  EXPECT_SYSCALL_FAILS_WITH(sendfile(in, in, nullptr, 1), EBADF);  // out not writable
  EXPECT_SYSCALL_FAILS_WITH(sendfile(app, in, nullptr, 1), EINVAL);
  off_t neg = -1;
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, in, &neg, 1), EINVAL);
  off_t zero = 0;
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, p.r, &zero, 1), ESPIPE);
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, in, reinterpret_cast<off_t*>(8), 1), EFAULT);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendfile(wo, in, nullptr, 0), 0);
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_FAILS_WITH(sendfile(wo, dir, nullptr, 1), EINVAL);
  close(dir);
  close(in);
  close(wo);
  close(app);
}

TEST(Splice, FileToPipeToFile) {
  make_file(tmp("src"), "0123456789");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_RDWR | O_CREAT, 0600));
  Pipe p;
  loff_t off = 2;
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(in, &off, p.w, nullptr, 5, 0), 5);
  EXPECT_EQ(off, 7);
  EXPECT_EQ(pos(in), 0);
  // Without an offset the file position moves.
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(in, nullptr, p.w, nullptr, 2, 0), 2);
  EXPECT_EQ(pos(in), 2);
  loff_t out_off = 1;
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(p.r, nullptr, out, &out_off, 3, 0), 3);
  EXPECT_EQ(out_off, 4);
  EXPECT_EQ(pos(out), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(p.r, nullptr, out, nullptr, 100, 0), 4);
  EXPECT_EQ(pos(out), 4);
  // "234" went to [1, 4), then "5601" over [0, 4).
  EXPECT_STREQ(std::string(read_file(tmp("dst"))).c_str(), "5601");
  close(in);
  close(out);
}

TEST(Splice, PipeToPipe) {
  Pipe a, b;
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(a.w, "hello world", 11), 11);
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(a.r, nullptr, b.w, nullptr, 5, 0), 5);
  EXPECT_STREQ(std::string(read_n(b.r, 100)).c_str(), "hello");
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(a.r, nullptr, b.w, nullptr, 100, 0), 6);
  EXPECT_STREQ(std::string(read_n(b.r, 100)).c_str(), " world");
}

TEST(Splice, EmptyPipe) {
  Pipe a, b;
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  EXPECT_SYSCALL_FAILS_WITH(splice(a.r, nullptr, b.w, nullptr, 10, SPLICE_F_NONBLOCK), EAGAIN);
  EXPECT_SYSCALL_FAILS_WITH(splice(a.r, nullptr, out, nullptr, 10, SPLICE_F_NONBLOCK), EAGAIN);
  // No writer left: end of file.
  close(a.w);
  a.w = -1;
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(a.r, nullptr, b.w, nullptr, 10, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(a.r, nullptr, out, nullptr, 10, 0), 0);
  close(out);
}

TEST(Splice, BlocksUntilDataArrives) {
  Pipe a;
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_RDWR | O_CREAT, 0600));
  pid_t pid = fork();
  if (pid == 0) {
    usleep(100 * 1000);
    _exit(write(a.w, "late", 4) == 4 ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  alarm(10);
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(a.r, nullptr, out, nullptr, 100, 0), 4);
  alarm(0);
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS(waitpid(pid, &status, 0));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char buf[8] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(out, buf, 8, 0), 4);
  EXPECT_STREQ(buf, "late");
  close(out);
}

TEST(Splice, ThroughANamedPipe) {
  make_file(tmp("src"), "fifo data");
  ASSERT_SYSCALL_SUCCEEDS(mkfifo(tmp("fifo").c_str(), 0600));
  // O_RDWR opens a FIFO without waiting for a partner (fifo(7)).
  int fifo = ASSERT_SYSCALL_SUCCEEDS(open(tmp("fifo").c_str(), O_RDWR));
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(in, nullptr, fifo, nullptr, 100, 0), 9);
  Pipe p;
  EXPECT_SYSCALL_SUCCEEDS_WITH(tee(fifo, p.w, 100, 0), 9);
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(fifo, nullptr, out, nullptr, 100, 0), 9);
  EXPECT_STREQ(read_file(tmp("dst")).c_str(), "fifo data");
  EXPECT_STREQ(read_n(p.r, 100).c_str(), "fifo data");
  close(in);
  close(out);
  close(fifo);
}

TEST(Splice, Errors) {
  make_file(tmp("src"), "abc");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  int app = ASSERT_SYSCALL_SUCCEEDS(open(tmp("app").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
  Pipe p, q;
  loff_t off = 0;
  // A zero length wins over everything, even bad descriptors.
  EXPECT_SYSCALL_SUCCEEDS_WITH(splice(-1, nullptr, -1, nullptr, 0, 0), 0);
  EXPECT_SYSCALL_FAILS_WITH(splice(in, nullptr, p.w, nullptr, 1, 0x100), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(splice(-1, nullptr, p.w, nullptr, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(splice(in, nullptr, out, nullptr, 1, 0), EINVAL);  // no pipe
  EXPECT_SYSCALL_FAILS_WITH(splice(p.r, &off, out, nullptr, 1, 0), ESPIPE);
  EXPECT_SYSCALL_FAILS_WITH(splice(in, nullptr, p.w, &off, 1, 0), ESPIPE);
  EXPECT_SYSCALL_FAILS_WITH(splice(p.r, nullptr, p.w, nullptr, 1, 0), EINVAL);  // same pipe
  EXPECT_SYSCALL_FAILS_WITH(splice(p.w, nullptr, q.w, nullptr, 1, 0), EBADF);   // write end as input
  EXPECT_SYSCALL_FAILS_WITH(splice(out, nullptr, p.w, nullptr, 1, 0), EBADF);   // write-only file as input
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(p.w, "x", 1), 1);
  EXPECT_SYSCALL_FAILS_WITH(splice(p.r, nullptr, app, nullptr, 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(splice(in, reinterpret_cast<loff_t*>(8), p.w, nullptr, 1, 0), EFAULT);
  loff_t neg = -1;
  EXPECT_SYSCALL_FAILS_WITH(splice(in, &neg, p.w, nullptr, 1, 0), EINVAL);
  close(in);
  close(out);
  close(app);
}

TEST(Tee, DuplicatesWithoutConsuming) {
  Pipe a, b;
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(a.w, "twice", 5), 5);
  EXPECT_SYSCALL_SUCCEEDS_WITH(tee(a.r, b.w, 100, 0), 5);
  EXPECT_STREQ(std::string(read_n(b.r, 100)).c_str(), "twice");
  EXPECT_STREQ(std::string(read_n(a.r, 100)).c_str(), "twice");
}

TEST(Tee, Errors) {
  Pipe a, b;
  make_file(tmp("f"), "abc");
  int f = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_SYSCALL_FAILS_WITH(tee(a.r, b.w, 1, 0x100), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(tee(-1, -1, 0, 0), 0);
  EXPECT_SYSCALL_FAILS_WITH(tee(-1, b.w, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(tee(f, b.w, 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(tee(a.r, f, 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(tee(a.r, a.w, 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(tee(a.w, b.w, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(tee(a.r, b.w, 1, SPLICE_F_NONBLOCK), EAGAIN);
  close(a.w);
  a.w = -1;
  EXPECT_SYSCALL_SUCCEEDS_WITH(tee(a.r, b.w, 1, 0), 0);
  close(f);
}

TEST(CopyFileRange, CopiesWithOffsets) {
  make_file(tmp("src"), "0123456789");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_RDWR | O_CREAT, 0600));
  loff_t ioff = 2, ooff = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(cfr(in, &ioff, out, &ooff, 3, 0), 3);
  EXPECT_EQ(ioff, 5);
  EXPECT_EQ(ooff, 3);
  EXPECT_EQ(pos(in), 0);
  EXPECT_EQ(pos(out), 0);
  // Without pointers, the file positions are used and moved.
  ASSERT_SYSCALL_SUCCEEDS(lseek(in, 7, SEEK_SET));
  ASSERT_SYSCALL_SUCCEEDS(lseek(out, 3, SEEK_SET));
  EXPECT_SYSCALL_SUCCEEDS_WITH(cfr(in, nullptr, out, nullptr, 100, 0), 3);
  EXPECT_EQ(pos(in), 10);
  EXPECT_EQ(pos(out), 6);
  EXPECT_SYSCALL_SUCCEEDS_WITH(cfr(in, nullptr, out, nullptr, 100, 0), 0);
  EXPECT_STREQ(std::string(read_file(tmp("dst"))).c_str(), "234789");
  close(in);
  close(out);
}

TEST(CopyFileRange, WithinOneFile) {
  make_file(tmp("f"), "abcdefgh");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  loff_t a = 0, b = 2;
  EXPECT_SYSCALL_FAILS_WITH(cfr(fd, &a, fd, &b, 4, 0), EINVAL);  // overlapping
  a = 0, b = 8;
  EXPECT_SYSCALL_SUCCEEDS_WITH(cfr(fd, &a, fd, &b, 4, 0), 4);
  EXPECT_STREQ(std::string(read_file(tmp("f"))).c_str(), "abcdefghabcd");
  close(fd);
}

TEST(CopyFileRange, Errors) {
  make_file(tmp("src"), "abc");
  int in = ASSERT_SYSCALL_SUCCEEDS(open(tmp("src").c_str(), O_RDONLY));
  int out = ASSERT_SYSCALL_SUCCEEDS(open(tmp("dst").c_str(), O_WRONLY | O_CREAT, 0600));
  int app = ASSERT_SYSCALL_SUCCEEDS(open(tmp("app").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  Pipe p;
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, nullptr, out, nullptr, 1, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(cfr(-1, nullptr, out, nullptr, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, nullptr, -1, nullptr, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(cfr(out, nullptr, in, nullptr, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, nullptr, app, nullptr, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(cfr(dir, nullptr, out, nullptr, 1, 0), EISDIR);
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, nullptr, p.w, nullptr, 1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, reinterpret_cast<loff_t*>(8), out, nullptr, 1, 0), EFAULT);
  // A negative offset wraps (EOVERFLOW); with nothing to copy it is EINVAL.
  loff_t neg = -1;
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, &neg, out, nullptr, 1, 0), EOVERFLOW);
  neg = -5;
  EXPECT_SYSCALL_FAILS_WITH(cfr(in, &neg, out, nullptr, 0, 0), EINVAL);
  loff_t past = 100;
  EXPECT_SYSCALL_SUCCEEDS_WITH(cfr(in, &past, out, nullptr, 1, 0), 0);
  close(in);
  close(out);
  close(app);
  close(dir);
}

TEST(Vmsplice, IntoAndOutOfAPipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  char a[] = "hello ", b[] = "world";
  iovec in[2] = {{a, 6}, {b, 5}};
  EXPECT_EQ(vmsplice(p[1], in, 2, 0), 11);
  char x[4] = {}, y[16] = {};
  iovec out[2] = {{x, 4}, {y, sizeof y}};
  EXPECT_EQ(vmsplice(p[0], out, 2, 0), 11);
  EXPECT_STREQ(std::string(x, 4).c_str(), "hell");
  EXPECT_STREQ(std::string(y, 7).c_str(), "o world");
  // Empty pipe, SPLICE_F_NONBLOCK: EAGAIN instead of waiting.
  EXPECT_SYSCALL_FAILS_WITH(vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK), EAGAIN);
  close(p[0]);
  close(p[1]);
}

TEST(Vmsplice, Errors) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  char c = 'x';
  iovec v = {&c, 1};
  EXPECT_SYSCALL_FAILS_WITH(vmsplice(p[1], &v, 1, 0x100), EINVAL);
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(fsutil::tmp("vm").c_str(), O_CREAT | O_RDWR, 0600));
  EXPECT_SYSCALL_FAILS_WITH(vmsplice(fd, &v, 1, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(vmsplice(99999, &v, 1, 0), EBADF);
  EXPECT_EQ(vmsplice(p[1], &v, 0, 0), 0);
  close(fd);
  close(p[0]);
  close(p[1]);
}
