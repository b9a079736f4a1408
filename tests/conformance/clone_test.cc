// Conformance: clone(2) and clone3(2) threads and processes, thread exit
// against exit_group, pthreads, getrusage(2) and times(2).
//
// Raw clone threads run with a thread pointer of their own (CLONE_SETTLS),
// so they only make raw syscalls (proc::raw_syscall6) and never touch errno.
// Flag combinations that must be rejected are tried in a forked child, so a
// sandbox that wrongly accepts them cannot corrupt the runner.
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;
using namespace proc;

namespace {

// struct clone_args up to version 2.
struct CloneArgs {
  uint64_t flags = 0, pidfd = 0, child_tid = 0, parent_tid = 0, exit_signal = 0, stack = 0, stack_size = 0, tls = 0,
           set_tid = 0, set_tid_size = 0, cgroup = 0;
};
constexpr size_t kCloneArgsV0 = 64;

long sys_clone3(CloneArgs* args, size_t size) { return syscall(SYS_clone3, args, size); }

constexpr int kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                             CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

// What a raw thread saw, written by the thread and read by its creator.
struct ThreadReport {
  volatile long tid = 0, pid = 0, fs = 0, value = 0, fd = -1, extra = 0;
  int sleep_ms = 50;
  int mode = 0;  // see raw_thread_main
  long exit_code = 0;
};

enum : int { kModePlain = 0, kModeOpenFile = 1, kModeChdir = 2, kModeExitGroup = 3, kModeSleepThenExitGroup = 4 };

// A raw clone thread with its own stack and thread pointer.
struct RawThread {
  static constexpr size_t kStack = 256 * 1024, kTlsArea = 64 * 1024;
  char* stack = nullptr;
  char* tls_area = nullptr;
  char* tcb = nullptr;
  pid_t ptid = 0;
  volatile pid_t ctid = 0;
  long tid = -1;
  ThreadReport report;

  RawThread() {
    stack = static_cast<char*>(mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    tls_area = static_cast<char*>(mmap(nullptr, kTlsArea, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    // The thread control block sits mid-area: x86-64 TLS lives below it.
    tcb = tls_area + kTlsArea / 2;
    reinterpret_cast<void**>(tcb)[0] = tcb;  // tcb->tcb
    reinterpret_cast<void**>(tcb)[2] = tcb;  // tcb->self
    uint64_t guard, pointer_guard;
    asm volatile("mov %%fs:0x28, %0" : "=r"(guard));
    asm volatile("mov %%fs:0x30, %0" : "=r"(pointer_guard));
    reinterpret_cast<uint64_t*>(tcb)[5] = guard;
    reinterpret_cast<uint64_t*>(tcb)[6] = pointer_guard;
  }
  ~RawThread() {
    join(5000);
    if (stack) munmap(stack, kStack);
    if (tls_area) munmap(tls_area, kTlsArea);
  }
  // Starts the thread; returns the tid (or -1 with errno).
  long start(int flags = kThreadFlags) {
    ctid = 1;  // replaced with the tid by nothing; cleared by the kernel at exit
    tid = clone(&RawThread::entry, stack + kStack, flags, this, &ptid, tcb, const_cast<pid_t*>(&ctid));
    if (tid < 0) ctid = 0;
    return tid;
  }
  // Waits for CLONE_CHILD_CLEARTID to clear ctid, sleeping on the futex.
  // Returns true when it cleared within timeout_ms.
  bool join(int timeout_ms) {
    int64_t end = now_ms() + timeout_ms;
    while (ctid != 0) {
      int v = ctid;
      if (v == 0) break;
      int64_t left = end - now_ms();
      if (left <= 0) return false;
      struct timespec ts = {static_cast<time_t>(left / 1000), static_cast<long>(left % 1000) * 1000000L};
      syscall(SYS_futex, const_cast<pid_t*>(&ctid), FUTEX_WAIT, v, &ts, nullptr, 0);
    }
    return true;
  }
  static int entry(void* arg) {
    auto* self = static_cast<RawThread*>(arg);
    ThreadReport& r = self->report;
    r.tid = raw_syscall6(SYS_gettid);
    r.pid = raw_syscall6(SYS_getpid);
    unsigned long fs = 0;
    raw_syscall6(SYS_arch_prctl, ARCH_GET_FS, reinterpret_cast<long>(&fs));
    r.fs = static_cast<long>(fs);
    if (r.mode == kModeOpenFile) r.fd = raw_syscall6(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"), O_RDONLY);
    if (r.mode == kModeChdir) r.extra = raw_syscall6(SYS_chdir, reinterpret_cast<long>("/"));
    if (r.mode == kModeExitGroup) raw_exit_group(static_cast<int>(r.exit_code));
    r.value = 42;
    if (r.sleep_ms > 0) {
      struct timespec ts = {r.sleep_ms / 1000, (r.sleep_ms % 1000) * 1000000L};
      raw_syscall6(SYS_nanosleep, reinterpret_cast<long>(&ts), 0);
    }
    if (r.mode == kModeSleepThenExitGroup) raw_exit_group(static_cast<int>(r.exit_code));
    raw_exit_thread(static_cast<int>(r.exit_code));
  }
};

long cpu_usec(const struct rusage& ru) {
  return ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
}

// Runs check() in a forked child; returns its result (see proc::child_result).
// Any stray child it made of ours (a wrongly accepted CLONE_PARENT) is reaped.
template <typename F>
int in_child(F check) {
  pid_t pid = fork_child(check);
  if (pid < 0) return kWaitFailed;
  int r = child_result(pid);
  int st;
  for (int64_t end = now_ms() + 2000; now_ms() < end;) {
    pid_t w = waitpid(-1, &st, WNOHANG | __WALL);
    if (w < 0) break;
    if (w == 0) sleep_ms(1);
  }
  return r;
}

}  // namespace

// ---------------------------------------------------------- raw threads

TEST(CloneThread, SharesMemoryAndPidButNotTid) {
  RawThread t;
  long tid = ASSERT_SYSCALL_SUCCEEDS(t.start());
  EXPECT_TRUE(t.join(5000));
  EXPECT_EQ(t.report.value, 42);
  EXPECT_EQ(t.report.pid, getpid());
  EXPECT_EQ(t.report.tid, tid);
  EXPECT_NE(t.report.tid, gettid());
  EXPECT_NE(tid, getpid());
}

TEST(CloneThread, ParentSettidStoresTid) {
  RawThread t;
  long tid = ASSERT_SYSCALL_SUCCEEDS(t.start());
  EXPECT_TRUE(t.join(5000));
  EXPECT_EQ(t.ptid, tid);
}

TEST(CloneThread, SettlsSetsThreadPointer) {
  RawThread t;
  ASSERT_SYSCALL_SUCCEEDS(t.start());
  EXPECT_TRUE(t.join(5000));
  EXPECT_EQ(t.report.fs, reinterpret_cast<long>(t.tcb));
  // Ours is unchanged.
  unsigned long fs = 0;
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
  EXPECT_NE(fs, reinterpret_cast<unsigned long>(t.tcb));
}

TEST(CloneThread, ChildCleartidWakesFutexWaiter) {
  RawThread t;
  t.report.sleep_ms = 100;
  ASSERT_SYSCALL_SUCCEEDS(t.start());
  int64_t start = now_ms();
  // One wait on the futex: the thread is still sleeping, so this sleeps
  // until the kernel clears the word and wakes it.
  int v = t.ctid;
  long r = 0;
  if (v != 0) {
    struct timespec ts = {5, 0};
    r = syscall(SYS_futex, const_cast<pid_t*>(&t.ctid), FUTEX_WAIT, v, &ts, nullptr, 0);
  }
  int64_t waited = now_ms() - start;
  EXPECT_TRUE(r == 0 || errno == EAGAIN);
  EXPECT_LT(waited, 4000);
  EXPECT_TRUE(t.join(5000));
  EXPECT_EQ(t.ctid, 0);
}

TEST(CloneThread, IsNotAWaitableChild) {
  RawThread t;
  t.report.sleep_ms = 50;
  long tid = ASSERT_SYSCALL_SUCCEEDS(t.start());
  int st;
  EXPECT_SYSCALL_FAILS_WITH(waitpid(static_cast<pid_t>(tid), &st, WNOHANG | __WALL), ECHILD);
  EXPECT_SYSCALL_FAILS_WITH(waitpid(-1, &st, WNOHANG | __WALL), ECHILD);
  EXPECT_TRUE(t.join(5000));
}

TEST(CloneThread, SharesFileDescriptorTable) {
  RawThread t;
  t.report.mode = kModeOpenFile;
  t.report.sleep_ms = 0;
  ASSERT_SYSCALL_SUCCEEDS(t.start());
  EXPECT_TRUE(t.join(5000));
  EXPECT_GE(t.report.fd, 0);
  if (t.report.fd >= 0) {
    EXPECT_SYSCALL_SUCCEEDS(fcntl(static_cast<int>(t.report.fd), F_GETFD));
    close(static_cast<int>(t.report.fd));
  }
}

TEST(CloneThread, SharesWorkingDirectory) {
  std::string dir = temp_dir();
  ASSERT_SYSCALL_SUCCEEDS(chdir(dir.c_str()));
  RawThread t;
  t.report.mode = kModeChdir;
  t.report.sleep_ms = 0;
  ASSERT_SYSCALL_SUCCEEDS(t.start());
  EXPECT_TRUE(t.join(5000));
  EXPECT_EQ(t.report.extra, 0);
  char cwd[256] = {};
  EXPECT_TRUE(getcwd(cwd, sizeof cwd) != nullptr);
  EXPECT_STREQ(cwd, "/");
}

TEST(CloneThread, ThreadExitLeavesProcessRunning) {
  int r = in_child([] {
    RawThread t;
    t.report.exit_code = 5;
    t.report.sleep_ms = 10;
    if (t.start() < 0) return 1;
    if (!t.join(5000)) return 2;
    if (t.report.value != 42) return 3;
    int tasks = count_tasks();
    if (tasks != -1 && tasks != 1) return 4;
    return 7;
  });
  EXPECT_EQ(r, 7);
}

TEST(CloneThread, ExitGroupFromThreadEndsWholeProcess) {
  int64_t start = now_ms();
  int r = in_child([] {
    RawThread t;
    t.report.mode = kModeExitGroup;
    t.report.exit_code = 9;
    if (t.start() < 0) return 1;
    sleep_ms(8000);
    return 2;
  });
  EXPECT_EQ(r, 9);
  EXPECT_LT(now_ms() - start, 4000);
}

TEST(CloneThread, LeaderExitWaitsForLastThread) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    static RawThread t;  // outlives the leader's stack frame
    t.report.mode = kModeSleepThenExitGroup;
    t.report.sleep_ms = 200;
    t.report.exit_code = 4;
    if (t.start() < 0) _exit(1);
    raw_exit_thread(0);
  }
  ASSERT_GT(pid, 0);
  sleep_ms(60);
  // The leader has exited, but the process has not: nothing to report yet.
  int st;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(pid, &st, WNOHANG), 0);
  EXPECT_EQ(child_result(pid), 4);
}

// ---------------------------------------------------------- pthreads

namespace {
struct PthreadIds {
  pid_t tid = 0, pid = 0;
};
void* report_ids(void* arg) {
  auto* ids = static_cast<PthreadIds*>(arg);
  ids->tid = gettid();
  ids->pid = getpid();
  return reinterpret_cast<void*>(77);
}
}  // namespace

TEST(Pthread, GettidDiffersGetpidSame) {
  PthreadIds ids;
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, report_ids, &ids), 0);
  void* ret = nullptr;
  ASSERT_EQ(pthread_join(th, &ret), 0);
  EXPECT_EQ(ret, reinterpret_cast<void*>(77));
  EXPECT_EQ(ids.pid, getpid());
  EXPECT_NE(ids.tid, gettid());
  EXPECT_GT(ids.tid, 0);
  EXPECT_EQ(gettid(), getpid());
}

namespace {
pthread_barrier_t g_barrier;
void* wait_at_barrier(void*) {
  pthread_barrier_wait(&g_barrier);  // all started
  pthread_barrier_wait(&g_barrier);  // counted, may go
  return nullptr;
}
}  // namespace

TEST(Pthread, TaskDirectoryCountsThreads) {
  ASSERT_EQ(count_tasks(), 1);
  pthread_barrier_init(&g_barrier, nullptr, 4);
  pthread_t th[3];
  for (auto& t : th) ASSERT_EQ(pthread_create(&t, nullptr, wait_at_barrier, nullptr), 0);
  pthread_barrier_wait(&g_barrier);
  EXPECT_EQ(count_tasks(), 4);
  EXPECT_STREQ(status_field("Threads"), "4");
  pthread_barrier_wait(&g_barrier);
  for (auto& t : th) pthread_join(t, nullptr);
  pthread_barrier_destroy(&g_barrier);
  // Joined threads are gone from the task list.
  int64_t end = now_ms() + 2000;
  while (count_tasks() != 1 && now_ms() < end) sleep_ms(1);
  EXPECT_EQ(count_tasks(), 1);
  EXPECT_STREQ(status_field("Threads"), "1");
}

TEST(Pthread, ExitFromMainThreadOfChildKeepsOthersRunning) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t th;
    pthread_create(
        &th, nullptr,
        [](void*) -> void* {
          sleep_ms(50);
          exit(12);
        },
        nullptr);
    pthread_exit(nullptr);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(pid), 12);
}

// ---------------------------------------------------------- clone3

TEST(Clone3, ForkLikeChildWithoutSetTid) {
  CloneArgs args;
  args.exit_signal = SIGCHLD;
  pid_t parent = getpid();
  fflush(nullptr);
  long pid = sys_clone3(&args, kCloneArgsV0);
  if (pid == 0) _exit(syscall(SYS_getppid) == parent ? 3 : 1);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(static_cast<pid_t>(pid)), 3);
}

TEST(Clone3, FullSizeStructIsAccepted) {
  CloneArgs args;
  args.exit_signal = SIGCHLD;
  fflush(nullptr);
  long pid = sys_clone3(&args, sizeof args);
  if (pid == 0) _exit(4);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(child_result(static_cast<pid_t>(pid)), 4);
}

TEST(Clone3, ParentAndChildSettid) {
  pid_t ptid = 0;
  CloneArgs args;
  args.flags = CLONE_PARENT_SETTID;
  args.parent_tid = reinterpret_cast<uint64_t>(&ptid);
  args.exit_signal = SIGCHLD;
  fflush(nullptr);
  long pid = sys_clone3(&args, kCloneArgsV0);
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ptid, pid);
  EXPECT_EQ(child_result(static_cast<pid_t>(pid)), 0);
}

TEST(Clone3, SizeTooSmallIsEinval) {
  int r = in_child([] {
    CloneArgs args;
    args.exit_signal = SIGCHLD;
    for (size_t size : {size_t{0}, size_t{32}, kCloneArgsV0 - 8}) {
      long v = sys_clone3(&args, size);
      if (v == 0) _exit(50);
      if (v != -1 || errno != EINVAL) return 1;
    }
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, OversizedStructIsE2big) {
  int r = in_child([] {
    // Bytes past the known struct must be zero; more than a page is too big.
    alignas(8) static char buf[8192] = {};
    auto* args = reinterpret_cast<CloneArgs*>(buf);
    args->exit_signal = SIGCHLD;
    buf[200] = 1;
    long v = sys_clone3(args, 256);
    if (v == 0) _exit(50);
    if (v != -1 || errno != E2BIG) return 1;
    buf[200] = 0;
    v = sys_clone3(args, sizeof buf);
    if (v == 0) _exit(50);
    if (v != -1 || errno != E2BIG) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_clone3, reinterpret_cast<void*>(8), kCloneArgsV0), EFAULT);
}

TEST(Clone3, ThreadWithoutSighandIsEinval) {
  int r = in_child([] {
    CloneArgs args;
    args.flags = CLONE_THREAD | CLONE_VM;
    long v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    v = syscall(SYS_clone, CLONE_THREAD | CLONE_VM, 0L, nullptr, nullptr, 0L);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, SighandWithoutVmIsEinval) {
  int r = in_child([] {
    CloneArgs args;
    args.flags = CLONE_SIGHAND;
    args.exit_signal = SIGCHLD;
    long v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    v = syscall(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0L, nullptr, nullptr, 0L);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, ExitSignalWithThreadOrParentIsEinval) {
  int r = in_child([] {
    CloneArgs args;
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    args.exit_signal = SIGCHLD;
    long v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    args.flags = CLONE_PARENT;
    v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, BadExitSignalIsEinval) {
  int r = in_child([] {
    CloneArgs args;
    args.exit_signal = 65;
    long v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    args.exit_signal = (1ULL << 32) | SIGCHLD;
    v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone3, StackAndStackSizeMustComeTogether) {
  int r = in_child([] {
    CloneArgs args;
    args.exit_signal = SIGCHLD;
    args.stack_size = 4096;
    long v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    static char stack[4096];
    args.stack = reinterpret_cast<uint64_t>(stack);
    args.stack_size = 0;
    args.flags = CLONE_VM;
    v = sys_clone3(&args, kCloneArgsV0);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

TEST(Clone, NewNamespaceWithSharedFsIsEinval) {
  int r = in_child([] {
    long v = syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0L, nullptr, nullptr, 0L);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 1;
    v = syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0L, nullptr, nullptr, 0L);
    if (v == 0) _exit(50);
    if (v != -1 || errno != EINVAL) return 2;
    return 0;
  });
  EXPECT_EQ(r, 0);
}

// ---------------------------------------------------------- clone processes

TEST(Clone, ParentFlagMakesASibling) {
  Pipe report;
  pid_t me = getpid();
  pid_t a = fork_child([&] {
    fflush(nullptr);
    long g = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0L, nullptr, nullptr, 0L);
    if (g == 0) {
      pid_t ids[2] = {static_cast<pid_t>(syscall(SYS_getpid)), static_cast<pid_t>(syscall(SYS_getppid))};
      write(report.w, ids, sizeof ids);
      _exit(33);
    }
    return g > 0 ? 0 : 1;
  });
  ASSERT_GT(a, 0);
  EXPECT_EQ(child_result(a), 0);
  report.close_w();
  pid_t ids[2] = {-1, -1};
  EXPECT_EQ(read_full_timeout(report.r, ids, sizeof ids), (ssize_t)sizeof ids);
  EXPECT_EQ(ids[1], me);
  // The grandchild is our child: we wait for it.
  if (ids[0] > 0) EXPECT_EQ(child_result(ids[0]), 33);
}

namespace {
volatile int g_vm_word = 0;
int set_vm_word(void* arg) {
  struct timespec ts = {0, 50 * 1000000L};
  raw_syscall6(SYS_nanosleep, reinterpret_cast<long>(&ts), 0);
  g_vm_word = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  return 8;
}
}  // namespace

TEST(Clone, VmWithoutThreadSharesMemoryAndIsWaitable) {
  MOAT_KNOWN_FAILURE("CLONE_VM without CLONE_VFORK/CLONE_THREAD is ENOSYS");
  char* stack = static_cast<char*>(mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(stack != MAP_FAILED);
  g_vm_word = 0;
  int pid = clone(set_vm_word, stack + 65536, CLONE_VM | SIGCHLD, reinterpret_cast<void*>(5));
  ASSERT_GT(pid, 0);
  EXPECT_NE(pid, getpid());
  EXPECT_EQ(child_result(pid), 8);
  EXPECT_EQ(g_vm_word, 5);
  munmap(stack, 65536);
}

TEST(Clone, VforkFlagSuspendsParentUntilChildExits) {
  char* stack = static_cast<char*>(mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_TRUE(stack != MAP_FAILED);
  g_vm_word = 0;
  int64_t start = now_ms();
  int pid = clone(set_vm_word, stack + 65536, CLONE_VM | CLONE_VFORK | SIGCHLD, reinterpret_cast<void*>(6));
  int64_t elapsed = now_ms() - start;
  ASSERT_GT(pid, 0);
  // By the time clone returns the child has run to its exit.
  EXPECT_EQ(g_vm_word, 6);
  EXPECT_GE(elapsed, 40);
  EXPECT_EQ(child_result(pid), 8);
  munmap(stack, 65536);
}

TEST(Clone, SetTidAddressReturnsTid) {
  int r = in_child([] {
    static int word;
    long v = syscall(SYS_set_tid_address, &word);
    return v == gettid() ? 0 : 1;
  });
  EXPECT_EQ(r, 0);
}

// ---------------------------------------------------------- getrusage/times

TEST(Rusage, SelfUserTimeGrowsWithCpuWork) {
  struct rusage before, after;
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_SELF, &before));
  burn_cpu_ms(60);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_SELF, &after));
  EXPECT_GT(after.ru_utime.tv_sec * 1000000L + after.ru_utime.tv_usec, 0);
  EXPECT_GE(cpu_usec(after) - cpu_usec(before), 2000);
  EXPECT_GT(after.ru_maxrss, 0);
}

TEST(Rusage, ThreadCountsTheCallingThread) {
  struct rusage before, after, self;
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_THREAD, &before));
  burn_cpu_ms(60);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_THREAD, &after));
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_SELF, &self));
  EXPECT_GE(cpu_usec(after) - cpu_usec(before), 2000);
  EXPECT_LE(cpu_usec(after), cpu_usec(self) + 10000);
}

TEST(Rusage, ChildrenCountOnlyAfterWait) {
  struct rusage before, mid, after;
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &before));
  pid_t pid = fork_child([] {
    burn_cpu_ms(80);
    return 0;
  });
  ASSERT_GT(pid, 0);
  // Wait until it is a zombie, without reaping it.
  siginfo_t info;
  int64_t end = now_ms() + 10000;
  for (;;) {
    memset(&info, 0, sizeof info);
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT | WNOHANG);
    if (info.si_pid != 0 || now_ms() >= end) break;
    sleep_ms(1);
  }
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &mid));
  EXPECT_EQ(cpu_usec(mid), cpu_usec(before));
  EXPECT_EQ(child_result(pid), 0);
  ASSERT_SYSCALL_SUCCEEDS(getrusage(RUSAGE_CHILDREN, &after));
  EXPECT_GE(cpu_usec(after) - cpu_usec(before), 2000);
}

TEST(Rusage, BadArgumentsFail) {
  struct rusage ru;
  EXPECT_SYSCALL_FAILS_WITH(getrusage(static_cast<__rusage_who_t>(42), &ru), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_getrusage, RUSAGE_SELF, reinterpret_cast<void*>(8)), EFAULT);
}

TEST(Times, TicksIncrease) {
  struct tms t;
  clock_t a = times(&t);
  ASSERT_TRUE(a != (clock_t)-1);
  sleep_ms(60);
  clock_t b = times(&t);
  long hz = sysconf(_SC_CLK_TCK);
  EXPECT_GE(b - a, 3 * hz / 100);
  EXPECT_LE(b - a, 5 * hz);
  // A null buffer is allowed: only the tick count is returned.
  clock_t c = times(nullptr);
  EXPECT_GE(c, b);
}

TEST(Times, SelfAndChildTimesGrow) {
  struct tms before, after;
  ASSERT_TRUE(times(&before) != (clock_t)-1);
  burn_cpu_ms(60);
  pid_t pid = fork_child([] {
    burn_cpu_ms(150);
    return 0;
  });
  EXPECT_EQ(child_result(pid), 0);
  ASSERT_TRUE(times(&after) != (clock_t)-1);
  EXPECT_GT(after.tms_utime + after.tms_stime, before.tms_utime + before.tms_stime);
  EXPECT_GT(after.tms_cutime + after.tms_cstime, before.tms_cutime + before.tms_cstime);
}

TEST(Times, BadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_times, reinterpret_cast<void*>(8)), EFAULT);
}
