#pragma once
// `moat exec`: another process in a running container, as runc's exec
// starts one for `docker exec` and containerd's shim.
//
// Two halves. The sentry's (start_exec_process and friends) makes a new
// guest process in the sandbox from an OCI process object, with stdio
// fds handed over the control socket, and reports its end. The caller's
// (exec_in_container) is the host process that stands for the guest one:
// the shim watches and signals the pid in --pid-file, so that process
// forwards the signals it gets to the guest process (over the control
// connection) and exits with the guest's status. With --detach it is a
// child left behind for the shim (a subreaper) to adopt.

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/ref_ptr.h"
#include "base/unique_fd.h"
#include "config/oci_spec.h"
#include "fs/file.h"

namespace moat {

class Process;

namespace cli {
class GuestLaunch;
}

namespace runtime {

// Credentials, capabilities, rlimits and no_new_privs from an OCI process
// object (for the first process and for exec'd ones).
void apply_process_spec(Process& p, const oci::ProcessSpec& ps);

// A signal from outside the sandbox to one guest process (si_pid 0, as
// from an ancestor pid namespace). Guest pid 1 ignores what it has no
// handler for, except SIGKILL and SIGSTOP (the kernel's
// SIGNAL_UNKILLABLE), which is why `docker stop` of a shell that set no
// trap waits for its SIGKILL. On the sandbox's worker.
void signal_from_host(Process& p, int sig);

// ---- The sentry's half.

struct ExecStarted {
  pid_t guest_pid = 0;
  pid_t stub_pid = 0;
  UniqueFd stub_pidfd;  // readable once the guest process's host process is gone
  // With process.terminal: the guest process's stdio is a pty of the
  // sandbox, to be bridged (runtime/terminal.h) to the caller's terminal.
  RefPtr<fs::File> pty_master;
  UniqueFd console;  // the caller's terminal (stdio[0])
};

// Starts ps in the sandbox with stdio[0..2] as its fds 0, 1 and 2 (a
// missing one stays closed), or with process.terminal a new pty of the
// sandbox (sized as the terminal on stdio[0]). Blocks until the worker has set it up; an
// error message when it cannot (exec failures name the command as runc does).
std::variant<ExecStarted, std::string> start_exec_process(cli::GuestLaunch& launch, const oci::ProcessSpec& ps,
                                                          std::vector<UniqueFd> stdio);
// After its host process ended (and was waited for): removes the guest
// process from the sandbox and returns its status as a shell reports it
// (128+N for signal N).
int finish_exec_process(cli::GuestLaunch& launch, pid_t guest_pid);
// Sends sig to the exec'd process (SIGKILL when its caller went away).
void signal_exec_process(cli::GuestLaunch& launch, pid_t guest_pid, int sig);

// ---- The caller's half.

struct ExecOptions {
  std::string state_dir;     // ROOT/ID
  std::string id;
  oci::ProcessSpec process;  // for the terminal settings
  std::string process_json;  // what goes to the sentry (compact, one line)
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
};

// runc exec's status for every failure before the process runs.
constexpr int kExecFailure = 255;

// Returns the exit status: the guest process's (or 0 once a detached one
// runs), kExecFailure (logged) when it could not be started.
int exec_in_container(const ExecOptions& options);

// A host pty for a container's terminal: the master goes to console_socket
// (SCM_RIGHTS, the pty's name as payload, as runc sends it); returns the
// replica, or an error message.
std::variant<UniqueFd, std::string> open_console(const std::string& console_socket,
                                                 const std::optional<oci::ConsoleSize>& size);

}  // namespace runtime
}  // namespace moat
