#pragma once
// The moat command line: one function per command.

#include <cstdio>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/batch_profile.h"
#include "runtime/guest_launch.h"
#include "runtime/logging.h"
#include "runtime/netns.h"
#include "sentry/kernel/sandbox.h"

namespace moat::cli {

// Exit status conventions: 2 for usage errors, 1 for failures of moat itself,
// 126/127 for a command that could not run, the guest's status otherwise.
constexpr int kUsageError = 2;

int run_do(const std::vector<std::string>& args);
void print_usage(FILE* out);

class HostTerminal;

// PATH when the environment gives none, for looking up a command.
constexpr const char* kDefaultGuestPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A command for run_sandboxed(): what `moat do` takes from its flags and
// its caller, and `moat batch` from a profile's job.
struct SandboxedCommand {
  SandboxConfig config;
  std::vector<batch::BindMount> binds;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string path_env;  // where argv[0] is looked up when it has no '/'
  std::string cwd;       // the guest's working directory
  HostTerminal* terminal = nullptr;  // `moat do -t`: a pty in the sandbox bridged to it
};

// How the guest ended: status as a shell gives it (the exit code, or 128+N
// for signal N), and N when a signal ended it (0 otherwise).
struct GuestExit {
  int status;
  int signal;
};

// Runs command in a fresh sandbox whose sentry is this process, with this
// process's stdin, stdout and stderr, and waits until its first process has
// ended: the guest's exit, or why it could not run (status 1 for moat's own
// failures, 126/127 for the command's). Forwards SIGINT, SIGTERM, SIGHUP and
// SIGQUIT to the guest while it runs. One sandbox per process: `moat batch`
// forks a process for each.
std::variant<GuestExit, LaunchError> run_sandboxed(SandboxedCommand command);

// `moat batch` (runtime/batch.cpp).
int run_batch(const std::vector<std::string>& args);
void print_batch_usage(FILE* out);

// Flags given before the command (runc's global flags, and runsc's).
struct GlobalOptions {
  std::string root = "/var/run/moat";  // state directories of the OCI commands
  log::Options log;
  StraceMode strace = StraceMode::Off;
  bool no_overlay = false;  // --overlay none: a writable root stays read-only
  runtime::NetworkFlag network = runtime::NetworkFlag::Unset;  // --network
  std::vector<std::string> ignored_flags;  // accepted for compatibility
};

// Parses the global flags from args[i] on, leaving i at the command.
// Returns an exit status if the flags are wrong.
std::optional<int> parse_global_flags(const std::vector<std::string>& args, size_t& i, GlobalOptions& g);

// The OCI runtime commands (runtime/oci_commands.cpp).
bool is_oci_command(const std::string& name);
int run_oci(const GlobalOptions& g, const std::string& name, const std::vector<std::string>& args);
void print_oci_usage(FILE* out);

// `moat install` and `moat uninstall` (runtime/install.cpp): moat as a
// Docker runtime named name in daemon.json, keeping what else is there.
// Extra arguments become the runtime's runtimeArgs.
constexpr const char* kDockerDaemonJson = "/etc/docker/daemon.json";
int install_runtime(const std::string& daemon_json, const std::string& name, const std::vector<std::string>& runtime_args);
int uninstall_runtime(const std::string& daemon_json, const std::string& name);

}  // namespace moat::cli
