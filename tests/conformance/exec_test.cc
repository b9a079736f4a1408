// Conformance: execve(2) and execveat(2).
//
// Most cases fork a child that prepares some state and re-executes this
// binary (/proc/self/exe) with "--exec-child MODE ARGS"; the new image checks
// what survived and reports through its exit status: 0 when all is as
// expected, otherwise the number of the first check that failed (and a line
// on stderr). Execs that must fail are tried in a forked child too, with an
// argv that makes a wrongly started image exit at once, so a sandbox bug
// cannot replace the runner; one case checks that failed execs leave the
// runner itself intact.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;
using namespace proc;

extern char** environ;

namespace {

constexpr const char* kSelf = "/proc/self/exe";

// ---------------------------------------------------------------- new image

int fail(int code, const char* what) {
  fprintf(stderr, "exec child: check %d failed: %s (errno %d)\n", code, what, errno);
  return code;
}

bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

bool handler_is(int sig, void (*want)(int)) {
  struct sigaction sa;
  if (sigaction(sig, nullptr, &sa) != 0) return false;
  return sa.sa_handler == want;
}

int child_fds(char** args) {
  int cloexec = atoi(args[0]), keep = atoi(args[1]), fcntl_cloexec = atoi(args[2]), dup3_cloexec = atoi(args[3]);
  if (fd_is_open(cloexec) || errno != EBADF) return fail(1, "O_CLOEXEC fd survived exec");
  if (!fd_is_open(keep)) return fail(2, "plain fd was closed by exec");
  if (fcntl(keep, F_GETFD) & FD_CLOEXEC) return fail(3, "plain fd gained FD_CLOEXEC");
  if (fd_is_open(fcntl_cloexec)) return fail(4, "F_SETFD FD_CLOEXEC fd survived exec");
  if (fd_is_open(dup3_cloexec)) return fail(5, "dup3 O_CLOEXEC fd survived exec");
  if (write(keep, "k", 1) != 1) return fail(6, "write to kept fd");
  return 0;
}

int child_signals(char**) {
  if (!handler_is(SIGUSR1, SIG_DFL)) return fail(1, "caught SIGUSR1 not reset to SIG_DFL");
  if (!handler_is(SIGUSR2, SIG_IGN)) return fail(2, "ignored SIGUSR2 not kept");
  if (!handler_is(SIGTERM, SIG_DFL)) return fail(3, "SA_SIGINFO SIGTERM handler not reset");
  return 0;
}

int child_mask(char**) {
  sigset_t mask;
  if (sigprocmask(SIG_BLOCK, nullptr, &mask) != 0) return fail(1, "sigprocmask");
  if (!sigismember(&mask, SIGUSR1)) return fail(2, "blocked SIGUSR1 not kept blocked");
  if (!sigismember(&mask, SIGRTMIN + 2)) return fail(3, "blocked realtime signal not kept blocked");
  if (sigismember(&mask, SIGUSR2)) return fail(4, "SIGUSR2 became blocked");
  return 0;
}

int child_pending(char**) {
  sigset_t pending;
  if (sigpending(&pending) != 0) return fail(1, "sigpending");
  if (!sigismember(&pending, SIGUSR1)) return fail(2, "pending SIGUSR1 was lost");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  struct timespec zero = {0, 0};
  if (sigtimedwait(&set, nullptr, &zero) != SIGUSR1) return fail(3, "sigtimedwait did not take SIGUSR1");
  return 0;
}

int child_pid(char** args) {
  if (getpid() != atoi(args[0])) return fail(1, "pid changed");
  if (getppid() != atoi(args[1])) return fail(2, "ppid changed");
  return 0;
}

int child_argv(char** args) {
  if (strcmp(args[0], "one") != 0 || strcmp(args[1], "") != 0 || strcmp(args[2], "three four") != 0 || args[3])
    return fail(1, "argv not passed exactly");
  const char* v = getenv("CONF_EXEC_ENV");
  if (!v || strcmp(v, "value=1") != 0) return fail(2, "environment not passed");
  if (getenv("CONF_EXEC_NOT_PASSED")) return fail(3, "old environment leaked");
  return 0;
}

int child_threads(char** args) {
  if (getpid() != atoi(args[0])) return fail(1, "pid changed by exec from a thread");
  if (gettid() != getpid()) return fail(2, "exec'ing thread is not the leader afterwards");
  if (status_field("Threads") != "1") return fail(3, "/proc/self/status Threads is not 1");
  int tasks = count_tasks();  // -1: no /proc/self/task; Threads said enough
  if (tasks != -1 && tasks != 1) return fail(4, "/proc/self/task does not list exactly one thread");
  return 23;
}

int child_comm(char** args) {
  char name[16] = {};
  if (prctl(PR_GET_NAME, name) != 0) return fail(1, "PR_GET_NAME");
  if (strcmp(name, args[0]) != 0) return fail(2, "comm is not the new program's name");
  return 0;
}

int child_altstack(char**) {
  stack_t ss;
  if (sigaltstack(nullptr, &ss) != 0) return fail(1, "sigaltstack");
  if (!(ss.ss_flags & SS_DISABLE)) return fail(2, "alternate signal stack survived exec");
  return 0;
}

int child_alarm(char**) {
  unsigned left = alarm(0);
  if (left == 0 || left > 60) return fail(1, "pending alarm lost across exec");
  return 0;
}

int child_cwd_umask(char** args) {
  char cwd[512] = {};
  if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, args[0]) != 0) return fail(1, "cwd not kept");
  mode_t old = umask(0);
  if (old != 027) return fail(2, "umask not kept");
  return 0;
}

int child_exit(char** args) { return atoi(args[0]); }

struct ChildMode {
  const char* name;
  int (*fn)(char**);
};
const ChildMode kModes[] = {
    {"fds", child_fds},         {"signals", child_signals}, {"mask", child_mask},
    {"pending", child_pending}, {"pid", child_pid},         {"argv", child_argv},
    {"threads", child_threads}, {"comm", child_comm},       {"altstack", child_altstack},
    {"alarm", child_alarm},     {"cwd", child_cwd_umask},   {"exit", child_exit},
};

__attribute__((constructor)) void exec_child_main(int argc, char** argv, char**) {
  if (argc >= 2 && strcmp(argv[1], "--exec-child-shebang") == 0) {
    // #!INTERP ARG runs INTERP ARG SCRIPT ARGS...
    if (argc != 4 + 1) _exit(fail(1, "shebang argc"));
    std::string script = argv[2];
    if (script.size() < 7 || script.compare(script.size() - 7, 7, "/script") != 0) _exit(fail(2, "script path"));
    if (strcmp(argv[3], "x") != 0 || strcmp(argv[4], "y") != 0) _exit(fail(3, "script args"));
    _exit(0);
  }
  if (argc < 3 || strcmp(argv[1], "--exec-child") != 0) return;
  for (const ChildMode& m : kModes)
    if (strcmp(argv[2], m.name) == 0) _exit(m.fn(argv + 3));
  _exit(fail(99, "unknown mode"));
}

// ---------------------------------------------------------------- runner

std::vector<char*> make_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Forks; the child runs prepare() and execs this binary in MODE with ARGS.
// Returns the exec'd image's result (proc::child_result).
template <typename F>
int exec_self(F prepare, std::vector<std::string> args) {
  std::vector<std::string> full = {"conf-exec-child", "--exec-child"};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv = make_argv(full);
  pid_t pid = fork_child([&] {
    prepare();
    execv(kSelf, argv.data());
    return 127;
  });
  if (pid < 0) return kWaitFailed;
  return child_result(pid);
}

void noop_handler(int) {}
void noop_action(int, siginfo_t*, void*) {}

std::string real_self() {
  char buf[1024];
  ssize_t n = readlink(kSelf, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string write_file(const std::string& name, const char* content, mode_t mode) {
  std::string path = temp_dir() + "/" + name;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    write(fd, content, strlen(content));
    fchmod(fd, mode);
    close(fd);
  }
  return path;
}

volatile int g_intact_marker = 0;

// The argument vector for execs that must fail: if one wrongly succeeds, the
// new image exits 200 at once instead of running the cases again.
const char* const kMustFailArgv[] = {"conf-must-fail", "--exec-child", "exit", "200", nullptr};
char** must_fail_argv() { return const_cast<char**>(kMustFailArgv); }
constexpr int kExecSucceeded = 200, kExecReturned = 201;

// Runs attempt() (an exec that must fail) in a forked child, so that a
// wrongly successful exec cannot replace the runner. Returns the errno the
// attempt failed with, kExecSucceeded, kExecReturned, or a child_result code.
template <typename F>
int exec_errno(F attempt) {
  pid_t pid = fork_child([&] {
    errno = 0;
    long r = attempt();
    return r == -1 ? errno : kExecReturned;
  });
  return pid < 0 ? kWaitFailed : child_result(pid);
}

std::string describe_exec_result(int r) {
  if (r == kExecSucceeded) return "the exec succeeded";
  if (r == kExecReturned) return "the exec returned without -1";
  if (r >= 1000) return "the child died of signal " + std::to_string(r - 1000);
  if (r < 0) return "the child timed out or could not be waited";
  return errno_str(r);
}

}  // namespace

#define EXPECT_EXEC_FAILS_WITH(expr, err)                                                                   \
  do {                                                                                                     \
    int conf_got_ = exec_errno([&] { return static_cast<long>(expr); });                                  \
    if (conf_got_ != (err))                                                                                \
      CONF_FAIL_(false, "%s: %s, want %s", #expr, describe_exec_result(conf_got_).c_str(),                 \
                 errno_str(err).c_str());                                                                  \
  } while (0)


// ---------------------------------------------------------------- what survives

TEST(Exec, CloexecFdsClosedOthersKept) {
  Pipe kept(0);
  ASSERT_TRUE(kept.ok());
  int cloexec = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int via_fcntl = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(via_fcntl, F_SETFD, FD_CLOEXEC));
  int via_dup3 = ASSERT_SYSCALL_SUCCEEDS(dup3(via_fcntl, 100, O_CLOEXEC));
  int r = exec_self([] {},
                    {"fds", std::to_string(cloexec), std::to_string(kept.w), std::to_string(via_fcntl),
                     std::to_string(via_dup3)});
  EXPECT_EQ(r, 0);
  kept.close_w();
  char c = 0;
  EXPECT_EQ(read_full_timeout(kept.r, &c, 1), 1);
  EXPECT_EQ(c, 'k');
  close(cloexec);
  close(via_fcntl);
  close(via_dup3);
}

TEST(Exec, CaughtSignalsResetIgnoredKept) {
  int r = exec_self(
      [] {
        signal(SIGUSR1, noop_handler);
        signal(SIGUSR2, SIG_IGN);
        struct sigaction sa = {};
        sa.sa_sigaction = noop_action;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(SIGTERM, &sa, nullptr);
      },
      {"signals"});
  EXPECT_EQ(r, 0);
}

TEST(Exec, SignalMaskKept) {
  int r = exec_self(
      [] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGRTMIN + 2);
        sigprocmask(SIG_BLOCK, &set, nullptr);
      },
      {"mask"});
  EXPECT_EQ(r, 0);
}

TEST(Exec, PendingSignalsKept) {
  int r = exec_self(
      [] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        kill(getpid(), SIGUSR1);
      },
      {"pending"});
  EXPECT_EQ(r, 0);
}

TEST(Exec, PidAndParentUnchanged) {
  // The child passes its own pid: prepare() cannot change args after fork,
  // so this case builds the argv in the child.
  pid_t me = getpid();
  pid_t pid = fork_child([&] {
    std::string p = std::to_string(getpid()), pp = std::to_string(me);
    const char* argv[] = {"conf-exec-child", "--exec-child", "pid", p.c_str(), pp.c_str(), nullptr};
    execv(kSelf, const_cast<char**>(argv));
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Exec, ArgvAndEnvironmentPassedExactly) {
  pid_t pid = fork_child([] {
    const char* argv[] = {"conf-exec-child", "--exec-child", "argv", "one", "", "three four", nullptr};
    const char* envp[] = {"CONF_EXEC_ENV=value=1", "PATH=/usr/bin:/bin", nullptr};
    setenv("CONF_EXEC_NOT_PASSED", "1", 1);
    execve(kSelf, const_cast<char**>(argv), const_cast<char**>(envp));
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Exec, AlternateSignalStackCleared) {
  static char altstack[64 * 1024];
  int r = exec_self(
      [] {
        stack_t ss = {};
        ss.ss_sp = altstack;
        ss.ss_size = sizeof altstack;
        sigaltstack(&ss, nullptr);
      },
      {"altstack"});
  EXPECT_EQ(r, 0);
}

TEST(Exec, PendingAlarmKept) {
  int r = exec_self([] { alarm(30); }, {"alarm"});
  EXPECT_EQ(r, 0);
}

TEST(Exec, CwdAndUmaskKept) {
  std::string dir = temp_dir();
  int r = exec_self(
      [&] {
        chdir(dir.c_str());
        umask(027);
      },
      {"cwd", dir});
  EXPECT_EQ(r, 0);
}

TEST(Exec, CommIsTheNewProgramName) {
  std::string self = real_self();
  ASSERT_TRUE(!self.empty());
  std::string link = temp_dir() + "/conf-renamed-exe";
  ASSERT_SYSCALL_SUCCEEDS(symlink(self.c_str(), link.c_str()));
  pid_t pid = fork_child([&] {
    const char* argv[] = {"whatever", "--exec-child", "comm", "conf-renamed-ex", nullptr};
    execv(link.c_str(), const_cast<char**>(argv));
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 0);
}

TEST(Exec, ShebangScriptRunsInterpreterWithArgs) {
  std::string self = real_self();
  ASSERT_TRUE(!self.empty());
  std::string text = "#!" + self + " --exec-child-shebang\n";
  std::string script = write_file("script", text.c_str(), 0755);
  pid_t pid = fork_child([&] {
    const char* argv[] = {script.c_str(), "x", "y", nullptr};
    execv(script.c_str(), const_cast<char**>(argv));
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 0);
}

// ---------------------------------------------------------------- execveat

TEST(Execveat, EmptyPathExecsTheFd) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(kSelf, O_RDONLY | O_CLOEXEC));
  pid_t pid = fork_child([&] {
    const char* argv[] = {"conf-exec-child", "--exec-child", "exit", "31", nullptr};
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 31);
  close(fd);
}

TEST(Execveat, EmptyPathOnOpathFd) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(kSelf, O_PATH));
  pid_t pid = fork_child([&] {
    const char* argv[] = {"conf-exec-child", "--exec-child", "exit", "32", nullptr};
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 32);
  close(fd);
}

TEST(Execveat, RelativeToDirectoryFd) {
  std::string self = real_self();
  ASSERT_TRUE(!self.empty());
  std::string link = temp_dir() + "/relexe";
  ASSERT_SYSCALL_SUCCEEDS(symlink(self.c_str(), link.c_str()));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(temp_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  pid_t pid = fork_child([&] {
    const char* argv[] = {"conf-exec-child", "--exec-child", "exit", "33", nullptr};
    syscall(SYS_execveat, dir, "relexe", argv, environ, 0);
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 33);
  close(dir);
}

TEST(Execveat, NofollowOnSymlinkIsEloop) {
  std::string self = real_self();
  ASSERT_TRUE(!self.empty());
  std::string link = temp_dir() + "/linkexe";
  ASSERT_SYSCALL_SUCCEEDS(symlink(self.c_str(), link.c_str()));
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, AT_FDCWD, link.c_str(), must_fail_argv(), environ, AT_SYMLINK_NOFOLLOW),
                         ELOOP);
}

TEST(Execveat, BadArgumentsFail) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(kSelf, O_RDONLY | O_CLOEXEC));
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, AT_FDCWD, kSelf, must_fail_argv(), environ, 0x4), EINVAL);
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, fd, "", must_fail_argv(), environ, AT_EMPTY_PATH | 0x4), EINVAL);
  // Without AT_EMPTY_PATH an empty path is ENOENT.
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, fd, "", must_fail_argv(), environ, 0), ENOENT);
  // A relative path against a file descriptor that is not a directory.
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, fd, "x", must_fail_argv(), environ, 0), ENOTDIR);
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execveat, 0x7ff0, "x", must_fail_argv(), environ, 0), EBADF);
  close(fd);
}

// ---------------------------------------------------------------- threads

namespace {
void* sleep_forever(void*) {
  for (;;) sleep_ms(1000);
}
struct ExecArgs {
  std::string pid;
};
void* exec_from_thread(void* arg) {
  auto* a = static_cast<ExecArgs*>(arg);
  const char* argv[] = {"conf-exec-child", "--exec-child", "threads", a->pid.c_str(), nullptr};
  execv(kSelf, const_cast<char**>(argv));
  _exit(127);
}
}  // namespace

TEST(Exec, FromSecondThreadLeavesOneThreadWithSamePid) {
  pid_t pid = fork_child([] {
    pthread_t t1, t2, t3;
    pthread_create(&t1, nullptr, sleep_forever, nullptr);
    pthread_create(&t2, nullptr, sleep_forever, nullptr);
    static ExecArgs args;
    args.pid = std::to_string(getpid());
    pthread_create(&t3, nullptr, exec_from_thread, &args);
    sleep_ms(8000);
    return 1;
  });
  ASSERT_GT(pid, 0);
  // The parent's wait sees the exec'd image's status under the same pid.
  EXPECT_EQ(child_result(pid), 23);
}

TEST(Exec, FromMainThreadOfMultithreadedProcess) {
  pid_t pid = fork_child([] {
    pthread_t t1;
    pthread_create(&t1, nullptr, sleep_forever, nullptr);
    std::string me = std::to_string(getpid());
    const char* argv[] = {"conf-exec-child", "--exec-child", "threads", me.c_str(), nullptr};
    execv(kSelf, const_cast<char**>(argv));
    return 127;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 23);
}

// ---------------------------------------------------------------- failures

TEST(ExecFails, MissingFileIsEnoent) {
  EXPECT_EXEC_FAILS_WITH(execve("/nonexistent/conf-prog", must_fail_argv(), environ), ENOENT);
  EXPECT_EXEC_FAILS_WITH(execve("", must_fail_argv(), environ), ENOENT);
  std::string missing = temp_dir() + "/missing";
  EXPECT_EXEC_FAILS_WITH(execve(missing.c_str(), must_fail_argv(), environ), ENOENT);
}

TEST(ExecFails, NonExecutableFileIsEacces) {
  std::string path = write_file("plain", "#!/bin/sh\nexit 0\n", 0644);
  EXPECT_EXEC_FAILS_WITH(execve(path.c_str(), must_fail_argv(), environ), EACCES);
}

TEST(ExecFails, DirectoryIsEacces) {
  EXPECT_EXEC_FAILS_WITH(execve(temp_dir().c_str(), must_fail_argv(), environ), EACCES);
}

TEST(ExecFails, GarbageFileIsEnoexec) {
  std::string path = write_file("garbage", "this is not a program\n\x01\x02\x03", 0755);
  EXPECT_EXEC_FAILS_WITH(execve(path.c_str(), must_fail_argv(), environ), ENOEXEC);
  std::string tiny = write_file("tiny", "ab", 0755);
  EXPECT_EXEC_FAILS_WITH(execve(tiny.c_str(), must_fail_argv(), environ), ENOEXEC);
}

TEST(ExecFails, FileComponentInPathIsEnotdir) {
  std::string path = write_file("file", "x", 0755) + "/prog";
  EXPECT_EXEC_FAILS_WITH(execve(path.c_str(), must_fail_argv(), environ), ENOTDIR);
}

TEST(ExecFails, BadPointersAreEfault) {
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execve, reinterpret_cast<char*>(8), must_fail_argv(), environ), EFAULT);
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execve, kSelf, reinterpret_cast<char**>(8), environ), EFAULT);
  const char* bad_argv[] = {"conf-must-fail", "--exec-child", "exit", "200", reinterpret_cast<const char*>(8), nullptr};
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execve, kSelf, bad_argv, environ), EFAULT);
  const char* bad_envp[] = {"A=1", reinterpret_cast<const char*>(8), nullptr};
  EXPECT_EXEC_FAILS_WITH(syscall(SYS_execve, kSelf, must_fail_argv(), bad_envp), EFAULT);
}

TEST(ExecFails, OverlongArgumentIsE2big) {
  // One string over MAX_ARG_STRLEN (32 pages).
  std::string big(200 * 1024, 'a');
  const char* argv[] = {"conf-must-fail", "--exec-child", "exit", "200", big.c_str(), nullptr};
  EXPECT_EXEC_FAILS_WITH(execve(kSelf, const_cast<char**>(argv), environ), E2BIG);
}

TEST(ExecFails, HugeArgvIsE2big) {
  // Many strings, each allowed, together far over the argument space.
  std::string piece(100 * 1024, 'b');
  std::vector<const char*> argv = {"conf-must-fail", "--exec-child", "exit", "200"};
  argv.resize(100, piece.c_str());
  argv.push_back(nullptr);
  EXPECT_EXEC_FAILS_WITH(execve(kSelf, const_cast<char**>(argv.data()), environ), E2BIG);
  std::vector<const char*> envp(100, piece.c_str());
  envp.push_back(nullptr);
  EXPECT_EXEC_FAILS_WITH(execve(kSelf, must_fail_argv(), const_cast<char**>(envp.data())), E2BIG);
}

namespace {
volatile int g_helper_ticks = 0;
volatile bool g_helper_stop = false;
void* tick(void*) {
  while (!g_helper_stop) {
    g_helper_ticks = g_helper_ticks + 1;
    sleep_ms(1);
  }
  return nullptr;
}
}  // namespace

TEST(ExecFails, FailedExecLeavesProcessIntact) {
  g_intact_marker = 1234;
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDONLY | O_CLOEXEC));
  struct sigaction sa = {}, old;
  sa.sa_handler = noop_handler;
  sigaction(SIGUSR1, &sa, &old);
  g_helper_stop = false;
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, tick, nullptr), 0);
  pid_t me = getpid();
  EXPECT_SYSCALL_FAILS_WITH(execve("/nonexistent/conf-prog", must_fail_argv(), environ), ENOENT);
  std::string garbage = write_file("garbage", "not a program at all\n", 0755);
  EXPECT_SYSCALL_FAILS_WITH(execve(garbage.c_str(), must_fail_argv(), environ), ENOEXEC);
  std::string big(200 * 1024, 'a');
  const char* big_argv[] = {"conf-must-fail", "--exec-child", "exit", "200", big.c_str(), nullptr};
  EXPECT_SYSCALL_FAILS_WITH(execve(kSelf, const_cast<char**>(big_argv), environ), E2BIG);
  // Memory, fds, handlers, pid and the other thread are all still there.
  EXPECT_EQ(g_intact_marker, 1234);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_GETFD));
  EXPECT_EQ(getpid(), me);
  struct sigaction now;
  sigaction(SIGUSR1, nullptr, &now);
  EXPECT_TRUE(now.sa_handler == noop_handler);
  int before = g_helper_ticks;
  sleep_ms(30);
  EXPECT_GT(g_helper_ticks, before);
  g_helper_stop = true;
  pthread_join(th, nullptr);
  sigaction(SIGUSR1, &old, nullptr);
  close(fd);
}
