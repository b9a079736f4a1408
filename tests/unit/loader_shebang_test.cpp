// "#!" parsing, checked against the cases fs/binfmt_script.c distinguishes.

#include <catch2/catch.hpp>

#include "sentry/loader/shebang.h"

using namespace moat;
using namespace moat::loader;

namespace {

ErrorOr<std::optional<Shebang>> parse(const std::string& s) {
  return parse_shebang(std::as_bytes(std::span(s.data(), s.size())));
}

// The parsed script, or a failure with the errno.
Shebang ok(const std::string& s) {
  auto r = parse(s);
  REQUIRE(!r.is_error());
  REQUIRE(r.value().has_value());
  return *r.value();
}

Errno fails(const std::string& s) {
  auto r = parse(s);
  REQUIRE(r.is_error());
  return r.error();
}

}  // namespace

TEST_CASE("not a script", "[loader][shebang]") {
  for (std::string s : {std::string(""), std::string("#"), std::string("\x7f" "ELF"), std::string("# !/bin/sh\n"),
                        std::string("!#/bin/sh\n")}) {
    auto r = parse(s);
    REQUIRE(!r.is_error());
    CHECK_FALSE(r.value().has_value());
  }
}

TEST_CASE("interpreter and optional argument", "[loader][shebang]") {
  Shebang a = ok("#!/bin/sh\necho hi\n");
  CHECK(a.interp == "/bin/sh");
  CHECK_FALSE(a.arg.has_value());

  Shebang b = ok("#! \t/usr/bin/env   python3 -u  \t\nprint()\n");
  CHECK(b.interp == "/usr/bin/env");
  REQUIRE(b.arg.has_value());
  CHECK(*b.arg == "python3 -u");  // one argument: the rest of the line, trimmed

  Shebang c = ok("#!/bin/sh   \n");
  CHECK(c.interp == "/bin/sh");
  CHECK_FALSE(c.arg.has_value());

  Shebang d = ok("#!/bin/bash\t-e\n");
  CHECK(d.interp == "/bin/bash");
  CHECK(*d.arg == "-e");

  // A file that is nothing but the line, without a newline.
  Shebang e = ok("#!/bin/sh -x");
  CHECK(e.interp == "/bin/sh");
  CHECK(*e.arg == "-x");

  // CR is not whitespace to the kernel: it stays in the argument (or name).
  CHECK(ok("#!/bin/sh\r\n").interp == "/bin/sh\r");
}

TEST_CASE("embedded NULs end the strings as C strings", "[loader][shebang]") {
  Shebang a = ok(std::string("#!/bin/sh\0 -x\n", 15));
  CHECK(a.interp == "/bin/sh");
  CHECK_FALSE(a.arg.has_value());  // the NUL ends the name; no argument
  Shebang b = ok(std::string("#!/bin/sh -x\0yz\n", 16));
  CHECK(*b.arg == "-x");
  Shebang c = ok(std::string("#!/bin/sh \0x\n", 13));
  REQUIRE(c.arg.has_value());
  CHECK(c.arg->empty());
}

TEST_CASE("missing interpreter", "[loader][shebang]") {
  CHECK(fails("#!\n") == Errno::NOEXEC);
  CHECK(fails("#!   \t \n") == Errno::NOEXEC);
  CHECK(fails(std::string(300, ' ').replace(0, 2, "#!")) == Errno::NOEXEC);
  // The kernel finds an empty name before a NUL and then cannot open "".
  CHECK(fails("#!") == Errno::NOENT);
  CHECK(fails("#!  ") == Errno::NOENT);
  CHECK(fails(std::string("#!\0/bin/sh\n", 11)) == Errno::NOENT);
}

TEST_CASE("the 256-byte limit", "[loader][shebang]") {
  // A name that fills the buffer with no terminator may be truncated: refused.
  std::string long_name = "#!/" + std::string(400, 'a');
  CHECK(fails(long_name) == Errno::NOEXEC);
  CHECK(fails("#!   " + std::string(400, 'a') + "\n") == Errno::NOEXEC);

  // A name that ends within the buffer, with a long argument cut off: fine,
  // the argument is truncated to the buffer (its last byte is dropped, as the
  // kernel writes its NUL there).
  std::string s = "#!/bin/sh " + std::string(400, 'b') + "\n";
  Shebang a = ok(s);
  CHECK(a.interp == "/bin/sh");
  CHECK(*a.arg == std::string(kShebangBufSize - 1 - 10, 'b'));

  // A newline inside the buffer means nothing was truncated.
  std::string fits = "#!/" + std::string(kShebangBufSize - 4, 'c') + "\n";
  REQUIRE(fits.size() == kShebangBufSize);
  CHECK(ok(fits).interp == "/" + std::string(kShebangBufSize - 4, 'c'));

  // Terminator in the very last byte of the buffer: the name is complete.
  std::string edge = "#!/" + std::string(kShebangBufSize - 4, 'd') + " more";
  CHECK(ok(edge).interp == "/" + std::string(kShebangBufSize - 4, 'd'));
  // ... one byte later it is not.
  std::string over = "#!/" + std::string(kShebangBufSize - 3, 'd') + " more";
  CHECK(fails(over) == Errno::NOEXEC);

  // Bytes after the first 256 never matter.
  std::string tail = "#!/bin/sh\n" + std::string(1000, 'z');
  CHECK(ok(tail).interp == "/bin/sh");
}

TEST_CASE("shebang_argv", "[loader][shebang]") {
  Shebang with_arg{"/usr/bin/env", std::string("python3 -u")};
  CHECK(shebang_argv(with_arg, "/tmp/s.py", {"s.py", "a", "b"}) ==
        std::vector<std::string>{"/usr/bin/env", "python3 -u", "/tmp/s.py", "a", "b"});
  Shebang bare{"/bin/sh", std::nullopt};
  CHECK(shebang_argv(bare, "./x.sh", {"whatever"}) == std::vector<std::string>{"/bin/sh", "./x.sh"});
  CHECK(shebang_argv(bare, "./x.sh", {}) == std::vector<std::string>{"/bin/sh", "./x.sh"});
  Shebang empty_arg{"/bin/sh", std::string()};
  CHECK(shebang_argv(empty_arg, "x", {"x", "1"}) == std::vector<std::string>{"/bin/sh", "", "x", "1"});
}
