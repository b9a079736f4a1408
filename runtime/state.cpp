#include "runtime/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/unique_fd.h"
#include "config/oci_spec.h"

namespace moat::runtime {

const char* status_name(Status s) {
  switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Stopped: return "stopped";
    case Status::Paused: return "paused";
  }
  return "unknown";
}

std::optional<Status> status_from_name(std::string_view name) {
  for (Status s : {Status::Creating, Status::Created, Status::Running, Status::Stopped})
    if (name == status_name(s)) return s;
  return std::nullopt;
}

std::string StateDir::create() const {
  std::error_code ec;
  std::filesystem::create_directories(m_root, ec);
  if (ec) return "creating the state root " + m_root + ": " + ec.message();
  if (::mkdir(path().c_str(), 0711) != 0) {
    if (errno == EEXIST) return "container with id \"" + m_id + "\" already exists";
    return "creating " + path() + ": " + strerror(errno);
  }
  return {};
}

bool StateDir::exists() const {
  struct stat st;
  return ::stat(path().c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void StateDir::remove() const {
  std::error_code ec;
  std::filesystem::remove_all(path(), ec);
}

std::string write_file_atomic(const std::string& path, const std::string& text) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return "writing " + tmp + ": " + strerror(errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string error = "writing " + tmp + ": " + strerror(errno);
      ::unlink(tmp.c_str());
      return error;
    }
    done += static_cast<size_t>(n);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string error = "renaming " + tmp + " to " + path + ": " + strerror(errno);
    ::unlink(tmp.c_str());
    return error;
  }
  return {};
}

std::string save_state(const StateDir& dir, const ContainerState& state) {
  nlohmann::ordered_json j;
  j["id"] = state.id;
  j["pid"] = state.pid;
  j["pid_start"] = state.pid_start;
  j["status"] = status_name(state.status);
  j["bundle"] = state.bundle;
  j["rootfs"] = state.rootfs;
  j["created"] = state.created;
  nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
  for (const auto& [k, v] : state.annotations) annotations[k] = v;
  j["annotations"] = annotations;
  j["exit_status"] = state.exit_status;
  j["cgroup"] = state.cgroup;
  return write_file_atomic(dir.state_file(), j.dump(1) + "\n");
}

std::optional<ContainerState> load_state(const StateDir& dir, std::string* error) {
  std::ifstream in(dir.state_file());
  if (!in) {
    *error = errno == ENOENT ? "container \"" + dir.id() + "\" does not exist"
                             : dir.state_file() + ": " + strerror(errno);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto j = nlohmann::ordered_json::parse(text.str());
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start = j.at("pid_start").get<uint64_t>();
    auto status = status_from_name(j.at("status").get<std::string>());
    if (!status) throw std::runtime_error("unknown status");
    s.status = *status;
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    for (const auto& [k, v] : j.at("annotations").items()) s.annotations.emplace_back(k, v.get<std::string>());
    s.exit_status = j.value("exit_status", -1);
    s.cgroup = j.value("cgroup", "");
    struct stat st;
    s.paused = ::stat(dir.paused_marker().c_str(), &st) == 0;
    return s;
  } catch (const std::exception& e) {
    *error = dir.state_file() + ": unreadable state (" + e.what() + ")";
    return std::nullopt;
  }
}

std::optional<uint64_t> live_process_start(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: the fields
  // that follow start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string state;
  fields >> state;
  if (state == "Z" || state == "X" || state == "x") return std::nullopt;
  // Fields 4 to 21, then the start time (field 22).
  std::string skip;
  for (int i = 4; i <= 21; i++) fields >> skip;
  uint64_t start = 0;
  if (!(fields >> start)) return std::nullopt;
  return start;
}

Status current_status(const ContainerState& state) {
  if (state.status == Status::Stopped) return Status::Stopped;
  if (state.status == Status::Creating) {
    // A create still in progress, or one that died before its sentry began.
    if (state.pid == 0) return Status::Creating;
  }
  auto start = live_process_start(state.pid);
  if (!start || *start != state.pid_start) return Status::Stopped;
  if (state.paused && state.status == Status::Running) return Status::Paused;
  return state.status;
}

nlohmann::ordered_json state_json(const ContainerState& state, Status status) {
  nlohmann::ordered_json j;
  j["ociVersion"] = oci::kSpecVersion;
  j["id"] = state.id;
  j["pid"] = status == Status::Stopped ? 0 : state.pid;
  j["status"] = status_name(status);
  j["bundle"] = state.bundle;
  j["rootfs"] = state.rootfs;
  j["created"] = state.created;
  if (!state.annotations.empty()) {
    nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
    for (const auto& [k, v] : state.annotations) annotations[k] = v;
    j["annotations"] = annotations;
  }
  j["owner"] = "";
  return j;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (!entry.is_directory(ec)) continue;
    std::string id = entry.path().filename().string();
    if (!oci::container_id_error(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace moat::runtime
