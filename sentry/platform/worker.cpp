#include "sentry/platform/worker.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sentry/io/uring.h"
#include "sentry/kernel/process.h"
#include "sentry/platform/stub_process.h"
#include "sentry/syscalls/dispatch.h"

namespace moat {

namespace {

// Not in Debian 12's headers yet (kernel 6.7+).
constexpr uint8_t kOpFutexWait = 51;
constexpr uint32_t kFutex2SizeU32 = 0x02;
constexpr uint32_t kFutex2Private = 128;

// user_data tags for completions that are not coroutine operations.
// Coroutine operations are pointers (8-byte aligned, low bits clear).
constexpr uint64_t kTagWake = 1;
constexpr uint64_t kTagDoorbell = 2;  // | the Process pointer
constexpr uint64_t kTagMask = 7;

thread_local Worker* t_current = nullptr;

void prep_futex_wait(io_uring_sqe* sqe, const volatile uint32_t* addr, uint32_t expected, bool shared) {
  io_uring_prep_rw(kOpFutexWait, sqe, static_cast<int>(kFutex2SizeU32 | (shared ? 0 : kFutex2Private)),
                   const_cast<uint32_t*>(addr), 0, 0);
  sqe->addr2 = expected;
  sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
}

}  // namespace

io_uring* current_ring() { return Worker::current()->ring(); }

void UringSleep::await_suspend(std::coroutine_handle<> h) {
  handle = h;
  io_uring* ring = current_ring();
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (!sqe) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  io_uring_prep_timeout(sqe, &ts, 0, 0);
  io_uring_sqe_set_data(sqe, static_cast<UringOp*>(this));
  register_uring_cancel(this);
}

Worker* Worker::current() { return t_current; }

Worker::Worker(int index) : m_index(index) {
  uint64_t us = 500;
  if (const char* s = getenv("MOAT_WORKER_SPIN_US")) us = strtoull(s, nullptr, 10);
  m_spin_max_cycles = StubProcess::tsc_per_us() * us;
  m_spin_min_cycles = std::min(m_spin_max_cycles, StubProcess::tsc_per_us() * 20);
  m_spin_cycles = m_spin_max_cycles / 2;
}

// Pins the worker to one CPU of those it may use, counting from the last:
// the serving worker then spins on its own CPU and the scheduler puts the
// guest thread on another (the probes' "split" case, the fastest hand-off).
// MOAT_PIN_WORKERS=0 turns it off; with one CPU there is nothing to split.
void Worker::pin_to_cpu() {
  if (const char* pin = getenv("MOAT_PIN_WORKERS"); pin && *pin == '0') return;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  int count = CPU_COUNT(&allowed);
  if (count < 2) return;
  int want = count - 1 - m_index % count;
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (seen++ == want) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      sched_setaffinity(0, sizeof(one), &one);
      return;
    }
  }
}

// Runs on the worker's own thread: IORING_SETUP_SINGLE_ISSUER binds the ring
// to the thread that creates it.
void Worker::init_ring() {
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  if (io_uring_queue_init_params(256, &m_ring, &params) < 0) {
    params = {};
    if (int r = io_uring_queue_init_params(256, &m_ring, &params); r < 0) {
      fprintf(stderr, "moat: io_uring_queue_init: %s\n", strerror(-r));
      abort();
    }
  }
  if (io_uring_probe* probe = io_uring_get_probe_ring(&m_ring)) {
    m_futex_supported = probe->last_op >= kOpFutexWait && (probe->ops[kOpFutexWait].flags & IO_URING_OP_SUPPORTED);
    io_uring_free_probe(probe);
  }
  m_ring_ready = true;
}

Worker::~Worker() {
  stop();
  if (m_ring_ready) io_uring_queue_exit(&m_ring);
}

void Worker::start() {
  m_thread = std::thread([this] {
    // IORING_SETUP_SINGLE_ISSUER binds the ring to the first submitting
    // thread: only this one ever submits.
    t_current = this;
    pin_to_cpu();
    init_ring();
    run();
  });
}

void Worker::stop() {
  if (!m_thread.joinable()) return;
  m_stop.store(true);
  post([] {});
  m_thread.join();
}

void Worker::post(std::function<void()> fn) {
  {
    std::lock_guard lock(m_post_lock);
    m_posted.push_back(std::move(fn));
  }
  m_has_posted.store(true, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (m_sleeping.load(std::memory_order_relaxed)) {
    m_wake_word.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, &m_wake_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
}

void Worker::attach(Process* p) { m_processes.push_back(p); }

void Worker::detach(Process* p) { std::erase(m_processes, p); }

bool Worker::run_posted() {
  if (!m_has_posted.load(std::memory_order_acquire)) return false;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(m_post_lock);
    tasks.swap(m_posted);
    m_has_posted.store(false, std::memory_order_relaxed);
  }
  for (auto& t : tasks) t();
  return !tasks.empty();
}

bool Worker::poll_processes() {
  bool progress = false;
  // A handler may detach a process (exit); iterate over a snapshot.
  for (size_t i = 0; i < m_processes.size(); i++) {
    Process* p = m_processes[i];
    moat_ring& ring = p->stub().header()->ring;
    for (;;) {
      uint32_t head = ring.head;
      volatile uint32_t& entry = ring.entries[head % MOAT_RING_SIZE];
      uint32_t value = __atomic_load_n(&entry, __ATOMIC_ACQUIRE);
      if (value == 0) break;
      entry = 0;
      __atomic_store_n(&ring.head, head + 1, __ATOMIC_RELEASE);
      requests.fetch_add(1, std::memory_order_relaxed);
      handle_ring_entry(*p, value - 1);
      progress = true;
      if (i >= m_processes.size() || m_processes[i] != p) break;  // detached meanwhile
    }
  }
  return progress;
}

bool Worker::reap_completions() {
  if (io_uring_sq_ready(&m_ring)) io_uring_submit(&m_ring);
  bool progress = false;
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&m_ring, &cqe) == 0) {
    uint64_t data = cqe->user_data;
    int32_t res = cqe->res;
    io_uring_cqe_seen(&m_ring, cqe);
    progress = true;
    if (data == kTagWake) {
      m_wake_armed = false;
    } else if ((data & kTagMask) == kTagDoorbell) {
      for (Process* p : m_processes)
        if (reinterpret_cast<uint64_t>(p) == (data & ~kTagMask)) p->doorbell_armed = false;
    } else if (data != 0) {
      auto* op = reinterpret_cast<UringOp*>(data);
      if (op->on_complete) {
        op->on_complete(op, res);
      } else {
        op->result = res;
        op->handle.resume();
      }
    }
  }
  return progress;
}

void Worker::sleep() {
  // Announce the sleep, then look once more for work: a producer that missed
  // the announcement has already made its work visible.
  m_sleeping.store(true, std::memory_order_relaxed);
  for (Process* p : m_processes) p->stub().header()->ring.consumer_sleeping = 1;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint32_t wake_value = m_wake_word.load(std::memory_order_relaxed);
  bool pending = m_has_posted.load(std::memory_order_relaxed) || io_uring_cq_ready(&m_ring) > 0;
  for (Process* p : m_processes) {
    moat_ring& ring = p->stub().header()->ring;
    uint32_t bell = ring.doorbell;
    if (ring.entries[ring.head % MOAT_RING_SIZE] != 0) pending = true;
    if (!pending && m_futex_supported && !p->doorbell_armed) {
      io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
      if (!sqe) break;
      prep_futex_wait(sqe, &ring.doorbell, bell, /*shared=*/true);
      io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(p) | kTagDoorbell);
      p->doorbell_armed = true;
    }
  }
  if (!pending) {
    if (m_futex_supported && !m_wake_armed) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&m_ring)) {
        prep_futex_wait(sqe, reinterpret_cast<const volatile uint32_t*>(&m_wake_word), wake_value, false);
        io_uring_sqe_set_data64(sqe, kTagWake);
        m_wake_armed = true;
      }
    }
    sleeps.fetch_add(1, std::memory_order_relaxed);
    if (m_futex_supported) {
      io_uring_submit_and_wait(&m_ring, 1);
    } else {
      // Without futex waits in io_uring, poll with a short timeout.
      __kernel_timespec ts{0, 200000};
      io_uring_cqe* cqe;
      io_uring_submit(&m_ring);
      io_uring_wait_cqe_timeout(&m_ring, &cqe, &ts);
    }
  }
  for (Process* p : m_processes) p->stub().header()->ring.consumer_sleeping = 0;
  m_sleeping.store(false, std::memory_order_relaxed);
}

void Worker::run() {
  uint64_t last_work = __builtin_ia32_rdtsc();
  while (!m_stop.load(std::memory_order_relaxed)) {
    bool progress = run_posted();
    progress |= poll_processes();
    progress |= reap_completions();
    if (progress) {
      last_work = __builtin_ia32_rdtsc();
      continue;
    }
    if (__builtin_ia32_rdtsc() - last_work < m_spin_cycles) {
      __builtin_ia32_pause();
      continue;
    }
    uint64_t slept_from = __builtin_ia32_rdtsc();
    sleep();
    last_work = __builtin_ia32_rdtsc();
    // Adapt the spin budget: a sleep that ended soon after it began means the
    // guest's gaps are just longer than the budget (each one paid a wake-up),
    // so spin longer; long sleeps mean an idle guest, so spin less.
    uint64_t slept = last_work - slept_from;
    if (slept < m_spin_cycles * 4)
      m_spin_cycles = std::min(m_spin_max_cycles, m_spin_cycles * 2);
    else if (slept > m_spin_max_cycles * 16)
      m_spin_cycles = std::max(m_spin_min_cycles, m_spin_cycles / 2);
  }
}

int WorkerPool::default_count() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0) return CPU_COUNT(&allowed);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

WorkerPool::WorkerPool(int count) {
  for (int i = 0; i < count; i++) m_workers.push_back(std::make_unique<Worker>(i));
  for (auto& w : m_workers) w->start();
}

WorkerPool::~WorkerPool() {
  for (auto& w : m_workers) w->stop();
}

Worker& WorkerPool::pick() { return *m_workers[m_next.fetch_add(1) % m_workers.size()]; }

}  // namespace moat
