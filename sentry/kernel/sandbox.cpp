#include "sentry/kernel/sandbox.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "fs/vfs.h"
#include "sentry/syscalls/table.h"

namespace moat {

Sandbox::Sandbox(SandboxConfig config) : m_config(std::move(config)) {}

Sandbox::~Sandbox() = default;

void Sandbox::set_vfs(std::unique_ptr<fs::Vfs> vfs) { m_vfs = std::move(vfs); }

void Sandbox::count_syscall(uint64_t nr, int64_t result) {
  if (nr < m_calls.size()) {
    m_calls[nr].fetch_add(1, std::memory_order_relaxed);
    if (result < 0 && result > -4096) m_errors[nr].fetch_add(1, std::memory_order_relaxed);
  }
  if (result == -ENOSYS) m_enosys.fetch_add(1, std::memory_order_relaxed);
}

std::string Sandbox::format_summary() const {
  struct Row {
    uint64_t nr, calls, errors;
  };
  std::vector<Row> rows;
  uint64_t total_calls = 0, total_errors = 0;
  for (uint64_t nr = 0; nr < m_calls.size(); nr++) {
    uint64_t c = m_calls[nr].load(), e = m_errors[nr].load();
    if (c == 0) continue;
    rows.push_back({nr, c, e});
    total_calls += c;
    total_errors += e;
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.calls > b.calls; });
  std::string out = "    calls    errors syscall\n--------- --------- ----------------\n";
  char line[128];
  for (const Row& r : rows) {
    const SyscallEntry* e = syscall_entry(r.nr);
    bool missing = !e || !e->has_handler();
    snprintf(line, sizeof(line), "%9llu %9llu %s%s\n", static_cast<unsigned long long>(r.calls),
             static_cast<unsigned long long>(r.errors), e ? e->name : "?", missing ? " (unimplemented)" : "");
    out += line;
  }
  snprintf(line, sizeof(line), "--------- --------- ----------------\n%9llu %9llu total (%llu ENOSYS)\n",
           static_cast<unsigned long long>(total_calls), static_cast<unsigned long long>(total_errors),
           static_cast<unsigned long long>(m_enosys.load()));
  out += line;
  return out;
}

}  // namespace moat
