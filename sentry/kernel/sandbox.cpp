#include "sentry/kernel/sandbox.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "fs/vfs.h"
#include "sentry/kernel/process.h"
#include "sentry/platform/stub_process.h"
#include "sentry/syscalls/table.h"

namespace moat {

Sandbox::Sandbox(SandboxConfig config)
    : m_config(std::move(config)), m_uts(UtsNames{m_config.hostname, m_config.domainname}) {}

Sandbox::~Sandbox() = default;

std::string Sandbox::hostname() const {
  return m_uts.with_lock([](const UtsNames& u) { return u.hostname; });
}

std::string Sandbox::domainname() const {
  return m_uts.with_lock([](const UtsNames& u) { return u.domainname; });
}

void Sandbox::set_hostname(std::string name) {
  m_uts.with_lock([&](UtsNames& u) { u.hostname = std::move(name); });
}

void Sandbox::set_domainname(std::string name) {
  m_uts.with_lock([&](UtsNames& u) { u.domainname = std::move(name); });
}

Process& Sandbox::add_process(std::unique_ptr<Process> p) {
  Process& ref = *p;
  m_processes[p->pid()] = std::move(p);
  return ref;
}

Process* Sandbox::find_process(pid_t pid) const {
  auto it = m_processes.find(pid);
  return it == m_processes.end() ? nullptr : it->second.get();
}

std::vector<Process*> Sandbox::processes() const {
  std::vector<Process*> out;
  for (auto& [pid, p] : m_processes) out.push_back(p.get());
  return out;
}

std::vector<Process*> Sandbox::children_of(pid_t pid) const {
  std::vector<Process*> out;
  for (auto& [child_pid, p] : m_processes)
    if (p->ppid() == pid && child_pid != pid) out.push_back(p.get());
  return out;
}

int Sandbox::live_tasks() const {
  int n = 0;
  for (auto& [pid, p] : m_processes)
    if (!p->zombie) n += p->live_threads();
  return n;
}

void Sandbox::reap(Process& p) {
  auto it = m_processes.find(p.pid());
  if (it == m_processes.end() || it->second.get() != &p) return;
  std::unique_ptr<Process> owned = std::move(it->second);
  m_processes.erase(it);
  owned->reaped = true;
  if (owned->any_thread_in_syscall()) m_reaped_in_flight.push_back(std::move(owned));
}

void Sandbox::release_if_reaped(Process& p) {
  if (!p.reaped || p.any_thread_in_syscall()) return;
  std::erase_if(m_reaped_in_flight, [&](const std::unique_ptr<Process>& q) { return q.get() == &p; });
}

void Sandbox::set_vfs(std::unique_ptr<fs::Vfs> vfs) { m_vfs = std::move(vfs); }

void Sandbox::count_syscall(uint64_t nr, int64_t result, uint64_t cycles) {
  if (nr < m_calls.size()) {
    m_calls[nr].fetch_add(1, std::memory_order_relaxed);
    if (m_config.strace == StraceMode::Summary) m_cycles[nr].fetch_add(cycles, std::memory_order_relaxed);
    if (result < 0 && result > -4096) m_errors[nr].fetch_add(1, std::memory_order_relaxed);
  }
  if (result == -ENOSYS) m_enosys.fetch_add(1, std::memory_order_relaxed);
}

// The table of `strace -c`: time is what the sentry spent serving each call
// (from taking it off the ring to posting the result), blocking included.
std::string Sandbox::format_summary() const {
  struct Row {
    uint64_t nr, calls, errors;
    double seconds;
  };
  const double cycles_per_second = static_cast<double>(StubProcess::tsc_per_us()) * 1e6;
  std::vector<Row> rows;
  uint64_t total_calls = 0, total_errors = 0;
  double total_seconds = 0;
  for (uint64_t nr = 0; nr < m_calls.size(); nr++) {
    uint64_t c = m_calls[nr].load(), e = m_errors[nr].load();
    if (c == 0) continue;
    double secs = static_cast<double>(m_cycles[nr].load()) / cycles_per_second;
    rows.push_back({nr, c, e, secs});
    total_calls += c;
    total_errors += e;
    total_seconds += secs;
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.seconds != b.seconds ? a.seconds > b.seconds : a.calls > b.calls;
  });
  std::string out =
      "% time     seconds  usecs/call     calls    errors syscall\n"
      "------ ----------- ----------- --------- --------- ----------------\n";
  char line[160];
  for (const Row& r : rows) {
    const SyscallEntry* e = syscall_entry(r.nr);
    bool missing = !e || !e->has_handler();
    double pct = total_seconds > 0 ? 100.0 * r.seconds / total_seconds : 0;
    snprintf(line, sizeof(line), "%6.2f %11.6f %11.0f %9llu %9s %s%s\n", pct, r.seconds,
             r.seconds * 1e6 / static_cast<double>(r.calls), static_cast<unsigned long long>(r.calls),
             r.errors ? std::to_string(r.errors).c_str() : "", e ? e->name : "?",
             missing ? " (unimplemented)" : "");
    out += line;
  }
  snprintf(line, sizeof(line),
           "------ ----------- ----------- --------- --------- ----------------\n"
           "100.00 %11.6f %11.0f %9llu %9llu total (%llu ENOSYS)\n",
           total_seconds, total_calls ? total_seconds * 1e6 / static_cast<double>(total_calls) : 0.0,
           static_cast<unsigned long long>(total_calls), static_cast<unsigned long long>(total_errors),
           static_cast<unsigned long long>(m_enosys.load()));
  out += line;
  return out;
}

}  // namespace moat
