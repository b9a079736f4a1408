// procfs: /proc/PID and /proc/PID/task/TID (the same directory, less task/),
// fd/ and fdinfo/. See procfs.h for how nodes find their process.
#include <sys/stat.h>

#include <cstring>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/procfs.h"
#include "fs/synthetic.h"
#include "sentry/kernel/interrupt.h"

namespace moat::fs::procfs {

namespace {

// What a PID or task directory holds, in the order readdir lists it. The
// index is part of the inode number, so entries only ever get appended.
enum class Entry {
  Fd, FdInfo, Task, Exe, Cwd, Root, Maps, Smaps, Stat, Statm, Status, Cmdline, Environ, Comm, Mounts, MountInfo, Limits
};
struct EntryInfo {
  const char* name;
  Entry entry;
  mode_t mode;  // with the type bits
};
constexpr EntryInfo kEntries[] = {
    {"fd", Entry::Fd, S_IFDIR | 0500},           {"fdinfo", Entry::FdInfo, S_IFDIR | 0555},
    {"task", Entry::Task, S_IFDIR | 0555},       {"exe", Entry::Exe, S_IFLNK | 0777},
    {"cwd", Entry::Cwd, S_IFLNK | 0777},         {"root", Entry::Root, S_IFLNK | 0777},
    {"maps", Entry::Maps, S_IFREG | 0444},       {"smaps", Entry::Smaps, S_IFREG | 0444},
    {"stat", Entry::Stat, S_IFREG | 0444},       {"statm", Entry::Statm, S_IFREG | 0444},
    {"status", Entry::Status, S_IFREG | 0444},   {"cmdline", Entry::Cmdline, S_IFREG | 0444},
    {"environ", Entry::Environ, S_IFREG | 0400}, {"comm", Entry::Comm, S_IFREG | 0644},
    {"mounts", Entry::Mounts, S_IFREG | 0444},   {"mountinfo", Entry::MountInfo, S_IFREG | 0444},
    {"limits", Entry::Limits, S_IFREG | 0444},
};

// The directory's own inode is index 0 of its space; entries count from 1.
ino_t entry_ino(pid_t pid, pid_t tid, size_t index) {
  if (tid == 0) return pid_ino(pid, InoKind::Entry, index);
  return pid_ino(pid, InoKind::TaskEntry, (static_cast<uint64_t>(tid) << 6) | index);
}

// The process (and, in a task directory, the thread) a node stands for.
struct Target {
  Process* process = nullptr;
  Thread* thread = nullptr;  // null for a process directory
};
ErrorOr<Target> resolve(const Caller& caller, pid_t pid, pid_t tid) {
  Process* p = find_process(caller, pid);
  if (!p) return Errno::NOENT;
  if (tid == 0) return Target{p, nullptr};
  Thread* t = p->thread_by_tid(tid);
  if (!t) return Errno::NOENT;
  return Target{p, t};
}

std::string read_guest_range(Process& p, uint64_t start, uint64_t end) {
  if (p.zombie || end <= start || end - start > (1u << 20)) return {};
  std::string s(end - start, '\0');
  size_t n = p.mem().read_partial(start, s.data(), s.size());
  s.resize(n);
  return s;
}

class FdLink final : public Node {
 public:
  FdLink(ino_t ino, RefPtr<File> file) : Node(S_IFLNK), m_ino(ino), m_file(std::move(file)) {}
  const FsInfo& fs_info() const override { return *info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*info(), m_ino, S_IFLNK | 0700, 64); }
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

// fd/ (magic links to the open files) or fdinfo/ (their position, flags
// and mount).
class FdDir final : public DynDir {
 public:
  FdDir(ino_t ino, mode_t mode, pid_t pid, pid_t tid, bool info)
      : DynDir(ino, mode), m_pid(pid), m_tid(tid), m_info(info) {}

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    Target target = TRY(resolve(caller, m_pid, m_tid));
    auto fd = parse_number(name);
    auto table = target.process->shared_fds();
    if (!fd || !table) return Errno::NOENT;
    auto file = table->get(*fd);
    if (file.is_error()) return Errno::NOENT;
    if (!m_info) return RefPtr<Node>(make_ref<FdLink>(pid_ino(m_pid, InoKind::FdLink, *fd), file.release_value()));
    pid_t pid = m_pid, tid = m_tid;
    int n = *fd;
    return RefPtr<Node>(make_ref<TextNode>(pid_ino(m_pid, InoKind::FdInfo, n), 0444,
                                           [pid, tid, n](const Caller& c) -> ErrorOr<std::string> {
                                             Target t = TRY(resolve(c, pid, tid));
                                             return format_fdinfo(c, *t.process, n);
                                           }));
  }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    Target target = TRY(resolve(caller, m_pid, m_tid));
    std::vector<DirEntry> out{{".", m_ino, DT_DIR}, {"..", entry_ino(m_pid, m_tid, 0), DT_DIR}};
    if (auto table = target.process->shared_fds())
      for (auto& [fd, file] : table->snapshot())
        out.push_back(DirEntry{std::to_string(fd), pid_ino(m_pid, m_info ? InoKind::FdInfo : InoKind::FdLink, fd),
                               static_cast<unsigned char>(m_info ? DT_REG : DT_LNK)});
    return out;
  }

 private:
  pid_t m_pid;
  pid_t m_tid;
  bool m_info;
};

class TaskDir final : public DynDir {
 public:
  TaskDir(ino_t ino, pid_t pid) : DynDir(ino, 0555), m_pid(pid) {}

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    Target target = TRY(resolve(caller, m_pid, 0));
    auto tid = parse_number(name);
    if (!tid || !target.process->thread_by_tid(*tid)) return Errno::NOENT;
    return make_pid_dir(m_pid, *tid, *target.process, false);
  }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    Target target = TRY(resolve(caller, m_pid, 0));
    std::vector<DirEntry> out{{".", m_ino, DT_DIR}, {"..", entry_ino(m_pid, 0, 0), DT_DIR}};
    for (Thread* t : target.process->live_thread_list())
      if (t->tid() > 0) out.push_back(DirEntry{std::to_string(t->tid()), entry_ino(m_pid, t->tid(), 0), DT_DIR});
    return out;
  }

 private:
  pid_t m_pid;
};

// Sets a thread's comm from a write to its comm file: at most 15 bytes, up
// to a NUL; only a thread of the writer's own process (comm_write: EINVAL).
ErrorOr<size_t> write_comm(pid_t pid, pid_t tid, std::span<const std::byte> buf) {
  Thread* current = dispatching_thread();
  if (!current || current->process().pid() != pid) return Errno::INVAL;
  Process& p = current->process();
  Thread* t = tid ? p.thread_by_tid(tid) : &p.main_thread();
  if (!t) return Errno::SRCH;
  size_t n = std::min<size_t>(buf.size(), 15);
  const char* bytes = reinterpret_cast<const char*>(buf.data());
  t->name.assign(bytes, strnlen(bytes, n));
  if (t->tid() == p.pid()) p.comm = t->name;
  return buf.size();
}

class PidDir final : public DynDir {
 public:
  PidDir(pid_t pid, pid_t tid, bool lists_tasks)
      : DynDir(entry_ino(pid, tid, 0), 0555), m_pid(pid), m_tid(tid), m_lists_tasks(lists_tasks) {}

  pid_t pid() const { return m_pid; }
  // /proc/PID rather than /proc/PID/task/TID.
  bool is_thread_group() const { return m_lists_tasks; }

  ErrorOr<RefPtr<Node>> lookup(const Caller& caller, std::string_view name) override {
    TRY(resolve(caller, m_pid, m_tid));
    for (size_t i = 0; i < std::size(kEntries); i++) {
      if (name != kEntries[i].name || (!m_lists_tasks && kEntries[i].entry == Entry::Task)) continue;
      return make_entry(kEntries[i], entry_ino(m_pid, m_tid, i + 1));
    }
    return Errno::NOENT;
  }

  ErrorOr<std::vector<DirEntry>> list(const Caller& caller) const override {
    TRY(resolve(caller, m_pid, m_tid));
    ino_t parent = m_lists_tasks ? 1 : pid_ino(m_pid, InoKind::Entry, index_of(Entry::Task));
    std::vector<DirEntry> out{{".", m_ino, DT_DIR}, {"..", parent, DT_DIR}};
    for (size_t i = 0; i < std::size(kEntries); i++) {
      if (!m_lists_tasks && kEntries[i].entry == Entry::Task) continue;
      out.push_back(DirEntry{kEntries[i].name, entry_ino(m_pid, m_tid, i + 1), dirent_type(kEntries[i].mode)});
    }
    return out;
  }

 private:
  static size_t index_of(Entry e) {
    for (size_t i = 0; i < std::size(kEntries); i++)
      if (kEntries[i].entry == e) return i + 1;
    return 0;
  }

  // A generated file of this directory: gen sees the process and thread.
  RefPtr<Node> file(ino_t ino, mode_t mode, std::function<std::string(const Caller&, Target)> gen,
                    Writer writer = {}) const {
    pid_t pid = m_pid, tid = m_tid;
    auto node = make_ref<TextNode>(
        ino, mode & 07777,
        [pid, tid, gen = std::move(gen)](const Caller& c) -> ErrorOr<std::string> {
          Target t = TRY(resolve(c, pid, tid));
          return gen(c, t);
        },
        WriteError::Invalid, std::move(writer));
    node->set_owner(m_uid, m_gid);
    return node;
  }

  RefPtr<Node> link(ino_t ino, std::function<ErrorOr<std::string>(Target)> target) const {
    pid_t pid = m_pid, tid = m_tid;
    return make_ref<SynthSymlink>(info(), ino, [pid, tid, target = std::move(target)](const Caller& c) -> ErrorOr<std::string> {
      Target t = TRY(resolve(c, pid, tid));
      // A zombie has let go of its files and directories (exit_fs).
      if (t.process->zombie || !t.process->shared_fs()) return Errno::NOENT;
      std::string path = TRY(target(t));
      // d_path() from the reader's root: a chrooted reader sees paths below
      // its root (and a walk of the link stays inside it).
      std::string root = c.process && c.process->shared_fs() ? c.process->fs().root().path() : "/";
      if (root != "/" && path.compare(0, root.size(), root) == 0) {
        if (path.size() == root.size()) return std::string("/");
        if (path[root.size()] == '/') return path.substr(root.size());
      }
      return path;
    });
  }

  RefPtr<Node> make_entry(const EntryInfo& e, ino_t ino) const {
    switch (e.entry) {
      case Entry::Fd:
      case Entry::FdInfo: {
        auto dir = make_ref<FdDir>(ino, e.mode & 07777, m_pid, m_tid, e.entry == Entry::FdInfo);
        dir->set_owner(m_uid, m_gid);
        return dir;
      }
      case Entry::Task: return make_ref<TaskDir>(ino, m_pid);
      case Entry::Exe: return link(ino, [](Target t) -> ErrorOr<std::string> { return t.process->exe_path; });
      case Entry::Cwd: return link(ino, [](Target t) -> ErrorOr<std::string> { return t.process->fs().cwd().display_path(); });
      case Entry::Root:
        return link(ino, [](Target t) -> ErrorOr<std::string> { return t.process->fs().root().display_path(); });
      case Entry::Maps:
        // FIXME: format_maps() relies on the Process to serialise address-space access.
        return file(ino, e.mode, [](const Caller&, Target t) { return t.process->address_space().format_maps(); });
      case Entry::Smaps: return file(ino, e.mode, [](const Caller&, Target t) { return format_smaps(*t.process); });
      case Entry::Stat:
        return file(ino, e.mode, [](const Caller& c, Target t) { return format_stat(*t.process, t.thread, c); });
      case Entry::Statm: return file(ino, e.mode, [](const Caller&, Target t) { return format_statm(*t.process); });
      case Entry::Status:
        return file(ino, e.mode, [](const Caller& c, Target t) { return format_status(*t.process, t.thread, c); });
      case Entry::Cmdline:
        return file(ino, e.mode, [](const Caller&, Target t) {
          return read_guest_range(*t.process, t.process->arg_start, t.process->arg_end);
        });
      case Entry::Environ:
        return file(ino, e.mode, [](const Caller&, Target t) {
          return read_guest_range(*t.process, t.process->env_start, t.process->env_end);
        });
      case Entry::Comm: {
        pid_t pid = m_pid, tid = m_tid;
        return file(
            ino, e.mode, [](const Caller&, Target t) { return comm_of(*t.process, t.thread) + "\n"; },
            [pid, tid](std::span<const std::byte> buf) { return write_comm(pid, tid, buf); });
      }
      case Entry::Mounts: return file(ino, e.mode, [](const Caller& c, Target) { return format_mounts(c); });
      case Entry::MountInfo: return file(ino, e.mode, [](const Caller& c, Target) { return format_mountinfo(c); });
      case Entry::Limits: return file(ino, e.mode, [](const Caller&, Target t) { return format_limits(*t.process); });
    }
    return nullptr;
  }

  pid_t m_pid;
  pid_t m_tid;
  bool m_lists_tasks;
};

}  // namespace

std::optional<pid_t> tgid_dir_pid(const Node& node) {
  auto* dir = dynamic_cast<const PidDir*>(&node);
  if (!dir || !dir->is_thread_group()) return std::nullopt;
  return dir->pid();
}

RefPtr<Node> make_pid_dir(pid_t pid, pid_t tid, const Process& owner, bool lists_tasks) {
  auto dir = make_ref<PidDir>(pid, tid, lists_tasks);
  // Owned by the process's effective ids, as a dumpable process's are.
  dir->set_owner(owner.creds.euid, owner.creds.egid);
  return dir;
}

}  // namespace moat::fs::procfs
