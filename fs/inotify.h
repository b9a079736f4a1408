#pragma once
// inotify(7) for changes made inside the sandbox.
//
// A watch names an inode as (filesystem, st_dev, st_ino): the FsInfo of the
// node under any read-only view (fs/mounts.h) keeps sandboxes apart, and the
// inode number survives filesystems that make a new Node per lookup.
// Changes are reported by hooks in the path operations (fs/ops.cpp), the
// attribute and write syscalls and File's release; each hook returns at once
// while no watch exists anywhere.
//
// Ownership: the fd table holds the InotifyFile; the file and the registry
// (a map of weak pointers, inotify.cpp) share its InotifyState. Locks: the
// registry's lock, then one InotifyState's; both are leaves (no fs/ lock is
// taken under them, and the hooks run with no fs/ lock held).

#include <sys/inotify.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "fs/file.h"

namespace moat::fs {

struct InotifyState;

class InotifyFile final : public File {
 public:
  // flags: IN_NONBLOCK (IN_CLOEXEC is the fd table's).
  static ErrorOr<RefPtr<File>> create(int flags);
  ~InotifyFile() override;
  // inotify_add_watch(2) on the node loc names; returns the watch descriptor.
  ErrorOr<int> add_watch(const Location& loc, uint32_t mask);
  ErrorOr<void> rm_watch(int wd);
  // As many whole struct inotify_event records as fit (EINVAL when the
  // first does not); waits for one unless O_NONBLOCK.
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t offset) override;
  ErrorOr<int64_t> lseek(int64_t, int) override { return 0; }  // noop_llseek
  int poll_host_fd() const override;
  // FIONREAD: the bytes a read would return now.
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override;
  ErrorOr<struct stat> stat() const override;
  std::string path() const override { return "anon_inode:inotify"; }

 private:
  InotifyFile(Location loc, int flags, std::shared_ptr<InotifyState> state)
      : File(std::move(loc), flags), m_state(std::move(state)) {}
  std::shared_ptr<InotifyState> m_state;
};

// dnotify: fcntl(fd, F_NOTIFY, arg) on a directory description. arg is
// DN_ACCESS | DN_MODIFY | DN_CREATE | DN_DELETE | DN_RENAME | DN_ATTRIB,
// with DN_MULTISHOT to keep the mark after its first event; the events of a
// second call add to the first; 0 removes the mark. `fire` runs for each
// event (the caller sends the owner's signal). A mark belongs to the
// description and the fd table it was set through (`owner`), and goes when
// any fd of that description in that table is closed (dnotify_flush).
ErrorOr<void> set_dnotify(const File& dir, const void* owner, unsigned long arg, std::function<void()> fire);
// An fd of file in fd table owner was closed: the marks set through it go.
// With no owner (the description is released), every mark on it goes.
void drop_dnotify(const File& file, const void* owner = nullptr);

// --- Hooks. All take the node's location as the change left it (or as it
// was, for removals) and do nothing while no watch exists. They also tell
// fs::HostFetch that the running handler changed something.

// A new name in dir: IN_CREATE (with IN_ISDIR for a directory).
void notify_create(const Location& dir, std::string_view name, bool is_dir);
// name removed from dir; victim is the node it named. IN_ATTRIB on a file
// (its link count), IN_DELETE_SELF and IN_IGNORED once it has no links,
// then IN_DELETE on dir.
void notify_remove(const Location& dir, std::string_view name, Node& victim, bool is_dir);
// A rename: IN_MOVED_FROM and IN_MOVED_TO sharing a cookie, IN_MOVE_SELF on
// the moved node; replaced, if any, was overwritten.
void notify_rename(const Location& from_dir, std::string_view from_name, const Location& to_dir,
                   std::string_view to_name, Node& moved, Node* replaced);
// mask (IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_ACCESS, IN_CLOSE_*) on loc's node,
// and on its parent directory with its name.
void notify_change(const Location& loc, uint32_t mask);
// The description is released: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE.
void notify_close(const File& file);
// Whether any watch exists (hooks may skip their work when not).
bool inotify_active();

// Emits IN_MODIFY for file when the guarded write wrote something.
class ModifyNotifier {
 public:
  ModifyNotifier(const File& file, const size_t& done) : m_file(file), m_done(done) {}
  ~ModifyNotifier() {
    if (m_done && inotify_active()) notify_change(m_file.location(), IN_MODIFY);
  }
  ModifyNotifier(const ModifyNotifier&) = delete;
  ModifyNotifier& operator=(const ModifyNotifier&) = delete;

 private:
  const File& m_file;
  const size_t& m_done;
};

}  // namespace moat::fs
