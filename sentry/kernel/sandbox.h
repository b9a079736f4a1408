#pragma once
// A sandbox: one sentry's worth of guest state. Lock order: Sandbox::m_lock,
// then Process::m_lock.

#include <sys/types.h>

#include <array>
#include <map>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/mutex_protected.h"
#include "sentry/kernel/futex.h"

namespace moat {

namespace fs {
class Vfs;
}
class Process;

enum class StraceMode { Off, Full, Summary };

// What the guest's root is: the host's root_dir read-only (None), or an
// overlay of it whose writes stay in memory (Memory, `moat do`'s default) or
// go to the host directory root_overlay_dir and persist there (HostDir).
enum class RootOverlay { None, Memory, HostDir };

// The network namespace the sentry (and so every host socket it makes for
// the guest) runs in: the caller's (Host), a new one with only loopback up
// (New), or the one at netns_path (Join). runtime/netns.h enters it.
enum class NetworkMode { Host, New, Join };

struct SandboxConfig {
  std::string root_dir = "/";
  RootOverlay root_overlay = RootOverlay::None;
  std::string root_overlay_dir;  // RootOverlay::HostDir: the upper layer, an absolute host path
  // Nothing but this sandbox changes root_dir while it runs (an OCI bundle's
  // rootfs): cached host nodes of the root are used without revalidation,
  // as gVisor's --file-access=exclusive does. moat do's root is the host's
  // and is revalidated.
  bool root_exclusive = false;
  StraceMode strace = StraceMode::Off;
  std::string hostname = "moat";
  std::string domainname = "(none)";  // uname's NIS domain name (OCI "domainname")
  int strace_fd = 2;  // host fd for --strace output
  NetworkMode network = NetworkMode::Host;
  std::string netns_path;  // with NetworkMode::Join
  // OCI linux.sysctl as the guest's /proc/sys shows them: the path below
  // /proc/sys ("net/ipv4/ip_forward") to the file's text (fs/procfs.cpp).
  std::map<std::string, std::string> sysctls;
};

class Sandbox {
 public:
  explicit Sandbox(SandboxConfig config);
  ~Sandbox();

  const SandboxConfig& config() const { return m_config; }

  // The sandbox's UTS names, uname's nodename and domainname: the config's
  // until the guest changes them (sethostname(2), setdomainname(2)). The
  // sandbox is one UTS namespace; the host's names never change.
  std::string hostname() const;
  std::string domainname() const;
  void set_hostname(std::string name);
  void set_domainname(std::string name);
  fs::Vfs& vfs() { return *m_vfs; }
  bool has_vfs() const { return m_vfs != nullptr; }
  void set_vfs(std::unique_ptr<fs::Vfs> vfs);

  pid_t allocate_pid() { return m_next_pid.fetch_add(1); }
  // Live tasks (threads of live processes) and the sandbox-wide cap on them:
  // every task is a host thread, so a fork bomb must stop inside.
  int live_tasks() const;
  static constexpr int kMaxTasks = 1024;

  // The process table (guest pids). Accessed from the sandbox's worker only,
  // except add_process for the first process before any worker runs it.
  Process& add_process(std::unique_ptr<Process> p);
  Process* find_process(pid_t pid) const;
  std::vector<Process*> children_of(pid_t pid) const;
  // Every process in the table (zombies included), in pid order.
  std::vector<Process*> processes() const;
  // Removes a reaped process. One with a syscall still in flight (its own
  // exit, say) is kept until that syscall completes (release_if_reaped).
  void reap(Process& p);
  void release_if_reaped(Process& p);

  // The queues of shared futexes in shared memory, which any process that
  // maps the object may wait on or wake (sentry/kernel/futex.h).
  FutexTable& shared_futexes() { return m_shared_futexes; }

  // Per-syscall counters: calls, errors, ENOSYS returns.
  void count_syscall(uint64_t nr, int64_t result, uint64_t cycles = 0);
  uint64_t enosys_count() const { return m_enosys.load(); }
  std::array<std::atomic<uint64_t>, 512>& call_counts() { return m_calls; }
  // `strace -c`-style table of the calls counted so far.
  std::string format_summary() const;

 private:
  SandboxConfig m_config;
  struct UtsNames {
    std::string hostname;
    std::string domainname;
  };
  MutexProtected<UtsNames> m_uts;
  std::unique_ptr<fs::Vfs> m_vfs;
  std::atomic<pid_t> m_next_pid{1};
  std::map<pid_t, std::unique_ptr<Process>> m_processes;
  std::vector<std::unique_ptr<Process>> m_reaped_in_flight;
  FutexTable m_shared_futexes;
  std::atomic<uint64_t> m_enosys{0};
  std::array<std::atomic<uint64_t>, 512> m_calls{};
  std::array<std::atomic<uint64_t>, 512> m_errors{};
  std::array<std::atomic<uint64_t>, 512> m_cycles{};  // time in the sentry, TSC cycles
};

}  // namespace moat
