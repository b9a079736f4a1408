// AddressSpace: splitting, protection, free-range search and /proc/PID/maps text.

#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "sentry/mm/address_space.h"

using namespace moat;
using namespace moat::mm;

namespace {

Mapping anon(uint64_t start, uint64_t end, int prot = PROT_READ | PROT_WRITE) {
  Mapping m;
  m.start = start;
  m.end = end;
  m.prot = prot;
  m.flags = MAP_PRIVATE | MAP_ANONYMOUS;
  return m;
}

Mapping file(uint64_t start, uint64_t end, uint64_t offset, std::string name) {
  Mapping m;
  m.start = start;
  m.end = end;
  m.prot = PROT_READ;
  m.flags = MAP_PRIVATE;
  m.offset = offset;
  m.name = std::move(name);
  return m;
}

std::vector<std::pair<uint64_t, uint64_t>> ranges(const AddressSpace& as) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const Mapping& m : as.mappings()) out.emplace_back(m.start, m.end);
  return out;
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

}  // namespace

TEST_CASE("insert replaces overlapping mappings, splitting at the edges", "[address_space]") {
  AddressSpace as;
  as.insert(file(0x10000, 0x20000, 0x3000, "/lib/a"));
  as.insert(anon(0x14000, 0x16000, PROT_NONE));
  REQUIRE(ranges(as) == Ranges{{0x10000, 0x14000}, {0x14000, 0x16000}, {0x16000, 0x20000}});
  auto maps = as.mappings();
  CHECK(maps[0].offset == 0x3000);
  CHECK(maps[0].name == "/lib/a");
  CHECK(maps[1].prot == PROT_NONE);
  CHECK(maps[1].name.empty());
  // The right piece of a file mapping keeps mapping the same file bytes.
  CHECK(maps[2].offset == 0x3000 + 0x6000);
  CHECK(maps[2].name == "/lib/a");

  // A mapping covering several replaces them all.
  as.insert(anon(0x12000, 0x18000));
  REQUIRE(ranges(as) == Ranges{{0x10000, 0x12000}, {0x12000, 0x18000}, {0x16000 + 0x2000, 0x20000}});
  CHECK(as.mappings()[2].offset == 0x3000 + 0x8000);

  // An empty range inserts nothing.
  as.insert(anon(0x30000, 0x30000));
  CHECK(as.mappings().size() == 3);
}

TEST_CASE("remove splits and leaves holes", "[address_space]") {
  AddressSpace as;
  as.insert(anon(0x10000, 0x20000));
  as.insert(anon(0x30000, 0x40000));
  as.remove(0x11000, 0x12000);
  REQUIRE(ranges(as) == Ranges{{0x10000, 0x11000}, {0x12000, 0x20000}, {0x30000, 0x40000}});
  // Anonymous mappings report offset 0 after a split, as /proc/PID/maps does.
  CHECK(as.mappings()[1].offset == 0);
  as.remove(0x1f000, 0x31000);
  REQUIRE(ranges(as) == Ranges{{0x10000, 0x11000}, {0x12000, 0x1f000}, {0x31000, 0x40000}});
  as.remove(0x0, 0x100000);
  CHECK(as.mappings().empty());
  // Removing nothing is fine.
  as.remove(0x5000, 0x6000);
  CHECK(as.mappings().empty());
}

TEST_CASE("protect splits, and fails with ENOMEM on a hole without changing anything", "[address_space]") {
  AddressSpace as;
  as.insert(anon(0x10000, 0x20000));
  as.insert(anon(0x20000, 0x30000, PROT_READ));
  REQUIRE(!as.protect(0x1f000, 0x21000, PROT_EXEC).is_error());
  REQUIRE(ranges(as) ==
          Ranges{{0x10000, 0x1f000}, {0x1f000, 0x20000}, {0x20000, 0x21000}, {0x21000, 0x30000}});
  auto maps = as.mappings();
  CHECK(maps[0].prot == (PROT_READ | PROT_WRITE));
  CHECK(maps[1].prot == PROT_EXEC);
  CHECK(maps[2].prot == PROT_EXEC);
  CHECK(maps[3].prot == PROT_READ);

  as.remove(0x25000, 0x26000);
  auto before = as.format_maps();
  auto r = as.protect(0x24000, 0x27000, PROT_NONE);
  REQUIRE(r.is_error());
  CHECK(r.error() == Errno::NOMEM);
  CHECK(as.format_maps() == before);
  // Entirely unmapped range.
  CHECK(as.protect(0x100000, 0x101000, PROT_READ).error() == Errno::NOMEM);
}

TEST_CASE("overlaps, fully_mapped, find and reserved", "[address_space]") {
  AddressSpace as;
  as.insert(anon(0x10000, 0x20000));
  as.insert(anon(0x20000, 0x30000));
  Mapping r = anon(0x40000, 0x50000, PROT_NONE);
  r.reserved = true;
  as.insert(r);

  CHECK(as.overlaps(0x1f000, 0x21000));
  CHECK(as.overlaps(0x0, 0x10001));
  CHECK_FALSE(as.overlaps(0x0, 0x10000));
  CHECK_FALSE(as.overlaps(0x30000, 0x40000));
  CHECK(as.fully_mapped(0x10000, 0x30000));
  CHECK(as.fully_mapped(0x15000, 0x25000));
  CHECK_FALSE(as.fully_mapped(0x15000, 0x31000));
  CHECK_FALSE(as.fully_mapped(0xf000, 0x11000));
  CHECK(as.overlaps_reserved(0x3f000, 0x41000));
  CHECK(as.overlaps_reserved(0x4f000, 0x60000));
  CHECK_FALSE(as.overlaps_reserved(0x10000, 0x40000));
  REQUIRE(as.find(0x1ffff) != nullptr);
  CHECK(as.find(0x1ffff)->start == 0x10000);
  CHECK(as.find(0x20000)->start == 0x20000);
  CHECK(as.find(0x30000) == nullptr);
  CHECK(as.find(0x0) == nullptr);
}

TEST_CASE("find_free searches down from mmap_base", "[address_space]") {
  AddressSpace as;
  as.mmap_base = 0x100000;
  // Empty: just below the base.
  CHECK(as.find_free(0x3000).value() == 0x100000 - 0x3000);
  // Lengths round up to pages.
  CHECK(as.find_free(1).value() == 0x100000 - 0x1000);

  as.insert(anon(0xf0000, 0x100000));
  as.insert(anon(0xe0000, 0xee000));  // leaves a 2-page gap [0xee000, 0xf0000)
  CHECK(as.find_free(0x2000).value() == 0xee000);
  CHECK(as.find_free(0x3000).value() == 0xe0000 - 0x3000);

  // Reserved mappings are never handed out either.
  Mapping res = anon(0xd0000, 0xe0000, PROT_NONE);
  res.reserved = true;
  as.insert(res);
  CHECK(as.find_free(0x3000).value() == 0xd0000 - 0x3000);

  // Mappings above the base are ignored by the search.
  as.insert(anon(0x200000, 0x300000));
  CHECK(as.find_free(0x1000).value() == 0xee000 + 0x1000);

  // Nothing below kMinAddr; too big fails.
  CHECK(as.find_free(0xd0000 - kMinAddr).value() == kMinAddr);
  CHECK(as.find_free(0xd0000 - kMinAddr + 0x1000).error() == Errno::NOMEM);
  CHECK(as.find_free(0).error() == Errno::NOMEM);
  CHECK(as.find_free(~0ULL).error() == Errno::NOMEM);
}

TEST_CASE("find_free honours a free hint", "[address_space]") {
  AddressSpace as;
  as.insert(anon(0x400000, 0x500000));
  CHECK(as.find_free(0x2000, 0x600000).value() == 0x600000);
  // Unaligned hints round up.
  CHECK(as.find_free(0x2000, 0x600001).value() == 0x601000);
  // Overlapping, below kMinAddr, or beyond the user range: ignored.
  CHECK(as.find_free(0x2000, 0x4ff000).value() == as.mmap_base - 0x2000);
  CHECK(as.find_free(0x2000, 0x1000).value() == as.mmap_base - 0x2000);
  CHECK(as.find_free(0x2000, kUserTop - 0x1000).value() == as.mmap_base - 0x2000);
  // A hint ending exactly at the top of the user range is fine.
  CHECK(as.find_free(0x2000, kUserTop - 0x2000).value() == kUserTop - 0x2000);
  // A hint above the mmap base is fine too.
  CHECK(as.find_free(0x1000, 0x7f0000100000).value() == 0x7f0000100000);
}

TEST_CASE("find_free when the mmap base lies inside a mapping", "[address_space]") {
  AddressSpace as;
  as.mmap_base = 0x100000;
  as.insert(anon(0xf0000, 0x110000));
  CHECK(as.find_free(0x1000).value() == 0xef000);
}

TEST_CASE("format_maps matches /proc/PID/maps byte for byte", "[address_space]") {
  AddressSpace as;
  Mapping a = file(0x55891ad0d000, 0x55891ad0f000, 0, "/usr/bin/head");
  a.dev = makedev(0xfe, 0x00);
  a.inode = 247498;
  as.insert(a);
  Mapping b = file(0x55891ad0f000, 0x55891ad15000, 0x2000, "/usr/bin/head");
  b.prot = PROT_READ | PROT_EXEC;
  b.dev = makedev(0xfe, 0x00);
  b.inode = 247498;
  as.insert(b);
  as.insert(anon(0x562342c00000, 0x562342c10000));
  Mapping heap = anon(0x56235f67a000, 0x56235f6bc000);
  heap.name = "[heap]";
  as.insert(heap);
  Mapping shm = file(0x7fb3e51f6000, 0x7fb3e51f9000, 0, "/dev/shm/x (deleted)");
  shm.flags = MAP_SHARED;
  shm.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
  shm.dev = makedev(0x103, 0x1a);
  shm.inode = 7;
  as.insert(shm);
  Mapping low = anon(0x10000, 0x11000, PROT_NONE);
  as.insert(low);

  // Taken from a real /proc/self/maps (the shared line built by hand with the
  // same rules): 8+ hex digits, the name at column 73, a trailing space when
  // there is no name.
  const std::string expected =
      "00010000-00011000 ---p 00000000 00:00 0 \n"
      "55891ad0d000-55891ad0f000 r--p 00000000 fe:00 247498                     /usr/bin/head\n"
      "55891ad0f000-55891ad15000 r-xp 00002000 fe:00 247498                     /usr/bin/head\n"
      "562342c00000-562342c10000 rw-p 00000000 00:00 0 \n"
      "56235f67a000-56235f6bc000 rw-p 00000000 00:00 0                          [heap]\n"
      "7fb3e51f6000-7fb3e51f9000 rwxs 00000000 103:1a 7                         /dev/shm/x (deleted)\n";
  CHECK(as.format_maps() == expected);
  CHECK(AddressSpace().format_maps().empty());
}

TEST_CASE("format_maps lines have the kernel's shape for a live process", "[address_space]") {
  // Every line of our own maps, reparsed into a Mapping and formatted again,
  // comes out identical.
  FILE* f = fopen("/proc/self/maps", "r");
  REQUIRE(f != nullptr);
  char line[512];
  std::string real;
  AddressSpace as;
  while (fgets(line, sizeof(line), f)) {
    unsigned long start, end, offset, inode;
    unsigned maj, min;
    char perms[5];
    int name_at = 0;
    REQUIRE(sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &start, &end, perms, &offset, &maj, &min, &inode,
                   &name_at) == 7);
    Mapping m;
    m.start = start;
    m.end = end;
    m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
             (perms[2] == 'x' ? PROT_EXEC : 0);
    m.flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
    m.offset = offset;
    m.dev = makedev(maj, min);
    m.inode = inode;
    std::string name = line + name_at;
    if (!name.empty() && name.back() == '\n') name.pop_back();
    m.name = name;
    // [vsyscall] sits above the user range but the formatting does not care.
    as.insert(m);
    real += line;
  }
  fclose(f);
  CHECK(as.format_maps() == real);
}
