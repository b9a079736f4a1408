#include "fs/fd_table.h"

#include "fs/inotify.h"
#include "fs/locks.h"
#include "sentry/kernel/process.h"

namespace moat::fs {

uint64_t nofile_limit(const Process& process) {
  rlim_t cur = process.rlimits[RLIMIT_NOFILE].rlim_cur;
  if (cur == 0) return kDefaultNofile;
  // The fd number must fit an int (Linux caps at sysctl_nr_open, 1M by default).
  return std::min<uint64_t>(cur, 1u << 20);
}

namespace {
// Closing any fd of a file releases the POSIX locks this table holds on it
// and the dnotify marks set through it (filp_close: dnotify_flush,
// locks_remove_posix). Called outside the table's lock.
void closed(const FdTable* table, const File& file) {
  drop_dnotify(file, table);
  release_posix_locks(table, file);
}
}  // namespace

FdTable::~FdTable() {
  for (auto& e : m_entries.with_lock([](auto& v) { return std::exchange(v, {}); }))
    if (e.file) closed(this, *e.file);
}

ErrorOr<int> FdTable::allocate(RefPtr<File> file, bool cloexec, int min_fd, uint64_t limit) {
  if (min_fd < 0) return Errno::INVAL;
  return m_entries.with_lock([&](auto& v) -> ErrorOr<int> {
    for (size_t fd = static_cast<size_t>(min_fd); fd < limit; ++fd) {
      if (fd >= v.size()) v.resize(fd + 1);
      if (!v[fd].file) {
        v[fd] = Entry{std::move(file), cloexec};
        return static_cast<int>(fd);
      }
    }
    return Errno::MFILE;
  });
}

ErrorOr<void> FdTable::install_at(int fd, RefPtr<File> file, bool cloexec, uint64_t limit) {
  if (fd < 0 || static_cast<uint64_t>(fd) >= limit) return Errno::BADF;
  RefPtr<File> old;
  m_entries.with_lock([&](auto& v) {
    if (static_cast<size_t>(fd) >= v.size()) v.resize(fd + 1);
    old = std::move(v[fd].file);
    v[fd] = Entry{std::move(file), cloexec};
  });
  if (old) closed(this, *old);
  return {};  // `old` is released here, outside the lock
}

ErrorOr<RefPtr<File>> FdTable::get(int fd) const {
  return m_entries.with_lock([&](const auto& v) -> ErrorOr<RefPtr<File>> {
    if (fd < 0 || static_cast<size_t>(fd) >= v.size() || !v[fd].file) return Errno::BADF;
    return v[fd].file;
  });
}

ErrorOr<bool> FdTable::cloexec(int fd) const {
  return m_entries.with_lock([&](const auto& v) -> ErrorOr<bool> {
    if (fd < 0 || static_cast<size_t>(fd) >= v.size() || !v[fd].file) return Errno::BADF;
    return v[fd].cloexec;
  });
}

ErrorOr<void> FdTable::set_cloexec(int fd, bool cloexec) {
  return m_entries.with_lock([&](auto& v) -> ErrorOr<void> {
    if (fd < 0 || static_cast<size_t>(fd) >= v.size() || !v[fd].file) return Errno::BADF;
    v[fd].cloexec = cloexec;
    return {};
  });
}

ErrorOr<RefPtr<File>> FdTable::remove(int fd) {
  RefPtr<File> f = TRY(m_entries.with_lock([&](auto& v) -> ErrorOr<RefPtr<File>> {
    if (fd < 0 || static_cast<size_t>(fd) >= v.size() || !v[fd].file) return Errno::BADF;
    RefPtr<File> out = std::move(v[fd].file);
    v[fd] = Entry{};
    return out;
  }));
  closed(this, *f);
  return f;
}

void FdTable::close_on_exec() {
  std::vector<RefPtr<File>> doomed;
  m_entries.with_lock([&](auto& v) {
    for (auto& e : v)
      if (e.file && e.cloexec) {
        doomed.push_back(std::move(e.file));
        e = Entry{};
      }
  });
  for (const auto& f : doomed) closed(this, *f);
}

std::shared_ptr<FdTable> FdTable::clone() const {
  auto t = std::make_shared<FdTable>();
  auto copy = m_entries.with_lock([](const auto& v) { return v; });
  t->m_entries.with_lock([&](auto& v) { v = std::move(copy); });
  return t;
}

std::vector<std::pair<int, RefPtr<File>>> FdTable::snapshot() const {
  std::vector<std::pair<int, RefPtr<File>>> out;
  m_entries.with_lock([&](const auto& v) {
    for (size_t fd = 0; fd < v.size(); ++fd)
      if (v[fd].file) out.emplace_back(static_cast<int>(fd), v[fd].file);
  });
  return out;
}

}  // namespace moat::fs
