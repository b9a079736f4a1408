#pragma once
// Futex wait queues (futex(2), and the futex2 calls).
//
// A futex is known by its key (the kernel's get_futex_key):
// - a FUTEX_PRIVATE_FLAG op, or a shared op on private memory: the process
//   and the address, kept in the process's own FutexTable (two kinds, since
//   Linux keys a private and a shared op on one word apart);
// - a shared op on MAP_SHARED memory: what backs the memory (a file's
//   device and inode, or an anonymous shared mapping's identity, inherited
//   across fork) and the offset in it, kept in the sandbox's FutexTable so
//   every process that maps the object meets on one queue.
//
// Waiters are coroutines of guest threads. All the processes of a sandbox
// are served by one worker (fork attaches the child to its parent's), so no
// lock (FIXME: a lock and cross-worker resumption when a sandbox spreads over
// workers, as for WaitQueue).
//
// Lifetime: a FutexWait and its FutexWaiter entries live in the waiting
// handler's coroutine frame; a table only points at them. The frame goes
// only after the coroutine resumes, and on resume the entries leave every
// queue (FutexAwait in sentry/syscalls/futex.cpp).

#include <coroutine>
#include <cstdint>
#include <list>
#include <map>
#include <vector>

#include "base/error.h"

namespace moat {

class Process;
class Thread;
struct FutexTimeout;

struct FutexKey {
  enum class Kind : uint8_t {
    Private,        // FUTEX_PRIVATE_FLAG: object 0, offset = address
    ProcessShared,  // shared op on private memory: object 0, offset = address
    SharedAnon,     // MAP_SHARED | MAP_ANONYMOUS: object = mapping identity
    SharedFile,     // MAP_SHARED file: device, inode
  };
  Kind kind = Kind::Private;
  uint64_t device = 0;
  uint64_t object = 0;
  uint64_t offset = 0;

  bool in_process_table() const { return kind == Kind::Private || kind == Kind::ProcessShared; }
  auto operator<=>(const FutexKey&) const = default;
};

// Whether the op said FUTEX_PRIVATE_FLAG (FUTEX2_PRIVATE).
enum class FutexScope { Private, Shared };

// Resolves a guest address to its futex key (kernel get_futex_key): EINVAL
// when unaligned, EFAULT outside the user address space or, for a shared
// op, when nothing is mapped there.
ErrorOr<FutexKey> futex_key(Process& p, uint64_t addr, FutexScope scope);

class FutexTable;

// The table a key's queue lives in: the process's or the sandbox's.
FutexTable& futex_table(Process& p, const FutexKey& key);

// One wait: a guest thread's coroutine asleep on one futex (futex(2)) or on
// several (futex_waitv(2)), each a FutexWaiter on some queue. It ends once:
// woken, timed out or interrupted; whoever ends it resumes it. Its queue
// entries may stay behind until it resumes (then it takes them off): an
// entry of an ended wait is dead, and wakes skip it.
struct FutexWait {
  enum class State : uint8_t { Waiting, Woken, TimedOut, Interrupted };
  State state = State::Waiting;
  Thread* thread = nullptr;
  std::coroutine_handle<> handle;
  FutexTimeout* timeout = nullptr;  // pending io_uring timeout, if any
  int woken_index = -1;             // which of its futexes was woken
};

// A wait's entry on the queue of one futex.
struct FutexWaiter {
  FutexKey key;
  FutexTable* table = nullptr;  // the queue it is on, if any
  FutexWait* wait = nullptr;
  uint32_t bitset = 0xffffffff;
  int index = 0;  // its place in a futex_waitv array

  bool alive() const { return wait->state == FutexWait::State::Waiting; }
};

// How a wake resumes the waiters it takes: at once, from the waker's
// stack (a syscall's wake), or from the worker's loop (a wake on the way
// out of a thread or process, which must not run other completions inside).
enum class Resume { Now, Later };

class FutexTable {
 public:
  void enqueue(FutexWaiter* w);
  // Takes w off its queue (no-op when it is not on one).
  void remove(FutexWaiter* w);
  // Wakes up to n waits on key whose bitset intersects; returns how many.
  int wake(const FutexKey& key, int n, uint32_t bitset = 0xffffffff, Resume resume = Resume::Now);
  // Wakes up to n_wake waits on key and moves up to n_requeue more to key2
  // in table2 (kernel futex_requeue); returns woken + moved. A requeue onto
  // the same key moves no one but counts them all the same.
  int requeue(const FutexKey& key, int n_wake, FutexTable& table2, const FutexKey& key2, int n_requeue);
  // Ends the waits of every thread of p (its exit): they resume interrupted.
  void cancel_process(const Process& p);

 private:
  using Queue = std::list<FutexWaiter*>;
  // Ends w's wait as woken by w and takes w off q.
  static Queue::iterator take(Queue& q, Queue::iterator it, std::vector<FutexWait*>& woken);
  // Drops dead entries off q from it on; returns the first live one (or end).
  static Queue::iterator skip_dead(Queue& q, Queue::iterator it);
  static void resume_all(const std::vector<FutexWait*>& waits, Resume resume);
  std::map<FutexKey, Queue> m_queues;
};

}  // namespace moat
