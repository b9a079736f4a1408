#include "fs/pty.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <coroutine>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "fs/fd_table.h"
#include "fs/ops.h"
#include "fs/termios.h"
#include "sentry/io/uring.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"
#include "sentry/platform/worker.h"

namespace moat::fs {

namespace {

constexpr unsigned kPtsMajor = 136;       // UNIX98_PTY_SLAVE_MAJOR
constexpr size_t kOutputMax = 16384;      // what the master may leave unread
constexpr uint64_t kCapSysAdmin = 1ULL << 21;
constexpr uint32_t kBother = 010000;      // asm/termbits.h: speed given in c_ospeed
constexpr unsigned kIbshift = 16;         // CIBAUD = CBAUD << IBSHIFT
constexpr uint8_t kPacketData = 0;        // TIOCPKT_DATA
constexpr uint8_t kPacketFlushRead = 1;   // TIOCPKT_FLUSHREAD
constexpr uint8_t kPacketFlushWrite = 2;  // TIOCPKT_FLUSHWRITE

// The termios2 requests (asm/ioctls.h spells them with struct termios2).
constexpr unsigned long kTcgets2 = _IOR('T', 0x2A, KernelTermios2);
constexpr unsigned long kTcsets2 = _IOW('T', 0x2B, KernelTermios2);
constexpr unsigned long kTcsetsw2 = _IOW('T', 0x2C, KernelTermios2);
constexpr unsigned long kTcsetsf2 = _IOW('T', 0x2D, KernelTermios2);

std::shared_ptr<const FsInfo> devpts_info() {
  static const auto info = std::make_shared<const FsInfo>(FsInfo{makedev(0, 0x19), 0x1cd1, false, "devpts"});
  return info;
}

// The speed a Bnnn code stands for (the kernel's baud_table).
uint32_t baud_of(uint32_t code) {
  static constexpr uint32_t kLow[] = {0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400};
  static constexpr uint32_t kHigh[] = {0, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
                                       1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000};
  code &= CBAUD;
  if (code & CBAUDEX) return kHigh[code & 017];
  return kLow[code];
}

// ---- Waiting -------------------------------------------------------------

class WaitList;
struct PtyTimeout;

// One blocked read or write.
struct PtyWait {
  enum class State { Waiting, Woken, TimedOut, Interrupted };
  std::coroutine_handle<> handle;
  State state = State::Waiting;
  WaitList* list = nullptr;
  PtyTimeout* timeout = nullptr;
};

// The coroutines waiting for a pty to change. A wake resumes them from the
// worker's loop, never from the waker's stack (a master write may wake the
// reader whose syscall then completes).
class WaitList {
 public:
  void add(PtyWait* w) {
    m_waits.push_back(w);
    w->list = this;
  }
  void remove(PtyWait* w) {
    std::erase(m_waits, w);
    w->list = nullptr;
  }
  void wake_all() {
    auto waits = std::exchange(m_waits, {});
    for (PtyWait* w : waits) {
      w->list = nullptr;
      if (w->state != PtyWait::State::Waiting) continue;
      w->state = PtyWait::State::Woken;
      resume_later(w->handle);
    }
  }
  bool empty() const { return m_waits.empty(); }

 private:
  std::vector<PtyWait*> m_waits;
};

// VTIME: an io_uring timeout that ends the wait unless a wake came first.
struct PtyTimeout : UringOp {
  __kernel_timespec ts{};
  PtyWait* wait = nullptr;
  static void complete(UringOp* op, int32_t) {
    auto* self = static_cast<PtyTimeout*>(op);
    if (PtyWait* w = self->wait) {
      w->timeout = nullptr;
      if (w->state == PtyWait::State::Waiting) {
        w->state = PtyWait::State::TimedOut;
        if (w->list) w->list->remove(w);
        w->handle.resume();
      }
    }
    delete self;
  }
};

io_uring_sqe* next_sqe() {
  io_uring* ring = current_ring();
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (!sqe) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

// Suspends on list until a wake, a signal for thread (interrupt.h) or, when
// timeout_ns >= 0, the time passes. thread is null for the sentry's own
// readers (the -t copy loop).
struct PtyWaitAwaiter {
  WaitList& list;
  PtyWait& wait;
  Thread* thread;
  int64_t timeout_ns;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    wait.handle = h;
    wait.state = PtyWait::State::Waiting;
    list.add(&wait);
    if (thread) {
      thread->interrupt = [w = &wait] {
        if (w->state != PtyWait::State::Waiting) return;
        w->state = PtyWait::State::Interrupted;
        if (w->list) w->list->remove(w);
        resume_later(w->handle);
      };
    }
    if (timeout_ns < 0) return;
    auto* t = new PtyTimeout();
    t->on_complete = &PtyTimeout::complete;
    t->wait = &wait;
    t->ts = __kernel_timespec{timeout_ns / 1000000000LL, timeout_ns % 1000000000LL};
    wait.timeout = t;
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_timeout(sqe, &t->ts, 0, 0);
    io_uring_sqe_set_data(sqe, static_cast<UringOp*>(t));
  }
  void await_resume() {
    if (wait.list) wait.list->remove(&wait);
    if (thread && wait.state != PtyWait::State::Interrupted) thread->interrupt = {};
    if (PtyTimeout* t = wait.timeout) {
      // Woken first: the timeout must not touch this wait any more.
      t->wait = nullptr;
      wait.timeout = nullptr;
      if (io_uring_sqe* sqe = next_sqe()) {
        io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(static_cast<UringOp*>(t)), 0);
        io_uring_sqe_set_data64(sqe, 0);
      }
    }
  }
};

// ---- The pty -------------------------------------------------------------

class DevPts;

class Pty final : public RefCounted<Pty> {
 public:
  Pty(std::shared_ptr<DevPts> devpts, int index, Sandbox* sandbox, uid_t uid, gid_t gid);
  ~Pty();

  int index() const { return m_index; }
  dev_t rdev() const { return makedev(kPtsMajor, static_cast<unsigned>(m_index)); }
  const std::shared_ptr<DevPts>& devpts() const { return m_devpts; }
  Sandbox* sandbox() const { return m_sandbox; }

  // Readiness for poll and epoll, and the wake-up of blocked calls: called
  // after every change. New data for a side that is readable already
  // signals its eventfd again, so that an EPOLLET watcher sees an edge.
  enum NewData : unsigned { kNoData = 0, kForMaster = 1, kForReplica = 2 };
  void changed(unsigned new_data = kNoData);
  int master_event() const { return m_master_event.get(); }
  int replica_event() const { return m_replica_event.get(); }

  // Bytes typed at the master (its write); returns how many were taken.
  size_t input(std::span<const uint8_t> bytes);
  // Sends sig to every process of the foreground group (kill_pgrp).
  void signal_foreground(int sig);
  // A session whose leader is gone has no terminal any more.
  void refresh_session();

  // TCSETS and friends; speeds from the c_cflag code unless BOTHER.
  void set_termios(const KernelTermios& t, const uint32_t* speeds);

  WaitList waiters;
  LineDiscipline ldisc;
  uint32_t ispeed = 38400, ospeed = 38400;
  std::string to_master;  // replica output and echoes the master has not read
  bool packet = false;    // TIOCPKT
  uint8_t packet_status = 0;
  struct winsize size {};
  pid_t session = 0;  // the session it controls, 0: none
  pid_t fg_pgrp = 0;  // its foreground process group
  bool locked = true;  // TIOCSPTLCK: the replica may not be opened
  bool master_open = true;
  int replicas = 0;             // open replica descriptions
  bool replica_closed = false;  // all of them closed (the kernel's TTY_OTHER_CLOSED)
  bool exclusive = false;       // TIOCEXCL
  uid_t uid;
  gid_t gid;

 private:
  bool master_readable() const;
  bool replica_readable() const;
  static void set_event(int fd, bool& state, bool want, bool again);

  std::shared_ptr<DevPts> m_devpts;
  int m_index;
  Sandbox* m_sandbox;
  UniqueFd m_master_event, m_replica_event;
  bool m_master_event_set = false, m_replica_event_set = false;
};

// The ptys of a sandbox whose master is open, by number; and every such pty
// of the moat process, for controlling-terminal look-ups.
std::mutex g_registry_lock;
std::vector<Pty*> g_live;  // guarded by g_registry_lock

class DevPts : public std::enable_shared_from_this<DevPts> {
 public:
  RefPtr<Pty> create(const Caller& caller) {
    int index = 0;
    for (const auto& [i, pty] : m_ptys) {
      if (i != index) break;
      index++;
    }
    Sandbox* sandbox = caller.process ? &caller.process->sandbox() : nullptr;
    auto pty = RefPtr<Pty>::adopt(new Pty(shared_from_this(), index, sandbox, caller.uid, caller.gid));
    m_ptys[index] = pty.ptr();
    std::lock_guard lock(g_registry_lock);
    g_live.push_back(pty.ptr());
    return pty;
  }
  RefPtr<Pty> find(int index) const {
    auto it = m_ptys.find(index);
    return it == m_ptys.end() ? RefPtr<Pty>() : RefPtr<Pty>(it->second);
  }
  void remove(Pty* pty) {
    auto it = m_ptys.find(pty->index());
    if (it != m_ptys.end() && it->second == pty) m_ptys.erase(it);
    std::lock_guard lock(g_registry_lock);
    std::erase(g_live, pty);
  }
  std::vector<RefPtr<Pty>> list() const {
    std::vector<RefPtr<Pty>> out;
    for (const auto& [i, pty] : m_ptys) out.emplace_back(pty);
    return out;
  }
  RefPtr<Node> ptmx;  // /dev/pts/ptmx

 private:
  std::map<int, Pty*> m_ptys;
};

Pty::Pty(std::shared_ptr<DevPts> devpts, int index, Sandbox* sandbox, uid_t uid, gid_t gid)
    : uid(uid), gid(gid), m_devpts(std::move(devpts)), m_index(index), m_sandbox(sandbox) {
  m_master_event = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  m_replica_event = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

Pty::~Pty() {
  // The master's close took it off the lists already; this is for a pty
  // whose master never made it into a file.
  if (master_open) m_devpts->remove(this);
}

void Pty::set_event(int fd, bool& state, bool want, bool again) {
  if (fd < 0 || (want == state && !(want && again))) return;
  uint64_t value = 1;
  // eventfd reads and writes of 8 bytes on a non-blocking eventfd whose
  // count is small neither block nor fail; a read takes the whole count.
  [[maybe_unused]] ssize_t n = want ? ::write(fd, &value, sizeof value) : ::read(fd, &value, sizeof value);
  state = want;
}

bool Pty::master_readable() const { return !to_master.empty() || (packet && packet_status) || replica_closed; }

bool Pty::replica_readable() const {
  if (!master_open) return true;
  if (ldisc.canonical()) return ldisc.line_ready();
  // n_tty's input_available_p for poll: VMIN bytes when VTIME is 0.
  const KernelTermios& t = ldisc.termios();
  size_t want = (t.c_cc[VTIME] == 0 && t.c_cc[VMIN] > 0) ? t.c_cc[VMIN] : 1;
  return ldisc.raw_available() >= want;
}

void Pty::changed(unsigned new_data) {
  set_event(m_master_event.get(), m_master_event_set, master_readable(), new_data & kForMaster);
  set_event(m_replica_event.get(), m_replica_event_set, replica_readable(), new_data & kForReplica);
  // Off a worker (the sandbox being set up or torn down) nobody waits.
  if (Worker::current()) waiters.wake_all();
}

void Pty::refresh_session() {
  if (!session || !m_sandbox) return;
  Process* leader = m_sandbox->find_process(session);
  if (!leader || leader->zombie) session = fg_pgrp = 0;
}

siginfo_t kernel_siginfo(int sig) {
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = SI_KERNEL;
  return info;
}

void signal_group(Sandbox& sandbox, pid_t pgid, int sig) {
  if (pgid <= 0) return;
  for (Process* p : sandbox.processes())
    if (!p->zombie && p->pgid == pgid) send_signal(*p, sig, kernel_siginfo(sig));
}

void Pty::signal_foreground(int sig) {
  refresh_session();
  if (m_sandbox && session) signal_group(*m_sandbox, fg_pgrp, sig);
}

size_t Pty::input(std::span<const uint8_t> bytes) {
  std::string echo;
  LineDiscipline::ReceiveResult r = ldisc.receive(bytes, echo);
  if (r.flush_output) {
    to_master.clear();
    if (packet) packet_status |= kPacketFlushRead | kPacketFlushWrite;
  }
  // Echoes are dropped when the master reads nothing (n_tty drops them too
  // when its output has no room).
  if (to_master.size() < kOutputMax) to_master += echo;
  for (int sig : r.signals) signal_foreground(sig);
  changed((echo.empty() ? kNoData : kForMaster) | (r.consumed ? kForReplica : kNoData));
  return r.consumed;
}

void Pty::set_termios(const KernelTermios& t, const uint32_t* speeds) {
  KernelTermios next = t;
  // pty_set_termios: a pty is always 8 bits, no parity, receiving.
  next.c_cflag = (next.c_cflag & ~(CSIZE | PARENB)) | CS8 | CREAD;
  uint32_t out_code = next.c_cflag & CBAUD;
  uint32_t in_code = (next.c_cflag >> kIbshift) & CBAUD;
  ospeed = (out_code == kBother && speeds) ? speeds[1] : baud_of(out_code);
  if (in_code == 0)
    ispeed = ospeed;
  else
    ispeed = (in_code == kBother && speeds) ? speeds[0] : baud_of(in_code);
  ldisc.set_termios(next);
  changed();
}

// The pty that is p's controlling terminal, if any.
Pty* ctty_of(Process& p) {
  std::lock_guard lock(g_registry_lock);
  for (Pty* pty : g_live) {
    if (pty->sandbox() != &p.sandbox()) continue;
    pty->refresh_session();
    if (pty->session != 0 && pty->session == p.sid) return pty;
  }
  return nullptr;
}

// Opening a replica without O_NOCTTY makes it the controlling terminal of a
// session leader that has none, if no session has it (tty_open_proc_set_tty).
void maybe_acquire_ctty(Process* p, Pty& pty, int flags) {
  if (!p || (flags & O_NOCTTY) || p->sid != p->pid()) return;
  if (ctty_of(*p)) return;
  pty.refresh_session();
  if (pty.session) return;
  pty.session = p->sid;
  pty.fg_pgrp = p->pgid;
}

// A group none of whose members has a parent in another group of the same
// session (will_become_orphaned_pgrp): nobody could continue it.
bool pgrp_orphaned(Sandbox& sandbox, pid_t pgid) {
  for (Process* m : sandbox.processes()) {
    if (m->zombie || m->pgid != pgid) continue;
    Process* parent = sandbox.find_process(m->ppid());
    if (parent && !parent->zombie && parent->pgid != pgid && parent->sid == m->sid) return false;
  }
  return true;
}

// The kernel's __tty_check_change: a background process using its
// controlling terminal stops (sig: SIGTTIN to read, SIGTTOU to write with
// TOSTOP or to change settings) and the call restarts when it goes on; with
// the signal ignored or blocked a read fails with EIO and the rest goes
// ahead; an orphaned group gets EIO.
ErrorOr<void> check_job_control(Pty& pty, Process& p, Thread* t, int sig) {
  if (ctty_of(p) != &pty) return {};
  if (pty.fg_pgrp == 0 || p.pgid == pty.fg_pgrp) return {};
  bool ignored = p.sigactions[sig].handler == reinterpret_cast<uint64_t>(SIG_IGN) ||
                 (t && (t->signal_mask & sig_bit(sig)));
  if (ignored) {
    if (sig == SIGTTIN) return Errno::IO;
    return {};
  }
  if (pgrp_orphaned(p.sandbox(), p.pgid)) return Errno::IO;
  signal_group(p.sandbox(), p.pgid, sig);
  return Errno::RestartSys;
}

// ---- Files ---------------------------------------------------------------

enum class Side { Master, Replica };

ErrorOr<int64_t> pty_ioctl(Pty& pty, Side side, Process& process, unsigned long request, uint64_t arg);

class PtyReplicaFile final : public File {
 public:
  PtyReplicaFile(Location loc, int flags, RefPtr<Pty> pty, std::string name)
      : File(std::move(loc), flags), m_pty(std::move(pty)), m_name(std::move(name)) {
    m_pty->replicas++;
    m_pty->replica_closed = false;
    m_pty->changed();
  }
  ~PtyReplicaFile() override {
    if (--m_pty->replicas == 0) {
      m_pty->replica_closed = true;
      m_pty->changed();
    }
  }

  std::string path() const override { return location().anonymous ? m_name : File::path(); }
  bool is_stream() const override { return true; }
  int poll_host_fd() const override { return m_pty->replica_event(); }
  // /proc/self/fd/N of a TIOCGPTPEER replica (no path of its own).
  ErrorOr<RefPtr<File>> reopen(int flags) override {
    if (!m_pty->master_open || m_pty->locked) return Errno::IO;
    return RefPtr<File>::adopt(new PtyReplicaFile(location(), flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                                                  m_pty, m_name));
  }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t) override;
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override {
    return pty_ioctl(*m_pty, Side::Replica, process, request, arg);
  }
  ErrorOr<int64_t> lseek(int64_t, int) override { return Errno::SPIPE; }

 private:
  RefPtr<Pty> m_pty;
  std::string m_name;
};

class PtyMasterFile final : public File {
 public:
  PtyMasterFile(Location loc, int flags, RefPtr<Pty> pty) : File(std::move(loc), flags), m_pty(std::move(pty)) {}
  ~PtyMasterFile() override;

  Pty& pty() const { return *m_pty; }
  bool is_stream() const override { return true; }
  int poll_host_fd() const override { return m_pty->master_event(); }
  Coro<ErrorOr<size_t>> read(std::span<std::byte> buf, int64_t) override;
  Coro<ErrorOr<size_t>> write(std::span<const std::byte> buf, int64_t) override;
  ErrorOr<int64_t> ioctl(Process& process, unsigned long request, uint64_t arg) override;
  ErrorOr<int64_t> lseek(int64_t, int) override { return Errno::SPIPE; }

 private:
  RefPtr<Pty> m_pty;
};

// The master's last close hangs the replica up: its reads see end of file,
// its writes EIO, and the session leader gets SIGHUP and SIGCONT
// (tty_signal_session_leader). /dev/pts/N goes away.
PtyMasterFile::~PtyMasterFile() {
  Pty& pty = *m_pty;
  pty.master_open = false;
  pty.devpts()->remove(&pty);
  pty.refresh_session();
  if (Worker::current() && pty.sandbox() && pty.session) {
    if (Process* leader = pty.sandbox()->find_process(pty.session); leader && !leader->zombie) {
      send_signal(*leader, SIGHUP, kernel_siginfo(SIGHUP));
      send_signal(*leader, SIGCONT, kernel_siginfo(SIGCONT));
    }
  }
  pty.session = pty.fg_pgrp = 0;
  pty.changed();
}

Coro<ErrorOr<size_t>> PtyMasterFile::read(std::span<std::byte> buf, int64_t) {
  Thread* thread = dispatching_thread();
  Pty& pty = *m_pty;
  if (buf.empty()) co_return size_t{0};
  auto* out = reinterpret_cast<uint8_t*>(buf.data());
  for (;;) {
    if (pty.packet && pty.packet_status) {
      out[0] = std::exchange(pty.packet_status, 0);
      pty.changed();
      co_return size_t{1};
    }
    if (!pty.to_master.empty()) {
      size_t header = pty.packet ? 1 : 0;
      if (header) out[0] = kPacketData;
      size_t n = std::min(buf.size() - header, pty.to_master.size());
      memcpy(out + header, pty.to_master.data(), n);
      pty.to_master.erase(0, n);
      pty.changed();
      co_return n + header;
    }
    // Every replica closed and nothing left: EIO (n_tty_read on a master).
    if (pty.replica_closed) co_return Errno::IO;
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    PtyWait wait;
    co_await PtyWaitAwaiter{pty.waiters, wait, thread, -1};
    if (wait.state == PtyWait::State::Interrupted) co_return Errno::RestartSys;
  }
}

Coro<ErrorOr<size_t>> PtyMasterFile::write(std::span<const std::byte> buf, int64_t) {
  Thread* thread = dispatching_thread();
  Pty& pty = *m_pty;
  auto in = std::span(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  for (;;) {
    size_t n = pty.input(in);
    if (n > 0 || in.empty()) co_return n;
    // The replica's input queue is full until something reads it.
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    PtyWait wait;
    co_await PtyWaitAwaiter{pty.waiters, wait, thread, -1};
    if (wait.state == PtyWait::State::Interrupted) co_return Errno::RestartSys;
  }
}

Coro<ErrorOr<size_t>> PtyReplicaFile::read(std::span<std::byte> buf, int64_t) {
  Thread* thread = dispatching_thread();
  Pty& pty = *m_pty;
  if (!pty.master_open) co_return size_t{0};  // hung up: end of file
  if (thread) CO_TRY(check_job_control(pty, thread->process(), thread, SIGTTIN));
  if (buf.empty()) co_return size_t{0};
  auto* out = reinterpret_cast<uint8_t*>(buf.data());
  size_t done = 0;
  bool timed_out = false;
  for (;;) {
    if (!pty.master_open) co_return done;
    int64_t timeout_ns = -1;
    if (pty.ldisc.canonical()) {
      if (pty.ldisc.line_ready()) {
        size_t n = pty.ldisc.read(std::span(out, buf.size()));
        pty.changed();
        co_return n;
      }
    } else {
      // Non-canonical reads: VMIN and VTIME (termios(3)).
      const KernelTermios& t = pty.ldisc.termios();
      size_t vmin = t.c_cc[VMIN];
      int64_t vtime_ns = int64_t{t.c_cc[VTIME]} * 100000000;
      if (pty.ldisc.raw_available() > 0 && done < buf.size()) {
        done += pty.ldisc.read(std::span(out + done, buf.size() - done));
        pty.changed();
      }
      size_t minimum = std::min(vmin, buf.size());
      if (vmin == 0) {
        // VTIME alone: whatever came within it; neither: what is there.
        if (done > 0 || vtime_ns == 0 || timed_out) co_return done;
        timeout_ns = vtime_ns;
      } else {
        if (done >= minimum || (timed_out && done > 0)) co_return done;
        // VTIME with VMIN: an inter-byte timer, from the first byte on.
        if (vtime_ns > 0 && done > 0) timeout_ns = vtime_ns;
      }
      timed_out = false;
    }
    if (nonblocking()) co_return done ? ErrorOr<size_t>(done) : ErrorOr<size_t>(Errno::AGAIN);
    if (thread && thread->interrupted) co_return done ? ErrorOr<size_t>(done) : ErrorOr<size_t>(Errno::RestartSys);
    PtyWait wait;
    co_await PtyWaitAwaiter{pty.waiters, wait, thread, timeout_ns};
    if (wait.state == PtyWait::State::Interrupted)
      co_return done ? ErrorOr<size_t>(done) : ErrorOr<size_t>(Errno::RestartSys);
    if (wait.state == PtyWait::State::TimedOut) timed_out = true;
  }
}

Coro<ErrorOr<size_t>> PtyReplicaFile::write(std::span<const std::byte> buf, int64_t) {
  Thread* thread = dispatching_thread();
  Pty& pty = *m_pty;
  if (!pty.master_open) co_return Errno::IO;
  if (thread && (pty.ldisc.termios().c_lflag & TOSTOP))
    CO_TRY(check_job_control(pty, thread->process(), thread, SIGTTOU));
  if (buf.empty()) co_return size_t{0};
  auto in = std::span(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  for (;;) {
    if (!pty.master_open) co_return Errno::IO;
    if (pty.to_master.size() < kOutputMax) {
      size_t n = std::min(in.size(), kOutputMax - pty.to_master.size());
      pty.ldisc.transmit(in.first(n), pty.to_master);
      pty.changed(Pty::kForMaster);
      co_return n;
    }
    // The master reads nothing: wait for room.
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread && thread->interrupted) co_return Errno::RestartSys;
    PtyWait wait;
    co_await PtyWaitAwaiter{pty.waiters, wait, thread, -1};
    if (wait.state == PtyWait::State::Interrupted) co_return Errno::RestartSys;
  }
}

// ---- Nodes ---------------------------------------------------------------

// /dev/pts/N: made per lookup, for a pty whose master is open.
class PtsNode final : public Node {
 public:
  explicit PtsNode(RefPtr<Pty> pty) : Node(S_IFCHR), m_pty(std::move(pty)) {}
  const FsInfo& fs_info() const override { return *devpts_info(); }
  ErrorOr<struct stat> stat() const override {
    // devpts numbers a pty's inode as its index plus 3.
    struct stat st = synthetic_stat(*devpts_info(), static_cast<ino_t>(m_pty->index() + 3), S_IFCHR | 0620, 0);
    st.st_rdev = m_pty->rdev();
    st.st_uid = m_pty->uid;
    st.st_gid = m_pty->gid;
    st.st_blocks = 0;
    return st;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    if (!m_pty->master_open || m_pty->locked) return Errno::IO;  // pty_open: locked or hung up
    maybe_acquire_ctty(caller.process, *m_pty, flags);
    return RefPtr<File>::adopt(new PtyReplicaFile(loc, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                                                  m_pty, "/dev/pts/" + std::to_string(m_pty->index())));
  }

 private:
  RefPtr<Pty> m_pty;
};

// /dev/ptmx (and /dev/pts/ptmx): every open makes a new pty, locked.
class PtmxNode final : public Node {
 public:
  PtmxNode(std::weak_ptr<DevPts> devpts, std::shared_ptr<const FsInfo> fs, ino_t ino, mode_t mode)
      : Node(S_IFCHR), m_devpts(std::move(devpts)), m_fs(std::move(fs)), m_ino(ino), m_mode(mode) {}
  const FsInfo& fs_info() const override { return *m_fs; }
  ErrorOr<struct stat> stat() const override {
    struct stat st = synthetic_stat(*m_fs, m_ino, S_IFCHR | m_mode, 0);
    st.st_rdev = makedev(5, 2);
    st.st_blocks = 0;
    return st;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    auto devpts = m_devpts.lock();
    if (!devpts) return Errno::NXIO;
    RefPtr<Pty> pty = devpts->create(caller);
    if (pty->master_event() < 0 || pty->replica_event() < 0) return Errno::NOMEM;
    return RefPtr<File>::adopt(
        new PtyMasterFile(loc, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), std::move(pty)));
  }

 private:
  std::weak_ptr<DevPts> m_devpts;  // /dev/pts/ptmx lives in the DevPts itself
  std::shared_ptr<const FsInfo> m_fs;
  ino_t m_ino;
  mode_t m_mode;
};

// /dev/pts.
class PtsDir final : public Node {
 public:
  explicit PtsDir(std::shared_ptr<DevPts> devpts) : Node(S_IFDIR), m_devpts(std::move(devpts)) {}
  const FsInfo& fs_info() const override { return *devpts_info(); }
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*devpts_info(), 1, S_IFDIR | 0755, 0, 2); }
  ErrorOr<RefPtr<Node>> lookup(const Caller&, std::string_view name) override {
    if (name == "ptmx") return m_devpts->ptmx;
    int index = -1;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
    if (ec != std::errc() || end != name.data() + name.size() || index < 0 || (name.size() > 1 && name[0] == '0'))
      return Errno::NOENT;
    RefPtr<Pty> pty = m_devpts->find(index);
    if (!pty) return Errno::NOENT;
    return RefPtr<Node>(make_ref<PtsNode>(std::move(pty)));
  }
  ErrorOr<std::vector<DirEntry>> list(const Caller&) const override {
    std::vector<DirEntry> out{{".", 1, DT_DIR}, {"..", 1, DT_DIR}, {"ptmx", 2, DT_CHR}};
    for (const RefPtr<Pty>& pty : m_devpts->list())
      out.push_back(DirEntry{std::to_string(pty->index()), static_cast<ino_t>(pty->index() + 3), DT_CHR});
    return out;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    return DirFile::create(loc, flags, caller);
  }

 private:
  std::shared_ptr<DevPts> m_devpts;
};

// /dev/tty: a new description of the caller's controlling terminal.
class TtyNode final : public Node {
 public:
  TtyNode(std::shared_ptr<const FsInfo> fs, ino_t ino) : Node(S_IFCHR), m_fs(std::move(fs)), m_ino(ino) {}
  const FsInfo& fs_info() const override { return *m_fs; }
  ErrorOr<struct stat> stat() const override {
    struct stat st = synthetic_stat(*m_fs, m_ino, S_IFCHR | 0666, 0);
    st.st_rdev = makedev(5, 0);
    st.st_blocks = 0;
    return st;
  }
  ErrorOr<RefPtr<File>> open(const Caller& caller, const Location& loc, int flags) override {
    if (!caller.process) return Errno::NXIO;
    Pty* pty = ctty_of(*caller.process);
    if (!pty) return Errno::NXIO;
    return RefPtr<File>::adopt(new PtyReplicaFile(loc, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                                                  RefPtr<Pty>(pty), "/dev/tty"));
  }

 private:
  std::shared_ptr<const FsInfo> m_fs;
  ino_t m_ino;
};

// ---- ioctl ---------------------------------------------------------------

// TIOCGPTPEER: the replica as a new fd, without a path walk (the opener may
// not see /dev/pts at all).
ErrorOr<int64_t> open_peer(Pty& pty, Process& process, int flags) {
  if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) return Errno::INVAL;
  if (pty.locked) return Errno::IO;
  std::string name = "/dev/pts/" + std::to_string(pty.index());
  Location loc;
  loc.entries.push_back(PathEntry{name, make_ref<PtsNode>(RefPtr<Pty>(&pty))});
  loc.anonymous = true;
  maybe_acquire_ctty(&process, pty, flags);
  auto file = RefPtr<File>::adopt(new PtyReplicaFile(std::move(loc), flags & (O_ACCMODE | O_NONBLOCK), RefPtr<Pty>(&pty), name));
  return TRY(process.fds().allocate(std::move(file), flags & O_CLOEXEC, 0, nofile_limit(process)));
}

ErrorOr<int64_t> write_int(Process& process, uint64_t arg, int32_t value) {
  TRY(process.mem().write(arg, &value, sizeof value));
  return 0;
}

ErrorOr<int32_t> read_int(Process& process, uint64_t arg) {
  int32_t value;
  TRY(process.mem().read(arg, &value, sizeof value));
  return value;
}

// TIOCSPGRP (tiocspgrp): only for the caller's own controlling terminal,
// to a group of its session.
ErrorOr<int64_t> set_foreground(Pty& pty, Process& process, Thread* thread, uint64_t arg) {
  auto checked = check_job_control(pty, process, thread, SIGTTOU);
  if (checked.is_error()) return checked.error() == Errno::IO ? Errno::NOTTY : checked.error();
  int32_t pgrp = TRY(read_int(process, arg));
  if (pgrp < 0) return Errno::INVAL;
  if (ctty_of(process) != &pty) return Errno::NOTTY;
  bool found = false, same_session = false;
  for (Process* q : process.sandbox().processes()) {
    if (q->zombie || q->pgid != pgrp) continue;
    found = true;
    same_session |= q->sid == process.sid;
  }
  if (!found) return Errno::SRCH;
  if (!same_session) return Errno::PERM;
  pty.fg_pgrp = pgrp;
  return 0;
}

// TIOCSCTTY (tiocsctty): a session leader without a terminal takes this
// one, which must belong to no session (unless arg is 1 and the caller has
// CAP_SYS_ADMIN: then it is stolen).
ErrorOr<int64_t> set_controlling(Pty& pty, Process& process, uint64_t arg) {
  pty.refresh_session();
  bool leader = process.sid == process.pid();
  if (leader && pty.session == process.sid) return 0;
  if (!leader || ctty_of(process)) return Errno::PERM;
  if (pty.session) {
    if (arg != 1 || !(process.creds.cap_effective & kCapSysAdmin)) return Errno::PERM;
  }
  pty.session = process.sid;
  pty.fg_pgrp = process.pgid;
  return 0;
}

// TIOCNOTTY (tiocnotty): the session leader gives its terminal up, and its
// foreground group gets SIGHUP and SIGCONT (disassociate_ctty(0)).
// FIXME: another member of the session cannot give it up alone; it is told
// yes and keeps it.
ErrorOr<int64_t> drop_controlling(Pty& pty, Process& process) {
  if (ctty_of(process) != &pty) return Errno::NOTTY;
  if (process.sid != process.pid()) return 0;
  pid_t fg = pty.fg_pgrp;
  pty.session = pty.fg_pgrp = 0;
  signal_group(process.sandbox(), fg, SIGHUP);
  signal_group(process.sandbox(), fg, SIGCONT);
  return 0;
}

ErrorOr<int64_t> pty_ioctl(Pty& pty, Side side, Process& process, unsigned long request, uint64_t arg) {
  Thread* thread = dispatching_thread();
  if (thread && &thread->process() != &process) thread = nullptr;
  bool master = side == Side::Master;
  // A hung-up replica (its master closed) answers nothing (hung_up_tty_ioctl).
  if (!master && !pty.master_open) return request == TIOCSPGRP ? Errno::NOTTY : Errno::IO;
  bool own_ctty = master || ctty_of(process) == &pty;
  switch (request) {
    case TCGETS: {
      TRY(process.mem().write(arg, &pty.ldisc.termios(), sizeof(KernelTermios)));
      return 0;
    }
    case kTcgets2: {
      KernelTermios2 t2{pty.ldisc.termios(), pty.ispeed, pty.ospeed};
      TRY(process.mem().write(arg, &t2, sizeof t2));
      return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case kTcsets2:
    case kTcsetsw2:
    case kTcsetsf2: {
      TRY(check_job_control(pty, process, thread, SIGTTOU));
      bool two = request == kTcsets2 || request == kTcsetsw2 || request == kTcsetsf2;
      KernelTermios2 t2{};
      TRY(process.mem().read(arg, &t2, two ? sizeof(KernelTermios2) : sizeof(KernelTermios)));
      if (request == TCSETSF || request == kTcsetsf2) pty.ldisc.flush_input();
      // TCSETSW waits for the output to drain: a pty's is sent at once.
      uint32_t speeds[2] = {t2.c_ispeed, t2.c_ospeed};
      pty.set_termios(t2.t, two ? speeds : nullptr);
      return 0;
    }
    case TIOCGWINSZ: {
      TRY(process.mem().write(arg, &pty.size, sizeof pty.size));
      return 0;
    }
    case TIOCSWINSZ: {
      struct winsize ws {};
      TRY(process.mem().read(arg, &ws, sizeof ws));
      if (memcmp(&ws, &pty.size, sizeof ws) != 0) {
        pty.size = ws;
        pty.signal_foreground(SIGWINCH);
      }
      return 0;
    }
    case FIONREAD:
      return write_int(process, arg, static_cast<int32_t>(master ? pty.to_master.size() : pty.ldisc.readable_bytes()));
    case TIOCOUTQ: return write_int(process, arg, 0);  // a pty's output is never held back
    case TIOCGPGRP: {
      if (!own_ctty) return Errno::NOTTY;
      pty.refresh_session();
      return write_int(process, arg, pty.fg_pgrp);
    }
    case TIOCSPGRP: return set_foreground(pty, process, thread, arg);
    case TIOCGSID: {
      if (!own_ctty) return Errno::NOTTY;
      pty.refresh_session();
      if (!pty.session) return Errno::NOTTY;
      return write_int(process, arg, pty.session);
    }
    case TIOCSCTTY: return set_controlling(pty, process, arg);
    case TIOCNOTTY:
      if (master) return Errno::NOTTY;
      return drop_controlling(pty, process);
    case TCFLSH: {
      if (arg > TCIOFLUSH) return Errno::INVAL;
      TRY(check_job_control(pty, process, thread, SIGTTOU));
      bool in = arg == TCIFLUSH || arg == TCIOFLUSH, out = arg == TCOFLUSH || arg == TCIOFLUSH;
      if (master) {
        // The master's input is what the replica wrote.
        if (in) pty.to_master.clear();
      } else {
        if (in) pty.ldisc.flush_input();
        if (out) pty.to_master.clear();
        if (pty.packet) pty.packet_status |= (in ? kPacketFlushRead : 0) | (out ? kPacketFlushWrite : 0);
      }
      pty.changed();
      return 0;
    }
    case TCXONC:
      // FIXME: output is never stopped (no IXON flow control).
      if (arg > TCION) return Errno::INVAL;
      TRY(check_job_control(pty, process, thread, SIGTTOU));
      return 0;
    case TCSBRK:
    case TCSBRKP:
    case TIOCSBRK:
    case TIOCCBRK: return 0;  // breaks mean nothing to a pty
    case TIOCGETD: return write_int(process, arg, 0);  // N_TTY
    case TIOCSETD: {
      int32_t ldisc = TRY(read_int(process, arg));
      return ldisc == 0 ? ErrorOr<int64_t>(0) : ErrorOr<int64_t>(Errno::INVAL);
    }
    case TIOCEXCL: pty.exclusive = true; return 0;
    case TIOCNXCL: pty.exclusive = false; return 0;
    case TIOCGEXCL: return write_int(process, arg, pty.exclusive);
    case TIOCSTI: {
      // Faking input needs the terminal to be the caller's or CAP_SYS_ADMIN.
      if (!(process.creds.cap_effective & kCapSysAdmin)) {
        if (ctty_of(process) != &pty) return Errno::PERM;
      }
      uint8_t c;
      TRY(process.mem().read(arg, &c, 1));
      pty.input(std::span(&c, 1));
      return 0;
    }
    default: break;
  }
  // The pty driver's own requests (pty_unix98_ioctl), on the master only.
  switch (request) {
    case TIOCGPTN:
    case TIOCSPTLCK:
    case TIOCGPTLCK:
    case TIOCPKT:
    case TIOCGPKT:
    case TIOCSIG:
      if (!master) return Errno::NOTTY;
      break;
    case TIOCGPTPEER:
      if (!master) return Errno::IO;
      break;
    default: return Errno::NOTTY;
  }
  switch (request) {
    case TIOCGPTN: return write_int(process, arg, pty.index());
    case TIOCSPTLCK: pty.locked = TRY(read_int(process, arg)) != 0; return 0;
    case TIOCGPTLCK: return write_int(process, arg, pty.locked);
    case TIOCPKT: {
      bool on = TRY(read_int(process, arg)) != 0;
      if (on && !pty.packet) pty.packet_status = 0;
      pty.packet = on;
      pty.changed();
      return 0;
    }
    case TIOCGPKT: return write_int(process, arg, pty.packet);
    case TIOCSIG: {
      // pty_signal: only the signals a key could send.
      auto sig = static_cast<int>(arg);
      if (sig != SIGINT && sig != SIGQUIT && sig != SIGTSTP) return Errno::INVAL;
      pty.signal_foreground(sig);
      return 0;
    }
    case TIOCGPTPEER: return open_peer(pty, process, static_cast<int>(arg));
    default: return Errno::NOTTY;
  }
}

}  // namespace

ErrorOr<int64_t> PtyMasterFile::ioctl(Process& process, unsigned long request, uint64_t arg) {
  return pty_ioctl(*m_pty, Side::Master, process, request, arg);
}

DevPtsNodes create_devpts(std::shared_ptr<const FsInfo> devfs, ino_t ptmx_ino, ino_t tty_ino) {
  auto devpts = std::make_shared<DevPts>();
  devpts->ptmx = make_ref<PtmxNode>(devpts, devpts_info(), 2, 0666);
  DevPtsNodes nodes;
  nodes.ptmx = make_ref<PtmxNode>(devpts, devfs, ptmx_ino, 0666);
  nodes.pts = make_ref<PtsDir>(devpts);
  nodes.tty = make_ref<TtyNode>(devfs, tty_ino);
  return nodes;
}

ErrorOr<RefPtr<File>> attach_new_pty(Process& process, const struct winsize& size) {
  RefPtr<File> master = TRY(open_path(process, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY, 0));
  auto* m = dynamic_cast<PtyMasterFile*>(master.ptr());
  if (!m) return Errno::NXIO;
  Pty& pty = m->pty();
  pty.locked = false;
  pty.size = size;
  RefPtr<File> replica =
      TRY(open_path(process, AT_FDCWD, "/dev/pts/" + std::to_string(pty.index()), O_RDWR | O_NOCTTY, 0));
  for (int fd = 0; fd < 3; fd++) TRY(process.fds().install_at(fd, replica, false, nofile_limit(process)));
  pty.session = process.sid;
  pty.fg_pgrp = process.pgid;
  return master;
}

ErrorOr<void> pty_set_window_size(File& master, const struct winsize& size) {
  auto* m = dynamic_cast<PtyMasterFile*>(&master);
  if (!m) return Errno::INVAL;
  Pty& pty = m->pty();
  if (memcmp(&size, &pty.size, sizeof size) == 0) return {};
  pty.size = size;
  pty.signal_foreground(SIGWINCH);
  return {};
}

void pty_hang_up_replica(File& master) {
  auto* m = dynamic_cast<PtyMasterFile*>(&master);
  if (!m) return;
  m->pty().replica_closed = true;
  m->pty().changed();
}

dev_t controlling_tty_device(Process& p) {
  Pty* pty = ctty_of(p);
  return pty ? pty->rdev() : 0;
}

void session_leader_exited(Process& p) {
  Pty* found = nullptr;
  {
    std::lock_guard lock(g_registry_lock);
    for (Pty* pty : g_live)
      if (pty->sandbox() == &p.sandbox() && pty->session == p.pid()) found = pty;
  }
  if (!found) return;
  pid_t fg = found->fg_pgrp;
  found->session = found->fg_pgrp = 0;
  signal_group(p.sandbox(), fg, SIGHUP);
}

}  // namespace moat::fs
