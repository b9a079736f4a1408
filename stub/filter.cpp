#include "stub/filter.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cstddef>

namespace moat::stub {

const std::vector<int>& stub_allowed_syscalls() {
  // Memory operations on the sentry's instruction, fd passing for file
  // mappings, the futex hand-off, signal return, fork (clone) and exit.
  static const std::vector<int> list = {
      SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_recvmsg,      SYS_close,
      SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_arch_prctl,
      SYS_sched_yield, SYS_exit, SYS_exit_group, SYS_clone,
  };
  return list;
}

std::vector<sock_filter> build_stub_filter(uint64_t code_start, uint64_t code_end) {
  // seccomp_data: nr at 0, arch at 4, instruction_pointer at 8 (low half) and 12 (high half).
  constexpr uint32_t kNr = offsetof(seccomp_data, nr);
  constexpr uint32_t kArch = offsetof(seccomp_data, arch);
  constexpr uint32_t kIpLo = offsetof(seccomp_data, instruction_pointer);
  constexpr uint32_t kIpHi = kIpLo + 4;
  const uint32_t hi = static_cast<uint32_t>(code_start >> 32);
  const uint32_t lo_start = static_cast<uint32_t>(code_start);
  const uint32_t lo_end = static_cast<uint32_t>(code_end);
  // The code range must not straddle a 4 GiB boundary (compared in halves).
  const auto& allowed = stub_allowed_syscalls();
  const uint8_t n = static_cast<uint8_t>(allowed.size());

  std::vector<sock_filter> f;
  // Any other architecture (int 0x80, x32 ABI through arch) is killed.
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArch));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  // Outside the stub code range: trap (SIGSYS), whatever the syscall.
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHi));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLo));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo_start, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo_end, 0, 1));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
  // Inside: the allow-list, everything else kills the process.
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr));
  for (uint8_t i = 0; i < n; i++) {
    // Jump to the ALLOW return at the end when equal.
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(allowed[i]),
                         static_cast<uint8_t>(n - i), 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return f;
}

}  // namespace moat::stub
