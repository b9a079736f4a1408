#include "runtime/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace moat::runtime {

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
// The v1 controllers a container's cgroup is made in. Those it has no
// limits for still hold it, so that usage and freezing cover it and
// `delete` finds one directory per hierarchy.
constexpr const char* kV1Controllers[] = {"memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "blkio"};

// Controller name to v1 mount point, from /proc/self/mounts.
std::map<std::string, std::string> v1_mounts() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target, type, options;
    fields >> source >> target >> type >> options;
    if (type != "cgroup") continue;
    std::istringstream opts(options);
    std::string opt;
    while (std::getline(opts, opt, ','))
      for (const char* c : kV1Controllers)
        if (opt == c && !out.count(c)) out[c] = target;
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Writes value to a cgroup file; error message, empty on success.
std::string write_text(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return path + ": " + strerror(errno);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return path + " = " + value + ": " + strerror(err);
  return {};
}

int64_t read_number(const std::string& path) {
  std::string text = read_text(path);
  if (text.empty() || text == "max") return -1;
  return strtoll(text.c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat) as a map.
std::map<std::string, uint64_t> read_keyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::ifstream in(path);
  std::string key;
  uint64_t value;
  while (in >> key >> value) out[key] = value;
  return out;
}

// Makes dir and its missing parents. For the v1 cpuset hierarchy a new
// directory starts with no CPUs or memory nodes, which would refuse every
// task: each one made inherits its parent's.
std::string make_dirs(const std::string& base, const std::string& rel, bool cpuset_v1) {
  std::string dir = base;
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t next = rel.find('/', pos);
    if (next == std::string::npos) next = rel.size();
    std::string part = rel.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return "cgroup path " + rel + ": \"..\" is not allowed";
    std::string parent = dir;
    dir += "/" + part;
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      return dir + ": " + strerror(errno);
    }
    if (cpuset_v1) {
      for (const char* f : {"cpuset.cpus", "cpuset.mems"})
        if (read_text(dir + "/" + f).empty()) (void)write_text(dir + "/" + f, read_text(parent + "/" + f));
    }
  }
  return {};
}

// systemd's "slice:prefix:name" as a cgroupfs path: "a-b.slice" nests in
// "a.slice" (systemd.slice(5)).
std::string systemd_path(const std::string& spec) {
  size_t c1 = spec.find(':'), c2 = spec.find(':', c1 + 1);
  std::string slice = spec.substr(0, c1), prefix = spec.substr(c1 + 1, c2 - c1 - 1), name = spec.substr(c2 + 1);
  if (slice.empty()) slice = "system.slice";
  std::string path;
  std::string stem = slice.substr(0, slice.size() - (slice.size() > 6 ? 6 : 0));  // without ".slice"
  size_t dash = 0;
  while ((dash = stem.find('-', dash)) != std::string::npos) {
    path += "/" + stem.substr(0, dash) + ".slice";
    dash++;
  }
  path += "/" + slice;
  path += "/" + (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return path;
}

}  // namespace

bool Cgroup::unified() {
  struct stat st;
  return ::stat((std::string(kCgroupRoot) + "/cgroup.controllers").c_str(), &st) == 0;
}

Cgroup Cgroup::for_container(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return Cgroup("/moat/" + id);
  // "slice:prefix:name" (systemd driver): two colons and no leading '/'.
  if (cgroups_path[0] != '/' && std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2)
    return Cgroup(systemd_path(cgroups_path));
  if (cgroups_path[0] != '/') return Cgroup("/" + cgroups_path);
  return Cgroup(cgroups_path);
}

std::string Cgroup::dir(const std::string& controller) const {
  if (m_path.empty()) return {};
  if (unified()) return kCgroupRoot + m_path;
  auto mounts = v1_mounts();
  auto it = mounts.find(controller);
  return it == mounts.end() ? std::string() : it->second + m_path;
}

std::string Cgroup::enter(pid_t pid, const oci::Resources& r, std::vector<std::string>* warnings) const {
  std::string pid_text = std::to_string(pid);
  auto limit = [](int64_t v) { return v <= 0 ? std::string("max") : std::to_string(v); };
  std::vector<std::string> errors;
  auto apply = [&](const std::string& file, const std::string& value) {
    if (auto e = write_text(file, value); !e.empty()) errors.push_back(e);
  };
  if (unified()) {
    std::string base = kCgroupRoot;
    // Each ancestor hands the controllers down (cgroup.subtree_control).
    std::string avail = read_text(base + "/cgroup.controllers");
    std::string dir = base;
    std::string rel = m_path;
    std::vector<std::string> parts;
    for (size_t pos = 1; pos <= rel.size();) {
      size_t next = rel.find('/', pos);
      if (next == std::string::npos) next = rel.size();
      if (next > pos) parts.push_back(rel.substr(pos, next - pos));
      pos = next + 1;
    }
    for (const std::string& part : parts) {
      std::string enable;
      for (const char* c : {"memory", "pids", "cpu", "cpuset"})
        if (avail.find(c) != std::string::npos) enable += std::string(enable.empty() ? "+" : " +") + c;
      if (!enable.empty()) (void)write_text(dir + "/cgroup.subtree_control", enable);
      dir += "/" + part;
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return dir + ": " + strerror(errno);
    }
    if (r.memory_limit) apply(dir + "/memory.max", limit(*r.memory_limit));
    if (r.memory_reservation) apply(dir + "/memory.low", limit(*r.memory_reservation));
    if (r.memory_swap) {
      // v2 limits swap alone; the spec's swap is memory plus swap.
      int64_t swap = *r.memory_swap;
      if (swap > 0 && r.memory_limit && *r.memory_limit > 0) swap -= *r.memory_limit;
      apply(dir + "/memory.swap.max", *r.memory_swap <= 0 ? "max" : std::to_string(std::max<int64_t>(swap, 0)));
    }
    if (r.pids_limit) apply(dir + "/pids.max", limit(*r.pids_limit));
    // cpu.shares (2..262144) to cpu.weight (1..10000), as runc converts.
    if (r.cpu_shares) {
      uint64_t s = std::clamp<uint64_t>(*r.cpu_shares, 2, 262144);
      apply(dir + "/cpu.weight", std::to_string(1 + ((s - 2) * 9999) / 262142));
    }
    if (r.cpu_quota || r.cpu_period) {
      std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
      apply(dir + "/cpu.max", quota + " " + std::to_string(r.cpu_period.value_or(100000)));
    }
    if (!r.cpuset_cpus.empty()) apply(dir + "/cpuset.cpus", r.cpuset_cpus);
    if (!r.cpuset_mems.empty()) apply(dir + "/cpuset.mems", r.cpuset_mems);
    if (!errors.empty()) return errors.front();
    return write_text(dir + "/cgroup.procs", pid_text);
  }

  auto mounts = v1_mounts();
  if (mounts.empty()) return std::string("no cgroup hierarchy is mounted under ") + kCgroupRoot;
  for (const char* c : kV1Controllers) {
    auto it = mounts.find(c);
    if (it == mounts.end()) {
      bool asked = (std::string(c) == "memory" && (r.memory_limit || r.memory_reservation || r.memory_swap)) ||
                   (std::string(c) == "pids" && r.pids_limit) ||
                   (std::string(c) == "cpu" && (r.cpu_shares || r.cpu_quota || r.cpu_period)) ||
                   (std::string(c) == "cpuset" && (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()));
      if (asked) errors.push_back(std::string("the cgroup v1 ") + c + " controller is not mounted");
      continue;
    }
    if (auto e = make_dirs(it->second, m_path, std::string(c) == "cpuset"); !e.empty()) {
      errors.push_back(e);
      continue;
    }
  }
  if (!errors.empty()) return errors.front();
  if (auto d = dir("memory"); !d.empty()) {
    struct stat st;
    bool memsw = ::stat((d + "/memory.memsw.limit_in_bytes").c_str(), &st) == 0;
    std::string swap = r.memory_swap ? std::to_string(*r.memory_swap <= 0 ? -1 : *r.memory_swap) : "";
    if (r.memory_limit) {
      // The memory limit may not pass memory+swap's: raising both, the
      // latter goes first (the kernel answers EINVAL otherwise).
      std::string limit_text = std::to_string(*r.memory_limit <= 0 ? -1 : *r.memory_limit);
      if (!write_text(d + "/memory.limit_in_bytes", limit_text).empty()) {
        if (memsw) (void)write_text(d + "/memory.memsw.limit_in_bytes", swap.empty() ? "-1" : swap);
        apply(d + "/memory.limit_in_bytes", limit_text);
      }
    }
    if (r.memory_swap) {
      if (memsw)
        apply(d + "/memory.memsw.limit_in_bytes", swap);
      else if (warnings && *r.memory_swap > 0)
        warnings->push_back("linux.resources.memory.swap: the host has no swap accounting (memory.memsw)");
    }
    if (r.memory_reservation)
      apply(d + "/memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation <= 0 ? -1 : *r.memory_reservation));
  }
  if (auto d = dir("pids"); !d.empty() && r.pids_limit) apply(d + "/pids.max", limit(*r.pids_limit));
  if (auto d = dir("cpu"); !d.empty()) {
    if (r.cpu_shares) apply(d + "/cpu.shares", std::to_string(*r.cpu_shares));
    if (r.cpu_period) apply(d + "/cpu.cfs_period_us", std::to_string(*r.cpu_period));
    if (r.cpu_quota) apply(d + "/cpu.cfs_quota_us", std::to_string(*r.cpu_quota <= 0 ? -1 : *r.cpu_quota));
  }
  if (auto d = dir("cpuset"); !d.empty()) {
    if (!r.cpuset_cpus.empty()) apply(d + "/cpuset.cpus", r.cpuset_cpus);
    if (!r.cpuset_mems.empty()) apply(d + "/cpuset.mems", r.cpuset_mems);
  }
  if (!errors.empty()) return errors.front();
  for (const auto& [c, mount] : mounts)
    if (auto e = write_text(mount + m_path + "/cgroup.procs", pid_text); !e.empty()) return e;
  return {};
}

void Cgroup::leave_and_remove(pid_t pid, const std::string& saved) const {
  if (m_path.empty()) return;
  std::string pid_text = std::to_string(pid);
  // saved is /proc/PID/cgroup as it was: "N:controllers:/path" lines.
  auto mounts = unified() ? std::map<std::string, std::string>() : v1_mounts();
  std::istringstream lines(saved);
  std::string line;
  while (std::getline(lines, line)) {
    size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
    if (path.empty()) path = "/";
    if (unified()) {
      if (controllers.empty()) (void)write_text(kCgroupRoot + (path == "/" ? "" : path) + "/cgroup.procs", pid_text);
      continue;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      auto it = mounts.find(name);
      if (it == mounts.end()) continue;
      (void)write_text(it->second + (path == "/" ? "" : path) + "/cgroup.procs", pid_text);
      mounts.erase(it);  // one write per hierarchy
    }
  }
  remove();
}

void Cgroup::remove() const {
  if (m_path.empty()) return;
  std::vector<std::string> dirs;
  if (unified()) {
    dirs.push_back(kCgroupRoot + m_path);
  } else {
    for (const auto& [c, mount] : v1_mounts()) dirs.push_back(mount + m_path);
  }
  // What is left of the container (stub processes outliving their sentry
  // for a moment) goes, as runc's delete kills what its cgroup holds.
  for (const std::string& d : dirs) {
    std::istringstream procs(read_text(d + "/cgroup.procs"));
    pid_t pid;
    while (procs >> pid)
      if (pid > 0 && pid != getpid()) ::kill(pid, SIGKILL);
  }
  for (const std::string& d : dirs) {
    for (int i = 0; i < 250; i++) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // moat's own parent (/moat, for containers whose spec names no
    // cgroup) goes once empty; a parent the spec named stays, as with runc.
    if (m_path.rfind("/moat/", 0) == 0) ::rmdir(d.substr(0, d.rfind('/')).c_str());
  }
}

std::string Cgroup::set_frozen(bool frozen) const {
  if (m_path.empty()) return "the container has no cgroup";
  std::string file, want;
  if (unified()) {
    file = kCgroupRoot + m_path + "/cgroup.freeze";
    want = frozen ? "1" : "0";
  } else {
    std::string d = dir("freezer");
    if (d.empty()) return "the cgroup v1 freezer controller is not mounted";
    file = d + "/freezer.state";
    want = frozen ? "FROZEN" : "THAWED";
  }
  if (auto e = write_text(file, want); !e.empty()) return e;
  for (int i = 0; i < 500; i++) {
    auto now = this->frozen();
    if (now && *now == frozen) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return file + ": the freezer did not settle";
}

std::optional<bool> Cgroup::frozen() const {
  if (m_path.empty()) return std::nullopt;
  if (unified()) {
    std::string events = read_text(kCgroupRoot + m_path + "/cgroup.events");
    if (events.empty()) return std::nullopt;
    return events.find("frozen 1") != std::string::npos;
  }
  std::string d = dir("freezer");
  if (d.empty()) return std::nullopt;
  std::string state = read_text(d + "/freezer.state");
  if (state.empty()) return std::nullopt;
  return state == "FROZEN";
}

Cgroup::Usage Cgroup::usage() const {
  Usage u;
  if (m_path.empty()) return u;
  auto number = [](const std::string& path) -> std::optional<uint64_t> {
    int64_t v = read_number(path);
    if (v < 0) return std::nullopt;
    return static_cast<uint64_t>(v);
  };
  if (unified()) {
    std::string d = kCgroupRoot + m_path;
    auto cpu = read_keyed(d + "/cpu.stat");
    if (auto it = cpu.find("usage_usec"); it != cpu.end()) u.cpu_ns = it->second * 1000;
    u.memory_peak = number(d + "/memory.peak");  // Linux 5.19 and later
    u.oom_kills = read_keyed(d + "/memory.events")["oom_kill"];
    return u;
  }
  auto mounts = v1_mounts();
  if (auto it = mounts.find("cpuacct"); it != mounts.end()) u.cpu_ns = number(it->second + m_path + "/cpuacct.usage");
  if (auto it = mounts.find("memory"); it != mounts.end()) {
    u.memory_peak = number(it->second + m_path + "/memory.max_usage_in_bytes");
    u.oom_kills = read_keyed(it->second + m_path + "/memory.oom_control")["oom_kill"];
  }
  return u;
}

nlohmann::ordered_json Cgroup::stats() const {
  using ojson = nlohmann::ordered_json;
  ojson data = ojson::object();
  if (unified()) {
    std::string d = kCgroupRoot + m_path;
    auto cpu = read_keyed(d + "/cpu.stat");
    data["cpu"] = {{"usage",
                    {{"total", cpu["usage_usec"] * 1000},
                     {"kernel", cpu["system_usec"] * 1000},
                     {"user", cpu["user_usec"] * 1000}}},
                   {"throttling",
                    {{"periods", cpu["nr_periods"]},
                     {"throttledPeriods", cpu["nr_throttled"]},
                     {"throttledTime", cpu["throttled_usec"] * 1000}}}};
    data["memory"] = {{"usage", {{"limit", read_number(d + "/memory.max")}, {"usage", read_number(d + "/memory.current")}}},
                      {"raw", read_keyed(d + "/memory.stat")}};
    data["pids"] = {{"current", read_number(d + "/pids.current")}, {"limit", read_number(d + "/pids.max")}};
    return data;
  }
  if (auto d = dir("cpuacct"); !d.empty()) {
    auto st = read_keyed(d + "/cpuacct.stat");
    long tick = sysconf(_SC_CLK_TCK);
    uint64_t ns_per_tick = tick > 0 ? 1'000'000'000 / static_cast<uint64_t>(tick) : 10'000'000;
    data["cpu"] = {{"usage",
                    {{"total", read_number(d + "/cpuacct.usage")},
                     {"kernel", st["system"] * ns_per_tick},
                     {"user", st["user"] * ns_per_tick}}}};
  }
  if (auto d = dir("cpu"); !d.empty()) {
    auto st = read_keyed(d + "/cpu.stat");
    data["cpu"]["throttling"] = {{"periods", st["nr_periods"]},
                                 {"throttledPeriods", st["nr_throttled"]},
                                 {"throttledTime", st["throttled_time"]}};
  }
  if (auto d = dir("memory"); !d.empty()) {
    data["memory"] = {{"usage",
                       {{"limit", read_number(d + "/memory.limit_in_bytes")},
                        {"usage", read_number(d + "/memory.usage_in_bytes")},
                        {"max", read_number(d + "/memory.max_usage_in_bytes")},
                        {"failcnt", read_number(d + "/memory.failcnt")}}},
                      {"raw", read_keyed(d + "/memory.stat")}};
  }
  if (auto d = dir("pids"); !d.empty())
    data["pids"] = {{"current", read_number(d + "/pids.current")}, {"limit", read_number(d + "/pids.max")}};
  return data;
}

}  // namespace moat::runtime
