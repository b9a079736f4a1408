// Conformance: brk(2), through the raw syscall (glibc's brk() hides the
// kernel's "return the old break on failure" contract).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
uintptr_t raw_brk(uintptr_t want) { return static_cast<uintptr_t>(syscall(SYS_brk, want)); }
}  // namespace

TEST(Brk, ZeroReturnsTheCurrentBreak) {
  uintptr_t a = raw_brk(0);
  uintptr_t b = raw_brk(0);
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, reinterpret_cast<uintptr_t>(sbrk(0)));
}

TEST(Brk, GrowthIsUsableAndZeroed) {
  uintptr_t cur = raw_brk(0);
  uintptr_t want = cur + 8 * kPage;
  ASSERT_EQ(raw_brk(want), want);
  char* top = reinterpret_cast<char*>(want - 4 * kPage);
  bool zero = true;
  for (size_t i = 0; i < 4 * kPage; i++) zero &= top[i] == 0;
  EXPECT_TRUE(zero);
  memset(top, 'b', 4 * kPage);
  EXPECT_EQ(top[4 * kPage - 1], 'b');
  EXPECT_EQ(raw_brk(0), want);
  EXPECT_EQ(raw_brk(cur), cur);
}

TEST(Brk, ShrinkUnmapsTheTail) {
  uintptr_t cur = raw_brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  ASSERT_EQ(raw_brk(base + 4 * kPage), base + 4 * kPage);
  reinterpret_cast<char*>(base + 3 * kPage)[0] = 1;
  EXPECT_TRUE(page_mapped(reinterpret_cast<void*>(base + 3 * kPage)));
  ASSERT_EQ(raw_brk(base + kPage), base + kPage);
  EXPECT_FALSE(page_mapped(reinterpret_cast<void*>(base + 2 * kPage)));
  EXPECT_FALSE(page_mapped(reinterpret_cast<void*>(base + 3 * kPage)));
  EXPECT_EQ(raw_brk(cur), cur);
}

TEST(Brk, UnalignedBreakIsReturnedExactly) {
  uintptr_t cur = raw_brk(0);
  uintptr_t want = cur + kPage + 123;
  EXPECT_EQ(raw_brk(want), want);
  EXPECT_EQ(raw_brk(0), want);
  EXPECT_EQ(raw_brk(cur), cur);
}

TEST(Brk, BelowTheStartFailsWithTheCurrentBreak) {
  uintptr_t cur = raw_brk(0);
  EXPECT_EQ(raw_brk(4096), cur);
  EXPECT_EQ(raw_brk(0), cur);
}

TEST(Brk, RegrowAfterShrinkIsZeroed) {
  uintptr_t cur = raw_brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  ASSERT_EQ(raw_brk(base + 2 * kPage), base + 2 * kPage);
  char* page = reinterpret_cast<char*>(base + kPage);
  page[0] = 'x';
  ASSERT_EQ(raw_brk(base), base);
  ASSERT_EQ(raw_brk(base + 2 * kPage), base + 2 * kPage);
  EXPECT_EQ(page[0], 0);
  EXPECT_EQ(raw_brk(cur), cur);
}

TEST(Brk, HeapIsNamedInMaps) {
  uintptr_t cur = raw_brk(0);
  uintptr_t want = cur + 4 * kPage;
  ASSERT_EQ(raw_brk(want), want);
  MapsEntry e;
  ASSERT_TRUE(find_maps_entry(want - 1, &e));
  EXPECT_STREQ(e.name, "[heap]");
  EXPECT_STREQ(e.perms, "rw-p");
  EXPECT_EQ(raw_brk(cur), cur);
}

TEST(Brk, GrowthIntoAMappingFails) {
  uintptr_t cur = raw_brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  void* blocker = mmap(reinterpret_cast<void*>(base + 2 * kPage), kPage, PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  SKIP_IF(blocker == MAP_FAILED, "the page above the break is in use");
  EXPECT_EQ(raw_brk(base + 4 * kPage), cur);
  EXPECT_EQ(raw_brk(0), cur);
  munmap(blocker, kPage);
}

TEST(Brk, SbrkReturnsThePreviousBreak) {
  void* before = sbrk(0);
  void* r = sbrk(2 * kPage);
  ASSERT_TRUE(r != reinterpret_cast<void*>(-1));
  EXPECT_TRUE(r == before);
  EXPECT_TRUE(sbrk(0) == static_cast<char*>(before) + 2 * kPage);
  static_cast<char*>(before)[2 * kPage - 1] = 's';
  EXPECT_TRUE(sbrk(-static_cast<intptr_t>(2 * kPage)) != reinterpret_cast<void*>(-1));
  EXPECT_TRUE(sbrk(0) == before);
}
