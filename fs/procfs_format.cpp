// procfs: the text of the per-process files (proc(5)): stat, statm,
// status, limits, smaps, fdinfo, mounts and mountinfo.
#include <inttypes.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/procfs.h"
#include "fs/vfs.h"
#include "sentry/kernel/sandbox.h"

namespace moat::fs::procfs {

namespace {

constexpr uint64_t kPage = 4096;

int64_t clock_ticks(int64_t ns) {
  static const int64_t tick_ns = kNsPerSecond / std::max(1L, sysconf(_SC_CLK_TCK));
  return ns / tick_ns;
}

std::string hex_mask(uint64_t m) {
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(m));
  return buf;
}

// The thread whose view a process-wide file shows: its leader, or the first
// live thread once the leader has gone; null when none is left.
Thread* view_thread(Process& p, Thread* t) {
  if (t) return t;
  std::vector<Thread*> live = p.live_thread_list();
  for (Thread* c : live)
    if (c->tid() == p.pid()) return c;
  return live.empty() ? nullptr : live.front();
}

// The state letter and its name (fs/proc/array.c task_state_array). A
// thread waiting in a syscall sleeps; one in guest code, or the one reading
// the file, runs.
std::pair<char, const char*> task_state(Process& p, Thread* t, const Caller& caller) {
  if (p.zombie) return {'Z', "zombie"};
  if (p.stopped) return {'T', "stopped"};
  if (t && t->exited) return {'Z', "zombie"};
  if (t && t->in_syscall && t != calling_thread(caller)) return {'S', "sleeping"};
  return {'R', "running"};
}

// Figures of the address space, in bytes, from the sentry's mapping list;
// the resident set is the host's, of the guest's host process.
struct MemoryFigures {
  uint64_t size = 0, data = 0, stack = 0, exe = 0, lib = 0;
  uint64_t resident = 0, shared = 0;
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
};

MemoryFigures memory_figures(Process& p) {
  MemoryFigures f;
  if (p.zombie) return f;
  for (const mm::Mapping& m : p.address_space().mappings()) {
    if (m.reserved && m.name != "[vdso]" && m.name != "[vvar]") continue;  // the stub's own region
    uint64_t len = m.end - m.start;
    f.size += len;
    bool is_exe = !p.exe_path.empty() && m.name == p.exe_path;
    if (m.name == "[stack]") {
      f.stack += len;
    } else if ((m.prot & PROT_WRITE) && !(m.flags & MAP_SHARED)) {
      f.data += len;
      if (is_exe && !f.start_data) f.start_data = m.start, f.end_data = m.end;
    }
    if (m.prot & PROT_EXEC) {
      if (is_exe) {
        f.exe += len;
        if (!f.start_code) f.start_code = m.start, f.end_code = m.end;
      } else if (!m.name.empty() && m.name[0] == '/') {
        f.lib += len;
      }
    }
  }
  if (p.mem().host_pid() <= 0) return f;
  std::string statm = read_host_file(("/proc/" + std::to_string(p.mem().host_pid()) + "/statm").c_str());
  unsigned long long size = 0, resident = 0, shared = 0;
  if (sscanf(statm.c_str(), "%llu %llu %llu", &size, &resident, &shared) == 3) {
    f.resident = resident * kPage;
    f.shared = shared * kPage;
  }
  return f;
}

struct SignalMasks {
  uint64_t ignored = 0, caught = 0;
};
SignalMasks signal_masks(const Process& p) {
  SignalMasks s;
  for (int sig = 1; sig <= 64; sig++) {
    uint64_t h = p.sigactions[sig].handler;
    if (h == reinterpret_cast<uint64_t>(SIG_IGN)) s.ignored |= 1ULL << (sig - 1);
    else if (h != reinterpret_cast<uint64_t>(SIG_DFL)) s.caught |= 1ULL << (sig - 1);
  }
  return s;
}

std::string kb(uint64_t bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%8" PRIu64 " kB\n", bytes / 1024);
  return buf;
}

}  // namespace

std::string comm_of(Process& p, Thread* t) {
  Thread* v = view_thread(p, t);
  if (v && !v->name.empty()) return v->name.substr(0, 15);
  return p.comm.substr(0, 15);
}

// /proc/PID/stat and /proc/PID/task/TID/stat: the 52 fields of proc(5).
std::string format_stat(Process& p, Thread* t, const Caller& caller) {
  Thread* v = view_thread(p, t);
  auto [state, state_name] = task_state(p, v, caller);
  ResourceUsage usage = t ? thread_usage(*t) : process_usage(p);
  MemoryFigures mem = memory_figures(p);
  SignalMasks masks = signal_masks(p);
  uint64_t pending = p.pending.mask() | (v ? v->pending.mask() : 0);
  uint64_t blocked = v ? v->signal_mask : 0;
  int64_t start = v && t ? v->start_time_ns : p.start_time_ns;
  const rlimit& rss = p.rlimits[RLIMIT_RSS];
  int exit_code = p.zombie ? p.exit_status.load() : 0;
  int exit_signal = t && t->tid() != p.pid() ? -1 : p.exit_signal;
  char buf[1024];
  snprintf(buf, sizeof buf,
           "%d (%s) %c %d %d %d 0 -1 4194304 %" PRId64 " 0 %" PRId64 " 0 %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
           " 20 0 %d 0 %" PRId64 " %" PRIu64 " %" PRIu64 " %llu %" PRIu64 " %" PRIu64 " %" PRIu64
           " 0 0 %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 0 0 %d 0 %d %d 0 0 0 %" PRIu64 " %" PRIu64 " %" PRIu64
           " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n",
           t ? t->tid() : p.pid(), comm_of(p, t).c_str(), state, p.ppid(), p.pgid, p.sid, usage.minflt, usage.majflt,
           clock_ticks(usage.cpu.user_ns), clock_ticks(usage.cpu.system_ns), clock_ticks(p.children_usage.cpu.user_ns),
           clock_ticks(p.children_usage.cpu.system_ns), p.live_threads(), clock_ticks(start), mem.size,
           mem.resident / kPage, static_cast<unsigned long long>(rss.rlim_cur), mem.start_code, mem.end_code,
           p.address_space().stack_top, pending, blocked, masks.ignored, masks.caught,
           exit_signal, v ? v->sched_priority : 0, v ? (v->sched_policy & ~SCHED_RESET_ON_FORK) : 0, mem.start_data,
           mem.end_data, p.address_space().brk_start, p.arg_start, p.arg_end, p.env_start, p.env_end, exit_code);
  return buf;
}

// /proc/PID/statm: sizes in pages (size resident shared text lib data dt).
std::string format_statm(Process& p) {
  MemoryFigures m = memory_figures(p);
  char buf[160];
  snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 %" PRIu64 " 0\n", m.size / kPage,
           m.resident / kPage, m.shared / kPage, m.exe / kPage, (m.data + m.stack) / kPage);
  return buf;
}

// /proc/PID/status (proc(5)), the fields programs look at, in Linux's order.
std::string format_status(Process& p, Thread* t, const Caller& caller) {
  Thread* v = view_thread(p, t);
  auto [state, state_name] = task_state(p, v, caller);
  char umask[16];
  snprintf(umask, sizeof umask, "%04o", p.shared_fs() ? p.fs().umask() : 022);
  SignalMasks masks = signal_masks(p);
  uint64_t thread_pending = v ? v->pending.mask() : 0;
  uint64_t blocked = v ? v->signal_mask : 0;
  auto ids = [](uint32_t a, uint32_t b, uint32_t c) {
    return std::to_string(a) + "\t" + std::to_string(b) + "\t" + std::to_string(c) + "\t" + std::to_string(b) + "\n";
  };
  std::string pid = std::to_string(t ? t->tid() : p.pid());
  std::string s = "Name:\t" + comm_of(p, t) + "\nUmask:\t" + umask + "\nState:\t" + state + " (" + state_name + ")\n";
  s += "Tgid:\t" + std::to_string(p.pid()) + "\nNgid:\t0\nPid:\t" + pid + "\nPPid:\t" + std::to_string(p.ppid()) +
       "\nTracerPid:\t0\n";
  s += "Uid:\t" + ids(p.creds.uid, p.creds.euid, p.creds.suid);
  s += "Gid:\t" + ids(p.creds.gid, p.creds.egid, p.creds.sgid);
  uint64_t fd_size = 64;
  if (auto table = p.shared_fds())
    for (auto& [fd, file] : table->snapshot())
      while (static_cast<uint64_t>(fd) >= fd_size) fd_size *= 2;
  s += "FDSize:\t" + std::to_string(fd_size) + "\nGroups:\t";
  for (gid_t g : p.creds.groups) s += std::to_string(g) + " ";
  s += "\nNStgid:\t" + std::to_string(p.pid()) + "\nNSpid:\t" + pid + "\nNSpgid:\t" + std::to_string(p.pgid) +
       "\nNSsid:\t" + std::to_string(p.sid) + "\nKthread:\t0\n";
  if (!p.zombie) {
    MemoryFigures m = memory_figures(p);
    s += "VmPeak:\t" + kb(m.size) + "VmSize:\t" + kb(m.size) + "VmLck:\t" + kb(0) + "VmPin:\t" + kb(0) +
         "VmHWM:\t" + kb(m.resident) + "VmRSS:\t" + kb(m.resident) + "RssAnon:\t" + kb(m.resident > m.shared ? m.resident - m.shared : 0) +
         "RssFile:\t" + kb(m.shared) + "RssShmem:\t" + kb(0) + "VmData:\t" + kb(m.data) + "VmStk:\t" + kb(m.stack) +
         "VmExe:\t" + kb(m.exe) + "VmLib:\t" + kb(m.lib) + "VmPTE:\t" + kb(0) + "VmSwap:\t" + kb(0);
  }
  s += "Threads:\t" + std::to_string(p.live_threads()) + "\n";
  s += "SigQ:\t0/" + std::to_string(p.rlimits[RLIMIT_SIGPENDING].rlim_cur) + "\n";
  s += "SigPnd:\t" + hex_mask(thread_pending) + "\nShdPnd:\t" + hex_mask(p.pending.mask()) + "\n";
  s += "SigBlk:\t" + hex_mask(blocked) + "\nSigIgn:\t" + hex_mask(masks.ignored) + "\nSigCgt:\t" +
       hex_mask(masks.caught) + "\n";
  // The guest's own capability sets (its host process holds none).
  s += "CapInh:\t" + hex_mask(p.creds.cap_inheritable) + "\nCapPrm:\t" + hex_mask(p.creds.cap_permitted) +
       "\nCapEff:\t" + hex_mask(p.creds.cap_effective) + "\nCapBnd:\t" + hex_mask(kAllCapabilities) +
       "\nCapAmb:\t0000000000000000\n";
  s += std::string("NoNewPrivs:\t") + (p.no_new_privs ? "1" : "0") + "\nSeccomp:\t0\nSeccomp_filters:\t0\n";
  long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  char cpu_line[160];
  uint64_t allowed = cpus >= 64 ? ~0ULL : (1ULL << cpus) - 1;
  snprintf(cpu_line, sizeof cpu_line, "Cpus_allowed:\t%" PRIx64 "\nCpus_allowed_list:\t0-%ld\n", allowed, cpus - 1);
  if (cpus == 1) snprintf(cpu_line, sizeof cpu_line, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
  s += cpu_line;
  s += "Mems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";
  return s;
}

// /proc/PID/limits (fs/proc/base.c proc_pid_limits).
std::string format_limits(const Process& p) {
  static constexpr struct {
    const char* name;
    const char* unit;
  } kLimits[RLIM_NLIMITS] = {
      {"Max cpu time", "seconds"},      {"Max file size", "bytes"},      {"Max data size", "bytes"},
      {"Max stack size", "bytes"},      {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
      {"Max processes", "processes"},   {"Max open files", "files"},     {"Max locked memory", "bytes"},
      {"Max address space", "bytes"},   {"Max file locks", "locks"},     {"Max pending signals", "signals"},
      {"Max msgqueue size", "bytes"},   {"Max nice priority", nullptr},  {"Max realtime priority", nullptr},
      {"Max realtime timeout", "us"},
  };
  char line[160];
  snprintf(line, sizeof line, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
  std::string out = line;
  auto value = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    const rlimit& l = p.rlimits[r];
    snprintf(line, sizeof line, "%-25s %-20s %-20s ", kLimits[r].name, value(l.rlim_cur).c_str(),
             value(l.rlim_max).c_str());
    out += line;
    if (kLimits[r].unit) {
      snprintf(line, sizeof line, "%-10s", kLimits[r].unit);
      out += line;
    }
    out += '\n';
  }
  return out;
}

// /proc/PID/smaps, approximate: each mapping's header as in maps, its size,
// and zero for the page counts the sentry does not track.
std::string format_smaps(Process& p) {
  std::string maps = p.address_space().format_maps();
  std::vector<mm::Mapping> mappings = p.address_space().mappings();
  std::string out;
  size_t pos = 0;
  for (const mm::Mapping& m : mappings) {
    size_t end = maps.find('\n', pos);
    if (end == std::string::npos) break;
    out.append(maps, pos, end + 1 - pos);
    pos = end + 1;
    auto field = [&](const char* name, uint64_t kbytes) {
      char line[64];
      snprintf(line, sizeof line, "%-16s%8" PRIu64 " kB\n", name, kbytes);
      out += line;
    };
    field("Size:", (m.end - m.start) / 1024);
    field("KernelPageSize:", kPage / 1024);
    field("MMUPageSize:", kPage / 1024);
    for (const char* name : {"Rss:", "Pss:", "Pss_Dirty:", "Shared_Clean:", "Shared_Dirty:", "Private_Clean:",
                             "Private_Dirty:", "Referenced:", "Anonymous:", "KSM:", "LazyFree:", "AnonHugePages:",
                             "ShmemPmdMapped:", "FilePmdMapped:", "Shared_Hugetlb:", "Private_Hugetlb:", "Swap:",
                             "SwapPss:", "Locked:"})
      field(name, 0);
    out += "THPeligible:           0\nVmFlags:";
    if (m.prot & PROT_READ) out += " rd";
    if (m.prot & PROT_WRITE) out += " wr";
    if (m.prot & PROT_EXEC) out += " ex";
    if (m.flags & MAP_SHARED) out += " sh";
    out += " mr";
    if (m.may_write) out += " mw";
    out += " me";
    if (m.flags & MAP_SHARED) out += " ms";
    if (m.name == "[stack]") out += " gd";
    if ((m.prot & PROT_WRITE) && !(m.flags & MAP_SHARED)) out += " ac";
    out += " \n";
  }
  return out;
}

// /proc/PID/fdinfo/N (proc(5)): the position, the status flags with
// O_CLOEXEC for a close-on-exec fd, the mount and the inode.
std::string format_fdinfo(const Caller& caller, Process& p, int fd) {
  auto table = p.shared_fds();
  if (!table) return {};
  auto file = table->get(fd);
  if (file.is_error()) return {};
  auto cloexec = table->cloexec(fd);
  int flags = file.value()->flags() | (!cloexec.is_error() && cloexec.value() ? O_CLOEXEC : 0);
  auto st = file.value()->stat();
  char buf[160];
  snprintf(buf, sizeof buf, "pos:\t%" PRId64 "\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n", file.value()->position(),
           flags, mount_id_of(caller, *file.value()),
           static_cast<unsigned long long>(st.is_error() ? 0 : st.value().st_ino));
  return buf;
}

namespace {

// Mount ids: Mount::id, from kFirstMountId
// (the root); anonymous files (pipes, stdio) are on an internal mount that
// mountinfo does not list, as pipefs is on Linux.
constexpr int kFirstMountId = 20;
constexpr int kInternalMountId = 10;

struct MountView {
  int id, parent;
  std::string path;  // as the reader sees it (relative to its root)
  RefPtr<Node> root;
  std::string options;  // the per-mount options ("rw,nosuid")
  std::string source;
  std::string type;
  std::string root_path;
  std::string super;  // super options ("rw,size=1024k")
};

// The caller's mounts that its root reaches, with paths from its root
// (a chrooted reader sees only what is below its root, as on Linux).
std::vector<MountView> mount_views(const Caller& caller) {
  std::vector<MountView> out;
  if (!caller.process || !caller.process->sandbox().has_vfs()) return out;
  std::string root = caller.process->shared_fs() ? caller.process->fs().root().path() : "/";
  for (const auto& v : caller.process->sandbox().vfs().mount_list(caller)) {
    const Mount& m = v.mount;
    std::string path = m.path;
    if (root != "/") {
      if (path == root) path = "/";
      else if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/')
        path = path.substr(root.size());
      else continue;
    }
    bool ro = m.read_only();
    std::string super = ro ? "ro" : "rw";
    if (!m.data.empty()) super += "," + m.data;
    out.push_back(MountView{m.id, v.parent_id, std::move(path), m.root,
                            mount_flags_string(m.flags | (ro ? MS_RDONLY : 0)), m.source, m.type, m.root_path,
                            std::move(super)});
  }
  return out;
}

}  // namespace

int mount_id_of(const Caller& caller, const File& file) {
  const Location& loc = file.location();
  if (loc.anonymous || loc.empty()) return kInternalMountId;
  std::vector<MountView> views = mount_views(caller);
  for (auto it = loc.entries.rbegin(); it != loc.entries.rend(); ++it)
    for (const MountView& v : views)
      if (v.root.ptr() == it->node.ptr()) return v.id;
  return kFirstMountId;
}

// /proc/PID/mounts (fstab(5) format).
std::string format_mounts(const Caller& caller) {
  std::string out;
  for (const MountView& v : mount_views(caller)) {
    out += v.source + " " + v.path + " " + v.type + " " + v.options + " 0 0\n";
  }
  return out;
}

// /proc/PID/mountinfo (proc(5)): id, parent, major:minor, root, mount
// point, options, no optional fields, "-", type, source, super options.
std::string format_mountinfo(const Caller& caller) {
  std::string out;
  for (const MountView& v : mount_views(caller)) {
    const FsInfo& fs = v.root->fs_info();
    auto st = v.root->stat();
    dev_t dev = st.is_error() ? fs.dev : st.value().st_dev;
    char buf[512];
    snprintf(buf, sizeof buf, "%d %d %u:%u %s %s %s - %s %s %s\n", v.id, v.parent, major(dev), minor(dev),
             v.root_path.c_str(), v.path.c_str(), v.options.c_str(), v.type.c_str(), v.source.c_str(),
             v.super.c_str());
    out += buf;
  }
  return out;
}

}  // namespace moat::fs::procfs
