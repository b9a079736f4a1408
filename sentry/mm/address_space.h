#pragma once
// The sentry's authoritative list of a guest's memory mappings. The host
// mappings in the stub process follow it; /proc/PID/maps, brk and mremap read
// it. Not thread-safe by itself: the owning Process serialises access.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace moat::mm {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t page_down(uint64_t a) { return a & ~(kPageSize - 1); }
constexpr uint64_t page_up(uint64_t a) { return (a + kPageSize - 1) & ~(kPageSize - 1); }

// Lowest address the guest may map (vm.mmap_min_addr) and the top of the
// guest's user address space.
constexpr uint64_t kMinAddr = 0x10000;
constexpr uint64_t kUserTop = 0x7ffffffff000ULL;

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  int prot = 0;
  int flags = 0;  // MAP_PRIVATE / MAP_SHARED / MAP_ANONYMOUS ...
  uint64_t offset = 0;
  uint64_t dev = 0, inode = 0;
  std::string name;  // file path, "[heap]", "[stack]", "[vdso]" ...
  bool reserved = false;  // stub region, vdso, vvar: never touched by the guest
  // Linux VM_MAYWRITE: false for a shared mapping of a file not opened for
  // writing, which mprotect(2) may then never make writable.
  bool may_write = true;
  // MAP_SHARED | MAP_ANONYMOUS: which shared memory object this is (given on
  // first insert, kept by fork's copy and by mremap) and where start lies in
  // it; shared futexes are keyed by the two (sentry/kernel/futex.h).
  // FIXME: mremap of a range that starts inside the mapping keeps the
  // object offset of the mapping's start.
  uint64_t shared_id = 0;
  uint64_t shared_offset = 0;
};

class AddressSpace {
 public:
  // Records [start, end) as mapped, replacing what was there.
  void insert(Mapping m);
  // Removes [start, end) (splitting mappings at the edges).
  void remove(uint64_t start, uint64_t end);
  // Changes the protection of [start, end); ENOMEM if any page is unmapped.
  ErrorOr<void> protect(uint64_t start, uint64_t end, int prot);
  // False when prot asks for write access that a mapping in [start, end)
  // may never have (mm/mprotect.c: EACCES).
  bool may_protect(uint64_t start, uint64_t end, int prot) const;
  // True when any page of [start, end) is mapped.
  bool overlaps(uint64_t start, uint64_t end) const;
  // True when [start, end) overlaps a reserved mapping (stub region, vdso).
  bool overlaps_reserved(uint64_t start, uint64_t end) const;
  // True when every page of [start, end) is mapped.
  bool fully_mapped(uint64_t start, uint64_t end) const;
  const Mapping* find(uint64_t addr) const;
  // Finds a free range of len bytes, searching down from the mmap base.
  ErrorOr<uint64_t> find_free(uint64_t len, uint64_t hint = 0) const;

  std::vector<Mapping> mappings() const;
  // Text in the format of /proc/PID/maps.
  std::string format_maps() const;

  uint64_t mmap_base = 0x7f0000000000ULL;
  uint64_t brk_start = 0;
  uint64_t brk_current = 0;
  uint64_t stack_top = 0;

 private:
  std::map<uint64_t, Mapping> m_maps;  // keyed by start
};

}  // namespace moat::mm
