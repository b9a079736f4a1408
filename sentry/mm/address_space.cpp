// The sentry's record of a guest's mappings: a map of non-overlapping ranges
// keyed by start address. Every operation that touches part of a mapping splits
// it at the edges first, so the rest of the code only ever sees whole entries.

#include "sentry/mm/address_space.h"

#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>

namespace moat::mm {

namespace {

// A file mapping's offset follows its start; an anonymous one shows 0 in
// /proc/PID/maps (fs/proc/task_mmu.c show_map_vma), so keep it at 0.
void advance_start(Mapping& m, uint64_t new_start) {
  if (!(m.flags & MAP_ANONYMOUS)) m.offset += new_start - m.start;
  m.shared_offset += new_start - m.start;
  m.start = new_start;
}

// Splits the mapping containing addr (if any, and if addr is inside it rather
// than at its start) into [start, addr) and [addr, end).
void split_at(std::map<uint64_t, Mapping>& maps, uint64_t addr) {
  auto it = maps.upper_bound(addr);
  if (it == maps.begin()) return;
  --it;
  Mapping& left = it->second;
  if (left.start >= addr || left.end <= addr) return;
  Mapping right = left;
  advance_start(right, addr);
  left.end = addr;
  maps.emplace(addr, std::move(right));
}

}  // namespace

void AddressSpace::insert(Mapping m) {
  if (m.start >= m.end) return;
  // A new anonymous shared mapping is a new shared memory object.
  static std::atomic<uint64_t> next_shared_id{1};
  if ((m.flags & MAP_SHARED) && (m.flags & MAP_ANONYMOUS) && !m.shared_id) m.shared_id = next_shared_id.fetch_add(1);
  remove(m.start, m.end);
  uint64_t start = m.start;
  m_maps.emplace(start, std::move(m));
}

void AddressSpace::remove(uint64_t start, uint64_t end) {
  if (start >= end) return;
  split_at(m_maps, start);
  split_at(m_maps, end);
  auto it = m_maps.lower_bound(start);
  while (it != m_maps.end() && it->first < end) it = m_maps.erase(it);
}

ErrorOr<void> AddressSpace::protect(uint64_t start, uint64_t end, int prot) {
  if (start >= end) return {};
  // Linux mprotect(2) reports ENOMEM for a hole and changes nothing then.
  if (!fully_mapped(start, end)) return Errno::NOMEM;
  split_at(m_maps, start);
  split_at(m_maps, end);
  for (auto it = m_maps.lower_bound(start); it != m_maps.end() && it->first < end; ++it)
    it->second.prot = prot;
  return {};
}

bool AddressSpace::may_protect(uint64_t start, uint64_t end, int prot) const {
  if (start >= end || !(prot & PROT_WRITE)) return true;
  auto it = m_maps.upper_bound(start);
  if (it != m_maps.begin()) --it;
  for (; it != m_maps.end() && it->first < end; ++it) {
    if (it->second.end > start && !it->second.may_write) return false;
  }
  return true;
}

bool AddressSpace::overlaps(uint64_t start, uint64_t end) const {
  if (start >= end) return false;
  auto it = m_maps.lower_bound(start);
  if (it != m_maps.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > start) return true;
  }
  return it != m_maps.end() && it->first < end;
}

bool AddressSpace::overlaps_reserved(uint64_t start, uint64_t end) const {
  if (start >= end) return false;
  auto it = m_maps.upper_bound(start);
  if (it != m_maps.begin()) --it;
  for (; it != m_maps.end() && it->first < end; ++it) {
    if (it->second.end > start && it->second.reserved) return true;
  }
  return false;
}

bool AddressSpace::fully_mapped(uint64_t start, uint64_t end) const {
  if (start >= end) return true;
  auto it = m_maps.upper_bound(start);
  if (it == m_maps.begin()) return false;
  --it;
  uint64_t covered = start;
  for (; it != m_maps.end(); ++it) {
    if (it->second.start > covered) return false;
    if (it->second.end > covered) covered = it->second.end;
    if (covered >= end) return true;
  }
  return false;
}

const Mapping* AddressSpace::find(uint64_t addr) const {
  auto it = m_maps.upper_bound(addr);
  if (it == m_maps.begin()) return nullptr;
  --it;
  return addr < it->second.end ? &it->second : nullptr;
}

ErrorOr<uint64_t> AddressSpace::find_free(uint64_t len, uint64_t hint) const {
  if (len == 0 || len > kUserTop) return Errno::NOMEM;
  len = page_up(len);

  // Like Linux's get_unmapped_area: a free, in-range hint wins.
  if (hint != 0) {
    uint64_t h = page_up(hint);
    if (h >= kMinAddr && h <= kUserTop - len && !overlaps(h, h + len)) return h;
  }

  // Top-down: walk the mappings from the highest below the mmap base and take
  // the first gap large enough, placing the range at the top of that gap.
  uint64_t top = mmap_base < kUserTop ? page_down(mmap_base) : kUserTop;
  auto it = m_maps.lower_bound(top);
  while (true) {
    uint64_t gap_start = kMinAddr;
    bool more = it != m_maps.begin();
    if (more) {
      --it;
      gap_start = it->second.end;
    }
    if (gap_start < top && top - gap_start >= len && top - len >= kMinAddr) return top - len;
    if (!more) break;
    if (it->second.start < top) top = it->second.start;
    if (top < kMinAddr + len) break;
  }
  return Errno::NOMEM;
}

std::vector<Mapping> AddressSpace::mappings() const {
  std::vector<Mapping> out;
  out.reserve(m_maps.size());
  for (const auto& [start, m] : m_maps) out.push_back(m);
  return out;
}

std::string AddressSpace::format_maps() const {
  // fs/proc/task_mmu.c show_vma_header_prefix: the name column starts after the
  // prefix is padded to 72 characters plus one space.
  constexpr size_t kNameColumn = 25 + sizeof(void*) * 6 - 1;
  std::string out;
  char line[160];
  for (const auto& [start, m] : m_maps) {
    int n = snprintf(line, sizeof(line), "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
                     m.start, m.end, (m.prot & PROT_READ) ? 'r' : '-', (m.prot & PROT_WRITE) ? 'w' : '-',
                     (m.prot & PROT_EXEC) ? 'x' : '-', (m.flags & MAP_SHARED) ? 's' : 'p', m.offset,
                     major(static_cast<dev_t>(m.dev)), minor(static_cast<dev_t>(m.dev)), m.inode);
    out.append(line, static_cast<size_t>(n));
    if (!m.name.empty()) {
      if (static_cast<size_t>(n) < kNameColumn) out.append(kNameColumn - static_cast<size_t>(n), ' ');
      out.push_back(' ');
      out += m.name;
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace moat::mm
