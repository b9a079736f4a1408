#pragma once
// The sandbox's network namespace. The sentry owns every host socket the
// guest's sockets are made of, so it is the sentry that must sit in the
// namespace the container asks for: Docker's prepared one (a linux.namespaces
// entry of type network with a path), a new one with only loopback, or the
// host's. setns(CLONE_NEWNET) and unshare(CLONE_NEWNET) change only the
// calling thread, so enter_network() runs before the sentry starts any
// thread (GuestLaunch::prepare); the workers and stub processes it makes
// afterwards inherit the namespace.

#include <optional>
#include <string>
#include <vector>

#include "config/oci_spec.h"
#include "sentry/kernel/sandbox.h"

namespace moat::runtime {

// What moat's global --network flag asks for ("" when not given).
enum class NetworkFlag { Unset, Sandbox, Host, None };

// "sandbox", "host" or "none"; nullopt for anything else.
std::optional<NetworkFlag> parse_network_flag(const std::string& text);

// The namespace a container gets, from the flag and the spec's network
// namespace entry (runsc's rules, with the spec deciding when the flag is
// not given):
//   none                 a new namespace, whatever the spec says
//   host                 the spec's path if it has one, else the host's
//   sandbox              the spec's path if it has one, else a new one
//   (not given)          the spec's path; a new one for an entry without a
//                        path; the host's when the spec has no entry (runc)
void choose_network(NetworkFlag flag, const std::vector<oci::Namespace>& namespaces, SandboxConfig& config);

// Moves the calling (only) thread into config's namespace; for a new one
// also brings loopback up. Empty on success, else a one-line error.
std::string enter_network(const SandboxConfig& config);

// A fd of the network namespace the process started in (before
// enter_network), or -1. Hooks run on the host go back to it, as runc runs
// them in the runtime's namespaces.
int original_netns_fd();

// Writes the net.* entries of config.sysctls into the sentry's /proc/sys,
// which (once enter_network ran) belongs to the sandbox's own or joined
// namespace, as runc writes them from inside the container's namespaces.
// Never for NetworkMode::Host: that would change the host's settings.
// Returns one warning per key that could not be written.
std::vector<std::string> apply_net_sysctls(const SandboxConfig& config);

}  // namespace moat::runtime
