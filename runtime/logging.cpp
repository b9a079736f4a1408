#include "runtime/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"

namespace moat::log {

namespace {

struct State {
  Options options;
  UniqueFd file;
  UniqueFd debug_file;
};

State& state() {
  static State s;
  return s;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

// Go's %q, near enough: quotes, backslashes and control characters escaped.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

UniqueFd open_log(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
}

std::string format_time(bool nanos) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  if (nanos) n += static_cast<size_t>(snprintf(buf + n, sizeof(buf) - n, ".%09ld", ts.tv_nsec));
  snprintf(buf + n, sizeof(buf) - n, "Z");
  return buf;
}

}  // namespace

std::string configure(const Options& options) {
  State& s = state();
  s.options = options;
  s.file.reset();
  s.debug_file.reset();
  if (!options.file.empty()) {
    s.file = open_log(options.file);
    if (!s.file) return "--log " + options.file + ": " + strerror(errno);
  }
  if (!options.debug_file.empty()) {
    s.debug_file = open_log(options.debug_file);
    if (!s.debug_file) return "--debug-log " + options.debug_file + ": " + strerror(errno);
  }
  return {};
}

std::string format_line(Format format, Level level, const std::string& message, const std::string& time) {
  if (format == Format::Json) {
    // Keys in logrus's (sorted) order.
    nlohmann::ordered_json line = {{"level", level_name(level)}, {"msg", message}, {"time", time}};
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return "time=\"" + time + "\" level=" + level_name(level) + " msg=" + quoted(message);
}

void write(Level level, const std::string& message) {
  State& s = state();
  std::string time = rfc3339_now();
  if (s.debug_file) write_all(s.debug_file.get(), format_line(Format::Text, level, message, time) + "\n");
  if (level == Level::Debug && !s.options.debug) return;
  if (s.file) {
    write_all(s.file.get(), format_line(s.options.format, level, message, time) + "\n");
    if (level == Level::Error) write_all(2, "moat: " + message + "\n");
    return;
  }
  if (s.options.format == Format::Json) {
    write_all(2, format_line(Format::Json, level, message, time) + "\n");
  } else if (level == Level::Error) {
    write_all(2, "moat: " + message + "\n");
  } else {
    write_all(2, std::string("moat: ") + level_name(level) + ": " + message + "\n");
  }
}

std::string rfc3339_now() { return format_time(false); }
std::string rfc3339_nano_now() { return format_time(true); }

}  // namespace moat::log
