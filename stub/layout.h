/* The memory shared between a stub process and the sentry.
 *
 * This one header is included by the freestanding stub code (C, no libc) and
 * by the sentry (C++). Everything here is plain data with fixed sizes.
 *
 * Address space of a stub process (fixed, never handed out to the guest):
 *
 *   MOAT_STUB_BASE                 stub code (read+execute), MOAT_STUB_CODE_SIZE
 *   MOAT_SHARED_BASE               shared region, a memfd also mapped by the sentry:
 *     +0                             struct moat_header (ring, doorbell, init parameters)
 *     +MOAT_THREAD_REGION * (i+1)    thread region i: struct moat_slot, then the
 *                                    alternate signal stack of guest thread i
 *
 * Thread regions are aligned to their size, so the SIGSYS handler finds its
 * slot from its stack pointer alone (rsp & ~(MOAT_THREAD_REGION-1)); the guest
 * owns fs and gs, so the stub keeps no TLS.
 *
 * Everything in the shared region is writable by the guest: the sentry treats
 * every field as hostile and validates it after copying it once.
 */
#ifndef MOAT_STUB_LAYOUT_H
#define MOAT_STUB_LAYOUT_H

#include <stdint.h>

#define MOAT_STUB_BASE 0x7e0000000000ULL
#define MOAT_STUB_CODE_SIZE 0x10000ULL
#define MOAT_SHARED_BASE (MOAT_STUB_BASE + 0x100000ULL)
#define MOAT_THREAD_REGION 0x10000ULL /* 64 KiB: slot + alternate stack */
#define MOAT_MAX_THREADS 128
#define MOAT_SHARED_SIZE (MOAT_THREAD_REGION * (MOAT_MAX_THREADS + 1))
/* The whole range the guest may never map over. */
#define MOAT_RESERVED_BASE MOAT_STUB_BASE
#define MOAT_RESERVED_END (MOAT_SHARED_BASE + MOAT_SHARED_SIZE)

#define MOAT_RING_SIZE 256 /* > MOAT_MAX_THREADS: one outstanding request per thread */
#define MOAT_MAX_UNMAP 128
#define MOAT_MAX_FILTER 64
/* The host signal the sentry sends a stub thread running guest code to make
 * it enter the sentry (SIGSTKFLT: the kernel never raises it on x86-64). */
#define MOAT_INTERRUPT_SIGNAL 16
#define MOAT_HEADER_MAGIC 0x6d6f617473747562ULL /* "moatstub" */

/* slot.state: who owns the slot right now. It is also the futex word the
 * stub sleeps on after its spin budget. */
enum moat_slot_state {
  MOAT_SLOT_IDLE = 0,
  MOAT_SLOT_STUB_POSTED = 1,   /* stub wrote a request; the sentry owns the slot */
  MOAT_SLOT_SENTRY_POSTED = 2, /* sentry wrote a reply; the stub owns the slot */
};

/* What the stub posts. */
enum moat_request_kind {
  MOAT_REQ_HELLO = 1,     /* a new stub thread is ready for instructions */
  MOAT_REQ_SYSCALL = 2,   /* a trapped guest syscall: nr, args, ucontext_off */
  MOAT_REQ_OP_RESULT = 3, /* the result of an op the sentry asked for */
  MOAT_REQ_INTERRUPT = 5, /* the sentry interrupted guest code (host
                             MOAT_INTERRUPT_SIGNAL) to deliver a guest
                             signal; the reply resumes the context */
  MOAT_REQ_FAULT = 4,     /* a hardware fault in guest code: nr = signal,
                             args[0] = si_code, args[1] = si_addr; the reply
                             resumes the (possibly rewritten) context */
};

/* What the sentry replies. */
enum moat_reply_kind {
  MOAT_REPLY_RESULT = 1, /* finish the syscall: rax = result, resume the guest */
  MOAT_REPLY_OP = 2,     /* execute op, then post MOAT_REQ_OP_RESULT */
  MOAT_REPLY_RUN = 3,    /* enter guest code: rip = op_args[0], rsp = op_args[1] */
  MOAT_REPLY_EXIT = 4,   /* exit_group(op_args[0]) */
  MOAT_REPLY_SIGRETURN = 5, /* restore the ucontext at op_args[0] (rt_sigreturn) */
  MOAT_REPLY_EXIT_THREAD = 6, /* end this thread only (exit) */
};

/* Host operations the stub performs on the sentry's instruction, from its own
 * code range (the only place the filter allows them). */
enum moat_op {
  MOAT_OP_SYSCALL = 1, /* raw host syscall op_nr(op_args[0..5]) */
  MOAT_OP_MMAP_FD = 2, /* receive one fd on the control socket, mmap(op_args with
                          fd replaced by it), close it */
  MOAT_OP_FORK = 3,    /* receive the child's shared-region memfd and control
                          socket, then fork the host process; the child remaps
                          its shared region onto the memfd, runs on a stack
                          below op_args[0] (an offset in its thread region) and
                          posts MOAT_REQ_HELLO. Result: the child's pid as the
                          stub's pid namespace sees it. */
  MOAT_OP_CLONE_THREAD = 4, /* start a host thread for thread index op_args[0]
                               on the stack at op_args[1]; it posts
                               MOAT_REQ_HELLO from its slot. Result: its host
                               tid or -errno. */
};

struct moat_slot {
  /* Handshake. */
  volatile uint32_t state;         /* enum moat_slot_state, futex word */
  volatile uint32_t stub_sleeping; /* stub is (about to be) in FUTEX_WAIT on state */
  uint32_t request_kind;           /* enum moat_request_kind */
  uint32_t reply_kind;             /* enum moat_reply_kind */
  /* Request, written by the stub. */
  uint64_t nr;
  uint64_t args[6];
  uint64_t ucontext_off; /* offset of the ucontext within this thread region */
  int64_t op_result;
  /* Reply, written by the sentry. */
  int64_t result;
  uint64_t op;
  uint64_t op_nr;
  uint64_t op_args[6];
  /* Written by the sentry: the syscall blocked in the sentry (a coroutine
   * suspended), so spinning for the reply only burns a CPU. */
  volatile uint32_t sleep_hint;
  /* The host tid of the thread using this slot; the kernel clears it when
   * that host thread is gone (CLONE_CHILD_CLEARTID), so the slot may be reused. */
  volatile int32_t host_tid;
  /* Stub-private state: the adaptive spin budget (TSC cycles) and counters. */
  uint64_t spin_budget;
  uint64_t syscalls;
  uint64_t futex_sleeps;
};

struct moat_ring {
  volatile uint32_t tail; /* producers reserve entries with an atomic add */
  uint32_t pad0[15];
  volatile uint32_t head; /* the consumer (one sentry worker) */
  uint32_t pad1[15];
  volatile uint32_t doorbell;          /* futex word the idle consumer waits on */
  volatile uint32_t consumer_sleeping; /* consumer is (about to be) asleep */
  uint32_t pad2[14];
  volatile uint32_t entries[MOAT_RING_SIZE]; /* thread index + 1; 0 = not yet written */
};

struct moat_unmap_range {
  uint64_t start;
  uint64_t len;
};

struct moat_filter_insn { /* struct sock_filter */
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};

struct moat_header {
  uint64_t magic;
  uint64_t pad[7];
  struct moat_ring ring;
  /* Init parameters, written by the sentry before the stub starts and read
   * only by the stub's init code. */
  int32_t control_fd; /* unix socket for fd passing */
  uint32_t unmap_count;
  struct moat_unmap_range unmap[MOAT_MAX_UNMAP];
  uint32_t filter_len;
  struct moat_filter_insn filter[MOAT_MAX_FILTER];
  /* Spin budget of a waiting stub thread, in TSC cycles: it adapts between
   * min and max, starting at max. */
  uint64_t stub_spin_cycles;
  uint64_t stub_spin_min_cycles;
  /* Addresses of stub entry points inside the stub process; the sentry
   * computes them so the stub code needs no relocations. */
  uint64_t sigsys_handler;
  uint64_t sigreturn_restorer;
  uint64_t fault_handler;
  uint64_t interrupt_handler;
};

static inline uint64_t moat_thread_region(uint32_t index) {
  return MOAT_SHARED_BASE + MOAT_THREAD_REGION * (uint64_t)(index + 1);
}

#endif
