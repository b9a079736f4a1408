// The OCI runtime commands (create, start, run, state, kill, delete, list,
// ps, spec, features; exec and the others of a running container are in
// runtime/oci_process_commands.cpp), with runc's flags and outputs so that
// containerd-shim-runc-v2 (through go-runc) and people used to runc can
// drive moat. A container's state lives in ROOT/ID (runtime/state.h); its
// sentry process is in runtime/container.cpp.

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "config/oci_spec.h"
#include "runtime/cgroups.h"
#include "runtime/cli.h"
#include "runtime/container.h"
#include "runtime/control.h"
#include "runtime/hooks.h"
#include "runtime/logging.h"
#include "runtime/oci_args.h"
#include "runtime/state.h"

namespace moat::cli {

using runtime::ContainerState;
using runtime::StateDir;
using runtime::Status;

// ---- Command-line flags: runc's, spelled -x, -name or --name, with the
// value as the next argument or after '='. Flags a command does not know
// are accepted and ignored (runc has many that mean nothing here).



std::optional<Args> parse_args(const std::string& cmd, const std::vector<std::string>& argv,
                               const std::vector<Flag>& flags) {
  Args out;
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags)
      for (const std::string& n : f.names)
        if (n == name) flag = &f;
    if (!flag) {
      log::debug(cmd + ": ignoring flag " + a);
      continue;
    }
    const std::string& canonical = flag->names[0];
    if (flag->takes_value) {
      if (inline_value) {
        out.values[canonical] = *inline_value;
      } else if (i + 1 < argv.size()) {
        out.values[canonical] = argv[++i];
      } else {
        log::error(cmd + ": flag " + a + " needs a value");
        return std::nullopt;
      }
    } else if (!inline_value || *inline_value == "true" || *inline_value == "1") {
      out.set.insert(canonical);
    }
  }
  return out;
}

// The container ID as the only (or first) positional argument, validated.
std::optional<std::string> container_id(const std::string& cmd, const Args& args, size_t max_positional) {
  if (args.positional.empty()) {
    log::error(cmd + ": missing container id (moat " + cmd + " [flags] ID)");
    return std::nullopt;
  }
  if (args.positional.size() > max_positional) {
    log::error(cmd + ": unexpected argument \"" + args.positional[max_positional] + "\"");
    return std::nullopt;
  }
  const std::string& id = args.positional[0];
  if (auto why = oci::container_id_error(id)) {
    log::error(*why);
    return std::nullopt;
  }
  return id;
}

// A container's recorded state and its status now.

std::optional<Container> find_container(const GlobalOptions& g, const std::string& id) {
  StateDir dir(g.root, id);
  std::string error;
  auto state = runtime::load_state(dir, &error);
  if (!state) {
    log::error(error);
    return std::nullopt;
  }
  Status status = runtime::current_status(*state);
  return Container{dir, *state, status};
}

std::string absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (!getcwd(cwd, sizeof(cwd))) return path;
  std::string base = cwd;
  if (path.empty() || path == ".") return base;
  return base + "/" + path;
}

namespace {

// Waits up to timeout for the container's sentry to be gone.
bool wait_stopped(const ContainerState& state, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (runtime::current_status(state) != Status::Stopped) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The host processes of a container: its sentry and everything below it
// (stub processes, the guest's processes), from the PPid lines of /proc.
std::vector<pid_t> container_pids(pid_t sentry) {
  std::map<pid_t, pid_t> parent;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      char* end;
      long pid = strtol(e->d_name, &end, 10);
      if (*end || pid <= 0) continue;
      std::ifstream in(std::string("/proc/") + e->d_name + "/status");
      std::string line;
      while (std::getline(in, line))
        if (line.rfind("PPid:", 0) == 0) {
          parent[static_cast<pid_t>(pid)] = static_cast<pid_t>(atol(line.c_str() + 5));
          break;
        }
    }
    closedir(d);
  }
  std::vector<pid_t> pids{sentry};
  std::set<pid_t> in_tree{sentry};
  for (bool grew = true; grew;) {
    grew = false;
    for (auto [pid, ppid] : parent)
      if (in_tree.count(ppid) && !in_tree.count(pid)) {
        in_tree.insert(pid);
        pids.push_back(pid);
        grew = true;
      }
  }
  return pids;
}

std::string process_command(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : cmdline)
    if (c == '\0') c = ' ';
  while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
  if (cmdline.empty()) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::getline(comm, cmdline);
    cmdline = "[" + cmdline + "]";
  }
  return cmdline;
}

// ---- The commands.

std::optional<runtime::ContainerOptions> container_options(const GlobalOptions& g, const std::string& cmd,
                                                           const Args& args, const std::string& id) {
  runtime::ContainerOptions o;
  o.root = g.root;
  o.id = id;
  o.strace = g.strace;
  o.no_overlay = g.no_overlay;
  o.network = g.network;
  o.bundle = absolute_path(args.value("bundle", "."));
  o.pid_file = args.value("pid-file");
  if (!o.pid_file.empty()) o.pid_file = absolute_path(o.pid_file);
  o.console_socket = args.value("console-socket");
  if (!o.console_socket.empty()) o.console_socket = absolute_path(o.console_socket);
  std::string preserve = args.value("preserve-fds", "0");
  char* end;
  long n = strtol(preserve.c_str(), &end, 10);
  if (*end || n < 0 || n > 1000) {
    log::error(cmd + ": --preserve-fds " + preserve + ": not a count of fds");
    return std::nullopt;
  }
  o.preserve_fds = static_cast<int>(n);
  struct stat st;
  if (::stat(o.bundle.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    log::error("bundle " + o.bundle + ": " + (errno ? strerror(errno) : "not a directory"));
    return std::nullopt;
  }
  auto spec = oci::load_spec(o.bundle);
  if (auto* e = std::get_if<oci::SpecError>(&spec)) {
    log::error(e->message);
    return std::nullopt;
  }
  o.spec = std::get<oci::Spec>(std::move(spec));
  for (const std::string& w : o.spec.unsupported) log::warning(w);
  if (!o.spec.root_readonly && o.no_overlay)
    log::warning("root.readonly: false, but with --overlay none the root filesystem is read-only");
  return o;
}

const std::vector<Flag> kCreateFlags = {
    {{"bundle", "b"}, true}, {{"pid-file"}, true}, {{"console-socket"}, true}, {{"preserve-fds"}, true},
    {{"no-pivot"}},          {{"no-new-keyring"}},
};

int cmd_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("create", argv, kCreateFlags);
  if (!args) return kUsageError;
  auto id = container_id("create", *args);
  if (!id) return kUsageError;
  auto options = container_options(g, "create", *args, *id);
  if (!options) return kFailure;
  return runtime::create_container(*options);
}

int start_container(const GlobalOptions& g, const std::string& id) {
  auto c = find_container(g, id);
  if (!c) return kFailure;
  switch (c->status) {
    case Status::Created: break;
    case Status::Running: log::error("cannot start an already running container"); return kFailure;
    case Status::Stopped: log::error("cannot start a container that has stopped"); return kFailure;
    case Status::Creating: log::error("cannot start a container that is still being created"); return kFailure;
    case Status::Paused: log::error("cannot start a paused container"); return kFailure;
  }
  std::string error;
  auto reply = runtime::control_request(c->dir.path(), "start", &error);
  if (!reply) {
    log::error(error);
    return kFailure;
  }
  if (*reply != "ok") {
    log::error(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
    return kFailure;
  }
  return 0;
}

int cmd_start(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("start", argv, {});
  if (!args) return kUsageError;
  auto id = container_id("start", *args);
  if (!id) return kUsageError;
  return start_container(g, *id);
}

int cmd_run(const GlobalOptions& g, const std::vector<std::string>& argv) {
  std::vector<Flag> flags = kCreateFlags;
  flags.push_back({{"detach", "d"}});
  flags.push_back({{"keep"}});
  flags.push_back({{"no-subreaper"}});
  auto args = parse_args("run", argv, flags);
  if (!args) return kUsageError;
  auto id = container_id("run", *args);
  if (!id) return kUsageError;
  auto options = container_options(g, "run", *args, *id);
  if (!options) return kFailure;
  if (args->has("detach")) {
    if (int r = runtime::create_container(*options); r != 0) return r;
    return start_container(g, *id);
  }
  return runtime::run_container(*options);
}

int cmd_state(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("state", argv, {});
  if (!args) return kUsageError;
  auto id = container_id("state", *args);
  if (!id) return kUsageError;
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  std::string out = runtime::state_json(c->state, c->status).dump(2) + "\n";
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int cmd_kill(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("kill", argv, {{{"all", "a"}}, {{"pid", "p"}, true}});
  if (!args) return kUsageError;
  auto id = container_id("kill", *args, 2);
  if (!id) return kUsageError;
  std::string name = args->positional.size() > 1 ? args->positional[1] : "SIGTERM";
  auto sig = oci::parse_signal(name);
  if (!sig) {
    log::error("unknown signal \"" + name + "\"");
    return kFailure;
  }
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  if (c->status == Status::Stopped || c->status == Status::Creating) {
    log::error("container \"" + *id + "\" is not running");
    return kFailure;
  }
  if (c->status == Status::Paused && *sig != SIGKILL) {
    // As with runc, the signal waits in the frozen container and reaches
    // the guest once it is resumed: the frozen sentry finds the request in
    // its control socket then (nobody waits for its answer).
    std::string error;
    auto conn = runtime::control_connect(c->dir.path(), &error);
    if (!conn) {
      log::error("signalling container \"" + *id + "\": " + error);
      return kFailure;
    }
    std::string request = std::string(args->has("all") ? "kill-all " : "kill ") + std::to_string(*sig);
    if (auto e = runtime::send_line_with_fds(conn->get(), request, {}); !e.empty()) {
      log::error("signalling container \"" + *id + "\": " + e);
      return kFailure;
    }
    return 0;
  }
  if (c->status == Status::Paused) {
    // The kill is pending in the frozen sentry until the cgroup thaws.
    int r = ::kill(c->state.pid, SIGKILL);
    (void)runtime::Cgroup::at(c->state.cgroup).set_frozen(false);
    ::unlink(c->dir.paused_marker().c_str());
    if (r != 0) {
      log::error("signalling container \"" + *id + "\": " + strerror(errno));
      return kFailure;
    }
    return 0;
  }
  // SIGKILL ends the sentry itself (its stub processes die with it), which
  // works whatever state the sentry is in. Other signals are the guest's:
  // the sentry delivers them, to every guest process with --all.
  if (*sig != SIGKILL) {
    std::string error;
    std::string request = std::string(args->has("all") ? "kill-all " : "kill ") + std::to_string(*sig);
    if (auto reply = runtime::control_request(c->dir.path(), request, &error, 5000)) {
      if (*reply == "ok") return 0;
      log::error(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
      return kFailure;
    }
    log::debug("kill: " + error + "; signalling the sentry directly");
  }
  if (::kill(c->state.pid, *sig) != 0) {
    log::error("signalling container \"" + *id + "\": " + strerror(errno));
    return kFailure;
  }
  return 0;
}

int cmd_delete(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("delete", argv, {{{"force", "f"}}});
  if (!args) return kUsageError;
  auto id = container_id("delete", *args);
  if (!id) return kUsageError;
  bool force = args->has("force");
  StateDir dir(g.root, *id);
  std::string error;
  auto state = runtime::load_state(dir, &error);
  if (!state) {
    // --force deletes what is left of a container whatever it is (runc too).
    if (force) {
      dir.remove();
      return 0;
    }
    log::error(error);
    return kFailure;
  }
  Status status = runtime::current_status(*state);
  if ((status == Status::Running || status == Status::Paused) && !force) {
    log::error("cannot delete container " + *id + " that is not stopped: " + runtime::status_name(status));
    return kFailure;
  }
  runtime::Cgroup cgroup = runtime::Cgroup::at(state->cgroup);
  if (status == Status::Creating && !force) {
    log::error("cannot delete container " + *id + " while it is being created");
    return kFailure;
  }
  // A created container is destroyed without --force, as runc does.
  if (status != Status::Stopped && state->pid > 0) {
    ::kill(state->pid, SIGKILL);
    if (status == Status::Paused) (void)cgroup.set_frozen(false);
    if (!wait_stopped(*state, std::chrono::seconds(10))) {
      log::error("container " + *id + ": its sentry (pid " + std::to_string(state->pid) + ") did not end");
      return kFailure;
    }
  }
  cgroup.remove();
  // poststop hooks, from the bundle's config (gone with the bundle: none).
  if (auto spec = oci::load_spec(state->bundle); std::holds_alternative<oci::Spec>(spec)) {
    const auto& hooks = std::get<oci::Spec>(spec).hooks.poststop;
    std::string json = runtime::state_json(*state, Status::Stopped).dump();
    if (auto error = runtime::run_hooks("poststop", hooks, json); !error.empty()) log::warning(error);
  }
  dir.remove();
  return 0;
}

int cmd_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("list", argv, {{{"format", "f"}, true}, {{"quiet", "q"}}});
  if (!args) return kUsageError;
  std::string format = args->value("format", "table");
  if (format != "table" && format != "json") {
    log::error("list: invalid format \"" + format + "\" (table or json)");
    return kUsageError;
  }
  std::vector<nlohmann::ordered_json> rows;
  for (const std::string& id : runtime::list_ids(g.root)) {
    std::string error;
    auto state = runtime::load_state(StateDir(g.root, id), &error);
    if (!state) continue;
    rows.push_back(runtime::state_json(*state, runtime::current_status(*state)));
  }
  std::string out;
  if (args->has("quiet")) {
    for (const auto& r : rows) out += r["id"].get<std::string>() + "\n";
  } else if (format == "json") {
    out = nlohmann::ordered_json(rows).dump() + "\n";
  } else {
    std::vector<std::vector<std::string>> table = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& r : rows)
      table.push_back({r["id"].get<std::string>(), std::to_string(r["pid"].get<int>()), r["status"].get<std::string>(),
                       r["bundle"].get<std::string>(), r["created"].get<std::string>(), "root"});
    std::vector<size_t> width(table[0].size(), 0);
    for (const auto& row : table)
      for (size_t i = 0; i < row.size(); i++) width[i] = std::max(width[i], row[i].size());
    for (const auto& row : table) {
      for (size_t i = 0; i < row.size(); i++) {
        out += row[i];
        if (i + 1 < row.size()) out += std::string(width[i] - row[i].size() + 3, ' ');
      }
      out += "\n";
    }
  }
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int cmd_ps(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("ps", argv, {{{"format", "f"}, true}});
  if (!args) return kUsageError;
  // runc passes what follows the ID to ps(1); moat has no use for it.
  auto id = container_id("ps", *args, args->positional.size());
  if (!id) return kUsageError;
  std::string format = args->value("format", "table");
  if (format != "table" && format != "json") {
    log::error("ps: invalid format \"" + format + "\" (table or json)");
    return kUsageError;
  }
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  if (c->status == Status::Stopped || c->status == Status::Creating) {
    log::error("container \"" + *id + "\" is not running");
    return kFailure;
  }
  std::vector<pid_t> pids = container_pids(c->state.pid);
  std::string out;
  if (format == "json") {
    out = nlohmann::json(pids).dump() + "\n";
  } else {
    out = "PID      CMD\n";
    for (pid_t pid : pids) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%-8d ", pid);
      out += buf + process_command(pid) + "\n";
    }
  }
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int cmd_spec(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("spec", argv, {{{"bundle", "b"}, true}, {{"rootless"}}});
  if (!args) return kUsageError;
  std::string bundle = args->value("bundle", ".");
  std::string path = bundle + "/config.json";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    log::error("File " + path + " exists. Remove it first");
    return kFailure;
  }
  if (auto error = runtime::write_file_atomic(path, oci::default_spec().dump(1, '\t') + "\n"); !error.empty()) {
    log::error(error);
    return kFailure;
  }
  return 0;
}

int cmd_features(const GlobalOptions& g, const std::vector<std::string>& argv) {
  using ojson = nlohmann::ordered_json;
  ojson f;
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = oci::kSpecVersion;
  f["hooks"] = ojson::array({"prestart", "createRuntime", "createContainer", "poststart", "poststop"});
  f["mountOptions"] = ojson::array();
  f["linux"] = {
      {"namespaces", ojson::array({"cgroup", "ipc", "mount", "network", "pid", "uts"})},
      {"capabilities", oci::capability_names()},
      {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
      {"seccomp", {{"enabled", false}}},
      {"apparmor", {{"enabled", false}}},
      {"selinux", {{"enabled", false}}},
  };
  f["annotations"] = {{"org.moat.version", MOAT_VERSION},
                      {"org.moat.sandbox", "every guest syscall is served by moat's sentry"}};
  std::string out = f.dump(4) + "\n";
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

struct Command {
  const char* name;
  int (*run)(const GlobalOptions&, const std::vector<std::string>&);
};

constexpr Command kCommands[] = {
    {"create", cmd_create}, {"start", cmd_start},   {"run", cmd_run},         {"state", cmd_state},
    {"kill", cmd_kill},     {"delete", cmd_delete}, {"list", cmd_list},       {"ps", cmd_ps},
    {"exec", cmd_exec},     {"events", cmd_events}, {"wait", cmd_wait},       {"pause", cmd_pause},
    {"resume", cmd_resume}, {"spec", cmd_spec},     {"features", cmd_features}, {"install", cmd_install},
    {"uninstall", cmd_uninstall}, {"update", cmd_update},
};

// runc commands moat does not have yet: a clear error, not "unknown command".
constexpr const char* kNotYet[] = {"checkpoint", "restore"};

}  // namespace

bool is_oci_command(const std::string& name) {
  for (const Command& c : kCommands)
    if (name == c.name) return true;
  for (const char* n : kNotYet)
    if (name == n) return true;
  return false;
}

int run_oci(const GlobalOptions& g, const std::string& name, const std::vector<std::string>& args) {
  if (auto error = log::configure(g.log); !error.empty()) {
    fprintf(stderr, "moat: %s\n", error.c_str());
    return kFailure;
  }
  for (const Command& c : kCommands)
    if (name == c.name) return c.run(g, args);
  log::error("\"" + name + "\" is not supported yet");
  return kFailure;
}

std::optional<int> parse_global_flags(const std::vector<std::string>& args, size_t& i, GlobalOptions& g) {
  // Flags that take a value; any other unknown flag is taken as a switch.
  static const std::set<std::string> kValueFlags = {"root", "log", "log-format", "criu", "rootless",
                                                    "network", "overlay", "platform", "debug-log"};
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') break;
    if (a == "--") {
      i++;
      break;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "version" || name == "v" || name == "help" || name == "h") break;
    if (!value && kValueFlags.count(name)) {
      // --debug-log alone (runsc's takes a path) just turns debugging on.
      bool optional = name == "debug-log";
      if (i + 1 < args.size() && (!optional || args[i + 1].find('/') != std::string::npos)) {
        value = args[++i];
      } else if (!optional) {
        fprintf(stderr, "moat: flag %s needs a value\n", a.c_str());
        return kUsageError;
      }
    }
    if (name == "root") {
      g.root = *value;
    } else if (name == "log") {
      g.log.file = *value;
    } else if (name == "log-format") {
      if (*value == "text") {
        g.log.format = log::Format::Text;
      } else if (*value == "json") {
        g.log.format = log::Format::Json;
      } else {
        fprintf(stderr, "moat: invalid --log-format \"%s\" (text or json)\n", value->c_str());
        return kUsageError;
      }
    } else if (name == "debug") {
      g.log.debug = true;
    } else if (name == "debug-log") {
      g.log.debug = true;
      if (value) g.log.debug_file = *value;
    } else if (name == "strace") {
      g.strace = value && *value == "summary" ? StraceMode::Summary : StraceMode::Full;
    } else if (name == "overlay") {
      if (*value != "memory" && *value != "none") {
        fprintf(stderr, "moat: invalid --overlay \"%s\" (memory or none)\n", value->c_str());
        return kUsageError;
      }
      g.no_overlay = *value == "none";
    } else if (name == "network") {
      auto flag = runtime::parse_network_flag(*value);
      if (!flag) {
        fprintf(stderr, "moat: invalid --network \"%s\" (sandbox, host or none)\n", value->c_str());
        return kUsageError;
      }
      g.network = *flag;
    } else {
      // systemd-cgroup, rootless, criu and whatever else runc takes.
      g.ignored_flags.push_back(a);
    }
  }
  return std::nullopt;
}

void print_oci_usage(FILE* out) {
  fprintf(out,
          "\n"
          "OCI runtime commands (as runc's; global flags --root DIR, --log FILE,\n"
          "--log-format text|json, --debug come before the command):\n"
          "  moat create [--bundle DIR] [--pid-file F] [--console-socket S] ID\n"
          "  moat start ID\n"
          "  moat run [--bundle DIR] [--pid-file F] [-d] ID\n"
          "  moat state ID\n"
          "  moat kill [--all] ID [SIGNAL]\n"
          "  moat delete [--force] ID\n"
          "  moat list [--format table|json]\n"
          "  moat ps [--format table|json] ID\n"
          "  moat exec [--process P.json] [-d] [--pid-file F] [--console-socket S] [-t] [-e K=V] [-u U[:G]]\n"
          "            [--cwd DIR] ID [CMD ARGS...]\n"
          "  moat events [--stats] [--interval 5s] ID\n"
          "  moat wait ID\n"
          "  moat pause ID | moat resume ID\n"
          "  moat update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N] ... ID\n"
          "  moat install [--runtime NAME] [--config /etc/docker/daemon.json]\n"
          "  moat uninstall [--runtime NAME] [--config /etc/docker/daemon.json]\n"
          "  moat spec [--bundle DIR]\n"
          "  moat features\n");
}

}  // namespace moat::cli
