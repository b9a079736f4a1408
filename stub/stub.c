/* The stub: freestanding code copied into every stub process at
 * MOAT_STUB_BASE. No libc, no data, no relocations (scripts/check-stub-object
 * enforces it): every function lives in section moat_stub and reaches shared
 * state only through the fixed addresses of stub/layout.h.
 *
 * A guest syscall raises SIGSYS (the seccomp filter traps every syscall made
 * outside this code). The handler copies the syscall into the thread's slot,
 * posts it on the ring and waits, spinning for a bounded budget and then on a
 * futex, for the sentry's reply. The reply either finishes the syscall or asks
 * the stub to run a host operation in this address space first (mmap, munmap,
 * arch_prctl ...), which only this code range may do.
 */
#include "stub/layout.h"

#define STUB __attribute__((section("moat_stub"), used))
#define STUB_INLINE static inline __attribute__((always_inline))

#define NR_close 3
#define NR_mmap 9
#define NR_munmap 11
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_rt_sigreturn 15
#define NR_sched_yield 24
#define NR_clone 56
#define NR_recvmsg 47
#define NR_exit 60
#define NR_sigaltstack 131
#define NR_arch_prctl 158
#define NR_futex 202
#define NR_exit_group 231
#define NR_seccomp 317

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define SIGSYS 31
#define SA_SIGINFO 4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define ARCH_SET_FS 0x1002
#define SECCOMP_SET_MODE_FILTER 1
#define MSG_CMSG_CLOEXEC 0x40000000

/* Offsets into the kernel's siginfo and ucontext (x86-64). */
#define SIGINFO_SYSCALL 24
#define UCONTEXT_GREGS 40
#define REG_R8 0
#define REG_R9 1
#define REG_R10 2
#define REG_RDI 8
#define REG_RSI 9
#define REG_RDX 12
#define REG_RAX 13

STUB_INLINE long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

STUB_INLINE uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

STUB_INLINE void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

STUB_INLINE struct moat_header* header(void) { return (struct moat_header*)MOAT_SHARED_BASE; }

/* The calling thread's slot: stub code runs on a stack inside the thread's
 * region (its alternate stack, or the start-up stack below its frame), and
 * regions are aligned to their size. */
STUB_INLINE struct moat_slot* current_slot(void) {
  volatile char here;
  return (struct moat_slot*)((uint64_t)&here & ~(MOAT_THREAD_REGION - 1));
}

/* Receives up to two fds sent by the sentry with SCM_RIGHTS on the control
 * socket; returns how many arrived or -errno. */
STUB static long recv_fds(int sock, int32_t* fds) {
  struct {
    uint64_t len;
    int32_t level, type;
    int32_t fd[2];
  } cmsg;
  char byte;
  struct {
    void* base;
    uint64_t len;
  } iov = {&byte, 1};
  struct {
    void* name;
    uint32_t namelen;
    void* iov;
    uint64_t iovlen;
    void* control;
    uint64_t controllen;
    int32_t flags;
  } msg = {0, 0, &iov, 1, &cmsg, sizeof(cmsg), 0};
  cmsg.fd[0] = cmsg.fd[1] = -1;
  long r = sys6(NR_recvmsg, sock, (long)&msg, MSG_CMSG_CLOEXEC, 0, 0, 0);
  if (r < 0) return r;
  if (cmsg.level != 1 /* SOL_SOCKET */ || cmsg.type != 1 /* SCM_RIGHTS */ || cmsg.fd[0] < 0) return -9; /* EBADF */
  fds[0] = cmsg.fd[0];
  fds[1] = cmsg.len >= 16 + 8 ? cmsg.fd[1] : -1;
  return fds[1] >= 0 ? 2 : 1;
}

STUB static long recv_fd(int sock) {
  int32_t fds[2];
  long n = recv_fds(sock, fds);
  if (n < 0) return n;
  if (n == 2) sys6(NR_close, fds[1], 0, 0, 0, 0, 0);
  return fds[0];
}

STUB static long call_sentry(struct moat_slot* slot);

/* A new stub thread reports for duty and serves the sentry until it is told
 * to run guest code (it does not come back). */
STUB static void serve_from_hello(struct moat_slot* slot) {
  slot->state = MOAT_SLOT_IDLE;
  slot->request_kind = MOAT_REQ_HELLO;
  call_sentry(slot);
}

/* The child of MOAT_OP_FORK, on its own stack in its own shared region: it
 * drops the parent's control socket and memfd, then reports to the sentry,
 * which answers with the registers to return to the guest with. */
STUB __attribute__((noreturn, used)) static void fork_child_start(long memfd, long control) {
  struct moat_header* h = header();
  sys6(NR_close, memfd, 0, 0, 0, 0, 0);
  sys6(NR_close, h->control_fd, 0, 0, 0, 0, 0);  /* the parent's socket, inherited */
  h->control_fd = (int32_t)control;
  serve_from_hello(current_slot());
  sys6(NR_exit_group, 127, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}

/* Forks the host process. Until the child has remapped its shared region it
 * must not touch memory: its stack is the parent's alternate stack, shared
 * with the parent. So the child's path stays in registers and in this one asm
 * block, and it reaches C code only on a stack inside its new region. */
STUB static long fork_process(struct moat_slot* slot) {
  int32_t fds[2];
  long n = recv_fds(header()->control_fd, fds);
  if (n < 0) return n;
  if (n != 2) {
    sys6(NR_close, fds[0], 0, 0, 0, 0, 0);
    return -9; /* EBADF */
  }
  uint64_t child_rsp = ((uint64_t)slot + (slot->op_args[0] & (MOAT_THREAD_REGION - 1))) & ~15ULL;
  register long r12 __asm__("r12") = fds[0];
  register long r13 __asm__("r13") = fds[1];
  register uint64_t r14 __asm__("r14") = child_rsp - 1024;
  register void* r15 __asm__("r15") = (void*)&fork_child_start;
  long ret;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      /* child: mmap(MOAT_SHARED_BASE, MOAT_SHARED_SIZE, RW, MAP_SHARED|MAP_FIXED, memfd, 0) */
      "mov $9, %%eax\n\t"
      "movabs %[base], %%rdi\n\t"
      "movabs %[size], %%rsi\n\t"
      "mov $3, %%edx\n\t"
      "mov $0x11, %%r10d\n\t"
      "mov %%r12, %%r8\n\t"
      "xor %%r9d, %%r9d\n\t"
      "syscall\n\t"
      "cmp %%rdi, %%rax\n\t"
      "jne 2f\n\t"
      "mov %%r14, %%rsp\n\t"
      "mov %%r12, %%rdi\n\t"
      "mov %%r13, %%rsi\n\t"
      "call *%%r15\n\t"
      "2:\n\t"
      "mov $231, %%eax\n\t"
      "mov $126, %%edi\n\t"
      "syscall\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "a"(NR_clone), "D"(17 /* SIGCHLD */), "S"(0), "d"(0), "r"(r12), "r"(r13), "r"(r14), "r"(r15),
        [base] "i"(MOAT_SHARED_BASE), [size] "i"(MOAT_SHARED_SIZE)
      : "rcx", "r8", "r9", "r10", "r11", "memory");
  sys6(NR_close, fds[0], 0, 0, 0, 0, 0);
  sys6(NR_close, fds[1], 0, 0, 0, 0, 0);
  return ret;
}

/* A new guest thread's host thread, on its own stack in its thread region:
 * it installs its alternate stack (new threads start without one) and
 * reports; the sentry answers with the registers it starts with. */
STUB __attribute__((noreturn, used)) static void thread_start(uint64_t index) {
  uint64_t region = moat_thread_region((uint32_t)index);
  struct {
    uint64_t sp;
    int32_t flags;
    int32_t pad;
    uint64_t size;
  } ss = {region + 4096, 0, 0, MOAT_THREAD_REGION - 4096};
  sys6(NR_sigaltstack, (long)&ss, 0, 0, 0, 0, 0);
  serve_from_hello((struct moat_slot*)region);
  sys6(NR_exit, 0, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}

/* Starts a host thread in this process (the guest's new thread). The new
 * thread begins on its own stack, given to clone, and goes straight to
 * thread_start without returning through this function's frame. */
STUB static long clone_thread(struct moat_slot* slot) {
  uint64_t index = slot->op_args[0];
  if (index >= MOAT_MAX_THREADS) return -22; /* EINVAL */
  uint64_t region = moat_thread_region((uint32_t)index);
  uint64_t stack = slot->op_args[1] & ~15ULL;
  if (stack <= region + 4096 || stack > region + MOAT_THREAD_REGION) return -22;
  /* The kernel writes the new thread's host tid into its slot and clears it
   * when the thread is gone: the sentry reuses the slot only then. */
  struct moat_slot* child_slot = (struct moat_slot*)region;
  child_slot->host_tid = -1;
  register uint64_t r10 __asm__("r10") = (uint64_t)&child_slot->host_tid;
  register uint64_t r8 __asm__("r8") = 0;
  register uint64_t r12 __asm__("r12") = index;
  register void* r13 __asm__("r13") = (void*)&thread_start;
  long ret;
  /* CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
   * CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID */
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "mov %%r12, %%rdi\n\t"
      "call *%%r13\n\t"
      "ud2\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "a"(NR_clone), "D"(0x01250f00L), "S"(stack), "d"(0), "r"(r10), "r"(r8), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
}

STUB static long run_op(struct moat_slot* slot) {
  uint64_t* a = slot->op_args;
  if (slot->op == MOAT_OP_SYSCALL)
    return sys6((long)slot->op_nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
  if (slot->op == MOAT_OP_MMAP_FD) {
    long fd = recv_fd(header()->control_fd);
    if (fd < 0) return fd;
    long r = sys6(NR_mmap, (long)a[0], (long)a[1], (long)a[2], (long)a[3], fd, (long)a[5]);
    sys6(NR_close, fd, 0, 0, 0, 0, 0);
    return r;
  }
  if (slot->op == MOAT_OP_FORK) return fork_process(slot);
  if (slot->op == MOAT_OP_CLONE_THREAD) return clone_thread(slot);
  return -22; /* EINVAL */
}

/* Posts the slot's request: the slot goes to the sentry, its index goes on the
 * ring, and a sleeping consumer gets a doorbell. */
STUB static void post(struct moat_slot* slot) {
  struct moat_ring* ring = &header()->ring;
  uint32_t index = (uint32_t)(((uint64_t)slot - MOAT_SHARED_BASE) / MOAT_THREAD_REGION - 1);
  __atomic_store_n(&slot->state, MOAT_SLOT_STUB_POSTED, __ATOMIC_RELEASE);
  uint32_t pos = __atomic_fetch_add(&ring->tail, 1, __ATOMIC_ACQ_REL);
  __atomic_store_n(&ring->entries[pos % MOAT_RING_SIZE], index + 1, __ATOMIC_RELEASE);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ring->consumer_sleeping, __ATOMIC_RELAXED)) {
    __atomic_fetch_add(&ring->doorbell, 1, __ATOMIC_RELEASE);
    sys6(NR_futex, (long)&ring->doorbell, FUTEX_WAKE, 1, 0, 0, 0);
  }
}

/* Waits for the sentry's reply: spin within the budget, then sleep on the
 * slot's futex. The budget adapts: a reply that came while spinning doubles
 * it (up to the maximum), a sleep halves it (down to the minimum), so calls
 * that block for long (a read from a terminal) stop burning a CPU while the
 * usual short calls keep the fast spinning hand-off. */
STUB static void wait_reply(struct moat_slot* slot) {
  struct moat_header* h = header();
  uint64_t budget = slot->spin_budget;
  if (budget < h->stub_spin_min_cycles || budget > h->stub_spin_cycles) budget = h->stub_spin_cycles;
  uint64_t start = rdtsc();
  while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != MOAT_SLOT_SENTRY_POSTED) {
    if (rdtsc() - start > budget || slot->sleep_hint) {
      __atomic_store_n(&slot->stub_sleeping, 1, __ATOMIC_RELAXED);
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != MOAT_SLOT_SENTRY_POSTED) {
        slot->futex_sleeps++;
        sys6(NR_futex, (long)&slot->state, FUTEX_WAIT, MOAT_SLOT_STUB_POSTED, 0, 0, 0);
      }
      __atomic_store_n(&slot->stub_sleeping, 0, __ATOMIC_RELAXED);
      budget /= 2;
      slot->spin_budget = budget < h->stub_spin_min_cycles ? h->stub_spin_min_cycles : budget;
      return;
    }
    cpu_relax();
  }
  budget *= 2;
  slot->spin_budget = budget > h->stub_spin_cycles ? h->stub_spin_cycles : budget;
}

/* Enters guest code with a fresh register state, as execve leaves it. */
STUB __attribute__((noreturn)) static void enter_guest(uint64_t rip, uint64_t rsp) {
  sys6(NR_arch_prctl, ARCH_SET_FS, 0, 0, 0, 0, 0);
  __asm__ volatile(
      "mov %0, %%rsp\n\t"
      "mov %1, %%r11\n\t"
      "xor %%eax, %%eax\n\txor %%ebx, %%ebx\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
      "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%ebp, %%ebp\n\t"
      "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\t"
      "xor %%r12d, %%r12d\n\txor %%r13d, %%r13d\n\txor %%r14d, %%r14d\n\txor %%r15d, %%r15d\n\t"
      "push $0x202\n\tpopfq\n\t"
      "jmp *%%r11\n\t" ::"r"(rsp),
      "r"(rip)
      : "memory");
  __builtin_unreachable();
}

/* Posts the slot's request and serves the sentry's replies until the sentry
 * finishes it. Returns the syscall result. */
STUB static long call_sentry(struct moat_slot* slot) {
  for (;;) {
    post(slot);
    wait_reply(slot);
    uint32_t kind = slot->reply_kind;
    if (kind == MOAT_REPLY_RESULT) {
      slot->state = MOAT_SLOT_IDLE;
      return slot->result;
    }
    if (kind == MOAT_REPLY_OP) {
      slot->op_result = run_op(slot);
      slot->request_kind = MOAT_REQ_OP_RESULT;
      continue;
    }
    if (kind == MOAT_REPLY_RUN) {
      slot->state = MOAT_SLOT_IDLE;
      enter_guest(slot->op_args[0], slot->op_args[1]);
    }
    if (kind == MOAT_REPLY_SIGRETURN) {
      /* rt_sigreturn finds its ucontext at rsp; the sentry checked that it
       * lies in this thread's region. */
      uint64_t uc = slot->op_args[0];
      slot->state = MOAT_SLOT_IDLE;
      __asm__ volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall\n\tud2" ::"r"(uc) : "memory");
      __builtin_unreachable();
    }
    if (kind == MOAT_REPLY_EXIT_THREAD) {
      slot->state = MOAT_SLOT_IDLE;
      sys6(NR_exit, 0, 0, 0, 0, 0, 0);
    }
    /* MOAT_REPLY_EXIT, or anything unknown: end the whole process. */
    sys6(NR_exit_group, kind == MOAT_REPLY_EXIT ? (long)slot->op_args[0] : 127, 0, 0, 0, 0, 0);
  }
}

/* SIGSYS handler: runs on the thread's alternate stack inside its thread
 * region, so the slot sits at the region's base. */
STUB void moat_stub_sigsys(int sig __attribute__((unused)), void* info, void* ucontext) {
  struct moat_slot* slot = current_slot();
  uint64_t* gregs = (uint64_t*)((char*)ucontext + UCONTEXT_GREGS);
  slot->nr = (uint64_t)(uint32_t) * (int32_t*)((char*)info + SIGINFO_SYSCALL);
  slot->args[0] = gregs[REG_RDI];
  slot->args[1] = gregs[REG_RSI];
  slot->args[2] = gregs[REG_RDX];
  slot->args[3] = gregs[REG_R10];
  slot->args[4] = gregs[REG_R8];
  slot->args[5] = gregs[REG_R9];
  slot->ucontext_off = (uint64_t)((char*)ucontext - (char*)slot);
  slot->request_kind = MOAT_REQ_SYSCALL;
  slot->syscalls++;
  gregs[REG_RAX] = (uint64_t)call_sentry(slot);
}

/* Fault handler (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP in guest code),
 * on the thread's alternate stack like the SIGSYS handler. The sentry decides:
 * it builds the guest's own signal frame into the saved context, or ends the
 * process. The handler returns through whatever context the sentry left. */
STUB void moat_stub_fault(int sig, void* info, void* ucontext) {
  struct moat_slot* slot = current_slot();
  slot->nr = (uint64_t)sig;
  slot->args[0] = (uint64_t)(uint32_t) * (int32_t*)((char*)info + 8); /* si_code */
  slot->args[1] = *(uint64_t*)((char*)info + 16);                    /* si_addr */
  slot->ucontext_off = (uint64_t)((char*)ucontext - (char*)slot);
  slot->request_kind = MOAT_REQ_FAULT;
  call_sentry(slot);
}

/* The sentry wants this thread, which was running guest code: report, and
 * resume whatever context the sentry leaves (a guest handler's, maybe). */
STUB void moat_stub_interrupt(int sig __attribute__((unused)), void* info __attribute__((unused)),
                              void* ucontext) {
  struct moat_slot* slot = current_slot();
  slot->ucontext_off = (uint64_t)((char*)ucontext - (char*)slot);
  slot->request_kind = MOAT_REQ_INTERRUPT;
  call_sentry(slot);
}

/* Entered from the freshly cloned stub process, on thread 0's alternate
 * stack, once the shared region and this code are mapped. Leaves nothing of
 * the sentry's image in the address space, installs the SIGSYS handler and
 * the filter, then takes instructions from the sentry until it says run. */
STUB __attribute__((noreturn)) void moat_stub_init(void) {
  struct moat_header* h = header();
  for (uint32_t i = 0; i < h->unmap_count && i < MOAT_MAX_UNMAP; i++)
    sys6(NR_munmap, (long)h->unmap[i].start, (long)h->unmap[i].len, 0, 0, 0, 0);

  uint64_t empty = 0;
  sys6(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&empty, 0, 8, 0, 0);

  uint64_t region = moat_thread_region(0);
  struct {
    uint64_t sp;
    int32_t flags;
    int32_t pad;
    uint64_t size;
  } ss = {region + 4096, 0, 0, MOAT_THREAD_REGION - 4096};
  sys6(NR_sigaltstack, (long)&ss, 0, 0, 0, 0, 0);

  struct {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
  } sa = {h->sigsys_handler, SA_SIGINFO | SA_ONSTACK | SA_RESTORER, h->sigreturn_restorer, ~0ULL};
  if (sys6(NR_rt_sigaction, SIGSYS, (long)&sa, 0, 8, 0, 0) < 0) sys6(NR_exit_group, 125, 0, 0, 0, 0, 0);
  /* Faults: SIGILL 4, SIGTRAP 5, SIGBUS 7, SIGFPE 8, SIGSEGV 11. A fault
   * while one is handled finds its signal blocked and kills the process. */
  sa.handler = h->fault_handler;
  for (int fault = 4; fault <= 11; fault++) {
    if (fault == 4 || fault == 5 || fault == 7 || fault == 8 || fault == 11)
      sys6(NR_rt_sigaction, fault, (long)&sa, 0, 8, 0, 0);
  }
  /* All handlers block every signal while they run (sa.mask), so an
   * interrupt never lands inside a hand-off: it waits for guest code. */
  sa.handler = h->interrupt_handler;
  sa.flags |= 0x10000000; /* SA_RESTART */
  sys6(NR_rt_sigaction, MOAT_INTERRUPT_SIGNAL, (long)&sa, 0, 8, 0, 0);

  struct {
    uint16_t len;
    uint16_t pad[3];
    void* filter;
  } prog = {(uint16_t)h->filter_len, {0, 0, 0}, h->filter};
  if (sys6(NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0) < 0)
    sys6(NR_exit_group, 125, 0, 0, 0, 0, 0);

  serve_from_hello((struct moat_slot*)region);
  sys6(NR_exit_group, 127, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}

/* The signal return trampoline (sa_restorer) for the SIGSYS handler. */
__asm__(
    ".pushsection moat_stub,\"ax\",@progbits\n"
    ".globl moat_stub_restorer\n"
    ".type moat_stub_restorer,@function\n"
    "moat_stub_restorer:\n"
    "  mov $15, %eax\n"
    "  syscall\n"
    "  ud2\n"
    ".popsection\n");
