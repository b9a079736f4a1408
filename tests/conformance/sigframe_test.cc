// Conformance: the x86-64 signal frame. What a handler sees of the
// interrupted context (general registers, RIP, flags, FPU/SSE state, the
// signal mask, the alternate stack), where the frame is placed, and that
// changes a handler makes to the ucontext take effect when it returns
// (rt_sigreturn(2)). Also nested delivery and siginfo contents.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>

#include "harness.h"
#include "proc_util.h"

using namespace conformance;

// Seen by the asm entry probe below (unmangled names).
extern "C" {
__attribute__((used)) uint64_t g_entry_rsp;
__attribute__((used)) uint64_t g_entry_ret;
__attribute__((used)) volatile int g_restorer_calls;
void sigframe_entry_probe(int, siginfo_t*, void*);
void sigframe_entry_probe_c(int, siginfo_t*, void*);
void sigframe_test_restorer();
}

// A handler entry point that records the stack pointer and the return
// address it was entered with, then continues in C.
asm(R"(
  .text
  .globl sigframe_entry_probe
  .type sigframe_entry_probe, @function
sigframe_entry_probe:
  movq %rsp, g_entry_rsp(%rip)
  movq (%rsp), %rax
  movq %rax, g_entry_ret(%rip)
  jmp sigframe_entry_probe_c
  .size sigframe_entry_probe, .-sigframe_entry_probe

  .globl sigframe_test_restorer
  .type sigframe_test_restorer, @function
sigframe_test_restorer:
  lock incl g_restorer_calls(%rip)
  movl $15, %eax
  syscall
  hlt
  .size sigframe_test_restorer, .-sigframe_test_restorer
)");

namespace {

volatile sig_atomic_t g_count;
ucontext_t g_seen_uc;            // a copy of the handler's ucontext (gregs, sigmask)
uint64_t g_seen_uc_addr;
uint64_t g_seen_info_addr;
siginfo_t g_seen_info;
uint64_t g_mask_in_handler;
uint64_t g_handler_flags;  // rflags on entry to editing_handler

// What the handler should change in the interrupted context.
enum class Edit { None, Registers, SkipUd2, Redirect, MaskAddUsr2, MaskDropHup, Xmm3, FixFault };
Edit g_edit = Edit::None;
uint64_t g_redirect_to;
uint64_t g_fix_address;

constexpr uint64_t kNewR12 = 0x1122334455667788ULL;
constexpr uint64_t kNewRbx = 0x0badf00d0badf00dULL;
constexpr int64_t kNewRax = 4321;

void reset_records() {
  g_count = 0;
  memset(&g_seen_uc, 0, sizeof g_seen_uc);
  memset(&g_seen_info, 0, sizeof g_seen_info);
  g_seen_uc_addr = g_seen_info_addr = 0;
  g_mask_in_handler = 0;
  g_edit = Edit::None;
  g_restorer_calls = 0;
  g_entry_rsp = g_entry_ret = 0;
}

uint64_t uc_mask_word(const ucontext_t* uc) {
  uint64_t m;
  memcpy(&m, &uc->uc_sigmask, sizeof m);
  return m;
}

void set_uc_mask_word(ucontext_t* uc, uint64_t m) { memcpy(&uc->uc_sigmask, &m, sizeof m); }

void editing_handler(int, siginfo_t* info, void* ucv) {
  uint64_t flags;
  asm volatile("pushfq\n\tpopq %0" : "=r"(flags));
  g_handler_flags = flags;
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  g_count = g_count + 1;
  g_seen_uc = *uc;
  g_seen_uc_addr = reinterpret_cast<uint64_t>(uc);
  g_seen_info_addr = reinterpret_cast<uint64_t>(info);
  g_seen_info = *info;
  g_mask_in_handler = current_mask();
  greg_t* g = uc->uc_mcontext.gregs;
  switch (g_edit) {
    case Edit::None:
      break;
    case Edit::Registers:
      g[REG_R12] = static_cast<greg_t>(kNewR12);
      g[REG_RBX] = static_cast<greg_t>(kNewRbx);
      g[REG_RAX] = kNewRax;
      break;
    case Edit::SkipUd2:
      g[REG_RIP] += 2;
      break;
    case Edit::Redirect:
      g[REG_RIP] = static_cast<greg_t>(g_redirect_to);
      break;
    case Edit::MaskAddUsr2:
      set_uc_mask_word(uc, uc_mask_word(uc) | sigbit(SIGUSR2));
      break;
    case Edit::MaskDropHup:
      set_uc_mask_word(uc, uc_mask_word(uc) & ~sigbit(SIGHUP));
      break;
    case Edit::Xmm3:
      for (int i = 0; i < 4; i++) uc->uc_mcontext.fpregs->_xmm[3].element[i] = 0xabcd0000u + i;
      break;
    case Edit::FixFault:
      g[REG_RAX] = static_cast<greg_t>(g_fix_address);
      break;
  }
}

int install_info(int sig, void (*handler)(int, siginfo_t*, void*), int flags = 0, uint64_t mask = 0) {
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = flags | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (int sig2 = 1; sig2 <= 64; sig2++)
    if (mask & sigbit(sig2)) sigaddset(&sa.sa_mask, sig2);
  return sigaction(sig, &sa, nullptr);
}

long tgkill_self(int sig) { return syscall(SYS_tgkill, getpid(), gettid(), sig); }

// Known values in callee-saved registers across a raw tgkill to self.
struct RegBlock {
  uint64_t in[5];  // rbx r12 r13 r14 r15            (0..32)
  uint64_t pid, tid, sig;  //                         (40, 48, 56)
  uint64_t out[5];  // the same registers afterwards (64..96)
  uint64_t rax_out;  //                               (104)
  uint64_t label;    // the address after syscall     (112)
  uint64_t rsp;      // rsp at the syscall            (120)
};
static_assert(offsetof(RegBlock, rsp) == 120);

void tgkill_with_registers(RegBlock* b) {
  asm volatile(
      "movq 0(%0), %%rbx\n\t"
      "movq 8(%0), %%r12\n\t"
      "movq 16(%0), %%r13\n\t"
      "movq 24(%0), %%r14\n\t"
      "movq 32(%0), %%r15\n\t"
      "movq 40(%0), %%rdi\n\t"
      "movq 48(%0), %%rsi\n\t"
      "movq 56(%0), %%rdx\n\t"
      "movl $234, %%eax\n\t"
      "leaq 1f(%%rip), %%rcx\n\t"
      "movq %%rcx, 112(%0)\n\t"
      "movq %%rsp, 120(%0)\n\t"
      "syscall\n\t"
      "1:\n\t"
      "movq %%rbx, 64(%0)\n\t"
      "movq %%r12, 72(%0)\n\t"
      "movq %%r13, 80(%0)\n\t"
      "movq %%r14, 88(%0)\n\t"
      "movq %%r15, 96(%0)\n\t"
      "movq %%rax, 104(%0)\n\t"
      :
      : "r"(b)
      : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r13", "r14", "r15", "memory", "cc");
}

RegBlock make_reg_block(int sig) {
  RegBlock b{};
  for (int i = 0; i < 5; i++) b.in[i] = 0x5100000000000000ULL + 0x1111ULL * (i + 1);
  b.pid = static_cast<uint64_t>(getpid());
  b.tid = static_cast<uint64_t>(gettid());
  b.sig = static_cast<uint64_t>(sig);
  return b;
}

// xmm0..xmm15 loaded from in, a raw tgkill, then stored to out.
struct XmmBlock {
  uint8_t in[16][16];    // 0..255
  uint8_t out[16][16];   // 256..511
  uint64_t pid, tid, sig;  // 512, 520, 528
  uint32_t mxcsr_in, mxcsr_out;  // 536, 540
};
static_assert(offsetof(XmmBlock, mxcsr_in) == 536);

void tgkill_with_xmm(XmmBlock* b) {
  asm volatile(
      "ldmxcsr 536(%0)\n\t"
      "movdqu 0(%0), %%xmm0\n\t"
      "movdqu 16(%0), %%xmm1\n\t"
      "movdqu 32(%0), %%xmm2\n\t"
      "movdqu 48(%0), %%xmm3\n\t"
      "movdqu 64(%0), %%xmm4\n\t"
      "movdqu 80(%0), %%xmm5\n\t"
      "movdqu 96(%0), %%xmm6\n\t"
      "movdqu 112(%0), %%xmm7\n\t"
      "movdqu 128(%0), %%xmm8\n\t"
      "movdqu 144(%0), %%xmm9\n\t"
      "movdqu 160(%0), %%xmm10\n\t"
      "movdqu 176(%0), %%xmm11\n\t"
      "movdqu 192(%0), %%xmm12\n\t"
      "movdqu 208(%0), %%xmm13\n\t"
      "movdqu 224(%0), %%xmm14\n\t"
      "movdqu 240(%0), %%xmm15\n\t"
      "movq 512(%0), %%rdi\n\t"
      "movq 520(%0), %%rsi\n\t"
      "movq 528(%0), %%rdx\n\t"
      "movl $234, %%eax\n\t"
      "syscall\n\t"
      "movdqu %%xmm0, 256(%0)\n\t"
      "movdqu %%xmm1, 272(%0)\n\t"
      "movdqu %%xmm2, 288(%0)\n\t"
      "movdqu %%xmm3, 304(%0)\n\t"
      "movdqu %%xmm4, 320(%0)\n\t"
      "movdqu %%xmm5, 336(%0)\n\t"
      "movdqu %%xmm6, 352(%0)\n\t"
      "movdqu %%xmm7, 368(%0)\n\t"
      "movdqu %%xmm8, 384(%0)\n\t"
      "movdqu %%xmm9, 400(%0)\n\t"
      "movdqu %%xmm10, 416(%0)\n\t"
      "movdqu %%xmm11, 432(%0)\n\t"
      "movdqu %%xmm12, 448(%0)\n\t"
      "movdqu %%xmm13, 464(%0)\n\t"
      "movdqu %%xmm14, 480(%0)\n\t"
      "movdqu %%xmm15, 496(%0)\n\t"
      "stmxcsr 540(%0)\n\t"
      "movl $0x1f80, 536(%0)\n\t"
      "ldmxcsr 536(%0)\n\t"
      :
      : "r"(b)
      : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
        "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

XmmBlock make_xmm_block(int sig) {
  XmmBlock b{};
  for (int r = 0; r < 16; r++)
    for (int i = 0; i < 16; i++) b.in[r][i] = static_cast<uint8_t>(r * 16 + i + 1);
  b.pid = static_cast<uint64_t>(getpid());
  b.tid = static_cast<uint64_t>(gettid());
  b.sig = static_cast<uint64_t>(sig);
  b.mxcsr_in = 0x1f80;
  return b;
}

// A handler that destroys the SSE state and records the MXCSR it started with.
uint32_t g_handler_mxcsr;
uint32_t g_frame_xmm0[4];
uint32_t g_frame_mxcsr;
void clobbering_handler(int, siginfo_t*, void* ucv) {
  uint32_t m;
  asm volatile("stmxcsr %0" : "=m"(m));
  g_handler_mxcsr = m;
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  if (uc->uc_mcontext.fpregs) {
    memcpy(g_frame_xmm0, uc->uc_mcontext.fpregs->_xmm[0].element, sizeof g_frame_xmm0);
    g_frame_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  }
  uint32_t wild = 0x7f80;  // every exception masked, round toward zero
  asm volatile(
      "pcmpeqd %%xmm0, %%xmm0\n\t"
      "pcmpeqd %%xmm1, %%xmm1\n\t"
      "pxor %%xmm2, %%xmm2\n\t"
      "pcmpeqd %%xmm3, %%xmm3\n\t"
      "pcmpeqd %%xmm7, %%xmm7\n\t"
      "pcmpeqd %%xmm8, %%xmm8\n\t"
      "pxor %%xmm15, %%xmm15\n\t"
      "ldmxcsr %0\n\t"
      :
      : "m"(wild)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm7", "xmm8", "xmm15");
  g_count = g_count + 1;
}

alignas(64) char g_altstack[256 * 1024];

// Nesting: a log of handler entries and exits.
char g_log[32];
int g_log_len;
int g_depth, g_max_depth;
uint64_t g_nested_uc_mask;
uint64_t g_pending_in_handler;
void log_char(char c) {
  if (g_log_len < 31) g_log[g_log_len++] = c;
  g_log[g_log_len] = 0;
}

void nest_usr2_handler(int, siginfo_t*, void* ucv) {
  log_char('B');
  g_nested_uc_mask = uc_mask_word(static_cast<ucontext_t*>(ucv));
  log_char('b');
}

void nest_usr1_handler(int, siginfo_t*, void*) {
  log_char('A');
  tgkill_self(SIGUSR2);
  log_char('a');
}

void self_resend_handler(int, siginfo_t*, void*) {
  g_depth++;
  if (g_depth > g_max_depth) g_max_depth = g_depth;
  log_char('A');
  int seen = g_count;
  g_count = seen + 1;
  if (seen == 0) {
    tgkill_self(SIGUSR1);
    g_pending_in_handler = pending_set();
  }
  log_char('a');
  g_depth--;
}

void no_core_dumps() {
  rlimit rl{0, 0};
  setrlimit(RLIMIT_CORE, &rl);
}

}  // namespace

extern "C" void sigframe_entry_probe_c(int sig, siginfo_t* info, void* uc) { editing_handler(sig, info, uc); }

// --- What the handler sees ------------------------------------------------------

TEST(Sigframe, HandlerSeesTheInterruptedRegisters) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  RegBlock b = make_reg_block(SIGUSR1);
  tgkill_with_registers(&b);
  ASSERT_EQ(g_count, 1);
  const greg_t* g = g_seen_uc.uc_mcontext.gregs;
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RBX]), b.in[0]);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R12]), b.in[1]);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R13]), b.in[2]);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R14]), b.in[3]);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_R15]), b.in[4]);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RIP]), b.label);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RSP]), b.rsp);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_RDI]), b.pid);
  // The interrupted syscall's result (tgkill succeeded).
  EXPECT_EQ(g[REG_RAX], 0);
  // And the registers are intact after the handler.
  for (int i = 0; i < 5; i++) EXPECT_EQ(b.out[i], b.in[i]);
  EXPECT_EQ(b.rax_out, 0u);
}

TEST(Sigframe, ChangedGeneralRegistersTakeEffect) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  g_edit = Edit::Registers;
  RegBlock b = make_reg_block(SIGUSR1);
  tgkill_with_registers(&b);
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(b.out[0], kNewRbx);
  EXPECT_EQ(b.out[1], kNewR12);
  EXPECT_EQ(b.out[2], b.in[2]);
  // rax is what the interrupted code sees as the syscall's result.
  EXPECT_EQ(b.rax_out, static_cast<uint64_t>(kNewRax));
}

TEST(Sigframe, AdvancingRipSkipsTheFaultingInstruction) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGILL, editing_handler));
  g_edit = Edit::SkipUd2;
  uint64_t reached = 0, at = 0;
  asm volatile(
      "movq $0, %0\n\t"
      "leaq 1f(%%rip), %1\n\t"
      "1: ud2\n\t"
      "movq $1, %0\n\t"
      : "=&r"(reached), "=&r"(at)
      :
      : "memory");
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(reached, 1u);
  EXPECT_EQ(static_cast<uint64_t>(g_seen_uc.uc_mcontext.gregs[REG_RIP]), at);
  EXPECT_EQ(g_seen_info.si_signo, SIGILL);
}

TEST(Sigframe, RedirectedRipResumesAtTheNewAddress) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGTRAP, editing_handler));
  g_edit = Edit::Redirect;
  uint64_t value = 0;
  asm volatile(
      "leaq 2f(%%rip), %%rax\n\t"
      "movq %%rax, %1\n\t"
      "movq $1, %0\n\t"
      "int3\n\t"
      "movq $2, %0\n\t"
      "2:\n\t"
      : "=&r"(value), "=m"(g_redirect_to)
      :
      : "rax", "memory");
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(value, 1u);
}

TEST(Sigframe, FaultHandlerCanFixTheAddressAndRetry) {
  SignalStateGuard guard;
  reset_records();
  static volatile uint64_t good = 0x600dda7a;
  g_fix_address = reinterpret_cast<uint64_t>(&good);
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGSEGV, editing_handler));
  g_edit = Edit::FixFault;
  uint64_t loaded = 0;
  asm volatile(
      "movl $0x10, %%eax\n\t"
      "movq (%%rax), %0\n\t"
      : "=r"(loaded)
      :
      : "rax", "memory");
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(loaded, 0x600dda7au);
  EXPECT_EQ(reinterpret_cast<uint64_t>(g_seen_info.si_addr), 0x10u);
}

TEST(Sigframe, FaultContextHasTrapnoErrAndCr2) {
  SignalStateGuard guard;
  reset_records();
  static volatile uint64_t good = 1;
  void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(page != MAP_FAILED);
  uint64_t target = reinterpret_cast<uint64_t>(page) + 64;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGSEGV, editing_handler));
  g_edit = Edit::FixFault;
  g_fix_address = reinterpret_cast<uint64_t>(&good);
  // A read of an unmapped address: not-present, read.
  asm volatile("movl $0x10, %%eax\n\tmovq (%%rax), %%rcx\n\t" : : : "rax", "rcx", "memory");
  ASSERT_EQ(g_count, 1);
  const greg_t* g = g_seen_uc.uc_mcontext.gregs;
  EXPECT_EQ(g[REG_TRAPNO], 14);
  EXPECT_EQ(g[REG_ERR] & 7, 4);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_CR2]), 0x10u);
  // A write to a read-only page: write, user.
  asm volatile("movq %0, %%rax\n\tmovq $5, (%%rax)\n\t" : : "r"(target) : "rax", "memory");
  munmap(page, 4096);
  ASSERT_EQ(g_count, 2);
  g = g_seen_uc.uc_mcontext.gregs;
  EXPECT_EQ(g[REG_TRAPNO], 14);
  EXPECT_EQ(g[REG_ERR] & 6, 6);
  EXPECT_EQ(static_cast<uint64_t>(g[REG_CR2]), target);
  EXPECT_EQ(good, 5u);
}

TEST(Sigframe, TrapnoForDivideUd2AndInt3) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGILL, editing_handler));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGTRAP, editing_handler));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGFPE, editing_handler));
  g_edit = Edit::SkipUd2;
  asm volatile("ud2" ::: "memory");
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_seen_uc.uc_mcontext.gregs[REG_TRAPNO], 6);
  // idivl %ecx is two bytes too.
  asm volatile(
      "xorl %%edx, %%edx\n\t"
      "movl $1, %%eax\n\t"
      "xorl %%ecx, %%ecx\n\t"
      "idivl %%ecx\n\t"
      :
      :
      : "rax", "rcx", "rdx", "memory", "cc");
  ASSERT_EQ(g_count, 2);
  EXPECT_EQ(g_seen_info.si_signo, SIGFPE);
  EXPECT_EQ(g_seen_uc.uc_mcontext.gregs[REG_TRAPNO], 0);
  g_edit = Edit::None;
  asm volatile("int3" ::: "memory");
  ASSERT_EQ(g_count, 3);
  EXPECT_EQ(g_seen_uc.uc_mcontext.gregs[REG_TRAPNO], 3);
}

TEST(Sigframe, DirectionFlagClearInHandlerAndRestoredAfter) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  uint64_t flags_after = 0;
  long pid = getpid(), tid = gettid();
  asm volatile(
      "std\n\t"
      "movl $234, %%eax\n\t"
      "syscall\n\t"
      "pushfq\n\t"
      "popq %0\n\t"
      "cld\n\t"
      : "=r"(flags_after)
      : "D"(pid), "S"(tid), "d"(static_cast<long>(SIGUSR1))
      : "rax", "rcx", "r11", "memory", "cc");
  ASSERT_EQ(g_count, 1);
  // DF is clear for the handler, set in the saved context, and set again after.
  EXPECT_FALSE(g_handler_flags & 0x400);
  EXPECT_TRUE(g_seen_uc.uc_mcontext.gregs[REG_EFL] & 0x400);
  EXPECT_TRUE(flags_after & 0x400);
}

TEST(Sigframe, UcSigmaskHoldsThePreHandlerMask) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler, 0, sigbit(SIGHUP)));
  uint64_t pre = sigbit(SIGPROF) | sigbit(SIGRTMIN + 5);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_SETMASK, &pre, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(uc_mask_word(&g_seen_uc), pre);
  EXPECT_EQ(g_mask_in_handler, pre | sigbit(SIGUSR1) | sigbit(SIGHUP));
  EXPECT_EQ(current_mask(), pre);
}

TEST(Sigframe, AddingToUcSigmaskTakesEffect) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  g_edit = Edit::MaskAddUsr2;
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(current_mask(), sigbit(SIGUSR2));
}

TEST(Sigframe, DroppingFromUcSigmaskUnblocksAndDeliversPending) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGHUP, editing_handler));
  uint64_t hup = sigbit(SIGHUP);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, &hup, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGHUP));
  ASSERT_EQ(g_count, 0);
  g_edit = Edit::MaskDropHup;
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  // The USR1 handler unblocked SIGHUP through its frame; SIGHUP then ran too.
  EXPECT_EQ(g_count, 2);
  EXPECT_EQ(g_seen_info.si_signo, SIGHUP);
  EXPECT_EQ(current_mask(), 0u);
}

TEST(Sigframe, SigreturnCannotBlockSigkillOrSigstop) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  g_edit = Edit::None;
  // Ask for everything through the frame's mask.
  struct Local {
    static void handler(int, siginfo_t*, void* ucv) {
      set_uc_mask_word(static_cast<ucontext_t*>(ucv), ~0ULL);
      g_count = g_count + 1;
    }
  };
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, Local::handler));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  uint64_t got = current_mask();
  reset_signal_state();
  EXPECT_EQ(got, ~(sigbit(SIGKILL) | sigbit(SIGSTOP)));
}

// --- FPU and SSE state ----------------------------------------------------------

TEST(SigframeFpu, XmmRegistersPreservedAcrossAClobberingHandler) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, clobbering_handler));
  XmmBlock b = make_xmm_block(SIGUSR1);
  tgkill_with_xmm(&b);
  ASSERT_EQ(g_count, 1);
  for (int r = 0; r < 16; r++) {
    if (memcmp(b.in[r], b.out[r], 16) != 0) CONF_FAIL_(false, "xmm%d changed across the handler", r);
  }
}

TEST(SigframeFpu, FrameHoldsTheInterruptedXmmState) {
  SignalStateGuard guard;
  reset_records();
  memset(g_frame_xmm0, 0, sizeof g_frame_xmm0);
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, clobbering_handler));
  XmmBlock b = make_xmm_block(SIGUSR1);
  tgkill_with_xmm(&b);
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(memcmp(g_frame_xmm0, b.in[0], 16), 0);
}

TEST(SigframeFpu, ChangedXmmInTheFrameTakesEffect) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  g_edit = Edit::Xmm3;
  XmmBlock b = make_xmm_block(SIGUSR1);
  tgkill_with_xmm(&b);
  ASSERT_EQ(g_count, 1);
  uint32_t want[4] = {0xabcd0000u, 0xabcd0001u, 0xabcd0002u, 0xabcd0003u};
  EXPECT_EQ(memcmp(b.out[3], want, 16), 0);
  EXPECT_EQ(memcmp(b.out[2], b.in[2], 16), 0);
  EXPECT_EQ(memcmp(b.out[4], b.in[4], 16), 0);
}

TEST(SigframeFpu, HandlerStartsWithDefaultMxcsrAndTheOldOneReturns) {
  SignalStateGuard guard;
  reset_records();
  g_handler_mxcsr = 0;
  g_frame_mxcsr = 0;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, clobbering_handler));
  XmmBlock b = make_xmm_block(SIGUSR1);
  b.mxcsr_in = 0x3f80;  // round down, all exceptions masked
  tgkill_with_xmm(&b);
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_frame_mxcsr, 0x3f80u);
  EXPECT_EQ(b.mxcsr_out & 0xffc0u, 0x3f80u);
  EXPECT_EQ(g_handler_mxcsr & 0xffc0u, 0x1f80u);
}

// --- Where the frame is -----------------------------------------------------------

TEST(SigframeStack, FrameSitsBelowTheRedZoneOfTheInterruptedStack) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  RegBlock b = make_reg_block(SIGUSR1);
  tgkill_with_registers(&b);
  ASSERT_EQ(g_count, 1);
  uint64_t limit = b.rsp - 128;
  // pretcode, then the ucontext, then the siginfo, all under the red zone.
  EXPECT_LT(g_seen_uc_addr, g_seen_info_addr);
  EXPECT_LE(g_seen_info_addr + sizeof(siginfo_t), limit);
  uint64_t fp = reinterpret_cast<uint64_t>(g_seen_uc.uc_mcontext.fpregs);
  ASSERT_NE(fp, 0u);
  EXPECT_EQ(fp % 64, 0u);
  EXPECT_LT(fp, limit);
  EXPECT_GT(fp, g_seen_uc_addr);
  // Not on an alternate stack.
  EXPECT_EQ(g_seen_uc.uc_stack.ss_flags, SS_DISABLE);
}

TEST(SigframeStack, FrameIsOnTheAlternateStack) {
  SignalStateGuard guard;
  reset_records();
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  ASSERT_SYSCALL_SUCCEEDS(sigaltstack(&ss, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler, SA_ONSTACK));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  uint64_t lo = reinterpret_cast<uint64_t>(g_altstack), hi = lo + sizeof g_altstack;
  EXPECT_TRUE(g_seen_uc_addr >= lo && g_seen_uc_addr < hi);
  EXPECT_TRUE(g_seen_info_addr >= lo && g_seen_info_addr + sizeof(siginfo_t) <= hi);
  uint64_t fp = reinterpret_cast<uint64_t>(g_seen_uc.uc_mcontext.fpregs);
  EXPECT_TRUE(fp >= lo && fp < hi);
  // Near the top: the frame (with the full XSAVE state) is under 32 KiB.
  EXPECT_LT(hi - g_seen_uc_addr, 32u * 1024);
  // uc_stack describes the alternate stack as it was set.
  EXPECT_TRUE(g_seen_uc.uc_stack.ss_sp == g_altstack);
  EXPECT_EQ(g_seen_uc.uc_stack.ss_size, sizeof g_altstack);
  EXPECT_EQ(g_seen_uc.uc_stack.ss_flags, 0);
  // The interrupted rsp was the thread's own stack.
  uint64_t rsp = static_cast<uint64_t>(g_seen_uc.uc_mcontext.gregs[REG_RSP]);
  EXPECT_FALSE(rsp >= lo && rsp < hi);
}

TEST(SigframeStack, EntryStackAlignmentAndReturnAddressIsTheRestorer) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, sigframe_entry_probe));
  KernelSigaction q{};
  ASSERT_SYSCALL_SUCCEEDS(raw_sigaction(SIGUSR1, nullptr, &q));
  ASSERT_TRUE(q.flags & SA_RESTORER);
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  // As if called: rsp + 8 is 16-byte aligned, and the "return address" is sa_restorer.
  EXPECT_EQ((g_entry_rsp + 8) % 16, 0u);
  EXPECT_EQ(g_entry_ret, reinterpret_cast<uint64_t>(q.restorer));
  // The ucontext follows the return address.
  EXPECT_EQ(g_seen_uc_addr, g_entry_rsp + 8);
}

TEST(SigframeStack, HandlerReturnsThroughItsOwnRestorer) {
  SignalStateGuard guard;
  reset_records();
  KernelSigaction act{};
  act.handler = reinterpret_cast<void*>(editing_handler);
  act.flags = SA_SIGINFO | SA_RESTORER;
  act.restorer = reinterpret_cast<void*>(sigframe_test_restorer);
  act.mask = sigbit(SIGHUP);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigaction(SIGUSR1, &act, nullptr));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  EXPECT_EQ(g_count, 1);
  EXPECT_EQ(g_restorer_calls, 1);
  EXPECT_EQ(g_mask_in_handler, sigbit(SIGUSR1) | sigbit(SIGHUP));
  EXPECT_EQ(current_mask(), 0u);
}

TEST(SigframeStack, BadFrameAtSigreturnKillsWithSigsegv) {
  SignalStateGuard guard;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    no_core_dumps();
    asm volatile(
        "movl $0x1000, %%esp\n\t"
        "movl $15, %%eax\n\t"
        "syscall\n\t"
        "hlt\n\t" ::
            : "memory");
    _exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

// --- Nesting --------------------------------------------------------------------

TEST(SigframeNesting, AnotherSignalNestsInsideAHandler) {
  SignalStateGuard guard;
  reset_records();
  g_log_len = 0;
  g_log[0] = 0;
  g_nested_uc_mask = 0;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, nest_usr1_handler));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR2, nest_usr2_handler));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  EXPECT_STREQ(g_log, "ABba");
  // The inner frame saved the outer handler's mask.
  EXPECT_EQ(g_nested_uc_mask, sigbit(SIGUSR1));
  EXPECT_EQ(current_mask(), 0u);
}

TEST(SigframeNesting, SameSignalWaitsUntilTheHandlerReturns) {
  SignalStateGuard guard;
  reset_records();
  g_log_len = 0;
  g_log[0] = 0;
  g_depth = g_max_depth = 0;
  g_pending_in_handler = 0;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, self_resend_handler));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  EXPECT_STREQ(g_log, "AaAa");
  EXPECT_EQ(g_max_depth, 1);
  EXPECT_TRUE(g_pending_in_handler & sigbit(SIGUSR1));
}

TEST(SigframeNesting, SameSignalNestsWithNodefer) {
  SignalStateGuard guard;
  reset_records();
  g_log_len = 0;
  g_log[0] = 0;
  g_depth = g_max_depth = 0;
  g_pending_in_handler = ~0ULL;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, self_resend_handler, SA_NODEFER));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  EXPECT_STREQ(g_log, "AAaa");
  EXPECT_EQ(g_max_depth, 2);
  EXPECT_FALSE(g_pending_in_handler & sigbit(SIGUSR1));
}

TEST(SigframeNesting, NestedFramesUnwindToTheRightContexts) {
  SignalStateGuard guard;
  reset_records();
  g_log_len = 0;
  g_log[0] = 0;
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, nest_usr1_handler));
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR2, nest_usr2_handler));
  RegBlock b = make_reg_block(SIGUSR1);
  tgkill_with_registers(&b);
  EXPECT_STREQ(g_log, "ABba");
  for (int i = 0; i < 5; i++) EXPECT_EQ(b.out[i], b.in[i]);
  EXPECT_EQ(b.rax_out, 0u);
}

// --- siginfo ----------------------------------------------------------------------

TEST(SigframeInfo, KillFillsSiPidAndSiUid) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  ASSERT_SYSCALL_SUCCEEDS(kill(getpid(), SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_seen_info.si_signo, SIGUSR1);
  EXPECT_EQ(g_seen_info.si_code, SI_USER);
  EXPECT_EQ(g_seen_info.si_pid, getpid());
  EXPECT_EQ(g_seen_info.si_uid, getuid());
  EXPECT_EQ(g_seen_info.si_errno, 0);
}

TEST(SigframeInfo, SignalFromAChildCarriesItsPid) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR2, editing_handler));
  uint64_t usr2 = sigbit(SIGUSR2);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, &usr2, nullptr));
  pid_t parent = getpid();
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) _exit(kill(parent, SIGUSR2) == 0 ? 0 : 1);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(wait_for(child, &status), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_UNBLOCK, &usr2, nullptr));
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_seen_info.si_code, SI_USER);
  EXPECT_EQ(g_seen_info.si_pid, child);
  EXPECT_EQ(g_seen_info.si_uid, getuid());
}

TEST(SigframeInfo, ChildExitSigchldInfo) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGCHLD, editing_handler));
  uint64_t chld = sigbit(SIGCHLD);
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_BLOCK, &chld, nullptr));
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) _exit(42);
  ASSERT_GT(child, 0);
  siginfo_t si{};
  ASSERT_SYSCALL_SUCCEEDS(waitid(P_PID, child, &si, WEXITED | WNOWAIT));
  ASSERT_SYSCALL_SUCCEEDS(raw_sigprocmask(SIG_UNBLOCK, &chld, nullptr));
  int status;
  waitpid(child, &status, 0);
  ASSERT_EQ(g_count, 1);
  EXPECT_EQ(g_seen_info.si_signo, SIGCHLD);
  EXPECT_EQ(g_seen_info.si_code, CLD_EXITED);
  EXPECT_EQ(g_seen_info.si_pid, child);
  EXPECT_EQ(g_seen_info.si_status, 42);
}

TEST(SigframeInfo, UcontextFlagsAndLink) {
  SignalStateGuard guard;
  reset_records();
  ASSERT_SYSCALL_SUCCEEDS(install_info(SIGUSR1, editing_handler));
  ASSERT_SYSCALL_SUCCEEDS(tgkill_self(SIGUSR1));
  ASSERT_EQ(g_count, 1);
  EXPECT_TRUE(g_seen_uc.uc_link == nullptr);
  // UC_FP_XSTATE: the frame's FPU area is in XSAVE format.
  EXPECT_TRUE(g_seen_uc.uc_flags & 0x1);
  EXPECT_EQ(g_seen_info.si_code, SI_TKILL);
}
