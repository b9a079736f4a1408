// Conformance: arch_prctl(2).
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

namespace {
long raw_arch_prctl(int code, uint64_t addr) { return syscall(SYS_arch_prctl, code, addr); }
}  // namespace

TEST(ArchPrctl, GetFsIsTheThreadPointer) {
  uint64_t fs = 0;
  ASSERT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_GET_FS, reinterpret_cast<uint64_t>(&fs)));
  EXPECT_EQ(fs, reinterpret_cast<uint64_t>(__builtin_thread_pointer()));
}

TEST(ArchPrctl, SetGsThenGetRoundTrips) {
  uint64_t old = 1;
  ASSERT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_GET_GS, reinterpret_cast<uint64_t>(&old)));
  static char area[64];
  ASSERT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_SET_GS, reinterpret_cast<uint64_t>(area)));
  uint64_t got = 0;
  EXPECT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_GET_GS, reinterpret_cast<uint64_t>(&got)));
  EXPECT_EQ(got, reinterpret_cast<uint64_t>(area));
  ASSERT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_SET_GS, old));
  EXPECT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_GET_GS, reinterpret_cast<uint64_t>(&got)));
  EXPECT_EQ(got, old);
}

TEST(ArchPrctl, SetFsToTheSameValueKeepsTls) {
  uint64_t fs = reinterpret_cast<uint64_t>(__builtin_thread_pointer());
  ASSERT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_SET_FS, fs));
  uint64_t got = 0;
  EXPECT_SYSCALL_SUCCEEDS(raw_arch_prctl(ARCH_GET_FS, reinterpret_cast<uint64_t>(&got)));
  EXPECT_EQ(got, fs);
  EXPECT_EQ(errno, 0);  // errno is thread-local: TLS still works.
}

TEST(ArchPrctl, NonCanonicalBaseIsEperm) {
  EXPECT_SYSCALL_FAILS_WITH(raw_arch_prctl(ARCH_SET_FS, 0x800000000000ULL), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(raw_arch_prctl(ARCH_SET_GS, 0xffff800000000000ULL), EPERM);
}

TEST(ArchPrctl, UnknownCodeIsEinval) { EXPECT_SYSCALL_FAILS_WITH(raw_arch_prctl(0x9999, 0), EINVAL); }

TEST(ArchPrctl, GetFsBadPointerIsEfault) {
  EXPECT_SYSCALL_FAILS_WITH(raw_arch_prctl(ARCH_GET_FS, 8), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_arch_prctl(ARCH_GET_GS, 8), EFAULT);
}

TEST(ArchPrctl, CpuidIsEnabled) { EXPECT_SYSCALL_SUCCEEDS_WITH(raw_arch_prctl(ARCH_GET_CPUID, 0), 1); }
