#pragma once
// `moat do -t`: the user's terminal bridged to a pty inside the sandbox
// (fs/pty.h). The guest's stdio is the pty's replica; the sentry copies the
// user's keystrokes to the master and the master's output to the user, on
// the sandbox's worker (coroutines over io_uring), with the host terminal in
// raw mode so that ^C, ^Z and line editing happen in the sandbox's line
// discipline. The window size follows the host terminal's (SIGWINCH).

#include <sys/ioctl.h>
#include <termios.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "fs/file.h"

namespace moat::cli {

class HostTerminal {
 public:
  // The terminal on in_fd (the user's stdin); output goes to out_fd. Fails
  // with a message when in_fd is not a terminal.
  static ErrorOr<std::unique_ptr<HostTerminal>> open(int in_fd, int out_fd);
  ~HostTerminal();  // restores the terminal's settings
  HostTerminal(const HostTerminal&) = delete;
  struct Shared;  // what the copy loops share with finish()

  struct winsize window_size() const;
  // Raw mode, then the copy loops, run by post (the sandbox's worker).
  void start(RefPtr<fs::File> master, const std::function<void(std::function<void()>)>& post);
  // The guest has ended: copies what it left in the pty, waiting at most
  // timeout for the user's terminal to take it, then restores the terminal.
  void finish(const std::function<void(std::function<void()>)>& post, std::chrono::milliseconds timeout);

 private:
  HostTerminal(int in_fd, int out_fd, const struct termios& saved) : m_in(in_fd), m_out(out_fd), m_saved(saved) {}
  void restore();

  int m_in;
  int m_out;
  struct termios m_saved;
  bool m_raw = false;
  RefPtr<fs::File> m_master;
  std::shared_ptr<Shared> m_shared;
};

}  // namespace moat::cli
