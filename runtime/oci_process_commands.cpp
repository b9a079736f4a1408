// The OCI commands of a running container: exec, wait, events, pause,
// resume, update; and install/uninstall (Docker's daemon.json).

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/oci_spec.h"
#include "runtime/cgroups.h"
#include "runtime/exec.h"
#include "runtime/logging.h"
#include "runtime/oci_args.h"

namespace moat::cli {

namespace {

// ---- exec: runc's flags before the ID; what follows the ID is the command.

struct ExecArgs {
  std::string process_file, pid_file, console_socket, cwd, user;
  std::vector<std::string> env, additional_gids, caps;
  bool detach = false, tty = false, no_new_privs = false;
  std::string id;
  std::vector<std::string> command;
};

std::optional<ExecArgs> parse_exec_args(const std::vector<std::string>& argv) {
  ExecArgs out;
  static const std::set<std::string> kValue = {"process", "p", "pid-file", "console-socket", "cwd", "env", "e",
                                               "user", "u", "additional-gids", "g", "cap", "c", "process-label",
                                               "apparmor", "preserve-fds", "cgroup"};
  size_t i = 0;
  for (; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (a == "--") {
      i++;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (kValue.count(name) && !value) {
      if (i + 1 >= argv.size()) {
        log::error("exec: flag " + a + " needs a value");
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (name == "process" || name == "p") out.process_file = *value;
    else if (name == "pid-file") out.pid_file = *value;
    else if (name == "console-socket") out.console_socket = *value;
    else if (name == "cwd") out.cwd = *value;
    else if (name == "env" || name == "e") out.env.push_back(*value);
    else if (name == "user" || name == "u") out.user = *value;
    else if (name == "additional-gids" || name == "g") out.additional_gids.push_back(*value);
    else if (name == "cap" || name == "c") out.caps.push_back(*value);
    else if (name == "detach" || name == "d") out.detach = true;
    else if (name == "tty" || name == "t") out.tty = true;
    else if (name == "no-new-privs") out.no_new_privs = true;
    else log::debug("exec: ignoring flag " + a);
  }
  if (i >= argv.size()) {
    log::error("exec: missing container id (moat exec [flags] ID [COMMAND ARGS...])");
    return std::nullopt;
  }
  out.id = argv[i++];
  out.command.assign(argv.begin() + static_cast<long>(i), argv.end());
  return out;
}

std::optional<uint32_t> parse_id_number(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  for (char ch : text)
    if (!isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  unsigned long n = strtoul(text.c_str(), nullptr, 10);
  if (n >= UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(n);
}

// The process object for an exec without --process: the container's own
// (from its bundle) with the command and the flags' changes, as runc builds it.
std::optional<nlohmann::ordered_json> exec_process_from_flags(const ExecArgs& a, const ContainerState& state) {
  using ojson = nlohmann::ordered_json;
  if (a.command.empty()) {
    log::error("exec: no command given (moat exec ID COMMAND [ARGS...], or --process FILE)");
    return std::nullopt;
  }
  ojson p = {{"args", a.command}, {"cwd", "/"}, {"env", ojson::array()}};
  std::ifstream in(state.bundle + "/config.json");
  if (in) {
    try {
      ojson config = ojson::parse(in);
      if (config.contains("process") && config["process"].is_object()) {
        p = config["process"];
        p["args"] = a.command;
      }
    } catch (const std::exception&) {
      // The container runs, so its config parsed once; a changed bundle
      // leaves the defaults above.
    }
  }
  p["terminal"] = a.tty;
  p.erase("consoleSize");
  if (!a.cwd.empty()) p["cwd"] = a.cwd;
  for (const std::string& e : a.env) p["env"].push_back(e);
  if (!a.user.empty()) {
    auto colon = a.user.find(':');
    auto uid = parse_id_number(a.user.substr(0, colon));
    std::optional<uint32_t> gid = colon == std::string::npos ? std::optional<uint32_t>(0)
                                                             : parse_id_number(a.user.substr(colon + 1));
    if (!uid || !gid) {
      log::error("exec: --user " + a.user + ": expected UID[:GID] as numbers");
      return std::nullopt;
    }
    p["user"]["uid"] = *uid;
    p["user"]["gid"] = *gid;
  }
  for (const std::string& g : a.additional_gids) {
    auto gid = parse_id_number(g);
    if (!gid) {
      log::error("exec: --additional-gids " + g + ": not a group id");
      return std::nullopt;
    }
    p["user"]["additionalGids"].push_back(*gid);
  }
  if (!a.caps.empty()) {
    for (const char* set : {"bounding", "effective", "permitted"})
      for (const std::string& cap : a.caps) p["capabilities"][set].push_back(cap);
  }
  if (a.no_new_privs) p["noNewPrivileges"] = true;
  return p;
}

}  // namespace

// Every failure is runc's status 255 (the process's own status is anything).
int cmd_exec(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto a = parse_exec_args(argv);
  if (!a) return runtime::kExecFailure;
  if (auto why = oci::container_id_error(a->id)) {
    log::error(*why);
    return runtime::kExecFailure;
  }
  auto c = find_container(g, a->id);
  if (!c) return runtime::kExecFailure;
  if (c->status != Status::Running) {
    log::error("cannot exec in a " + std::string(runtime::status_name(c->status)) + " container");
    return runtime::kExecFailure;
  }
  nlohmann::ordered_json process;
  if (!a->process_file.empty()) {
    std::ifstream in(a->process_file);
    if (!in) {
      log::error("exec: --process " + a->process_file + ": " + strerror(errno));
      return runtime::kExecFailure;
    }
    try {
      process = nlohmann::ordered_json::parse(in);
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
      log::error("exec: --process " + a->process_file + ": malformed JSON: " + what);
      return runtime::kExecFailure;
    }
    if (!a->command.empty()) log::warning("exec: --process given: ignoring the command after the container id");
  } else {
    auto p = exec_process_from_flags(*a, c->state);
    if (!p) return runtime::kExecFailure;
    process = *p;
  }
  std::string text = process.dump();
  std::vector<std::string> unsupported;
  auto parsed = oci::parse_process_spec(text, &unsupported);
  if (auto* e = std::get_if<oci::SpecError>(&parsed)) {
    log::error("exec: process: " + e->message);
    return runtime::kExecFailure;
  }
  runtime::ExecOptions o;
  o.state_dir = c->dir.path();
  o.id = a->id;
  o.process = std::get<oci::ProcessSpec>(std::move(parsed));
  o.process_json = text;
  o.detach = a->detach;
  if (!a->pid_file.empty()) o.pid_file = absolute_path(a->pid_file);
  if (!a->console_socket.empty()) o.console_socket = absolute_path(a->console_socket);
  return runtime::exec_in_container(o);
}

// ---- wait, events, pause, resume.

int cmd_wait(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("wait", argv, {});
  if (!args) return kUsageError;
  auto id = container_id("wait", *args);
  if (!id) return kUsageError;
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  while (runtime::current_status(c->state) != Status::Stopped)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The sentry records the status as it ends; give the write a moment.
  std::string error;
  int status = -1;
  for (int i = 0; i < 100 && status < 0; i++) {
    if (auto s = runtime::load_state(c->dir, &error)) status = s->exit_status;
    if (status < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Only a sentry killed outright (SIGKILL, which `kill KILL` sends it)
  // leaves no status: its guest died with it, as by SIGKILL.
  if (status < 0) status = 128 + SIGKILL;
  nlohmann::ordered_json out = {{"id", *id}, {"exitStatus", status}};
  printf("%s\n", out.dump().c_str());
  return 0;
}

// "5s", "500ms", "1m" or plain seconds.
static std::optional<std::chrono::milliseconds> parse_interval(const std::string& text) {
  char* end;
  double n = strtod(text.c_str(), &end);
  std::string unit = end;
  if (end == text.c_str() || n <= 0) return std::nullopt;
  double ms = unit == "ms" ? n : unit == "s" || unit.empty() ? n * 1000 : unit == "m" ? n * 60000 : -1;
  if (ms <= 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

int cmd_events(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("events", argv, {{{"stats"}}, {{"interval"}, true}});
  if (!args) return kUsageError;
  auto id = container_id("events", *args);
  if (!id) return kUsageError;
  auto interval = parse_interval(args->value("interval", "5s"));
  if (!interval) {
    log::error("events: --interval " + args->value("interval") + ": not a duration (e.g. 5s)");
    return kUsageError;
  }
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  if (c->status == Status::Stopped) {
    log::error("container \"" + *id + "\" is not running");
    return kFailure;
  }
  runtime::Cgroup cgroup = runtime::Cgroup::at(c->state.cgroup);
  for (;;) {
    nlohmann::ordered_json event = {{"type", "stats"}, {"id", *id}, {"data", cgroup.stats()}};
    printf("%s\n", event.dump().c_str());
    fflush(stdout);
    if (args->has("stats")) return 0;
    auto deadline = std::chrono::steady_clock::now() + *interval;
    while (std::chrono::steady_clock::now() < deadline) {
      if (runtime::current_status(c->state) == Status::Stopped) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

static int pause_or_resume(const GlobalOptions& g, const std::vector<std::string>& argv, bool pause) {
  const char* cmd = pause ? "pause" : "resume";
  auto args = parse_args(cmd, argv, {});
  if (!args) return kUsageError;
  auto id = container_id(cmd, *args);
  if (!id) return kUsageError;
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  Status want = pause ? Status::Running : Status::Paused;
  if (c->status != want) {
    log::error("container \"" + *id + "\" is " + runtime::status_name(c->status) + ", not " +
               runtime::status_name(want));
    return kFailure;
  }
  if (c->state.cgroup.empty()) {
    log::error(std::string(cmd) + ": container \"" + *id + "\" has no cgroup to freeze (see the create log)");
    return kFailure;
  }
  if (auto error = runtime::Cgroup::at(c->state.cgroup).set_frozen(pause); !error.empty()) {
    log::error(std::string(cmd) + ": " + error);
    return kFailure;
  }
  if (pause) {
    if (auto error = runtime::write_file_atomic(c->dir.paused_marker(), "paused\n"); !error.empty()) {
      (void)runtime::Cgroup::at(c->state.cgroup).set_frozen(false);
      log::error(error);
      return kFailure;
    }
  } else {
    ::unlink(c->dir.paused_marker().c_str());
  }
  return 0;
}

int cmd_pause(const GlobalOptions& g, const std::vector<std::string>& argv) { return pause_or_resume(g, argv, true); }
int cmd_resume(const GlobalOptions& g, const std::vector<std::string>& argv) { return pause_or_resume(g, argv, false); }

int cmd_install(const GlobalOptions&, const std::vector<std::string>& argv) {
  auto args = parse_args("install", argv, {{{"runtime"}, true}, {{"config"}, true}});
  if (!args) return kUsageError;
  return install_runtime(args->value("config", kDockerDaemonJson), args->value("runtime", "moat"), args->positional);
}

int cmd_uninstall(const GlobalOptions&, const std::vector<std::string>& argv) {
  auto args = parse_args("uninstall", argv, {{{"runtime"}, true}, {{"config"}, true}});
  if (!args) return kUsageError;
  if (!args->positional.empty()) {
    log::error("uninstall: unexpected argument \"" + args->positional[0] + "\"");
    return kUsageError;
  }
  return uninstall_runtime(args->value("config", kDockerDaemonJson), args->value("runtime", "moat"));
}

// ---- update: new linux.resources for a running container's cgroup, as
// containerd's shim sends them (`update --resources -`, JSON on stdin) or
// from runc's flags.

int cmd_update(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto args = parse_args("update", argv,
                         {{{"resources", "r"}, true}, {{"memory"}, true}, {{"memory-reservation"}, true},
                          {{"memory-swap"}, true}, {{"pids-limit"}, true}, {{"cpu-shares"}, true},
                          {{"cpu-quota"}, true}, {{"cpu-period"}, true}, {{"cpuset-cpus"}, true},
                          {{"cpuset-mems"}, true}});
  if (!args) return kUsageError;
  auto id = container_id("update", *args);
  if (!id) return kUsageError;
  using ojson = nlohmann::ordered_json;
  ojson resources = ojson::object();
  std::string file = args->value("resources");
  if (!file.empty()) {
    try {
      if (file == "-") {
        resources = ojson::parse(std::cin);
      } else {
        std::ifstream in(file);
        if (!in) {
          log::error("update: --resources " + file + ": " + strerror(errno));
          return kFailure;
        }
        resources = ojson::parse(in);
      }
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
      log::error("update: --resources: malformed JSON: " + what);
      return kFailure;
    }
  }
  // runc's flags, in the spec's units (bytes, microseconds).
  auto number = [&](const std::string& flag) -> std::optional<int64_t> {
    std::string text = args->value(flag);
    char* end;
    errno = 0;
    long long n = strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end || errno) {
      log::error("update: --" + flag + " " + text + ": not a number");
      return std::nullopt;
    }
    return n;
  };
  std::pair<const char*, std::vector<std::string>> numeric[] = {
      {"memory", {"memory", "limit"}},       {"memory-reservation", {"memory", "reservation"}},
      {"memory-swap", {"memory", "swap"}},   {"pids-limit", {"pids", "limit"}},
      {"cpu-shares", {"cpu", "shares"}},     {"cpu-quota", {"cpu", "quota"}},
      {"cpu-period", {"cpu", "period"}},
  };
  for (const auto& [flag, path] : numeric) {
    if (args->value(flag).empty()) continue;
    auto n = number(flag);
    if (!n) return kUsageError;
    resources[path[0]][path[1]] = *n;
  }
  if (!args->value("cpuset-cpus").empty()) resources["cpu"]["cpus"] = args->value("cpuset-cpus");
  if (!args->value("cpuset-mems").empty()) resources["cpu"]["mems"] = args->value("cpuset-mems");
  // Parsed as a config's linux.resources, with the same checks.
  ojson doc = {{"ociVersion", oci::kSpecVersion},
               {"root", {{"path", "rootfs"}}},
               {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
               {"linux", {{"resources", resources}}}};
  auto parsed = oci::parse_spec(doc.dump());
  if (auto* e = std::get_if<oci::SpecError>(&parsed)) {
    log::error("update: " + e->message);
    return kFailure;
  }
  const oci::Spec& spec = std::get<oci::Spec>(parsed);
  for (const std::string& w : spec.unsupported) log::warning("update: " + w);
  auto c = find_container(g, *id);
  if (!c) return kFailure;
  if (c->status == Status::Stopped) {
    log::error("container \"" + *id + "\" is not running");
    return kFailure;
  }
  if (c->state.cgroup.empty()) {
    log::error("update: container \"" + *id + "\" has no cgroup (see the create log)");
    return kFailure;
  }
  std::vector<std::string> warnings;
  std::string error = runtime::Cgroup::at(c->state.cgroup).enter(c->state.pid, spec.resources, &warnings);
  for (const std::string& w : warnings) log::warning("update: " + w);
  if (!error.empty()) {
    log::error("update: " + error);
    return kFailure;
  }
  return 0;
}

}  // namespace moat::cli
