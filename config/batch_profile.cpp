#include "config/batch_profile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace moat::batch {

namespace {

// Keys a [[job]] may set, and those only [sandbox] may (a job given one of
// the latter is told where it belongs rather than that the key is unknown).
const std::set<std::string> kLimitKeys = {"timeout", "cpu_time", "memory", "pids", "output_limit"};
const std::set<std::string> kJobOnlyKeys = {"name", "argv", "command", "stdin", "stdin_file"};
const std::set<std::string> kSandboxOnlyKeys = {"root", "overlay", "network", "binds", "parallel"};

// Unwinds the parse to the boundary, where it becomes a ProfileError.
struct Failure {
  std::string message;
};

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return n.is_array_of_tables() ? "an array of tables" : "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date or time";
    default: return "nothing";
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string join_path(const std::string& base, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return base + "/" + path;
}

class Parser {
 public:
  explicit Parser(const std::string& path) : m_path(path), m_base(directory_of(path)) {}

  Profile parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, m_path);
    } catch (const toml::parse_error& e) {
      throw Failure{where(e.source()) + std::string(e.description())};
    }
    Profile profile;
    profile.path = m_path;
    profile.limits.output_limit = kDefaultOutputLimit;
    std::map<std::string, std::string> env;
    std::string cwd = "/";
    for (auto&& [key, node] : root) {
      std::string k(key.str());
      if (k == "sandbox") {
        const toml::table* t = node.as_table();
        if (!t) fail(node, "sandbox", std::string("want a table ([sandbox]), not ") + type_name(node));
        parse_sandbox(*t, profile, env, cwd);
      } else if (k != "job") {
        fail(key.source(), k, "unknown key: a profile has a [sandbox] table and [[job]] entries");
      }
    }
    if (const toml::node* jobs = root.get("job")) {
      const toml::array* list = jobs->as_array();
      if (!list || !jobs->is_array_of_tables())
        fail(*jobs, "job", std::string("want [[job]] entries (an array of tables), not ") + type_name(*jobs));
      std::map<std::string, int> names;
      int index = 0;
      for (const toml::node& entry : *list) {
        index++;
        Job job = parse_job(*entry.as_table(), index, profile.limits, env, cwd);
        if (auto [it, fresh] = names.emplace(job.name, job.line); !fresh)
          fail(entry, label(index, job.name) + ".name",
               "the name " + quoted(job.name) + " is taken by the job on line " + std::to_string(it->second));
        profile.jobs.push_back(std::move(job));
      }
    }
    return profile;
  }

 private:
  std::string where(const toml::source_region& at) const {
    return m_path + ":" + std::to_string(at.begin.line) + ":" + std::to_string(at.begin.column) + ": ";
  }
  [[noreturn]] void fail(const toml::source_region& at, const std::string& key, const std::string& what) const {
    throw Failure{where(at) + key + ": " + what};
  }
  [[noreturn]] void fail(const toml::node& at, const std::string& key, const std::string& what) const {
    fail(at.source(), key, what);
  }

  static std::string label(int index, const std::string& name) {
    std::string out = "job " + std::to_string(index);
    if (!name.empty()) out += " (" + quoted(name) + ")";
    return out;
  }

  std::string want_string(const toml::node& n, const std::string& key) const {
    if (const auto* s = n.as_string()) return s->get();
    fail(n, key, std::string("want a string, not ") + type_name(n));
  }

  int64_t want_positive(const toml::node& n, const std::string& key, int64_t max) const {
    const auto* i = n.as_integer();
    if (!i) fail(n, key, std::string("want a positive integer, not ") + type_name(n));
    if (i->get() < 1 || i->get() > max)
      fail(n, key, std::to_string(i->get()) + " is out of range: want 1 to " + std::to_string(max));
    return i->get();
  }

  std::chrono::milliseconds want_duration(const toml::node& n, const std::string& key) const {
    if (!n.is_string())
      fail(n, key, std::string("want a duration string such as \"500ms\" or \"2s\", not ") + type_name(n));
    std::string text = n.as_string()->get();
    auto d = parse_duration(text);
    if (!d) fail(n, key, "bad duration " + quoted(text) + ": want a number above 0 with ms, s, m or h (\"500ms\", \"2s\")");
    return *d;
  }

  uint64_t want_size(const toml::node& n, const std::string& key) const {
    if (const auto* i = n.as_integer()) {
      if (i->get() < 0) fail(n, key, "a size cannot be negative");
      return static_cast<uint64_t>(i->get());
    }
    if (!n.is_string())
      fail(n, key, std::string("want a size (bytes, or a string such as \"64M\"), not ") + type_name(n));
    std::string text = n.as_string()->get();
    auto s = parse_size(text);
    if (!s) fail(n, key, "bad size " + quoted(text) + ": want a number of bytes with an optional K, M, G or T (\"64M\")");
    return *s;
  }

  // A limit key (kLimitKeys) into limits.
  void parse_limit(const std::string& k, const toml::node& n, const std::string& key, Limits& limits) const {
    if (k == "timeout") {
      limits.timeout = want_duration(n, key);
    } else if (k == "cpu_time") {
      limits.cpu_time = want_duration(n, key);
    } else if (k == "memory") {
      limits.memory = want_size(n, key);
      if (*limits.memory == 0) fail(n, key, "a memory limit of 0 leaves no room to run");
    } else if (k == "pids") {
      limits.pids = want_positive(n, key, 4194304);
    } else if (k == "output_limit") {
      limits.output_limit = want_size(n, key);
    }
  }

  void parse_env(const toml::node& n, const std::string& key, std::map<std::string, std::string>& env) const {
    const toml::table* t = n.as_table();
    if (!t) fail(n, key, std::string("want a table of strings (env = { NAME = \"value\" }), not ") + type_name(n));
    for (auto&& [name, value] : *t) {
      std::string var(name.str());
      if (var.empty() || var.find('=') != std::string::npos || var.find('\0') != std::string::npos)
        fail(name.source(), key, "bad variable name " + quoted(var));
      env[var] = want_string(value, key + "." + var);
    }
  }

  std::string parse_cwd(const toml::node& n, const std::string& key) const {
    std::string cwd = want_string(n, key);
    if (cwd.empty() || cwd[0] != '/') fail(n, key, "want an absolute path inside the sandbox, not " + quoted(cwd));
    return cwd;
  }

  void parse_sandbox(const toml::table& t, Profile& profile, std::map<std::string, std::string>& env,
                     std::string& cwd) const {
    for (auto&& [key, node] : t) {
      std::string k(key.str());
      std::string full = "sandbox." + k;
      if (kLimitKeys.count(k)) {
        parse_limit(k, node, full, profile.limits);
      } else if (k == "env") {
        parse_env(node, full, env);
      } else if (k == "cwd") {
        cwd = parse_cwd(node, full);
      } else if (k == "root") {
        std::string root = join_path(m_base, want_string(node, full));
        struct stat st;
        if (root.empty() || ::stat(root.c_str(), &st) != 0)
          fail(node, full, root + ": " + (root.empty() ? "empty" : strerror(errno)));
        if (!S_ISDIR(st.st_mode)) fail(node, full, root + ": not a directory");
        profile.root = root;
      } else if (k == "overlay") {
        std::string v = want_string(node, full);
        if (v == "memory") {
          profile.overlay = Overlay::Memory;
        } else if (v == "none") {
          profile.overlay = Overlay::None;
        } else {
          fail(node, full, "want \"memory\" or \"none\", not " + quoted(v) +
                               (v.rfind("dir:", 0) == 0 ? " (jobs running at once cannot share an upper directory)" : ""));
        }
      } else if (k == "network") {
        std::string v = want_string(node, full);
        if (v == "none") {
          profile.network = Network::None;
        } else if (v == "sandbox") {
          profile.network = Network::Sandbox;
        } else if (v == "host") {
          profile.network = Network::Host;
        } else {
          fail(node, full, "want \"none\", \"sandbox\" or \"host\", not " + quoted(v));
        }
      } else if (k == "binds") {
        const toml::array* list = node.as_array();
        if (!list) fail(node, full, std::string("want an array of \"HOST:GUEST[:ro]\" strings, not ") + type_name(node));
        for (const toml::node& entry : *list) {
          auto bind = parse_bind(want_string(entry, full), m_base);
          if (auto* error = std::get_if<std::string>(&bind)) fail(entry, full, *error);
          profile.binds.push_back(std::get<BindMount>(bind));
        }
      } else if (k == "parallel") {
        profile.parallel = static_cast<unsigned>(want_positive(node, full, 4096));
      } else if (kJobOnlyKeys.count(k)) {
        fail(key.source(), full, "belongs in a [[job]] entry, not in [sandbox]");
      } else {
        fail(key.source(), full, "unknown key");
      }
    }
  }

  Job parse_job(const toml::table& t, int index, const Limits& defaults,
                const std::map<std::string, std::string>& env, const std::string& cwd) const {
    Job job;
    job.line = static_cast<int>(t.source().begin.line);
    job.limits = defaults;
    job.env = env;
    job.cwd = cwd;
    // The name first, so that every other message can say which job it is.
    if (const toml::node* name = t.get("name")) {
      job.name = want_string(*name, label(index, "") + ".name");
      if (job.name.empty() || job.name.find_first_of("\n\r") != std::string::npos)
        fail(*name, label(index, "") + ".name", "want a non-empty name on one line");
    } else {
      fail(t, label(index, ""), "has no name (each [[job]] needs a unique name = \"...\")");
    }
    std::string prefix = label(index, job.name) + ".";
    const toml::node* argv = nullptr;
    const toml::node* command = nullptr;
    const toml::node* stdin_data = nullptr;
    for (auto&& [key, node] : t) {
      std::string k(key.str());
      std::string full = prefix + k;
      if (k == "name") continue;
      if (kLimitKeys.count(k)) {
        parse_limit(k, node, full, job.limits);
      } else if (k == "env") {
        parse_env(node, full, job.env);
      } else if (k == "cwd") {
        job.cwd = parse_cwd(node, full);
      } else if (k == "argv") {
        argv = &node;
        const toml::array* list = node.as_array();
        if (!list) fail(node, full, std::string("want an array of strings, not ") + type_name(node));
        for (const toml::node& arg : *list) job.argv.push_back(want_string(arg, full));
        if (job.argv.empty() || job.argv[0].empty()) fail(node, full, "want a program to run: argv[0] is missing or empty");
      } else if (k == "command") {
        command = &node;
        std::string text = want_string(node, full);
        if (text.empty()) fail(node, full, "want a shell command, not an empty string");
        job.argv = {"/bin/sh", "-c", text};
      } else if (k == "stdin") {
        stdin_data = &node;
        job.stdin_data = want_string(node, full);
      } else if (k == "stdin_file") {
        std::string file = join_path(m_base, want_string(node, full));
        struct stat st;
        if (file.empty() || ::stat(file.c_str(), &st) != 0)
          fail(node, full, file + ": " + (file.empty() ? "empty" : strerror(errno)));
        if (!S_ISREG(st.st_mode)) fail(node, full, file + ": not a regular file");
        if (::access(file.c_str(), R_OK) != 0) fail(node, full, file + ": " + strerror(errno));
        job.stdin_file = file;
      } else if (kSandboxOnlyKeys.count(k)) {
        fail(key.source(), full, "can only be set in [sandbox], for every job");
      } else {
        fail(key.source(), full, "unknown key");
      }
    }
    if (argv && command) fail(*command, prefix + "command", "give argv or command, not both");
    if (!argv && !command) fail(t, prefix.substr(0, prefix.size() - 1), "has neither argv nor command");
    if (stdin_data && !job.stdin_file.empty()) fail(*stdin_data, prefix + "stdin", "give stdin or stdin_file, not both");
    return job;
  }

  std::string m_path;
  std::string m_base;
};

// A decimal number with an optional fraction, then the rest.
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) i++;
  std::string digits(text.substr(0, i));
  if (digits.empty() || digits.front() == '.' || digits.back() == '.' || std::count(digits.begin(), digits.end(), '.') > 1)
    return false;
  number = strtod(digits.c_str(), nullptr);
  unit = text.substr(i);
  return std::isfinite(number);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double ms;
  if (unit == "ms") {
    ms = number;
  } else if (unit == "s") {
    ms = number * 1e3;
  } else if (unit == "m") {
    ms = number * 60e3;
  } else if (unit == "h") {
    ms = number * 3600e3;
  } else {
    return std::nullopt;
  }
  // Under a millisecond rounds up: a limit never becomes none.
  if (ms <= 0 || ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(ms)));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  double number;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double scale = 1;
  if (!unit.empty()) {
    const std::string_view prefixes = "KMGT";
    size_t p = prefixes.find(static_cast<char>(toupper(static_cast<unsigned char>(unit[0]))));
    if (p == std::string_view::npos) {
      if (unit != "B") return std::nullopt;
    } else {
      std::string_view rest = unit.substr(1);
      if (!rest.empty() && rest != "B" && rest != "iB") return std::nullopt;
      scale = std::pow(1024.0, static_cast<double>(p + 1));
    }
  }
  double bytes = number * scale;
  if (bytes >= 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::variant<BindMount, std::string> parse_bind(const std::string& text, const std::string& base_dir) {
  BindMount b;
  std::string rest = text;
  size_t last = rest.rfind(':');
  if (last != std::string::npos && (rest.substr(last + 1) == "ro" || rest.substr(last + 1) == "rw")) {
    b.read_only = rest.substr(last + 1) == "ro";
    rest.resize(last);
  }
  size_t colon = rest.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    return "bad bind " + quoted(text) + ": want \"HOST:GUEST\" or \"HOST:GUEST:ro\"";
  b.guest = rest.substr(colon + 1);
  if (b.guest[0] != '/') return "bad bind " + quoted(text) + ": the guest path " + quoted(b.guest) + " is not absolute";
  std::string host = join_path(base_dir, rest.substr(0, colon));
  char* real = realpath(host.c_str(), nullptr);
  if (!real) return "bad bind " + quoted(text) + ": " + host + ": " + strerror(errno);
  b.host = real;
  free(real);
  return b;
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::variant<Profile, ProfileError> parse_profile(std::string_view text, const std::string& path) {
  try {
    return Parser(path).parse(text);
  } catch (const Failure& f) {
    return ProfileError{f.message};
  }
}

std::variant<Profile, ProfileError> load_profile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ProfileError{path + ": " + strerror(errno)};
  if (!S_ISREG(st.st_mode)) return ProfileError{path + ": not a regular file"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return ProfileError{path + ": " + strerror(errno)};
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return ProfileError{path + ": " + strerror(errno)};
  return parse_profile(text.str(), path);
}

}  // namespace moat::batch
