// signalfd(2) files and their readiness (event_files.h).

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <utility>

#include "fs/event_files.h"
#include "fs/host_fd_file.h"
#include "sentry/kernel/interrupt.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"
#include "sentry/kernel/signals.h"

namespace moat::fs {

struct SignalFdState {
  UniqueFd eventfd;  // host, non-blocking: readable while `armed`
  std::atomic<uint64_t> mask{0};
  Sandbox* sandbox = nullptr;
  pid_t pid = 0;  // the process and thread that made it
  pid_t tid = 0;
  // From here on, touched on the sandbox's worker only.
  bool armed = false;
  // Blocked readers; any poke of the sandbox resumes them to look again.
  std::vector<std::coroutine_handle<>> readers;
};

namespace {

// Every live signalfd state, to find those of a process when it is sent a
// signal. The lock is a leaf; states are updated outside it.
std::mutex g_registry_lock;
std::vector<std::weak_ptr<SignalFdState>> g_registry;

void register_state(const std::shared_ptr<SignalFdState>& state) {
  std::lock_guard lock(g_registry_lock);
  std::erase_if(g_registry, [](const std::weak_ptr<SignalFdState>& w) { return w.expired(); });
  g_registry.push_back(state);
}

std::vector<std::shared_ptr<SignalFdState>> states_of(const Sandbox* sandbox) {
  std::vector<std::shared_ptr<SignalFdState>> out;
  std::lock_guard lock(g_registry_lock);
  for (const auto& w : g_registry)
    if (auto s = w.lock(); s && s->sandbox == sandbox) out.push_back(std::move(s));
  return out;
}

// The signals of its mask pending for the thread that made it, or its
// process. FIXME: Linux looks at the thread that polls; a signalfd polled by
// another thread, or inherited by a child, still reports the maker's.
uint64_t pending_for(const SignalFdState& s) {
  Process* p = s.sandbox->find_process(s.pid);
  if (!p || p->zombie) return 0;
  uint64_t pending = p->pending.mask();
  if (Thread* t = p->thread_by_tid(s.tid)) pending |= t->pending.mask();
  return pending & s.mask.load(std::memory_order_relaxed);
}

enum class Edge { No, Yes };

// Sets or clears the readiness eventfd. Edge::Yes (a signal was just sent)
// writes again while ready, so edge-triggered epoll sees each new signal.
void update(SignalFdState& s, Edge edge) {
  bool ready = pending_for(s) != 0;
  if (ready && (!s.armed || edge == Edge::Yes)) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(s.eventfd.get(), &one, sizeof one);
    s.armed = true;
  } else if (!ready && s.armed) {
    uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(s.eventfd.get(), &value, sizeof value);
    s.armed = false;
  }
}

void wake_readers(SignalFdState& s) {
  for (auto h : std::exchange(s.readers, {})) resume_later(h);
}

// Takes the lowest pending signal of mask, thread-directed ones first (the
// kernel's dequeue_signal); 0 when none.
int take_signal(Thread& t, uint64_t mask, siginfo_t& info) {
  if (uint64_t mine = t.pending.mask() & mask) {
    int sig = __builtin_ctzll(mine) + 1;
    info = t.pending.dequeue(sig);
    return sig;
  }
  if (uint64_t shared = t.process().pending.mask() & mask) {
    int sig = __builtin_ctzll(shared) + 1;
    info = t.process().pending.dequeue(sig);
    return sig;
  }
  return 0;
}

// Which union member of the siginfo is valid (the kernel's siginfo_layout).
enum class Layout { Kill, Timer, Poll, Fault, Child, Rt, Sys };

Layout layout_of(int sig, int code) {
  constexpr int kNsigPoll = 6;
  if (code > SI_USER && code < SI_KERNEL) {
    switch (sig) {
      case SIGILL:
      case SIGFPE:
      case SIGSEGV:
      case SIGBUS:
      case SIGTRAP: return Layout::Fault;
      case SIGCHLD: return Layout::Child;
      case SIGPOLL: return Layout::Poll;
      case SIGSYS: return Layout::Sys;
      default: return code <= kNsigPoll ? Layout::Poll : Layout::Kill;
    }
  }
  if (code == SI_TIMER) return Layout::Timer;
  if (code == SI_SIGIO) return Layout::Poll;
  return code < 0 ? Layout::Rt : Layout::Kill;
}

// signalfd_copyinfo: the fields of the layout, the rest zero.
signalfd_siginfo to_signalfd_siginfo(const siginfo_t& info) {
  signalfd_siginfo out{};
  out.ssi_signo = static_cast<uint32_t>(info.si_signo);
  out.ssi_errno = info.si_errno;
  out.ssi_code = info.si_code;
  switch (layout_of(info.si_signo, info.si_code)) {
    case Layout::Kill:
      out.ssi_pid = static_cast<uint32_t>(info.si_pid);
      out.ssi_uid = info.si_uid;
      break;
    case Layout::Timer:
      out.ssi_tid = static_cast<uint32_t>(info.si_timerid);
      out.ssi_overrun = static_cast<uint32_t>(info.si_overrun);
      out.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      out.ssi_int = info.si_int;
      break;
    case Layout::Poll:
      out.ssi_band = static_cast<uint32_t>(info.si_band);
      out.ssi_fd = info.si_fd;
      break;
    case Layout::Fault:
      out.ssi_addr = reinterpret_cast<uint64_t>(info.si_addr);
      if (info.si_signo == SIGBUS && (info.si_code == BUS_MCEERR_AR || info.si_code == BUS_MCEERR_AO))
        out.ssi_addr_lsb = static_cast<uint16_t>(info.si_addr_lsb);
      break;
    case Layout::Child:
      out.ssi_pid = static_cast<uint32_t>(info.si_pid);
      out.ssi_uid = info.si_uid;
      out.ssi_status = info.si_status;
      out.ssi_utime = static_cast<uint64_t>(info.si_utime);
      out.ssi_stime = static_cast<uint64_t>(info.si_stime);
      break;
    case Layout::Rt:
      out.ssi_pid = static_cast<uint32_t>(info.si_pid);
      out.ssi_uid = info.si_uid;
      out.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      out.ssi_int = info.si_int;
      break;
    case Layout::Sys:
      out.ssi_call_addr = reinterpret_cast<uint64_t>(info.si_call_addr);
      out.ssi_syscall = info.si_syscall;
      out.ssi_arch = info.si_arch;
      break;
  }
  return out;
}

// Waits for a poke of the sandbox's signalfds. A signal for `thread` ends the
// wait, on later waits of the syscall too (see HostFdReady in sentry/kernel/host_fd_wait.h).
struct ReaderWait {
  std::shared_ptr<SignalFdState> state;
  Thread* thread;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    state->readers.push_back(h);
    Thread*& current = dispatching_thread();
    Thread* saved = std::exchange(current, thread);
    // A stale cancel (the reader was already woken) finds nothing to resume.
    on_interrupt([s = state, h] {
      if (std::erase(s->readers, h)) resume_later(h);
    });
    current = saved;
  }
  void await_resume() const noexcept {}
};

constexpr uint64_t kUnreportable = sig_bit(SIGKILL) | sig_bit(SIGSTOP);

}  // namespace

ErrorOr<RefPtr<File>> SignalFdFile::create(Thread& owner, uint64_t mask, int flags) {
  auto state = std::make_shared<SignalFdState>();
  state->eventfd = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!state->eventfd) return last_host_errno();
  state->mask = mask & ~kUnreportable;
  state->sandbox = &owner.process().sandbox();
  state->pid = owner.process().pid();
  state->tid = owner.tid();
  update(*state, Edge::No);
  register_state(state);
  Location loc;
  loc.entries.push_back(PathEntry{"anon_inode:[signalfd]", make_ref<AnonNode>(S_IFREG)});
  loc.anonymous = true;
  return RefPtr<File>::adopt(new SignalFdFile(std::move(loc), O_RDWR | (flags & O_NONBLOCK), std::move(state)));
}

SignalFdFile::~SignalFdFile() = default;

void SignalFdFile::set_mask(uint64_t mask) {
  m_state->mask = mask & ~kUnreportable;
  update(*m_state, Edge::No);
  wake_readers(*m_state);
}

int SignalFdFile::poll_host_fd() const {
  update(*m_state, Edge::No);
  return m_state->eventfd.get();
}

// signalfd_read: as many records as fit and are pending, EINVAL when not
// even one fits; a blocking read waits for the first.
Coro<ErrorOr<size_t>> SignalFdFile::read(std::span<std::byte> buf, int64_t offset) {
  if (offset >= 0) co_return Errno::SPIPE;
  const size_t room = buf.size() / sizeof(signalfd_siginfo);
  if (room == 0) co_return Errno::INVAL;
  Thread* thread = dispatching_thread();
  if (!thread) co_return Errno::INVAL;
  for (;;) {
    size_t count = 0;
    siginfo_t info;
    while (count < room && take_signal(*thread, m_state->mask.load(std::memory_order_relaxed), info)) {
      signalfd_siginfo record = to_signalfd_siginfo(info);
      memcpy(buf.data() + count * sizeof record, &record, sizeof record);
      count++;
    }
    if (count) {
      refresh_signalfds(thread->process().sandbox());
      co_return count * sizeof(signalfd_siginfo);
    }
    if (nonblocking()) co_return Errno::AGAIN;
    if (thread->interrupted) co_return Errno::RestartSys;
    ReaderWait wait{m_state, thread};  // named: GCC 12 destroys co_await temporaries twice
    co_await wait;
    if (thread->interrupted) co_return Errno::RestartSys;
  }
}

}  // namespace moat::fs

namespace moat {

SignalFdPoke::SignalFdPoke(Process& p) : m_sandbox(&p.sandbox()), m_pid(p.pid()) {}

SignalFdPoke::~SignalFdPoke() {
  for (auto& s : fs::states_of(m_sandbox)) {
    if (s->pid == m_pid) fs::update(*s, fs::Edge::Yes);
    // A reader of another process (an inherited signalfd) may be the one.
    fs::wake_readers(*s);
  }
}

void refresh_signalfds(Sandbox& sandbox) {
  for (auto& s : fs::states_of(&sandbox)) fs::update(*s, fs::Edge::No);
}

}  // namespace moat
