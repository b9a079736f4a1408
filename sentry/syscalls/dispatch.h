#pragma once
// The syscall dispatcher: from a ring entry to a handler and back to the stub.

#include <cstdint>

#include "base/error.h"

namespace moat {

class Process;
struct SyscallContext;

// Serves one ring entry of a process (a slot index posted by its stub).
void handle_ring_entry(Process& process, uint32_t slot_index);

// Finishes a syscall: counts it, traces it, and replies to the stub unless
// the handler already did (exit).
void complete_syscall(SyscallContext& ctx, ErrorOr<int64_t> result);

}  // namespace moat
