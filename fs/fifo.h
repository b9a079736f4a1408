#pragma once
// Named pipes (FIFOs) of the sandbox's tmpfs (mknod S_IFIFO, mkfifo).
//
// A FIFO's data goes through a host pipe, kept between opens as an O_PATH
// fd of the pipe's inode: each open reopens it through /proc/self/fd, so all
// openers share one buffer, and the host pipe (with its buffer) goes when
// its last end closes, as a FIFO's does. A reopened pipe has none of a
// FIFO's open rules, so the sentry keeps them, counting the guest's readers
// and writers:
// - a non-blocking writer with no reader is ENXIO;
// - a blocking open waits for the other side: the open handler leaves the
//   wait to the dispatcher (fs::HostFetch::defer_wait), which a signal
//   interrupts, and takes the description when the other side has come.
//   Where a handler cannot leave work (it changed the tree already), the
//   wait moves to the first I/O: a blocking reader opened with no writer
//   first waits for a writer to open (then reads, EOF included, as usual);
//   a blocking writer opened with no reader waits for a reader before it
//   writes.
// Host ends are non-blocking; a blocking guest read or write waits with an
// io_uring poll, which a signal interrupts.

#include <memory>

#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

struct FifoState;

std::shared_ptr<FifoState> make_fifo_state();

// open(2) of a FIFO whose state is fifo; loc is the FIFO's location.
ErrorOr<RefPtr<File>> open_fifo(const std::shared_ptr<FifoState>& fifo, const Location& loc, int flags);

}  // namespace moat::fs
