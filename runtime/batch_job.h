#pragma once
// One job of `moat batch`: a forked process that becomes the job's sentry
// (run_sandboxed, as `moat do` runs a command), its own process group and,
// where the host allows, its own cgroup; pipes for its stdout and stderr;
// the limits watched from outside; and the result once it has ended.
//
// A JobRun is driven by the batch's single-threaded poll loop
// (runtime/batch.cpp): poll_fds() says what to wait for, on_ready() and
// tick() move it on, done() says when result() is final. The batch process
// never has a second thread, so forking it is safe.

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "config/batch_profile.h"
#include "runtime/cgroups.h"

namespace moat::batch {

using Clock = std::chrono::steady_clock;

enum class JobStatus { Exited, Signaled, Timeout, CpuTime, Memory, Error };
const char* status_name(JobStatus s);

struct JobResult {
  std::string name;
  JobStatus status = JobStatus::Error;
  std::optional<int> exit_code;  // JobStatus::Exited
  int signal = 0;                // what ended the guest (Signaled; SIGKILL for limits)
  int64_t wall_ms = 0;
  std::optional<int64_t> cpu_ms;
  std::optional<int64_t> max_rss_kb;      // the largest process (getrusage)
  std::optional<int64_t> memory_peak_kb;  // the whole sandbox (cgroup)
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  std::string error;                    // why moat could not run it as asked
  std::vector<std::string> unenforced;  // limits the host could not apply
};

// What the jobs of one batch share: whether cgroups work here, and the
// warnings already given (each is printed once per batch).
struct BatchHost {
  std::string cgroup_prefix;           // "/moat/batch-PID-"
  std::optional<std::string> cgroup_error;  // set once making a cgroup failed
  std::set<std::string> warned;
  std::function<void(const std::string&)> warn;  // prints one line on stderr
};

class JobRun {
 public:
  JobRun(const Profile& profile, const Job& job, size_t index, BatchHost& host);
  ~JobRun();
  JobRun(const JobRun&) = delete;

  // Forks the sandbox process; a failure ends the job at once (done()).
  void start();
  // Ends the job without running it.
  void skip(const std::string& why) { fail(why); }
  bool done() const { return m_state == State::Done; }
  const JobResult& result() const { return m_result; }

  // The descriptors to poll, one slot per stream (negative: nothing to wait for).
  static constexpr size_t kSlots = 4;
  void poll_fds(pollfd* slots) const;
  void on_ready(const pollfd* slots);
  // Enforces the wall and CPU limits at now; returns when to look again.
  Clock::time_point tick(Clock::time_point now);
  // Ends the sandbox at once (the batch itself was interrupted).
  void kill_now(const std::string& why);

 private:
  enum class State { Idle, Running, Draining, Done };
  enum class Reason { None, Timeout, CpuTime, Interrupted };

  void fail(const std::string& message);
  void kill_sandbox(Reason reason);
  void reap();
  void read_stream(UniqueFd& fd, std::string& into, bool& truncated);
  void read_report();
  void finish();
  std::optional<int64_t> cpu_ms_now() const;
  [[noreturn]] void child_main(int stdin_fd, int out_fd, int err_fd, int report_fd, int sync_fd);

  const Profile& m_profile;
  const Job& m_job;
  size_t m_index;
  BatchHost& m_host;
  State m_state = State::Idle;
  Reason m_reason = Reason::None;
  JobResult m_result;
  pid_t m_pid = -1;
  UniqueFd m_pidfd, m_out, m_err, m_report;
  std::string m_report_text;
  std::optional<runtime::Cgroup> m_cgroup;
  Clock::time_point m_started, m_ended, m_drain_deadline, m_next_cpu_check;
  int m_wait_status = 0;
  int64_t m_rusage_cpu_ms = 0;
  int64_t m_rusage_maxrss_kb = 0;
  std::optional<runtime::Cgroup::Usage> m_usage;
};

}  // namespace moat::batch
