#include "sentry/platform/stub_process.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <dirent.h>
#include <sstream>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "stub/filter.h"
#include "stub/stub.h"

namespace moat {

namespace {

constexpr int kChildControlFd = 100;

struct Range {
  uint64_t start, end;
};

// The mappings every stub process keeps from the sentry's image: the vDSO
// and vvar pages, which the kernel placed and the guest's clock calls use.
std::vector<Range> kept_host_mappings() {
  std::vector<Range> keep;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("[vdso]") == std::string::npos && line.find("[vvar") == std::string::npos) continue;
    unsigned long s = 0, e = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &s, &e) == 2) keep.push_back({s, e});
  }
  return keep;
}

// Everything below the top of user space except the stub region and the
// kept mappings gets unmapped by the stub's init code.
void fill_unmap_list(moat_header* h) {
  std::vector<Range> keep = kept_host_mappings();
  keep.push_back({MOAT_RESERVED_BASE, MOAT_RESERVED_END});
  std::sort(keep.begin(), keep.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  uint64_t cursor = 0;
  uint32_t n = 0;
  const uint64_t top = 0x7ffffffff000ULL;
  for (const Range& r : keep) {
    if (r.start > cursor && n < MOAT_MAX_UNMAP) h->unmap[n++] = {cursor, r.start - cursor};
    cursor = std::max(cursor, r.end);
  }
  if (cursor < top && n < MOAT_MAX_UNMAP) h->unmap[n++] = {cursor, top - cursor};
  h->unmap_count = n;
}

// The pid (or tid) a /proc status file gives for the innermost pid
// namespace: the last NSpid field. The stub knows its children and threads
// only by these; the sentry maps them back to its own through /proc.
pid_t innermost_pid(const std::string& status_path) {
  std::ifstream status(status_path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    pid_t last = -1;
    std::istringstream in(line.substr(6));
    for (pid_t v; in >> v;) last = v;
    return last;
  }
  return -1;
}

[[noreturn]] void child_fail(const char* what) {
  // stderr is still the sentry's here; say what failed, then die.
  dprintf(2, "moat: stub setup: %s: %s\n", what, strerror(errno));
  _exit(125);
}

// Runs in the new host process, before any guest code exists. Only
// async-signal-safe calls: the sentry may have other threads.
[[noreturn]] void child_main(int memfd, int control, int sentry_pidfd) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail("pdeathsig");
  // The sentry may have died before pdeathsig was set (getppid() is 0 in a
  // new pid namespace, so ask its pidfd: readable once it has exited).
  pollfd pfd{sentry_pidfd, POLLIN, 0};
  if (poll(&pfd, 1, 0) != 0) _exit(125);

  // Empty, read-only mount namespace: a fresh tmpfs becomes the root.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("make mounts private");
  const char* mountpoint = access("/tmp", F_OK) == 0 ? "/tmp" : "/proc";
  if (mount("moat-empty", mountpoint, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=2,mode=0") != 0)
    child_fail("mount empty root");
  if (chdir(mountpoint) != 0) child_fail("chdir empty root");
  if (syscall(SYS_pivot_root, ".", ".") != 0) child_fail("pivot_root");
  if (umount2(".", MNT_DETACH) != 0) child_fail("detach old root");
  if (chdir("/") != 0) child_fail("chdir /");
  mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);

  // glibc registered rseq for the sentry's thread; the registration survives
  // fork and the kernel would fault writing to the TLS page the stub unmaps.
  // The registered length is glibc's, which is not exported: try the known ones.
  void* rseq_area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
  for (unsigned len : {32u, static_cast<unsigned>(__rseq_size), 20u})
    if (syscall(SYS_rseq, rseq_area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0) break;

  // Signals: defaults everywhere (handlers point into the sentry's image),
  // except SIGCHLD: ignoring it makes the host reap forked stub processes by
  // itself (the sentry keeps the guest's own exit statuses).
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, sig == SIGCHLD ? SIG_IGN : SIG_DFL);
  }

  // The shared region and the stub code at their fixed addresses.
  void* shared = mmap(reinterpret_cast<void*>(MOAT_SHARED_BASE), MOAT_SHARED_SIZE, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, 0);
  if (shared != reinterpret_cast<void*>(MOAT_SHARED_BASE)) child_fail("map shared region");
  void* code = mmap(reinterpret_cast<void*>(MOAT_STUB_BASE), MOAT_STUB_CODE_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != reinterpret_cast<void*>(MOAT_STUB_BASE)) child_fail("map stub code");
  auto bytes = stub::code();
  memcpy(code, bytes.data(), bytes.size());
  if (mprotect(code, MOAT_STUB_CODE_SIZE, PROT_READ | PROT_EXEC) != 0) child_fail("protect stub code");

  // The control socket is the only fd left.
  if (dup2(control, kChildControlFd) < 0) child_fail("dup control socket");
  syscall(SYS_close_range, 0, kChildControlFd - 1, 0);
  syscall(SYS_close_range, kChildControlFd + 1, ~0U, 0);

  // No capabilities, now or after any exec; no new privileges.
  if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) != 0 &&
      geteuid() == 0)
    child_fail("securebits");
  for (int cap = 0; cap <= 63; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &hdr, data) != 0) child_fail("drop capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail("no_new_privs");

  // Onto thread 0's stack inside the stub region, and into the stub.
  uint64_t stack_top = moat_thread_region(0) + MOAT_THREAD_REGION - 64;
  uint64_t init = stub::address_in_stub(reinterpret_cast<const void*>(&moat_stub_init));
  asm volatile("mov %0, %%rsp\n\tcall *%1\n\tud2" ::"r"(stack_top), "r"(init) : "memory");
  __builtin_unreachable();
}

}  // namespace

uint64_t StubProcess::tsc_per_us() {
  static const uint64_t value = [] {
    auto now_ns = [] {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
    };
    uint64_t t0 = now_ns(), c0 = __builtin_ia32_rdtsc();
    while (now_ns() - t0 < 2000000) {
    }
    uint64_t t1 = now_ns(), c1 = __builtin_ia32_rdtsc();
    uint64_t per_us = (c1 - c0) * 1000 / (t1 - t0);
    return per_us ? per_us : 1000;
  }();
  return value;
}

// The shared region (a memfd the sentry maps too) and the control socket of
// a new stub process; child_end is the socket end the stub will hold.
ErrorOr<void> StubProcess::create_shared(UniqueFd& child_end) {
  m_memfd = UniqueFd(memfd_create("moat-shared", MFD_CLOEXEC));
  if (!m_memfd) return last_host_errno();
  if (ftruncate(m_memfd.get(), MOAT_SHARED_SIZE) != 0) return last_host_errno();
  void* m = mmap(nullptr, MOAT_SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m_memfd.get(), 0);
  if (m == MAP_FAILED) return last_host_errno();
  m_header = static_cast<moat_header*>(m);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return last_host_errno();
  m_control = UniqueFd(sv[0]);
  child_end = UniqueFd(sv[1]);
  return {};
}

ErrorOr<std::unique_ptr<StubProcess>> StubProcess::create() {
  std::unique_ptr<StubProcess> p(new StubProcess());
  UniqueFd child_end;
  TRY(p->create_shared(child_end));

  moat_header* h = p->m_header;
  h->magic = MOAT_HEADER_MAGIC;
  h->control_fd = kChildControlFd;
  fill_unmap_list(h);
  auto filter = stub::build_stub_filter(MOAT_STUB_BASE, MOAT_STUB_BASE + stub::code().size());
  if (filter.size() > MOAT_MAX_FILTER) return Errno::TooBig;
  memcpy(h->filter, filter.data(), filter.size() * sizeof(sock_filter));
  h->filter_len = static_cast<uint32_t>(filter.size());
  // Stub spin budget: up to 100 us (a sleep and cross-CPU wake-up costs
  // 20-80 us here), down to 5 us after calls that kept blocking.
  uint64_t max_us = 100, min_us = 5;
  if (const char* s = getenv("MOAT_STUB_SPIN_US")) max_us = strtoull(s, nullptr, 10);
  h->stub_spin_cycles = tsc_per_us() * max_us;
  h->stub_spin_min_cycles = tsc_per_us() * std::min(min_us, max_us);
  h->sigsys_handler = stub::address_in_stub(reinterpret_cast<const void*>(&moat_stub_sigsys));
  h->sigreturn_restorer = stub::address_in_stub(reinterpret_cast<const void*>(&moat_stub_restorer));
  h->fault_handler = stub::address_in_stub(reinterpret_cast<const void*>(&moat_stub_fault));
  h->interrupt_handler = stub::address_in_stub(reinterpret_cast<const void*>(&moat_stub_interrupt));

  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
  if (geteuid() != 0) flags |= CLONE_NEWUSER;
  UniqueFd sentry_pidfd(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
  if (!sentry_pidfd) return last_host_errno();
  int pidfd = -1;
  long pid = syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, 0);
  if (pid < 0) return last_host_errno();
  if (pid == 0) child_main(p->m_memfd.get(), child_end.get(), sentry_pidfd.get());
  p->m_pid = static_cast<pid_t>(pid);
  p->m_pidfd = UniqueFd(pidfd);
  return p;
}

StubProcess::~StubProcess() {
  kill(SIGKILL);
  if (m_header) munmap(m_header, MOAT_SHARED_SIZE);
}

ErrorOr<std::unique_ptr<StubProcess>> StubProcess::prepare_fork(const StubProcess& parent, uint32_t index,
                                                                UniqueFd& child_control) {
  std::unique_ptr<StubProcess> p(new StubProcess());
  TRY(p->create_shared(child_control));

  const moat_header* ph = parent.header();
  moat_header* h = p->m_header;
  h->magic = MOAT_HEADER_MAGIC;
  h->control_fd = ph->control_fd;  // the child replaces it with the fd it receives
  h->stub_spin_cycles = ph->stub_spin_cycles;
  h->stub_spin_min_cycles = ph->stub_spin_min_cycles;
  h->sigsys_handler = ph->sigsys_handler;
  h->sigreturn_restorer = ph->sigreturn_restorer;
  h->fault_handler = ph->fault_handler;
  h->interrupt_handler = ph->interrupt_handler;
  memcpy(p->region(index), parent.region(index), MOAT_THREAD_REGION);
  moat_slot* slot = p->slot(index);
  slot->state = MOAT_SLOT_IDLE;
  slot->stub_sleeping = 0;
  return p;
}

ErrorOr<void> StubProcess::adopt_forked(pid_t parent_host_pid, pid_t ns_pid) {
  // The stub only knows the child's pid in its own pid namespace; find the
  // host's among the parent's children (NSpid lists the pid in each namespace).
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task", parent_host_pid);
  std::vector<pid_t> candidates;
  if (DIR* tasks = opendir(path)) {
    while (dirent* t = readdir(tasks)) {
      if (t->d_name[0] == '.') continue;
      std::ifstream children(std::string(path) + "/" + t->d_name + "/children");
      pid_t c;
      while (children >> c) candidates.push_back(c);
    }
    closedir(tasks);
  }
  for (pid_t c : candidates) {
    if (innermost_pid("/proc/" + std::to_string(c) + "/status") != ns_pid) continue;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, c, 0));
    if (pidfd < 0) return last_host_errno();
    m_pid = c;
    m_pidfd = UniqueFd(pidfd);
    return {};
  }
  return Errno::SRCH;
}

ErrorOr<void> StubProcess::send_fds(int fd, int second) {
  char byte = 0;
  iovec iov{&byte, 1};
  int fds[2] = {fd, second};
  size_t count = second >= 0 ? 2 : 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(count * sizeof(int));
  memcpy(CMSG_DATA(c), fds, count * sizeof(int));
  if (sendmsg(m_control.get(), &msg, MSG_NOSIGNAL) != 1) return last_host_errno();
  return {};
}

pid_t StubProcess::host_tid_of(uint32_t index) {
  if (index == 0 && !m_leader_exited) return m_pid;  // thread 0 is the process itself
  // The slot holds the tid in the stub's pid namespace; map it through
  // NSpid in the sentry's /proc (as for forked processes).
  pid_t ns_tid = __atomic_load_n(&slot(index)->host_tid, __ATOMIC_ACQUIRE);
  if (ns_tid <= 0) return -1;
  std::string dir = "/proc/" + std::to_string(m_pid) + "/task";
  if (DIR* tasks = opendir(dir.c_str())) {
    while (dirent* t = readdir(tasks)) {
      if (t->d_name[0] == '.') continue;
      if (innermost_pid(dir + "/" + t->d_name + "/status") != ns_tid) continue;
      pid_t tid = static_cast<pid_t>(atoi(t->d_name));
      closedir(tasks);
      return tid;
    }
    closedir(tasks);
  }
  return -1;
}

bool StubProcess::thread_gone(uint32_t index) {
  if (index != 0 || m_leader_exited) return __atomic_load_n(&slot(index)->host_tid, __ATOMIC_ACQUIRE) == 0;
  std::string path = "/proc/" + std::to_string(m_pid) + "/task/" + std::to_string(m_pid) + "/stat";
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return true;
  char line[512] = {};
  bool got = fgets(line, sizeof line, f) != nullptr;
  fclose(f);
  // "pid (comm) S ...": the state follows the last ')'.
  const char* close = got ? strrchr(line, ')') : nullptr;
  return !close || close[1] == '\0' || close[2] == 'Z' || close[2] == 'X';
}

void StubProcess::interrupt_thread(uint32_t index) {
  pid_t tid = host_tid_of(index);
  if (tid > 0) syscall(SYS_tgkill, m_pid, tid, MOAT_INTERRUPT_SIGNAL);
}

void StubProcess::kill(int sig) {
  if (m_pidfd) syscall(SYS_pidfd_send_signal, m_pidfd.get(), sig, nullptr, 0);
}

void post_reply(moat_slot* slot, uint32_t reply_kind) {
  slot->reply_kind = reply_kind;
  slot->sleep_hint = 0;
  __atomic_store_n(&slot->state, MOAT_SLOT_SENTRY_POSTED, __ATOMIC_RELEASE);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (__atomic_load_n(&slot->stub_sleeping, __ATOMIC_RELAXED))
    syscall(SYS_futex, &slot->state, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

}  // namespace moat
