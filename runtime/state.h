#pragma once
// A container's state directory, ROOT/ID (runc's --root, default
// /var/run/moat): state.json, written whole and renamed into place so that
// a reader never sees half of it, and the sentry's control socket.
//
// The recorded status says how far the container got (creating, created,
// running, stopped); whether it is stopped is decided from its sentry
// process: gone, a zombie, or a different process under the same pid (its
// start time differs) all mean stopped, as runc decides from its init.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace moat::runtime {

constexpr const char* kDefaultRoot = "/var/run/moat";

enum class Status { Creating, Created, Running, Stopped, Paused };

const char* status_name(Status s);
std::optional<Status> status_from_name(std::string_view name);

struct ContainerState {
  std::string id;
  pid_t pid = 0;           // the sentry's host pid
  uint64_t pid_start = 0;  // its start time (/proc/PID/stat field 22), against pid reuse
  Status status = Status::Creating;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds
  std::vector<std::pair<std::string, std::string>> annotations;
  int exit_status = -1;  // recorded by the sentry as it ends, -1 before
  std::string cgroup;    // the host cgroup path of its processes ("" if none)
  // `pause` froze it: ROOT/ID/paused exists (the sentry, frozen, cannot
  // record it itself).
  bool paused = false;
};

class StateDir {
 public:
  StateDir(std::string root, std::string id) : m_root(std::move(root)), m_id(std::move(id)) {}
  const std::string& root() const { return m_root; }
  const std::string& id() const { return m_id; }
  std::string path() const { return m_root + "/" + m_id; }
  std::string state_file() const { return path() + "/state.json"; }
  std::string control_socket() const { return path() + "/control.sock"; }
  std::string paused_marker() const { return path() + "/paused"; }

  // Makes ROOT (and parents) and then ROOT/ID; EEXIST if ID exists.
  // Returns an error message, empty on success.
  std::string create() const;
  bool exists() const;
  // Removes the directory and what is in it.
  void remove() const;

 private:
  std::string m_root;
  std::string m_id;
};

// Writes state.json atomically. Returns an error message, empty on success.
std::string save_state(const StateDir& dir, const ContainerState& state);
// Reads state.json; nullopt with *error set when it is missing or unreadable.
std::optional<ContainerState> load_state(const StateDir& dir, std::string* error);

// The start time of a host process (field 22 of /proc/PID/stat), nullopt if
// there is no such process or it is a zombie.
std::optional<uint64_t> live_process_start(pid_t pid);
// The status now: the recorded one, unless the sentry is gone (or paused).
Status current_status(const ContainerState& state);

// The state as `moat state` prints it (runc's keys and order); pid is 0
// once stopped.
nlohmann::ordered_json state_json(const ContainerState& state, Status status);

// The IDs under root that have a state directory, sorted.
std::vector<std::string> list_ids(const std::string& root);

// Writes text to path atomically (a temporary file in the same directory,
// then rename), as runc writes its --pid-file. Error message, empty on success.
std::string write_file_atomic(const std::string& path, const std::string& text);

}  // namespace moat::runtime
