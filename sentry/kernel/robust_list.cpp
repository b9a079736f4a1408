#include "sentry/kernel/robust_list.h"

#include <linux/futex.h>

#include <cstdint>
#include <utility>

#include "sentry/kernel/futex.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"

namespace moat {

namespace {

// struct robust_list_head as an x86-64 guest lays it out.
struct GuestRobustListHead {
  uint64_t next;  // struct robust_list *, bit 0: the entry is a PI futex
  int64_t futex_offset;
  uint64_t list_op_pending;
};
static_assert(sizeof(GuestRobustListHead) == 24);

// The kernel wakes with a shared op whatever the lock's kind
// (handle_futex_death), which is why glibc waits on robust mutexes and on
// its tid word with shared ops too.
void wake_one_shared(Process& p, uint64_t addr) {
  auto key = futex_key(p, addr, FutexScope::Shared);
  if (key.is_error()) return;
  futex_table(p, key.value()).wake(key.value(), 1, FUTEX_BITSET_MATCH_ANY, Resume::Later);
}

enum class Entry { Listed, Pending };

// One lock of a dying owner (the kernel's handle_futex_death). False when
// its word cannot be read or written: the walk stops there.
bool release_lock(Process& p, uint64_t addr, pid_t tid, bool pi, Entry entry) {
  if (addr & 3) return false;
  auto word = p.mem().read_obj(UserPtr<uint32_t>(addr));
  if (word.is_error()) return false;
  uint32_t value = word.value();
  // The owner died between unlocking (word 0) and waking a waiter: wake one
  // for it.
  if (entry == Entry::Pending && !pi && value == 0) {
    wake_one_shared(p, addr);
    return true;
  }
  if ((value & FUTEX_TID_MASK) != static_cast<uint32_t>(tid)) return true;
  // FIXME: the kernel swaps the word with a compare-and-exchange and retries
  // on a change; guest memory is only reachable by copies here, so a waiter
  // setting FUTEX_WAITERS in between loses that bit (its FUTEX_WAIT then
  // sees a changed word and retries, so no wake is lost).
  uint32_t died = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
  if (p.mem().write_obj(UserPtr<uint32_t>(addr), died).is_error()) return false;
  // PI futexes have no waiters in the sentry (FUTEX_LOCK_PI is ENOSYS).
  if (!pi && (value & FUTEX_WAITERS)) wake_one_shared(p, addr);
  return true;
}

}  // namespace

void exit_robust_list(Thread& t) {
  uint64_t head_addr = std::exchange(t.robust_list, 0);
  t.robust_list_len = 0;
  if (!head_addr) return;
  Process& p = t.process();
  auto head = p.mem().read_obj(UserPtr<GuestRobustListHead>(head_addr));
  if (head.is_error()) return;
  const int64_t offset = head.value().futex_offset;
  uint64_t entry = head.value().next & ~uint64_t{1};
  bool pi = head.value().next & 1;
  const uint64_t pending = head.value().list_op_pending & ~uint64_t{1};
  const bool pending_pi = head.value().list_op_pending & 1;
  // The list is circular through the head; the pending entry may or may not
  // be on it yet, and is handled once, last.
  for (int left = kRobustListLimit; entry != head_addr && left > 0; left--) {
    auto next = p.mem().read_obj(UserPtr<uint64_t>(entry));
    if (entry != pending && !release_lock(p, entry + static_cast<uint64_t>(offset), t.tid(), pi, Entry::Listed))
      return;
    if (next.is_error()) return;
    entry = next.value() & ~uint64_t{1};
    pi = next.value() & 1;
  }
  if (pending) release_lock(p, pending + static_cast<uint64_t>(offset), t.tid(), pending_pi, Entry::Pending);
}

void futex_thread_exit(Thread& t) {
  exit_robust_list(t);
  Process& p = t.process();
  if (uint64_t tid_addr = std::exchange(t.clear_child_tid, 0)) {
    if (!p.mem().write_obj(UserPtr<uint32_t>(tid_addr), 0u).is_error()) wake_one_shared(p, tid_addr);
  }
}

void futex_process_exit(Process& p) {
  for (Thread* t : p.live_thread_list()) exit_robust_list(*t);
  p.futexes().cancel_process(p);
  p.sandbox().shared_futexes().cancel_process(p);
}

void futex_exec(Thread& t) { exit_robust_list(t); }

}  // namespace moat
