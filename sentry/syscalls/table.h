#pragma once
// The declarative syscall table: one entry for every x86-64 syscall number
// (0..kSyscallTableSize-1 that Linux assigns), with its name, handler, support
// level, note and the argument kinds strace uses to decode it. The coverage
// document (docs/syscalls.md) is generated from this table, never by hand.
//
// Numbers Linux leaves unassigned (335..423 on x86-64) have no entry:
// syscall_entry() returns nullptr for them and the dispatcher answers ENOSYS.

#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"
#include "sentry/syscalls/context.h"

namespace moat {

// One past the highest syscall number in the table (mseal = 462, Linux 6.10+).
inline constexpr uint64_t kSyscallTableSize = 463;

enum class Support : uint8_t { Full, Partial, Unimplemented };

// How strace shows one argument.
enum class ArgKind : uint8_t {
  Int,         // signed decimal (int-sized)
  Long,        // signed decimal (64-bit)
  UInt,        // unsigned decimal
  Hex,         // 0x...
  Fd,          // file descriptor (decimal)
  DirFd,       // file descriptor or AT_FDCWD
  Path,        // guest NUL-terminated string, shown whole
  String,      // guest NUL-terminated string, truncated to 32 bytes
  OutBuf,      // buffer filled by the call: pointer at entry, bytes (length = result) at exit
  InBuf,       // buffer read by the call: bytes of length = next argument
  OutString,   // like OutBuf, shown as a string of length = result (getcwd, readlink)
  Size,        // size_t / length (unsigned decimal)
  Offset,      // off_t (signed decimal)
  OpenFlags,   // O_RDONLY|O_CLOEXEC
  Mode,        // 0644
  Prot,        // PROT_READ|PROT_WRITE
  MapFlags,    // MAP_PRIVATE|MAP_ANONYMOUS
  Ptr,         // 0x... or NULL
  Signal,      // SIGINT
  SigHow,      // SIG_BLOCK
  AtFlags,     // AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH
  AccessMode,  // F_OK, R_OK|W_OK
  StatPtr,     // struct stat filled by the call: decoded at exit on success
  ClockId,     // CLOCK_MONOTONIC
  Timespec,    // struct timespec read by the call: {tv_sec=1, tv_nsec=0}
  Whence,      // SEEK_SET
  FcntlCmd,    // F_GETFL
  FutexOp,     // FUTEX_WAIT_PRIVATE
  ArchPrctl,   // ARCH_SET_FS
  CloneFlags,  // CLONE_VM|CLONE_FS|...|SIGCHLD
  StrArray,    // NULL-terminated array of guest strings (execve argv): ["ls", "-l"]
  Resource,    // RLIMIT_NOFILE
  Pid,         // pid (signed decimal)
  IoctlCmd,    // TCGETS, or 0x...
};

// How strace shows the result.
enum class RetKind : uint8_t {
  Int,       // decimal, or -1 ERRNO (strerror)
  Hex,       // 0x... (mmap, brk), or -1 ERRNO
  NoReturn,  // exit, exit_group, rt_sigreturn: " = ?"
};

struct SyscallEntry {
  uint16_t nr;
  const char* name;
  SyncHandler sync;    // exactly one of sync / async is set when a handler exists
  AsyncHandler async;
  Support support;
  const char* note;    // why Partial or Unimplemented; nullptr when Full
  uint8_t nargs;
  ArgKind args[6];
  RetKind ret;
  // What an Unimplemented entry returns. ENOSYS unless a different errno is
  // the design (the note then says why).
  Errno unimplemented_errno;

  bool has_handler() const { return sync != nullptr || async != nullptr; }
};

// The entry for nr, or nullptr when Linux assigns no syscall to nr.
const SyscallEntry* syscall_entry(uint64_t nr);

// Every entry, ordered by number (with the unassigned numbers skipped).
std::span<const SyscallEntry> syscall_table();

// "read", or nullptr for an unassigned number.
const char* syscall_name(uint64_t nr);

// The text of docs/syscalls.md: a table of nr | name | support | note, and totals.
std::string syscall_coverage_markdown();

}  // namespace moat
