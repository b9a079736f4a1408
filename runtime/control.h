#pragma once
// The sentry's control socket (STATE_DIR/control.sock): one request line,
// one reply line per connection.
//
//   start           release the first guest process       -> "ok" | "error MESSAGE"
//   kill SIG        signal the container's init            -> "ok" | "error MESSAGE"
//   kill-all SIG    signal every process of the container  -> "ok" | "error MESSAGE"
//   exec JSON       start a process (JSON: an OCI process object), its
//                   stdin, stdout and stderr passed with the request
//                   (SCM_RIGHTS)                          -> "ok PID" | "error MESSAGE"
//                   The connection then stays open: the caller may send
//                   "signal N" lines, and gets "exit STATUS" when the
//                   process ends; closing it kills the process.
//
// The path is reached through /proc/self/fd/N of the opened state
// directory, so a deep --root never runs into sun_path's 108 bytes.

#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace moat::runtime {

// Binds and listens (non-blocking, close-on-exec). Error message on failure.
std::optional<UniqueFd> listen_control(const std::string& state_dir, std::string* error);

// Reads one request from a freshly accepted connection (waits up to
// timeout_ms for it); nullopt if none came.
std::optional<std::string> read_request(int conn, int timeout_ms);
// The same, keeping the fds that came with it.
std::optional<std::string> read_request(int conn, int timeout_ms, std::vector<UniqueFd>* fds);
void send_reply(int conn, const std::string& reply);

// Sends request, returns the reply line (without "\n"); nullopt with
// *error set when the sentry cannot be reached or does not answer in time.
std::optional<std::string> control_request(const std::string& state_dir, const std::string& request,
                                           std::string* error, int timeout_ms = 10000);

// A connection to the sentry, for a conversation longer than one reply.
std::optional<UniqueFd> control_connect(const std::string& state_dir, std::string* error);
// Sends one line with fds attached. Error message, empty on success.
std::string send_line_with_fds(int conn, const std::string& line, const std::vector<int>& fds);
// Reads one line (without "\n") within timeout_ms (-1: no limit).
std::optional<std::string> read_line_from(int conn, int timeout_ms);

}  // namespace moat::runtime
