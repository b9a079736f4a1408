#include "sentry/kernel/sandbox.h"

#include "fs/vfs.h"

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

}  // namespace moat
