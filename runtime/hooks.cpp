#include "runtime/hooks.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/logging.h"
#include "runtime/netns.h"

namespace moat::runtime {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string run_hook(const std::string& kind, size_t index, const oci::Hook& hook, const std::string& state) {
  std::string name = "hooks." + kind + "[" + std::to_string(index) + "] " + hook.path;
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return name + ": pipe: " + strerror(errno);
  fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(in[0]);
    ::close(in[1]);
    return name + ": fork: " + strerror(errno);
  }
  if (pid == 0) {
    // Hooks run in the runtime's network namespace, as runc runs them,
    // not in the one the sentry entered for the sandbox.
    if (int ns = original_netns_fd(); ns >= 0) ::setns(ns, CLONE_NEWNET);
    ::dup2(in[0], 0);
    // A hook's output goes to the runtime's stderr, never into the
    // container's stdout (which the caller may be reading).
    ::dup2(2, 1);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  ::close(in[0]);
  // The state, then EOF; a hook that does not read it gets EPIPE, ignored.
  size_t done = 0;
  while (done < state.size()) {
    ssize_t n = ::write(in[1], state.data() + done, state.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(in[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(60));
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return name + ": waitpid: " + strerror(errno);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return name + ": timed out after " + std::to_string(hook.timeout.value_or(60)) + " s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return name + ": could not be run (exit status 127)";
  if (WIFEXITED(status)) return name + ": exit status " + std::to_string(WEXITSTATUS(status));
  return name + ": killed by signal " + std::to_string(WTERMSIG(status));
}

}  // namespace

std::string run_hooks(const std::string& kind, const std::vector<oci::Hook>& hooks, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); i++) {
    log::debug("running hooks." + kind + "[" + std::to_string(i) + "] " + hooks[i].path);
    if (auto error = run_hook(kind, i, hooks[i], state_json); !error.empty()) return error;
  }
  return {};
}

}  // namespace moat::runtime
