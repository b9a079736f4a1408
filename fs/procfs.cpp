// procfs: the root of /proc, its system-wide files and /proc/sys. The PID
// directories are in procfs_pid.cpp, the per-process text in
// procfs_format.cpp (the layout is in procfs.h).
//
// What comes from where: processes, threads, mounts and the sandbox's
// hostname from the sentry; cpuinfo, meminfo, uptime, loadavg's averages and
// /proc/stat's CPU lines from the host, as a container on Linux sees them.
#include "fs/procfs.h"

#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "fs/synthetic.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/sandbox.h"

namespace moat::fs {

namespace procfs {

const std::shared_ptr<const FsInfo>& info() {
  static const auto info = std::make_shared<const FsInfo>(FsInfo{makedev(0, 20), 0x9fa0 /* PROC_SUPER_MAGIC */, false, "proc"});
  return info;
}

std::optional<int> parse_number(std::string_view s) {
  int v = 0;
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

Process* find_process(const Caller& caller, pid_t pid) {
  if (!caller.process) return nullptr;
  if (caller.process->pid() == pid) return caller.process;
  Process* p = caller.process->sandbox().find_process(pid);
  return p && !p->reaped ? p : nullptr;
}

Thread* find_thread(const Caller& caller, pid_t pid, pid_t tid) {
  Process* p = find_process(caller, pid);
  return p ? p->thread_by_tid(tid) : nullptr;
}

Thread* calling_thread(const Caller& caller) {
  Thread* t = dispatching_thread();
  return t && caller.process && &t->process() == caller.process ? t : nullptr;
}

std::string read_host_file(const char* path) {
  FILE* f = fopen(path, "re");
  if (!f) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

ErrorOr<struct stat> TextNode::stat() const {
  struct stat st = synthetic_stat(*info(), m_ino, S_IFREG | m_mode, 0);
  st.st_uid = m_uid;
  st.st_gid = m_gid;
  return st;
}

namespace {

// A generated file open: its text as of the open, read at any offset.
class TextFile final : public File {
 public:
  TextFile(const Location& loc, int flags, std::string data, WriteError write_error, Writer writer)
      : File(loc, flags), m_data(std::move(data)), m_write_error(write_error), m_writer(std::move(writer)) {}

  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override {
    CO_TRY_ASSIGN(auto n, pread_sync(buf, static_cast<uint64_t>(effective_offset(offset))));
    advance(offset, n);
    co_return n;
  }
  ErrorOr<size_t> pread_sync(std::span<std::byte> buf, uint64_t offset) override {
    if (offset >= m_data.size()) return size_t{0};
    size_t n = std::min(buf.size(), m_data.size() - offset);
    std::memcpy(buf.data(), m_data.data() + offset, n);
    return n;
  }
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t) override {
    if (m_writer) co_return m_writer(buf);
    co_return m_write_error == WriteError::Io ? Errno::IO : Errno::INVAL;
  }

 private:
  std::string m_data;
  WriteError m_write_error;
  Writer m_writer;
};

}  // namespace

ErrorOr<RefPtr<File>> TextNode::open(const Caller& caller, const Location& loc, int flags) {
  int acc = flags & O_ACCMODE;
  bool wants_write = acc == O_WRONLY || acc == O_RDWR;
  if (wants_write && m_refuse_write_open) return Errno::ACCES;
  std::string text = TRY(m_gen(caller));
  return RefPtr<File>::adopt(new TextFile(loc, flags, std::move(text), m_write_error, m_writer));
}

ErrorOr<struct stat> DynDir::stat() const {
  struct stat st = synthetic_stat(*info(), m_ino, S_IFDIR | m_mode, 0, 2);
  st.st_uid = m_uid;
  st.st_gid = m_gid;
  return st;
}

}  // namespace procfs

namespace {

using namespace procfs;

// Fixed inode numbers of the root's entries.
enum RootIno : ino_t {
  kRootIno = 1,
  kSelfIno,
  kThreadSelfIno,
  kMountsIno,
  kCpuinfoIno,
  kMeminfoIno,
  kStatIno,
  kUptimeIno,
  kLoadavgIno,
  kVersionIno,
  kFilesystemsIno,
  kSysIno,  // /proc/sys and what is under it take the numbers from here on
};

std::string host_release() {
  struct utsname u;
  return uname(&u) == 0 ? u.release : "6.0.0";
}

std::string host_or(const char* path, std::string fallback) {
  std::string s = read_host_file(path);
  return s.empty() ? std::move(fallback) : s;
}

int online_cpus() { return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))); }

// /proc/stat: the host's CPU time lines and boot time, the sandbox's
// process counts.
std::string format_proc_stat(const Caller& caller) {
  std::string host = read_host_file("/proc/stat");
  std::string out, btime = "btime 0\n", ctxt = "ctxt 0\n";
  size_t pos = 0;
  while (pos < host.size()) {
    size_t end = host.find('\n', pos);
    if (end == std::string::npos) end = host.size();
    std::string_view line(host.data() + pos, end - pos);
    if (line.starts_with("cpu")) out.append(line).push_back('\n');
    if (line.starts_with("btime ")) btime = std::string(line) + "\n";
    if (line.starts_with("ctxt ")) ctxt = std::string(line) + "\n";
    pos = end + 1;
  }
  if (out.empty()) {
    out = "cpu  0 0 0 0 0 0 0 0 0 0\n";
    for (int i = 0; i < online_cpus(); i++) out += "cpu" + std::to_string(i) + " 0 0 0 0 0 0 0 0 0 0\n";
  }
  int running = 0, total = 0;
  if (caller.process)
    for (Process* p : caller.process->sandbox().processes()) {
      if (p->zombie) continue;
      total++;
      for (Thread* t : p->live_thread_list()) running += !t->in_syscall || t == calling_thread(caller);
    }
  out += "intr 0\n" + ctxt + btime + "processes " + std::to_string(total) + "\nprocs_running " +
         std::to_string(std::max(running, 1)) + "\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n";
  return out;
}

// /proc/loadavg: the host's averages; runnable/total tasks and the last pid
// are the sandbox's.
std::string format_loadavg(const Caller& caller) {
  double avg[3] = {0, 0, 0};
  std::string host = read_host_file("/proc/loadavg");
  sscanf(host.c_str(), "%lf %lf %lf", &avg[0], &avg[1], &avg[2]);
  int running = 1, tasks = 0;
  pid_t last = 0;
  if (caller.process) {
    running = 0;
    for (Process* p : caller.process->sandbox().processes()) {
      if (p->zombie) continue;
      last = std::max(last, p->pid());
      for (Thread* t : p->live_thread_list()) {
        tasks++;
        running += !t->in_syscall || t == calling_thread(caller);
        last = std::max(last, t->tid());
      }
    }
  }
  char buf[128];
  snprintf(buf, sizeof buf, "%.2f %.2f %.2f %d/%d %d\n", avg[0], avg[1], avg[2], std::max(running, 1),
           std::max(tasks, 1), last);
  return buf;
}

std::string format_uptime() {
  std::string host = read_host_file("/proc/uptime");
  if (!host.empty()) return host;
  double up = static_cast<double>(boottime_now_ns()) / 1e9;
  char buf[64];
  snprintf(buf, sizeof buf, "%.2f %.2f\n", up, up * online_cpus());
  return buf;
}

// The filesystems the sandbox's kernel knows (/proc/filesystems).
constexpr const char* kFilesystems =
    "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\nnodev\tsockfs\nnodev\tdevpts\n";

RefPtr<Node> text(ino_t ino, std::string fixed, mode_t mode = 0444) {
  return make_ref<TextNode>(
      ino, mode, [t = std::move(fixed)](const Caller&) -> ErrorOr<std::string> { return t; }, WriteError::Io);
}

RefPtr<Node> generated(ino_t ino, Generator gen, mode_t mode = 0444) {
  return make_ref<TextNode>(ino, mode, std::move(gen), WriteError::Io);
}

// A sysctl: its Linux mode, but never open for writing (the sandbox's
// kernel settings are fixed, as in a container whose /proc/sys belongs to
// the host: EACCES).
RefPtr<Node> sysctl(ino_t ino, mode_t mode, Generator gen) {
  auto node = make_ref<TextNode>(ino, mode, std::move(gen), WriteError::Invalid);
  node->refuse_write_open();
  return node;
}

// A sysctl whose value is the host's (a global setting a container sees).
RefPtr<Node> host_sysctl(ino_t ino, mode_t mode, const char* host_path, std::string fallback) {
  return sysctl(ino, mode, [host_path, fallback](const Caller&) -> ErrorOr<std::string> {
    return host_or(host_path, fallback);
  });
}

RefPtr<Node> create_sys_tree() {
  const auto& fs = info();
  ino_t next = kSysIno;
  auto sys = make_ref<SynthDir>(fs, next++, 0555);
  auto kernel = make_ref<SynthDir>(fs, next++, 0555);
  auto vm = make_ref<SynthDir>(fs, next++, 0555);
  auto fsdir = make_ref<SynthDir>(fs, next++, 0555);
  auto net = make_ref<SynthDir>(fs, next++, 0555);
  auto core = make_ref<SynthDir>(fs, next++, 0555);
  auto random = make_ref<SynthDir>(fs, next++, 0555);
  sys->add("kernel", kernel);
  sys->add("vm", vm);
  sys->add("fs", fsdir);
  sys->add("net", net);
  net->add("core", core);
  kernel->add("random", random);

  kernel->add("hostname", sysctl(next++, 0644, [](const Caller& c) -> ErrorOr<std::string> {
                return (c.process ? c.process->sandbox().hostname() : std::string("moat")) + "\n";
              }));
  kernel->add("ostype", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> { return std::string("Linux\n"); }));
  kernel->add("osrelease", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> { return host_release() + "\n"; }));
  kernel->add("version", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> { return std::string("#1 SMP moat\n"); }));
  kernel->add("domainname", sysctl(next++, 0644, [](const Caller& c) -> ErrorOr<std::string> {
                return (c.process ? c.process->sandbox().domainname() : std::string("(none)")) + "\n";
              }));
  kernel->add("pid_max", host_sysctl(next++, 0644, "/proc/sys/kernel/pid_max", "4194304\n"));
  kernel->add("threads-max", host_sysctl(next++, 0644, "/proc/sys/kernel/threads-max", "63704\n"));
  kernel->add("ngroups_max", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> { return std::string("65536\n"); }));
  kernel->add("cap_last_cap", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> { return std::string("40\n"); }));
  random->add("boot_id", host_sysctl(next++, 0444, "/proc/sys/kernel/random/boot_id", "00000000-0000-4000-8000-000000000000\n"));
  random->add("uuid", sysctl(next++, 0444, [](const Caller&) -> ErrorOr<std::string> {
                return host_or("/proc/sys/kernel/random/uuid", "00000000-0000-4000-8000-000000000001\n");
              }));
  vm->add("overcommit_memory", host_sysctl(next++, 0644, "/proc/sys/vm/overcommit_memory", "0\n"));
  vm->add("max_map_count", host_sysctl(next++, 0644, "/proc/sys/vm/max_map_count", "65530\n"));
  fsdir->add("file-max", host_sysctl(next++, 0644, "/proc/sys/fs/file-max", "9223372036854775807\n"));
  fsdir->add("nr_open", host_sysctl(next++, 0644, "/proc/sys/fs/nr_open", "1048576\n"));
  core->add("somaxconn", host_sysctl(next++, 0644, "/proc/sys/net/core/somaxconn", "4096\n"));
  // sched_rr_get_interval(2)'s SCHED_RR quantum.
  kernel->add("sched_rr_timeslice_ms", host_sysctl(next++, 0644, "/proc/sys/kernel/sched_rr_timeslice_ms", "100\n"));
  return sys;
}

// A /proc/sys directory with the sandbox's linux.sysctl values
// (SandboxConfig::sysctls, keyed by the path below /proc/sys) over the
// fixed entries of create_sys_tree(): a sysctl the fixed tree has shows
// the spec's value, one it lacks appears (with its directories).
class SysctlDir final : public DynDir {
 public:
  SysctlDir(ino_t ino, std::string prefix, RefPtr<Node> fixed)
      : DynDir(ino, 0555), m_prefix(std::move(prefix)), m_fixed(std::move(fixed)) {}

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    std::string path = m_prefix + std::string(name);
    RefPtr<Node> fixed;
    if (m_fixed)
      if (auto r = m_fixed->lookup(caller, name); !r.is_error()) fixed = r.release_value();
    if (const auto* sysctls = overrides(caller)) {
      if (auto it = sysctls->find(path); it != sysctls->end() && (!fixed || !fixed->is_dir())) {
        ino_t ino = fixed ? TRY(fixed->stat()).st_ino : dynamic_ino(path);
        return sysctl(ino, 0644, [text = it->second](const Caller&) -> ErrorOr<std::string> { return text; });
      }
      if (has_below(*sysctls, path) && (!fixed || fixed->is_dir()))
        return make_ref<SysctlDir>(fixed ? TRY(fixed->stat()).st_ino : dynamic_ino(path), path + "/", fixed);
    }
    if (!fixed) return Errno::NOENT;
    return fixed;
  }

  ErrorOr<struct stat> stat() const override { return m_fixed ? m_fixed->stat() : DynDir::stat(); }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    std::vector<DirEntry> out;
    if (m_fixed) out = TRY(m_fixed->list(caller));
    else out = {{".", m_ino, DT_DIR}, {"..", m_ino, DT_DIR}};
    const auto* sysctls = overrides(caller);
    if (!sysctls) return out;
    for (auto it = sysctls->lower_bound(m_prefix); it != sysctls->end() && it->first.rfind(m_prefix, 0) == 0; ++it) {
      std::string rest = it->first.substr(m_prefix.size());
      size_t slash = rest.find('/');
      std::string name = rest.substr(0, slash);
      bool known = false;
      for (const DirEntry& e : out) known |= e.name == name;
      if (!known && !name.empty())
        out.push_back(DirEntry{name, dynamic_ino(m_prefix + name), slash == std::string::npos ? DT_REG : DT_DIR});
    }
    return out;
  }

 private:
  static const std::map<std::string, std::string>* overrides(const Caller& caller) {
    if (!caller.process) return nullptr;
    const auto& sysctls = caller.process->sandbox().config().sysctls;
    return sysctls.empty() ? nullptr : &sysctls;
  }
  static bool has_below(const std::map<std::string, std::string>& sysctls, const std::string& path) {
    auto it = sysctls.lower_bound(path + "/");
    return it != sysctls.end() && it->first.rfind(path + "/", 0) == 0;
  }
  // Below the pid directories' numbers (pid << 32), above the fixed ones.
  static ino_t dynamic_ino(const std::string& path) {
    return static_cast<ino_t>(0x80000000u | (std::hash<std::string>{}(path) & 0x7fffffffu));
  }

  std::string m_prefix;  // "" for /proc/sys, "net/" for /proc/sys/net
  RefPtr<Node> m_fixed;  // the fixed directory of this path, if any
};

class ProcRoot final : public DynDir {
 public:
  ProcRoot() : DynDir(kRootIno, 0555) {
    const auto& fs = info();
    add("self", make_ref<SynthSymlink>(fs, kSelfIno, [](const Caller& c) -> ErrorOr<std::string> {
          if (!c.process) return Errno::NOENT;
          return std::to_string(c.process->pid());
        }));
    add("thread-self", make_ref<SynthSymlink>(fs, kThreadSelfIno, [](const Caller& c) -> ErrorOr<std::string> {
          if (!c.process) return Errno::NOENT;
          Thread* t = calling_thread(c);
          pid_t tid = t ? t->tid() : c.process->pid();
          return std::to_string(c.process->pid()) + "/task/" + std::to_string(tid);
        }));
    add("mounts", make_ref<SynthSymlink>(fs, kMountsIno, std::string("self/mounts")));
    add("cpuinfo", generated(kCpuinfoIno, [](const Caller&) -> ErrorOr<std::string> {
          return host_or("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: unknown\n\n");
        }));
    add("meminfo", generated(kMeminfoIno, [](const Caller&) -> ErrorOr<std::string> {
          long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
          return host_or("/proc/meminfo", "MemTotal:       " + std::to_string(pages * 4) + " kB\nMemFree:        " +
                                              std::to_string(avail * 4) + " kB\n");
        }));
    add("stat", generated(kStatIno, [](const Caller& c) -> ErrorOr<std::string> { return format_proc_stat(c); }));
    add("uptime", generated(kUptimeIno, [](const Caller&) -> ErrorOr<std::string> { return format_uptime(); }));
    add("loadavg", generated(kLoadavgIno, [](const Caller& c) -> ErrorOr<std::string> { return format_loadavg(c); }));
    add("version", generated(kVersionIno, [](const Caller&) -> ErrorOr<std::string> {
          return "Linux version " + host_release() + " (moat@moat) (moat sandbox) #1 SMP moat\n";
        }));
    add("filesystems", text(kFilesystemsIno, kFilesystems));
    RefPtr<Node> sys = create_sys_tree();
    ino_t sys_ino = sys->stat().value().st_ino;
    add("sys", make_ref<SysctlDir>(sys_ino, "", std::move(sys)));
  }

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    if (auto it = m_fixed.find(name); it != m_fixed.end()) return it->second;
    auto pid = parse_number(name);
    if (!pid) return Errno::NOENT;
    if (Process* p = find_process(caller, *pid)) return make_pid_dir(*pid, 0, *p, true);
    // /proc/TID of a thread that is not a leader works, unlisted, like Linux.
    if (caller.process)
      for (Process* p : caller.process->sandbox().processes())
        if (!p->reaped && p->thread_by_tid(*pid)) return make_pid_dir(p->pid(), *pid, *p, true);
    return Errno::NOENT;
  }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    std::vector<DirEntry> out{{".", kRootIno, DT_DIR}, {"..", kRootIno, DT_DIR}};
    for (const auto& [name, node] : m_fixed) {
      auto st = TRY(node->stat());
      out.push_back(DirEntry{name, st.st_ino, dirent_type(st.st_mode)});
    }
    if (!caller.process) return out;
    std::set<pid_t> pids{caller.process->pid()};
    for (Process* p : caller.process->sandbox().processes())
      if (!p->reaped) pids.insert(p->pid());
    for (pid_t pid : pids) out.push_back(DirEntry{std::to_string(pid), pid_ino(pid, InoKind::Entry, 0), DT_DIR});
    return out;
  }

 private:
  void add(std::string name, RefPtr<Node> node) { m_fixed.emplace(std::move(name), std::move(node)); }
  std::map<std::string, RefPtr<Node>, std::less<>> m_fixed;
};

}  // namespace

RefPtr<Node> create_procfs() { return make_ref<ProcRoot>(); }

}  // namespace moat::fs
