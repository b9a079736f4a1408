#pragma once
// Starting a sandbox's first guest process, shared by `moat do` and the OCI
// commands: everything from an empty Sandbox to a stub process whose guest
// has not run its first instruction (prepare), the release of that
// instruction (start), and the exit status once the stub process has ended
// (finish). The caller decides how to wait in between.

#include <sys/types.h>

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sentry/kernel/exec.h"
#include "sentry/kernel/sandbox.h"

namespace moat {

class Process;
class Thread;
class Worker;
class WorkerPool;

namespace cli {

struct LaunchSpec {
  SandboxConfig config;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string path_env;  // where a command without '/' is looked up
  std::string cwd;       // the guest's working directory (the root if it does not resolve)
  // Applied to the first process before its filesystem is set up and its
  // executable resolved (credentials, limits).
  std::function<void(Process&)> configure;
  // Applied after the filesystem is set up, before the executable is
  // resolved; a message here fails prepare() with status 1.
  std::function<std::optional<std::string>(Process&)> after_fs;
};

struct LaunchError {
  std::string message;  // one line, without the "moat: " prefix
  int status;           // the exit status it means: 1, or 126/127 for the command
  Errno exec_error = Errno::Ok;  // why the command could not be run (status 126/127)
};

class GuestLaunch {
 public:
  explicit GuestLaunch(LaunchSpec spec);
  ~GuestLaunch();
  GuestLaunch(const GuestLaunch&) = delete;

  // Up to a stub process whose guest waits for start(). Ignores SIGPIPE.
  std::optional<LaunchError> prepare();
  // Lets the guest run. Once.
  void start();
  bool started() const { return m_started; }
  // The exit status after the stub process ended with host wait status
  // host_status: the guest's (128+N for signal N), or the error that kept it
  // from starting.
  std::variant<int, LaunchError> finish(int host_status);

  Sandbox& sandbox() { return *m_sandbox; }
  Process& process() { return *m_process; }
  pid_t stub_pid() const { return m_stub_pid; }
  int stub_pidfd() const;
  // Runs fn on the sandbox's worker thread, where the process table lives.
  void post(std::function<void()> fn);

 private:
  LaunchSpec m_spec;
  std::unique_ptr<Sandbox> m_sandbox;
  Process* m_process = nullptr;
  Thread* m_thread = nullptr;
  std::optional<ExecPlan> m_plan;
  // Declared before the pool so that the workers stop before these go.
  std::promise<Errno> m_start_result;
  std::future<Errno> m_start_future;
  std::unique_ptr<WorkerPool> m_pool;
  Worker* m_worker = nullptr;
  pid_t m_stub_pid = -1;
  bool m_started = false;
};

}  // namespace cli
}  // namespace moat
