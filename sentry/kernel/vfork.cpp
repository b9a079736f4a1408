#include "sentry/kernel/vfork.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/platform/stub_process.h"

namespace moat {

namespace {

// /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kPagePresent = 1ULL << 63;
constexpr uint64_t kPageFileOrSharedAnon = 1ULL << 61;
constexpr uint64_t kPageExclusive = 1ULL << 56;

// Copies the child-written pages of [start, end) from child to parent.
void copy_range(Process& child, Process& parent, int pagemap, uint64_t start, uint64_t end) {
  constexpr uint64_t kBatch = 512;  // pages per pagemap read
  std::vector<uint64_t> entries(kBatch);
  std::vector<char> page(mm::kPageSize);
  for (uint64_t addr = start; addr < end;) {
    uint64_t pages = std::min<uint64_t>(kBatch, (end - addr) / mm::kPageSize);
    ssize_t got = pread(pagemap, entries.data(), pages * 8, static_cast<off_t>(addr / mm::kPageSize * 8));
    if (got <= 0) return;
    pages = static_cast<uint64_t>(got) / 8;
    for (uint64_t i = 0; i < pages; i++) {
      uint64_t e = entries[i];
      if (!(e & kPagePresent) || !(e & kPageExclusive) || (e & kPageFileOrSharedAnon)) continue;
      uint64_t a = addr + i * mm::kPageSize;
      if (child.mem().read(a, page.data(), page.size()).is_error()) continue;
      (void)parent.mem().write(a, page.data(), page.size());
    }
    addr += pages * mm::kPageSize;
  }
}

}  // namespace

void copy_back_vfork_memory(Process& child) {
  if (!child.vfork_shares_memory || child.vfork_released) return;
  child.vfork_shares_memory = false;
  Process* parent = child.sandbox().find_process(child.ppid());
  if (!parent || parent->zombie) return;
  std::string path = "/proc/" + std::to_string(child.stub().host_pid()) + "/pagemap";
  UniqueFd pagemap(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap) return;
  // With other threads of the parent running, only the caller's stack.
  const mm::Mapping* caller_stack = nullptr;
  if (parent->live_threads() > 1) {
    caller_stack = parent->address_space().find(child.vfork_caller_sp);
    if (!caller_stack) return;
  }
  for (const mm::Mapping& m : child.address_space().mappings()) {
    if (m.reserved || !(m.prot & PROT_WRITE) || (m.flags & MAP_SHARED)) continue;
    if (caller_stack && (m.end <= caller_stack->start || m.start >= caller_stack->end)) continue;
    // Only where the parent still has the same private writable mapping.
    const mm::Mapping* pm = parent->address_space().find(m.start);
    if (!pm || (pm->flags & MAP_SHARED) || !(pm->prot & PROT_WRITE)) continue;
    copy_range(child, *parent, pagemap.get(), m.start, std::min(m.end, pm->end));
  }
}

}  // namespace moat
