#include "fs/file.h"

#include "fs/inotify.h"
#include "fs/locks.h"

#include <unistd.h>

#include <cstring>
#include <limits>

namespace moat::fs {

File::File(Location loc, int flags) : m_flags(flags), m_loc(std::move(loc)) {}

File::~File() {
  drop_dnotify(*this);
  notify_close(*this);
  release_description_locks(this);
}

Coro<ErrorOr<size_t>> File::read(std::span<std::byte>, int64_t) { co_return Errno::INVAL; }
Coro<ErrorOr<size_t>> File::write(std::span<const std::byte>, int64_t) { co_return Errno::INVAL; }

// Mirrors generic_file_llseek / vfs_setpos.
ErrorOr<int64_t> File::lseek(int64_t offset, int whence) {
  if (is_stream()) return Errno::SPIPE;
  int64_t base = 0;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = position(); break;
    case SEEK_END:
    case SEEK_DATA:
    case SEEK_HOLE: {
      auto st = TRY(stat());
      int64_t size = st.st_size;
      if (whence == SEEK_END) {
        base = size;
        break;
      }
      if (offset < 0 || offset >= size) return Errno::NXIO;
      int64_t r = whence == SEEK_DATA ? offset : size;
      m_pos.store(r);
      return r;
    }
    default: return Errno::INVAL;
  }
  // Linux adds with wrap-around and vfs_setpos() refuses the negative sum:
  // an overflowing seek is EINVAL, not EOVERFLOW.
  int64_t r;
  if (__builtin_add_overflow(base, offset, &r) || r < 0) return Errno::INVAL;
  m_pos.store(r);
  return r;
}

RefPtr<File> DirFile::create(const Location& loc, int flags, const Caller& caller) {
  return RefPtr<File>::adopt(new DirFile(loc, flags, caller));
}

Coro<ErrorOr<size_t>> DirFile::read(std::span<std::byte>, int64_t) { co_return Errno::ISDIR; }

namespace {
struct Dirent64Header {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
} __attribute__((packed));
constexpr size_t kDirentHeader = 19;
static_assert(sizeof(Dirent64Header) == kDirentHeader);
}  // namespace

ErrorOr<size_t> DirFile::getdents64(std::span<std::byte> buf) {
  std::lock_guard lock(m_lock);
  if (!m_loaded) {
    m_entries = TRY(node().list(m_caller));
    m_loaded = true;
  }
  size_t used = 0;
  auto index = static_cast<size_t>(position());
  while (index < m_entries.size()) {
    const DirEntry& e = m_entries[index];
    size_t reclen = (kDirentHeader + e.name.size() + 1 + 7) & ~size_t{7};
    if (used + reclen > buf.size()) {
      if (used == 0) return Errno::INVAL;
      break;
    }
    Dirent64Header h{e.ino, static_cast<int64_t>(index + 1), static_cast<uint16_t>(reclen), e.type};
    std::memset(buf.data() + used, 0, reclen);
    std::memcpy(buf.data() + used, &h, kDirentHeader);
    std::memcpy(buf.data() + used + kDirentHeader, e.name.data(), e.name.size());
    used += reclen;
    ++index;
    m_pos.store(static_cast<int64_t>(index));
  }
  return used;
}

ErrorOr<int64_t> DirFile::lseek(int64_t offset, int whence) {
  std::lock_guard lock(m_lock);
  int64_t r;
  if (whence == SEEK_SET)
    r = offset;
  else if (whence == SEEK_CUR)
    r = position() + offset;
  else
    return Errno::INVAL;
  if (r < 0) return Errno::INVAL;
  if (r == 0) m_loaded = false;  // rewinddir sees new entries
  m_pos.store(r);
  return r;
}

Coro<ErrorOr<size_t>> BufferFile::read(std::span<std::byte> buf, int64_t offset) {
  CO_TRY_ASSIGN(auto n, pread_sync(buf, static_cast<uint64_t>(effective_offset(offset))));
  advance(offset, n);
  co_return n;
}

ErrorOr<size_t> BufferFile::pread_sync(std::span<std::byte> buf, uint64_t offset) {
  if (offset >= m_data.size()) return size_t{0};
  size_t n = std::min(buf.size(), m_data.size() - offset);
  std::memcpy(buf.data(), m_data.data() + offset, n);
  return n;
}

}  // namespace moat::fs
