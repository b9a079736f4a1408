#pragma once
// A batch profile: the TOML file `moat batch` runs (docs/batch.md). One
// [sandbox] table of defaults and any number of [[job]] entries, each run
// in a fresh sandbox under the limits that apply to it.
//
// Parsing checks everything that can be checked before a job runs: every
// key is known and of the right type, sizes and durations parse, job names
// are unique, and the host paths named (root, binds, stdin_file) exist. A
// profile that fails any check runs no job at all.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace moat::batch {

// The limits of one job. Unset means unlimited (output_limit always has a value).
struct Limits {
  std::optional<std::chrono::milliseconds> timeout;   // wall clock, from the sandbox's start
  std::optional<std::chrono::milliseconds> cpu_time;  // user+system of the whole sandbox
  std::optional<uint64_t> memory;                     // bytes, the whole sandbox's
  std::optional<int64_t> pids;                        // guest processes and threads
  std::optional<uint64_t> output_limit;               // bytes kept of stdout, and of stderr
};

constexpr uint64_t kDefaultOutputLimit = 1 << 20;

struct BindMount {
  std::string host;   // absolute and canonical
  std::string guest;  // absolute
  bool read_only = false;
};

enum class Overlay { Memory, None };
enum class Network { None, Sandbox, Host };

struct Job {
  std::string name;
  std::vector<std::string> argv;
  std::optional<std::string> stdin_data;  // `stdin`
  std::string stdin_file;                 // absolute host path, "" if none
  std::map<std::string, std::string> env;  // the profile's, then the job's over it
  std::string cwd;                         // guest path
  Limits limits;                           // the profile's, then the job's over them
  int line = 0;                            // of the [[job]] header
};

struct Profile {
  std::string path;  // as given
  std::string root = "/";
  Overlay overlay = Overlay::Memory;
  Network network = Network::None;
  std::vector<BindMount> binds;
  unsigned parallel = 0;  // jobs at once; 0 until resolved (number of CPUs)
  Limits limits;          // the [sandbox] defaults
  std::vector<Job> jobs;
};

struct ProfileError {
  std::string message;  // "PATH:LINE:COLUMN: KEY: what is wrong"
};

// Parses text as the profile at path; relative host paths in it are
// relative to path's directory.
std::variant<Profile, ProfileError> parse_profile(std::string_view text, const std::string& path);
// Reads and parses the file at path.
std::variant<Profile, ProfileError> load_profile(const std::string& path);

// "500ms", "2s", "1.5m", "1h"; nullopt for anything else or for zero.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "4096", "64K", "512M", "1.5G", "2GiB" (powers of 1024); nullopt for anything else.
std::optional<uint64_t> parse_size(std::string_view text);
// "HOST:GUEST[:ro|:rw]" with HOST relative to base_dir when not absolute; the
// error message when HOST does not exist or the form is wrong.
std::variant<BindMount, std::string> parse_bind(const std::string& text, const std::string& base_dir);

// The text of a duration as the profile would write it ("1500ms", "2s").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace moat::batch
