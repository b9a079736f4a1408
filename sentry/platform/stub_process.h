#pragma once
// A stub process: one host process per guest address space, holding guest
// memory, the stub code and the shared region. Created by the sentry with no
// capabilities, no_new_privs, an empty mount namespace and new pid, ipc and
// uts namespaces; its only host fd is the control socket for fd passing.

#include <signal.h>
#include <ucontext.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "base/error.h"
#include "base/unique_fd.h"
#include "stub/layout.h"

namespace moat {

class StubProcess {
 public:
  // Creates the process and starts its init code; its thread 0 then posts
  // MOAT_REQ_HELLO on the ring. Must run on a thread that outlives the stub
  // (PR_SET_PDEATHSIG follows the creating thread).
  static ErrorOr<std::unique_ptr<StubProcess>> create();
  ~StubProcess();

  // The shared region and control socket of a child about to be forked from
  // parent's thread index: the region starts as a copy of that thread's
  // region (its slot and the signal frame the child returns through). The
  // returned process has no host pid until set_host(); child_control is the
  // socket end that goes to the stub (with MOAT_OP_FORK).
  static ErrorOr<std::unique_ptr<StubProcess>> prepare_fork(const StubProcess& parent, uint32_t index,
                                                            UniqueFd& child_control);
  // The forked host process, found by its pid in the stub's pid namespace.
  ErrorOr<void> adopt_forked(pid_t parent_host_pid, pid_t ns_pid);
  int memfd() const { return m_memfd.get(); }

  pid_t host_pid() const { return m_pid; }
  int pidfd() const { return m_pidfd.get(); }
  moat_header* header() const { return m_header; }
  moat_slot* slot(uint32_t index) const {
    return reinterpret_cast<moat_slot*>(reinterpret_cast<char*>(m_header) + MOAT_THREAD_REGION * (index + 1));
  }
  // The sentry-side address of a thread region (slot, then alternate stack).
  char* region(uint32_t index) const { return reinterpret_cast<char*>(slot(index)); }

  // The saved user context (registers) of thread index while it is inside
  // its SIGSYS handler: the signal frame is on the thread's alternate stack,
  // in shared memory. The offset comes from the stub, so it is checked to lie
  // within the thread's alternate stack; null when it does not. Changes take
  // effect when the handler returns.
  ucontext_t* trapped_context(uint32_t index, uint64_t ucontext_off) const {
    if (ucontext_off < 4096 || ucontext_off > MOAT_THREAD_REGION - sizeof(ucontext_t) || (ucontext_off & 7))
      return nullptr;
    return reinterpret_cast<ucontext_t*>(region(index) + ucontext_off);
  }

  // Sends host fds to the stub (received by MOAT_OP_MMAP_FD, MOAT_OP_FORK).
  ErrorOr<void> send_fd(int fd) { return send_fds(fd, -1); }
  ErrorOr<void> send_fds(int fd, int second);
  // Makes thread index, if it runs guest code, enter the sentry (a host
  // MOAT_INTERRUPT_SIGNAL to its stub thread).
  void interrupt_thread(uint32_t index);
  pid_t host_tid_of(uint32_t index);
  // Whether the host thread that ran slot index has exited. Thread 0 is the
  // process's leader, which stays as a zombie thread until the process ends.
  bool thread_gone(uint32_t index);
  // The leader host thread (slot 0) has exited while others run on (a guest
  // execve from another thread): slot 0 becomes an ordinary thread slot.
  void leader_exited() { m_leader_exited = true; }

  // Sends a signal to the host process through its pidfd (never to a pid
  // that may have been reused); waiting is the owner's business.
  void kill(int sig = SIGKILL);

  // Spin budget for the stub side, in TSC cycles.
  static uint64_t tsc_per_us();

 private:
  StubProcess() = default;
  ErrorOr<void> create_shared(UniqueFd& child_end);
  pid_t m_pid = -1;
  bool m_leader_exited = false;
  UniqueFd m_pidfd;
  UniqueFd m_memfd;
  UniqueFd m_control;  // sentry end of the socketpair
  moat_header* m_header = nullptr;
};

// Writes the reply of a slot and wakes its stub thread if it sleeps.
void post_reply(moat_slot* slot, uint32_t reply_kind);

}  // namespace moat
