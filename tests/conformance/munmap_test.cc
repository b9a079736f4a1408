// Conformance: munmap(2).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "mm_util.h"

using namespace conformance;

namespace {
char* map_rw(size_t pages) {
  void* p = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}
}  // namespace

TEST(Munmap, UnalignedAddressIsEinval) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(munmap(p + 1, kPage), EINVAL);
  EXPECT_TRUE(page_mapped(p));
  munmap(p, 2 * kPage);
}

TEST(Munmap, ZeroLengthIsEinval) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  EXPECT_SYSCALL_FAILS_WITH(munmap(p, 0), EINVAL);
  munmap(p, kPage);
}

TEST(Munmap, RangePastTopOfAddressSpaceIsEinval) {
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_munmap, 0x7ffffffff000ULL, 0x100000000ULL), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_munmap, 0x10000ULL, ~0ULL - 0x1000), EINVAL);
}

TEST(Munmap, UnmapsWholeMapping) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 2 * kPage));
  EXPECT_FALSE(page_mapped(p));
  EXPECT_FALSE(page_mapped(page_at(p, 1)));
  EXPECT_FALSE(find_maps_entry(reinterpret_cast<uintptr_t>(p), nullptr));
}

TEST(Munmap, MiddleOfMappingLeavesBothEndsUsable) {
  char* p = map_rw(3);
  ASSERT_TRUE(p);
  memset(p, 'm', 3 * kPage);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  EXPECT_TRUE(page_mapped(p));
  EXPECT_FALSE(page_mapped(page_at(p, 1)));
  EXPECT_TRUE(page_mapped(page_at(p, 2)));
  EXPECT_EQ(p[kPage - 1], 'm');
  EXPECT_EQ(page_at(p, 2)[0], 'm');
  p[0] = 'n';
  page_at(p, 2)[kPage - 1] = 'n';
  EXPECT_EQ(p[0], 'n');
  MapsEntry left, right;
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(p), &left));
  ASSERT_TRUE(find_maps_entry(reinterpret_cast<uintptr_t>(page_at(p, 2)), &right));
  EXPECT_EQ(left.end, reinterpret_cast<uintptr_t>(page_at(p, 1)));
  EXPECT_EQ(right.start, reinterpret_cast<uintptr_t>(page_at(p, 2)));
  munmap(p, 3 * kPage);
}

TEST(Munmap, UnmappedRangeSucceeds) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 2 * kPage));
  EXPECT_SYSCALL_SUCCEEDS_WITH(munmap(p, 2 * kPage), 0);
}

TEST(Munmap, LengthIsRoundedUpToAPage) {
  char* p = map_rw(2);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 1));
  EXPECT_FALSE(page_mapped(p));
  EXPECT_TRUE(page_mapped(page_at(p, 1)));
  munmap(p, 2 * kPage);
}

TEST(Munmap, RangeSpanningTwoMappingsAndAHole) {
  char* p = map_rw(3);
  ASSERT_TRUE(p);
  ASSERT_SYSCALL_SUCCEEDS(munmap(page_at(p, 1), kPage));
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, 3 * kPage));
  for (int i = 0; i < 3; i++) EXPECT_FALSE(page_mapped(page_at(p, i)));
}

TEST(Munmap, FreedRangeCanBeMappedAgain) {
  char* p = map_rw(1);
  ASSERT_TRUE(p);
  p[0] = 'o';
  ASSERT_SYSCALL_SUCCEEDS(munmap(p, kPage));
  void* q = mmap(p, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_TRUE(q == p);
  EXPECT_EQ(p[0], 0);
  munmap(q, kPage);
}
