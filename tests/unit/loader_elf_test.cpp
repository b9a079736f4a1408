// ELF loading: real binaries, hand-built images, and hostile headers.

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "sentry/loader/elf.h"
#include "sentry/mm/address_space.h"
#include "stub/layout.h"

using namespace moat;
using namespace moat::loader;

namespace {

constexpr uint64_t kReservedBase = 0x7e0000000000ULL;
constexpr uint64_t kPieBase = 0x555555554000ULL;

std::vector<std::byte> read_whole_file(const char* path) {
  std::vector<std::byte> out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  std::byte buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  close(fd);
  return out;
}

ErrorOr<ElfImage> load_bytes(std::span<const std::byte> bytes, uint64_t pie_base = kPieBase,
                             ElfRole role = ElfRole::Executable) {
  MemoryElfSource src(bytes);
  return load_elf(src, pie_base, role);
}

// A source that hands out at most one byte per pread, to exercise short reads.
struct TrickleSource final : ElfSource {
  std::span<const std::byte> bytes;
  ErrorOr<size_t> pread(std::span<std::byte> buf, uint64_t off) override {
    if (off >= bytes.size() || buf.empty()) return size_t{0};
    buf[0] = bytes[off];
    return size_t{1};
  }
  uint64_t size() const override { return bytes.size(); }
};

struct FailingSource final : ElfSource {
  ErrorOr<size_t> pread(std::span<std::byte>, uint64_t) override { return Errno::IO; }
  uint64_t size() const override { return 4096; }
};

// Builds ELF images in memory: header at 0, program headers at 64.
struct ElfBuilder {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  std::vector<std::pair<uint64_t, std::string>> blobs;  // raw bytes at offsets
  uint64_t file_size = 0x3000;

  explicit ElfBuilder(uint16_t type) {
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
  }
  Elf64_Phdr& add(uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
                  uint64_t memsz, uint64_t align = 0x1000) {
    Elf64_Phdr p{};
    p.p_type = type;
    p.p_flags = flags;
    p.p_offset = offset;
    p.p_vaddr = p.p_paddr = vaddr;
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_align = align;
    ph.push_back(p);
    return ph.back();
  }
  std::vector<std::byte> bytes() {
    if (eh.e_phnum == 0) eh.e_phnum = static_cast<uint16_t>(ph.size());
    std::vector<std::byte> out(file_size);
    std::memcpy(out.data(), &eh, std::min<size_t>(sizeof(eh), out.size()));
    size_t phbytes = ph.size() * sizeof(Elf64_Phdr);
    if (phbytes > 0 && eh.e_phoff <= out.size() && phbytes <= out.size() - eh.e_phoff) std::memcpy(out.data() + eh.e_phoff, ph.data(), phbytes);
    for (auto& [off, s] : blobs) std::memcpy(out.data() + off, s.data(), s.size());
    return out;
  }
};

// A static non-PIE executable: text, then data + bss sharing no page.
ElfBuilder static_exec() {
  ElfBuilder b(ET_EXEC);
  b.eh.e_entry = 0x400100;
  b.add(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1234, 0x1234);
  b.add(PT_LOAD, PF_R | PF_W, 0x2234, 0x402234, 0x100, 0x3000);
  b.add(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
  return b;
}

// A PIE with an interpreter and PT_PHDR.
ElfBuilder pie_exec() {
  ElfBuilder b(ET_DYN);
  b.eh.e_entry = 0x1100;
  b.add(PT_PHDR, PF_R, 0x40, 0x40, 4 * sizeof(Elf64_Phdr), 4 * sizeof(Elf64_Phdr), 8);
  b.add(PT_INTERP, PF_R, 0x200, 0x200, 11, 11, 1);
  b.add(PT_LOAD, PF_R | PF_X, 0, 0, 0x1800, 0x1800);
  b.add(PT_LOAD, PF_R | PF_W, 0x1800, 0x2800, 0x200, 0x400);
  b.blobs.emplace_back(0x200, std::string("/lib/ld.so\0", 11));
  return b;
}

ErrorOr<ElfImage> load_builder(ElfBuilder b, uint64_t pie_base = kPieBase, ElfRole role = ElfRole::Executable) {
  auto bytes = b.bytes();
  return load_bytes(bytes, pie_base, role);
}

Errno error_of(const ErrorOr<ElfImage>& r) { return r.is_error() ? r.error() : Errno::Ok; }

// What must hold of any image load_elf accepts, whatever the input.
void check_invariants(const ElfImage& img, uint64_t file_size) {
  REQUIRE(!img.segments.empty());
  uint64_t prev_start = 0;
  for (const ElfSegment& s : img.segments) {
    REQUIRE(s.map_start % mm::kPageSize == 0);
    REQUIRE(s.map_end_file % mm::kPageSize == 0);
    REQUIRE(s.anon_end % mm::kPageSize == 0);
    REQUIRE(s.file_offset % mm::kPageSize == 0);
    REQUIRE(s.map_start >= prev_start);
    REQUIRE(s.map_start <= s.map_end_file);
    REQUIRE(s.map_end_file <= s.anon_end);
    REQUIRE(s.map_start < s.anon_end);
    REQUIRE(s.anon_end <= mm::kUserTop);
    REQUIRE((s.anon_end <= kReservedBase || s.map_start >= MOAT_RESERVED_END));
    REQUIRE(s.zero_from >= s.map_start);
    REQUIRE(s.zero_from <= s.anon_end);
    REQUIRE(s.file_offset <= file_size);
    REQUIRE(s.map_end_file - s.map_start <= mm::page_up(file_size) - s.file_offset);
    prev_start = s.map_start;
  }
  REQUIRE(img.max_end <= mm::kUserTop);
  REQUIRE(img.entry < mm::kUserTop);
  REQUIRE((img.entry < kReservedBase || img.entry >= MOAT_RESERVED_END));
  REQUIRE(img.span < (64ULL << 30));
  if (img.interp) REQUIRE(img.interp->size() < PATH_MAX);
}

}  // namespace

TEST_CASE("static ET_EXEC image", "[loader][elf]") {
  auto r = load_builder(static_exec());
  REQUIRE(!r.is_error());
  const ElfImage& img = r.value();
  CHECK_FALSE(img.is_dyn);
  CHECK(img.bias == 0);
  CHECK(img.entry == 0x400100);
  CHECK_FALSE(img.interp.has_value());
  CHECK(img.phdr == 0x400040);  // no PT_PHDR: found through the first PT_LOAD
  CHECK(img.phnum == 3);
  CHECK(img.phent == sizeof(Elf64_Phdr));
  CHECK_FALSE(img.exec_stack);
  REQUIRE(img.segments.size() == 2);
  const ElfSegment& text = img.segments[0];
  CHECK(text.map_start == 0x400000);
  CHECK(text.map_end_file == 0x402000);
  CHECK(text.file_offset == 0);
  CHECK(text.zero_from == 0x401234);
  CHECK(text.anon_end == 0x402000);
  CHECK(text.prot == (PROT_READ | PROT_EXEC));
  const ElfSegment& data = img.segments[1];
  CHECK(data.map_start == 0x402000);
  CHECK(data.map_end_file == 0x403000);
  CHECK(data.file_offset == 0x2000);
  CHECK(data.zero_from == 0x402334);
  CHECK(data.anon_end == 0x406000);
  CHECK(data.prot == (PROT_READ | PROT_WRITE));
  CHECK(img.max_end == 0x406000);
  CHECK(img.span == 0x6000);
  // pie_base is ignored for ET_EXEC.
  CHECK(load_builder(static_exec(), 0x1234).value().bias == 0);
}

TEST_CASE("PIE image with interpreter and PT_PHDR", "[loader][elf]") {
  auto r = load_builder(pie_exec());
  REQUIRE(!r.is_error());
  const ElfImage& img = r.value();
  CHECK(img.is_dyn);
  CHECK(img.bias == kPieBase);
  CHECK(img.entry == kPieBase + 0x1100);
  CHECK(img.phdr == kPieBase + 0x40);
  REQUIRE(img.interp.has_value());
  CHECK(*img.interp == "/lib/ld.so");
  REQUIRE(img.segments.size() == 2);
  CHECK(img.segments[0].map_start == kPieBase);
  CHECK(img.segments[1].map_start == kPieBase + 0x2000);
  CHECK(img.segments[1].file_offset == 0x1000);
  CHECK(img.segments[1].zero_from == kPieBase + 0x2a00);
  CHECK(img.max_end == kPieBase + 0x3000);

  // Loaded as an interpreter, PT_INTERP is not looked at.
  auto as_interp = load_builder(pie_exec(), 0x7f0000000000ULL, ElfRole::Interpreter);
  REQUIRE(!as_interp.is_error());
  CHECK_FALSE(as_interp.value().interp.has_value());
  CHECK(as_interp.value().bias == 0x7f0000000000ULL);
}

TEST_CASE("ET_DYN with a nonzero lowest vaddr is placed by its lowest page", "[loader][elf]") {
  ElfBuilder b(ET_DYN);
  b.eh.e_entry = 0x400080;
  b.add(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000, 0x200000);
  b.add(PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0, 16);
  auto r = load_builder(b, 0x10000000);
  REQUIRE(!r.is_error());
  CHECK(r.value().segments[0].map_start == 0x10000000);
  CHECK(r.value().entry == 0x10000080);
  CHECK(r.value().max_align == 0x200000);
  CHECK(r.value().exec_stack);
  // pie_base must be page aligned and leave room below the reserved range.
  CHECK(error_of(load_builder(b, 0x10000010)) == Errno::INVAL);
  CHECK(error_of(load_builder(b, kReservedBase)) == Errno::NOMEM);
  CHECK(error_of(load_builder(b, kReservedBase - 0x1000)) == Errno::Ok);
  CHECK(error_of(load_builder(b, MOAT_RESERVED_END - 0x1000)) == Errno::NOMEM);
  // Above the reserved range (where the mmap base is) up to the user top.
  CHECK(error_of(load_builder(b, MOAT_RESERVED_END)) == Errno::Ok);
  CHECK(error_of(load_builder(b, mm::kUserTop - 0x1000)) == Errno::Ok);
  CHECK(error_of(load_builder(b, mm::kUserTop)) == Errno::NOMEM);
  CHECK(error_of(load_builder(b, ~0ULL & ~0xfffULL)) == Errno::NOMEM);
}

TEST_CASE("short reads and read errors", "[loader][elf]") {
  auto bytes = pie_exec().bytes();
  TrickleSource trickle;
  trickle.bytes = bytes;
  auto r = load_elf(trickle, kPieBase);
  REQUIRE(!r.is_error());
  CHECK(*r.value().interp == "/lib/ld.so");
  FailingSource failing;
  CHECK(error_of(load_elf(failing, kPieBase)) == Errno::IO);
}

TEST_CASE("truncated images fail cleanly at every length", "[loader][elf]") {
  for (auto builder : {static_exec(), pie_exec()}) {
    auto full = builder.bytes();
    size_t headers = builder.eh.e_phoff + builder.ph.size() * sizeof(Elf64_Phdr);
    for (size_t len = 0; len <= headers; ++len) {
      INFO("length " << len);
      auto r = load_bytes(std::span(full).first(len));
      CHECK(error_of(r) == Errno::NOEXEC);
    }
  }
  // Cut inside the last segment's file bytes.
  auto b = static_exec();
  b.file_size = 0x2300;
  CHECK(error_of(load_builder(b)) == Errno::NOEXEC);
}

TEST_CASE("bad ELF headers are ENOEXEC for an executable, ELIBBAD for an interpreter", "[loader][elf]") {
  struct Case {
    const char* what;
    void (*mutate)(ElfBuilder&);
  };
  const Case cases[] = {
      {"bad magic", [](ElfBuilder& b) { b.eh.e_ident[EI_MAG1] = 'F'; }},
      {"32-bit class", [](ElfBuilder& b) { b.eh.e_ident[EI_CLASS] = ELFCLASS32; }},
      {"big endian", [](ElfBuilder& b) { b.eh.e_ident[EI_DATA] = ELFDATA2MSB; }},
      {"bad version", [](ElfBuilder& b) { b.eh.e_ident[EI_VERSION] = 2; }},
      {"aarch64", [](ElfBuilder& b) { b.eh.e_machine = EM_AARCH64; }},
      {"i386", [](ElfBuilder& b) { b.eh.e_machine = EM_386; }},
      {"phentsize", [](ElfBuilder& b) { b.eh.e_phentsize = sizeof(Elf64_Phdr) + 8; }},
      {"phnum 0", [](ElfBuilder& b) { b.ph.clear(); }},
      {"phnum huge", [](ElfBuilder& b) { b.eh.e_phnum = 0xffff; }},
      {"phnum just over 64 KiB", [](ElfBuilder& b) { b.eh.e_phnum = 65536 / sizeof(Elf64_Phdr) + 1; }},
      {"phoff past EOF", [](ElfBuilder& b) { b.eh.e_phoff = 0x10000; }},
      {"phoff overflow", [](ElfBuilder& b) { b.eh.e_phoff = ~0ULL - 8; }},
      {"phdrs straddle EOF", [](ElfBuilder& b) { b.eh.e_phoff = b.file_size - sizeof(Elf64_Phdr); }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ElfBuilder b = static_exec();
    c.mutate(b);
    CHECK(error_of(load_builder(b)) == Errno::NOEXEC);
    CHECK(error_of(load_builder(b, kPieBase, ElfRole::Interpreter)) == static_cast<Errno>(ELIBBAD));
  }
}

TEST_CASE("e_type other than ET_EXEC/ET_DYN", "[loader][elf]") {
  for (uint16_t type : {uint16_t{ET_REL}, uint16_t{ET_CORE}, uint16_t{ET_NONE}, uint16_t{0xfe00}}) {
    ElfBuilder b = static_exec();
    b.eh.e_type = type;
    CHECK(error_of(load_builder(b)) == Errno::NOEXEC);
    CHECK(error_of(load_builder(b, kPieBase, ElfRole::Interpreter)) == Errno::INVAL);
  }
}

TEST_CASE("hostile PT_LOAD segments", "[loader][elf]") {
  struct Case {
    const char* what;
    void (*mutate)(ElfBuilder&);
    Errno expected;
  };
  const Case cases[] = {
      {"filesz > memsz", [](ElfBuilder& b) { b.ph[1].p_filesz = b.ph[1].p_memsz + 1; }, Errno::INVAL},
      {"offset + filesz overflows",
       [](ElfBuilder& b) {
         b.ph[1].p_offset = ~0ULL - 0xfff + 0x234;
         b.ph[1].p_memsz = b.ph[1].p_filesz = 0x2000;
       },
       Errno::NOEXEC},
      {"offset past EOF", [](ElfBuilder& b) { b.ph[1].p_offset = 0x100234; }, Errno::NOEXEC},
      {"vaddr + memsz overflows", [](ElfBuilder& b) { b.ph[1].p_memsz = ~0ULL - 0x1000; }, Errno::INVAL},
      {"memsz giant", [](ElfBuilder& b) { b.ph[1].p_memsz = 1ULL << 60; }, Errno::INVAL},
      {"segment in the reserved range",
       [](ElfBuilder& b) { b.ph[1].p_vaddr = kReservedBase + 0x234; }, Errno::INVAL},
      {"segment straddling the reserved base",
       [](ElfBuilder& b) {
         b.ph[1].p_vaddr = kReservedBase - 0x1000 + 0x234;
       },
       Errno::INVAL},
      {"segment near the top of the address space",
       [](ElfBuilder& b) { b.ph[1].p_vaddr = 0xfffffffffffff234ULL; b.ph[1].p_memsz = 0x100; }, Errno::INVAL},
      {"misaligned offset vs vaddr", [](ElfBuilder& b) { b.ph[1].p_offset = 0x2238; }, Errno::INVAL},
      {"p_align not a power of two", [](ElfBuilder& b) { b.ph[1].p_align = 0x3000; }, Errno::NOEXEC},
      {"overlapping segments", [](ElfBuilder& b) { b.ph[1].p_vaddr = 0x401230; b.ph[1].p_offset = 0x2230; },
       Errno::NOEXEC},
      {"unsorted segments", [](ElfBuilder& b) { std::swap(b.ph[0], b.ph[1]); }, Errno::NOEXEC},
      {"span of 64 GiB",
       [](ElfBuilder& b) {
         b.ph[1].p_vaddr = 0x400000 + (64ULL << 30) - 0x3000 + 0x234;
       },
       Errno::NOMEM},
      {"below mmap_min_addr",
       [](ElfBuilder& b) {
         b.ph[0].p_vaddr = 0x1000;
         b.eh.e_entry = 0x1100;
       },
       Errno::PERM},
      {"entry in the reserved range", [](ElfBuilder& b) { b.eh.e_entry = kReservedBase; }, Errno::INVAL},
      {"entry beyond the user range", [](ElfBuilder& b) { b.eh.e_entry = mm::kUserTop; }, Errno::INVAL},
      {"no PT_LOAD at all", [](ElfBuilder& b) { b.ph[0].p_type = PT_NOTE; b.ph[1].p_type = PT_NOTE; },
       Errno::NOEXEC},
      {"only empty PT_LOADs",
       [](ElfBuilder& b) {
         b.ph[0].p_filesz = b.ph[0].p_memsz = 0;
         b.ph[1].p_filesz = b.ph[1].p_memsz = 0;
       },
       Errno::NOEXEC},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ElfBuilder b = static_exec();
    c.mutate(b);
    CHECK(error_of(load_builder(b)) == c.expected);
  }
  // The same defect in an interpreter: load_elf_interp says ENOMEM for bad
  // addresses and EINVAL when there is nothing to load.
  ElfBuilder b = static_exec();
  b.ph[1].p_memsz = 1ULL << 60;
  CHECK(error_of(load_builder(b, kPieBase, ElfRole::Interpreter)) == Errno::NOMEM);
  b = static_exec();
  b.ph[0].p_type = b.ph[1].p_type = PT_NULL;
  CHECK(error_of(load_builder(b, kPieBase, ElfRole::Interpreter)) == Errno::INVAL);
}

TEST_CASE("a bss-only segment and a 64 GiB - 1 page span are accepted", "[loader][elf]") {
  ElfBuilder b = static_exec();
  b.add(PT_LOAD, PF_R | PF_W, 0x2fff00, 0x500010, 0, 0x2000);  // offset irrelevant: no file bytes
  auto r = load_builder(b);
  REQUIRE(!r.is_error());
  REQUIRE(r.value().segments.size() == 3);
  const ElfSegment& bss = r.value().segments[2];
  CHECK(bss.map_start == 0x500000);
  CHECK(bss.map_end_file == 0x500000);
  CHECK(bss.zero_from == 0x500010);
  CHECK(bss.anon_end == 0x503000);

  ElfBuilder big = static_exec();
  big.ph[1].p_vaddr = 0x400000 + (64ULL << 30) - 0x5000 + 0x234;
  auto rb = load_builder(big);
  REQUIRE(!rb.is_error());
  CHECK(rb.value().span == (64ULL << 30) - 0x1000);
}

TEST_CASE("hostile PT_INTERP", "[loader][elf]") {
  auto with_interp = [](uint64_t off, uint64_t len, std::string content) {
    ElfBuilder b = static_exec();
    b.add(PT_INTERP, PF_R, off, 0, len, len, 1);
    if (!content.empty()) b.blobs.emplace_back(off, content);
    return b;
  };
  CHECK(*load_builder(with_interp(0x200, 8, std::string("/ld.so\0\0", 8))).value().interp == "/ld.so");
  // Not NUL-terminated.
  CHECK(error_of(load_builder(with_interp(0x200, 6, "/ld.so"))) == Errno::NOEXEC);
  // Out of the file, or overflowing.
  CHECK(error_of(load_builder(with_interp(0x2ffe, 8, ""))) == Errno::NOEXEC);
  CHECK(error_of(load_builder(with_interp(0x100000, 8, ""))) == Errno::NOEXEC);
  CHECK(error_of(load_builder(with_interp(~0ULL - 3, 8, ""))) == Errno::NOEXEC);
  // Too short or longer than PATH_MAX.
  CHECK(error_of(load_builder(with_interp(0x200, 1, std::string("\0", 1)))) == Errno::NOEXEC);
  CHECK(error_of(load_builder(with_interp(0x200, PATH_MAX + 1, ""))) == Errno::NOEXEC);
  // Exactly PATH_MAX bytes with the NUL last: accepted.
  std::string longest(PATH_MAX - 1, 'a');
  longest.push_back('\0');
  CHECK(load_builder(with_interp(0x200, PATH_MAX, longest)).value().interp->size() == PATH_MAX - 1);
  // The first PT_INTERP wins.
  ElfBuilder two = with_interp(0x200, 4, std::string("/aa\0", 4));
  two.add(PT_INTERP, PF_R, 0x300, 0, 4, 4, 1);
  two.blobs.emplace_back(0x300, std::string("/bb\0", 4));
  CHECK(*load_builder(two).value().interp == "/aa");
}

namespace {

struct RealBinary {
  std::vector<std::byte> bytes;
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  bool ok = false;
};

RealBinary read_binary(const char* path) {
  RealBinary b;
  b.bytes = read_whole_file(path);
  if (b.bytes.size() < sizeof(Elf64_Ehdr)) return b;
  std::memcpy(&b.eh, b.bytes.data(), sizeof(b.eh));
  b.ph.resize(b.eh.e_phnum);
  std::memcpy(b.ph.data(), b.bytes.data() + b.eh.e_phoff, b.ph.size() * sizeof(Elf64_Phdr));
  b.ok = true;
  return b;
}

// Checks an image against the program headers as the host's binary has them.
void check_against_headers(const RealBinary& b, const ElfImage& img) {
  check_invariants(img, b.bytes.size());
  CHECK(img.is_dyn == (b.eh.e_type == ET_DYN));
  CHECK(img.entry == b.eh.e_entry + img.bias);
  CHECK(img.phnum == b.eh.e_phnum);
  size_t loads = 0;
  for (const Elf64_Phdr& p : b.ph) {
    if (p.p_type == PT_PHDR) CHECK(img.phdr == p.p_vaddr + img.bias);
    if (p.p_type != PT_LOAD) continue;
    REQUIRE(loads < img.segments.size());
    const ElfSegment& s = img.segments[loads++];
    CHECK(s.map_start == mm::page_down(p.p_vaddr) + img.bias);
    CHECK(s.zero_from == p.p_vaddr + p.p_filesz + img.bias);
    CHECK(s.anon_end == mm::page_up(p.p_vaddr + p.p_memsz) + img.bias);
    CHECK(s.file_offset == mm::page_down(p.p_offset));
    CHECK(((s.prot & PROT_EXEC) != 0) == ((p.p_flags & PF_X) != 0));
  }
  CHECK(loads == img.segments.size());
}

}  // namespace

TEST_CASE("host binaries load", "[loader][elf]") {
  for (const char* path : {"/bin/ls", "/bin/busybox", "/bin/true"}) {
    INFO(path);
    RealBinary b = read_binary(path);
    if (!b.ok) {
      WARN("skipping missing " << path);
      continue;
    }
    auto r = load_bytes(b.bytes);
    REQUIRE(!r.is_error());
    const ElfImage& img = r.value();
    check_against_headers(b, img);
    CHECK(img.is_dyn);
    CHECK(img.bias == kPieBase);  // Debian's PIEs start at vaddr 0
    REQUIRE(img.interp.has_value());
    CHECK(*img.interp == "/lib64/ld-linux-x86-64.so.2");
    CHECK(img.phdr == kPieBase + b.eh.e_phoff);
  }

  RealBinary ld = read_binary("/lib64/ld-linux-x86-64.so.2");
  if (ld.ok) {
    auto r = load_bytes(ld.bytes, 0x7f0000000000ULL, ElfRole::Interpreter);
    REQUIRE(!r.is_error());
    check_against_headers(ld, r.value());
    CHECK(r.value().bias == 0x7f0000000000ULL);
    CHECK_FALSE(r.value().interp.has_value());
  }
}

TEST_CASE("random header mutations of /bin/true never crash", "[loader][elf]") {
  RealBinary b = read_binary("/bin/true");
  if (!b.ok) {
    WARN("skipping: no /bin/true");
    return;
  }
  std::mt19937_64 rng(12345);
  size_t region = std::min<size_t>(b.bytes.size(), b.eh.e_phoff + b.eh.e_phnum * sizeof(Elf64_Phdr) + 64);
  size_t accepted = 0;
  std::vector<std::byte> copy;
  for (int iter = 0; iter < 5000; ++iter) {
    copy.assign(b.bytes.begin(), b.bytes.begin() + static_cast<ptrdiff_t>(region));
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      size_t at = rng() % region;
      // Mix single-bit flips with whole random bytes and 0xff runs (big values).
      switch (rng() % 3) {
        case 0: copy[at] ^= std::byte(1u << (rng() % 8)); break;
        case 1: copy[at] = std::byte(rng() & 0xff); break;
        default:
          for (size_t j = at; j < std::min(region, at + 8); ++j) copy[j] = std::byte{0xff};
      }
    }
    // Either the mutated header alone, or grafted onto the full file.
    std::vector<std::byte> full = b.bytes;
    std::copy(copy.begin(), copy.end(), full.begin());
    for (auto* bytes : {&copy, &full}) {
      auto r = load_bytes(*bytes, kPieBase, iter % 2 ? ElfRole::Interpreter : ElfRole::Executable);
      if (!r.is_error()) {
        ++accepted;
        check_invariants(r.value(), bytes->size());
      } else {
        Errno e = r.error();
        bool known = e == Errno::NOEXEC || e == Errno::INVAL || e == Errno::NOMEM || e == Errno::PERM ||
                     e == static_cast<Errno>(ELIBBAD);
        CHECK(known);
      }
    }
  }
  // Flipping bytes the loader ignores leaves many inputs valid.
  CHECK(accepted > 0);
}
