// strace formatting of flags, numbers and byte strings (no guest needed).

#include <fcntl.h>
#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <string>

#include "sentry/syscalls/strace.h"

using namespace moat;

TEST_CASE("strace: open flags", "[strace]") {
  CHECK(format_open_flags(O_RDONLY) == "O_RDONLY");
  CHECK(format_open_flags(O_RDONLY | O_CLOEXEC) == "O_RDONLY|O_CLOEXEC");
  CHECK(format_open_flags(O_WRONLY | O_CREAT | O_TRUNC) == "O_WRONLY|O_CREAT|O_TRUNC");
  CHECK(format_open_flags(O_RDWR | O_APPEND | O_NONBLOCK) == "O_RDWR|O_APPEND|O_NONBLOCK");
  CHECK(format_open_flags(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) ==
        "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC");
  // O_SYNC contains O_DSYNC and O_TMPFILE contains O_DIRECTORY.
  CHECK(format_open_flags(O_WRONLY | O_SYNC) == "O_WRONLY|O_SYNC");
  CHECK(format_open_flags(O_WRONLY | O_DSYNC) == "O_WRONLY|O_DSYNC");
  CHECK(format_open_flags(O_RDWR | O_TMPFILE) == "O_RDWR|O_TMPFILE");
  // The kernel's O_LARGEFILE (0100000), which glibc defines as 0 on x86-64.
  CHECK(format_open_flags(0100000) == "O_RDONLY|O_LARGEFILE");
  CHECK(format_open_flags(O_PATH) == "O_RDONLY|O_PATH");
  CHECK(format_open_flags(3) == "O_ACCMODE");
  CHECK(format_open_flags(0x80000000) == "O_RDONLY|0x80000000");
}

TEST_CASE("strace: mmap protection and flags", "[strace]") {
  CHECK(format_prot(PROT_NONE) == "PROT_NONE");
  CHECK(format_prot(PROT_READ) == "PROT_READ");
  CHECK(format_prot(PROT_READ | PROT_WRITE) == "PROT_READ|PROT_WRITE");
  CHECK(format_prot(PROT_READ | PROT_EXEC) == "PROT_READ|PROT_EXEC");
  CHECK(format_prot(0x40) == "0x40");
  CHECK(format_mmap_flags(MAP_PRIVATE | MAP_ANONYMOUS) == "MAP_PRIVATE|MAP_ANONYMOUS");
  CHECK(format_mmap_flags(MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE) == "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
  CHECK(format_mmap_flags(MAP_SHARED) == "MAP_SHARED");
  CHECK(format_mmap_flags(MAP_SHARED_VALIDATE | MAP_SYNC) == "MAP_SHARED_VALIDATE|MAP_SYNC");
  CHECK(format_mmap_flags(MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE) ==
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK");
  CHECK(format_mmap_flags(MAP_PRIVATE | MAP_FIXED_NOREPLACE) == "MAP_PRIVATE|MAP_FIXED_NOREPLACE");
  CHECK(format_mmap_flags(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21u << 26)) ==
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT");
  CHECK(format_mmap_flags(0) == "0");
}

TEST_CASE("strace: at flags, access modes, modes", "[strace]") {
  CHECK(format_at_flags(0) == "0");
  CHECK(format_at_flags(AT_SYMLINK_NOFOLLOW) == "AT_SYMLINK_NOFOLLOW");
  CHECK(format_at_flags(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
  CHECK(format_at_flags(AT_REMOVEDIR, 263) == "AT_REMOVEDIR");
  CHECK(format_at_flags(AT_EACCESS, 439) == "AT_EACCESS");
  CHECK(format_access_mode(F_OK) == "F_OK");
  CHECK(format_access_mode(R_OK | X_OK) == "R_OK|X_OK");
  CHECK(format_mode(0644) == "0644");
  CHECK(format_mode(0) == "000");
  CHECK(format_mode(04755) == "04755");
  CHECK(format_stat_mode(S_IFREG | 0644) == "S_IFREG|0644");
  CHECK(format_stat_mode(S_IFDIR | 0755) == "S_IFDIR|0755");
  CHECK(format_stat_mode(S_IFCHR | 0666) == "S_IFCHR|0666");
}

TEST_CASE("strace: signals, clocks, futex ops, fcntl, clone", "[strace]") {
  CHECK(format_signal(2) == "SIGINT");
  CHECK(format_signal(9) == "SIGKILL");
  CHECK(format_signal(17) == "SIGCHLD");
  CHECK(format_signal(31) == "SIGSYS");
  CHECK(format_signal(32) == "SIGRTMIN");
  CHECK(format_signal(34) == "SIGRT_2");
  CHECK(format_signal(0) == "0");
  CHECK(format_signal(65) == "65");
  CHECK(format_clock_id(0) == "CLOCK_REALTIME");
  CHECK(format_clock_id(1) == "CLOCK_MONOTONIC");
  CHECK(format_clock_id(11) == "CLOCK_TAI");
  CHECK(format_clock_id(10) == "10");
  CHECK(format_clock_id(-6) == "-6");
  CHECK(format_futex_op(0) == "FUTEX_WAIT");
  CHECK(format_futex_op(128) == "FUTEX_WAIT_PRIVATE");
  CHECK(format_futex_op(129) == "FUTEX_WAKE_PRIVATE");
  CHECK(format_futex_op(9 | 128 | 256) == "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME");
  CHECK(format_fcntl_cmd(3) == "F_GETFL");
  CHECK(format_fcntl_cmd(1030) == "F_DUPFD_CLOEXEC");
  CHECK(format_fcntl_cmd(9999) == "0x270f");
  CHECK(format_resource(7) == "RLIMIT_NOFILE");
  CHECK(format_resource(3) == "RLIMIT_STACK");
  CHECK(format_clone_flags(0x1200011) == "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
  CHECK(format_clone_flags(0x3d0f00) ==
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
        "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
  CHECK(format_clone_flags(0x20000, false) == "CLONE_NEWNS");
  CHECK(format_clone_flags(0) == "0");
}

TEST_CASE("strace: scalar arguments", "[strace]") {
  CHECK(format_scalar_arg(ArgKind::DirFd, static_cast<uint64_t>(-100)) == "AT_FDCWD");
  CHECK(format_scalar_arg(ArgKind::DirFd, 3) == "3");
  CHECK(format_scalar_arg(ArgKind::Fd, 0xffffffffu) == "-1");
  CHECK(format_scalar_arg(ArgKind::Ptr, 0) == "NULL");
  CHECK(format_scalar_arg(ArgKind::Ptr, 0x7ffc1000) == "0x7ffc1000");
  CHECK(format_scalar_arg(ArgKind::Hex, 0) == "0");
  CHECK(format_scalar_arg(ArgKind::Hex, 4096) == "0x1000");
  CHECK(format_scalar_arg(ArgKind::Size, 4096) == "4096");
  CHECK(format_scalar_arg(ArgKind::Offset, static_cast<uint64_t>(-1)) == "-1");
  CHECK(format_scalar_arg(ArgKind::Whence, 2) == "SEEK_END");
  CHECK(format_scalar_arg(ArgKind::SigHow, 0) == "SIG_BLOCK");
  CHECK(format_scalar_arg(ArgKind::ArchPrctl, 0x1002) == "ARCH_SET_FS");
  CHECK(format_scalar_arg(ArgKind::IoctlCmd, 0x5401) == "TCGETS");
  CHECK(format_scalar_arg(ArgKind::IoctlCmd, 0x1234) == "0x1234");
  CHECK(format_scalar_arg(ArgKind::Path, 0) == "NULL");
}

TEST_CASE("strace: escaping bytes", "[strace]") {
  CHECK(escape_bytes("hello") == "\"hello\"");
  CHECK(escape_bytes("a\nb\tc\r") == "\"a\\nb\\tc\\r\"");
  CHECK(escape_bytes("say \"hi\" \\") == "\"say \\\"hi\\\" \\\\\"");
  CHECK(escape_bytes(std::string_view("\x7f" "ELF\x02\x01", 6)) == "\"\\177ELF\\2\\1\"");
  // A full octal escape when a digit follows, so the digit is not absorbed.
  CHECK(escape_bytes(std::string_view("\0" "1", 2)) == "\"\\0001\"");
  CHECK(escape_bytes(std::string_view("\0" "a", 2)) == "\"\\0a\"");
  CHECK(escape_bytes("\xff") == "\"\\377\"");
  CHECK(escape_bytes("abc", true) == "\"abc\"...");
  CHECK(escape_bytes("") == "\"\"");
}

TEST_CASE("strace: error results", "[strace]") {
  CHECK(format_error_result(ENOENT) == " = -1 ENOENT (No such file or directory)");
  CHECK(format_error_result(ENOSYS) == " = -1 ENOSYS (Function not implemented)");
  CHECK(format_error_result(EBADF) == " = -1 EBADF (Bad file descriptor)");
}
