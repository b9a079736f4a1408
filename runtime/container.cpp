#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "fs/fd_table.h"
#include "fs/host_fd_file.h"
#include "fs/mounts.h"
#include "fs/vfs.h"
#include "fs/ops.h"
#include "runtime/cgroups.h"
#include "runtime/control.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"
#include "runtime/guest_launch.h"
#include "runtime/logging.h"
#include "runtime/state.h"
#include "runtime/terminal.h"
#include "fs/pty.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/signals.h"

namespace moat::runtime {

using cli::GuestLaunch;
using cli::LaunchError;
using cli::LaunchSpec;

// ---- Signals: a handler that only writes the number to a pipe, read by the
// sentry's main loop (which may then post to the worker; nothing else is
// safe in a handler).

namespace {

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

}  // namespace

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

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What a signal does to a process with no handler for it (signal(7)).
enum class DefaultAction { Terminate, Ignore, Stop };

DefaultAction default_action_of(int sig) {
  switch (sig) {
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: return DefaultAction::Ignore;
    case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGSTOP: return DefaultAction::Stop;
    default: return DefaultAction::Terminate;
  }
}

// ---- Console: with process.terminal the guest's stdio is a pty of the
// sandbox (fs/pty.h), bridged by the sentry (runtime/terminal.h) to a host
// pty whose master goes to the --console-socket as runc sends it
// (SCM_RIGHTS, the pty's name as payload). The host pty is raw, so ^C,
// ^Z and line editing happen in the sandbox's line discipline; a resize
// of it is a SIGWINCH to the sentry (its controlling terminal), which
// sets the sandbox pty's size.

// ---- The sandbox's set-up from the spec.

std::string mount_error(const oci::Mount& m, size_t index, const std::string& what, Errno e) {
  std::string type = m.type.empty() ? "bind" : m.type;
  return "mounts[" + std::to_string(index) + "] (" + type + " " + m.source + " on " + m.destination + "): " + what +
         ": " + strerror(to_int(e));
}

// The spec's mounts (in order), then maskedPaths and readonlyPaths, on the
// sandbox's VFS before the guest runs. Provided mounts (/proc, /sys, /dev...)
// are the sandbox's own; unsupported ones were warned about when parsing.
// Flags (nosuid, nodev, noexec, ro on a tmpfs) are a remount of the new
// mount, as runc does them. A failing mount fails the container, as with
// runc; a masked or read-only path that cannot be done is a warning.
//
// root_read_only: the root is a writable overlay (so that missing mount
// points could be made, as runc makes them in the root before its
// read-only remount) and becomes read-only last.
std::optional<std::string> apply_spec_mounts(Sandbox& sandbox, const oci::Spec& spec, const std::string& bundle,
                                             bool root_read_only) {
  fs::Vfs& vfs = sandbox.vfs();
  fs::Caller root_caller;
  for (size_t i = 0; i < spec.mounts.size(); i++) {
    const oci::Mount& m = spec.mounts[i];
    oci::MountKind kind = oci::mount_kind(m);
    if (kind != oci::MountKind::Bind && kind != oci::MountKind::Tmpfs) continue;
    oci::MountOptions opts = oci::split_mount_options(m.options);
    if (kind == oci::MountKind::Bind) {
      // runc resolves a relative source from the bundle (its working directory).
      std::string source = m.source[0] == '/' ? m.source : bundle + "/" + m.source;
      auto access = (opts.flags & MS_RDONLY) ? fs::Vfs::Access::ReadOnly : fs::Vfs::Access::ReadWrite;
      if (auto r = vfs.bind_host_path(source, m.destination, access); r.is_error())
        return mount_error(m, i, "bind mount", r.error());
    } else {
      uint64_t size = 0;
      mode_t mode = 01777;
      std::string data;
      for (size_t pos = 0; pos < opts.data.size();) {
        size_t comma = opts.data.find(',', pos);
        if (comma == std::string::npos) comma = opts.data.size();
        std::string opt = opts.data.substr(pos, comma - pos);
        pos = comma + 1;
        for (const char* key : {"size=", "mode=", "uid=", "gid="})
          if (opt.rfind(key, 0) == 0) data += (data.empty() ? "" : ",") + opt;
      }
      auto parsed = fs::parse_tmpfs_options(data);
      if (parsed.is_error()) return mount_error(m, i, "tmpfs options \"" + data + "\"", parsed.error());
      size = parsed.value().size;
      mode = parsed.value().mode;
      // As runc does: a tmpfs on an existing directory takes that
      // directory's mode (Docker's --tmpfs /tmp stays 1777), mode= or not.
      fs::Location top = vfs.root();
      if (auto existing = vfs.resolve(root_caller, top, top, m.destination, fs::kFollowLast); !existing.is_error())
        if (auto st = existing.value().node().stat(); !st.is_error() && S_ISDIR(st.value().st_mode))
          mode = st.value().st_mode & 07777;
      if (auto r = vfs.mount_tmpfs(m.destination, size, mode); r.is_error())
        return mount_error(m, i, "tmpfs", r.error());
      // uid= and gid= own the new tmpfs's root (tmpfs(5)).
      if (parsed.value().uid || parsed.value().gid) {
        auto root = vfs.resolve(root_caller, top, top, m.destination, fs::kFollowLast);
        if (root.is_error()) return mount_error(m, i, "finding the new tmpfs", root.error());
        if (auto r = root.value().node().chown(root_caller, parsed.value().uid, parsed.value().gid); r.is_error())
          return mount_error(m, i, "tmpfs uid=/gid=", r.error());
      }
    }
    unsigned long extra = opts.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | (kind == oci::MountKind::Tmpfs ? MS_RDONLY : 0));
    if (extra) {
      fs::Location top = vfs.root();
      auto loc = vfs.resolve(root_caller, top, top, m.destination, fs::kFollowLast);
      if (loc.is_error()) return mount_error(m, i, "finding the new mount", loc.error());
      unsigned long flags = opts.flags | (kind == oci::MountKind::Tmpfs ? MS_NOSUID | MS_NODEV : 0);
      if (auto r = vfs.remount(*vfs.initial_ns(), loc.value(), flags, "", true); r.is_error())
        return mount_error(m, i, "applying the mount flags", r.error());
    }
  }
  for (const std::string& path : spec.masked_paths)
    if (auto r = vfs.mask_path(path); r.is_error())
      log::warning("linux.maskedPaths: " + path + ": not masked: " + strerror(to_int(r.error())));
  for (const std::string& path : spec.readonly_paths)
    if (auto r = vfs.make_path_read_only(path); r.is_error())
      log::warning("linux.readonlyPaths: " + path + ": not made read-only: " + strerror(to_int(r.error())));
  if (root_read_only)
    if (auto r = vfs.remount(*vfs.initial_ns(), vfs.root(), MS_RDONLY, "", true); r.is_error())
      return "root.readonly: remounting the root read-only: " + std::string(strerror(to_int(r.error())));
  return std::nullopt;
}

// linux.sysctl: "net.ipv4.ip_forward" (or "net/ipv4/ip_forward") as the
// path below /proc/sys.
std::string sysctl_path(const std::string& name) {
  std::string path = name;
  for (char& c : path)
    if (c == '.') c = '/';
  return path;
}

// A sysctl's value as the kernel shows it once written: a list of numbers
// ("32768 60999") separated by tabs, then a newline.
std::string sysctl_text(const std::string& value) {
  std::vector<std::string> words;
  bool numbers = true;
  for (size_t pos = 0; pos < value.size();) {
    size_t start = value.find_first_not_of(" \t\n", pos);
    if (start == std::string::npos) break;
    size_t end = value.find_first_of(" \t\n", start);
    if (end == std::string::npos) end = value.size();
    words.push_back(value.substr(start, end - start));
    numbers &= words.back().find_first_not_of("-0123456789") == std::string::npos;
    pos = end;
  }
  if (!numbers || words.empty()) return value + "\n";
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : "\t") + w;
  return out + "\n";
}

LaunchSpec launch_spec(const ContainerOptions& o) {
  const oci::ProcessSpec& ps = o.spec.process;
  LaunchSpec spec;
  spec.config.root_dir = oci::rootfs_path(o.spec, o.bundle);
  spec.config.strace = o.strace;
  // A read-only root is the host's directory as it is, unless the spec
  // mounts something on it: then an overlay (where missing mount points
  // can be made) that becomes read-only once the mounts are done.
  bool mounts_on_root = false;
  for (const oci::Mount& m : o.spec.mounts) {
    oci::MountKind kind = oci::mount_kind(m);
    mounts_on_root |= kind == oci::MountKind::Bind || kind == oci::MountKind::Tmpfs;
  }
  bool late_read_only = o.spec.root_readonly && mounts_on_root && !o.no_overlay;
  spec.config.root_overlay =
      (o.spec.root_readonly && !late_read_only) || o.no_overlay ? RootOverlay::None : RootOverlay::Memory;
  spec.config.root_exclusive = true;  // the bundle's rootfs is the container's alone
  if (!o.spec.hostname.empty()) spec.config.hostname = o.spec.hostname;
  if (!o.spec.domainname.empty()) spec.config.domainname = o.spec.domainname;
  runtime::choose_network(o.network, o.spec.namespaces, spec.config);
  for (const auto& [name, value] : o.spec.sysctl) {
    std::string path = sysctl_path(name);
    spec.config.sysctls[path] = sysctl_text(value);
    // runc writes the sysctls after setting the domain name: they win.
    if (path == "kernel/domainname") spec.config.domainname = value;
  }
  spec.argv = ps.args;
  spec.envp = ps.env;
  spec.path_env = kDefaultPath;
  for (const std::string& e : ps.env)
    if (e.rfind("PATH=", 0) == 0) spec.path_env = e.substr(5);
  spec.cwd = ps.cwd;
  spec.configure = [&ps](Process& p) { apply_process_spec(p, ps); };
  int preserve = o.preserve_fds;
  spec.after_fs = [&o, &ps, preserve, late_read_only](Process& p) -> std::optional<std::string> {
    // The spec's mounts, before the cwd is resolved (it may be in one);
    // then the process's root and cwd again, so that they see them.
    if (auto error = apply_spec_mounts(p.sandbox(), o.spec, o.bundle, late_read_only)) return error;
    if (auto r = fs::setup_process_fs(p.sandbox(), p, ps.cwd); r.is_error())
      return "setting up the sandbox filesystem: " + std::string(strerror(to_int(r.error())));
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

// runc refuses net.* sysctls for a container in the host's network
// namespace, also when the spec's path names that namespace.
std::string check_net_sysctls(const SandboxConfig& config, const oci::Spec& spec) {
  if (config.network != NetworkMode::Join) return {};
  struct stat ns, self;
  if (::stat(config.netns_path.c_str(), &ns) != 0 || ::stat("/proc/self/ns/net", &self) != 0) return {};
  if (ns.st_dev != self.st_dev || ns.st_ino != self.st_ino) return {};
  for (const auto& [name, value] : spec.sysctl)
    if (sysctl_path(name).rfind("net/", 0) == 0)
      return "linux.sysctl: sysctl \"" + name + "\" not allowed in host network namespace";
  return {};
}

enum class Mode { Detached, Foreground };

// The sentry's life: set-up, waiting for start, running, exit status.
class Sentry {
 public:
  Sentry(const ContainerOptions& options, Mode mode, int ready_fd)
      : m_options(options),
        m_mode(mode),
        m_ready_fd(ready_fd),
        m_dir(options.root, options.id),
        m_cgroup(Cgroup::for_container(options.spec.cgroups_path, options.id)) {}

  int run();
  // In the foreground: back to where the caller was, the container's
  // cgroup removed (once the sandbox's processes are gone).
  void leave_cgroup() const {
    if (m_in_cgroup) m_cgroup.leave_and_remove(getpid(), m_saved_cgroups);
  }

 private:
  // A process started by `exec`: the caller's connection stays open for
  // its signals and gets its exit status.
  struct ExecSession {
    UniqueFd conn;
    pid_t guest_pid;
    pid_t stub_pid;
    UniqueFd stub_pidfd;
    bool caller_gone = false;
    // With a terminal: the caller's pty, bridged to the process's.
    UniqueFd console;
    RefPtr<fs::File> pty_master;
    std::unique_ptr<cli::HostTerminal> terminal;
  };

  // Set-up failed: tells `create` (which logs it) or logs it.
  int fail(const std::string& message, int status);
  ContainerState snapshot(Status status, int exit_status = -1) const;
  void record(Status status, int exit_status = -1);
  std::string join_cgroup();
  std::string run_create_hooks();
  std::string run_start_container_hooks();
  void run_poststart_hooks();
  std::optional<int> on_signal(int sig);
  std::optional<int> serve_connection(UniqueFd& conn);
  void start_exec(UniqueFd& conn, const std::string& process_json, std::vector<UniqueFd> fds);
  void serve_exec_caller(ExecSession& session);
  void end_exec(ExecSession& session);
  void forward(int sig, bool all);

  const ContainerOptions& m_options;
  Mode m_mode;
  int m_ready_fd;
  StateDir m_dir;
  Cgroup m_cgroup;
  bool m_in_cgroup = false;
  std::string m_saved_cgroups;  // /proc/self/cgroup before joining
  std::string open_terminal();
  void start_terminal();
  std::function<void(std::function<void()>)> poster();

  std::unique_ptr<GuestLaunch> m_launch;
  bool m_start_requested = false;
  std::vector<std::unique_ptr<ExecSession>> m_execs;
  UniqueFd m_console;  // the host pty from --console-socket
  std::unique_ptr<cli::HostTerminal> m_terminal;
  RefPtr<fs::File> m_pty_master;
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

ContainerState Sentry::snapshot(Status status, int exit_status) const {
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
  if (m_in_cgroup) s.cgroup = m_cgroup.path();
  return s;
}

void Sentry::record(Status status, int exit_status) {
  if (auto error = save_state(m_dir, snapshot(status, exit_status)); !error.empty() && status != Status::Stopped)
    log::warning(error);
}

std::string Sentry::run_create_hooks() {
  const oci::Hooks& hooks = m_options.spec.hooks;
  std::string state = state_json(snapshot(Status::Created), Status::Created).dump();
  for (auto [kind, list] : {std::pair{"prestart", &hooks.prestart}, std::pair{"createRuntime", &hooks.create_runtime},
                            std::pair{"createContainer", &hooks.create_container}})
    if (auto error = run_hooks(kind, *list, state); !error.empty()) return "error running hook: " + error;
  return {};
}

// startContainer hooks (config.md): after `start`, inside the container,
// before its process runs. runc runs them from its init, in the container's
// namespaces with the process's user, capabilities and working directory;
// moat runs each as a guest process of the sandbox (its path resolved in
// the container's root) with the state JSON on stdin, as the init sees it
// (pid 1, status created), and keeps its output for the error. Returns
// runc's message for the first one that fails.
std::string Sentry::run_start_container_hooks() {
  const auto& hooks = m_options.spec.hooks.start_container;
  ContainerState st = snapshot(Status::Created);
  st.pid = 1;
  std::string state = state_json(st, Status::Created).dump();
  for (size_t i = 0; i < hooks.size(); i++) {
    const oci::Hook& hook = hooks[i];
    std::string name = "error running hook #" + std::to_string(i) + ": ";
    oci::ProcessSpec ps = m_options.spec.process;
    ps.terminal = false;
    ps.args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    ps.path = hook.path;
    ps.env = hook.env;
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return name + strerror(errno);
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) return name + strerror(errno);
    UniqueFd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) return name + strerror(errno);
    UniqueFd err_r(err[0]), err_w(err[1]);
    // The write ends of the output pipes go blocking to the hook.
    ::fcntl(out_w.get(), F_SETFL, 0);
    ::fcntl(err_w.get(), F_SETFL, 0);
    std::vector<UniqueFd> stdio;
    stdio.push_back(std::move(in_r));
    stdio.push_back(std::move(out_w));
    stdio.push_back(std::move(err_w));
    auto started = start_exec_process(*m_launch, ps, std::move(stdio));
    if (auto* e = std::get_if<std::string>(&started)) return name + *e;
    auto& proc = std::get<ExecStarted>(started);
    // The state fits in the pipe; a hook that does not read it is fine.
    [[maybe_unused]] ssize_t n = ::write(in_w.get(), state.data(), state.size());
    in_w.reset();
    std::string output[2];
    auto drain = [&] {
      char buf[4096];
      for (int k = 0; k < 2; k++) {
        int fd = k == 0 ? out_r.get() : err_r.get();
        ssize_t got;
        while ((got = ::read(fd, buf, sizeof buf)) > 0) output[k].append(buf, static_cast<size_t>(got));
      }
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(60));
    bool timed_out = false;
    for (;;) {
      pollfd fds[3] = {{proc.stub_pidfd.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
      ::poll(fds, 3, 50);
      drain();
      if (fds[0].revents & POLLIN) break;
      if (!timed_out && std::chrono::steady_clock::now() > deadline) {
        timed_out = true;
        signal_exec_process(*m_launch, proc.guest_pid, SIGKILL);
      }
    }
    while (::waitpid(proc.stub_pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    drain();
    int status = finish_exec_process(*m_launch, proc.guest_pid);
    if (timed_out) return name + "error running hook: timeout after " + std::to_string(hook.timeout.value_or(60)) + "s";
    if (status == 0) continue;
    std::string how = status > 128 ? "signal " + std::to_string(status - 128) : "exit status " + std::to_string(status);
    return name + "error running hook: " + how + ", stdout: " + output[0] + ", stderr: " + output[1];
  }
  return {};
}

void Sentry::run_poststart_hooks() {
  const auto& hooks = m_options.spec.hooks.poststart;
  if (hooks.empty()) return;
  std::string state = state_json(snapshot(Status::Running), Status::Running).dump();
  if (auto error = run_hooks("poststart", hooks, state); !error.empty()) log::warning(error);
}

// The sentry (and so every stub process it makes) goes into the
// container's cgroup before anything else runs. Limits the spec asks for
// must hold, or the container does not start; without limits a cgroup
// that cannot be made only costs pause and stats (a debug line).
std::string Sentry::join_cgroup() {
  const oci::Resources& limits = m_options.spec.resources;
  std::vector<std::string> warnings;
  std::ifstream self("/proc/self/cgroup");
  m_saved_cgroups.assign(std::istreambuf_iterator<char>(self), std::istreambuf_iterator<char>());
  std::string error = m_cgroup.enter(getpid(), limits, &warnings);
  for (const std::string& w : warnings) log::warning(w);
  if (error.empty()) {
    m_in_cgroup = true;
    return {};
  }
  m_cgroup.remove();
  if (limits.any()) return "applying linux.resources: " + error;
  log::debug("container " + m_options.id + ": no cgroup (" + error + ")");
  return {};
}

std::function<void(std::function<void()>)> Sentry::poster() {
  GuestLaunch* launch = m_launch.get();
  return [launch](std::function<void()> fn) { launch->post(std::move(fn)); };
}

// The host side of process.terminal: the pty sent over --console-socket,
// or in the foreground the caller's terminal when there is one (else the
// guest shares the caller's stdio as it is).
std::string Sentry::open_terminal() {
  if (!m_options.console_socket.empty()) {
    auto console = open_console(m_options.console_socket, m_options.spec.process.console_size);
    if (auto* e = std::get_if<std::string>(&console)) return *e;
    m_console = std::move(std::get<UniqueFd>(console));
    if (m_mode == Mode::Detached) {
      ::ioctl(m_console.get(), TIOCSCTTY, 0);
      // The guest's stdio is its pty: the sentry lets go of what `create`
      // was given (go-runc reads create's output to EOF when a console
      // socket is used, so holding it would hang the shim).
      UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
      for (int fd = 0; fd < 3 && null; fd++) ::dup2(null.get(), fd);
    }
    auto terminal = cli::HostTerminal::open(m_console.get(), m_console.get());
    if (terminal.is_error()) return "the console socket's pty is not a terminal";
    m_terminal = terminal.release_value();
    return {};
  }
  if (m_mode == Mode::Detached)
    return "process.terminal is set: a detached container needs --console-socket for its pty";
  auto terminal = cli::HostTerminal::open(STDIN_FILENO, STDOUT_FILENO);
  if (!terminal.is_error()) m_terminal = terminal.release_value();
  return {};
}

void Sentry::start_terminal() {
  if (m_terminal && m_pty_master) m_terminal->start(m_pty_master, poster());
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

void Sentry::start_exec(UniqueFd& conn, const std::string& process_json, std::vector<UniqueFd> fds) {
  std::vector<std::string> unsupported;
  auto parsed = oci::parse_process_spec(process_json, &unsupported);
  if (auto* e = std::get_if<oci::SpecError>(&parsed)) {
    send_reply(conn.get(), "error process: " + e->message);
    return;
  }
  for (const std::string& w : unsupported) log::warning("exec: " + w);
  if (!m_launch->started()) {
    send_reply(conn.get(), "error cannot exec in a container that has not started");
    return;
  }
  auto started = start_exec_process(*m_launch, std::get<oci::ProcessSpec>(parsed), std::move(fds));
  if (auto* e = std::get_if<std::string>(&started)) {
    send_reply(conn.get(), "error " + *e);
    return;
  }
  auto& ok = std::get<ExecStarted>(started);
  send_reply(conn.get(), "ok " + std::to_string(ok.guest_pid));
  auto session = std::make_unique<ExecSession>();
  session->conn = std::move(conn);
  session->guest_pid = ok.guest_pid;
  session->stub_pid = ok.stub_pid;
  session->stub_pidfd = std::move(ok.stub_pidfd);
  if (ok.pty_master && ok.console) {
    session->console = std::move(ok.console);
    session->pty_master = ok.pty_master;
    auto terminal = cli::HostTerminal::open(session->console.get(), session->console.get());
    if (!terminal.is_error()) {
      session->terminal = terminal.release_value();
      session->terminal->start(session->pty_master, poster());
    }
  }
  m_execs.push_back(std::move(session));
}

// A line from an exec caller ("signal N"), or its connection closing,
// which ends the process as runc's exec'd process ends with its caller's
// SIGKILL.
void Sentry::serve_exec_caller(ExecSession& session) {
  auto line = read_line_from(session.conn.get(), 1000);
  if (!line) {
    session.caller_gone = true;
    signal_exec_process(*m_launch, session.guest_pid, SIGKILL);
    return;
  }
  if (line->rfind("signal ", 0) == 0) {
    int sig = atoi(line->c_str() + 7);
    if (sig == SIGWINCH && session.terminal) {
      // The caller's pty was resized: the process's pty takes its size.
      struct winsize size {};
      if (::ioctl(session.console.get(), TIOCGWINSZ, &size) == 0) {
        RefPtr<fs::File> master = session.pty_master;
        m_launch->post([master, size] { (void)fs::pty_set_window_size(*master, size); });
      }
      return;
    }
    if (sig >= 1 && sig <= 64) signal_exec_process(*m_launch, session.guest_pid, sig);
  }
}

void Sentry::end_exec(ExecSession& session) {
  while (::waitpid(session.stub_pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  if (session.terminal) session.terminal->finish(poster(), std::chrono::seconds(1));
  int status = finish_exec_process(*m_launch, session.guest_pid);
  if (!session.caller_gone) send_reply(session.conn.get(), "exit " + std::to_string(status));
}

std::optional<int> Sentry::serve_connection(UniqueFd& conn) {
  std::vector<UniqueFd> fds;
  auto request = read_request(conn.get(), 2000, &fds);
  if (!request) return std::nullopt;
  std::string req = *request;
  if (req.rfind("exec ", 0) == 0) {
    start_exec(conn, req.substr(5), std::move(fds));
    return std::nullopt;
  }
  if (req == "start") {
    if (m_launch->started() || m_start_requested) {
      send_reply(conn.get(), "error cannot start an already running container");
      return std::nullopt;
    }
    m_start_requested = true;
    if (!m_options.spec.hooks.start_container.empty()) {
      // As with runc, `start` succeeds once the container is told to go;
      // a failing startContainer hook then ends it (status 1) before its
      // process runs, the error on the container's stderr.
      record(Status::Running);
      send_reply(conn.get(), "ok");
      if (auto error = run_start_container_hooks(); !error.empty()) {
        std::string line = error + "\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        log::debug("container " + m_options.id + ": " + error);
        return 1;
      }
      m_launch->start();
      start_terminal();
      run_poststart_hooks();
      return std::nullopt;
    }
    m_launch->start();
    start_terminal();
    record(Status::Running);
    send_reply(conn.get(), "ok");
    run_poststart_hooks();
    return std::nullopt;
  }
  bool all = req.rfind("kill-all ", 0) == 0;
  if (all || req.rfind("kill ", 0) == 0) {
    auto sig = oci::parse_signal(req.substr(req.find(' ') + 1));
    if (!sig) {
      send_reply(conn.get(), "error invalid signal");
      return std::nullopt;
    }
    send_reply(conn.get(), "ok");
    if (m_launch->started()) {
      forward(*sig, all);
      return std::nullopt;
    }
    return on_signal(*sig);
  }
  send_reply(conn.get(), "error unknown request \"" + req + "\"");
  return std::nullopt;
}

int Sentry::run() {
  const oci::Spec& spec = m_options.spec;
  if (auto error = join_cgroup(); !error.empty()) return fail(error, 1);
  if (spec.process.terminal)
    if (auto error = open_terminal(); !error.empty()) return fail(error, 1);
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
  LaunchSpec launch = launch_spec(m_options);
  if (auto error = check_net_sysctls(launch.config, spec); !error.empty()) return fail(error, 1);
  if (m_terminal) {
    launch.after_fs = [this, inner = launch.after_fs](Process& p) -> std::optional<std::string> {
      if (inner)
        if (auto message = inner(p)) return message;
      auto master = fs::attach_new_pty(p, m_terminal->window_size());
      if (master.is_error()) return std::string("creating the terminal: ") + strerror(to_int(master.error()));
      m_pty_master = master.release_value();
      return std::nullopt;
    };
  }
  m_launch = std::make_unique<GuestLaunch>(std::move(launch));
  // runc's wording for a command that cannot run, which Docker turns into
  // exit status 127 or 126; runc itself fails with 1.
  if (auto e = m_launch->prepare()) return fail(exec_error_message(spec.process, *e), 1);
  // The sentry's main thread is in the sandbox's network namespace now.
  for (const std::string& w : runtime::apply_net_sysctls(m_launch->sandbox().config())) log::warning(w);
  auto listener = listen_control(m_dir.path(), &error);
  if (!listener) return fail(error, 1);

  if (m_mode == Mode::Foreground) {
    if (auto e = run_create_hooks(); !e.empty()) return fail(e, 1);
    record(Status::Running);
    if (auto error = run_start_container_hooks(); !error.empty()) {
      std::string line = error + "\n";
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
      return 1;
    }
    m_launch->start();
    start_terminal();
    record(Status::Running);
    run_poststart_hooks();
  } else {
    record(Status::Created);
    if (auto e = run_create_hooks(); !e.empty()) return fail(e, 1);
    std::string ok = "ok\n";
    [[maybe_unused]] ssize_t n = ::write(m_ready_fd, ok.data(), ok.size());
    ::close(m_ready_fd);
    m_ready_fd = -1;
  }

  int exit_code = 0;
  std::vector<pollfd> fds;
  for (;;) {
    // signals, control socket, the init's stub, then per exec: the
    // caller's connection and the process's stub.
    fds = {{signals->get(), POLLIN, 0}, {listener->get(), POLLIN, 0}, {m_launch->stub_pidfd(), POLLIN, 0}};
    for (const auto& e : m_execs) {
      fds.push_back({e->caller_gone ? -1 : e->conn.get(), POLLIN, 0});
      fds.push_back({e->stub_pidfd.get(), POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
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
    // The exec'd processes before new connections (which add to m_execs).
    for (size_t i = 0; !done && i < m_execs.size(); i++) {
      const pollfd& caller = fds[3 + 2 * i];
      const pollfd& stub = fds[4 + 2 * i];
      if (caller.revents & (POLLIN | POLLHUP | POLLERR)) serve_exec_caller(*m_execs[i]);
      if (stub.revents & POLLIN) {
        end_exec(*m_execs[i]);
        m_execs[i].reset();
      }
    }
    std::erase(m_execs, nullptr);
    if (!done && (fds[1].revents & POLLIN)) {
      for (;;) {
        UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) break;
        if ((done = serve_connection(conn))) break;
      }
    }
    if (!done && (fds[2].revents & POLLIN)) {
      int status = 0;
      while (::waitpid(m_launch->stub_pid(), &status, __WALL) < 0 && errno == EINTR) {
      }
      // What the guest left in its pty reaches the console first.
      if (m_terminal && m_pty_master && m_launch->started()) m_terminal->finish(poster(), std::chrono::seconds(2));
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
  // The container's init is gone, and with it its pid namespace: exec'd
  // processes end too, and their callers learn it.
  for (auto& e : m_execs) {
    if (!e->caller_gone) send_reply(e->conn.get(), "exit 137");
  }
  m_execs.clear();
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
    // The sentry may have made the container's cgroup before it failed.
    Cgroup::for_container(options.spec.cgroups_path, options.id).remove();
    dir.remove();
    log::error(message);
    return 1;
  }
  if (!options.pid_file.empty()) {
    if (auto error = write_file_atomic(options.pid_file, std::to_string(pid)); !error.empty()) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      Cgroup::for_container(options.spec.cgroups_path, options.id).remove();
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
  int code;
  {
    Sentry sentry(options, Mode::Foreground, -1);
    code = sentry.run();
    sentry.leave_cgroup();
  }
  if (!options.spec.hooks.poststop.empty()) {
    std::string state = state_json(initial_state(options), Status::Stopped).dump();
    if (auto error = run_hooks("poststop", options.spec.hooks.poststop, state); !error.empty()) log::warning(error);
  }
  // runc run removes the container once its process has ended.
  dir.remove();
  return code;
}

}  // namespace moat::runtime
