#pragma once
// The OCI commands' log (runc's --log, --log-format, --debug): one line per
// message, as logrus writes them, so containerd's shim can read the last
// error line when a command fails.
//
//   text: time="2024-01-02T03:04:05Z" level=error msg="container \"x\" does not exist"
//   json: {"level":"error","msg":"container \"x\" does not exist","time":"2024-01-02T03:04:05Z"}
//
// Without --log the lines go to stderr; text there reads "moat: warning: ...".
// With --log, errors are also printed to stderr as "moat: ...".

#include <string>

namespace moat::log {

enum class Level { Debug, Info, Warning, Error };
enum class Format { Text, Json };

struct Options {
  std::string file;        // --log; empty: stderr
  Format format = Format::Text;
  bool debug = false;      // --debug: debug lines too
  std::string debug_file;  // --debug-log PATH: every line, debug included, as text
};

// Opens the log files. Returns an error message, empty on success.
std::string configure(const Options& options);

void write(Level level, const std::string& message);
inline void debug(const std::string& m) { write(Level::Debug, m); }
inline void info(const std::string& m) { write(Level::Info, m); }
inline void warning(const std::string& m) { write(Level::Warning, m); }
inline void error(const std::string& m) { write(Level::Error, m); }

// One log line without its newline (exposed for the tests).
std::string format_line(Format format, Level level, const std::string& message, const std::string& time);

// Now in UTC, RFC 3339 with seconds ("2024-01-02T03:04:05Z").
std::string rfc3339_now();
// Now in UTC with nanoseconds, as runc writes a container's "created".
std::string rfc3339_nano_now();

}  // namespace moat::log
