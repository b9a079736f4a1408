#pragma once
// The initial stack of a new program: strings, auxv, envp, argv and argc laid
// out exactly as Linux's fs/exec.c and fs/binfmt_elf.c create_elf_tables do,
// minus the random stack offset (arch_align_stack's jitter).

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace moat::loader {

// Linux's MAX_ARG_STRLEN (32 pages): the longest single argument or variable.
constexpr size_t kMaxArgStrlen = 32 * 4096;
// Linux caps argv + envp (strings and pointers) at a quarter of the stack
// rlimit; moat assumes the default 8 MiB rlimit.
constexpr size_t kMaxArgBytes = (8 << 20) / 4;

struct StackImage {
  std::vector<uint8_t> bytes;  // the memory [start, stack_top)
  uint64_t start = 0;          // lowest address of bytes; == sp
  uint64_t sp = 0;             // initial rsp: argc is here; 16-byte aligned
  uint64_t arg_start = 0, arg_end = 0;  // mm->arg_start/arg_end (/proc/PID/cmdline)
  uint64_t env_start = 0, env_end = 0;  // mm->env_start/env_end (/proc/PID/environ)
  uint64_t execfn = 0;         // AT_EXECFN
  uint64_t random = 0;         // AT_RANDOM
};

// stack_top: 16-byte aligned top of the stack mapping. auxv: the entries the
// caller knows (AT_PHDR, AT_ENTRY, AT_BASE, AT_SYSINFO_EHDR, ...), without
// AT_RANDOM, AT_EXECFN, AT_PLATFORM and AT_NULL, which are appended here.
// E2BIG when an argument is longer than kMaxArgStrlen or all of them need
// more than kMaxArgBytes; EINVAL for a misaligned stack_top.
ErrorOr<StackImage> build_initial_stack(uint64_t stack_top, const std::vector<std::string>& argv,
                                        const std::vector<std::string>& envp,
                                        const std::vector<std::pair<uint64_t, uint64_t>>& auxv,
                                        const std::string& execfn, const std::array<uint8_t, 16>& random);

}  // namespace moat::loader
