#pragma once
// Awaitables for work a stub thread does on the sentry's instruction. The
// thread must be inside the sentry (its slot owned by the sentry): during its
// own syscall, or before it first runs.

#include <coroutine>
#include <cstdint>

#include "sentry/kernel/process.h"
#include "sentry/platform/stub_process.h"

namespace moat {

// Suspends until the stub thread reports (its HELLO, or an op result).
struct StubReport {
  Thread& thread;
  bool await_ready() const noexcept { return thread.stub_reported; }
  void await_suspend(std::coroutine_handle<> h) noexcept { thread.stub_waiter = h; }
  int64_t await_resume() noexcept {
    thread.stub_reported = false;
    thread.stub_waiter = {};
    return thread.stub_result;
  }
};

// Asks the stub thread to run one host operation and waits for its result.
struct StubOp : StubReport {
  uint64_t op;
  uint64_t nr;
  uint64_t args[6];
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    thread.stub_waiter = h;
    thread.stub_reported = false;
    moat_slot* slot = thread.process().stub().slot(thread.slot_index());
    slot->op = op;
    slot->op_nr = nr;
    for (int i = 0; i < 6; i++) slot->op_args[i] = args[i];
    post_reply(slot, MOAT_REPLY_OP);
  }
};

inline StubOp stub_syscall(Thread& t, long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                           uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
  return StubOp{{t}, MOAT_OP_SYSCALL, static_cast<uint64_t>(nr), {a0, a1, a2, a3, a4, a5}};
}

// mmap with a host fd that the caller has just sent with StubProcess::send_fd.
inline StubOp stub_mmap_fd(Thread& t, uint64_t addr, uint64_t len, int prot, int flags, uint64_t offset) {
  return StubOp{{t},
                MOAT_OP_MMAP_FD,
                0,
                {addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags), 0, offset}};
}

}  // namespace moat
