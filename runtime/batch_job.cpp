#include "runtime/batch_job.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/cli.h"
#include "sentry/platform/worker.h"

namespace moat::batch {

namespace {

// How long the pipes may stay open once the sandbox process has ended
// (only a leftover process could hold them).
constexpr auto kDrainGrace = std::chrono::seconds(1);
// How often the CPU time of a job with a cpu_time limit is read.
constexpr auto kCpuPoll = std::chrono::milliseconds(50);
// The sentry's own tasks in the job's cgroup, added to the pids limit so
// that the limit counts guest processes and threads: its main thread, one
// worker per CPU it may run on (WorkerPool::default_count, as GuestLaunch
// sizes its pool), and room for io_uring's io-wq helpers.
int64_t sentry_tasks() { return 1 + WorkerPool::default_count() + 4; }

int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

int64_t timeval_ms(const timeval& tv) { return tv.tv_sec * 1000 + tv.tv_usec / 1000; }

// CPU time of pid and every live descendant, in ms: utime+stime, plus the
// children each has reaped (cutime+cstime). For jobs without a cgroup.
int64_t process_tree_cpu_ms(pid_t root) {
  long tick = sysconf(_SC_CLK_TCK);
  if (tick <= 0) tick = 100;
  int64_t ticks = 0;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name, which may hold spaces and ')'.
    size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    for (int i = 3; i <= 17 && fields >> f; i++)
      if (i >= 14) ticks += strtoll(f.c_str(), nullptr, 10);  // utime stime cutime cstime
    std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR* tasks = opendir(task_dir.c_str())) {
      while (dirent* t = readdir(tasks)) {
        if (t->d_name[0] == '.') continue;
        std::ifstream children(task_dir + "/" + t->d_name + "/children");
        for (pid_t c; children >> c;) todo.push_back(c);
      }
      closedir(tasks);
    }
  }
  return ticks * 1000 / tick;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A pipe whose ends are close-on-exec; the child dup2()s the end it keeps.
bool make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return true;
}

}  // namespace

const char* status_name(JobStatus s) {
  switch (s) {
    case JobStatus::Exited: return "exited";
    case JobStatus::Signaled: return "signaled";
    case JobStatus::Timeout: return "timeout";
    case JobStatus::CpuTime: return "cpu_time";
    case JobStatus::Memory: return "memory";
    case JobStatus::Error: return "error";
  }
  return "error";
}

JobRun::JobRun(const Profile& profile, const Job& job, size_t index, BatchHost& host)
    : m_profile(profile), m_job(job), m_index(index), m_host(host) {
  m_result.name = job.name;
}

JobRun::~JobRun() {
  if (m_state == State::Running) kill_now("the batch ended");
  if (m_state == State::Draining || m_state == State::Running) finish();
}

void JobRun::fail(const std::string& message) {
  m_result.status = JobStatus::Error;
  m_result.error = message;
  m_state = State::Done;
}

void JobRun::start() {
  m_started = Clock::now();
  m_next_cpu_check = m_started + kCpuPoll;
  const Limits& limits = m_job.limits;

  UniqueFd stdin_fd;
  if (m_job.stdin_data) {
    // A memfd: the guest may read it at its own pace, seek it, stat it.
    stdin_fd.reset(memfd_create("moat-batch-stdin", MFD_CLOEXEC));
    const std::string& data = *m_job.stdin_data;
    size_t done = 0;
    while (stdin_fd && done < data.size()) {
      ssize_t n = write(stdin_fd.get(), data.data() + done, data.size() - done);
      if (n <= 0) return fail(std::string("stdin: ") + strerror(errno));
      done += static_cast<size_t>(n);
    }
    if (stdin_fd) lseek(stdin_fd.get(), 0, SEEK_SET);
  } else if (!m_job.stdin_file.empty()) {
    stdin_fd.reset(open(m_job.stdin_file.c_str(), O_RDONLY | O_CLOEXEC));
  } else {
    stdin_fd.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  if (!stdin_fd) return fail(std::string("stdin: ") + strerror(errno));

  UniqueFd out_w, err_w, report_w, sync_r, sync_w;
  if (!make_pipe(m_out, out_w) || !make_pipe(m_err, err_w) || !make_pipe(m_report, report_w) ||
      !make_pipe(sync_r, sync_w))
    return fail(std::string("pipe: ") + strerror(errno));

  // The job's cgroup: needed for memory and pids limits, and the best
  // account of CPU time and memory; without one those are reported.
  bool needs_cgroup = limits.memory || limits.pids;
  oci::Resources resources;
  if (limits.memory) {
    resources.memory_limit = static_cast<int64_t>(*limits.memory);
    resources.memory_swap = static_cast<int64_t>(*limits.memory);  // no swap beyond it
  }
  if (limits.pids) resources.pids_limit = *limits.pids + sentry_tasks();

  fflush(nullptr);  // else the child's stdio could repeat what the batch has buffered
  pid_t pid = fork();
  if (pid < 0) return fail(std::string("fork: ") + strerror(errno));
  if (pid == 0) child_main(stdin_fd.get(), out_w.get(), err_w.get(), report_w.get(), sync_r.get());
  m_pid = pid;
  setpgid(pid, pid);  // the child does it too: whichever runs first
  m_state = State::Running;
  m_pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  set_nonblocking(m_out.get());
  set_nonblocking(m_err.get());
  set_nonblocking(m_report.get());

  if (!m_host.cgroup_error) {
    runtime::Cgroup cgroup = runtime::Cgroup::at(m_host.cgroup_prefix + std::to_string(m_index));
    std::vector<std::string> warnings;
    std::string error = cgroup.enter(pid, resources, &warnings);
    if (error.empty()) {
      m_cgroup = cgroup;
    } else {
      cgroup.remove();
      m_host.cgroup_error = error;
    }
  }
  if (!m_cgroup && needs_cgroup) {
    std::string why = m_host.cgroup_error ? *m_host.cgroup_error : "no cgroup";
    for (const char* name : {"memory", "pids"}) {
      if ((std::string(name) == "memory" && !limits.memory) || (std::string(name) == "pids" && !limits.pids)) continue;
      m_result.unenforced.push_back(name);
      if (m_host.warned.insert(name).second)
        m_host.warn(std::string("warning: ") + name + " limits are not enforced: the job's cgroup could not be made (" +
                    why + ")");
    }
  }
  // Now the sandbox may start: it is inside its cgroup.
  char go = 'g';
  if (write(sync_w.get(), &go, 1) != 1) kill_sandbox(Reason::Interrupted);
}

[[noreturn]] void JobRun::child_main(int stdin_fd, int out_fd, int err_fd, int report_fd, int sync_fd) {
  setpgid(0, 0);
  // Above everything the batch holds, then onto 0..4; the rest is closed
  // (other jobs' pipes must not stay open here).
  int fds[5] = {stdin_fd, out_fd, err_fd, report_fd, sync_fd};
  for (int& fd : fds) fd = fcntl(fd, F_DUPFD_CLOEXEC, 100);
  for (int i = 0; i < 5; i++)
    if (fds[i] < 0 || dup2(fds[i], i) != i) _exit(125);
  close_range(5, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE}) signal(sig, SIG_DFL);
  char go;
  if (read(4, &go, 1) != 1) _exit(125);
  close(4);

  cli::SandboxedCommand command;
  command.config.root_dir = m_profile.root;
  command.config.root_overlay = m_profile.overlay == Overlay::Memory ? RootOverlay::Memory : RootOverlay::None;
  command.config.network = m_profile.network == Network::Host ? NetworkMode::Host : NetworkMode::New;
  command.binds = m_profile.binds;
  command.argv = m_job.argv;
  command.cwd = m_job.cwd;
  command.path_env = cli::kDefaultGuestPath;
  for (const auto& [name, value] : m_job.env) {
    command.envp.push_back(name + "=" + value);
    if (name == "PATH") command.path_env = value;
  }
  if (!m_job.env.count("PATH")) command.envp.push_back(std::string("PATH=") + cli::kDefaultGuestPath);

  auto result = cli::run_sandboxed(std::move(command));
  std::string report;
  int status;
  if (auto* error = std::get_if<cli::LaunchError>(&result)) {
    // As `moat do` says it, for the job's stderr; the result gets it too.
    dprintf(2, "moat: %s\n", error->message.c_str());
    status = error->status;
    report = "error " + std::to_string(status) + " " + error->message;
  } else {
    auto exit = std::get<cli::GuestExit>(result);
    status = exit.status;
    report = "exit " + std::to_string(exit.status) + " " + std::to_string(exit.signal);
  }
  (void)!write(3, report.data(), report.size());
  _exit(status);
}

void JobRun::poll_fds(pollfd* slots) const {
  int fds[kSlots] = {m_state == State::Running ? m_pidfd.get() : -1, m_out.get(), m_err.get(), m_report.get()};
  for (size_t i = 0; i < kSlots; i++) slots[i] = {m_state == State::Done ? -1 : fds[i], POLLIN, 0};
}

void JobRun::on_ready(const pollfd* slots) {
  if (slots[1].revents) read_stream(m_out, m_result.out, m_result.out_truncated);
  if (slots[2].revents) read_stream(m_err, m_result.err, m_result.err_truncated);
  if (slots[3].revents) read_report();
  if (slots[0].revents && m_state == State::Running) reap();
  if (m_state == State::Draining && !m_out && !m_err && !m_report) finish();
}

void JobRun::read_stream(UniqueFd& fd, std::string& into, bool& truncated) {
  uint64_t limit = m_job.limits.output_limit.value_or(kDefaultOutputLimit);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      fd.reset();
      return;
    }
    // Past the limit the output is read and dropped, so the guest never
    // blocks on a full pipe.
    size_t keep = into.size() < limit ? std::min<uint64_t>(static_cast<size_t>(n), limit - into.size()) : 0;
    into.append(buf, keep);
    if (keep < static_cast<size_t>(n)) truncated = true;
  }
}

void JobRun::read_report() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(m_report.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      m_report.reset();
      return;
    }
    if (m_report_text.size() < 65536) m_report_text.append(buf, static_cast<size_t>(n));
  }
}

std::optional<int64_t> JobRun::cpu_ms_now() const {
  if (m_cgroup) {
    if (auto ns = m_cgroup->usage().cpu_ns) return static_cast<int64_t>(*ns / 1'000'000);
  }
  if (m_state != State::Running) return std::nullopt;
  return process_tree_cpu_ms(m_pid);
}

void JobRun::kill_sandbox(Reason reason) {
  if (m_state != State::Running) return;
  if (m_reason == Reason::None) m_reason = reason;
  // The sentry and its stub processes share its process group; stub
  // processes also die with the sentry (PR_SET_PDEATHSIG), and what the
  // cgroup still holds goes when it is removed.
  kill(-m_pid, SIGKILL);
  kill(m_pid, SIGKILL);
}

void JobRun::kill_now(const std::string& why) {
  if (m_state != State::Running) return;
  m_result.error = why;
  kill_sandbox(Reason::Interrupted);
}

Clock::time_point JobRun::tick(Clock::time_point now) {
  Clock::time_point next = Clock::time_point::max();
  if (m_state == State::Running) {
    const Limits& limits = m_job.limits;
    if (limits.timeout) {
      Clock::time_point deadline = m_started + *limits.timeout;
      if (now >= deadline) kill_sandbox(Reason::Timeout);
      next = std::min(next, deadline);
    }
    if (limits.cpu_time && m_state == State::Running) {
      if (now >= m_next_cpu_check) {
        auto used = cpu_ms_now();
        if (used && *used >= limits.cpu_time->count()) kill_sandbox(Reason::CpuTime);
        m_next_cpu_check = now + kCpuPoll;
      }
      next = std::min(next, m_next_cpu_check);
    }
  } else if (m_state == State::Draining) {
    if (now >= m_drain_deadline) {
      m_out.reset();
      m_err.reset();
      m_report.reset();
      finish();
    } else {
      next = m_drain_deadline;
    }
  }
  return next;
}

void JobRun::reap() {
  // The sentry has ended but is not reaped, so its process group id still
  // names only this sandbox: end whatever is left in it.
  kill(-m_pid, SIGKILL);
  rusage ru{};
  while (wait4(m_pid, &m_wait_status, 0, &ru) < 0 && errno == EINTR) {
  }
  m_ended = Clock::now();
  m_pidfd.reset();
  m_rusage_cpu_ms = timeval_ms(ru.ru_utime) + timeval_ms(ru.ru_stime);
  m_rusage_maxrss_kb = ru.ru_maxrss;
  if (m_cgroup) {
    m_usage = m_cgroup->usage();
    m_cgroup->remove();
  }
  m_state = State::Draining;
  m_drain_deadline = m_ended + kDrainGrace;
}

void JobRun::finish() {
  if (m_state == State::Done) return;
  if (m_state == State::Running) {
    kill_sandbox(Reason::Interrupted);
    reap();
  }
  if (m_report) read_report();
  m_state = State::Done;
  JobResult& r = m_result;
  r.wall_ms = ms_between(m_started, m_ended);
  r.cpu_ms = m_usage && m_usage->cpu_ns ? static_cast<int64_t>(*m_usage->cpu_ns / 1'000'000) : m_rusage_cpu_ms;
  r.max_rss_kb = m_rusage_maxrss_kb;
  if (m_usage && m_usage->memory_peak) r.memory_peak_kb = static_cast<int64_t>(*m_usage->memory_peak / 1024);

  // What the sandbox process said about its guest, if it lived to say it.
  std::istringstream report(m_report_text);
  std::string kind;
  report >> kind;
  bool reported = false;
  if (kind == "exit") {
    int status = 0, sig = 0;
    if (report >> status >> sig) {
      reported = true;
      if (sig) {
        r.status = JobStatus::Signaled;
        r.signal = sig;
      } else {
        r.status = JobStatus::Exited;
        r.exit_code = status;
      }
    }
  } else if (kind == "error") {
    int status = 1;
    report >> status;
    std::string message;
    std::getline(report, message);
    if (!message.empty() && message[0] == ' ') message.erase(0, 1);
    reported = true;
    r.error = message;
    // A command that does not exist or cannot run ends as a shell's would
    // (127, 126); anything else kept moat from running the job.
    if (status == 126 || status == 127) {
      r.status = JobStatus::Exited;
      r.exit_code = status;
    } else {
      r.status = JobStatus::Error;
    }
  }

  // The limits moat enforced come first: they explain any signal. A job
  // that ended by itself past its CPU time is over its limit all the same.
  bool oom = m_usage && m_usage->oom_kills > 0;
  bool over_cpu = m_job.limits.cpu_time && r.cpu_ms && *r.cpu_ms >= m_job.limits.cpu_time->count() && reported &&
                  r.status != JobStatus::Error;
  std::optional<JobStatus> limit;
  if (m_reason == Reason::Timeout)
    limit = JobStatus::Timeout;
  else if (m_reason == Reason::CpuTime)
    limit = JobStatus::CpuTime;
  else if (m_reason == Reason::None && oom)
    limit = JobStatus::Memory;
  else if (m_reason == Reason::None && over_cpu)
    limit = JobStatus::CpuTime;
  if (limit) {
    r.status = *limit;
    r.exit_code.reset();
    // moat's kill, unless the guest's own end says otherwise.
    if (!r.signal && (m_reason != Reason::None || !reported)) r.signal = SIGKILL;
  } else if (m_reason == Reason::Interrupted) {
    r.status = JobStatus::Error;
    r.exit_code.reset();
    if (r.error.empty()) r.error = "moat could not start the sandbox";
  } else if (!reported) {
    r.status = JobStatus::Error;
    char buf[128];
    if (WIFSIGNALED(m_wait_status))
      snprintf(buf, sizeof(buf), "the sandbox process was killed by signal %d before it reported", WTERMSIG(m_wait_status));
    else
      snprintf(buf, sizeof(buf), "the sandbox process exited with status %d before it reported",
               WEXITSTATUS(m_wait_status));
    r.error = buf;
  }
}

}  // namespace moat::batch
