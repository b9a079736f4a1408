// strace lines decoded from guest memory. The "guest" is this test process:
// its UserMemory points at our own pid, so process_vm_readv reads our buffers.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <string>

#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/syscalls/strace.h"

using namespace moat;

namespace {

struct SelfGuest {
  Sandbox sandbox{SandboxConfig{}};
  Process process{sandbox, 1};
  Thread thread{process, 0, 1};

  SelfGuest() { const_cast<UserMemory&>(process.mem()).set_pid(getpid()); }

  SyscallContext ctx(uint64_t nr, std::initializer_list<uint64_t> args) {
    SyscallContext c{thread, nr, {}};
    int i = 0;
    for (uint64_t a : args) c.args[i++] = a;
    return c;
  }
};

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

// An address nothing is mapped at.
constexpr uint64_t kBadAddress = 0x10;

}  // namespace

TEST_CASE("strace guest: openat", "[strace]") {
  SelfGuest g;
  const char path[] = "/etc/passwd";
  auto c = g.ctx(SYS_openat, {static_cast<uint64_t>(-100), addr(path), O_RDONLY | O_CLOEXEC, 0});
  CHECK(format_syscall_entry(c) == "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)");
  CHECK(format_syscall(c, 3) == "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3");
  CHECK(format_syscall(c, -ENOENT) ==
        "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)");
  auto creat = g.ctx(SYS_openat, {3, addr(path), O_WRONLY | O_CREAT | O_TRUNC, 0644});
  CHECK(format_syscall_entry(creat) == "openat(3, \"/etc/passwd\", O_WRONLY|O_CREAT|O_TRUNC, 0644)");
  // An unreadable path is shown as its address.
  auto bad = g.ctx(SYS_openat, {static_cast<uint64_t>(-100), kBadAddress, O_RDONLY, 0});
  CHECK(format_syscall_entry(bad) == "openat(AT_FDCWD, 0x10, O_RDONLY)");
}

TEST_CASE("strace guest: read and write buffers", "[strace]") {
  SelfGuest g;
  char buf[64] = "hello\nworld";
  auto w = g.ctx(SYS_write, {1, addr(buf), 11});
  CHECK(format_syscall(w, 11) == "write(1, \"hello\\nworld\", 11) = 11");
  auto r = g.ctx(SYS_read, {0, addr(buf), 64});
  CHECK(format_syscall_entry(r) == "read(0, " + format_scalar_arg(ArgKind::Ptr, addr(buf)) + ", 64)");
  CHECK(format_syscall(r, 5) == "read(0, \"hello\", 64) = 5");
  CHECK(format_syscall(r, -EBADF) ==
        "read(0, " + format_scalar_arg(ArgKind::Ptr, addr(buf)) + ", 64) = -1 EBADF (Bad file descriptor)");
  // Longer than 32 bytes: cut, with "..." after the quote.
  memset(buf, 'a', sizeof buf);
  CHECK(format_syscall(r, 40) == "read(0, \"" + std::string(32, 'a') + "\"..., 64) = 40");
}

TEST_CASE("strace guest: mmap, stat, exit", "[strace]") {
  SelfGuest g;
  auto m = g.ctx(SYS_mmap, {0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0});
  CHECK(format_syscall(m, 0x7f0000000000) ==
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000");
  CHECK(format_syscall_exit(m, -ENOMEM) == " = -1 ENOMEM (Cannot allocate memory)");

  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  st.st_size = 1234;
  auto f = g.ctx(SYS_fstat, {3, addr(&st)});
  CHECK(format_syscall(f, 0) == "fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0");

  auto e = g.ctx(SYS_exit_group, {0});
  CHECK(format_syscall(e, 0) == "exit_group(0) = ?");
  auto unknown = g.ctx(400, {1, 2});
  CHECK(format_syscall(unknown, -ENOSYS) ==
        "syscall_0x190(0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)");
}

TEST_CASE("strace guest: execve, nanosleep, fcntl, futex", "[strace]") {
  SelfGuest g;
  const char path[] = "/bin/ls";
  const char* argv[] = {"ls", "-l", nullptr};
  auto x = g.ctx(SYS_execve, {addr(path), addr(argv), 0});
  CHECK(format_syscall_entry(x) == "execve(\"/bin/ls\", [\"ls\", \"-l\"], NULL)");

  struct timespec ts{1, 500};
  auto n = g.ctx(SYS_nanosleep, {addr(&ts), 0});
  CHECK(format_syscall(n, 0) == "nanosleep({tv_sec=1, tv_nsec=500}, NULL) = 0");

  CHECK(format_syscall(g.ctx(SYS_fcntl, {3, F_GETFL}), 2) == "fcntl(3, F_GETFL) = 2");
  CHECK(format_syscall_entry(g.ctx(SYS_fcntl, {3, F_SETFD, FD_CLOEXEC})) == "fcntl(3, F_SETFD, FD_CLOEXEC)");
  CHECK(format_syscall_entry(g.ctx(SYS_fcntl, {3, F_SETFL, O_NONBLOCK | O_RDWR})) ==
        "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)");
  CHECK(format_syscall_entry(g.ctx(SYS_futex, {0x1000, 129, 1})) == "futex(0x1000, FUTEX_WAKE_PRIVATE, 1)");
}
