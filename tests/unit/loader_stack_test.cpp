// The initial stack: decode what build_initial_stack wrote the way a libc
// start routine and the dynamic loader would.

#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "sentry/loader/stack.h"

using namespace moat;
using namespace moat::loader;

namespace {

constexpr uint64_t kTop = 0x7ffffffde000ULL;

struct Decoded {
  uint64_t argc = 0;
  std::vector<std::string> argv, envp;
  std::vector<uint64_t> argv_ptrs, envp_ptrs;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;
  uint64_t auxv_end = 0;
};

// Reads guest memory out of the image, failing the test on any address outside it.
struct Reader {
  const StackImage& img;
  uint64_t u64(uint64_t addr) const {
    REQUIRE(addr >= img.start);
    REQUIRE(addr + 8 <= img.start + img.bytes.size());
    uint64_t v;
    std::memcpy(&v, img.bytes.data() + (addr - img.start), 8);
    return v;
  }
  std::string str(uint64_t addr) const {
    REQUIRE(addr >= img.start);
    REQUIRE(addr < img.start + img.bytes.size());
    const char* p = reinterpret_cast<const char*>(img.bytes.data() + (addr - img.start));
    size_t max = img.start + img.bytes.size() - addr;
    size_t len = strnlen(p, max);
    REQUIRE(len < max);
    return std::string(p, len);
  }
  std::vector<uint8_t> raw(uint64_t addr, size_t len) const {
    REQUIRE(addr >= img.start);
    REQUIRE(addr + len <= img.start + img.bytes.size());
    auto b = img.bytes.begin() + static_cast<ptrdiff_t>(addr - img.start);
    return {b, b + static_cast<ptrdiff_t>(len)};
  }
};

Decoded decode(const StackImage& img) {
  Reader r{img};
  Decoded d;
  uint64_t p = img.sp;
  d.argc = r.u64(p);
  p += 8;
  for (uint64_t i = 0; i < d.argc; ++i, p += 8) {
    d.argv_ptrs.push_back(r.u64(p));
    d.argv.push_back(r.str(d.argv_ptrs.back()));
  }
  REQUIRE(r.u64(p) == 0);
  p += 8;
  while (uint64_t e = r.u64(p)) {
    d.envp_ptrs.push_back(e);
    d.envp.push_back(r.str(e));
    p += 8;
  }
  p += 8;
  while (true) {
    uint64_t type = r.u64(p), value = r.u64(p + 8);
    p += 16;
    if (type == AT_NULL) break;
    d.auxv.emplace_back(type, value);
  }
  d.auxv_end = p;
  return d;
}

uint64_t aux(const Decoded& d, uint64_t type) {
  for (auto [t, v] : d.auxv)
    if (t == type) return v;
  FAIL("no auxv entry " << type);
  return 0;
}

const std::array<uint8_t, 16> kRandom = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

}  // namespace

TEST_CASE("argc, argv, envp and auxv decode back", "[loader][stack]") {
  std::vector<std::string> argv = {"/bin/ls", "-l", "", "a b"};
  std::vector<std::string> envp = {"PATH=/bin", "HOME=/root"};
  std::vector<std::pair<uint64_t, uint64_t>> auxv = {{AT_PAGESZ, 4096}, {AT_ENTRY, 0x401000}, {AT_PHNUM, 13}};
  auto r = build_initial_stack(kTop, argv, envp, auxv, "/bin/ls", kRandom);
  REQUIRE(!r.is_error());
  const StackImage& img = r.value();
  Reader rd{img};

  CHECK(img.sp % 16 == 0);
  CHECK(img.start == img.sp);
  CHECK(img.start + img.bytes.size() == kTop);

  Decoded d = decode(img);
  CHECK(d.argc == 4);
  CHECK(d.argv == argv);
  CHECK(d.envp == envp);
  CHECK(aux(d, AT_PAGESZ) == 4096);
  CHECK(aux(d, AT_ENTRY) == 0x401000);
  CHECK(aux(d, AT_PHNUM) == 13);
  // The caller's entries come first, in order, then the appended ones.
  REQUIRE(d.auxv.size() == 6);
  CHECK(d.auxv[0].first == AT_PAGESZ);
  CHECK(d.auxv[3].first == AT_PLATFORM);
  CHECK(d.auxv[4].first == AT_RANDOM);
  CHECK(d.auxv[5].first == AT_EXECFN);
  CHECK(rd.str(aux(d, AT_PLATFORM)) == "x86_64");
  CHECK(rd.str(aux(d, AT_EXECFN)) == "/bin/ls");
  CHECK(aux(d, AT_EXECFN) == img.execfn);
  CHECK(aux(d, AT_RANDOM) == img.random);
  auto rnd = rd.raw(img.random, 16);
  CHECK(std::equal(rnd.begin(), rnd.end(), kRandom.begin()));

  // The strings sit contiguously in order: argv, envp, execfn, 8 zero bytes.
  CHECK(d.argv_ptrs[0] == img.arg_start);
  for (size_t i = 1; i < argv.size(); ++i) CHECK(d.argv_ptrs[i] == d.argv_ptrs[i - 1] + argv[i - 1].size() + 1);
  CHECK(img.arg_end == d.argv_ptrs.back() + argv.back().size() + 1);
  CHECK(img.env_start == img.arg_end);
  CHECK(d.envp_ptrs[0] == img.env_start);
  CHECK(d.envp_ptrs[1] == d.envp_ptrs[0] + envp[0].size() + 1);
  CHECK(img.env_end == d.envp_ptrs[1] + envp[1].size() + 1);
  CHECK(img.execfn == img.env_end);
  CHECK(img.execfn + 8 == kTop - 8);
  CHECK(rd.u64(kTop - 8) == 0);

  // Platform and random bytes lie between the tables and the strings, the
  // random bytes right below the platform string, which is right below a
  // 16-byte boundary at or under the argv strings.
  CHECK(d.auxv_end <= img.random);
  CHECK(img.random + 16 == aux(d, AT_PLATFORM));
  uint64_t aligned = img.arg_start & ~15ULL;
  CHECK(aux(d, AT_PLATFORM) + 7 == aligned);
  // STACK_ROUND leaves less than 16 bytes of slack above the AT_NULL entry.
  CHECK(img.random - d.auxv_end < 16);
}

TEST_CASE("alignment holds for every string length parity", "[loader][stack]") {
  for (size_t extra = 0; extra < 40; ++extra) {
    for (size_t nargs = 0; nargs < 4; ++nargs) {
      std::vector<std::string> argv(nargs, std::string(extra, 'x'));
      std::vector<std::string> envp(extra % 3, "E=" + std::string(extra, 'y'));
      auto r = build_initial_stack(kTop, argv, envp, {{AT_PAGESZ, 4096}}, std::string(extra, 'f'), kRandom);
      REQUIRE(!r.is_error());
      CHECK(r.value().sp % 16 == 0);
      Decoded d = decode(r.value());
      CHECK(d.argv == argv);
      CHECK(d.envp == envp);
      CHECK(r.value().random - d.auxv_end < 16);
    }
  }
}

TEST_CASE("empty argv and envp", "[loader][stack]") {
  auto r = build_initial_stack(kTop, {}, {}, {}, "", kRandom);
  REQUIRE(!r.is_error());
  Decoded d = decode(r.value());
  CHECK(d.argc == 0);
  CHECK(d.envp.empty());
  CHECK(d.auxv.size() == 3);
  CHECK(r.value().arg_start == r.value().arg_end);
  CHECK(r.value().env_start == r.value().env_end);
}

TEST_CASE("E2BIG and EINVAL", "[loader][stack]") {
  // One string longer than MAX_ARG_STRLEN.
  std::vector<std::string> big = {std::string(kMaxArgStrlen, 'a')};
  CHECK(build_initial_stack(kTop, big, {}, {}, "x", kRandom).error() == Errno::TooBig);
  CHECK(build_initial_stack(kTop, {}, big, {}, "x", kRandom).error() == Errno::TooBig);
  // One exactly at the limit (with its NUL) is fine.
  std::vector<std::string> edge = {std::string(kMaxArgStrlen - 1, 'a')};
  CHECK(!build_initial_stack(kTop, edge, {}, {}, "x", kRandom).is_error());
  // Many strings adding up past 2 MiB.
  std::vector<std::string> many(17, std::string(kMaxArgStrlen - 1, 'b'));
  CHECK(build_initial_stack(kTop, many, {}, {}, "x", kRandom).error() == Errno::TooBig);
  std::vector<std::string> fine(15, std::string(kMaxArgStrlen - 1, 'b'));
  auto r = build_initial_stack(kTop, fine, {"A=1"}, {}, "x", kRandom);
  REQUIRE(!r.is_error());
  CHECK(decode(r.value()).argv.size() == 15);
  // Many tiny strings: the pointers count too.
  std::vector<std::string> tiny(300000, "");
  CHECK(build_initial_stack(kTop, tiny, {}, {}, "x", kRandom).error() == Errno::TooBig);
  // Misaligned or too-low stack top.
  CHECK(build_initial_stack(kTop + 8, {"a"}, {}, {}, "x", kRandom).error() == Errno::INVAL);
  CHECK(build_initial_stack(0x40, {"a"}, {}, {}, "x", kRandom).error() == Errno::INVAL);
}
