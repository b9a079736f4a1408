// Process groups and sessions: setpgid, getpgid, getpgrp, setsid, getsid.
// Rules from setpgid(2) and setsid(2). FIXME: controlling terminals (ptys).

#include "sentry/kernel/sandbox.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

ErrorOr<Process*> lookup(SyscallContext& ctx, pid_t pid) {
  if (pid < 0) return Errno::INVAL;
  if (pid == 0 || pid == ctx.process().pid()) return &ctx.process();
  Process* p = ctx.sandbox().find_process(pid);
  if (!p || p->zombie) return Errno::SRCH;
  return p;
}

}  // namespace

// Implements Linux setpgid(2).
ErrorOr<int64_t> sys_setpgid(SyscallContext& ctx) {
  pid_t pid = ctx.arg_int(0), pgid = ctx.arg_int(1);
  if (pgid < 0) return Errno::INVAL;
  Process& me = ctx.process();
  Process* target = TRY(lookup(ctx, pid));
  // The caller itself or one of its children.
  if (target != &me && target->ppid() != me.pid()) return Errno::SRCH;
  if (target != &me && target->has_execed) return Errno::ACCES;
  if (target->sid == target->pid()) return Errno::PERM;  // a session leader
  if (target != &me && target->sid != me.sid) return Errno::PERM;
  if (pgid == 0) pgid = target->pid();
  if (pgid != target->pid()) {
    // Joining a group: it must exist in the caller's session.
    bool exists = false;
    for (Process* p : ctx.sandbox().processes()) exists |= !p->zombie && p->pgid == pgid && p->sid == me.sid;
    if (!exists) return Errno::PERM;
  }
  target->pgid = pgid;
  return 0;
}

// Implements Linux getpgid(2).
ErrorOr<int64_t> sys_getpgid(SyscallContext& ctx) {
  Process* p = TRY(lookup(ctx, ctx.arg_int(0)));
  return p->pgid;
}

// Implements Linux getpgrp(2).
ErrorOr<int64_t> sys_getpgrp(SyscallContext& ctx) { return ctx.process().pgid; }

// Implements Linux setsid(2).
ErrorOr<int64_t> sys_setsid(SyscallContext& ctx) {
  Process& me = ctx.process();
  // A process group leader may not (some other process may share its group).
  for (Process* p : ctx.sandbox().processes())
    if (!p->zombie && p->pgid == me.pid()) return Errno::PERM;
  me.sid = me.pgid = me.pid();
  return me.sid;
}

// Implements Linux getsid(2).
ErrorOr<int64_t> sys_getsid(SyscallContext& ctx) {
  Process* p = TRY(lookup(ctx, ctx.arg_int(0)));
  return p->sid;
}

}  // namespace moat
