// `moat do`: run a command in a fresh sandbox, like `runsc do`.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "runtime/cli.h"
#include "sentry/kernel/exec.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/platform/stub_process.h"
#include "sentry/platform/worker.h"

extern char** environ;

namespace moat::cli {

void print_usage(FILE* out) {
  fprintf(out,
          "moat: a sandboxed container runtime\n"
          "\n"
          "Usage:\n"
          "  moat do [--root-dir DIR] [--strace] [--] CMD [ARGS...]\n"
          "      Run CMD in a fresh sandbox with the caller's stdio, working directory\n"
          "      and environment. Exits with CMD's status (128+N if killed by signal N).\n"
          "      --root-dir DIR   the sandbox's root filesystem (default /), read-only;\n"
          "                       /tmp is a private in-memory filesystem\n"
          "      --strace         print every guest syscall to stderr\n"
          "      --strace=summary print per-syscall counts at exit (like strace -c)\n"
          "  moat help syscalls\n"
          "      Print which Linux syscalls moat implements (docs/syscalls.md).\n"
          "  moat --version\n"
          "  moat help\n");
}

namespace {

Process* g_process = nullptr;

// Signals sent to moat end the guest the same way (as runsc do forwards them).
void forward_signal(int sig) {
  if (Process* p = g_process) {
    if (p->sigactions[sig].handler == 1 /* SIG_IGN */) return;
    p->kill_with_signal(sig);
  }
}

std::string errno_message(Errno e) { return strerror(to_int(e)); }

int exec_error_status(Errno e) { return e == Errno::NOENT || e == Errno::NOTDIR ? 127 : 126; }

}  // namespace

int run_do(const std::vector<std::string>& args) {
  SandboxConfig config;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      i++;
      break;
    }
    if (a.rfind("--", 0) != 0) break;
    if (a == "--root-dir" || a.rfind("--root-dir=", 0) == 0) {
      if (a == "--root-dir") {
        if (++i >= args.size()) {
          fprintf(stderr, "moat do: --root-dir needs a directory\n");
          return kUsageError;
        }
        config.root_dir = args[i];
      } else {
        config.root_dir = a.substr(strlen("--root-dir="));
      }
    } else if (a == "--strace" || a == "--strace=full") {
      config.strace = StraceMode::Full;
    } else if (a == "--strace=summary") {
      config.strace = StraceMode::Summary;
    } else {
      fprintf(stderr, "moat do: unknown flag %s (see 'moat help')\n", a.c_str());
      return kUsageError;
    }
  }
  if (i >= args.size()) {
    fprintf(stderr, "moat do: no command given (see 'moat help')\n");
    return kUsageError;
  }
  std::vector<std::string> argv(args.begin() + static_cast<long>(i), args.end());
  struct stat root_st;
  if (stat(config.root_dir.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
    fprintf(stderr, "moat do: --root-dir %s: %s\n", config.root_dir.c_str(),
            errno ? strerror(errno) : "Not a directory");
    return 1;
  }

  Sandbox sandbox(config);
  Process& process = sandbox.add_process(std::make_unique<Process>(sandbox, sandbox.allocate_pid()));
  Thread& thread = process.add_thread(0, process.pid());
  process.comm = argv[0].substr(argv[0].rfind('/') + 1);
  thread.name = process.comm.substr(0, 15);

  char cwd_buf[4096];
  std::string cwd = getcwd(cwd_buf, sizeof(cwd_buf)) ? cwd_buf : "/";
  if (auto r = fs::setup_process_fs(sandbox, process, cwd); r.is_error()) {
    fprintf(stderr, "moat: setting up the sandbox filesystem: %s\n", errno_message(r.error()).c_str());
    return 1;
  }

  std::vector<std::string> envp;
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char** e = environ; *e; e++) {
    envp.emplace_back(*e);
    if (strncmp(*e, "PATH=", 5) == 0) path_env = *e + 5;
  }

  auto resolved = fs::resolve_exec(process, argv[0], path_env);
  if (resolved.is_error()) {
    fprintf(stderr, "moat: %s: %s\n", argv[0].c_str(), errno_message(resolved.error()).c_str());
    return exec_error_status(resolved.error());
  }
  auto plan = prepare_exec(process, resolved.value(), argv, envp);
  if (plan.is_error()) {
    Errno e = plan.error();
    const char* reason = e == Errno::NOEXEC ? "not an executable this system can run (Exec format error)"
                                            : strerror(to_int(e));
    fprintf(stderr, "moat: %s: %s\n", argv[0].c_str(), reason);
    return exec_error_status(e);
  }

  signal(SIGPIPE, SIG_IGN);
  WorkerPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  auto stub = StubProcess::create();
  if (stub.is_error()) {
    fprintf(stderr, "moat: creating the sandbox process: %s\n", errno_message(stub.error()).c_str());
    return 1;
  }
  process.set_stub(stub.release_value());
  pid_t stub_pid = process.stub().host_pid();
  g_process = &process;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, forward_signal);

  std::promise<Errno> started;
  std::future<Errno> started_future = started.get_future();
  Worker& worker = pool.pick();
  process.worker = &worker;
  worker.post([&] {
    worker.attach(&process);
    spawn(start_guest(thread, plan.release_value()), [&](ErrorOr<int64_t> r) {
      Errno e = r.is_error() ? r.error() : Errno::Ok;
      if (e != Errno::Ok) process.kill_with_signal(SIGKILL);
      started.set_value(e);
    });
  });

  int status = 0;
  while (waitpid(stub_pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  // The start coroutine finishes right after it lets the guest run; if it
  // hasn't, the stub process died while being set up.
  if (started_future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    fprintf(stderr, "moat: the sandbox process ended during setup (%s %d)\n",
            WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return 1;
  }
  Errno start_error = started_future.get();
  worker.post([&] { worker.detach(&process); });
  g_process = nullptr;
  if (start_error != Errno::Ok) {
    fprintf(stderr, "moat: %s: cannot start: %s\n", argv[0].c_str(), errno_message(start_error).c_str());
    return 126;
  }
  if (config.strace == StraceMode::Summary) fputs(sandbox.format_summary().c_str(), stderr);
  int recorded = process.exit_status.load();
  if (recorded >= 0) status = recorded;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace moat::cli
