// The unix name registry and the table of fds in flight (net/unix.h).

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "net/unix.h"

namespace moat::net {

namespace unix_names {

namespace {

struct Registry {
  std::mutex lock;
  std::unordered_map<std::string, std::weak_ptr<Endpoint>> host;
  std::map<std::pair<const Sandbox*, std::string>, std::weak_ptr<Endpoint>> abstract;
  std::map<std::tuple<const Sandbox*, dev_t, ino_t>, std::weak_ptr<Endpoint>> inode;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::string new_host_name() {
  static std::atomic<uint64_t> counter{0};
  return "moat-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1) + 1);
}

void add_host(const std::string& host_name, const std::shared_ptr<Endpoint>& ep) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  r.host[host_name] = ep;
}

std::shared_ptr<Endpoint> find_host(const std::string& host_name) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  auto it = r.host.find(host_name);
  return it == r.host.end() ? nullptr : it->second.lock();
}

ErrorOr<void> add_abstract(const Sandbox* sb, const std::string& name, const std::shared_ptr<Endpoint>& ep) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  auto& slot = r.abstract[{sb, name}];
  if (slot.lock()) return kAddrInUse;
  slot = ep;
  ep->sandbox = sb;
  ep->abstract_key = name;
  return {};
}

std::shared_ptr<Endpoint> find_abstract(const Sandbox* sb, const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  auto it = r.abstract.find({sb, name});
  return it == r.abstract.end() ? nullptr : it->second.lock();
}

ErrorOr<void> add_inode(const Sandbox* sb, dev_t dev, ino_t ino, const std::shared_ptr<Endpoint>& ep) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  // The inode is new (the bind just made it): an old entry is a dead
  // socket whose file was unlinked and whose number came back.
  r.inode[{sb, dev, ino}] = ep;
  ep->sandbox = sb;
  ep->inode_key = std::pair{dev, ino};
  return {};
}

std::shared_ptr<Endpoint> find_inode(const Sandbox* sb, dev_t dev, ino_t ino) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  auto it = r.inode.find({sb, dev, ino});
  return it == r.inode.end() ? nullptr : it->second.lock();
}

void remove(const Endpoint* ep) {
  Registry& r = registry();
  std::lock_guard lock(r.lock);
  // Erase an entry only if it is this endpoint's (or dead): a name can
  // have been taken over since.
  auto mine = [ep](const std::weak_ptr<Endpoint>& w) {
    auto p = w.lock();
    return !p || p.get() == ep;
  };
  if (!ep->host_name.empty()) {
    auto it = r.host.find(ep->host_name);
    if (it != r.host.end() && mine(it->second)) r.host.erase(it);
  }
  if (ep->abstract_key) {
    auto it = r.abstract.find({ep->sandbox, *ep->abstract_key});
    if (it != r.abstract.end() && mine(it->second)) r.abstract.erase(it);
  }
  if (ep->inode_key) {
    auto it = r.inode.find({ep->sandbox, ep->inode_key->first, ep->inode_key->second});
    if (it != r.inode.end() && mine(it->second)) r.inode.erase(it);
  }
}

}  // namespace unix_names

namespace in_flight {

namespace {

struct Entry {
  UniqueFd read_end;
  Payload payload;
};

struct Table {
  std::mutex lock;
  std::unordered_map<ino_t, Entry> entries;
  size_t next_sweep = 64;
};

Table& table() {
  static Table t;
  return t;
}

ino_t inode_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return 0;
  return st.st_ino;
}

// Frees the payloads whose token the host dropped (their pipe has no
// writer left). Called with the lock held, now and then.
void sweep_locked(Table& t, std::vector<Entry>& dropped) {
  std::vector<pollfd> fds;
  std::vector<ino_t> keys;
  for (auto& [ino, e] : t.entries) {
    fds.push_back(pollfd{e.read_end.get(), POLLIN, 0});
    keys.push_back(ino);
  }
  if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) return;
  for (size_t i = 0; i < fds.size(); i++)
    if (fds[i].revents & POLLHUP) {
      auto it = t.entries.find(keys[i]);
      dropped.push_back(std::move(it->second));
      t.entries.erase(it);
    }
}

}  // namespace

ErrorOr<UniqueFd> deposit(Payload payload) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return last_host_errno();
  UniqueFd r(p[0]), w(p[1]);
  ino_t ino = inode_of(r.get());
  if (!ino) return last_host_errno();
  // Files dropped by a sweep are released outside the lock (their
  // destructors may close sockets, which take the registry's lock).
  std::vector<Entry> dropped;
  {
    Table& t = table();
    std::lock_guard lock(t.lock);
    if (t.entries.size() >= t.next_sweep) {
      sweep_locked(t, dropped);
      t.next_sweep = std::max<size_t>(64, t.entries.size() * 2);
    }
    t.entries.emplace(ino, Entry{std::move(r), std::move(payload)});
  }
  return w;
}

std::optional<Payload> redeem(int token_fd, bool peek) {
  ino_t ino = inode_of(token_fd);
  std::optional<Payload> out;
  std::optional<Entry> taken;
  {
    Table& t = table();
    std::lock_guard lock(t.lock);
    auto it = t.entries.find(ino);
    if (it == t.entries.end()) return std::nullopt;
    if (peek) {
      out = it->second.payload;
    } else {
      taken = std::move(it->second);
      t.entries.erase(it);
    }
  }
  if (taken) out = std::move(taken->payload);
  return out;
}

void sweep() {
  std::vector<Entry> dropped;
  Table& t = table();
  std::lock_guard lock(t.lock);
  if (!t.entries.empty()) sweep_locked(t, dropped);
  // dropped goes after the lock: declared before the guard.
}

void cancel(int token_fd) {
  std::optional<Entry> taken;
  Table& t = table();
  std::lock_guard lock(t.lock);
  auto it = t.entries.find(inode_of(token_fd));
  if (it == t.entries.end()) return;
  taken = std::move(it->second);
  t.entries.erase(it);
  // taken (and its files) go after the lock: declared before the guard.
}

}  // namespace in_flight

}  // namespace moat::net
