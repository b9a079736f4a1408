#pragma once
// procfs internals shared by procfs.cpp (the root, the system-wide files,
// /proc/sys), procfs_pid.cpp (the PID and task directories) and
// procfs_format.cpp (the text of the per-process files).
//
// Nodes are made per lookup and hold a pid (and tid), never a Process: every
// operation looks the process up again in the caller's sandbox, so a node or
// an open directory outliving its process answers ENOENT (pids are never
// reused in a sandbox). Generated files are a snapshot taken at open.
//
// FIXME: procfs reads another process's state without a lock; that is safe
// because all processes of a sandbox are served by one worker thread (fork
// attaches the child to its parent's worker). A sandbox served by several
// workers needs a lock on the process table.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fs/file.h"
#include "fs/node.h"

namespace moat::fs::procfs {

const std::shared_ptr<const FsInfo>& info();

// Inode numbers: the root's own files are small numbers; a process's files
// carry its pid in the high half and a category in the low half.
enum class InoKind : uint64_t { Entry = 0, FdLink = 1, FdInfo = 2, TaskEntry = 3 };
inline ino_t pid_ino(pid_t pid, InoKind kind, uint64_t value) {
  return static_cast<ino_t>((static_cast<uint64_t>(pid) << 32) | (static_cast<uint64_t>(kind) << 28) |
                            (value & 0x0fffffffu));
}

// A decimal number as procfs names it ("0" but not "01", "+1" or "-1").
std::optional<int> parse_number(std::string_view s);

// The process (zombies included, reaped ones not) with this pid in the
// caller's sandbox; null without a caller process.
Process* find_process(const Caller& caller, pid_t pid);
// The live thread tid of process pid.
Thread* find_thread(const Caller& caller, pid_t pid, pid_t tid);
// The thread whose syscall is being served, if it belongs to the caller.
Thread* calling_thread(const Caller& caller);

// How a write to a generated file fails, which differs between Linux's
// procfs files: the seq files of /proc/PID have no write method (EINVAL),
// the system-wide ones answer EIO (proc_reg_write without .proc_write).
enum class WriteError { Invalid, Io };

using Generator = std::function<ErrorOr<std::string>(const Caller&)>;
// Handles a write of a writable file (comm); returns the count taken.
using Writer = std::function<ErrorOr<size_t>(std::span<const std::byte>)>;

// A regular file whose text is generated at open.
class TextNode final : public Node {
 public:
  TextNode(ino_t ino, mode_t mode, Generator gen, WriteError write_error = WriteError::Invalid, Writer writer = {})
      : Node(S_IFREG), m_ino(ino), m_mode(mode), m_gen(std::move(gen)), m_write_error(write_error),
        m_writer(std::move(writer)) {}

  const FsInfo& fs_info() const override { return *info(); }
  ErrorOr<struct stat> stat() const override;
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override;
  // open(O_TRUNC) on a procfs file succeeds (proc_setattr) and changes nothing.
  ErrorOr<void> truncate(uint64_t) override { return {}; }
  void set_owner(uid_t uid, gid_t gid) {
    m_uid = uid;
    m_gid = gid;
  }
  // A sysctl file may not be opened for writing unless its mode has a
  // write bit, whoever asks (proc_sys_permission); moat's are all like that.
  void refuse_write_open() { m_refuse_write_open = true; }

 private:
  ino_t m_ino;
  mode_t m_mode;
  Generator m_gen;
  WriteError m_write_error;
  Writer m_writer;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
  bool m_refuse_write_open = false;
};

// A directory whose entries are computed per caller (the root, PID and task
// directories, fd/ and fdinfo/).
class DynDir : public Node {
 public:
  DynDir(ino_t ino, mode_t mode) : Node(S_IFDIR), m_ino(ino), m_mode(mode) {}
  const FsInfo& fs_info() const override { return *info(); }
  ErrorOr<struct stat> stat() const override;
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }
  void set_owner(uid_t uid, gid_t gid) {
    m_uid = uid;
    m_gid = gid;
  }
  // Nothing can be made in procfs; a missing name stays missing (ENOENT,
  // as Linux answers an O_CREAT or mkdir there).
  ErrorOr<RefPtr<Node>> create(const Caller&, std::string_view, mode_t) override { return Errno::NOENT; }
  ErrorOr<void> mkdir(const Caller&, std::string_view, mode_t) override { return Errno::NOENT; }
  ErrorOr<void> symlink(const Caller&, std::string_view, std::string_view) override { return Errno::NOENT; }

 protected:
  ino_t m_ino;
  mode_t m_mode;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
};

// /proc/PID (tid 0), /proc/TID (a thread's view, with task/) or
// /proc/PID/task/TID (without task/).
RefPtr<Node> make_pid_dir(pid_t pid, pid_t tid, const Process& owner, bool lists_tasks);
// The pid of a /proc/PID directory (a thread group's, not a task's), which
// pidfd_send_signal(2) accepts in place of a pidfd; nullopt for other nodes.
std::optional<pid_t> tgid_dir_pid(const Node& node);

// The mount table as /proc/PID/mounts and mountinfo show it, and the mount
// id of an open file (fdinfo's mnt_id).
std::string format_mounts(const Caller& caller);
std::string format_mountinfo(const Caller& caller);
int mount_id_of(const Caller& caller, const File& file);

// Per-process files (procfs_format.cpp). t is the thread for a task
// directory's files, null for the process's own.
std::string format_stat(Process& p, Thread* t, const Caller& caller);
std::string format_statm(Process& p);
std::string format_status(Process& p, Thread* t, const Caller& caller);
std::string format_limits(const Process& p);
std::string format_smaps(Process& p);
std::string format_fdinfo(const Caller& caller, Process& p, int fd);
// The comm of a process (its leader's) or of one thread.
std::string comm_of(Process& p, Thread* t);
// The host's text file at path (the sentry's view of the host), or "".
std::string read_host_file(const char* path);

}  // namespace moat::fs::procfs
