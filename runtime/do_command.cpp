// `moat do`: run a command in a fresh sandbox, like `runsc do`.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/fs_context.h"
#include "fs/pty.h"
#include "fs/vfs.h"
#include "config/batch_profile.h"
#include "runtime/cli.h"
#include "runtime/guest_launch.h"
#include "runtime/netns.h"
#include "runtime/terminal.h"
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
          "  moat do [-t] [--root-dir DIR] [--overlay memory|dir:PATH|none] [--bind HOST:GUEST[:ro]]...\n"
          "          [--strace] [--] CMD [ARGS...]\n"
          "      Run CMD in a fresh sandbox with the caller's stdio, working directory\n"
          "      and environment. Exits with CMD's status (128+N if killed by signal N).\n"
          "      -t, --tty        give CMD a terminal inside the sandbox (a pty) bridged to\n"
          "                       the caller's, which must be a terminal (else status 125)\n"
          "      --root-dir DIR   the sandbox's root filesystem (default /), never written;\n"
          "                       /tmp is a private in-memory filesystem\n"
          "      --overlay memory the guest may write anywhere: its changes go to an\n"
          "                       in-memory layer over the root and vanish at exit (default)\n"
          "      --overlay dir:PATH  the guest's changes go to the existing host directory\n"
          "                       PATH and persist: a later run with the same PATH starts\n"
          "                       from them (an overlayfs upper directory, userxattr style);\n"
          "                       PATH is hidden inside, and the root still never changes\n"
          "      --overlay none   the root is read-only (writes outside /tmp: EROFS)\n"
          "      --bind HOST:GUEST[:ro]  (repeatable) the host directory or file HOST appears\n"
          "                       at GUEST (made if missing). Read-write by default: the\n"
          "                       guest's changes go to HOST itself (like docker -v); no\n"
          "                       path, symlink or rename reaches outside HOST. ':ro': EROFS\n"
          "      --network sandbox|none  a network namespace of its own with only loopback\n"
          "                       (sandbox is the default; without root: the host's)\n"
          "      --network host   the host's network\n"
          "      --strace         print every guest syscall to stderr\n"
          "      --strace=summary print per-syscall counts at exit (like strace -c)\n"
          "  moat batch [--jsonl] [-o FILE] [-j N] PROFILE.toml\n"
          "      Run the jobs of a TOML profile, each in a fresh sandbox under its limits,\n"
          "      N at a time, and print their results as JSON ('moat batch --help',\n"
          "      docs/batch.md).\n"
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

}  // namespace

int run_do(const std::vector<std::string>& args) {
  SandboxConfig config;
  config.root_overlay = RootOverlay::Memory;
  bool tty = false;
  runtime::NetworkFlag network = runtime::NetworkFlag::Sandbox;
  std::vector<batch::BindMount> binds;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      i++;
      break;
    }
    if (a == "-t" || a == "--tty") {
      tty = true;
      continue;
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
    } else if (a == "--overlay" || a.rfind("--overlay=", 0) == 0) {
      std::string v;
      if (a == "--overlay") {
        if (++i >= args.size()) {
          fprintf(stderr, "moat do: --overlay needs 'memory', 'dir:PATH' or 'none'\n");
          return kUsageError;
        }
        v = args[i];
      } else {
        v = a.substr(strlen("--overlay="));
      }
      if (v == "memory") {
        config.root_overlay = RootOverlay::Memory;
      } else if (v == "none") {
        config.root_overlay = RootOverlay::None;
      } else if (v.rfind("dir:", 0) == 0) {
        // The upper layer's directory: an existing host directory, made
        // absolute and canonical (symlinks in it are the user's).
        std::string dir = v.substr(strlen("dir:"));
        struct stat st;
        char* real = dir.empty() ? nullptr : realpath(dir.c_str(), nullptr);
        if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
          fprintf(stderr, "moat do: --overlay %s: %s\n", v.c_str(),
                  dir.empty() ? "want dir:PATH with a directory PATH" : real ? "not a directory" : strerror(errno));
          free(real);
          return kUsageError;
        }
        config.root_overlay = RootOverlay::HostDir;
        config.root_overlay_dir = real;
        free(real);
      } else {
        fprintf(stderr, "moat do: --overlay %s: want 'memory', 'dir:PATH' or 'none'\n", v.c_str());
        return kUsageError;
      }
    } else if (a == "--bind" || a.rfind("--bind=", 0) == 0) {
      std::string v;
      if (a == "--bind") {
        if (++i >= args.size()) {
          fprintf(stderr, "moat do: --bind needs HOST:GUEST[:ro]\n");
          return kUsageError;
        }
        v = args[i];
      } else {
        v = a.substr(strlen("--bind="));
      }
      auto b = batch::parse_bind(v, ".");
      if (auto* error = std::get_if<std::string>(&b)) {
        fprintf(stderr, "moat do: --bind: %s\n", error->c_str());
        return kUsageError;
      }
      binds.push_back(std::get<batch::BindMount>(b));
    } else if (a == "--network" || a.rfind("--network=", 0) == 0) {
      std::string v = a == "--network" ? (i + 1 < args.size() ? args[++i] : "") : a.substr(strlen("--network="));
      auto flag = runtime::parse_network_flag(v);
      if (!flag) {
        fprintf(stderr, "moat do: --network '%s': want sandbox, host or none\n", v.c_str());
        return kUsageError;
      }
      network = *flag;
    } else if (a == "--strace" || a == "--strace=full") {
      config.strace = StraceMode::Full;
    } else if (a == "--strace=summary") {
      config.strace = StraceMode::Summary;
    } else if (a == "-h" || a == "--help") {
      print_usage(stdout);
      return 0;
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
  if (config.root_overlay == RootOverlay::HostDir) {
    // The root inside the upper directory would change with the upper layer.
    char* real = realpath(config.root_dir.c_str(), nullptr);
    std::string root = real ? real : config.root_dir;
    free(real);
    const std::string& upper = config.root_overlay_dir;
    if (upper == "/" || root == upper || root.rfind(upper + "/", 0) == 0) {
      fprintf(stderr, "moat do: --overlay dir:%s: the root %s lies inside it\n", upper.c_str(), root.c_str());
      return kUsageError;
    }
  }

  // -t: a pty in the sandbox; docker's status 125 when there is no terminal.
  std::unique_ptr<HostTerminal> terminal;
  if (tty) {
    auto opened = HostTerminal::open(STDIN_FILENO, STDOUT_FILENO);
    if (opened.is_error()) {
      fprintf(stderr, "moat do: -t needs a terminal on stdin: the input device is not a TTY\n");
      return 125;
    }
    terminal = opened.release_value();
  }

  // A new network namespace needs CAP_SYS_ADMIN: without it the default
  // stays on the host's network (as before), an explicit none fails.
  bool implicit = network == runtime::NetworkFlag::Sandbox && geteuid() != 0;
  config.network = network == runtime::NetworkFlag::Host || implicit ? NetworkMode::Host : NetworkMode::New;
  SandboxedCommand command;
  command.config = config;
  command.binds = std::move(binds);
  command.terminal = terminal.get();
  char cwd_buf[4096];
  command.cwd = getcwd(cwd_buf, sizeof(cwd_buf)) ? cwd_buf : "/";
  command.argv = std::move(argv);
  command.path_env = kDefaultGuestPath;
  for (char** e = environ; *e; e++) {
    command.envp.emplace_back(*e);
    if (strncmp(*e, "PATH=", 5) == 0) command.path_env = *e + 5;
  }
  auto result = run_sandboxed(std::move(command));
  if (auto* error = std::get_if<LaunchError>(&result)) {
    fprintf(stderr, "moat: %s\n", error->message.c_str());
    return error->status;
  }
  return std::get<GuestExit>(result).status;
}

std::variant<GuestExit, LaunchError> run_sandboxed(SandboxedCommand command) {
  LaunchSpec spec;
  spec.config = command.config;
  spec.cwd = command.cwd;
  HostTerminal* terminal = command.terminal;
  RefPtr<fs::File> pty_master;
  std::vector<batch::BindMount> binds = std::move(command.binds);
  std::string guest_cwd = spec.cwd;
  if (terminal || !binds.empty()) {
    spec.after_fs = [&](Process& p) -> std::optional<std::string> {
      if (!binds.empty()) {
        fs::Vfs& vfs = fs::vfs_of(p);
        for (const batch::BindMount& b : binds) {
          auto access = b.read_only ? fs::Vfs::Access::ReadOnly : fs::Vfs::Access::ReadWrite;
          if (auto r = vfs.bind_host_path(b.host, b.guest, access); r.is_error())
            return "--bind " + b.host + ":" + b.guest + ": " + strerror(to_int(r.error()));
        }
        // The working directory may be inside a bind: resolve it again.
        if (auto cwd = fs::resolve_at(p, AT_FDCWD, guest_cwd, 0); !cwd.is_error())
          (void)fs::chdir_to(p, cwd.release_value());
      }
      if (terminal) {
        auto master = fs::attach_new_pty(p, terminal->window_size());
        if (master.is_error()) return std::string("creating the terminal: ") + strerror(to_int(master.error()));
        pty_master = master.release_value();
      }
      return std::nullopt;
    };
  }
  spec.argv = std::move(command.argv);
  spec.envp = std::move(command.envp);
  spec.path_env = std::move(command.path_env);

  GuestLaunch launch(std::move(spec));
  if (auto error = launch.prepare()) return *error;
  g_process = &launch.process();
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, forward_signal);
  launch.start();
  auto post = [&launch](std::function<void()> fn) { launch.post(std::move(fn)); };
  if (terminal) terminal->start(pty_master, post);

  int status = 0;
  while (waitpid(launch.stub_pid(), &status, __WALL) < 0 && errno == EINTR) {
  }
  if (terminal) terminal->finish(post, std::chrono::seconds(2));
  auto result = launch.finish(status);
  // finish() maps a signal N to 128+N; the wait status it came from says
  // which it was (a guest may exit with 128+N itself).
  int recorded = launch.process().exit_status.load();
  g_process = nullptr;
  if (auto* error = std::get_if<LaunchError>(&result)) return *error;
  if (recorded >= 0) status = recorded;
  return GuestExit{std::get<int>(result), WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

}  // namespace moat::cli
