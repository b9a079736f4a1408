#pragma once
// Advisory file locks (the kernel's fs/locks.c):
//
// - flock(2) locks belong to an open file description (a File) and end with
//   it or with LOCK_UN.
// - POSIX record locks (fcntl F_SETLK) belong to an fd table, as Linux's
//   belong to a files_struct: threads share them, a forked child does not
//   inherit them, and closing any fd of the file in that table releases
//   them all (fs/fd_table.cpp calls release_posix_locks).
// - OFD locks (F_OFD_SETLK) are byte-range locks owned by an open file
//   description; they conflict with POSIX locks of other owners.
//
// Locks are kept per inode (LockKey) in one table per sentry. A blocking
// request is a coroutine that waits for a change on that inode; a signal
// ends the wait with ERESTARTSYS (the dispatcher makes it EINTR or a
// restart). Waiters are resumed from the worker's loop, never under the
// table's mutex, which is a leaf lock.

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "base/error.h"
#include "sentry/io/coro.h"

namespace moat {
class Thread;
}

namespace moat::fs {

class File;
struct FsInfo;

// Which inode a lock is on: the filesystem instance and its (dev, ino).
struct LockKey {
  const FsInfo* fs = nullptr;
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const LockKey&) const = default;
};
ErrorOr<LockKey> lock_key_of(const File& file);

enum class LockOwnerKind : uint8_t { Posix, Ofd };

// The last byte a lock reaches when it runs to the end of the file
// (OFFSET_MAX).
constexpr int64_t kLockToEof = INT64_MAX;

// A byte range [start, end] (inclusive) and a type (F_RDLCK, F_WRLCK,
// F_UNLCK).
struct LockRange {
  short type = 0;
  int64_t start = 0;
  int64_t end = kLockToEof;
};

// What F_GETLK reports: a lock that would block the request.
struct LockConflict {
  LockRange range;
  pid_t pid = 0;  // -1 for OFD locks
};

// flock(2) on file: LOCK_SH, LOCK_EX or LOCK_UN, maybe | LOCK_NB. Changing
// the type of a held lock drops it first, as Linux does (not atomic).
Coro<ErrorOr<void>> flock_file(Thread& thread, File& file, int op);

// F_SETLK / F_SETLKW / F_OFD_SETLK / F_OFD_SETLKW. owner: the fd table
// (POSIX) or the File (OFD); pid: the guest pid F_GETLK reports. wait:
// block until the range is free (EDEADLK when two POSIX owners would wait
// for each other).
Coro<ErrorOr<void>> set_record_lock(Thread& thread, File& file, LockOwnerKind kind, const void* owner, pid_t pid,
                                    LockRange range, bool wait);

// F_GETLK / F_OFD_GETLK: the first lock of another owner that conflicts.
ErrorOr<std::optional<LockConflict>> test_record_lock(const File& file, const void* owner, LockRange range);

// An fd of `file` in fd table `owner` closes: its POSIX locks on that inode go.
void release_posix_locks(const void* owner, const File& file);
// An open file description ends: its flock and OFD locks go.
void release_description_locks(const File* file);

}  // namespace moat::fs
