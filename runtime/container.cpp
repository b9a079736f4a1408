#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "fs/fd_table.h"
#include "fs/host_fd_file.h"
#include "fs/ops.h"
#include "runtime/control.h"
#include "runtime/guest_launch.h"
#include "runtime/logging.h"
#include "runtime/state.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"

namespace moat::runtime {

using cli::GuestLaunch;
using cli::LaunchError;
using cli::LaunchSpec;

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---- Signals: a handler that only writes the number to a pipe, read by the
// sentry's main loop (which may then post to the worker; nothing else is
// safe in a handler).

int g_signal_pipe = -1;

void on_signal(int sig) {
  int saved = errno;
  auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe, &byte, 1);
  errno = saved;
}

// The signals the sentry passes on to the guest. Not: the ones it cannot
// catch, those that mean the sentry itself crashed, SIGCHLD (its own stub
// processes ending), SIGPIPE (its own writes), and the two real-time signals
// glibc keeps for itself (SIGCANCEL, SIGSETXID).
bool is_forwarded(int sig) {
  switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE:
    case SIGCHLD: case SIGPIPE: case 32: case 33:
      return false;
    default:
      return sig >= 1 && sig <= 64;
  }
}

std::optional<UniqueFd> install_signal_forwarding(std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    *error = std::string("signal pipe: ") + strerror(errno);
    return std::nullopt;
  }
  UniqueFd read_end(fds[0]);
  g_signal_pipe = fds[1];  // kept for the life of the process
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  for (int sig = 1; sig <= 64; sig++)
    if (is_forwarded(sig)) sigaction(sig, &sa, nullptr);
  return read_end;
}

// What a signal does to a process with no handler for it (signal(7)).
enum class DefaultAction { Terminate, Ignore, Stop };

DefaultAction default_action_of(int sig) {
  switch (sig) {
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: return DefaultAction::Ignore;
    case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGSTOP: return DefaultAction::Stop;
    default: return DefaultAction::Terminate;
  }
}

// A signal from outside the sandbox to one guest process, as a signal from
// an ancestor pid namespace arrives: si_pid 0. The container's init (guest
// pid 1) ignores what it has no handler for, except SIGKILL and SIGSTOP
// (the kernel's sig_task_ignored with SIGNAL_UNKILLABLE), which is why
// `docker stop` of a shell that set no trap waits for its SIGKILL.
void signal_from_host(Process& p, int sig) {
  if (p.zombie) return;
  if (p.pid() == 1 && sig != SIGKILL && sig != SIGSTOP && sig != SIGCONT &&
      p.sigactions[sig].handler == reinterpret_cast<uint64_t>(SIG_DFL))
    return;
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = SI_USER;
  send_signal(p, sig, info);
}

// ---- Console: with process.terminal the guest's stdio is a pty whose
// master goes to the --console-socket, as runc sends it (SCM_RIGHTS, with
// the pty's name as the payload).
// FIXME: a host pty until the guest has its own devpts.

std::string send_fd(const std::string& socket_path, int fd, const std::string& name) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return std::string("console socket: ") + strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) return "console socket " + socket_path + ": path too long";
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return "console socket " + socket_path + ": " + strerror(errno);
  iovec iov{const_cast<char*>(name.data()), name.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  if (::sendmsg(sock.get(), &msg, MSG_NOSIGNAL) < 0) return "console socket " + socket_path + ": " + strerror(errno);
  return {};
}

std::string setup_console(const ContainerOptions& o) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return std::string("opening a pty: ") + strerror(errno);
  char name[128];
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 || ::ptsname_r(master.get(), name, sizeof(name)) != 0)
    return std::string("setting up the pty: ") + strerror(errno);
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return std::string(name) + ": " + strerror(errno);
  if (const auto& size = o.spec.process.console_size) {
    winsize ws{};
    ws.ws_row = size->height;
    ws.ws_col = size->width;
    ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  if (auto error = send_fd(o.console_socket, master.get(), name); !error.empty()) return error;
  for (int fd = 0; fd < 3; fd++)
    if (::dup2(slave.get(), fd) < 0) return std::string("dup2 of the pty: ") + strerror(errno);
  // The pty becomes the sentry's controlling terminal, so ^C there is a
  // SIGINT to the sentry, which forwards it.
  ::ioctl(0, TIOCSCTTY, 0);
  return {};
}

// ---- The sandbox's set-up from the spec.

LaunchSpec launch_spec(const ContainerOptions& o) {
  const oci::ProcessSpec& ps = o.spec.process;
  LaunchSpec spec;
  spec.config.root_dir = oci::rootfs_path(o.spec, o.bundle);
  spec.config.strace = o.strace;
  spec.config.root_overlay =
      o.spec.root_readonly || o.no_overlay ? RootOverlay::None : RootOverlay::Memory;
  if (!o.spec.hostname.empty()) spec.config.hostname = o.spec.hostname;
  spec.argv = ps.args;
  spec.envp = ps.env;
  spec.path_env = kDefaultPath;
  for (const std::string& e : ps.env)
    if (e.rfind("PATH=", 0) == 0) spec.path_env = e.substr(5);
  spec.cwd = ps.cwd;
  spec.configure = [&ps](Process& p) {
    Credentials& c = p.creds;
    c.uid = c.euid = c.suid = ps.user.uid;
    c.gid = c.egid = c.sgid = ps.user.gid;
    c.groups.assign(ps.user.additional_gids.begin(), ps.user.additional_gids.end());
    const oci::Capabilities& caps = ps.capabilities;
    if (caps.effective) c.cap_effective = *caps.effective;
    if (caps.permitted) c.cap_permitted = *caps.permitted;
    if (caps.inheritable) c.cap_inheritable = *caps.inheritable;
    for (const oci::Rlimit& r : ps.rlimits) {
      p.rlimits[static_cast<size_t>(r.resource)].rlim_cur = r.soft;
      p.rlimits[static_cast<size_t>(r.resource)].rlim_max = r.hard;
    }
    p.no_new_privs = ps.no_new_privileges;
  };
  int preserve = o.preserve_fds;
  spec.after_fs = [&ps, preserve](Process& p) -> std::optional<std::string> {
    if (ps.user.umask) p.fs().exchange_umask(*ps.user.umask);
    if (fs::resolve_at(p, AT_FDCWD, ps.cwd, 0).is_error()) {
      // runc makes a missing working directory; so does moat where the
      // root is writable (an overlay).
      std::string path;
      for (size_t pos = 1; pos <= ps.cwd.size(); pos++) {
        if (pos < ps.cwd.size() && ps.cwd[pos] != '/') continue;
        path = ps.cwd.substr(0, pos);
        (void)fs::mkdir_at(p, AT_FDCWD, path, 0755);
      }
      auto cwd = fs::resolve_at(p, AT_FDCWD, ps.cwd, 0);
      if (cwd.is_error() || fs::chdir_to(p, cwd.release_value()).is_error())
        log::warning("process.cwd " + ps.cwd + ": not in the root filesystem and cannot be made: starting in /");
    }
    for (int fd = 3; fd < 3 + preserve; fd++) {
      auto file = fs::wrap_host_stdio(fd);
      if (file.is_error()) return "--preserve-fds: fd " + std::to_string(fd) + ": " + strerror(to_int(file.error()));
      if (auto r = p.fds().install_at(fd, file.release_value(), false, p.rlimits[RLIMIT_NOFILE].rlim_cur);
          r.is_error())
        return "--preserve-fds: fd " + std::to_string(fd) + ": " + strerror(to_int(r.error()));
    }
    return std::nullopt;
  };
  return spec;
}

std::string exec_error_message(const oci::ProcessSpec& ps, const LaunchError& e) {
  if (e.exec_error == Errno::Ok) return e.message;
  const std::string& cmd = ps.args[0];
  std::string reason = strerror(to_int(e.exec_error));
  if (!reason.empty()) reason[0] = static_cast<char>(tolower(reason[0]));
  if (e.exec_error == Errno::NOENT && cmd.find('/') == std::string::npos)
    return "unable to start container process: exec: \"" + cmd + "\": executable file not found in $PATH";
  return "unable to start container process: exec: \"" + cmd + "\": " + reason;
}

enum class Mode { Detached, Foreground };

// The sentry's life: set-up, waiting for start, running, exit status.
class Sentry {
 public:
  Sentry(const ContainerOptions& options, Mode mode, int ready_fd)
      : m_options(options), m_mode(mode), m_ready_fd(ready_fd), m_dir(options.root, options.id) {}

  int run();

 private:
  // Set-up failed: tells `create` (which logs it) or logs it.
  int fail(const std::string& message, int status);
  void record(Status status, int exit_status = -1);
  std::optional<int> on_signal(int sig);
  std::optional<int> serve_connection(int conn);
  void forward(int sig, bool all);

  const ContainerOptions& m_options;
  Mode m_mode;
  int m_ready_fd;
  StateDir m_dir;
  std::unique_ptr<GuestLaunch> m_launch;
};

int Sentry::fail(const std::string& message, int status) {
  if (m_ready_fd >= 0) {
    std::string line = "error " + message + "\n";
    [[maybe_unused]] ssize_t n = ::write(m_ready_fd, line.data(), line.size());
  } else {
    log::error(message);
  }
  return status;
}

void Sentry::record(Status status, int exit_status) {
  ContainerState s;
  s.id = m_options.id;
  s.pid = getpid();
  s.pid_start = live_process_start(getpid()).value_or(0);
  s.status = status;
  s.bundle = m_options.bundle;
  s.rootfs = oci::rootfs_path(m_options.spec, m_options.bundle);
  s.created = m_options.created;
  s.annotations = m_options.spec.annotations;
  s.exit_status = exit_status;
  if (auto error = save_state(m_dir, s); !error.empty() && status != Status::Stopped) log::warning(error);
}

void Sentry::forward(int sig, bool all) {
  GuestLaunch* launch = m_launch.get();
  launch->post([launch, sig, all] {
    Sandbox& sandbox = launch->sandbox();
    if (!all) {
      if (Process* init = sandbox.find_process(1)) signal_from_host(*init, sig);
      return;
    }
    for (Process* p : sandbox.processes()) signal_from_host(*p, sig);
  });
}

// A signal the sentry received (or `kill` asked for): the guest's once it
// runs; before that, it acts on the waiting container as it would on a
// process that has no handlers. Returns an exit status when the sentry ends.
std::optional<int> Sentry::on_signal(int sig) {
  if (m_launch->started()) {
    forward(sig, false);
    return std::nullopt;
  }
  if (default_action_of(sig) != DefaultAction::Terminate) return std::nullopt;
  log::debug("container " + m_options.id + ": ended by signal " + std::to_string(sig) + " before it started");
  return 128 + sig;
}

std::optional<int> Sentry::serve_connection(int conn) {
  auto request = read_request(conn, 2000);
  if (!request) return std::nullopt;
  std::string req = *request;
  if (req == "start") {
    if (m_launch->started()) {
      send_reply(conn, "error cannot start an already running container");
      return std::nullopt;
    }
    m_launch->start();
    record(Status::Running);
    send_reply(conn, "ok");
    return std::nullopt;
  }
  bool all = req.rfind("kill-all ", 0) == 0;
  if (all || req.rfind("kill ", 0) == 0) {
    auto sig = oci::parse_signal(req.substr(req.find(' ') + 1));
    if (!sig) {
      send_reply(conn, "error invalid signal");
      return std::nullopt;
    }
    send_reply(conn, "ok");
    if (m_launch->started()) {
      forward(*sig, all);
      return std::nullopt;
    }
    return on_signal(*sig);
  }
  send_reply(conn, "error unknown request \"" + req + "\"");
  return std::nullopt;
}

int Sentry::run() {
  const oci::Spec& spec = m_options.spec;
  if (spec.process.terminal) {
    if (!m_options.console_socket.empty()) {
      if (auto error = setup_console(m_options); !error.empty()) return fail(error, 1);
    } else if (m_mode == Mode::Detached) {
      return fail("process.terminal is set: a detached container needs --console-socket for its pty", 1);
    }
    // In the foreground the guest shares the caller's terminal.
  }
  if (spec.process.oom_score_adj) {
    UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    std::string value = std::to_string(*spec.process.oom_score_adj);
    if (!fd || ::write(fd.get(), value.data(), value.size()) < 0)
      log::warning("process.oomScoreAdj: " + std::string(strerror(errno)));
  }
  struct stat st;
  std::string rootfs = oci::rootfs_path(spec, m_options.bundle);
  if (::stat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail("root.path " + rootfs + ": " + (errno ? strerror(errno) : "not a directory"), 1);

  std::string error;
  auto signals = install_signal_forwarding(&error);
  if (!signals) return fail(error, 1);
  m_launch = std::make_unique<GuestLaunch>(launch_spec(m_options));
  // runc's wording for a command that cannot run, which Docker turns into
  // exit status 127 or 126; runc itself fails with 1.
  if (auto e = m_launch->prepare()) return fail(exec_error_message(spec.process, *e), 1);
  auto listener = listen_control(m_dir.path(), &error);
  if (!listener) return fail(error, 1);

  if (m_mode == Mode::Foreground) {
    m_launch->start();
    record(Status::Running);
  } else {
    record(Status::Created);
    std::string ok = "ok\n";
    [[maybe_unused]] ssize_t n = ::write(m_ready_fd, ok.data(), ok.size());
    ::close(m_ready_fd);
    m_ready_fd = -1;
  }

  int exit_code = 0;
  for (;;) {
    pollfd fds[3] = {{signals->get(), POLLIN, 0}, {listener->get(), POLLIN, 0}, {m_launch->stub_pidfd(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      log::error(std::string("sentry poll: ") + strerror(errno));
      return 1;
    }
    std::optional<int> done;
    if (fds[0].revents & POLLIN) {
      unsigned char buf[64];
      ssize_t n = ::read(signals->get(), buf, sizeof(buf));
      for (ssize_t i = 0; i < n && !done; i++) done = on_signal(buf[i]);
    }
    if (!done && (fds[1].revents & POLLIN)) {
      for (;;) {
        UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) break;
        if ((done = serve_connection(conn.get()))) break;
      }
    }
    if (!done && (fds[2].revents & POLLIN)) {
      int status = 0;
      while (::waitpid(m_launch->stub_pid(), &status, __WALL) < 0 && errno == EINTR) {
      }
      auto result = m_launch->finish(status);
      if (auto* e = std::get_if<LaunchError>(&result)) {
        log::error(e->message);
        done = e->status;
      } else {
        done = std::get<int>(result);
      }
    }
    if (done) {
      exit_code = *done;
      break;
    }
  }
  // In the foreground the caller removes the state directory.
  if (m_mode == Mode::Detached) record(Status::Stopped, exit_code);
  return exit_code;
}

std::string read_all(int fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

ContainerState initial_state(const ContainerOptions& o) {
  ContainerState s;
  s.id = o.id;
  s.status = Status::Creating;
  s.bundle = o.bundle;
  s.rootfs = oci::rootfs_path(o.spec, o.bundle);
  s.created = o.created;
  s.annotations = o.spec.annotations;
  return s;
}

}  // namespace

int create_container(const ContainerOptions& given) {
  ContainerOptions options = given;
  options.created = log::rfc3339_nano_now();
  StateDir dir(options.root, options.id);
  if (auto error = dir.create(); !error.empty()) {
    log::error(error);
    return 1;
  }
  if (auto error = save_state(dir, initial_state(options)); !error.empty()) {
    log::error(error);
    dir.remove();
    return 1;
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    log::error(std::string("pipe: ") + strerror(errno));
    dir.remove();
    return 1;
  }
  fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    log::error(std::string("fork: ") + strerror(errno));
    dir.remove();
    return 1;
  }
  if (pid == 0) {
    // The sentry: its own session, no longer tied to the caller's terminal
    // or process group, in / so that it holds no directory busy.
    ::close(ready[0]);
    ::setsid();
    if (::chdir("/") != 0) _exit(1);
    int code = Sentry(options, Mode::Detached, ready[1]).run();
    fflush(nullptr);
    _exit(code);
  }
  ::close(ready[1]);
  UniqueFd ready_read(ready[0]);
  std::string reply = read_all(ready_read.get());
  if (reply != "ok\n") {
    std::string message = reply.rfind("error ", 0) == 0 ? reply.substr(6) : "the sentry ended during set-up";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    dir.remove();
    log::error(message);
    return 1;
  }
  if (!options.pid_file.empty()) {
    if (auto error = write_file_atomic(options.pid_file, std::to_string(pid)); !error.empty()) {
      ::kill(pid, SIGKILL);
      dir.remove();
      log::error("--pid-file: " + error);
      return 1;
    }
  }
  return 0;
}

int run_container(const ContainerOptions& given) {
  ContainerOptions options = given;
  options.created = log::rfc3339_nano_now();
  StateDir dir(options.root, options.id);
  if (auto error = dir.create(); !error.empty()) {
    log::error(error);
    return 1;
  }
  if (auto error = save_state(dir, initial_state(options)); !error.empty()) {
    log::error(error);
    dir.remove();
    return 1;
  }
  if (!options.pid_file.empty()) {
    if (auto error = write_file_atomic(options.pid_file, std::to_string(getpid())); !error.empty()) {
      dir.remove();
      log::error("--pid-file: " + error);
      return 1;
    }
  }
  int code = Sentry(options, Mode::Foreground, -1).run();
  // runc run removes the container once its process has ended.
  dir.remove();
  return code;
}

}  // namespace moat::runtime
