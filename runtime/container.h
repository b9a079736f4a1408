#pragma once
// A container's sentry: the host process that holds one sandbox, started by
// `moat create` (detached: it outlives the command, and its pid goes in the
// pid file for containerd's shim to watch) or `moat run` (in the
// foreground). It sets the sandbox up from the bundle, keeps the first guest
// process from running until `moat start` asks over the control socket,
// forwards the signals it receives to the guest, and exits with the guest's
// status (128+N for signal N), which is what a subreaper reaping it learns.

#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "config/oci_spec.h"
#include "runtime/netns.h"
#include "sentry/kernel/sandbox.h"

namespace moat::runtime {

struct ContainerOptions {
  std::string root;    // the state root (--root)
  std::string id;
  std::string bundle;  // absolute
  oci::Spec spec;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;  // host fds 3 .. 3+N-1 passed to the guest as they are
  StraceMode strace = StraceMode::Off;
  // A root that is not read-only gets an in-memory overlay (its writes
  // vanish with the container), unless the caller asked for none.
  bool no_overlay = false;
  NetworkFlag network = NetworkFlag::Unset;  // moat's --network
  std::string created;  // set by create_container and run_container
};

// `moat create`: starts the detached sentry and returns 0 once its guest
// waits for `start`, 1 (having logged why) if it could not get that far.
int create_container(const ContainerOptions& options);

// `moat run` without --detach: this process is the sentry; returns the
// guest's exit status. The state directory goes when the guest ends.
int run_container(const ContainerOptions& options);

// Catches every signal a container's host process passes on to its guest (the
// sentry for the init, `moat exec`'s stand-in for an exec'd process): each
// one's number is written to the returned pipe, read by the caller's loop.
// nullopt (with *error set) if the pipe cannot be made.
std::optional<UniqueFd> install_signal_forwarding(std::string* error);

}  // namespace moat::runtime
