#pragma once
// The sentry's own resource limits, apart from the guest's. Each guest file
// the host backs (a socket, a pipe, an open host file) holds a host fd in
// the sentry, so the sentry needs room for a guest process's fds at its
// limit and for its own beside them.

#include <sys/resource.h>

#include <array>

namespace moat {

// Raises the sentry's RLIMIT_NOFILE as far as it may: the hard limit to
// fs.nr_open when it holds CAP_SYS_RESOURCE, else the soft limit to the
// hard one. Only the first call (of this or initial_guest_rlimits()) acts,
// after recording the limits the user gave moat.
void raise_sentry_fd_limit();

// The limits a sandbox's first process starts with: those the user gave
// moat (not the sentry's raised ones), RLIMIT_NOFILE held to what the
// sentry can back beside its own fds. Raises the sentry's limit if nothing
// has yet.
const std::array<rlimit, RLIM_NLIMITS>& initial_guest_rlimits();

}  // namespace moat
