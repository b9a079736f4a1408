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

// What a change of uids does to the capability sets (capabilities(7),
// "Effect of user ID changes on capabilities").
void update_capabilities(Credentials& c, const Credentials& old) {
  bool had_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
  if (had_root && c.uid != 0 && c.euid != 0 && c.suid != 0) c.cap_permitted = c.cap_effective = 0;
  if (old.euid == 0 && c.euid != 0) c.cap_effective = 0;
  if (old.euid != 0 && c.euid == 0) c.cap_effective = c.cap_permitted;
}

// Runs a uid change and applies its effect on capabilities.
template <typename Change>
ErrorOr<int64_t> change_uids(SyscallContext& ctx, Change change) {
  Credentials& c = ctx.process().creds;
  Credentials old = c;
  ErrorOr<int64_t> r = change(c);
  if (!r.is_error()) update_capabilities(c, old);
  return r;
}

}  // namespace

// Implements Linux setresuid(2).
ErrorOr<int64_t> sys_setresuid(SyscallContext& ctx) {
  return change_uids(ctx, [&](Credentials& c) -> ErrorOr<int64_t> {
  auto r = static_cast<uid_t>(ctx.arg(0)), e = static_cast<uid_t>(ctx.arg(1)), s = static_cast<uid_t>(ctx.arg(2));
  if (!privileged(c) && !(allowed(r, c.uid, c.euid, c.suid) && allowed(e, c.uid, c.euid, c.suid) &&
                          allowed(s, c.uid, c.euid, c.suid)))
    return Errno::PERM;
  if (r != kUnchanged) c.uid = r;
  if (e != kUnchanged) c.euid = e;
  if (s != kUnchanged) c.suid = s;
  return 0;
  });
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
  return change_uids(ctx, [&](Credentials& c) -> ErrorOr<int64_t> {
  auto id = static_cast<uid_t>(ctx.arg(0));
  if (id == kUnchanged) return Errno::INVAL;
  if (privileged(c)) {
    c.uid = c.euid = c.suid = id;
    return 0;
  }
  if (id != c.uid && id != c.suid) return Errno::PERM;
  c.euid = id;
  return 0;
  });
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
  return change_uids(ctx, [&](Credentials& c) -> ErrorOr<int64_t> {
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
  });
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

// Implements Linux setgroups(2); setting them needs privilege.
ErrorOr<int64_t> sys_setgroups(SyscallContext& ctx) {
  int64_t size = static_cast<int32_t>(ctx.arg(0));
  if (size < 0 || size > NGROUPS_MAX) return Errno::INVAL;
  if (!privileged(ctx.process().creds)) return Errno::PERM;
  std::vector<gid_t> groups(static_cast<size_t>(size));
  if (size) TRY(ctx.mem().read(ctx.arg(1), groups.data(), groups.size() * sizeof(gid_t)));
  ctx.process().creds.groups = std::move(groups);
  return 0;
}

namespace {

// capget(2)/capset(2) header and data (linux/capability.h).
struct CapHeader {
  uint32_t version;
  int32_t pid;
};
struct CapData {
  uint32_t effective, permitted, inheritable;
};
constexpr uint32_t kCapVersion1 = 0x19980330, kCapVersion2 = 0x20071026, kCapVersion3 = 0x20080522;

// The number of CapData a version uses; EINVAL (telling the caller the
// preferred version) for an unknown one.
ErrorOr<int> cap_words(SyscallContext& ctx, uint64_t header_addr, CapHeader& h) {
  h = TRY(ctx.mem().read_obj(UserPtr<CapHeader>(header_addr)));
  if (h.version == kCapVersion1) return 1;
  if (h.version == kCapVersion2 || h.version == kCapVersion3) return 2;
  CapHeader preferred{kCapVersion3, h.pid};
  TRY(ctx.mem().write_obj(UserPtr<CapHeader>(header_addr), preferred));
  return Errno::INVAL;
}

}  // namespace

// Implements Linux capget(2).
ErrorOr<int64_t> sys_capget(SyscallContext& ctx) {
  CapHeader h{};
  int words = TRY(cap_words(ctx, ctx.arg(0), h));
  if (h.pid < 0) return Errno::INVAL;
  const Process* p = &ctx.process();
  if (h.pid != 0 && h.pid != p->pid()) {
    p = ctx.sandbox().find_process(h.pid);
    if (!p) return Errno::SRCH;
  }
  if (!ctx.arg(1)) return 0;  // a query of the version alone
  const Credentials& c = p->creds;
  CapData data[2] = {};
  for (int i = 0; i < words; i++) {
    data[i] = CapData{static_cast<uint32_t>(c.cap_effective >> (32 * i)),
                      static_cast<uint32_t>(c.cap_permitted >> (32 * i)),
                      static_cast<uint32_t>(c.cap_inheritable >> (32 * i))};
  }
  TRY(ctx.mem().write(ctx.arg(1), data, sizeof(CapData) * static_cast<size_t>(words)));
  return 0;
}

// Implements Linux capset(2) for the caller: sets may only shrink, and the
// effective set stays within the permitted one (kernel/capability.c).
ErrorOr<int64_t> sys_capset(SyscallContext& ctx) {
  CapHeader h{};
  int words = TRY(cap_words(ctx, ctx.arg(0), h));
  if (h.pid != 0 && h.pid != ctx.process().pid()) return Errno::PERM;
  CapData data[2] = {};
  TRY(ctx.mem().read(ctx.arg(1), data, sizeof(CapData) * static_cast<size_t>(words)));
  uint64_t eff = 0, perm = 0, inh = 0;
  for (int i = 0; i < words; i++) {
    eff |= static_cast<uint64_t>(data[i].effective) << (32 * i);
    perm |= static_cast<uint64_t>(data[i].permitted) << (32 * i);
    inh |= static_cast<uint64_t>(data[i].inheritable) << (32 * i);
  }
  eff &= kAllCapabilities;
  perm &= kAllCapabilities;
  inh &= kAllCapabilities;
  Credentials& c = ctx.process().creds;
  if (perm & ~c.cap_permitted) return Errno::PERM;
  if (inh & ~(c.cap_inheritable | c.cap_permitted)) return Errno::PERM;
  if (eff & ~perm) return Errno::PERM;
  c.cap_effective = eff;
  c.cap_permitted = perm;
  c.cap_inheritable = inh;
  return 0;
}

// Implements Linux setfsuid(2): returns the previous fsuid (moat keeps fsuid
// equal to the effective uid).
ErrorOr<int64_t> sys_setfsuid(SyscallContext& ctx) { return ctx.process().creds.euid; }

// Implements Linux setfsgid(2).
ErrorOr<int64_t> sys_setfsgid(SyscallContext& ctx) { return ctx.process().creds.egid; }

}  // namespace moat
