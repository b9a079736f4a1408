#include "runtime/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/host_fd_file.h"
#include "fs/ops.h"
#include "fs/pty.h"
#include "runtime/container.h"
#include "runtime/control.h"
#include "runtime/guest_launch.h"
#include "runtime/logging.h"
#include "runtime/state.h"
#include "sentry/io/coro.h"
#include "sentry/kernel/exec.h"
#include "sentry/kernel/lifecycle.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"
#include "sentry/platform/stub_process.h"
#include "sentry/platform/worker.h"

namespace moat::runtime {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// runc's wording for a command that cannot run (Docker turns it into 126/127).
std::string exec_failure(const std::string& cmd, Errno e) {
  std::string reason = strerror(to_int(e));
  if (!reason.empty()) reason[0] = static_cast<char>(tolower(reason[0]));
  if (e == Errno::NOENT && cmd.find('/') == std::string::npos)
    return "exec failed: unable to start container process: exec: \"" + cmd + "\": executable file not found in $PATH";
  return "exec failed: unable to start container process: exec: \"" + cmd + "\": " + reason;
}

// On the worker: everything GuestLaunch::prepare and start do for the
// first process, for one more.
std::variant<ExecStarted, std::string> start_on_worker(cli::GuestLaunch& launch, const oci::ProcessSpec& ps,
                                                       std::vector<UniqueFd>& stdio) {
  Sandbox& sandbox = launch.sandbox();
  Process* init = sandbox.find_process(1);
  if (!init || init->zombie) return std::string("cannot exec in a stopped container");
  if (sandbox.live_tasks() >= Sandbox::kMaxTasks) return std::string("the sandbox has no room for another task");
  Worker* worker = launch.process().worker;
  pid_t pid = sandbox.allocate_pid();
  auto owned = std::make_unique<Process>(sandbox, pid);
  Process& p = *owned;
  // Its parent is outside the sandbox (the caller of exec), as a process
  // runc joins to a container's pid namespace has none inside it.
  p.set_ppid(0);
  p.pgid = pid;
  p.sid = pid;
  p.rlimits = init->rlimits;
  const std::string& cmd = ps.path.empty() ? ps.args[0] : ps.path;
  p.comm = cmd.substr(cmd.rfind('/') + 1);
  Thread& t = p.add_thread(0, pid);
  t.name = p.comm.substr(0, 15);
  apply_process_spec(p, ps);

  if (auto r = fs::setup_process_fs(sandbox, p, ps.cwd); r.is_error())
    return "setting up the process's filesystem view: " + std::string(strerror(to_int(r.error())));
  if (ps.user.umask) p.fs().exchange_umask(*ps.user.umask);
  auto table = std::make_shared<fs::FdTable>();
  for (size_t fd = 0; fd < 3 && fd < stdio.size(); fd++) {
    if (!stdio[fd]) continue;
    auto file = fs::wrap_host_stdio(stdio[fd].get());
    if (file.is_error()) return "stdio fd " + std::to_string(fd) + ": " + strerror(to_int(file.error()));
    if (auto r = table->install_at(static_cast<int>(fd), file.release_value(), false, p.rlimits[RLIMIT_NOFILE].rlim_cur);
        r.is_error())
      return "stdio fd " + std::to_string(fd) + ": " + strerror(to_int(r.error()));
  }
  p.set_fds(std::move(table));
  RefPtr<fs::File> pty_master;
  UniqueFd console;
  if (ps.terminal && !stdio.empty() && stdio[0] && ::isatty(stdio[0].get())) {
    struct winsize size {};
    ::ioctl(stdio[0].get(), TIOCGWINSZ, &size);
    auto master = fs::attach_new_pty(p, size);
    if (master.is_error()) return "creating the terminal: " + std::string(strerror(to_int(master.error())));
    pty_master = master.release_value();
    console = std::move(stdio[0]);
  }

  std::string path_env = kDefaultPath;
  for (const std::string& e : ps.env)
    if (e.rfind("PATH=", 0) == 0) path_env = e.substr(5);
  auto resolved = fs::resolve_exec(p, cmd, path_env);
  if (resolved.is_error()) return exec_failure(cmd, resolved.error());
  auto plan = prepare_exec(p, resolved.value(), ps.args, ps.env);
  if (plan.is_error()) return exec_failure(cmd, plan.error());
  auto stub = StubProcess::create();
  if (stub.is_error()) return "creating the process's host process: " + std::string(strerror(to_int(stub.error())));
  p.set_stub(stub.release_value());
  ExecStarted started;
  started.guest_pid = pid;
  started.stub_pid = p.stub().host_pid();
  started.stub_pidfd = UniqueFd(::fcntl(p.stub().pidfd(), F_DUPFD_CLOEXEC, 3));
  if (!started.stub_pidfd) return std::string("pidfd: ") + strerror(errno);
  started.pty_master = pty_master;
  started.console = std::move(console);
  sandbox.add_process(std::move(owned));
  p.worker = worker;
  worker->attach(&p);
  spawn(start_guest(t, plan.release_value()), [&p](ErrorOr<int64_t> r) {
    if (r.is_error()) p.kill_with_signal(SIGKILL);
  });
  return started;
}

template <typename T>
std::optional<T> run_on_worker(cli::GuestLaunch& launch, std::function<T()> fn) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  launch.post([promise, fn = std::move(fn)] { promise->set_value(fn()); });
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace

void apply_process_spec(Process& p, const oci::ProcessSpec& ps) {
  Credentials& c = p.creds;
  c.uid = c.euid = c.suid = ps.user.uid;
  c.gid = c.egid = c.sgid = ps.user.gid;
  c.groups.assign(ps.user.additional_gids.begin(), ps.user.additional_gids.end());
  const oci::Capabilities& caps = ps.capabilities;
  if (caps.effective) c.cap_effective = *caps.effective;
  if (caps.permitted) c.cap_permitted = *caps.permitted;
  if (caps.inheritable) c.cap_inheritable = *caps.inheritable;
  // A non-root user without capability lists has none (capabilities(7):
  // a uid other than 0 starts with empty sets).
  if (ps.user.uid != 0 && !caps.effective) c.cap_effective = 0;
  if (ps.user.uid != 0 && !caps.permitted) c.cap_permitted = 0;
  for (const oci::Rlimit& r : ps.rlimits) {
    p.rlimits[static_cast<size_t>(r.resource)].rlim_cur = r.soft;
    p.rlimits[static_cast<size_t>(r.resource)].rlim_max = r.hard;
  }
  p.no_new_privs = ps.no_new_privileges;
}

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

std::variant<ExecStarted, std::string> start_exec_process(cli::GuestLaunch& launch, const oci::ProcessSpec& ps,
                                                          std::vector<UniqueFd> stdio) {
  auto shared_stdio = std::make_shared<std::vector<UniqueFd>>(std::move(stdio));
  auto shared_started = std::make_shared<std::variant<ExecStarted, std::string>>(std::string());
  auto ok = run_on_worker<bool>(launch, [&launch, ps, shared_stdio, shared_started] {
    *shared_started = start_on_worker(launch, ps, *shared_stdio);
    return true;
  });
  if (!ok) return std::string("the sandbox did not start the process in time");
  return std::move(*shared_started);
}

int finish_exec_process(cli::GuestLaunch& launch, pid_t guest_pid) {
  auto status = run_on_worker<int>(launch, [&launch, guest_pid] {
    Sandbox& sandbox = launch.sandbox();
    Process* p = sandbox.find_process(guest_pid);
    if (!p) return static_cast<int>(SIGKILL);
    if (!p->zombie) {
      int recorded = p->exit_status.load();
      process_exited(*p, recorded >= 0 ? recorded : SIGKILL);
    }
    int s = p->exit_status.load();
    if (p->ppid() == 0 && !p->reaped) sandbox.reap(*p);
    return s;
  });
  if (!status) return 137;
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) return 128 + WTERMSIG(*status);
  return 1;
}

void signal_exec_process(cli::GuestLaunch& launch, pid_t guest_pid, int sig) {
  launch.post([&launch, guest_pid, sig] {
    if (Process* p = launch.sandbox().find_process(guest_pid)) signal_from_host(*p, sig);
  });
}

// ---- The caller's half.

namespace {

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

// The stand-in's life once the sentry runs the process: forwards signals,
// returns the status the sentry reports.
int stand_in(int conn) {
  std::string error;
  auto forwarded = install_signal_forwarding(&error);
  if (!forwarded) return 1;
  UniqueFd signals = std::move(*forwarded);
  for (;;) {
    pollfd p[2] = {{conn, POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[1].revents & POLLIN) {
      unsigned char buf[64];
      ssize_t n = ::read(signals.get(), buf, sizeof(buf));
      for (ssize_t i = 0; i < n; i++) {
        std::string line = "signal " + std::to_string(buf[i]) + "\n";
        [[maybe_unused]] ssize_t w = ::send(conn, line.data(), line.size(), MSG_NOSIGNAL);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto line = read_line_from(conn, 5000);
      // The sentry is gone: the container ended, and its processes with it.
      if (!line) return 137;
      if (line->rfind("exit ", 0) == 0) return atoi(line->c_str() + 5);
    }
  }
}

}  // namespace

std::variant<UniqueFd, std::string> open_console(const std::string& console_socket,
                                                 const std::optional<oci::ConsoleSize>& size) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return std::string("opening a pty: ") + strerror(errno);
  char name[128];
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 || ::ptsname_r(master.get(), name, sizeof(name)) != 0)
    return std::string("setting up the pty: ") + strerror(errno);
  UniqueFd replica(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!replica) return std::string(name) + ": " + strerror(errno);
  if (size) {
    winsize ws{};
    ws.ws_row = size->height;
    ws.ws_col = size->width;
    ::ioctl(replica.get(), TIOCSWINSZ, &ws);
  }
  if (auto error = send_fd(console_socket, master.get(), name); !error.empty()) return error;
  return replica;
}

int exec_in_container(const ExecOptions& o) {
  // runc's checks of a terminal and a console socket (checkTerminal), and
  // its wording: a detached terminal needs the socket, and the socket is
  // only for a detached terminal.
  if (o.detach && o.process.terminal && o.console_socket.empty()) {
    log::error("exec failed: cannot allocate tty if moat will detach without setting console socket");
    return kExecFailure;
  }
  if ((!o.detach || !o.process.terminal) && !o.console_socket.empty()) {
    log::error("exec failed: cannot use console socket if moat will not detach or allocate tty");
    return kExecFailure;
  }
  // In the foreground the process's terminal is bridged to the caller's,
  // which runc finds on stdio or else as /dev/tty.
  if (o.process.terminal && !o.detach && !::isatty(0) && !::isatty(1) && !::isatty(2)) {
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!tty) {
      log::error(std::string("exec failed: open /dev/tty: ") + strerror(errno));
      return kExecFailure;
    }
  }
  // The stdio the process gets: a new pty with a terminal and a console
  // socket, else this process's own.
  UniqueFd console;
  if (o.process.terminal && !o.console_socket.empty()) {
    auto c = open_console(o.console_socket, o.process.console_size);
    if (auto* e = std::get_if<std::string>(&c)) {
      log::error(*e);
      return kExecFailure;
    }
    console = std::move(std::get<UniqueFd>(c));
  }
  std::vector<int> stdio;
  for (int fd = 0; fd < 3; fd++) stdio.push_back(console ? console.get() : fd);

  int ready[2] = {-1, -1};
  pid_t child = 0;
  if (o.detach) {
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      log::error(std::string("pipe: ") + strerror(errno));
      return kExecFailure;
    }
    fflush(nullptr);
    child = ::fork();
    if (child < 0) {
      log::error(std::string("fork: ") + strerror(errno));
      return kExecFailure;
    }
    if (child > 0) {
      // The caller: waits for the word from the stand-in, then leaves it to
      // the shim, with its pid in the pid file.
      ::close(ready[1]);
      std::string reply;
      char buf[512];
      for (;;) {
        ssize_t n = ::read(ready[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
      }
      ::close(ready[0]);
      if (reply != "ok\n") {
        std::string message = reply.rfind("error ", 0) == 0 ? reply.substr(6) : "exec: the process did not start";
        while (!message.empty() && message.back() == '\n') message.pop_back();
        ::kill(child, SIGKILL);
        while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
        }
        log::error(message);
        return kExecFailure;
      }
      if (!o.pid_file.empty()) {
        if (auto error = write_file_atomic(o.pid_file, std::to_string(child)); !error.empty()) {
          ::kill(child, SIGKILL);
          log::error("--pid-file: " + error);
          return kExecFailure;
        }
      }
      return 0;
    }
    ::close(ready[0]);
    ::setsid();
    // The pty becomes the stand-in's controlling terminal: a resize of it
    // (the shim's TIOCSWINSZ on the master) is a SIGWINCH here, which the
    // sentry turns into the guest pty's new size.
    if (console) ::ioctl(console.get(), TIOCSCTTY, 0);
  }
  auto report_error = [&](const std::string& message) {
    if (o.detach) {
      std::string line = "error " + message + "\n";
      [[maybe_unused]] ssize_t n = ::write(ready[1], line.data(), line.size());
      _exit(1);
    }
    log::error(message);
    return kExecFailure;
  };
  std::string error;
  auto conn = control_connect(o.state_dir, &error);
  if (!conn) return report_error(error);
  if (auto e = send_line_with_fds(conn->get(), "exec " + o.process_json, stdio); !e.empty()) return report_error(e);
  auto reply = read_line_from(conn->get(), 30000);
  if (!reply) return report_error("the container's sentry did not answer the exec request");
  if (reply->rfind("ok", 0) != 0)
    return report_error(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
  // Only the guest process holds the stdio now: the shim sees EOF when it ends.
  console.reset();
  if (o.detach) {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
    if (null > 2) ::close(null);
    [[maybe_unused]] ssize_t n = ::write(ready[1], "ok\n", 3);
    ::close(ready[1]);
    _exit(stand_in(conn->get()));
  }
  if (!o.pid_file.empty())
    if (auto e = write_file_atomic(o.pid_file, std::to_string(getpid())); !e.empty()) log::warning("--pid-file: " + e);
  return stand_in(conn->get());
}

}  // namespace moat::runtime
