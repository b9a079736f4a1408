#pragma once
// OCI hooks (config.md, "POSIX-platform Hooks"): host programs run at
// points of a container's life with its state JSON on stdin. moat runs
// prestart, createRuntime and createContainer once the sandbox is set up
// (before `create` returns), poststart after `start`, and poststop at
// `delete` (or when `run` ends), in the runtime's network namespace.
// startContainer hooks run inside the sandbox as guest processes
// (runtime/container.cpp), as runc runs them inside the container.

#include <string>
#include <vector>

#include "config/oci_spec.h"

namespace moat::runtime {

// Runs each hook in order, waiting for it (killed after its timeout).
// Returns an error message naming the first that failed, empty when all
// succeeded.
std::string run_hooks(const std::string& kind, const std::vector<oci::Hook>& hooks, const std::string& state_json);

}  // namespace moat::runtime
