#pragma once
// What the OCI commands share (runtime/oci_commands.cpp and
// runtime/oci_process_commands.cpp): runc-style flag parsing, the
// container ID argument, and a container's state looked up by ID.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/cli.h"
#include "runtime/state.h"

namespace moat::cli {

using runtime::ContainerState;
using runtime::StateDir;
using runtime::Status;

constexpr int kFailure = 1;

// Command-line flags: runc's, spelled -x, -name or --name, with the value
// as the next argument or after '='. Flags a command does not know are
// accepted and ignored (runc has many that mean nothing here).
struct Flag {
  std::vector<std::string> names;  // the first is the canonical one
  bool takes_value = false;
};

struct Args {
  std::map<std::string, std::string> values;
  std::set<std::string> set;  // boolean flags given
  std::vector<std::string> positional;
  bool has(const std::string& name) const { return set.count(name) > 0; }
  std::string value(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

std::optional<Args> parse_args(const std::string& cmd, const std::vector<std::string>& argv,
                               const std::vector<Flag>& flags);

// The container ID as the only (or first) positional argument, validated
// (a one-line error logged when it is missing or invalid).
std::optional<std::string> container_id(const std::string& cmd, const Args& args, size_t max_positional = 1);

// A container's recorded state and its status now.
struct Container {
  StateDir dir;
  ContainerState state;
  Status status;
};

// nullopt (the error logged) when there is no such container.
std::optional<Container> find_container(const GlobalOptions& g, const std::string& id);

std::string absolute_path(const std::string& path);

// The commands of runtime/oci_process_commands.cpp.
int cmd_exec(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_wait(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_events(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_pause(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_resume(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_update(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_install(const GlobalOptions& g, const std::vector<std::string>& argv);
int cmd_uninstall(const GlobalOptions& g, const std::vector<std::string>& argv);

}  // namespace moat::cli
