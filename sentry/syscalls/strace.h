#pragma once
// --strace: formats a guest syscall the way strace(1) shows it, from the
// argument kinds in the syscall table.
//
//   openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
//   read(3, "root:x:0:0:root:/root:/bin/bash\n"..., 4096) = 1234
//   open("/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
//
// Guest strings and buffers are read through ctx.mem(); an unreadable pointer
// is shown as its hex value, like strace does. Output buffers (read's buf,
// fstat's struct stat) can only be shown once the result is known: the entry
// form shows them as pointers, format_syscall() decodes them.

#include <cstdint>
#include <string>
#include <string_view>

#include "sentry/syscalls/context.h"
#include "sentry/syscalls/table.h"

namespace moat {

// Strings and buffers are cut at this many bytes, then "..." (strace -s 32).
inline constexpr size_t kStraceMaxString = 32;

// "name(arg, ...)" with output buffers shown as pointers: for printing
// before a call that may block.
std::string format_syscall_entry(const SyscallContext& ctx);

// " = 3", " = 0x7f0000000000", " = -1 ENOENT (No such file or directory)",
// " = ?" for calls that do not return.
std::string format_syscall_exit(const SyscallContext& ctx, int64_t result);

// The whole line (without newline) after the call returned: output buffers
// decoded with the result, then format_syscall_exit().
std::string format_syscall(const SyscallContext& ctx, int64_t result);

// One argument that needs no guest memory (flags, numbers, pointers). nr
// selects syscall-specific names (AT_EACCESS for faccessat2, clone's exit signal).
std::string format_scalar_arg(ArgKind kind, uint64_t value, uint64_t nr = 0);

// Pure formatters, exposed for tests.
std::string format_open_flags(uint64_t flags);   // O_RDONLY|O_CLOEXEC
std::string format_prot(uint64_t prot);          // PROT_READ|PROT_WRITE, PROT_NONE
std::string format_mmap_flags(uint64_t flags);   // MAP_PRIVATE|MAP_ANONYMOUS
std::string format_at_flags(uint64_t flags, uint64_t nr = 0);  // AT_EMPTY_PATH, 0
std::string format_access_mode(uint64_t mode);   // F_OK, R_OK|X_OK
std::string format_clone_flags(uint64_t flags, bool with_signal = true);  // CLONE_VM|...|SIGCHLD
std::string format_mode(uint64_t mode);          // 0644
std::string format_signal(int64_t sig);          // SIGINT, SIGRT_1, 0
std::string format_clock_id(int64_t clock);      // CLOCK_MONOTONIC
std::string format_futex_op(uint64_t op);        // FUTEX_WAIT_PRIVATE
std::string format_fcntl_cmd(uint64_t cmd);      // F_GETFL
std::string format_resource(uint64_t resource);  // RLIMIT_NOFILE
std::string format_stat_mode(uint64_t mode);     // S_IFREG|0644

// `"bytes"` escaped like strace (\n, \t, \", \\, octal for the rest), with
// "..." after the closing quote when truncated is set.
std::string escape_bytes(std::string_view bytes, bool truncated = false);

// " = -1 ENOENT (No such file or directory)" style for an errno value.
std::string format_error_result(int err);

}  // namespace moat
