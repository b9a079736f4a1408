#include "sentry/kernel/host_limits.h"

#include <algorithm>
#include <cstdio>

namespace moat {

namespace {

// fs.nr_open, the ceiling of any RLIMIT_NOFILE; Linux's default if unreadable.
rlim_t host_nr_open() {
  constexpr rlim_t kDefaultNrOpen = 1024 * 1024;
  rlim_t nr_open = kDefaultNrOpen;
  if (FILE* f = fopen("/proc/sys/fs/nr_open", "re")) {
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) == 1 && v > 0) nr_open = v;
    fclose(f);
  }
  return nr_open;
}

// Raises RLIMIT_NOFILE and returns the hard limit the sentry ends with.
rlim_t raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  rlim_t nr_open = host_nr_open();
  if (limit.rlim_max < nr_open) {
    rlimit raised{nr_open, nr_open};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return nr_open;
  }
  // Without CAP_SYS_RESOURCE the hard limit stays; the soft one may reach it.
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit soft = limit;
    soft.rlim_cur = soft.rlim_max;
    setrlimit(RLIMIT_NOFILE, &soft);
  }
  return limit.rlim_max;
}

std::array<rlimit, RLIM_NLIMITS> compute_guest_limits() {
  std::array<rlimit, RLIM_NLIMITS> limits{};
  for (int r = 0; r < RLIM_NLIMITS; r++) getrlimit(static_cast<__rlimit_resource>(r), &limits[r]);
  rlim_t sentry_max = raise_fd_limit();
  // A quarter of the sentry's fds, at most 64 Ki, stays for its own use
  // (cached host nodes, io_uring, stub processes); a guest process may not
  // be promised more than the rest, or it would meet EMFILE below its limit.
  constexpr rlim_t kMaxReserve = 64 * 1024;
  rlim_t reserve = std::min(sentry_max / 4, kMaxReserve);
  rlim_t backed = sentry_max - reserve;
  rlimit& nofile = limits[RLIMIT_NOFILE];
  if (sentry_max > 0 && nofile.rlim_max > backed) {
    nofile.rlim_max = backed;
    nofile.rlim_cur = std::min(nofile.rlim_cur, backed);
  }
  return limits;
}

const std::array<rlimit, RLIM_NLIMITS>& guest_limits() {
  static const std::array<rlimit, RLIM_NLIMITS> limits = compute_guest_limits();
  return limits;
}

}  // namespace

void raise_sentry_fd_limit() { guest_limits(); }

const std::array<rlimit, RLIM_NLIMITS>& initial_guest_rlimits() { return guest_limits(); }

}  // namespace moat
