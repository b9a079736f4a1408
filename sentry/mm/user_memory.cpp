#include "sentry/mm/user_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include "sentry/mm/address_space.h"

namespace moat {

// Guest memory is the stub process's own memory: process_vm_readv/writev copy
// it in one host call and fail cleanly (EFAULT) on unmapped pages.
size_t UserMemory::read_partial(uint64_t addr, void* dst, size_t len) const {
  size_t done = 0;
  while (done < len) {
    iovec local{static_cast<char*>(dst) + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_readv(m_pid, &local, 1, &remote, 1, 0);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

size_t UserMemory::write_partial(uint64_t addr, const void* src, size_t len) const {
  size_t done = 0;
  while (done < len) {
    iovec local{const_cast<char*>(static_cast<const char*>(src)) + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_writev(m_pid, &local, 1, &remote, 1, 0);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

ErrorOr<void> UserMemory::read(uint64_t addr, void* dst, size_t len) const {
  if (len == 0) return {};
  if (addr + len < addr) return Errno::FAULT;
  if (read_partial(addr, dst, len) != len) return Errno::FAULT;
  return {};
}

ErrorOr<void> UserMemory::write(uint64_t addr, const void* src, size_t len) const {
  if (len == 0) return {};
  if (addr + len < addr) return Errno::FAULT;
  if (write_partial(addr, src, len) != len) return Errno::FAULT;
  return {};
}

ErrorOr<std::string> UserMemory::read_string(uint64_t addr, size_t max) const {
  std::string out;
  char chunk[256];
  // Read up to page boundaries so a string ending just before an unmapped
  // page is still read whole.
  while (out.size() <= max) {
    uint64_t cur = addr + out.size();
    size_t to_page = mm::kPageSize - (cur & (mm::kPageSize - 1));
    size_t want = std::min({sizeof(chunk), to_page, max + 1 - out.size()});
    size_t got = read_partial(cur, chunk, want);
    if (got == 0) return Errno::FAULT;
    if (const void* nul = memchr(chunk, 0, got)) {
      out.append(chunk, static_cast<const char*>(nul) - chunk);
      if (out.size() > max) return Errno::NAMETOOLONG;
      return out;
    }
    out.append(chunk, got);
  }
  return Errno::NAMETOOLONG;
}

}  // namespace moat
