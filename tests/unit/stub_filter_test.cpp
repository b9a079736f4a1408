// The stub's seccomp filter, run through a small classic-BPF interpreter.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "stub/filter.h"
#include "stub/layout.h"

namespace {

uint32_t run_filter(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0;
  unsigned char bytes[sizeof(seccomp_data)];
  memcpy(bytes, &data, sizeof(data));
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const sock_filter& in = prog[pc];
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        REQUIRE(in.k + 4 <= sizeof(bytes));
        memcpy(&a, bytes + in.k, 4);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += (a == in.k) ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += (a >= in.k) ? in.jt : in.jf; break;
      case BPF_RET | BPF_K: return in.k;
      default: FAIL("unexpected BPF instruction");
    }
  }
  FAIL("filter fell off its end");
  return 0;
}

seccomp_data call(int nr, uint64_t ip, uint32_t arch = AUDIT_ARCH_X86_64) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  d.instruction_pointer = ip;
  return d;
}

}  // namespace

TEST_CASE("stub filter traps every syscall outside the stub code", "[stub]") {
  const uint64_t start = MOAT_STUB_BASE, end = MOAT_STUB_BASE + 0x800;
  auto prog = moat::stub::build_stub_filter(start, end);
  REQUIRE(prog.size() <= MOAT_MAX_FILTER);
  for (uint64_t ip : std::initializer_list<uint64_t>{0x401000, start - 1, end, end + 0x1000, 0x7ffff7fc1000, start + (1ULL << 32)}) {
    CHECK(run_filter(prog, call(SYS_getpid, ip)) == SECCOMP_RET_TRAP);
    CHECK(run_filter(prog, call(SYS_mmap, ip)) == SECCOMP_RET_TRAP);
    CHECK(run_filter(prog, call(SYS_execve, ip)) == SECCOMP_RET_TRAP);
  }
}

TEST_CASE("stub filter allows only the stub's list from inside its code", "[stub]") {
  const uint64_t start = MOAT_STUB_BASE, end = MOAT_STUB_BASE + 0x800;
  auto prog = moat::stub::build_stub_filter(start, end);
  for (int nr : moat::stub::stub_allowed_syscalls()) {
    CHECK(run_filter(prog, call(nr, start)) == SECCOMP_RET_ALLOW);
    CHECK(run_filter(prog, call(nr, end - 1)) == SECCOMP_RET_ALLOW);
  }
  for (int nr : {SYS_execve, SYS_open, SYS_openat, SYS_socket, SYS_kill, SYS_ptrace, SYS_clone3, SYS_getpid})
    CHECK(run_filter(prog, call(nr, start + 0x10)) == SECCOMP_RET_KILL_PROCESS);
}

TEST_CASE("stub filter kills other architectures", "[stub]") {
  auto prog = moat::stub::build_stub_filter(MOAT_STUB_BASE, MOAT_STUB_BASE + 0x800);
  CHECK(run_filter(prog, call(20, 0x401000, AUDIT_ARCH_I386)) == SECCOMP_RET_KILL_PROCESS);
  CHECK(run_filter(prog, call(SYS_mmap, MOAT_STUB_BASE, AUDIT_ARCH_I386)) == SECCOMP_RET_KILL_PROCESS);
}

TEST_CASE("shared layout fits its regions", "[stub]") {
  STATIC_REQUIRE(sizeof(moat_header) <= MOAT_THREAD_REGION);
  STATIC_REQUIRE(sizeof(moat_slot) <= 4096);
  STATIC_REQUIRE(MOAT_RING_SIZE > MOAT_MAX_THREADS);
  // Thread regions are aligned to their size: the handler finds its slot from rsp.
  for (uint32_t i = 0; i < MOAT_MAX_THREADS; i++) CHECK(moat_thread_region(i) % MOAT_THREAD_REGION == 0);
  CHECK(moat_thread_region(MOAT_MAX_THREADS - 1) + MOAT_THREAD_REGION <= MOAT_RESERVED_END);
  // The stub code range is compared in 32-bit halves: it must not cross 4 GiB.
  CHECK((MOAT_STUB_BASE >> 32) == ((MOAT_STUB_BASE + MOAT_STUB_CODE_SIZE - 1) >> 32));
}
