#pragma once
// Pseudo-terminals (pty(7)): /dev/ptmx makes a pair, the master stays with
// the opener and the replica appears as /dev/pts/N; /dev/tty is the
// caller's controlling terminal. The line discipline is fs/termios.h.
//
// Who holds whom: a PtyMasterFile and every PtyReplicaFile hold the Pty
// (RefPtr); /dev/pts/N nodes are made per lookup and hold it too. The
// sandbox's DevPts (shared by /dev/ptmx, /dev/pts and /dev/tty) lists the
// ptys whose master is open, by raw pointer: the master's close takes the
// pty off the list (its number is free again, /dev/pts/N is gone).
//
// Controlling terminals (credentials(7), tty_ioctl(4)): a pty records the
// session it controls and its foreground process group; a process's
// controlling terminal is the pty whose session is the process's. Session
// ids are pids, never reused in a sandbox, so nothing on Process is needed.
//
// Threads: every pty of a sandbox is used from the sandbox's worker only
// (like WaitQueue); no lock. Blocked readers and writers wait on the pty's
// wait list (woken from the worker's loop, interrupted by signals); poll and
// epoll watch one host eventfd per side, readable while that side is.

#include <sys/ioctl.h>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs {

struct FsInfo;

// The devpts nodes of one sandbox's /dev.
struct DevPtsNodes {
  RefPtr<Node> ptmx;  // /dev/ptmx, character device 5:2
  RefPtr<Node> pts;   // /dev/pts, a devpts directory (its ptmx too)
  RefPtr<Node> tty;   // /dev/tty, character device 5:0
};
// devfs: the filesystem /dev/ptmx and /dev/tty belong to.
DevPtsNodes create_devpts(std::shared_ptr<const FsInfo> devfs, ino_t ptmx_ino, ino_t tty_ino);

// `moat do -t`: opens a new pty for process as if it opened /dev/ptmx and
// /dev/pts/N, installs the replica as its fds 0, 1 and 2, and makes it the
// controlling terminal of process's session with process's group in the
// foreground. Returns the master, for the sentry to copy to and from the
// user's terminal.
ErrorOr<RefPtr<File>> attach_new_pty(Process& process, const struct winsize& size);

// A master's window size, as TIOCSWINSZ sets it (SIGWINCH to the
// foreground group when it changes). EINVAL when master is not a pty master.
ErrorOr<void> pty_set_window_size(File& master, const struct winsize& size);

// Makes reads of master end (EIO, once what is queued has been read) as if
// every replica had been closed: the sentry's copy loop ends with the guest.
void pty_hang_up_replica(File& master);

// The controlling terminal's device number of p (/proc/PID/stat's tty_nr),
// 0 without one.
dev_t controlling_tty_device(Process& p);

// The session leader p exits: its controlling terminal's foreground group
// gets SIGHUP and the terminal belongs to no session any more (the kernel's
// disassociate_ctty(1)).
void session_leader_exited(Process& p);

}  // namespace moat::fs
