#pragma once
// vfork and clone(CLONE_VM | CLONE_VFORK): the child shares its parent's
// memory until it execs or exits, and may write to it (glibc's posix_spawn
// passes the exec error back that way). moat's child runs on a host fork of
// the parent, a copy-on-write copy; when it releases its parent, the pages it
// wrote are copied back into the parent, which has been waiting all along.
//
// A page the child wrote is one mapped in the child alone (pagemap's
// "exclusively mapped" bit) and backed by anonymous memory. With the parent's
// other threads running, a page they wrote is exclusive in the child too
// (it holds the old content), so then only the bytes the child changed in
// a window of the caller's stack, from its stack pointer up, are copied:
// its frames, where posix_spawn's child leaves the exec error. A window,
// not the stack's mapping: a Go goroutine's stack lies in a heap arena
// that the other threads write.

namespace moat {

class Process;

// Copies what a vfork child wrote into its waiting parent. Called at the
// child's exit (before its host process goes) and at its execve (before the
// old image is unmapped). A no-op for other processes.
void copy_back_vfork_memory(Process& child);

// Keeps the vfork caller's stack window as the child starts (called once
// the child's memory exists, before it runs).
void snapshot_vfork_window(Process& child);

}  // namespace moat
