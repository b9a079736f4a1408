// Conformance: procfs synthesised from process state (/proc/PID/stat,
// statm, status, task/, comm, fd/, fdinfo/, limits, mounts, mountinfo,
// smaps), the system-wide files (/proc/cpuinfo, meminfo, uptime, loadavg,
// version, stat, sys/) and the minimal sysfs. Values are compared with the
// getters, never with fixed numbers: moat's first process is pid 1.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <vector>

#include "fs_util.h"
#include "harness.h"
#include "proc_child.h"
#include "proc_util.h"

using namespace fsutil;

namespace {

pid_t gettid_() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Reads a whole file; "" when it cannot be opened (no case failure).
std::string slurp(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return {};
  std::string s = read_all(fd);
  close(fd);
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// /proc/PID/stat split like Linux's parsers do: the comm is between the
// first '(' and the last ')'. fields[0] is field 1 (pid), fields[1] the
// comm, fields[2] the state...
std::vector<std::string> stat_fields(const std::string& path) {
  std::string s = slurp(path);
  size_t open_paren = s.find('('), close_paren = s.rfind(')');
  if (open_paren == std::string::npos || close_paren == std::string::npos || close_paren < open_paren) return {};
  std::vector<std::string> out = words(s.substr(0, open_paren));
  out.push_back(s.substr(open_paren + 1, close_paren - open_paren - 1));
  for (auto& w : words(s.substr(close_paren + 1))) out.push_back(w);
  return out;
}

long long field(const std::vector<std::string>& f, size_t n) {
  return n >= 1 && n <= f.size() ? atoll(f[n - 1].c_str()) : -12345;
}

// The value after "Key:" in a status-like file, "" when absent.
std::string status_value(const std::string& text, const std::string& key) {
  for (const std::string& line : split(text, '\n')) {
    if (line.rfind(key + ":", 0) != 0) continue;
    size_t i = key.size() + 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return line.substr(i);
  }
  return {};
}

std::vector<std::string> dir_names(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) out.push_back(e->d_name);
  closedir(d);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

size_t count_task_entries() {
  size_t n = 0;
  for (auto& name : dir_names("/proc/self/task")) n += name != "." && name != "..";
  return n;
}

// The number of CPUs a list such as "0-3,5" names; -1 when malformed.
int count_cpu_list(const std::string& list) {
  int n = 0;
  for (const std::string& part : split(list.substr(0, list.find('\n')), ',')) {
    int lo, hi;
    if (sscanf(part.c_str(), "%d-%d", &lo, &hi) == 2) n += hi - lo + 1;
    else if (sscanf(part.c_str(), "%d", &lo) == 1) n += 1;
    else return -1;
  }
  return n;
}

std::string read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// A helper thread that reports its tid, optionally renames itself, and waits
// until released. Checks between start() and stop() must not ASSERT (the
// thread would be left behind).
struct Helper {
  pthread_t thread{};
  int go[2] = {-1, -1};      // main -> thread: release
  int ready[2] = {-1, -1};   // thread -> main: tid
  const char* name = nullptr;
  pid_t tid = 0;
  bool started = false;

  static void* run(void* arg) {
    auto* h = static_cast<Helper*>(arg);
    if (h->name) prctl(PR_SET_NAME, h->name);
    pid_t t = gettid_();
    ssize_t ignored = write(h->ready[1], &t, sizeof t);
    (void)ignored;
    char c;
    while (read(h->go[0], &c, 1) < 0 && errno == EINTR) {
    }
    return nullptr;
  }
  bool start(const char* thread_name = nullptr) {
    name = thread_name;
    if (pipe(go) != 0 || pipe(ready) != 0) return false;
    if (pthread_create(&thread, nullptr, run, this) != 0) return false;
    started = true;
    return read(ready[0], &tid, sizeof tid) == static_cast<ssize_t>(sizeof tid);
  }
  void stop() {
    if (started) {
      char c = 'x';
      ssize_t ignored = write(go[1], &c, 1);
      (void)ignored;
      pthread_join(thread, nullptr);
      started = false;
    }
    for (int fd : {go[0], go[1], ready[0], ready[1]})
      if (fd >= 0) close(fd);
    go[0] = go[1] = ready[0] = ready[1] = -1;
  }
};

// A child blocked reading a pipe that never gets data, killed and reaped by
// finish().
struct SleepingChild {
  pid_t pid = -1;
  int fds[2] = {-1, -1};
  bool start() {
    if (pipe(fds) != 0) return false;
    pid = fork();
    if (pid == 0) {
      close(fds[1]);
      char c;
      while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(fds[0]);
    fds[0] = -1;
    return pid > 0;
  }
  // Waits until the child's state letter is want (up to 5 s).
  bool wait_state(char want) const {
    for (int i = 0; i < 500; i++) {
      auto f = stat_fields("/proc/" + std::to_string(pid) + "/stat");
      if (f.size() >= 3 && f[2] == std::string(1, want)) return true;
      conformance::sleep_ms(10);
    }
    return false;
  }
  void finish() {
    conformance::kill_and_reap(pid);
    if (fds[1] >= 0) close(fds[1]);
    pid = -1;
    fds[1] = -1;
  }
};

// Restores the thread name when a case ends.
struct SavedName {
  char name[16] = {};
  SavedName() { prctl(PR_GET_NAME, name); }
  ~SavedName() { prctl(PR_SET_NAME, name); }
};

}  // namespace

// --- /proc/PID/stat -------------------------------------------------------

TEST(ProcPidStat, HasFiftyTwoFields) {
  auto f = stat_fields("/proc/self/stat");
  EXPECT_EQ(f.size(), 52u);
}

TEST(ProcPidStat, IdsMatchTheGetters) {
  auto f = stat_fields("/proc/self/stat");
  ASSERT_EQ(f.size(), 52u);
  EXPECT_EQ(field(f, 1), getpid());
  EXPECT_STREQ(f[2], "R");
  EXPECT_EQ(field(f, 4), getppid());
  EXPECT_EQ(field(f, 5), getpgrp());
  EXPECT_EQ(field(f, 6), getsid(0));
  EXPECT_EQ(field(f, 20), static_cast<long long>(count_task_entries()));
}

TEST(ProcPidStat, CommMatchesCommFile) {
  auto f = stat_fields("/proc/self/stat");
  ASSERT_EQ(f.size(), 52u);
  EXPECT_STREQ(f[1] + "\n", read_file("/proc/self/comm"));
}

TEST(ProcPidStat, CommWithParenthesesStillParses) {
  SavedName guard;
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_SET_NAME, "a) b (c"));
  auto f = stat_fields("/proc/self/stat");
  EXPECT_EQ(f.size(), 52u);
  if (f.size() == 52) EXPECT_STREQ(f[1], "a) b (c");
}

TEST(ProcPidStat, StartTimeIsNotAfterUptime) {
  auto f = stat_fields("/proc/self/stat");
  ASSERT_EQ(f.size(), 52u);
  double up = 0;
  ASSERT_EQ(sscanf(read_file("/proc/uptime").c_str(), "%lf", &up), 1);
  double start = static_cast<double>(field(f, 22)) / static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_GT(field(f, 22), 0);
  EXPECT_LE(start, up + 1.0);
}

TEST(ProcPidStat, CpuTimeGrowsWithWork) {
  auto before = stat_fields("/proc/self/stat");
  int64_t cpu_before = proc::process_cpu_ns();
  ASSERT_EQ(before.size(), 52u);
  proc::burn_cpu_ms(300);
  auto after = stat_fields("/proc/self/stat");
  int64_t cpu_ms = (proc::process_cpu_ns() - cpu_before) / 1000000;
  ASSERT_EQ(after.size(), 52u);
  long long ticks = (field(after, 14) + field(after, 15)) - (field(before, 14) + field(before, 15));
  long long ticks_ms = ticks * 1000 / sysconf(_SC_CLK_TCK);
  // utime and stime are sampled at ticks: close to the CPU clock, not equal.
  SKIP_IF(cpu_ms < 100, "the machine gave the burn too little CPU");
  EXPECT_GE(ticks_ms, cpu_ms / 2 - 20);
  EXPECT_LE(ticks_ms, cpu_ms * 2 + 20);
}

TEST(ProcPidStat, VsizeAgreesWithStatm) {
  auto f = stat_fields("/proc/self/stat");
  auto m = words(read_file("/proc/self/statm"));
  ASSERT_EQ(f.size(), 52u);
  ASSERT_EQ(m.size(), 7u);
  long long vsize_pages = field(f, 23) / sysconf(_SC_PAGESIZE);
  long long statm_size = atoll(m[0].c_str());
  EXPECT_GT(vsize_pages, 0);
  EXPECT_LE(llabs(vsize_pages - statm_size), 256);
}

TEST(ProcPidStat, SleepingChildIsS) {
  SleepingChild child;
  ASSERT_TRUE(child.start());
  EXPECT_TRUE(child.wait_state('S'));
  auto f = stat_fields("/proc/" + std::to_string(child.pid) + "/stat");
  EXPECT_EQ(f.size(), 52u);
  EXPECT_EQ(field(f, 1), child.pid);
  EXPECT_EQ(field(f, 4), getpid());
  EXPECT_EQ(field(f, 38), SIGCHLD);
  child.finish();
}

TEST(ProcPidStat, StoppedChildIsT) {
  SleepingChild child;
  ASSERT_TRUE(child.start());
  kill(child.pid, SIGSTOP);
  int status = 0;
  EXPECT_EQ(conformance::wait_for(child.pid, &status, WUNTRACED), child.pid);
  EXPECT_TRUE(child.wait_state('T'));
  child.finish();
}

TEST(ProcPidStat, ZombieChildIsZThenGone) {
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  ASSERT_TRUE(pid > 0);
  siginfo_t info{};
  // Wait for the exit without reaping.
  EXPECT_SYSCALL_SUCCEEDS(waitid(P_PID, pid, &info, WEXITED | WNOWAIT));
  auto f = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  EXPECT_EQ(f.size(), 52u);
  if (f.size() >= 3) EXPECT_STREQ(f[2], "Z");
  int status;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(("/proc/" + std::to_string(pid)).c_str(), &st), ENOENT);
}

TEST(ProcPidStat, ProcessGroupFollowsSetpgid) {
  SleepingChild child;
  ASSERT_TRUE(child.start());
  EXPECT_SYSCALL_SUCCEEDS(setpgid(child.pid, child.pid));
  auto f = stat_fields("/proc/" + std::to_string(child.pid) + "/stat");
  EXPECT_EQ(field(f, 5), child.pid);
  EXPECT_EQ(field(f, 6), getsid(0));
  child.finish();
}

// --- statm, status ----------------------------------------------------------

TEST(ProcPidStatm, SevenFieldsResidentWithinSize) {
  auto m = words(read_file("/proc/self/statm"));
  ASSERT_EQ(m.size(), 7u);
  long long size = atoll(m[0].c_str()), resident = atoll(m[1].c_str());
  EXPECT_GT(size, 0);
  EXPECT_GT(resident, 0);
  EXPECT_LE(resident, size);
}

TEST(ProcPidStatus, IdsAndThreads) {
  std::string s = read_file("/proc/self/status");
  EXPECT_EQ(atoll(status_value(s, "Tgid").c_str()), getpid());
  EXPECT_EQ(atoll(status_value(s, "Pid").c_str()), getpid());
  EXPECT_EQ(atoll(status_value(s, "PPid").c_str()), getppid());
  EXPECT_EQ(atoll(status_value(s, "Threads").c_str()), static_cast<long long>(count_task_entries()));
  EXPECT_STREQ(status_value(s, "State").substr(0, 1), "R");
}

TEST(ProcPidStatus, UidAndGidLines) {
  std::string s = read_file("/proc/self/status");
  auto uid = words(status_value(s, "Uid")), gid = words(status_value(s, "Gid"));
  ASSERT_EQ(uid.size(), 4u);
  ASSERT_EQ(gid.size(), 4u);
  EXPECT_EQ(atoll(uid[0].c_str()), getuid());
  EXPECT_EQ(atoll(uid[1].c_str()), geteuid());
  EXPECT_EQ(atoll(gid[0].c_str()), getgid());
  EXPECT_EQ(atoll(gid[1].c_str()), getegid());
}

TEST(ProcPidStatus, SigBlkFollowsSigprocmask) {
  conformance::SignalStateGuard guard;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  ASSERT_SYSCALL_SUCCEEDS(sigprocmask(SIG_BLOCK, &set, nullptr));
  uint64_t blk = strtoull(status_value(read_file("/proc/self/status"), "SigBlk").c_str(), nullptr, 16);
  EXPECT_EQ(blk & conformance::sigbit(SIGUSR1), conformance::sigbit(SIGUSR1));
  EXPECT_EQ(blk & conformance::sigbit(SIGTERM), conformance::sigbit(SIGTERM));
  EXPECT_EQ(blk & conformance::sigbit(SIGUSR2), 0u);
}

TEST(ProcPidStatus, SigIgnAndSigCgtFollowSigaction) {
  conformance::SignalStateGuard guard;
  signal(SIGUSR1, SIG_IGN);
  signal(SIGUSR2, [](int) {});
  std::string s = read_file("/proc/self/status");
  uint64_t ign = strtoull(status_value(s, "SigIgn").c_str(), nullptr, 16);
  uint64_t cgt = strtoull(status_value(s, "SigCgt").c_str(), nullptr, 16);
  EXPECT_TRUE(ign & conformance::sigbit(SIGUSR1));
  EXPECT_TRUE(cgt & conformance::sigbit(SIGUSR2));
  EXPECT_FALSE(cgt & conformance::sigbit(SIGUSR1));
}

TEST(ProcPidStatus, HasMemoryLines) {
  std::string s = read_file("/proc/self/status");
  EXPECT_TRUE(status_value(s, "VmSize").find(" kB") != std::string::npos);
  EXPECT_TRUE(status_value(s, "VmRSS").find(" kB") != std::string::npos);
  EXPECT_GT(atoll(status_value(s, "VmSize").c_str()), 0);
}

// --- task/ and comm -------------------------------------------------------------

TEST(ProcTask, ListsTheMainThread) {
  EXPECT_TRUE(contains(dir_names("/proc/self/task"), std::to_string(getpid())));
  EXPECT_EQ(field(stat_fields("/proc/self/task/" + std::to_string(getpid()) + "/stat"), 1), getpid());
}

TEST(ProcTask, ListsANewThread) {
  Helper h;
  bool ok = h.start();
  EXPECT_TRUE(ok);
  if (ok) {
    auto names = dir_names("/proc/self/task");
    EXPECT_TRUE(contains(names, std::to_string(h.tid)));
    EXPECT_TRUE(contains(names, std::to_string(getpid())));
    auto f = stat_fields("/proc/self/task/" + std::to_string(h.tid) + "/stat");
    EXPECT_EQ(f.size(), 52u);
    EXPECT_EQ(field(f, 1), h.tid);
    EXPECT_EQ(field(f, 20), 2);
    EXPECT_EQ(field(stat_fields("/proc/self/stat"), 20), 2);
    EXPECT_EQ(atoll(status_value(slurp("/proc/self/status"), "Threads").c_str()), 2);
  }
  h.stop();
  EXPECT_EQ(count_task_entries(), 1u);
}

TEST(ProcTask, ThreadStatusNamesTidAndTgid) {
  Helper h;
  bool ok = h.start();
  EXPECT_TRUE(ok);
  if (ok) {
    std::string s = slurp("/proc/self/task/" + std::to_string(h.tid) + "/status");
    EXPECT_EQ(atoll(status_value(s, "Pid").c_str()), h.tid);
    EXPECT_EQ(atoll(status_value(s, "Tgid").c_str()), getpid());
    EXPECT_EQ(atoll(status_value(s, "Threads").c_str()), 2);
  }
  h.stop();
}

TEST(ProcTask, ThreadCommAfterPrSetName) {
  std::string before = read_file("/proc/self/comm");
  Helper h;
  bool ok = h.start("conf-worker");
  EXPECT_TRUE(ok);
  if (ok) {
    EXPECT_STREQ(slurp("/proc/self/task/" + std::to_string(h.tid) + "/comm"), "conf-worker\n");
    EXPECT_STREQ(stat_fields("/proc/self/task/" + std::to_string(h.tid) + "/stat")[1], "conf-worker");
    EXPECT_STREQ(slurp("/proc/self/comm"), before);
  }
  h.stop();
}

TEST(ProcTask, TidDirectoryIsAThreadViewUnlisted) {
  Helper h;
  bool ok = h.start();
  EXPECT_TRUE(ok);
  if (ok) {
    std::string s = slurp("/proc/" + std::to_string(h.tid) + "/status");
    EXPECT_EQ(atoll(status_value(s, "Pid").c_str()), h.tid);
    EXPECT_EQ(atoll(status_value(s, "Tgid").c_str()), getpid());
    EXPECT_TRUE(contains(dir_names("/proc/" + std::to_string(h.tid) + "/task"), std::to_string(h.tid)));
    EXPECT_FALSE(contains(dir_names("/proc"), std::to_string(h.tid)));
  }
  h.stop();
}

TEST(ProcTask, GoneThreadIsEnoent) {
  Helper h;
  bool ok = h.start();
  EXPECT_TRUE(ok);
  pid_t tid = h.tid;
  h.stop();
  if (!ok) return;
  // The kernel removes the task after the join returns; allow it a moment.
  std::string path = "/proc/self/task/" + std::to_string(tid);
  for (int i = 0; i < 100 && exists(path); i++) conformance::sleep_ms(10);
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(path.c_str(), &st), ENOENT);
}

TEST(ProcThreadSelf, NamesTheCallingThread) {
  EXPECT_STREQ(read_link("/proc/thread-self"), std::to_string(getpid()) + "/task/" + std::to_string(gettid_()));
}

TEST(ProcComm, WriteRenamesTheProcess) {
  SavedName guard;
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/proc/self/comm", O_WRONLY | O_TRUNC));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "renamed", 7), 7);
  close(fd);
  char got[16] = {};
  ASSERT_SYSCALL_SUCCEEDS(prctl(PR_GET_NAME, got));
  EXPECT_STREQ(got, "renamed");
  EXPECT_STREQ(read_file("/proc/self/comm"), "renamed\n");
}

TEST(ProcComm, LongWriteIsTruncatedTo15) {
  SavedName guard;
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/proc/self/comm", O_WRONLY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "abcdefghijklmnopqrstuvwxyz", 26), 26);
  close(fd);
  EXPECT_STREQ(read_file("/proc/self/comm"), "abcdefghijklmno\n");
}

TEST(ProcComm, WriteToAnotherProcessIsEinval) {
  SKIP_IF(geteuid() != 0, "opening another process's comm for writing needs root");
  SleepingChild child;
  ASSERT_TRUE(child.start());
  int fd = open(("/proc/" + std::to_string(child.pid) + "/comm").c_str(), O_WRONLY);
  EXPECT_TRUE(fd >= 0);
  if (fd >= 0) {
    EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EINVAL);
    close(fd);
  }
  child.finish();
}

// --- fd/ and fdinfo/ ----------------------------------------------------------------

TEST(ProcFdinfo, PosFollowsLseek) {
  make_file(tmp("f"), "0123456789");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 7, SEEK_SET));
  std::string info = read_file("/proc/self/fdinfo/" + std::to_string(fd));
  EXPECT_STREQ(status_value(info, "pos"), "7");
  close(fd);
}

TEST(ProcFdinfo, FlagsShowAppendAndAccessMode) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY | O_APPEND));
  std::string flags = status_value(read_file("/proc/self/fdinfo/" + std::to_string(fd)), "flags");
  ASSERT_TRUE(!flags.empty() && flags[0] == '0');
  long f = strtol(flags.c_str(), nullptr, 8);
  EXPECT_TRUE(f & O_APPEND);
  EXPECT_EQ(f & O_ACCMODE, O_WRONLY);
  EXPECT_FALSE(f & O_CLOEXEC);
  close(fd);
}

TEST(ProcFdinfo, FlagsShowCloexec) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY | O_CLOEXEC));
  long f = strtol(status_value(read_file("/proc/self/fdinfo/" + std::to_string(fd)), "flags").c_str(), nullptr, 8);
  EXPECT_TRUE(f & O_CLOEXEC);
  EXPECT_EQ(f & O_ACCMODE, O_RDONLY);
  close(fd);
}

TEST(ProcFdinfo, MntIdIsAMountinfoId) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/proc/self/status", O_RDONLY));
  long mnt = atol(status_value(read_file("/proc/self/fdinfo/" + std::to_string(fd)), "mnt_id").c_str());
  close(fd);
  long proc_id = -1;
  for (const std::string& line : split(read_file("/proc/self/mountinfo"), '\n')) {
    auto w = words(line);
    if (w.size() >= 5 && w[4] == "/proc") proc_id = atol(w[0].c_str());
  }
  EXPECT_GT(mnt, 0);
  EXPECT_EQ(mnt, proc_id);
}

TEST(ProcFdinfo, InoMatchesFstat) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(strtoull(status_value(read_file("/proc/self/fdinfo/" + std::to_string(fd)), "ino").c_str(), nullptr, 10),
            static_cast<unsigned long long>(st.st_ino));
  close(fd);
}

TEST(ProcFdinfo, ClosedFdIsEnoent) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(open(("/proc/self/fdinfo/" + std::to_string(fd)).c_str(), O_RDONLY), ENOENT);
}

TEST(ProcFd, ListsOpenFdsOnly) {
  make_file(tmp("f"));
  int first = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  // A high number, so that the directory listing's own fd never takes it.
  int fd = ASSERT_SYSCALL_SUCCEEDS(fcntl(first, F_DUPFD, 200));
  close(first);
  EXPECT_TRUE(contains(dir_names("/proc/self/fd"), std::to_string(fd)));
  EXPECT_TRUE(contains(dir_names("/proc/self/fdinfo"), std::to_string(fd)));
  close(fd);
  EXPECT_FALSE(contains(dir_names("/proc/self/fd"), std::to_string(fd)));
  EXPECT_FALSE(contains(dir_names("/proc/self/fdinfo"), std::to_string(fd)));
}

// --- limits, mounts, maps -----------------------------------------------------------

TEST(ProcLimits, MaxOpenFilesMatchesGetrlimit) {
  struct rlimit rl;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_NOFILE, &rl));
  std::string line;
  for (const std::string& l : split(read_file("/proc/self/limits"), '\n'))
    if (l.rfind("Max open files", 0) == 0) line = l;
  auto w = words(line.substr(std::min<size_t>(line.size(), 25)));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_STREQ(w[0], std::to_string(rl.rlim_cur));
  EXPECT_STREQ(w[1], rl.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(rl.rlim_max));
  EXPECT_STREQ(w[2], "files");
}

TEST(ProcLimits, FollowsSetrlimitAndHasEveryRow) {
  struct rlimit old;
  ASSERT_SYSCALL_SUCCEEDS(getrlimit(RLIMIT_CORE, &old));
  struct rlimit lower = {old.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(old.rlim_max, 4096), old.rlim_max};
  ASSERT_SYSCALL_SUCCEEDS(setrlimit(RLIMIT_CORE, &lower));
  auto lines = split(read_file("/proc/self/limits"), '\n');
  setrlimit(RLIMIT_CORE, &old);
  ASSERT_EQ(lines.size(), 17u);
  EXPECT_TRUE(lines[0].rfind("Limit                     Soft Limit           Hard Limit           Units", 0) == 0);
  std::string core;
  for (auto& l : lines)
    if (l.rfind("Max core file size", 0) == 0) core = l;
  auto w = words(core.substr(std::min<size_t>(core.size(), 25)));
  ASSERT_GE(w.size(), 1u);
  EXPECT_STREQ(w[0], std::to_string(lower.rlim_cur));
}

TEST(ProcMounts, ParseAndShowRootAndProc) {
  bool root = false, proc = false;
  for (const std::string& line : split(read_file("/proc/self/mounts"), '\n')) {
    auto w = words(line);
    EXPECT_EQ(w.size(), 6u);
    if (w.size() < 6) continue;
    root |= w[1] == "/";
    proc |= w[1] == "/proc" && w[2] == "proc";
  }
  EXPECT_TRUE(root);
  EXPECT_TRUE(proc);
  EXPECT_STREQ(read_link("/proc/mounts"), "self/mounts");
}

TEST(ProcMountinfo, ParsesWithSeparatorAndParents) {
  std::set<long> ids;
  std::vector<long> parents;
  bool proc = false;
  for (const std::string& line : split(read_file("/proc/self/mountinfo"), '\n')) {
    auto w = words(line);
    auto sep = std::find(w.begin(), w.end(), "-");
    EXPECT_TRUE(sep != w.end() && sep - w.begin() >= 6 && w.end() - sep == 4);
    if (w.size() < 10 || sep == w.end()) continue;
    unsigned major, minor;
    EXPECT_EQ(sscanf(w[2].c_str(), "%u:%u", &major, &minor), 2);
    EXPECT_TRUE(w[4][0] == '/');
    ids.insert(atol(w[0].c_str()));
    parents.push_back(atol(w[1].c_str()));
    proc |= w[4] == "/proc" && *(sep + 1) == "proc";
  }
  EXPECT_TRUE(proc);
  // Every parent but the root's is a listed mount.
  size_t unlisted = 0;
  for (long p : parents) unlisted += !ids.count(p);
  EXPECT_GE(ids.size(), 2u);
  EXPECT_LE(unlisted, 1u);
}

TEST(ProcSmaps, OneBlockPerMapping) {
  size_t maps_lines = split(read_file("/proc/self/maps"), '\n').size();
  size_t headers = 0, sizes = 0;
  for (const std::string& line : split(read_file("/proc/self/smaps"), '\n')) {
    unsigned long lo, hi;
    if (sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) headers++;
    if (line.rfind("Size:", 0) == 0) sizes++;
  }
  EXPECT_GT(headers, 0u);
  EXPECT_EQ(headers, sizes);
  EXPECT_LE(headers > maps_lines ? headers - maps_lines : maps_lines - headers, 2u);
}

TEST(ProcPid, ChildDirectoryShowsItsState) {
  SleepingChild child;
  ASSERT_TRUE(child.start());
  std::string dir = "/proc/" + std::to_string(child.pid);
  EXPECT_TRUE(contains(dir_names("/proc"), std::to_string(child.pid)));
  EXPECT_STREQ(slurp(dir + "/cmdline"), slurp("/proc/self/cmdline"));
  EXPECT_STREQ(read_link(dir + "/exe"), read_link("/proc/self/exe"));
  EXPECT_EQ(atoll(status_value(slurp(dir + "/status"), "PPid").c_str()), getpid());
  child.finish();
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(dir.c_str(), &st), ENOENT);
}

TEST(ProcPid, RootLinkIsSlash) { EXPECT_STREQ(read_link("/proc/self/root"), "/"); }

// --- /proc and /proc/sys ----------------------------------------------------------

TEST(ProcRoot, ListsSelfAndOwnPid) {
  auto names = dir_names("/proc");
  EXPECT_TRUE(contains(names, "self"));
  EXPECT_TRUE(contains(names, "thread-self"));
  EXPECT_TRUE(contains(names, "cpuinfo"));
  EXPECT_TRUE(contains(names, std::to_string(getpid())));
  for (auto& n : names) {
    if (n.empty() || !isdigit(static_cast<unsigned char>(n[0]))) continue;
    EXPECT_GT(atoll(n.c_str()), 0);
  }
}

TEST(ProcRoot, NonexistentPidIsEnoent) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat("/proc/999999999/stat", &st), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(stat("/proc/self/task/999999999", &st), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(open("/proc/self/nonexistent", O_RDONLY), ENOENT);
}

TEST(ProcCpuinfo, ProcessorLinesMatchSysconf) {
  int processors = 0;
  for (const std::string& line : split(read_file("/proc/cpuinfo"), '\n'))
    if (line.rfind("processor", 0) == 0 && line.find(':') != std::string::npos) processors++;
  EXPECT_EQ(processors, sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(ProcMeminfo, MemTotalIsPositive) {
  std::string m = read_file("/proc/meminfo");
  EXPECT_GT(atoll(status_value(m, "MemTotal").c_str()), 0);
  EXPECT_TRUE(status_value(m, "MemTotal").find("kB") != std::string::npos);
  EXPECT_TRUE(!status_value(m, "MemFree").empty());
}

TEST(ProcUptime, TwoFloats) {
  double up = -1, idle = -1;
  char extra = 0;
  ASSERT_EQ(sscanf(read_file("/proc/uptime").c_str(), "%lf %lf%c", &up, &idle, &extra), 3);
  EXPECT_TRUE(up > 0);
  EXPECT_TRUE(idle >= 0);
  EXPECT_EQ(extra, '\n');
}

TEST(ProcLoadavg, Parses) {
  double a, b, c;
  int running, total, last;
  ASSERT_EQ(sscanf(read_file("/proc/loadavg").c_str(), "%lf %lf %lf %d/%d %d", &a, &b, &c, &running, &total, &last),
            6);
  EXPECT_GE(running, 1);
  EXPECT_GE(total, running);
  EXPECT_GT(last, 0);
}

TEST(ProcVersion, NamesTheRelease) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  std::string v = read_file("/proc/version");
  EXPECT_TRUE(v.rfind("Linux version ", 0) == 0);
  EXPECT_TRUE(v.find(u.release) != std::string::npos);
}

TEST(ProcStatFile, CpuLinesAndBootTime) {
  std::string s = read_file("/proc/stat");
  EXPECT_TRUE(s.rfind("cpu ", 0) == 0);
  int cpus = 0;
  for (const std::string& line : split(s, '\n'))
    if (line.size() > 3 && line.rfind("cpu", 0) == 0 && isdigit(static_cast<unsigned char>(line[3]))) cpus++;
  EXPECT_GE(cpus, 1);
  long long btime = 0;
  for (const std::string& line : split(s, '\n'))
    if (line.rfind("btime ", 0) == 0) btime = atoll(line.c_str() + 6);
  EXPECT_GT(btime, 0);
  EXPECT_TRUE(s.find("\nprocs_running ") != std::string::npos);
}

TEST(ProcFilesystems, ListsProc) {
  bool proc = false;
  for (const std::string& line : split(read_file("/proc/filesystems"), '\n')) proc |= line == "nodev\tproc";
  EXPECT_TRUE(proc);
}

TEST(ProcSys, KernelIdentity) {
  struct utsname u;
  ASSERT_SYSCALL_SUCCEEDS(uname(&u));
  EXPECT_STREQ(read_file("/proc/sys/kernel/ostype"), "Linux\n");
  EXPECT_STREQ(read_file("/proc/sys/kernel/osrelease"), std::string(u.release) + "\n");
  EXPECT_STREQ(read_file("/proc/sys/kernel/hostname"), std::string(u.nodename) + "\n");
  EXPECT_GT(atoll(read_file("/proc/sys/kernel/pid_max").c_str()), 0);
  EXPECT_GE(atoll(read_file("/proc/sys/kernel/pid_max").c_str()), getpid());
}

TEST(ProcSys, VmAndFsValues) {
  std::string over = read_file("/proc/sys/vm/overcommit_memory");
  EXPECT_TRUE(over == "0\n" || over == "1\n" || over == "2\n");
  EXPECT_GT(atoll(read_file("/proc/sys/fs/file-max").c_str()), 0);
}

TEST(ProcWrite, ReadOnlyFilesRefuseWrites) {
  SKIP_IF(geteuid() != 0, "the errors below are root's (others get EACCES at open)");
  // A /proc/PID seq file opens but has no write method.
  int fd = open("/proc/self/stat", O_WRONLY);
  EXPECT_TRUE(fd >= 0);
  if (fd >= 0) {
    EXPECT_SYSCALL_FAILS_WITH(write(fd, "1", 1), EINVAL);
    close(fd);
  }
  // A system-wide file without a write method: EIO.
  fd = open("/proc/meminfo", O_WRONLY);
  EXPECT_TRUE(fd >= 0);
  if (fd >= 0) {
    EXPECT_SYSCALL_FAILS_WITH(write(fd, "1", 1), EIO);
    close(fd);
  }
  // A read-only sysctl is refused at open, even to root.
  EXPECT_SYSCALL_FAILS_WITH(open("/proc/sys/kernel/ostype", O_WRONLY), EACCES);
}

TEST(ProcWrite, CannotCreateInProc) {
  EXPECT_SYSCALL_FAILS_WITH(open("/proc/self/newfile", O_WRONLY | O_CREAT, 0644), ENOENT);
}

// --- /sys ---------------------------------------------------------------------

TEST(Sysfs, CpuOnlineMatchesTheCpuCount) {
  std::string online = read_file("/sys/devices/system/cpu/online");
  ASSERT_TRUE(!online.empty() && online.back() == '\n');
  EXPECT_EQ(count_cpu_list(online), sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(Sysfs, PossibleAndPresentParse) {
  int online = count_cpu_list(read_file("/sys/devices/system/cpu/online"));
  int possible = count_cpu_list(read_file("/sys/devices/system/cpu/possible"));
  int present = count_cpu_list(read_file("/sys/devices/system/cpu/present"));
  EXPECT_GE(possible, online);
  EXPECT_GE(present, online);
  EXPECT_GT(online, 0);
  EXPECT_EQ(possible, sysconf(_SC_NPROCESSORS_CONF));
}

TEST(Sysfs, CgroupIsADirectory) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat("/sys/fs/cgroup", &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(Sysfs, AttributesAreReadOnly) {
  errno = 0;
  int fd = open("/sys/devices/system/cpu/online", O_WRONLY);
  int e = errno;
  if (fd >= 0) close(fd);
  EXPECT_EQ(fd, -1);
  // EACCES on a read-write sysfs (a 0444 attribute), EROFS on a read-only
  // mount (a container's /sys, and moat's).
  EXPECT_TRUE(e == EACCES || e == EROFS);
}
