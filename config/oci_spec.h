#pragma once
// The OCI runtime spec's config.json (opencontainers/runtime-spec,
// config.md and config-linux.md): what moat reads from a bundle.
//
// Parsing is strict about types (a field of the wrong type is an error that
// names it) and lenient about presence (missing optional fields take the
// spec's defaults). Fields moat does not apply are collected in
// Spec::unsupported, one line each naming the field, for the caller to log:
// a container never silently runs differently from what its config says.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace moat::oci {

// The version of the runtime spec moat follows (and `moat spec` writes).
constexpr const char* kSpecVersion = "1.0.2";

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  int resource = 0;  // RLIMIT_NOFILE
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
};

// Capability sets as bit masks (bit N = capability N); absent sets stay
// nullopt, which is not the same as an empty list.
struct Capabilities {
  std::optional<uint64_t> bounding, effective, permitted, inheritable, ambient;
};

struct ConsoleSize {
  uint16_t height = 0;
  uint16_t width = 0;
};

struct ProcessSpec {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  // The executable when it is not args[0] (a startContainer hook's path);
  // never read from JSON.
  std::string path;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  Capabilities capabilities;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

// How moat provides one of the spec's mounts (runtime/container.cpp).
enum class MountKind {
  Provided,     // the sandbox's own /proc, /sys, /dev, /dev/pts, /dev/shm, /dev/mqueue, cgroup view
  Bind,         // a host file or directory: type "bind", or a "bind"/"rbind" option
  Tmpfs,        // a fresh in-memory tmpfs (size=, mode=)
  Unsupported,  // not mounted; the parser warns
};
MountKind mount_kind(const Mount& m);

// A mount's options split into mount(2) flags (MS_RDONLY, MS_NOSUID,
// MS_NODEV, MS_NOEXEC; propagation and atime words are accepted and
// dropped) and the filesystem data ("size=1m,mode=755").
struct MountOptions {
  unsigned long flags = 0;
  std::string data;
};
MountOptions split_mount_options(const std::vector<std::string>& options);

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
  std::string path;  // join this one instead of making a new one
};

// linux.resources: the limits moat applies through the host's cgroups to
// the sandbox's host processes (runtime/cgroups.h). Absent fields stay
// nullopt: the cgroup keeps what it has.
struct Resources {
  std::optional<int64_t> memory_limit;        // bytes; -1 unlimited
  std::optional<int64_t> memory_reservation;  // bytes
  std::optional<int64_t> memory_swap;         // memory plus swap, bytes; -1 unlimited
  std::optional<int64_t> pids_limit;          // 0 or -1: unlimited
  std::optional<uint64_t> cpu_shares;         // v1 cpu.shares (v2 weight derived)
  std::optional<int64_t> cpu_quota;           // microseconds per period; -1 unlimited
  std::optional<uint64_t> cpu_period;         // microseconds
  std::string cpuset_cpus;                    // "0-3,5"
  std::string cpuset_mems;
  bool any() const {
    return memory_limit || memory_reservation || memory_swap || pids_limit || cpu_shares || cpu_quota ||
           cpu_period || !cpuset_cpus.empty() || !cpuset_mems.empty();
  }
};

// One hook (config.md, "POSIX-platform Hooks"): run on the host with the
// container's state JSON on its stdin.
struct Hook {
  std::string path;
  std::vector<std::string> args;  // args[0] is argv[0]; empty means {path}
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

struct Spec {
  std::string oci_version;
  ProcessSpec process;
  std::string root_path;  // as written: relative paths are relative to the bundle
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::vector<Namespace> namespaces;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string cgroups_path;  // linux.cgroupsPath as written
  Resources resources;
  // linux.sysctl in file order, names as written ("net.ipv4.ip_forward" or
  // "net/ipv4/ip_forward"); checked as runc checks them (sysctl_error).
  std::vector<std::pair<std::string, std::string>> sysctl;
  Hooks hooks;
  // In file order (state JSON repeats them).
  std::vector<std::pair<std::string, std::string>> annotations;
  // "field: what moat does instead", one per field it does not apply.
  std::vector<std::string> unsupported;
};

struct SpecError {
  std::string message;  // one line naming the field, e.g. "process.args: must not be empty"
};

// Parses config.json text. Errors: malformed JSON, a field of the wrong type,
// a missing required field (ociVersion, process, process.args, root.path),
// unknown rlimit, capability or namespace names.
std::variant<Spec, SpecError> parse_spec(std::string_view text);

// Parses the process object of `exec --process FILE` (the same schema as
// config.json's "process"). Warnings for what is not applied go in
// *unsupported.
std::variant<ProcessSpec, SpecError> parse_process_spec(std::string_view text, std::vector<std::string>* unsupported);

// Reads bundle/config.json. The error says which file and why.
std::variant<Spec, SpecError> load_spec(const std::string& bundle);

// The absolute host path of the spec's root inside bundle (an absolute bundle).
std::string rootfs_path(const Spec& spec, const std::string& bundle);

// A default config.json, as `runc spec` writes (with moat's hostname).
nlohmann::ordered_json default_spec();

// capabilities(7) name ("CAP_KILL") to number; nullopt when unknown.
std::optional<int> capability_number(std::string_view name);
// The capability names moat knows, in number order.
std::vector<std::string> capability_names();
// "RLIMIT_NOFILE" to RLIMIT_NOFILE; nullopt when unknown.
std::optional<int> rlimit_resource(std::string_view name);

// A signal as `kill` takes it: a number (1-64), a name with or without SIG
// ("TERM", "SIGTERM", "term") or RTMIN+N / RTMAX-N. nullopt when invalid.
std::optional<int> parse_signal(std::string_view text);

// runc's check of one linux.sysctl name against the namespaces the spec
// asks for (libcontainer's validator): only sysctls of a namespace the
// container has of its own, and never kernel.hostname (the hostname field
// says it). The error names the sysctl; nullopt when it is allowed.
std::optional<std::string> sysctl_error(std::string_view name, const std::vector<Namespace>& namespaces);

// Container IDs (runc's rule): non-empty, only [A-Za-z0-9_+,.-], not "." or
// "..", and at most NAME_MAX (255) bytes since each names a directory.
std::optional<std::string> container_id_error(std::string_view id);

}  // namespace moat::oci
