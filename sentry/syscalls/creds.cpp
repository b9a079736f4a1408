// The set*id family: credentials live in the sentry (Process::creds); the
// host stub process keeps its own, unprivileged ones. Rules from
// credentials(7) and kernel/sys.c: a process with effective uid 0 (moat's
// stand-in for CAP_SETUID/CAP_SETGID) may set any id; others may only move
// among their real, effective and saved ids.

#include <grp.h>
#include <sys/types.h>

#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr uint32_t kUnchanged = static_cast<uint32_t>(-1);

bool privileged(const Credentials& c) { return c.euid == 0; }

// One of the process's current ids (or "unchanged").
template <typename Id>
bool allowed(Id want, Id r, Id e, Id s) {
  return want == static_cast<Id>(kUnchanged) || want == r || want == e || want == s;
}

}  // namespace

// Implements Linux setresuid(2).
ErrorOr<int64_t> sys_setresuid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto r = static_cast<uid_t>(ctx.arg(0)), e = static_cast<uid_t>(ctx.arg(1)), s = static_cast<uid_t>(ctx.arg(2));
  if (!privileged(c) && !(allowed(r, c.uid, c.euid, c.suid) && allowed(e, c.uid, c.euid, c.suid) &&
                          allowed(s, c.uid, c.euid, c.suid)))
    return Errno::PERM;
  if (r != kUnchanged) c.uid = r;
  if (e != kUnchanged) c.euid = e;
  if (s != kUnchanged) c.suid = s;
  return 0;
}

// Implements Linux setresgid(2).
ErrorOr<int64_t> sys_setresgid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto r = static_cast<gid_t>(ctx.arg(0)), e = static_cast<gid_t>(ctx.arg(1)), s = static_cast<gid_t>(ctx.arg(2));
  if (!privileged(c) && !(allowed(r, c.gid, c.egid, c.sgid) && allowed(e, c.gid, c.egid, c.sgid) &&
                          allowed(s, c.gid, c.egid, c.sgid)))
    return Errno::PERM;
  if (r != kUnchanged) c.gid = r;
  if (e != kUnchanged) c.egid = e;
  if (s != kUnchanged) c.sgid = s;
  return 0;
}

// Implements Linux setuid(2): privileged, all three ids; else the effective one.
ErrorOr<int64_t> sys_setuid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto id = static_cast<uid_t>(ctx.arg(0));
  if (id == kUnchanged) return Errno::INVAL;
  if (privileged(c)) {
    c.uid = c.euid = c.suid = id;
    return 0;
  }
  if (id != c.uid && id != c.suid) return Errno::PERM;
  c.euid = id;
  return 0;
}

// Implements Linux setgid(2).
ErrorOr<int64_t> sys_setgid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto id = static_cast<gid_t>(ctx.arg(0));
  if (id == kUnchanged) return Errno::INVAL;
  if (privileged(c)) {
    c.gid = c.egid = c.sgid = id;
    return 0;
  }
  if (id != c.gid && id != c.sgid) return Errno::PERM;
  c.egid = id;
  return 0;
}

// Implements Linux setreuid(2).
ErrorOr<int64_t> sys_setreuid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto r = static_cast<uid_t>(ctx.arg(0)), e = static_cast<uid_t>(ctx.arg(1));
  if (!privileged(c)) {
    if (r != kUnchanged && r != c.uid && r != c.euid) return Errno::PERM;
    if (e != kUnchanged && e != c.uid && e != c.euid && e != c.suid) return Errno::PERM;
  }
  uid_t old_ruid = c.uid;
  if (r != kUnchanged) c.uid = r;
  if (e != kUnchanged) c.euid = e;
  // The saved id follows the new effective one when the real id is set or
  // the effective one moves away from the old real id.
  if (r != kUnchanged || (e != kUnchanged && e != old_ruid)) c.suid = c.euid;
  return 0;
}

// Implements Linux setregid(2).
ErrorOr<int64_t> sys_setregid(SyscallContext& ctx) {
  Credentials& c = ctx.process().creds;
  auto r = static_cast<gid_t>(ctx.arg(0)), e = static_cast<gid_t>(ctx.arg(1));
  if (!privileged(c)) {
    if (r != kUnchanged && r != c.gid && r != c.egid) return Errno::PERM;
    if (e != kUnchanged && e != c.gid && e != c.egid && e != c.sgid) return Errno::PERM;
  }
  gid_t old_rgid = c.gid;
  if (r != kUnchanged) c.gid = r;
  if (e != kUnchanged) c.egid = e;
  if (r != kUnchanged || (e != kUnchanged && e != old_rgid)) c.sgid = c.egid;
  return 0;
}

// Implements Linux setgroups(2). Supplementary groups are not kept yet
// (getgroups reports none); setting them needs privilege, as in Linux.
ErrorOr<int64_t> sys_setgroups(SyscallContext& ctx) {
  int64_t size = static_cast<int32_t>(ctx.arg(0));
  if (size < 0 || size > NGROUPS_MAX) return Errno::INVAL;
  if (!privileged(ctx.process().creds)) return Errno::PERM;
  std::vector<gid_t> groups(static_cast<size_t>(size));
  if (size) TRY(ctx.mem().read(ctx.arg(1), groups.data(), groups.size() * sizeof(gid_t)));
  return 0;
}

// Implements Linux setfsuid(2): returns the previous fsuid (moat keeps fsuid
// equal to the effective uid).
ErrorOr<int64_t> sys_setfsuid(SyscallContext& ctx) { return ctx.process().creds.euid; }

// Implements Linux setfsgid(2).
ErrorOr<int64_t> sys_setfsgid(SyscallContext& ctx) { return ctx.process().creds.egid; }

}  // namespace moat
