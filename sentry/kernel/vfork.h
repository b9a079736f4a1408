#pragma once
// vfork and clone(CLONE_VM | CLONE_VFORK): the child shares its parent's
// memory until it execs or exits, and may write to it (glibc's posix_spawn
// passes the exec error back that way). moat's child runs on a host fork of
// the parent, a copy-on-write copy; when it releases its parent, the pages it
// wrote are copied back into the parent, which has been waiting all along.
//
// A page the child wrote is one mapped in the child alone (pagemap's
// "exclusively mapped" bit) and backed by anonymous memory. With the parent's
// other threads running, a page they wrote is exclusive in the child too,
// so then only the vfork caller's stack (which nobody else writes) is copied.

namespace moat {

class Process;

// Copies what a vfork child wrote into its waiting parent. Called at the
// child's exit (before its host process goes) and at its execve (before the
// old image is unmapped). A no-op for other processes.
void copy_back_vfork_memory(Process& child);

}  // namespace moat
