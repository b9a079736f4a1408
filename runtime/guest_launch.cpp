#include "runtime/guest_launch.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>

#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "runtime/netns.h"
#include "sentry/kernel/host_limits.h"
#include "sentry/kernel/process.h"
#include "sentry/platform/stub_process.h"
#include "sentry/platform/worker.h"

namespace moat::cli {

namespace {

std::string errno_message(Errno e) { return strerror(to_int(e)); }

int exec_error_status(Errno e) { return e == Errno::NOENT || e == Errno::NOTDIR ? 127 : 126; }

}  // namespace

GuestLaunch::GuestLaunch(LaunchSpec spec) : m_spec(std::move(spec)) {}

GuestLaunch::~GuestLaunch() = default;

std::optional<LaunchError> GuestLaunch::prepare() {
  const std::vector<std::string>& argv = m_spec.argv;
  // Before any thread: the workers and stub processes inherit the namespace.
  if (auto error = runtime::enter_network(m_spec.config); !error.empty()) return LaunchError{error, 1};
  // Each guest socket, pipe or host file costs the sentry a host fd.
  raise_sentry_fd_limit();
  m_sandbox = std::make_unique<Sandbox>(m_spec.config);
  Process& process = m_sandbox->add_process(std::make_unique<Process>(*m_sandbox, m_sandbox->allocate_pid()));
  m_process = &process;
  m_thread = &process.add_thread(0, process.pid());
  process.comm = argv[0].substr(argv[0].rfind('/') + 1);
  m_thread->name = process.comm.substr(0, 15);
  if (m_spec.configure) m_spec.configure(process);

  if (auto r = fs::setup_process_fs(*m_sandbox, process, m_spec.cwd); r.is_error())
    return LaunchError{"setting up the sandbox filesystem: " + errno_message(r.error()), 1};
  if (m_spec.after_fs)
    if (auto message = m_spec.after_fs(process)) return LaunchError{*message, 1};

  auto resolved = fs::resolve_exec(process, argv[0], m_spec.path_env);
  if (resolved.is_error())
    return LaunchError{argv[0] + ": " + errno_message(resolved.error()), exec_error_status(resolved.error()),
                       resolved.error()};
  auto plan = prepare_exec(process, resolved.value(), argv, m_spec.envp);
  if (plan.is_error()) {
    Errno e = plan.error();
    std::string reason = e == Errno::NOEXEC ? "not an executable this system can run (Exec format error)"
                                            : strerror(to_int(e));
    return LaunchError{argv[0] + ": " + reason, exec_error_status(e), e};
  }
  m_plan.emplace(plan.release_value());

  signal(SIGPIPE, SIG_IGN);
  m_start_future = m_start_result.get_future();
  m_pool = std::make_unique<WorkerPool>(WorkerPool::default_count());
  auto stub = StubProcess::create();
  if (stub.is_error()) return LaunchError{"creating the sandbox process: " + errno_message(stub.error()), 1};
  process.set_stub(stub.release_value());
  m_stub_pid = process.stub().host_pid();
  m_worker = &m_pool->pick();
  process.worker = m_worker;
  return std::nullopt;
}

int GuestLaunch::stub_pidfd() const { return m_process->stub().pidfd(); }

void GuestLaunch::start() {
  if (m_started) return;
  m_started = true;
  Worker& worker = *m_worker;
  Process& process = *m_process;
  Thread& thread = *m_thread;
  worker.post([this, &worker, &process, &thread] {
    worker.attach(&process);
    spawn(start_guest(thread, std::move(*m_plan)), [this, &process](ErrorOr<int64_t> r) {
      Errno e = r.is_error() ? r.error() : Errno::Ok;
      if (e != Errno::Ok) process.kill_with_signal(SIGKILL);
      m_start_result.set_value(e);
    });
  });
}

void GuestLaunch::post(std::function<void()> fn) { m_worker->post(std::move(fn)); }

std::variant<int, LaunchError> GuestLaunch::finish(int status) {
  // The start coroutine finishes right after it lets the guest run; if it
  // hasn't, the stub process died while being set up.
  if (!m_started || m_start_future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    char buf[96];
    snprintf(buf, sizeof(buf), "the sandbox process ended during setup (%s %d)",
             WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return LaunchError{buf, 1};
  }
  Errno start_error = m_start_future.get();
  Worker& worker = *m_worker;
  Process& process = *m_process;
  worker.post([&worker, &process] { worker.detach(&process); });
  if (start_error != Errno::Ok)
    return LaunchError{m_spec.argv[0] + ": cannot start: " + errno_message(start_error), 126};
  if (m_spec.config.strace == StraceMode::Summary) fputs(m_sandbox->format_summary().c_str(), stderr);
  int recorded = process.exit_status.load();
  if (recorded >= 0) status = recorded;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace moat::cli
