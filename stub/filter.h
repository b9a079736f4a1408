#pragma once
// The seccomp filter of every stub process: trap each syscall made outside the
// stub's code range; from inside it, allow only the stub's short list.

#include <linux/filter.h>

#include <cstdint>

#include <vector>

namespace moat::stub {

// The host syscalls the stub itself may make (from its code range only).
const std::vector<int>& stub_allowed_syscalls();

std::vector<sock_filter> build_stub_filter(uint64_t code_start, uint64_t code_end);

}  // namespace moat::stub
