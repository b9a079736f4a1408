#include "fs/host_fs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fs/fifo.h"
#include "sentry/io/uring.h"

namespace moat::fs {

// One hostfs instance (one mount of a host directory).
struct HostFs {
  FsInfo info;
  bool exclusive = false;  // HostNode::create_root
  // The sentry-side state of the FIFOs the guest opens on a writable hostfs,
  // by host inode, so that every opener shares one pipe.
  std::mutex fifo_lock;
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<FifoState>> fifos;

  // The dentry cache (fs/host_fs.h). cache_lock is a leaf, and no node
  // reference is dropped while it is held (~HostNode takes it): the
  // functions below hand the references to drop to the caller in `release`.
  using Key = std::pair<const HostNode*, std::string>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.first) ^ (std::hash<std::string>()(k.second) * 31);
    }
  };
  using Recent = std::list<RefPtr<HostNode>>;
  static constexpr size_t kRecentMax = 1024;  // each holds an O_PATH fd

  std::mutex cache_lock;
  std::unordered_map<Key, HostNode*, KeyHash> live;  // every named live node
  Recent recent;                                     // most recent first
  std::unordered_map<const HostNode*, Recent::iterator> recent_pos;

  RefPtr<HostNode> find_locked(const HostNode* parent, const std::string& name) {
    auto it = live.find(Key(parent, name));
    if (it == live.end() || !it->second->try_ref()) return nullptr;
    return RefPtr<HostNode>::adopt(it->second);
  }
  void enter_locked(HostNode* node) { live[Key(node->m_parent.ptr(), node->m_name)] = node; }
  void forget_locked(const HostNode* node) {
    auto it = live.find(Key(node->m_parent.ptr(), node->m_name));
    if (it != live.end() && it->second == node) live.erase(it);
  }
  void touch_locked(const RefPtr<HostNode>& node, std::vector<RefPtr<HostNode>>& release) {
    if (auto it = recent_pos.find(node.ptr()); it != recent_pos.end()) {
      recent.splice(recent.begin(), recent, it->second);
      return;
    }
    recent.push_front(node);
    recent_pos[node.ptr()] = recent.begin();
    if (recent.size() <= kRecentMax) return;
    recent_pos.erase(recent.back().ptr());
    release.push_back(std::move(recent.back()));
    recent.pop_back();
  }
  void unrecent_locked(const HostNode* node, std::vector<RefPtr<HostNode>>& release) {
    auto it = recent_pos.find(node);
    if (it == recent_pos.end()) return;
    release.push_back(std::move(*it->second));
    recent.erase(it->second);
    recent_pos.erase(it);
  }
  // The node was unlinked, or another one renamed over it.
  void remove_locked(HostNode* node, std::vector<RefPtr<HostNode>>& release) {
    forget_locked(node);
    node->m_removed = true;
    unrecent_locked(node, release);
  }
};

namespace {

#ifndef SYS_fchmodat2
constexpr long SYS_fchmodat2 = 452;
#endif

ErrorOr<struct stat> fstat_empty(int fd) {
  struct stat st {};
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) return last_host_errno();
  return st;
}

// An O_PATH fd takes no f*xattr calls or reopen; its /proc/self/fd link
// does, and names the object itself (even a symlink, an unlinked file).
std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// chmod of the object behind an O_PATH fd (fchmodat2 with AT_EMPTY_PATH, Linux 6.6).
ErrorOr<void> chmod_fd(int fd, mode_t mode) {
  if (::syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return {};
  if (errno != ENOSYS && errno != EINVAL) return last_host_errno();
  if (::chmod(proc_fd_path(fd).c_str(), mode) < 0) return last_host_errno();
  return {};
}

}  // namespace

ErrorOr<RefPtr<Node>> HostNode::create_root(const std::string& host_dir, bool writable, bool exclusive) {
  UniqueFd fd(::open(host_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_host_errno();
  auto fs = std::make_shared<HostFs>();
  fs->info.magic = 0;  // statfs reports the host's own f_type
  fs->info.read_only = !writable;
  fs->exclusive = exclusive;
  fs->info.name = "hostfs";
  fs->info.dev = TRY(fstat_empty(fd.get())).st_dev;
  struct stat st = TRY(fstat_empty(fd.get()));
  return RefPtr<Node>::adopt(new HostNode(std::move(fs), std::move(fd), st, nullptr, ""));
}

HostNode::~HostNode() {
  if (!m_parent) return;
  std::lock_guard guard(m_fs->cache_lock);
  m_fs->forget_locked(this);
}

void HostNode::drop_caches() {
  std::vector<RefPtr<HostNode>> release;
  std::lock_guard guard(m_fs->cache_lock);
  m_fs->recent_pos.clear();
  for (auto& n : m_fs->recent) release.push_back(std::move(n));
  m_fs->recent.clear();
  // release goes after the guard (declared before it).
}

std::optional<Node::Link> HostNode::current_link() const {
  if (!writable()) return std::nullopt;
  std::lock_guard guard(m_fs->cache_lock);
  if (m_removed) return Link{nullptr, {}};
  if (!m_parent) return std::nullopt;  // the root
  return Link{m_parent, m_name};
}

RefPtr<HostNode> HostNode::adopt_child(UniqueFd fd, const struct stat& st, std::string name) {
  auto node = RefPtr<HostNode>::adopt(new HostNode(m_fs, std::move(fd), st, RefPtr<HostNode>(this), std::move(name)));
  std::vector<RefPtr<HostNode>> release;
  std::lock_guard guard(m_fs->cache_lock);
  m_fs->enter_locked(node.ptr());
  m_fs->touch_locked(node, release);
  return node;
}

bool HostNode::still_names(std::string_view name, const HostNode& cached) const {
  struct stat st {};
  std::string n(name);
  if (::fstatat(m_fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return false;
  return st.st_dev == cached.m_dev && st.st_ino == cached.m_ino && (st.st_mode & S_IFMT) == cached.type();
}

const FsInfo& HostNode::fs_info() const { return m_fs->info; }
bool HostNode::writable() const { return !m_fs->info.read_only; }

ErrorOr<struct stat> HostNode::stat() const { return fstat_empty(m_fd.get()); }

ErrorOr<struct statfs> HostNode::statfs() const {
  struct statfs sf {};
  if (::fstatfs(m_fd.get(), &sf) < 0) return last_host_errno();
  if (writable())
    sf.f_flags &= ~static_cast<decltype(sf.f_flags)>(ST_RDONLY);
  else
    sf.f_flags |= ST_RDONLY;  // the sandbox never writes a read-only hostfs
  return sf;
}

ErrorOr<RefPtr<Node>> HostNode::lookup(const Caller&, std::string_view name) {
  if (!is_dir()) return Errno::NOTDIR;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) return Errno::INVAL;
  if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  std::string n(name);
  RefPtr<HostNode> cached;
  {
    std::vector<RefPtr<HostNode>> release;
    std::lock_guard guard(m_fs->cache_lock);
    cached = m_fs->find_locked(this, n);
    if (cached) m_fs->touch_locked(cached, release);
  }
  HostFetch* fetch = HostFetch::current();
  if (cached && (m_fs->exclusive || (fetch && fetch->fetched(*this, n)) || still_names(n, *cached)))
    return RefPtr<Node>(std::move(cached));
  if (fetch)
    if (auto error = fetch->take_fetch_error(*this, n)) return *error;
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return last_host_errno();
  auto st = TRY(fstat_empty(fd.get()));
  return RefPtr<Node>(adopt_child(std::move(fd), st, std::move(n)));
}

bool HostNode::defer_lookup(HostFetch& fetch, std::string_view name) {
  if (!is_dir() || name.empty() || name == "." || name == ".." || name.size() > NAME_MAX ||
      name.find('/') != std::string_view::npos)
    return false;
  {
    std::lock_guard guard(m_fs->cache_lock);
    auto it = m_fs->live.find(HostFs::Key(this, std::string(name)));
    if (it != m_fs->live.end()) return false;
  }
  return fetch.defer(*this, name);
}

namespace {
thread_local HostFetch* t_fetch = nullptr;
}  // namespace

HostFetch* HostFetch::current() { return t_fetch; }
HostFetch::Scope::Scope(HostFetch& f) : m_saved(std::exchange(t_fetch, &f)) {}
HostFetch::Scope::~Scope() { t_fetch = m_saved; }
HostFetch::Pause::Pause() : m_saved(std::exchange(t_fetch, nullptr)) {}
HostFetch::Pause::~Pause() { t_fetch = m_saved; }

bool HostFetch::defer(HostNode& dir, std::string_view name) {
  if (m_frozen || pending() || rounds() >= kMaxRounds || fetched(dir, name)) return false;
  m_dir = RefPtr<HostNode>(&dir);
  m_name = std::string(name);
  return true;
}

bool HostFetch::fetched(const HostNode& dir, std::string_view name) const {
  for (const auto& d : m_done)
    if (d.dir == &dir && d.name == name) return true;
  return false;
}

std::optional<Errno> HostFetch::take_fetch_error(const HostNode& dir, std::string_view name) {
  for (auto& d : m_done)
    if (d.dir == &dir && d.name == name && d.error != Errno::Ok) return std::exchange(d.error, Errno::Ok);
  return std::nullopt;
}

bool HostFetch::defer_open(HostNode& file, int dir, std::string path, int flags) {
  if (m_frozen || pending() || rounds() >= kMaxRounds) return false;
  for (const auto& o : m_opened)
    if (o.file.ptr() == &file) return false;
  m_dir = RefPtr<HostNode>(&file);
  m_name = std::move(path);
  m_open = {dir, flags};
  return true;
}

std::optional<ErrorOr<UniqueFd>> HostFetch::take_open(const HostNode& file) {
  for (auto& o : m_opened) {
    if (o.file.ptr() != &file || o.taken) continue;
    o.taken = true;
    return std::move(o.fd);
  }
  return std::nullopt;
}

bool HostFetch::can_defer(const void* key) const {
  if (m_frozen || pending() || rounds() >= kMaxRounds) return false;
  for (const auto& j : m_jobs)
    if (j->key == key) return false;
  return true;
}

HostFetch::Job* HostFetch::take_job(const void* key) {
  for (auto& j : m_jobs) {
    if (j->key != key || j->taken || !j->result) continue;
    j->taken = true;
    return j.get();
  }
  return nullptr;
}

bool HostFetch::defer_copy(const Node& key, RefPtr<Node> copy, RefPtr<File> src, RefPtr<File> dst, uint64_t len) {
  if (!can_defer(&key)) return false;
  auto job = std::make_unique<Job>();
  job->key = &key;
  job->interruptible = false;
  job->node = std::move(copy);
  job->work = [src = std::move(src), dst = std::move(dst), len](const std::function<bool()>& abandon) {
    return copy_data(src->mmap_fd(), dst->mmap_fd(), len, abandon);
  };
  job->hold = RefPtr<Node>(const_cast<Node*>(&key));
  m_jobs.push_back(std::move(job));
  return true;
}

std::optional<ErrorOr<RefPtr<Node>>> HostFetch::take_copy(const Node& key) {
  Job* j = take_job(&key);
  if (!j) return std::nullopt;
  if (j->result->is_error()) return j->result->error();
  return std::move(j->node);
}

bool HostFetch::defer_wait(const void* key, RefPtr<File> file, Wait wait) {
  if (!can_defer(key)) return false;
  auto job = std::make_unique<Job>();
  job->key = key;
  job->interruptible = true;
  job->file = std::move(file);
  job->work = [wait = std::move(wait)](const std::function<bool()>&) { return wait(); };
  m_jobs.push_back(std::move(job));
  return true;
}

std::optional<ErrorOr<RefPtr<File>>> HostFetch::take_wait(const void* key) {
  Job* j = take_job(key);
  if (!j) return std::nullopt;
  if (j->result->is_error()) return j->result->error();
  return std::move(j->file);
}

// Copies through a pipe with IORING_OP_SPLICE: the file's pages go into the
// pipe by reference and are copied once, into dst. A source that cannot
// splice is read and written through a buffer instead.
Coro<ErrorOr<void>> HostFetch::copy_data(int src, int dst, uint64_t len, const std::function<bool()>& abandon) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) co_return last_host_errno();
  UniqueFd out(p[0]), in(p[1]);
  int piped = ::fcntl(in.get(), F_SETPIPE_SZ, 1 << 20);
  if (piped < 0) piped = ::fcntl(in.get(), F_GETPIPE_SZ);
  const auto chunk = static_cast<unsigned>(piped > 0 ? piped : 65536);
  std::vector<std::byte> buf;  // only when splicing is refused
  uint64_t done = 0;
  while (done < len) {
    if (abandon && abandon()) co_return Errno::INTR;
    auto want = static_cast<unsigned>(std::min<uint64_t>(len - done, chunk));
    auto at = static_cast<int64_t>(done);
    int32_t n;
    if (buf.empty()) {
      n = co_await uring_op([=, &in](io_uring_sqe* s) { io_uring_prep_splice(s, src, at, in.get(), -1, want, 0); });
      if (n == -EINVAL && done == 0) {
        buf.resize(chunk);
        continue;
      }
      if (n < 0) co_return errno_from_host(-n);
      if (n == 0) break;  // the file shrank meanwhile
      for (int32_t drained = 0; drained < n;) {
        int64_t to = at + drained;
        auto rest = static_cast<unsigned>(n - drained);
        int32_t w = co_await uring_op([=, &out](io_uring_sqe* s) { io_uring_prep_splice(s, out.get(), -1, dst, to, rest, 0); });
        if (w < 0) co_return errno_from_host(-w);
        if (w == 0) co_return Errno::IO;
        drained += w;
      }
    } else {
      n = co_await uring_read(src, buf.data(), want, at);
      if (n < 0) co_return errno_from_host(-n);
      if (n == 0) break;
      for (int32_t written = 0; written < n;) {
        int32_t w = co_await uring_write(dst, buf.data() + written, static_cast<unsigned>(n - written), at + written);
        if (w < 0) co_return errno_from_host(-w);
        if (w == 0) co_return Errno::IO;
        written += w;
      }
    }
    done += static_cast<uint64_t>(n);
  }
  co_return ErrorOr<void>{};
}

Coro<int32_t> HostFetch::run(std::function<bool()> abandon) {
  if (job_pending()) {
    Job& j = *m_jobs.back();
    auto done = co_await j.work(abandon);
    j.work = nullptr;  // what the work held goes now
    j.result = std::move(done);
    co_return 0;
  }
  RefPtr<HostNode> dir = std::move(m_dir);
  std::string name = std::move(m_name);
  m_dir = nullptr;
  if (auto open = std::exchange(m_open, std::nullopt)) {
    auto [at, flags] = *open;
    const char* path = name.c_str();
    int32_t r = co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_openat(s, at, path, flags, 0); });
    if (r == -ECANCELED) co_return r;
    m_opened.push_back(Opened{std::move(dir), r < 0 ? ErrorOr<UniqueFd>(errno_from_host(-r)) : ErrorOr<UniqueFd>(UniqueFd(r))});
    co_return 0;
  }
  m_done.push_back(Done{dir.ptr(), name});
  int dir_fd = dir->path_fd();
  const char* path = name.c_str();
  int32_t r = co_await uring_op(
      [=](io_uring_sqe* s) { io_uring_prep_openat(s, dir_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0); });
  if (r == -ECANCELED) co_return r;
  if (r < 0) {
    m_done.back().error = errno_from_host(-r);  // the handler's lookup reports it
    co_return 0;
  }
  UniqueFd fd(r);
  auto st = fstat_empty(fd.get());
  if (!st.is_error()) dir->adopt_child(std::move(fd), st.value(), std::move(name));
  co_return 0;
}

ErrorOr<std::string> HostNode::readlink(const Caller&) const {
  if (!is_symlink()) return Errno::INVAL;
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(m_fd.get(), "", buf, sizeof buf);
  if (n < 0) return last_host_errno();
  return std::string(buf, static_cast<size_t>(n));
}

ErrorOr<std::vector<DirEntry>> HostNode::list(const Caller&) const {
  if (!is_dir()) return Errno::NOTDIR;
  UniqueFd dir(::openat(m_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return last_host_errno();
  std::vector<DirEntry> out;
  alignas(8) char buf[16384];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n < 0) return last_host_errno();
    if (n == 0) break;
    for (long off = 0; off < n;) {
      uint64_t ino;
      uint16_t reclen;
      uint8_t type;
      std::memcpy(&ino, buf + off, 8);
      std::memcpy(&reclen, buf + off + 16, 2);
      std::memcpy(&type, buf + off + 18, 1);
      out.push_back(DirEntry{std::string(buf + off + 19), ino, type});
      off += reclen;
    }
  }
  return out;
}

ErrorOr<HostNode::OpenSpec> HostNode::open_spec(int host_flags) const {
  if (!is_regular()) return Errno::ACCES;
  // O_NONBLOCK so that nothing but the regular file it was can block the
  // worker; cleared once the file is known to be regular (io_uring would
  // otherwise return EAGAIN for uncached pages).
  constexpr int kAlways = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (writable()) return OpenSpec{AT_FDCWD, proc_fd_path(m_fd.get()), host_flags | kAlways};
  if (!m_parent) return Errno::ACCES;
  return OpenSpec{m_parent->path_fd(), m_name, O_RDONLY | O_NOFOLLOW | kAlways};
}

ErrorOr<UniqueFd> HostNode::settle_open(UniqueFd fd, int keep_flags) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return last_host_errno();
  if (!S_ISREG(st.st_mode)) return Errno::ACCES;
  if (::fcntl(fd.get(), F_SETFL, keep_flags & O_APPEND) < 0) return last_host_errno();
  return fd;
}

ErrorOr<UniqueFd> HostNode::reopen(int flags) const {
  if (!is_regular()) return Errno::ACCES;
  UniqueFd fd(::open(proc_fd_path(m_fd.get()).c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return last_host_errno();
  return settle_open(std::move(fd), flags);
}

ErrorOr<RefPtr<File>> HostNode::open(const Caller& caller, const Location& loc, int flags) {
  if (is_dir()) return DirFile::create(loc, flags, caller);
  if (S_ISFIFO(type()) && writable()) {
    auto st = TRY(stat());
    std::shared_ptr<FifoState> fifo;
    {
      std::lock_guard guard(m_fs->fifo_lock);
      auto& slot = m_fs->fifos[{st.st_dev, st.st_ino}];
      fifo = slot.lock();
      if (!fifo) slot = fifo = make_fifo_state();
      for (auto it = m_fs->fifos.begin(); it != m_fs->fifos.end();)
        it = it->second.expired() ? m_fs->fifos.erase(it) : std::next(it);
    }
    return open_fifo(fifo, loc, flags);
  }
  if (S_ISSOCK(type()) && writable()) return Errno::NXIO;  // as open(2) of a socket
  if (!is_regular()) return Errno::ACCES;  // nodev: never open host devices, sockets
  int acc = flags & O_ACCMODE;
  int host = (acc == O_WRONLY ? O_WRONLY : acc == O_RDWR ? O_RDWR : O_RDONLY) | (flags & (O_SYNC | O_DSYNC));
  OpenSpec spec = TRY(open_spec(host));
  // Inside a synchronous handler the open itself goes to io_uring
  // (HostFetch): the handler runs again and takes the fd.
  if (HostFetch* fetch = HostFetch::current()) {
    if (auto opened = fetch->take_open(*this)) {
      UniqueFd fd = TRY(std::move(*opened));
      return HostFile::create(loc, flags, TRY(settle_open(std::move(fd), 0)));
    }
    if (fetch->defer_open(*this, spec.dir, std::move(spec.path), spec.flags)) return Errno::FetchHost;
    spec = TRY(open_spec(host));
  }
  UniqueFd fd(::openat(spec.dir, spec.path.c_str(), spec.flags));
  if (!fd) return last_host_errno();
  return HostFile::create(loc, flags, TRY(settle_open(std::move(fd), 0)));
}

// --- Changes (writable hostfs only).

ErrorOr<std::string> HostNode::check_new_name(std::string_view name) const {
  if (!writable()) return Errno::ROFS;
  if (!is_dir()) return Errno::NOTDIR;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return Errno::INVAL;
  if (name.size() > NAME_MAX) return Errno::NAMETOOLONG;
  return std::string(name);
}

ErrorOr<RefPtr<Node>> HostNode::node_for_fd(int fd, std::string name) {
  UniqueFd path(::open(proc_fd_path(fd).c_str(), O_PATH | O_CLOEXEC));
  if (!path) return last_host_errno();
  auto st = TRY(fstat_empty(path.get()));
  if (name.empty())  // O_TMPFILE: no name to enter in the cache
    return RefPtr<Node>::adopt(new HostNode(m_fs, std::move(path), st, RefPtr<HostNode>(this), std::move(name)));
  return RefPtr<Node>(adopt_child(std::move(path), st, std::move(name)));
}

ErrorOr<void> HostNode::adopt_new(int fd, const Caller& caller, mode_t mode, bool set_mode) const {
  // The host gave the object the sentry's ids (and this directory's group
  // when it is set-group-id); the guest's caller owns it in the sandbox.
  uid_t uid = caller.uid == ::geteuid() ? static_cast<uid_t>(-1) : caller.uid;
  gid_t gid = static_cast<gid_t>(-1);
  auto dir_st = TRY(stat());
  if (!(dir_st.st_mode & S_ISGID) && caller.gid != ::getegid()) gid = caller.gid;
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return last_host_errno();
  if (set_mode) TRY(chmod_fd(fd, mode & 07777));
  return {};
}

ErrorOr<RefPtr<Node>> HostNode::create(const Caller& caller, std::string_view name, mode_t mode) {
  std::string n = TRY(check_new_name(name));
  // O_EXCL: never follows a symlink in the last component.
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                       mode & 07777));
  if (!fd) return last_host_errno();
  TRY(adopt_new(fd.get(), caller, mode, true));
  return node_for_fd(fd.get(), std::move(n));
}

ErrorOr<RefPtr<Node>> HostNode::create_tmpfile(const Caller& caller, mode_t mode, Linkable linkable) {
  if (!writable()) return Errno::ROFS;
  if (!is_dir()) return Errno::NOTDIR;
  int flags = O_TMPFILE | O_RDWR | O_CLOEXEC | (linkable == Linkable::No ? O_EXCL : 0);
  UniqueFd fd(::openat(m_fd.get(), ".", flags, mode & 07777));
  if (!fd) return last_host_errno();
  TRY(adopt_new(fd.get(), caller, mode, true));
  return node_for_fd(fd.get(), "");
}

ErrorOr<void> HostNode::mkdir(const Caller& caller, std::string_view name, mode_t mode) {
  std::string n = TRY(check_new_name(name));
  if (::mkdirat(m_fd.get(), n.c_str(), mode & 07777) < 0) return last_host_errno();
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_host_errno();
  return adopt_new(fd.get(), caller, mode, true);
}

ErrorOr<void> HostNode::symlink(const Caller& caller, std::string_view name, std::string_view target) {
  std::string n = TRY(check_new_name(name));
  // The target is stored as it is; the sentry resolves it in guest path
  // space, the host kernel never follows it for the guest.
  std::string t(target);
  if (::symlinkat(t.c_str(), m_fd.get(), n.c_str()) < 0) return last_host_errno();
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return last_host_errno();
  return adopt_new(fd.get(), caller, 0, false);
}

ErrorOr<void> HostNode::mknod(const Caller& caller, std::string_view name, mode_t mode, dev_t) {
  std::string n = TRY(check_new_name(name));
  if (!S_ISFIFO(mode) && !S_ISSOCK(mode)) return Errno::PERM;  // no host device nodes
  if (::mknodat(m_fd.get(), n.c_str(), (mode & S_IFMT) | (mode & 07777), 0) < 0) return last_host_errno();
  UniqueFd fd(::openat(m_fd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return last_host_errno();
  return adopt_new(fd.get(), caller, mode, true);
}

ErrorOr<void> HostNode::link(const Caller&, std::string_view name, Node& target_node) {
  std::string n = TRY(check_new_name(name));
  auto* target = dynamic_cast<HostNode*>(&target_node);
  if (!target || target->m_fs != m_fs) return Errno::XDEV;
  if (target->is_dir()) return Errno::PERM;
  if (::linkat(target->path_fd(), "", m_fd.get(), n.c_str(), AT_EMPTY_PATH) == 0) return {};
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link names the same inode.
  if (errno != ENOENT && errno != EPERM) return last_host_errno();
  if (::linkat(AT_FDCWD, proc_fd_path(target->path_fd()).c_str(), m_fd.get(), n.c_str(), AT_SYMLINK_FOLLOW) < 0)
    return last_host_errno();
  return {};
}

ErrorOr<void> HostNode::unlink(const Caller&, std::string_view name, UnlinkKind kind) {
  std::string n = TRY(check_new_name(name));
  if (::unlinkat(m_fd.get(), n.c_str(), kind == UnlinkKind::Dir ? AT_REMOVEDIR : 0) < 0) return last_host_errno();
  std::vector<RefPtr<HostNode>> release;
  std::lock_guard guard(m_fs->cache_lock);
  if (RefPtr<HostNode> gone = m_fs->find_locked(this, n)) {
    m_fs->remove_locked(gone.ptr(), release);
    release.push_back(std::move(gone));
  }
  return {};
}

ErrorOr<void> HostNode::rename(const Caller&, std::string_view old_name, Node& new_dir_node, std::string_view new_name,
                               unsigned flags) {
  auto* new_dir = dynamic_cast<HostNode*>(&new_dir_node);
  if (!new_dir || new_dir->m_fs != m_fs) return Errno::XDEV;
  std::string from = TRY(check_new_name(old_name));
  std::string to = TRY(new_dir->check_new_name(new_name));
  if (::syscall(SYS_renameat2, m_fd.get(), from.c_str(), new_dir->path_fd(), to.c_str(), flags) < 0)
    return last_host_errno();
  // The live nodes follow: the moved one gets its new place, one renamed
  // over is removed, and an exchange swaps the two. A rename between two
  // links of one inode changes nothing (rename(2)): the old name stays.
  struct stat st {};
  if (!(flags & RENAME_EXCHANGE) && ::fstatat(m_fd.get(), from.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return {};
  std::vector<RefPtr<HostNode>> release;
  std::lock_guard guard(m_fs->cache_lock);
  RefPtr<HostNode> moved = m_fs->find_locked(this, from);
  RefPtr<HostNode> other = m_fs->find_locked(new_dir, to);
  auto place = [&](const RefPtr<HostNode>& node, HostNode* dir, const std::string& name) {
    m_fs->forget_locked(node.ptr());
    release.push_back(std::exchange(node->m_parent, RefPtr<HostNode>(dir)));
    node->m_name = name;
    m_fs->enter_locked(node.ptr());
  };
  if (other && (flags & RENAME_EXCHANGE)) {
    place(other, this, from);
  } else if (other) {
    m_fs->remove_locked(other.ptr(), release);
  }
  if (moved) place(moved, new_dir, to);
  release.push_back(std::move(moved));
  release.push_back(std::move(other));
  return {};
}

ErrorOr<void> HostNode::truncate(uint64_t size) {
  if (!writable()) return Errno::ROFS;
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::INVAL;
  UniqueFd fd = TRY(reopen(O_WRONLY));
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) return last_host_errno();
  return {};
}

ErrorOr<void> HostNode::chmod(const Caller& caller, mode_t mode) {
  if (!writable()) return Errno::ROFS;
  auto st = TRY(stat());
  if (caller.uid != 0 && caller.uid != st.st_uid) return Errno::PERM;
  // Setting set-group-id needs the file's group among the caller's (setattr_prepare).
  if (caller.uid != 0 && !caller.in_group(st.st_gid)) mode &= ~static_cast<mode_t>(S_ISGID);
  if (is_symlink()) return Errno::NOTSUP;
  return chmod_fd(m_fd.get(), mode & 07777);
}

ErrorOr<void> HostNode::chown(const Caller& caller, uid_t uid, gid_t gid) {
  if (!writable()) return Errno::ROFS;
  auto st = TRY(stat());
  TRY(may_chown(caller, st, uid, gid));
  if (::fchownat(m_fd.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) return last_host_errno();
  return {};
}

ErrorOr<void> HostNode::set_times(const Caller& caller, const struct timespec& atime, const struct timespec& mtime) {
  if (!writable()) return Errno::ROFS;
  auto st = TRY(stat());
  TRY(may_set_times(caller, st, atime, mtime));
  struct timespec ts[2] = {atime, mtime};
  if (::syscall(SYS_utimensat, m_fd.get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0) return {};
  if (errno != EINVAL || is_symlink()) return last_host_errno();
  // Without AT_EMPTY_PATH support: the /proc link names the inode.
  if (::utimensat(AT_FDCWD, proc_fd_path(m_fd.get()).c_str(), ts, 0) < 0) return last_host_errno();
  return {};
}

ErrorOr<void> HostNode::allocate(int mode, uint64_t offset, uint64_t len) {
  if (is_dir()) return Errno::ISDIR;
  if (!is_regular()) return Errno::NODEV;
  if (!writable()) return Errno::ROFS;
  UniqueFd fd = TRY(reopen(O_WRONLY));
  if (::fallocate(fd.get(), mode, static_cast<off_t>(offset), static_cast<off_t>(len)) < 0) return last_host_errno();
  return {};
}

ErrorOr<UniqueFd> HostNode::fsync_fd() {
  // Nothing the guest can write reaches a read-only hostfs: nothing to flush.
  if (!writable()) return UniqueFd();
  if (is_regular()) return reopen(O_RDONLY);
  if (!is_dir()) return UniqueFd();
  UniqueFd fd(::openat(m_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_host_errno();
  return fd;
}

Coro<ErrorOr<size_t>> HostFile::read(std::span<std::byte> buf, int64_t offset) {
  int64_t off = effective_offset(offset);
  int32_t r = co_await uring_read(m_fd.get(), buf.data(), static_cast<unsigned>(buf.size()), off);
  if (r < 0) co_return errno_from_host(-r);
  advance(offset, static_cast<size_t>(r));
  co_return static_cast<size_t>(r);
}

ErrorOr<size_t> HostFile::pread_sync(std::span<std::byte> buf, uint64_t offset) {
  ssize_t r = ::pread(m_fd.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
  if (r < 0) return last_host_errno();
  return static_cast<size_t>(r);
}

Coro<ErrorOr<size_t>> HostFile::write(std::span<const std::byte> buf, int64_t offset) {
  // O_APPEND writes at the end even for pwrite (pwrite(2)): the host fd
  // carries O_APPEND then, and the host kernel appends atomically.
  bool append = flags() & O_APPEND;
  CO_TRY(sync_append(append));
  int64_t off = append ? 0 : effective_offset(offset);
  int32_t r = co_await uring_write(m_fd.get(), buf.data(), static_cast<unsigned>(buf.size()), off);
  if (r < 0) co_return errno_from_host(-r);
  if (append && offset < 0) {
    struct stat st {};
    if (::fstat(m_fd.get(), &st) == 0) m_pos.store(st.st_size, std::memory_order_relaxed);
  } else {
    advance(offset, static_cast<size_t>(r));
  }
  co_return static_cast<size_t>(r);
}

ErrorOr<void> HostFile::sync_append(bool append) {
  if (m_host_append.load(std::memory_order_relaxed) == append) return {};
  int fl = ::fcntl(m_fd.get(), F_GETFL);
  if (fl < 0) return last_host_errno();
  if (::fcntl(m_fd.get(), F_SETFL, append ? (fl | O_APPEND) : (fl & ~O_APPEND)) < 0) return last_host_errno();
  m_host_append.store(append, std::memory_order_relaxed);
  return {};
}

ErrorOr<void> HostFile::truncate(uint64_t size) {
  if (node().fs_info().read_only) return Errno::ROFS;
  if (::ftruncate(m_fd.get(), static_cast<off_t>(size)) < 0) return last_host_errno();
  return {};
}

Coro<ErrorOr<void>> HostFile::fsync(bool datasync) {
  if (node().fs_info().read_only) co_return ErrorOr<void>{};
  int fd = m_fd.get();
  unsigned fsync_flags = datasync ? IORING_FSYNC_DATASYNC : 0;
  int32_t r = co_await uring_op([=](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, fsync_flags); });
  if (r < 0) co_return errno_from_host(-r);
  co_return ErrorOr<void>{};
}

ErrorOr<std::string> HostNode::getxattr(std::string_view name) const {
  std::string path = proc_fd_path(m_fd.get());
  std::string key(name);
  for (;;) {
    ssize_t n = ::getxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (n < 0) return last_host_errno();
    std::string value(static_cast<size_t>(n), '\0');
    ssize_t r = ::getxattr(path.c_str(), key.c_str(), value.data(), value.size());
    if (r < 0 && errno == ERANGE) continue;  // it grew meanwhile
    if (r < 0) return last_host_errno();
    value.resize(static_cast<size_t>(r));
    return value;
  }
}

ErrorOr<std::vector<std::string>> HostNode::listxattr() const {
  std::string path = proc_fd_path(m_fd.get());
  for (;;) {
    ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return errno == ENOTSUP ? ErrorOr<std::vector<std::string>>(std::vector<std::string>{})
                                       : ErrorOr<std::vector<std::string>>(last_host_errno());
    std::string buf(static_cast<size_t>(n), '\0');
    ssize_t r = ::listxattr(path.c_str(), buf.data(), buf.size());
    if (r < 0 && errno == ERANGE) continue;
    if (r < 0) return last_host_errno();
    std::vector<std::string> out;
    for (size_t i = 0; i < static_cast<size_t>(r);) {
      size_t end = buf.find('\0', i);
      if (end == std::string::npos) end = static_cast<size_t>(r);
      if (end > i) out.emplace_back(buf.substr(i, end - i));
      i = end + 1;
    }
    return out;
  }
}

ErrorOr<void> HostNode::setxattr(std::string_view name, std::string_view value, int flags) {
  if (!writable()) return Errno::ROFS;
  std::string key(name);
  if (::setxattr(proc_fd_path(m_fd.get()).c_str(), key.c_str(), value.data(), value.size(), flags) < 0)
    return last_host_errno();
  return {};
}

ErrorOr<void> HostNode::removexattr(std::string_view name) {
  if (!writable()) return Errno::ROFS;
  std::string key(name);
  if (::removexattr(proc_fd_path(m_fd.get()).c_str(), key.c_str()) < 0) return last_host_errno();
  return {};
}

}  // namespace moat::fs
