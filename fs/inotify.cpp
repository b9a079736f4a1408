// inotify(7): watches, the event queue and the hooks (inotify.h).

#include "fs/inotify.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/unique_fd.h"
#include "fs/host_fd_file.h"
#include "fs/host_fs.h"
#include "fs/mounts.h"
#include "sentry/kernel/host_fd_wait.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

namespace {

// /proc/sys/fs/inotify/max_queued_events and max_user_watches defaults.
constexpr size_t kMaxQueuedEvents = 16384;
constexpr size_t kMaxWatches = 8192;

struct WatchKey {
  const FsInfo* fs;
  dev_t dev;
  ino_t ino;
  auto operator<=>(const WatchKey&) const = default;
};

std::optional<WatchKey> key_of(const Node& node) {
  Node& inner = unwrap_view(const_cast<Node&>(node));
  auto st = inner.stat();
  if (st.is_error()) return std::nullopt;
  return WatchKey{&inner.fs_info(), st.value().st_dev, st.value().st_ino};
}

struct Event {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
  bool operator==(const Event&) const = default;
  // The record's size: the name NUL-padded to a multiple of the header size.
  size_t size() const {
    if (name.empty()) return sizeof(inotify_event);
    size_t len = (name.size() + 1 + sizeof(inotify_event) - 1) / sizeof(inotify_event) * sizeof(inotify_event);
    return sizeof(inotify_event) + len;
  }
};

}  // namespace

struct InotifyState {
  std::mutex lock;
  std::deque<Event> queue;
  struct Watch {
    WatchKey key;
    uint32_t mask;
  };
  std::map<int, Watch> watches;
  int next_wd = 1;
  UniqueFd ready;  // an eventfd, readable while the queue is not empty
};

namespace {

struct DnotifyMark {
  const File* file;
  const void* owner;  // the fd table it was set through
  uint32_t mask;  // IN_* events
  bool multishot;
  std::function<void()> fire;
  bool spent = false;  // a one-shot mark that fired (guarded by the registry lock)
};

// A watch of an inotify instance, or (dnotify set, wd -1) a dnotify mark.
struct Registration {
  std::weak_ptr<InotifyState> state;
  int wd;
  uint32_t mask;
  std::shared_ptr<DnotifyMark> dnotify;
};

struct Registry {
  std::mutex lock;
  std::map<WatchKey, std::vector<Registration>> watches;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::atomic<size_t> g_watch_count{0};  // inotify watches and dnotify marks
std::atomic<size_t> g_dnotify_count{0};

// Removes the dnotify marks of one watched inode that `which` selects.
template <typename Pred>
void erase_marks_locked(Registry& r, std::map<WatchKey, std::vector<Registration>>::iterator it, Pred which) {
  size_t gone = std::erase_if(it->second, [&](const Registration& reg) { return reg.dnotify && which(*reg.dnotify); });
  g_watch_count -= gone;
  g_dnotify_count -= gone;
  if (it->second.empty()) r.watches.erase(it);
}
std::atomic<uint32_t> g_cookie{0};

void set_ready_locked(InotifyState& s, bool ready) {
  if (ready) {
    uint64_t one = 1;
    (void)!::write(s.ready.get(), &one, sizeof one);
  } else {
    uint64_t v;
    (void)!::read(s.ready.get(), &v, sizeof v);
  }
}

// Queues one event (coalescing it with an identical unread last one, as
// inotify_merge does); the readiness eventfd wakes the readers.
void deliver(InotifyState& s, Event e) {
  {
    std::lock_guard guard(s.lock);
    if (!s.queue.empty() && s.queue.back() == e) return;
    if (s.queue.size() >= kMaxQueuedEvents) {
      Event overflow{-1, IN_Q_OVERFLOW, 0, {}};
      if (s.queue.back() == overflow) return;
      e = overflow;
    }
    bool was_empty = s.queue.empty();
    s.queue.push_back(std::move(e));
    if (was_empty) set_ready_locked(s, true);
  }
}

// Forgets watch wd of s on key (registry side).
void unregister(const WatchKey& key, const InotifyState* s, int wd) {
  Registry& r = registry();
  std::lock_guard guard(r.lock);
  auto it = r.watches.find(key);
  if (it == r.watches.end()) return;
  auto& list = it->second;
  size_t before = list.size();
  std::erase_if(list, [&](const Registration& reg) {
    auto locked = reg.state.lock();
    return reg.wd == wd && (!locked || locked.get() == s);
  });
  g_watch_count -= before - list.size();
  if (list.empty()) r.watches.erase(it);
}

// Removes watch wd from s and reports IN_IGNORED.
void drop_watch(const std::shared_ptr<InotifyState>& s, int wd) {
  std::optional<WatchKey> key;
  {
    std::lock_guard guard(s->lock);
    auto it = s->watches.find(wd);
    if (it == s->watches.end()) return;
    key = it->second.key;
    s->watches.erase(it);
  }
  unregister(*key, s.get(), wd);
  deliver(*s, Event{wd, IN_IGNORED, 0, {}});
}

// Reports mask on the inode key to every watch that wants it. name: the
// child's name when the watch is on its directory.
void emit(const std::optional<WatchKey>& key, uint32_t mask, uint32_t cookie, std::string_view name) {
  if (!key) return;
  struct Match {
    std::shared_ptr<InotifyState> state;
    int wd;
    uint32_t mask;
  };
  std::vector<Match> matches;
  std::vector<std::shared_ptr<DnotifyMark>> marks;
  {
    Registry& r = registry();
    std::lock_guard guard(r.lock);
    auto it = r.watches.find(*key);
    if (it == r.watches.end()) return;
    bool spent = false;
    for (const auto& reg : it->second) {
      if (reg.dnotify && (mask & reg.dnotify->mask & IN_ALL_EVENTS)) {
        marks.push_back(reg.dnotify);
        // A one-shot mark ends with its first event.
        if (!reg.dnotify->multishot) spent = reg.dnotify->spent = true;
      }
      if (auto s = reg.state.lock()) matches.push_back(Match{std::move(s), reg.wd, reg.mask});
    }
    if (spent) erase_marks_locked(r, it, [](const DnotifyMark& m) { return m.spent; });
  }
  for (auto& mark : marks) mark->fire();
  for (auto& m : matches) {
    if (!(mask & m.mask & IN_ALL_EVENTS)) continue;
    // Events on a directory's children go to a watch on the directory only
    // when asked for: IN_ONLYDIR and IN_EXCL_UNLINK aside, the mask decides.
    deliver(*m.state, Event{m.wd, mask, cookie, std::string(name)});
    if (m.mask & IN_ONESHOT) drop_watch(m.state, m.wd);
  }
}

// IN_DELETE_SELF for a node that no name reaches any more, then IN_IGNORED:
// its watches end.
void emit_gone(const std::optional<WatchKey>& key, bool is_dir) {
  if (!key) return;
  // fsnotify_inode: IN_ISDIR for a directory's own events too.
  emit(key, IN_DELETE_SELF | (is_dir ? IN_ISDIR : 0), 0, {});
  std::vector<std::pair<std::shared_ptr<InotifyState>, int>> watchers;
  {
    Registry& r = registry();
    std::lock_guard guard(r.lock);
    auto it = r.watches.find(*key);
    if (it == r.watches.end()) return;
    for (const auto& reg : it->second)
      if (auto s = reg.state.lock()) watchers.emplace_back(std::move(s), reg.wd);
  }
  for (auto& [s, wd] : watchers) drop_watch(s, wd);
}

uint32_t dir_bit(bool is_dir) { return is_dir ? IN_ISDIR : 0; }

bool links_gone(const Node& node) {
  auto st = unwrap_view(const_cast<Node&>(node)).stat();
  return !st.is_error() && st.value().st_nlink == 0;
}

}  // namespace

bool inotify_active() { return g_watch_count.load(std::memory_order_relaxed) != 0; }

ErrorOr<RefPtr<File>> InotifyFile::create(int flags) {
  auto state = std::make_shared<InotifyState>();
  state->ready = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!state->ready) return last_host_errno();
  Location loc;
  loc.entries.push_back(PathEntry{"anon_inode:inotify", make_ref<AnonNode>(static_cast<mode_t>(0600))});
  loc.anonymous = true;
  int file_flags = O_RDONLY | ((flags & IN_NONBLOCK) ? O_NONBLOCK : 0);
  return RefPtr<File>::adopt(new InotifyFile(std::move(loc), file_flags, std::move(state)));
}

InotifyFile::~InotifyFile() {
  std::map<int, InotifyState::Watch> watches;
  {
    std::lock_guard guard(m_state->lock);
    watches.swap(m_state->watches);
  }
  for (const auto& [wd, w] : watches) unregister(w.key, m_state.get(), wd);
}

ErrorOr<int> InotifyFile::add_watch(const Location& loc, uint32_t mask) {
  auto key = key_of(loc.node());
  if (!key) return Errno::NOENT;
  std::lock_guard guard(m_state->lock);
  for (auto& [wd, w] : m_state->watches) {
    if (w.key != *key) continue;
    if (mask & IN_MASK_CREATE) return Errno::EXIST;
    w.mask = (mask & IN_MASK_ADD) ? (w.mask | mask) : mask;
    w.mask &= ~static_cast<uint32_t>(IN_MASK_ADD);
    Registry& r = registry();
    std::lock_guard rguard(r.lock);
    for (auto& reg : r.watches[*key])
      if (reg.wd == wd && reg.state.lock() == m_state) reg.mask = w.mask;
    return wd;
  }
  if (g_watch_count.load() >= kMaxWatches) return Errno::NOSPC;
  int wd = m_state->next_wd++;
  uint32_t stored = mask & ~static_cast<uint32_t>(IN_MASK_ADD | IN_MASK_CREATE);
  m_state->watches.emplace(wd, InotifyState::Watch{*key, stored});
  Registry& r = registry();
  std::lock_guard rguard(r.lock);
  r.watches[*key].push_back(Registration{m_state, wd, stored});
  g_watch_count++;
  return wd;
}

ErrorOr<void> InotifyFile::rm_watch(int wd) {
  {
    std::lock_guard guard(m_state->lock);
    if (!m_state->watches.contains(wd)) return Errno::INVAL;
  }
  drop_watch(m_state, wd);
  return {};
}

namespace {

}  // namespace

namespace {

// Moves as many whole records as fit into buf; 0 when the queue is empty,
// EINVAL when the first record does not fit (inotify_read).
ErrorOr<size_t> take_events(InotifyState& s, std::span<std::byte> buf) {
  std::lock_guard guard(s.lock);
  if (s.queue.empty()) return size_t{0};
  if (s.queue.front().size() > buf.size()) return Errno::INVAL;
  size_t done = 0;
  while (!s.queue.empty() && s.queue.front().size() <= buf.size() - done) {
    const Event& e = s.queue.front();
    size_t size = e.size();
    inotify_event header{};
    header.wd = e.wd;
    header.mask = e.mask;
    header.cookie = e.cookie;
    header.len = static_cast<uint32_t>(size - sizeof(inotify_event));
    std::memcpy(buf.data() + done, &header, sizeof header);
    if (header.len) {
      std::memset(buf.data() + done + sizeof header, 0, header.len);
      std::memcpy(buf.data() + done + sizeof header, e.name.data(), e.name.size());
    }
    done += size;
    s.queue.pop_front();
  }
  if (s.queue.empty()) set_ready_locked(s, false);
  return done;
}

}  // namespace

Coro<ErrorOr<size_t>> InotifyFile::read(std::span<std::byte> buf, int64_t offset) {
  if (offset >= 0) co_return Errno::SPIPE;
  Thread* thread = dispatching_thread();
  for (;;) {
    CO_TRY_ASSIGN(size_t n, take_events(*m_state, buf));
    if (n) co_return n;
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    int32_t r = co_await wait_host_fd(m_state->ready.get(), POLLIN, -1, thread);
    if (r == -ECANCELED || (thread && thread->interrupted)) co_return Errno::RestartSys;
  }
}

int InotifyFile::poll_host_fd() const { return m_state->ready.get(); }

ErrorOr<int64_t> InotifyFile::ioctl(Process& process, unsigned long request, uint64_t arg) {
  if (request != FIONREAD) return Errno::NOTTY;
  int bytes = 0;
  {
    std::lock_guard guard(m_state->lock);
    for (const auto& e : m_state->queue) bytes += static_cast<int>(e.size());
  }
  TRY(process.mem().write(arg, &bytes, sizeof bytes));
  return 0;
}

ErrorOr<struct stat> InotifyFile::stat() const {
  struct stat st {};
  st.st_mode = 0600;  // an anonymous inode: no type bits
  st.st_nlink = 1;
  st.st_blksize = 4096;
  return st;
}

// --- dnotify.

ErrorOr<void> set_dnotify(const File& dir, const void* owner, unsigned long arg, std::function<void()> fire) {
  if (!dir.node().is_dir()) return Errno::NOTDIR;
  auto key = key_of(dir.location().node());
  if (!key) return Errno::NOENT;
  // dnotify.c convert_arg: what each DN_ bit hears.
  uint32_t mask = 0;
  if (arg & DN_ACCESS) mask |= IN_ACCESS;
  if (arg & DN_MODIFY) mask |= IN_MODIFY;
  if (arg & DN_CREATE) mask |= IN_CREATE | IN_MOVED_TO;
  if (arg & DN_DELETE) mask |= IN_DELETE | IN_MOVED_FROM;
  if (arg & DN_RENAME) mask |= IN_MOVED_FROM | IN_MOVED_TO;
  if (arg & DN_ATTRIB) mask |= IN_ATTRIB;
  Registry& r = registry();
  std::lock_guard guard(r.lock);
  auto it = r.watches.find(*key);
  if (mask == 0) {
    if (it != r.watches.end())
      erase_marks_locked(r, it, [&](const DnotifyMark& m) { return m.file == &dir && m.owner == owner; });
    return {};
  }
  auto& list = r.watches[*key];
  for (auto& reg : list) {
    if (!reg.dnotify || reg.dnotify->file != &dir || reg.dnotify->owner != owner) continue;
    reg.dnotify->mask |= mask;  // attach_dn: the events add up
    reg.dnotify->multishot = arg & DN_MULTISHOT;
    reg.dnotify->fire = std::move(fire);
    return {};
  }
  auto mark = std::make_shared<DnotifyMark>(DnotifyMark{&dir, owner, mask, bool(arg & DN_MULTISHOT), std::move(fire)});
  list.push_back(Registration{{}, -1, 0, std::move(mark)});
  g_watch_count++;
  g_dnotify_count++;
  return {};
}

void drop_dnotify(const File& file, const void* owner) {
  if (g_dnotify_count.load(std::memory_order_relaxed) == 0) return;
  Registry& r = registry();
  std::lock_guard guard(r.lock);
  for (auto it = r.watches.begin(); it != r.watches.end();) {
    auto next = std::next(it);
    erase_marks_locked(r, it, [&](const DnotifyMark& m) { return m.file == &file && (!owner || m.owner == owner); });
    it = next;
  }
}

// --- Hooks.

void notify_create(const Location& dir, std::string_view name, bool is_dir) {
  HostFetch::freeze_current();
  if (!inotify_active() || dir.empty()) return;
  emit(key_of(dir.node()), IN_CREATE | dir_bit(is_dir), 0, name);
}

void notify_remove(const Location& dir, std::string_view name, Node& victim, bool is_dir) {
  HostFetch::freeze_current();
  if (!inotify_active() || dir.empty()) return;
  auto victim_key = key_of(victim);
  // vfs_unlink: the link count (IN_ATTRIB), the inode's end, then the name.
  if (!is_dir) emit(victim_key, IN_ATTRIB, 0, {});
  if (is_dir || links_gone(victim)) emit_gone(victim_key, is_dir);
  emit(key_of(dir.node()), IN_DELETE | dir_bit(is_dir), 0, name);
}

void notify_rename(const Location& from_dir, std::string_view from_name, const Location& to_dir,
                   std::string_view to_name, Node& moved, Node* replaced) {
  HostFetch::freeze_current();
  if (!inotify_active()) return;
  bool is_dir = moved.is_dir();
  uint32_t cookie = ++g_cookie;
  // fsnotify_move: the names first, the replaced inode, then the moved one.
  emit(key_of(from_dir.node()), IN_MOVED_FROM | dir_bit(is_dir), cookie, from_name);
  emit(key_of(to_dir.node()), IN_MOVED_TO | dir_bit(is_dir), cookie, to_name);
  if (replaced && replaced != &moved) {
    auto key = key_of(*replaced);
    if (!replaced->is_dir()) emit(key, IN_ATTRIB, 0, {});
    if (replaced->is_dir() || links_gone(*replaced)) emit_gone(key, replaced->is_dir());
  }
  emit(key_of(moved), IN_MOVE_SELF | dir_bit(is_dir), 0, {});
}

void notify_change(const Location& loc, uint32_t mask) {
  HostFetch::freeze_current();
  if (!inotify_active() || loc.empty() || loc.anonymous) return;
  Node& node = loc.node();
  uint32_t full = mask | dir_bit(node.is_dir());
  // fsnotify_parent: the directory's watch hears first, with the name.
  if (loc.entries.size() >= 2) emit(key_of(*loc.entries[loc.entries.size() - 2].node), full, 0, loc.entries.back().name);
  emit(key_of(node), full, 0, {});
}

void notify_close(const File& file) {
  if (!inotify_active()) return;
  const Location& loc = file.location();
  if (loc.empty() || loc.anonymous || (file.flags() & O_PATH)) return;
  int acc = file.flags() & O_ACCMODE;
  notify_change(loc, (acc == O_WRONLY || acc == O_RDWR) ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
}

}  // namespace moat::fs
