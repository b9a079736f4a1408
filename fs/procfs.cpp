// procfs, minimal: /proc/self and the calling process's own PID directory.
// FIXME: other processes' directories need a process lookup in Sandbox.
#include <sys/sysmacros.h>

#include <charconv>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/synthetic.h"

namespace moat::fs {

namespace {

std::shared_ptr<const FsInfo> procfs_info() {
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

// The process a PID directory shows, if it is the caller's own.
Process* process_for(const Caller& caller, pid_t pid) {
  return caller.process && caller.process->pid() == pid ? caller.process : nullptr;
}

ino_t pid_ino(pid_t pid, int index) { return (static_cast<ino_t>(pid) << 12) + static_cast<ino_t>(index); }

class ProcFdLink final : public Node {
 public:
  ProcFdLink(ino_t ino, RefPtr<File> file) : Node(S_IFLNK), m_ino(ino), m_file(std::move(file)) {}
  const FsInfo& fs_info() const override { return *procfs_info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*procfs_info(), m_ino, S_IFLNK | 0700, 64); }
  ErrorOr<std::string> readlink(const Caller&) const override {
    const Location& loc = m_file->location();
    if (loc.anonymous || loc.empty()) return m_file->path();
    return loc.display_path();
  }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location&, int) override { return Errno::LOOP; }
  RefPtr<File> magic_target() const override { return m_file; }

 private:
  ino_t m_ino;
  RefPtr<File> m_file;
};

class ProcFdDir final : public Node {
 public:
  explicit ProcFdDir(pid_t pid) : Node(S_IFDIR), m_pid(pid) {}
  const FsInfo& fs_info() const override { return *procfs_info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*procfs_info(), pid_ino(m_pid, 1), S_IFDIR | 0500, 0, 2); }
  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    Process* p = process_for(caller, m_pid);
    auto fd = parse_number(name);
    if (!p || !fd) return Errno::NOENT;
    auto file = p->fds().get(*fd);
    if (file.is_error()) return Errno::NOENT;
    return RefPtr<Node>(make_ref<ProcFdLink>(pid_ino(m_pid, 100 + *fd), file.release_value()));
  }
  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    Process* p = process_for(caller, m_pid);
    if (!p) return Errno::NOENT;
    std::vector<DirEntry> out{{".", pid_ino(m_pid, 1), DT_DIR}, {"..", pid_ino(m_pid, 0), DT_DIR}};
    for (auto& [fd, file] : p->fds().snapshot())
      out.push_back(DirEntry{std::to_string(fd), pid_ino(m_pid, 100 + fd), DT_LNK});
    return out;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }

 private:
  pid_t m_pid;
};

enum class Gen { Maps, Cmdline, Environ, Comm, Status, Mounts };

std::string read_guest_range(Process& p, uint64_t start, uint64_t end) {
  if (end <= start || end - start > (1u << 20)) return {};
  std::string s(end - start, '\0');
  size_t n = p.mem().read_partial(start, s.data(), s.size());
  s.resize(n);
  return s;
}

std::string hex_mask(uint64_t m) {
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(m));
  return buf;
}

// /proc/PID/status (proc(5)), the fields programs look at.
std::string format_status(Process& p) {
  char umask[16];
  snprintf(umask, sizeof umask, "%04o", p.fs().umask());
  const char* state = p.zombie ? "Z (zombie)" : p.stopped ? "T (stopped)" : "R (running)";
  uint64_t ignored = 0, caught = 0;
  for (int sig = 1; sig <= 64; sig++) {
    uint64_t h = p.sigactions[sig].handler;
    if (h == reinterpret_cast<uint64_t>(SIG_IGN)) ignored |= 1ULL << (sig - 1);
    else if (h != reinterpret_cast<uint64_t>(SIG_DFL)) caught |= 1ULL << (sig - 1);
  }
  std::vector<Thread*> threads = p.live_thread_list();
  uint64_t thread_pending = threads.empty() ? 0 : threads.front()->pending.mask();
  uint64_t blocked = threads.empty() ? 0 : threads.front()->signal_mask;
  auto ids = [](uint32_t a, uint32_t b, uint32_t c) {
    return std::to_string(a) + "\t" + std::to_string(b) + "\t" + std::to_string(c) + "\t" + std::to_string(b) + "\n";
  };
  std::string s = "Name:\t" + p.comm + "\nUmask:\t" + umask + "\nState:\t" + state + "\n";
  s += "Tgid:\t" + std::to_string(p.pid()) + "\nNgid:\t0\nPid:\t" + std::to_string(p.pid()) + "\nPPid:\t" +
       std::to_string(p.ppid()) + "\nTracerPid:\t0\n";
  s += "Uid:\t" + ids(p.creds.uid, p.creds.euid, p.creds.suid);
  s += "Gid:\t" + ids(p.creds.gid, p.creds.egid, p.creds.sgid);
  s += "Threads:\t" + std::to_string(threads.size()) + "\n";
  s += "SigPnd:\t" + hex_mask(thread_pending) + "\nShdPnd:\t" + hex_mask(p.pending.mask()) + "\n";
  s += "SigBlk:\t" + hex_mask(blocked) + "\nSigIgn:\t" + hex_mask(ignored) + "\nSigCgt:\t" +
       hex_mask(caught) + "\n";
  // The guest's own capability sets (its host process holds none).
  s += "CapInh:\t" + hex_mask(p.creds.cap_inheritable) + "\nCapPrm:\t" + hex_mask(p.creds.cap_permitted) +
       "\nCapEff:\t" + hex_mask(p.creds.cap_effective) + "\nCapBnd:\t" + hex_mask(kAllCapabilities) +
       "\nCapAmb:\t0000000000000000\n";
  s += std::string("NoNewPrivs:\t") + (p.no_new_privs ? "1" : "0") + "\nSeccomp:\t0\n";
  return s;
}

std::string generate(Process& p, Gen kind) {
  switch (kind) {
    // FIXME: format_maps() relies on the Process to serialise address-space access.
    case Gen::Maps: return p.address_space().format_maps();
    case Gen::Cmdline: return read_guest_range(p, p.arg_start, p.arg_end);
    case Gen::Environ: return read_guest_range(p, p.env_start, p.env_end);
    case Gen::Comm: return p.comm + "\n";
    case Gen::Mounts:
      return "none / hostfs ro,nodev 0 0\n"
             "proc /proc proc rw,nosuid,nodev,noexec 0 0\n"
             "tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n"
             "devtmpfs /dev devtmpfs rw,nosuid 0 0\n"
             "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n"
             "sysfs /sys sysfs ro,nosuid,nodev,noexec 0 0\n";
    case Gen::Status: return format_status(p);
  }
  return {};
}

class ProcGenNode final : public Node {
 public:
  ProcGenNode(pid_t pid, int index, Gen kind) : Node(S_IFREG), m_pid(pid), m_index(index), m_kind(kind) {}
  const FsInfo& fs_info() const override { return *procfs_info(); }
  ErrorOr<struct stat> stat() const override {
    mode_t mode = m_kind == Gen::Environ ? 0400 : 0444;
    return synthetic_stat(*procfs_info(), pid_ino(m_pid, m_index), S_IFREG | mode, 0);
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    Process* p = process_for(caller, m_pid);
    if (!p) return Errno::NOENT;
    return BufferFile::create(loc, flags, generate(*p, m_kind));
  }

 private:
  pid_t m_pid;
  int m_index;
  Gen m_kind;
};

class ProcPidDir final : public Node {
 public:
  explicit ProcPidDir(pid_t pid) : Node(S_IFDIR), m_pid(pid) {}
  const FsInfo& fs_info() const override { return *procfs_info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*procfs_info(), pid_ino(m_pid, 0), S_IFDIR | 0555, 0, 3); }

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    Process* p = process_for(caller, m_pid);
    if (!p) return Errno::NOENT;
    auto info = procfs_info();
    auto link = [&](int index, SynthSymlink::Target t) -> RefPtr<Node> {
      return make_ref<SynthSymlink>(info, pid_ino(m_pid, index), std::move(t));
    };
    pid_t pid = m_pid;
    if (name == "fd") return RefPtr<Node>(make_ref<ProcFdDir>(m_pid));
    if (name == "exe")
      return link(2, [pid](const Caller& c) -> ErrorOr<std::string> {
        Process* q = process_for(c, pid);
        if (!q) return Errno::NOENT;
        return q->exe_path;
      });
    if (name == "cwd")
      return link(3, [pid](const Caller& c) -> ErrorOr<std::string> {
        Process* q = process_for(c, pid);
        if (!q) return Errno::NOENT;
        return q->fs().cwd().display_path();
      });
    if (name == "root") return link(4, [](const Caller&) -> ErrorOr<std::string> { return std::string("/"); });
    static constexpr std::pair<std::string_view, Gen> kGen[] = {
        {"maps", Gen::Maps}, {"cmdline", Gen::Cmdline}, {"environ", Gen::Environ}, {"comm", Gen::Comm}, {"status", Gen::Status},
        {"mounts", Gen::Mounts}};
    for (int i = 0; i < 6; ++i)
      if (name == kGen[i].first) return RefPtr<Node>(make_ref<ProcGenNode>(m_pid, 5 + i, kGen[i].second));
    return Errno::NOENT;
  }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    if (!process_for(caller, m_pid)) return Errno::NOENT;
    return std::vector<DirEntry>{{".", pid_ino(m_pid, 0), DT_DIR},       {"..", 1, DT_DIR},
                                 {"fd", pid_ino(m_pid, 1), DT_DIR},      {"exe", pid_ino(m_pid, 2), DT_LNK},
                                 {"cwd", pid_ino(m_pid, 3), DT_LNK},     {"root", pid_ino(m_pid, 4), DT_LNK},
                                 {"maps", pid_ino(m_pid, 5), DT_REG},    {"cmdline", pid_ino(m_pid, 6), DT_REG},
                                 {"environ", pid_ino(m_pid, 7), DT_REG}, {"comm", pid_ino(m_pid, 8), DT_REG},
                                 {"status", pid_ino(m_pid, 9), DT_REG},  {"mounts", pid_ino(m_pid, 10), DT_REG}};
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }

 private:
  pid_t m_pid;
};

class ProcRoot final : public Node {
 public:
  ProcRoot() : Node(S_IFDIR) {}
  const FsInfo& fs_info() const override { return *procfs_info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*procfs_info(), 1, S_IFDIR | 0555, 0, 3); }
  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    if (!caller.process) return Errno::NOENT;
    if (name == "self") {
      pid_t pid = caller.process->pid();
      return RefPtr<Node>(make_ref<SynthSymlink>(procfs_info(), 2, std::to_string(pid)));
    }
    if (name == "mounts") return RefPtr<Node>(make_ref<SynthSymlink>(procfs_info(), 3, std::string("self/mounts")));
    auto pid = parse_number(name);
    if (pid && process_for(caller, *pid)) return RefPtr<Node>(make_ref<ProcPidDir>(*pid));
    return Errno::NOENT;
  }
  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    std::vector<DirEntry> out{{".", 1, DT_DIR}, {"..", 1, DT_DIR}};
    if (caller.process) {
      out.push_back(DirEntry{"self", 2, DT_LNK});
      out.push_back(DirEntry{"mounts", 3, DT_LNK});
      pid_t pid = caller.process->pid();
      out.push_back(DirEntry{std::to_string(pid), pid_ino(pid, 0), DT_DIR});
    }
    return out;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }
};

}  // namespace

RefPtr<Node> create_procfs() { return make_ref<ProcRoot>(); }

}  // namespace moat::fs
