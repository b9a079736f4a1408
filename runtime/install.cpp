// `moat install` / `moat uninstall`: moat registered as a Docker runtime in
// daemon.json ({"runtimes": {"moat": {"path": "/usr/bin/moat"}}}), the rest
// of the file kept as it was. dockerd reads it at start and on SIGHUP.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/cli.h"
#include "runtime/logging.h"
#include "runtime/state.h"

namespace moat::cli {

namespace {

using ojson = nlohmann::ordered_json;

// The file as JSON: an empty object when it is missing or empty.
std::optional<ojson> read_daemon_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return ojson::object();
    log::error(path + ": " + strerror(errno));
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) return ojson::object();
  try {
    ojson j = ojson::parse(text.str());
    if (!j.is_object()) {
      log::error(path + ": expected a JSON object");
      return std::nullopt;
    }
    if (j.contains("runtimes") && !j["runtimes"].is_object()) {
      log::error(path + ": \"runtimes\" is not an object");
      return std::nullopt;
    }
    return j;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    log::error(path + ": malformed JSON: " + what);
    return std::nullopt;
  }
}

int write_daemon_json(const std::string& path, const ojson& j) {
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    ::mkdir(dir.c_str(), 0755);
  }
  if (auto error = runtime::write_file_atomic(path, j.dump(4) + "\n"); !error.empty()) {
    log::error(error);
    return 1;
  }
  return 0;
}

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "moat";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

int install_runtime(const std::string& daemon_json, const std::string& name, const std::vector<std::string>& runtime_args) {
  if (name.empty()) {
    log::error("install: --runtime needs a name");
    return kUsageError;
  }
  auto j = read_daemon_json(daemon_json);
  if (!j) return 1;
  ojson runtime = {{"path", self_path()}};
  if (!runtime_args.empty()) runtime["runtimeArgs"] = runtime_args;
  (*j)["runtimes"][name] = runtime;
  if (int r = write_daemon_json(daemon_json, *j); r != 0) return r;
  printf("moat: runtime \"%s\" added to %s; restart dockerd (or send it SIGHUP), then: docker run --runtime=%s ...\n",
         name.c_str(), daemon_json.c_str(), name.c_str());
  return 0;
}

int uninstall_runtime(const std::string& daemon_json, const std::string& name) {
  auto j = read_daemon_json(daemon_json);
  if (!j) return 1;
  if (!j->contains("runtimes") || !(*j)["runtimes"].contains(name)) {
    log::error("uninstall: " + daemon_json + " has no runtime \"" + name + "\"");
    return 1;
  }
  (*j)["runtimes"].erase(name);
  if ((*j)["runtimes"].empty()) j->erase("runtimes");
  if (int r = write_daemon_json(daemon_json, *j); r != 0) return r;
  printf("moat: runtime \"%s\" removed from %s\n", name.c_str(), daemon_json.c_str());
  return 0;
}

}  // namespace moat::cli
