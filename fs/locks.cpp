#include "fs/locks.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "fs/file.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

namespace {

enum class Kind : uint8_t { Flock, Posix, Ofd };

struct HeldLock {
  Kind kind;
  const void* owner;
  pid_t pid;
  LockRange range;  // flock locks span the whole file
};

// A coroutine waiting for a change on an inode. done is set by whichever
// comes first, the change or a signal, and only that one resumes it.
struct Waiter {
  std::coroutine_handle<> handle;
  bool done = false;
};

struct InodeLocks {
  std::vector<HeldLock> locks;
  std::vector<std::shared_ptr<Waiter>> waiters;
  uint64_t generation = 0;  // bumped on every change, so no wake-up is lost
};

bool overlaps(const LockRange& a, const LockRange& b) { return a.start <= b.end && b.start <= a.end; }
bool conflicting_types(short a, short b) { return a == F_WRLCK || b == F_WRLCK; }

class LockTable {
 public:
  static LockTable& get() {
    static LockTable table;
    return table;
  }

  std::mutex mutex;
  std::map<LockKey, InodeLocks> inodes;  // guarded by mutex
  // POSIX owners blocked in F_SETLKW and the owner each waits for, for
  // deadlock detection (posix_locks_deadlock). Guarded by mutex.
  std::map<const void*, const void*> blocked_on;
  // How many locks of each family exist: the close paths skip the table
  // (and the stat) when there are none.
  std::atomic<size_t> posix_count{0};
  std::atomic<size_t> description_count{0};

  // Wakes every waiter of the inode; called with the mutex held, the
  // resumption itself happens later on the worker.
  void changed_locked(InodeLocks& inode) {
    ++inode.generation;
    for (auto& w : inode.waiters)
      if (!w->done) {
        w->done = true;
        resume_later(w->handle);
      }
    inode.waiters.clear();
  }

  void count(const HeldLock& l, int delta) {
    auto& c = l.kind == Kind::Posix ? posix_count : description_count;
    if (delta > 0)
      c.fetch_add(1, std::memory_order_relaxed);
    else
      c.fetch_sub(1, std::memory_order_relaxed);
  }

  void drop_if_unused_locked(const LockKey& key) {
    auto it = inodes.find(key);
    if (it != inodes.end() && it->second.locks.empty() && it->second.waiters.empty()) inodes.erase(it);
  }

  void cancel(const LockKey& key, const std::shared_ptr<Waiter>& w) {
    std::lock_guard lock(mutex);
    if (w->done) return;
    w->done = true;
    if (auto it = inodes.find(key); it != inodes.end()) std::erase(it->second.waiters, w);
    resume_later(w->handle);
  }
};

// Suspends until the inode changes after `generation`, or a signal.
struct ChangeAwaiter {
  LockTable& table;
  LockKey key;
  uint64_t generation;
  std::shared_ptr<Waiter> waiter = std::make_shared<Waiter>();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    {
      std::lock_guard lock(table.mutex);
      InodeLocks& inode = table.inodes[key];
      if (inode.generation != generation) return false;  // changed meanwhile: look again
      waiter->handle = h;
      inode.waiters.push_back(waiter);
    }
    on_interrupt([t = &table, key = key, w = waiter] { t->cancel(key, w); });
    return true;
  }
  void await_resume() const noexcept {}
};

// The first lock of another owner that conflicts with `want` of `kind`.
const HeldLock* find_conflict(const InodeLocks& inode, Kind kind, const void* owner, const LockRange& want) {
  for (const HeldLock& l : inode.locks) {
    if (l.owner == owner) continue;
    bool flock_family = l.kind == Kind::Flock;
    if (flock_family != (kind == Kind::Flock)) continue;  // flock and fcntl locks never meet
    if (!overlaps(l.range, want)) continue;
    if (conflicting_types(l.range.type, want.type)) return &l;
  }
  return nullptr;
}

// Whether POSIX owner `me` waiting for `blocker` closes a cycle of waits.
bool would_deadlock_locked(LockTable& table, const void* me, const void* blocker) {
  for (int depth = 0; depth < 10 && blocker; ++depth) {  // MAX_DEADLK_ITERATIONS
    if (blocker == me) return true;
    auto it = table.blocked_on.find(blocker);
    blocker = it == table.blocked_on.end() ? nullptr : it->second;
  }
  return false;
}

// Replaces owner's byte-range locks over want.range with want (or removes
// them for F_UNLCK), splitting and merging as posix_lock_inode does.
void apply_range_locked(LockTable& table, InodeLocks& inode, Kind kind, const void* owner, pid_t pid,
                        LockRange want) {
  std::vector<HeldLock> out;
  out.reserve(inode.locks.size() + 2);
  bool lock = want.type != F_UNLCK;
  for (const HeldLock& l : inode.locks) {
    if (l.owner != owner || l.kind != kind) {
      out.push_back(l);
      continue;
    }
    bool adjacent = (l.range.end != kLockToEof && l.range.end + 1 == want.start) ||
                    (want.end != kLockToEof && want.end + 1 == l.range.start);
    if (!overlaps(l.range, want) && !(lock && adjacent && l.range.type == want.type)) {
      out.push_back(l);
      continue;
    }
    table.count(l, -1);
    if (lock && l.range.type == want.type) {
      // The same type: the new lock absorbs it.
      want.start = std::min(want.start, l.range.start);
      want.end = std::max(want.end, l.range.end);
      continue;
    }
    // Another type, or an unlock: the parts outside the new range stay.
    if (l.range.start < want.start) {
      HeldLock head = l;
      head.range.end = want.start - 1;
      out.push_back(head);
      table.count(head, 1);
    }
    if (l.range.end > want.end) {
      HeldLock tail = l;
      tail.range.start = want.end + 1;
      out.push_back(tail);
      table.count(tail, 1);
    }
  }
  if (lock) {
    HeldLock l{kind, owner, pid, want};
    out.push_back(l);
    table.count(l, 1);
  }
  inode.locks = std::move(out);
  table.changed_locked(inode);
}

}  // namespace

ErrorOr<LockKey> lock_key_of(const File& file) {
  // A path's inode from its node (the same whichever description reaches
  // it); an anonymous file (pipe, stdio) from the host object.
  struct stat st = TRY(file.location().anonymous ? file.stat() : file.node().stat());
  return LockKey{&file.node().fs_info(), st.st_dev, st.st_ino};
}

Coro<ErrorOr<void>> flock_file(Thread& thread, File& file, int op) {
  CO_TRY_ASSIGN(LockKey key, lock_key_of(file));
  LockTable& table = LockTable::get();
  int cmd = op & ~LOCK_NB;
  short type = cmd == LOCK_SH ? F_RDLCK : cmd == LOCK_EX ? F_WRLCK : F_UNLCK;
  const void* owner = &file;
  for (;;) {
    uint64_t generation;
    {
      std::lock_guard lock(table.mutex);
      InodeLocks& inode = table.inodes[key];
      // flock_lock_inode: a held lock of this description is dropped first
      // (kept when it already has the type asked for).
      auto mine = std::find_if(inode.locks.begin(), inode.locks.end(),
                               [&](const HeldLock& l) { return l.kind == Kind::Flock && l.owner == owner; });
      if (mine != inode.locks.end()) {
        if (mine->range.type == type) co_return ErrorOr<void>{};
        table.count(*mine, -1);
        inode.locks.erase(mine);
        table.changed_locked(inode);
      }
      if (type == F_UNLCK) {
        table.drop_if_unused_locked(key);
        co_return ErrorOr<void>{};
      }
      LockRange whole{type, 0, kLockToEof};
      if (!find_conflict(inode, Kind::Flock, owner, whole)) {
        HeldLock l{Kind::Flock, owner, 0, whole};
        inode.locks.push_back(l);
        table.count(l, 1);
        co_return ErrorOr<void>{};
      }
      if (op & LOCK_NB) {
        table.drop_if_unused_locked(key);
        co_return Errno::AGAIN;  // EWOULDBLOCK
      }
      generation = inode.generation;
    }
    ChangeAwaiter change{table, key, generation};  // named: GCC 12 destroys co_await temporaries twice
    co_await change;
    if (thread.interrupted) co_return Errno::RestartSys;
  }
}

Coro<ErrorOr<void>> set_record_lock(Thread& thread, File& file, LockOwnerKind owner_kind, const void* owner,
                                    pid_t pid, LockRange range, bool wait) {
  CO_TRY_ASSIGN(LockKey key, lock_key_of(file));
  LockTable& table = LockTable::get();
  Kind kind = owner_kind == LockOwnerKind::Posix ? Kind::Posix : Kind::Ofd;
  for (;;) {
    uint64_t generation;
    {
      std::lock_guard lock(table.mutex);
      table.blocked_on.erase(owner);
      InodeLocks& inode = table.inodes[key];
      const HeldLock* conflict = range.type == F_UNLCK ? nullptr : find_conflict(inode, kind, owner, range);
      if (!conflict) {
        apply_range_locked(table, inode, kind, owner, pid, range);
        table.drop_if_unused_locked(key);
        co_return ErrorOr<void>{};
      }
      if (!wait) {
        table.drop_if_unused_locked(key);
        co_return Errno::AGAIN;
      }
      if (kind == Kind::Posix && conflict->kind == Kind::Posix) {
        if (would_deadlock_locked(table, owner, conflict->owner)) {
          table.drop_if_unused_locked(key);
          co_return errno_from_host(EDEADLK);
        }
        table.blocked_on[owner] = conflict->owner;
      }
      generation = inode.generation;
    }
    ChangeAwaiter change{table, key, generation};  // named: GCC 12 destroys co_await temporaries twice
    co_await change;
    if (thread.interrupted) {
      std::lock_guard lock(table.mutex);
      table.blocked_on.erase(owner);
      table.drop_if_unused_locked(key);
      co_return Errno::RestartSys;
    }
  }
}

ErrorOr<std::optional<LockConflict>> test_record_lock(const File& file, const void* owner, LockRange range) {
  LockKey key = TRY(lock_key_of(file));
  LockTable& table = LockTable::get();
  std::lock_guard lock(table.mutex);
  auto it = table.inodes.find(key);
  if (it == table.inodes.end()) return std::optional<LockConflict>{};
  // Both families of byte-range locks answer; the kind only tells flock apart.
  const HeldLock* conflict = find_conflict(it->second, Kind::Posix, owner, range);
  if (!conflict) return std::optional<LockConflict>{};
  return std::optional<LockConflict>{LockConflict{conflict->range, conflict->kind == Kind::Ofd ? -1 : conflict->pid}};
}

void release_posix_locks(const void* owner, const File& file) {
  LockTable& table = LockTable::get();
  if (table.posix_count.load(std::memory_order_relaxed) == 0) return;
  auto key = lock_key_of(file);
  if (key.is_error()) return;
  std::lock_guard lock(table.mutex);
  auto it = table.inodes.find(key.value());
  if (it == table.inodes.end()) return;
  InodeLocks& inode = it->second;
  size_t before = inode.locks.size();
  std::erase_if(inode.locks, [&](const HeldLock& l) {
    if (l.kind != Kind::Posix || l.owner != owner) return false;
    table.count(l, -1);
    return true;
  });
  if (inode.locks.size() != before) table.changed_locked(inode);
  table.drop_if_unused_locked(key.value());
}

void release_description_locks(const File* file) {
  LockTable& table = LockTable::get();
  if (table.description_count.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(table.mutex);
  for (auto it = table.inodes.begin(); it != table.inodes.end();) {
    InodeLocks& inode = it->second;
    size_t before = inode.locks.size();
    std::erase_if(inode.locks, [&](const HeldLock& l) {
      if (l.kind == Kind::Posix || l.owner != file) return false;
      table.count(l, -1);
      return true;
    });
    if (inode.locks.size() != before) table.changed_locked(inode);
    if (inode.locks.empty() && inode.waiters.empty())
      it = table.inodes.erase(it);
    else
      ++it;
  }
}

}  // namespace moat::fs
