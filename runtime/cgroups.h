#pragma once
// A container's host cgroup: where its sentry and stub processes live, so
// that linux.resources limits them all (memory, pids, cpu, cpuset), `pause`
// freezes them, and `events --stats` reads their usage. Both layouts:
// cgroup v1 (one hierarchy per controller, as on this project's CI
// machines) and the v2 unified hierarchy.
//
// The path is linux.cgroupsPath (absolute in each hierarchy, as runc's
// cgroupfs driver takes it; systemd's "slice:prefix:name" becomes
// /slice/prefix-name.scope), or /moat/ID when the spec names none.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/oci_spec.h"

namespace moat::runtime {

class Cgroup {
 public:
  // The cgroup of container id whose spec says cgroups_path.
  static Cgroup for_container(const std::string& cgroups_path, const std::string& id);
  // The cgroup recorded in a container's state ("" if none).
  static Cgroup at(const std::string& path) { return Cgroup(path); }

  const std::string& path() const { return m_path; }
  bool empty() const { return m_path.empty(); }

  // Makes the cgroup (in every v1 hierarchy, or the unified one), writes
  // the limits, and moves pid (its whole thread group) in. Returns an
  // error message, empty on success; *warnings gets what was skipped.
  std::string enter(pid_t pid, const oci::Resources& limits, std::vector<std::string>* warnings) const;
  // Moves pid back to the cgroups saved lists (/proc/PID/cgroup's text
  // from before enter) and removes this one.
  void leave_and_remove(pid_t pid, const std::string& saved) const;
  // Kills what is left in the cgroup and removes its directories.
  void remove() const;

  // Freezes or thaws every process in the cgroup, waiting (briefly) for the
  // freezer to settle. Error message, empty on success.
  std::string set_frozen(bool frozen) const;
  // Whether the cgroup is frozen now; nullopt without a freezer.
  std::optional<bool> frozen() const;

  // Usage as runc's `events --stats` reports it (the "data" object).
  nlohmann::ordered_json stats() const;

  // What the cgroup's processes used so far (moat batch's results and
  // limits): CPU time (user+system), the peak of its memory, and how many
  // processes the OOM killer ended in it. nullopt where not accounted.
  struct Usage {
    std::optional<uint64_t> cpu_ns;
    std::optional<uint64_t> memory_peak;
    uint64_t oom_kills = 0;
  };
  Usage usage() const;

  // Whether this host has the v2 unified hierarchy at /sys/fs/cgroup.
  static bool unified();

 private:
  explicit Cgroup(std::string path) : m_path(std::move(path)) {}
  // The directory of this cgroup in the hierarchy holding controller
  // (v1), or in the unified hierarchy (v2); "" when not mounted.
  std::string dir(const std::string& controller) const;

  std::string m_path;
};

}  // namespace moat::runtime
