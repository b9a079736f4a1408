#pragma once
// What a syscall handler sees: the calling thread and the decoded arguments.
//
// Handlers are thin: decode arguments, look up the object, check rights, call
// the object's method. Two kinds exist: SyncHandler for calls that never
// block, AsyncHandler (a coroutine) for calls that may block or that need the
// stub to run a host operation (memory mapping).

#include <cstdint>

#include "base/error.h"
#include "sentry/io/coro.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"

namespace moat {

struct SyscallContext {
  Thread& thread;
  uint64_t nr;
  uint64_t args[6];
  // Set by a handler that answered the stub itself (exit, exit_group).
  bool replied = false;
  // Set by a handler whose EPIPE raises no SIGPIPE (send with MSG_NOSIGNAL).
  bool suppress_sigpipe = false;
  // When the sentry took the call (TSC), for --strace=summary.
  uint64_t start_tsc = 0;

  Process& process() const { return thread.process(); }
  Sandbox& sandbox() const { return thread.process().sandbox(); }
  const UserMemory& mem() const { return thread.process().mem(); }
  uint64_t arg(int i) const { return args[i]; }
  int32_t arg_int(int i) const { return static_cast<int32_t>(args[i]); }
  template <typename T>
  UserPtr<T> arg_ptr(int i) const { return UserPtr<T>(args[i]); }
};

// An async handler's result known before any await: a handler that is not
// itself a coroutine (it forwards to one) returns errors through this.
inline Coro<ErrorOr<int64_t>> async_result(ErrorOr<int64_t> r) { co_return r; }

using SyncHandler = ErrorOr<int64_t> (*)(SyscallContext&);
using AsyncHandler = Coro<ErrorOr<int64_t>> (*)(SyscallContext&);

}  // namespace moat
