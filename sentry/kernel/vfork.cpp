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

constexpr uint64_t kWindow = 4 * mm::kPageSize;

// [start, end) of the caller's stack window: from the page of its stack
// pointer up, within the stack pointer's mapping.
std::pair<uint64_t, uint64_t> window_of(Process& child) {
  const mm::Mapping* m = child.address_space().find(child.vfork_caller_sp);
  if (!m) return {0, 0};
  uint64_t start = child.vfork_caller_sp & ~(mm::kPageSize - 1);
  return {start, std::min(m->end, start + kWindow)};
}

// Writes into the parent the bytes of the window that the child changed
// since it started; the bytes around them keep the parent's content.
void merge_window(Process& child, Process& parent) {
  const std::vector<std::byte>& before = child.vfork_window;
  auto [start, end] = window_of(child);
  if (before.empty() || end - start < before.size()) return;
  std::vector<std::byte> now(before.size());
  now.resize(child.mem().read_partial(start, now.data(), now.size()));
  for (size_t i = 0; i < now.size();) {
    if (now[i] == before[i]) {
      i++;
      continue;
    }
    size_t run = i;
    while (run < now.size() && now[run] != before[run]) run++;
    (void)parent.mem().write(start + i, now.data() + i, run - i);
    i = run;
  }
}

}  // namespace

void snapshot_vfork_window(Process& child) {
  auto [start, end] = window_of(child);
  child.vfork_window.resize(end - start);
  child.vfork_window.resize(child.mem().read_partial(start, child.vfork_window.data(), child.vfork_window.size()));
}

void copy_back_vfork_memory(Process& child) {
  if (!child.vfork_shares_memory || child.vfork_released) return;
  child.vfork_shares_memory = false;
  Process* parent = child.sandbox().find_process(child.ppid());
  if (!parent || parent->zombie) return;
  // With other threads of the parent running, only the caller's frames.
  if (parent->live_threads() > 1) {
    merge_window(child, *parent);
    return;
  }
  std::string path = "/proc/" + std::to_string(child.stub().host_pid()) + "/pagemap";
  UniqueFd pagemap(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap) return;
  for (const mm::Mapping& m : child.address_space().mappings()) {
    if (m.reserved || !(m.prot & PROT_WRITE) || (m.flags & MAP_SHARED)) continue;
    // Only where the parent still has the same private writable mapping.
    const mm::Mapping* pm = parent->address_space().find(m.start);
    if (!pm || (pm->flags & MAP_SHARED) || !(pm->prot & PROT_WRITE)) continue;
    copy_range(child, *parent, pagemap.get(), m.start, std::min(m.end, pm->end));
  }
}

}  // namespace moat
