#include "config/oci_spec.h"

#include <sys/mount.h>

#include <sys/resource.h>

#include <cctype>
#include <climits>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moat::oci {

using json = nlohmann::ordered_json;  // keeps annotations in file order

namespace {

// Thrown by the field readers below, caught once in parse_spec.
struct Invalid {
  std::string message;
};

const char* type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void wrong_type(const std::string& field, const char* want, const json& got) {
  throw Invalid{field + ": expected " + want + ", got " + type_name(got)};
}

// The member `key` of object `obj`, or nullptr when absent (a JSON null
// counts as absent, as Go's decoder treats it).
const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& object_at(const json& v, const std::string& field) {
  if (!v.is_object()) wrong_type(field, "an object", v);
  return v;
}

std::string string_at(const json& v, const std::string& field) {
  if (!v.is_string()) wrong_type(field, "a string", v);
  return v.get<std::string>();
}

bool bool_at(const json& v, const std::string& field) {
  if (!v.is_boolean()) wrong_type(field, "a boolean", v);
  return v.get<bool>();
}

uint64_t uint_at(const json& v, const std::string& field, uint64_t max = UINT64_MAX) {
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
    wrong_type(field, "a non-negative integer", v);
  uint64_t n = v.get<uint64_t>();
  if (n > max) throw Invalid{field + ": " + std::to_string(n) + " is out of range"};
  return n;
}

int64_t int_at(const json& v, const std::string& field) {
  if (!v.is_number_integer()) wrong_type(field, "an integer", v);
  return v.get<int64_t>();
}

std::vector<std::string> strings_at(const json& v, const std::string& field) {
  if (!v.is_array()) wrong_type(field, "an array of strings", v);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); i++) out.push_back(string_at(v[i], field + "[" + std::to_string(i) + "]"));
  return out;
}

constexpr const char* kCapabilityNames[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr std::pair<const char*, int> kRlimitNames[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},   {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

constexpr std::pair<const char*, int> kSignalNames[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},      {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

// Linux's SIGRTMIN and SIGRTMAX as the kernel numbers them (glibc reserves
// the first two real-time signals, which is why SIGRTMIN is not a constant).
constexpr int kRtMin = 32;
constexpr int kRtMax = 64;

std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

uint64_t capability_set(const json& v, const std::string& field, Spec& spec) {
  uint64_t mask = 0;
  for (const std::string& name : strings_at(v, field)) {
    auto n = capability_number(name);
    if (!n) {
      // runc warns and ignores capabilities it does not know.
      spec.unsupported.push_back(field + ": unknown capability " + name + " ignored");
      continue;
    }
    mask |= 1ULL << *n;
  }
  return mask;
}

void parse_process(const json& pj, Spec& spec) {
  ProcessSpec& p = spec.process;
  object_at(pj, "process");
  if (auto* v = member(pj, "terminal")) p.terminal = bool_at(*v, "process.terminal");
  if (auto* v = member(pj, "consoleSize")) {
    object_at(*v, "process.consoleSize");
    ConsoleSize size;
    if (auto* h = member(*v, "height")) size.height = static_cast<uint16_t>(uint_at(*h, "process.consoleSize.height", 65535));
    if (auto* w = member(*v, "width")) size.width = static_cast<uint16_t>(uint_at(*w, "process.consoleSize.width", 65535));
    p.console_size = size;
  }
  if (auto* u = member(pj, "user")) {
    object_at(*u, "process.user");
    if (auto* v = member(*u, "uid")) p.user.uid = static_cast<uint32_t>(uint_at(*v, "process.user.uid", UINT32_MAX - 1));
    if (auto* v = member(*u, "gid")) p.user.gid = static_cast<uint32_t>(uint_at(*v, "process.user.gid", UINT32_MAX - 1));
    if (auto* v = member(*u, "umask")) p.user.umask = static_cast<uint32_t>(uint_at(*v, "process.user.umask", 0777));
    if (auto* v = member(*u, "additionalGids")) {
      if (!v->is_array()) wrong_type("process.user.additionalGids", "an array of integers", *v);
      for (size_t i = 0; i < v->size(); i++)
        p.user.additional_gids.push_back(static_cast<uint32_t>(
            uint_at((*v)[i], "process.user.additionalGids[" + std::to_string(i) + "]", UINT32_MAX - 1)));
    }
    if (member(*u, "username")) spec.unsupported.push_back("process.user.username: ignored (a Windows field)");
  }
  const json* args = member(pj, "args");
  if (!args) throw Invalid{"process.args: missing (the command to run)"};
  p.args = strings_at(*args, "process.args");
  if (p.args.empty()) throw Invalid{"process.args: must not be empty"};
  if (p.args[0].empty()) throw Invalid{"process.args[0]: must not be empty"};
  if (member(pj, "commandLine")) spec.unsupported.push_back("process.commandLine: ignored (a Windows field)");
  if (auto* v = member(pj, "env")) p.env = strings_at(*v, "process.env");
  const json* cwd = member(pj, "cwd");
  if (!cwd) throw Invalid{"process.cwd: missing"};
  p.cwd = string_at(*cwd, "process.cwd");
  if (p.cwd.empty() || p.cwd[0] != '/') throw Invalid{"process.cwd: must be an absolute path, got \"" + p.cwd + "\""};
  if (auto* v = member(pj, "rlimits")) {
    if (!v->is_array()) wrong_type("process.rlimits", "an array", *v);
    for (size_t i = 0; i < v->size(); i++) {
      std::string field = "process.rlimits[" + std::to_string(i) + "]";
      const json& r = object_at((*v)[i], field);
      const json* type = member(r, "type");
      if (!type) throw Invalid{field + ".type: missing"};
      Rlimit limit;
      limit.type = string_at(*type, field + ".type");
      auto resource = rlimit_resource(limit.type);
      if (!resource) throw Invalid{field + ".type: unknown rlimit \"" + limit.type + "\""};
      limit.resource = *resource;
      const json* soft = member(r, "soft");
      const json* hard = member(r, "hard");
      if (!soft || !hard) throw Invalid{field + ": needs both soft and hard"};
      limit.soft = uint_at(*soft, field + ".soft");
      limit.hard = uint_at(*hard, field + ".hard");
      if (limit.soft > limit.hard) throw Invalid{field + ": soft limit above the hard limit"};
      p.rlimits.push_back(limit);
    }
  }
  if (auto* v = member(pj, "noNewPrivileges")) p.no_new_privileges = bool_at(*v, "process.noNewPrivileges");
  if (auto* c = member(pj, "capabilities")) {
    object_at(*c, "process.capabilities");
    Capabilities& caps = p.capabilities;
    if (auto* v = member(*c, "bounding")) caps.bounding = capability_set(*v, "process.capabilities.bounding", spec);
    if (auto* v = member(*c, "effective")) caps.effective = capability_set(*v, "process.capabilities.effective", spec);
    if (auto* v = member(*c, "permitted")) caps.permitted = capability_set(*v, "process.capabilities.permitted", spec);
    if (auto* v = member(*c, "inheritable"))
      caps.inheritable = capability_set(*v, "process.capabilities.inheritable", spec);
    if (auto* v = member(*c, "ambient")) caps.ambient = capability_set(*v, "process.capabilities.ambient", spec);
    // Ambient capabilities matter only to a non-root user's execve, which
    // moat does not carry them across (the guest's root has its sets anyway).
    if (caps.ambient && *caps.ambient && p.user.uid != 0)
      spec.unsupported.push_back("process.capabilities.ambient: not kept across the non-root user's execve");
  }
  if (auto* v = member(pj, "oomScoreAdj")) {
    int64_t adj = int_at(*v, "process.oomScoreAdj");
    if (adj < -1000 || adj > 1000) throw Invalid{"process.oomScoreAdj: must be between -1000 and 1000"};
    p.oom_score_adj = static_cast<int>(adj);
  }
  for (const char* key : {"apparmorProfile", "selinuxLabel"})
    if (auto* v = member(pj, key); v && !string_at(*v, std::string("process.") + key).empty())
      spec.unsupported.push_back(std::string("process.") + key + ": not applied (moat confines the guest itself)");
  for (const char* key : {"ioPriority", "scheduler", "execCPUAffinity"})
    if (member(pj, key)) spec.unsupported.push_back(std::string("process.") + key + ": not applied");
}

void parse_mounts(const json& v, Spec& spec) {
  if (!v.is_array()) wrong_type("mounts", "an array", v);
  for (size_t i = 0; i < v.size(); i++) {
    std::string field = "mounts[" + std::to_string(i) + "]";
    const json& mj = object_at(v[i], field);
    Mount m;
    const json* dest = member(mj, "destination");
    if (!dest) throw Invalid{field + ".destination: missing"};
    m.destination = string_at(*dest, field + ".destination");
    if (m.destination.empty() || m.destination[0] != '/')
      throw Invalid{field + ".destination: must be an absolute path, got \"" + m.destination + "\""};
    if (auto* t = member(mj, "type")) m.type = string_at(*t, field + ".type");
    if (auto* s = member(mj, "source")) m.source = string_at(*s, field + ".source");
    if (auto* o = member(mj, "options")) m.options = strings_at(*o, field + ".options");
    MountKind kind = mount_kind(m);
    if (kind == MountKind::Unsupported) {
      std::string what = m.type.empty() ? "bind" : m.type;
      spec.unsupported.push_back(field + " (" + what + " " + m.source + " on " + m.destination +
                                 "): not mounted (moat mounts binds and tmpfs, and has its own proc, sysfs, "
                                 "devpts, mqueue and cgroup at their standard paths)");
    } else if (kind == MountKind::Bind && m.source.empty()) {
      throw Invalid{field + ".source: missing (a bind mount needs the host path)"};
    }
    if (kind == MountKind::Tmpfs) {
      std::string data = split_mount_options(m.options).data;
      size_t pos = 0;
      while (pos < data.size()) {
        size_t comma = data.find(',', pos);
        if (comma == std::string::npos) comma = data.size();
        std::string opt = data.substr(pos, comma - pos);
        pos = comma + 1;
        std::string key = opt.substr(0, opt.find('='));
        if (key != "size" && key != "mode" && key != "uid" && key != "gid")
          spec.unsupported.push_back(field + " (tmpfs on " + m.destination + "): option " + opt + " not applied");
      }
    }
    spec.mounts.push_back(std::move(m));
  }
}

// A member that is an empty object, array or null asks for nothing.
bool is_empty_value(const json& v) { return v.is_null() || ((v.is_object() || v.is_array()) && v.empty()); }

void parse_resources(const json& r, Spec& spec) {
  object_at(r, "linux.resources");
  Resources& res = spec.resources;
  for (const auto& [key, value] : r.items()) {
    if (is_empty_value(value)) continue;
    std::string field = "linux.resources." + key;
    if (key == "devices") {
      // The device cgroup guards host device nodes, which the guest never
      // reaches: moat's /dev is its own.
      continue;
    } else if (key == "memory") {
      object_at(value, field);
      for (const auto& [mk, mv] : value.items()) {
        if (mv.is_null()) continue;
        std::string mf = field + "." + mk;
        // 0 asks for nothing (runc's update leaves such a limit as it is).
        if (mk == "limit") {
          if (int64_t n = int_at(mv, mf)) res.memory_limit = n;
        } else if (mk == "reservation") {
          if (int64_t n = int_at(mv, mf)) res.memory_reservation = n;
        } else if (mk == "swap") {
          if (int64_t n = int_at(mv, mf)) res.memory_swap = n;
        } else if (mk == "disableOOMKiller" || mk == "useHierarchy" || mk == "checkBeforeUpdate") {
          if (mv.is_boolean() && mv.get<bool>()) spec.unsupported.push_back(mf + ": not applied");
        } else {
          spec.unsupported.push_back(mf + ": not applied");
        }
      }
    } else if (key == "pids") {
      object_at(value, field);
      if (auto* l = member(value, "limit"))
        if (int64_t n = int_at(*l, field + ".limit")) res.pids_limit = n;
    } else if (key == "cpu") {
      object_at(value, field);
      for (const auto& [ck, cv] : value.items()) {
        if (cv.is_null()) continue;
        std::string cf = field + "." + ck;
        if (ck == "shares") {
          if (uint64_t n = uint_at(cv, cf)) res.cpu_shares = n;
        } else if (ck == "quota") {
          if (int64_t n = int_at(cv, cf)) res.cpu_quota = n;
        } else if (ck == "period") {
          if (uint64_t n = uint_at(cv, cf)) res.cpu_period = n;
        } else if (ck == "cpus") {
          res.cpuset_cpus = string_at(cv, cf);
        } else if (ck == "mems") {
          res.cpuset_mems = string_at(cv, cf);
        } else if ((ck == "realtimeRuntime" || ck == "realtimePeriod") && cv.is_number() && cv.get<int64_t>() == 0) {
          continue;
        } else {
          spec.unsupported.push_back(cf + ": not applied");
        }
      }
    } else if (key == "blockIO" && value.is_object()) {
      // Docker sends a weight of 0 and empty device lists when nothing is asked.
      bool asked = false;
      for (const auto& [bk, bv] : value.items())
        asked |= !is_empty_value(bv) && !(bv.is_number() && bv.get<int64_t>() == 0);
      if (asked) spec.unsupported.push_back(field + ": not applied");
    } else {
      spec.unsupported.push_back(field + ": not applied");
    }
  }
}

void parse_hooks(const json& h, Spec& spec) {
  object_at(h, "hooks");
  std::pair<const char*, std::vector<Hook>*> kinds[] = {
      {"prestart", &spec.hooks.prestart},
      {"createRuntime", &spec.hooks.create_runtime},
      {"createContainer", &spec.hooks.create_container},
      {"startContainer", &spec.hooks.start_container},
      {"poststart", &spec.hooks.poststart},
      {"poststop", &spec.hooks.poststop},
  };
  for (const auto& [key, value] : h.items()) {
    std::vector<Hook>* list = nullptr;
    for (auto& [name, l] : kinds)
      if (key == name) list = l;
    if (!list) {
      if (!is_empty_value(value)) spec.unsupported.push_back("hooks." + key + ": unknown hook kind, not run");
      continue;
    }
    if (value.is_null()) continue;
    if (!value.is_array()) wrong_type("hooks." + key, "an array", value);
    for (size_t i = 0; i < value.size(); i++) {
      std::string field = "hooks." + key + "[" + std::to_string(i) + "]";
      const json& hj = object_at(value[i], field);
      Hook hook;
      const json* path = member(hj, "path");
      if (!path) throw Invalid{field + ".path: missing"};
      hook.path = string_at(*path, field + ".path");
      if (hook.path.empty() || hook.path[0] != '/')
        throw Invalid{field + ".path: must be an absolute path, got \"" + hook.path + "\""};
      if (auto* v = member(hj, "args")) hook.args = strings_at(*v, field + ".args");
      if (auto* v = member(hj, "env")) hook.env = strings_at(*v, field + ".env");
      if (auto* v = member(hj, "timeout")) {
        int64_t t = int_at(*v, field + ".timeout");
        if (t <= 0) throw Invalid{field + ".timeout: must be positive"};
        hook.timeout = static_cast<int>(std::min<int64_t>(t, INT32_MAX));
      }
      list->push_back(std::move(hook));
    }
  }
}

void parse_linux(const json& lj, Spec& spec) {
  object_at(lj, "linux");
  if (auto* v = member(lj, "namespaces")) {
    if (!v->is_array()) wrong_type("linux.namespaces", "an array", *v);
    static constexpr const char* kTypes[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
    for (size_t i = 0; i < v->size(); i++) {
      std::string field = "linux.namespaces[" + std::to_string(i) + "]";
      const json& nj = object_at((*v)[i], field);
      Namespace ns;
      const json* type = member(nj, "type");
      if (!type) throw Invalid{field + ".type: missing"};
      ns.type = string_at(*type, field + ".type");
      bool known = false;
      for (const char* t : kTypes) known |= ns.type == t;
      if (!known) throw Invalid{field + ".type: unknown namespace type \"" + ns.type + "\""};
      if (auto* p = member(nj, "path")) ns.path = string_at(*p, field + ".path");
      // A network namespace's path is joined by the sentry (runtime/netns.h).
      if (!ns.path.empty() && ns.type != "network")
        spec.unsupported.push_back(field + " (" + ns.type + " " + ns.path +
                                   "): not joined (the sandbox has its own " + ns.type + " namespace)");
      spec.namespaces.push_back(std::move(ns));
    }
  }
  for (const char* key : {"uidMappings", "gidMappings"})
    if (auto* v = member(lj, key); v && (!v->is_array() || !v->empty()))
      spec.unsupported.push_back(std::string("linux.") + key + ": not applied (guest ids are the sandbox's own)");
  if (auto* r = member(lj, "resources")) parse_resources(*r, spec);
  if (auto* v = member(lj, "cgroupsPath")) spec.cgroups_path = string_at(*v, "linux.cgroupsPath");
  if (auto* v = member(lj, "sysctl")) {
    object_at(*v, "linux.sysctl");
    for (const auto& [name, value] : v->items()) {
      spec.sysctl.emplace_back(name, string_at(value, "linux.sysctl." + name));
      if (auto error = sysctl_error(name, spec.namespaces)) throw Invalid{"linux.sysctl: " + *error};
    }
  }
  if (member(lj, "seccomp"))
    spec.unsupported.push_back(
        "linux.seccomp: the profile is not applied (every guest syscall is served by moat's sentry instead)");
  if (auto* v = member(lj, "devices"); v && (!v->is_array() || !v->empty()))
    spec.unsupported.push_back("linux.devices: not created (moat's /dev has its own fixed set)");
  if (auto* v = member(lj, "maskedPaths")) spec.masked_paths = strings_at(*v, "linux.maskedPaths");
  if (auto* v = member(lj, "readonlyPaths")) spec.readonly_paths = strings_at(*v, "linux.readonlyPaths");
  for (const char* key : {"rootfsPropagation", "mountLabel", "intelRdt", "personality", "timeOffsets"})
    if (member(lj, key)) spec.unsupported.push_back(std::string("linux.") + key + ": not applied");
}

Spec parse_document(const json& doc) {
  if (!doc.is_object()) throw Invalid{std::string("expected a JSON object, got ") + type_name(doc)};
  Spec spec;
  const json* version = member(doc, "ociVersion");
  if (!version) throw Invalid{"ociVersion: missing"};
  spec.oci_version = string_at(*version, "ociVersion");
  if (spec.oci_version.rfind("1.", 0) != 0)
    throw Invalid{"ociVersion: \"" + spec.oci_version + "\" is not a 1.x version"};
  const json* root = member(doc, "root");
  if (!root) throw Invalid{"root: missing (root.path names the container's root filesystem)"};
  object_at(*root, "root");
  const json* path = member(*root, "path");
  if (!path) throw Invalid{"root.path: missing"};
  spec.root_path = string_at(*path, "root.path");
  if (spec.root_path.empty()) throw Invalid{"root.path: must not be empty"};
  if (auto* v = member(*root, "readonly")) spec.root_readonly = bool_at(*v, "root.readonly");
  const json* process = member(doc, "process");
  if (!process) throw Invalid{"process: missing (the container's first process)"};
  parse_process(*process, spec);
  if (auto* v = member(doc, "hostname")) spec.hostname = string_at(*v, "hostname");
  if (auto* v = member(doc, "domainname")) spec.domainname = string_at(*v, "domainname");
  if (auto* v = member(doc, "mounts")) parse_mounts(*v, spec);
  if (auto* v = member(doc, "linux")) parse_linux(*v, spec);
  if (auto* h = member(doc, "hooks")) parse_hooks(*h, spec);
  if (auto* a = member(doc, "annotations")) {
    object_at(*a, "annotations");
    for (const auto& [key, value] : a->items())
      spec.annotations.emplace_back(key, string_at(value, "annotations." + key));
  }
  return spec;
}

}  // namespace

std::variant<Spec, SpecError> parse_spec(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return SpecError{"malformed JSON: " + what};
  }
  try {
    return parse_document(doc);
  } catch (const Invalid& e) {
    return SpecError{e.message};
  } catch (const json::exception& e) {
    return SpecError{e.what()};
  }
}

std::variant<ProcessSpec, SpecError> parse_process_spec(std::string_view text, std::vector<std::string>* unsupported) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return SpecError{"malformed JSON: " + what};
  }
  try {
    Spec spec;
    parse_process(doc, spec);
    if (unsupported) *unsupported = std::move(spec.unsupported);
    return std::move(spec.process);
  } catch (const Invalid& e) {
    return SpecError{e.message};
  } catch (const json::exception& e) {
    return SpecError{e.what()};
  }
}

std::variant<Spec, SpecError> load_spec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  std::ifstream in(path);
  if (!in) return SpecError{path + ": " + strerror(errno)};
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_spec(text.str());
  if (auto* e = std::get_if<SpecError>(&parsed)) return SpecError{path + ": " + e->message};
  return parsed;
}

MountKind mount_kind(const Mount& m) {
  // The sandbox's own filesystems at their standard paths: the spec's
  // /proc, /sys, /dev and friends ask for what moat's VFS already has
  // (its /proc and /sys show only the sandbox; no host one is reachable).
  static constexpr std::pair<const char*, const char*> kProvided[] = {
      {"/proc", "proc"},          {"/dev", "tmpfs"},    {"/dev/pts", "devpts"},        {"/dev/shm", "tmpfs"},
      {"/dev/shm", "bind"},       {"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"},      {"/sys/fs/cgroup", "cgroup"},
      {"/sys/fs/cgroup", "cgroup2"},
  };
  std::string dest = m.destination;
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  bool bind = m.type == "bind";
  for (const std::string& o : m.options) bind |= o == "bind" || o == "rbind";
  std::string type = bind ? "bind" : m.type;
  for (auto [d, t] : kProvided)
    if (dest == d && type == t) return MountKind::Provided;
  if (bind) return MountKind::Bind;
  if (m.type == "tmpfs") return MountKind::Tmpfs;
  return MountKind::Unsupported;
}

MountOptions split_mount_options(const std::vector<std::string>& options) {
  static constexpr std::pair<const char*, unsigned long> kFlags[] = {
      {"ro", MS_RDONLY}, {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV}, {"noexec", MS_NOEXEC},
  };
  static constexpr const char* kIgnored[] = {
      "rw",      "suid",     "dev",      "exec",      "bind",    "rbind",  "private", "rprivate", "shared",
      "rshared", "slave",    "rslave",   "unbindable", "runbindable", "relatime", "norelatime", "strictatime",
      "nostrictatime", "noatime", "atime", "nodiratime", "diratime", "async", "sync", "newinstance",
  };
  MountOptions out;
  for (const std::string& o : options) {
    bool known = false;
    for (auto [name, flag] : kFlags)
      if (o == name) out.flags |= flag, known = true;
    for (const char* name : kIgnored) known |= o == name;
    if (known) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

std::string rootfs_path(const Spec& spec, const std::string& bundle) {
  if (!spec.root_path.empty() && spec.root_path[0] == '/') return spec.root_path;
  return bundle + "/" + spec.root_path;
}

nlohmann::ordered_json default_spec() {
  using ojson = nlohmann::ordered_json;
  ojson caps = ojson::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  ojson spec;
  spec["ociVersion"] = kSpecVersion;
  spec["process"] = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", ojson::array({"sh"})},
      {"env", ojson::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"})},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", ojson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "moat";
  auto mount = [](const char* dest, const char* type, const char* source, std::vector<std::string> options) {
    ojson m = {{"destination", dest}, {"type", type}, {"source", source}};
    if (!options.empty()) m["options"] = options;
    return m;
  };
  spec["mounts"] = ojson::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  spec["linux"] = {
      {"resources", {{"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces",
       ojson::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}})},
      {"maskedPaths", ojson::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                    "/proc/scsi"})},
      {"readonlyPaths", ojson::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };
  return spec;
}

std::optional<int> capability_number(std::string_view name) {
  for (size_t i = 0; i < std::size(kCapabilityNames); i++)
    if (name == kCapabilityNames[i]) return static_cast<int>(i);
  return std::nullopt;
}

std::vector<std::string> capability_names() { return {std::begin(kCapabilityNames), std::end(kCapabilityNames)}; }

std::optional<int> rlimit_resource(std::string_view name) {
  for (auto [n, r] : kRlimitNames)
    if (name == n) return r;
  return std::nullopt;
}

std::optional<int> parse_signal(std::string_view text) {
  if (auto n = parse_uint(text)) {
    if (*n >= 1 && *n <= kRtMax) return static_cast<int>(*n);
    return std::nullopt;
  }
  std::string name;
  for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (auto [n, sig] : kSignalNames)
    if (name == n) return sig;
  // RTMIN, RTMIN+N, RTMAX, RTMAX-N (kill -l's names).
  auto offset = [&](std::string_view prefix, char sign) -> std::optional<int> {
    std::string_view rest = std::string_view(name).substr(prefix.size());
    if (rest.empty()) return 0;
    if (rest[0] != sign) return std::nullopt;
    auto n = parse_uint(rest.substr(1));
    if (!n || *n > kRtMax - kRtMin) return std::nullopt;
    return static_cast<int>(*n);
  };
  if (name.rfind("RTMIN", 0) == 0) {
    if (auto n = offset("RTMIN", '+'); n && kRtMin + *n <= kRtMax) return kRtMin + *n;
    return std::nullopt;
  }
  if (name.rfind("RTMAX", 0) == 0) {
    if (auto n = offset("RTMAX", '-'); n && kRtMax - *n >= kRtMin) return kRtMax - *n;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> sysctl_error(std::string_view name, const std::vector<Namespace>& namespaces) {
  // runc takes "net/ipv4/ip_forward" as "net.ipv4.ip_forward".
  std::string dotted(name);
  for (char& c : dotted)
    if (c == '/') c = '.';
  auto has = [&](const char* type) {
    for (const Namespace& ns : namespaces)
      if (ns.type == type) return true;
    return false;
  };
  std::string quoted = "sysctl \"" + std::string(name) + "\"";
  static constexpr const char* kIpc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  bool ipc = dotted.rfind("fs.mqueue.", 0) == 0;
  for (const char* k : kIpc) ipc |= dotted == k;
  if (ipc) {
    if (has("ipc")) return std::nullopt;
    return quoted + " is not allowed in the hosts ipc namespace";
  }
  if (dotted.rfind("net.", 0) == 0) {
    // runc also refuses a path that names the host's own namespace; the
    // sentry finds that out when it joins (runtime/netns.h), not here.
    if (has("network")) return std::nullopt;
    return quoted + " not allowed in host network namespace";
  }
  if (has("uts")) {
    if (dotted == "kernel.domainname") return std::nullopt;
    if (dotted == "kernel.hostname") return quoted + " is not allowed as it conflicts with the OCI \"hostname\" field";
  }
  return quoted + " is not in a separate kernel namespace";
}

std::optional<std::string> container_id_error(std::string_view id) {
  if (id.empty()) return "container id cannot be empty";
  if (id.size() > NAME_MAX) return "container id is longer than " + std::to_string(NAME_MAX) + " bytes";
  if (id == "." || id == "..") return "invalid container id \"" + std::string(id) + "\"";
  for (char c : id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == ',' || c == '.' || c == '-';
    if (!ok)
      return "invalid container id \"" + std::string(id) + "\": only letters, digits and _+,.- are allowed";
  }
  return std::nullopt;
}

}  // namespace moat::oci
