// Batch profiles (config/batch_profile.h): what a good profile becomes, and
// the message every kind of bad input gets (file, line, column and key).

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "config/batch_profile.h"

using namespace moat::batch;
using namespace std::chrono_literals;

namespace {

Profile parse_ok(const std::string& text, const std::string& path = "/p/jobs.toml") {
  auto r = parse_profile(text, path);
  if (auto* e = std::get_if<ProfileError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<Profile>(r);
}

std::string parse_error(const std::string& text, const std::string& path = "/p/jobs.toml") {
  auto r = parse_profile(text, path);
  if (std::holds_alternative<Profile>(r)) FAIL("parsed, but should not have: " << text);
  return std::get<ProfileError>(r).message;
}

// A scratch directory for the host paths a profile names.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/moat-batch-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
};

}  // namespace

TEST_CASE("a minimal profile: one job, the defaults", "[batch]") {
  Profile p = parse_ok("[[job]]\nname = \"hello\"\nargv = [\"/bin/echo\", \"hi\"]\n");
  CHECK(p.root == "/");
  CHECK(p.overlay == Overlay::Memory);
  CHECK(p.network == Network::None);
  CHECK(p.parallel == 0);
  REQUIRE(p.jobs.size() == 1);
  const Job& j = p.jobs[0];
  CHECK(j.name == "hello");
  CHECK(j.argv == std::vector<std::string>{"/bin/echo", "hi"});
  CHECK(j.cwd == "/");
  CHECK(j.env.empty());
  CHECK(j.line == 1);
  CHECK(!j.stdin_data);
  CHECK(j.stdin_file.empty());
  CHECK(!j.limits.timeout);
  CHECK(!j.limits.memory);
  CHECK(j.limits.output_limit == kDefaultOutputLimit);
}

TEST_CASE("a profile with no jobs is empty, not an error", "[batch]") {
  CHECK(parse_ok("[sandbox]\ntimeout = \"1s\"\n").jobs.empty());
  CHECK(parse_ok("").jobs.empty());
}

TEST_CASE("sandbox defaults reach every job, and a job's own settings win", "[batch]") {
  Profile p = parse_ok(R"(
[sandbox]
overlay = "none"
network = "host"
cwd = "/tmp"
env = { LANG = "C", MODE = "all" }
timeout = "2s"
cpu_time = "1500ms"
memory = "256M"
pids = 64
output_limit = "4K"
parallel = 3

[[job]]
name = "a"
command = "echo $MODE"

[[job]]
name = "b"
argv = ["true"]
timeout = "100ms"
memory = 1048576
pids = 8
output_limit = 10
cwd = "/work"
env = { MODE = "b", EXTRA = "1" }
stdin = "input\n"
)");
  CHECK(p.overlay == Overlay::None);
  CHECK(p.network == Network::Host);
  CHECK(p.parallel == 3);
  REQUIRE(p.jobs.size() == 2);
  const Job& a = p.jobs[0];
  CHECK(a.argv == std::vector<std::string>{"/bin/sh", "-c", "echo $MODE"});
  CHECK(a.cwd == "/tmp");
  CHECK(a.env == std::map<std::string, std::string>{{"LANG", "C"}, {"MODE", "all"}});
  CHECK(a.limits.timeout == 2s);
  CHECK(a.limits.cpu_time == 1500ms);
  CHECK(a.limits.memory == 256u << 20);
  CHECK(a.limits.pids == 64);
  CHECK(a.limits.output_limit == 4096u);
  const Job& b = p.jobs[1];
  CHECK(b.cwd == "/work");
  CHECK(b.env == std::map<std::string, std::string>{{"LANG", "C"}, {"MODE", "b"}, {"EXTRA", "1"}});
  CHECK(b.limits.timeout == 100ms);
  CHECK(b.limits.cpu_time == 1500ms);
  CHECK(b.limits.memory == 1048576u);
  CHECK(b.limits.pids == 8);
  CHECK(b.limits.output_limit == 10u);
  CHECK(b.stdin_data == "input\n");
  CHECK(b.line == 18);
}

TEST_CASE("durations", "[batch]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("2s") == 2s);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("2m") == 120s);
  CHECK(parse_duration("1h") == 3600s);
  CHECK(parse_duration("0.1ms") == 1ms);  // rounds up, never to no limit
  for (const char* bad : {"", "2", "s", "0s", "-1s", "2 s", "1.s", ".5s", "1.2.3s", "2sec", "2S", "1e3ms"})
    CHECK_FALSE(parse_duration(bad));
  CHECK(format_duration(2s) == "2s");
  CHECK(format_duration(1500ms) == "1500ms");
}

TEST_CASE("sizes", "[batch]") {
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("64K") == 64u << 10);
  CHECK(parse_size("64k") == 64u << 10);
  CHECK(parse_size("512M") == 512u << 20);
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("2GiB") == 2ull << 30);
  CHECK(parse_size("2GB") == 2ull << 30);
  CHECK(parse_size("1.5K") == 1536u);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK(parse_size("100B") == 100u);
  for (const char* bad : {"", "M", "12Q", "-1", "1 M", "1MM", "1Mi", "99999999999T"}) CHECK_FALSE(parse_size(bad));
}

TEST_CASE("host paths are relative to the profile's directory and must exist", "[batch]") {
  TempDir dir;
  std::string input = dir.write("in.txt", "data");
  mkdir((dir.path + "/root").c_str(), 0755);
  std::string profile = dir.path + "/jobs.toml";
  Profile p = parse_ok(R"(
[sandbox]
root = "root"
binds = ["in.txt:/data/in.txt:ro", ".:/work"]
[[job]]
name = "j"
argv = ["cat"]
stdin_file = "in.txt"
)",
                       profile);
  CHECK(p.root == dir.path + "/root");
  REQUIRE(p.binds.size() == 2);
  CHECK(p.binds[0].host == input);
  CHECK(p.binds[0].guest == "/data/in.txt");
  CHECK(p.binds[0].read_only);
  CHECK(p.binds[1].host == dir.path);
  CHECK_FALSE(p.binds[1].read_only);
  CHECK(p.jobs[0].stdin_file == input);

  CHECK(parse_error("[sandbox]\nroot = \"missing\"\n", profile) ==
        profile + ":2:8: sandbox.root: " + dir.path + "/missing: No such file or directory");
  CHECK(parse_error("[sandbox]\nroot = \"in.txt\"\n", profile) ==
        profile + ":2:8: sandbox.root: " + dir.path + "/in.txt: not a directory");
  CHECK(parse_error("[sandbox]\nbinds = [\"nope:/x\"]\n", profile) ==
        profile + ":2:10: sandbox.binds: bad bind \"nope:/x\": " + dir.path + "/nope: No such file or directory");
  CHECK(parse_error("[sandbox]\nbinds = [\"in.txt:x\"]\n", profile) ==
        profile + ":2:10: sandbox.binds: bad bind \"in.txt:x\": the guest path \"x\" is not absolute");
  CHECK(parse_error("[sandbox]\nbinds = [\"in.txt\"]\n", profile) ==
        profile + ":2:10: sandbox.binds: bad bind \"in.txt\": want \"HOST:GUEST\" or \"HOST:GUEST:ro\"");
  CHECK(parse_error("[[job]]\nname = \"j\"\nargv = [\"cat\"]\nstdin_file = \"gone\"\n", profile) ==
        profile + ":4:14: job 1 (\"j\").stdin_file: " + dir.path + "/gone: No such file or directory");
  CHECK(parse_error("[[job]]\nname = \"j\"\nargv = [\"cat\"]\nstdin_file = \".\"\n", profile) ==
        profile + ":4:14: job 1 (\"j\").stdin_file: " + dir.path + "/.: not a regular file");
}

TEST_CASE("TOML syntax errors name the file, line and column", "[batch]") {
  CHECK(parse_error("[sandbox\n").rfind("/p/jobs.toml:1:", 0) == 0);
  std::string e = parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"\n");
  CHECK(e.rfind("/p/jobs.toml:3:", 0) == 0);
  CHECK(parse_error("a = 1\na = 2\n").rfind("/p/jobs.toml:2:", 0) == 0);
}

TEST_CASE("unknown keys, wrong types and misplaced keys", "[batch]") {
  CHECK(parse_error("jobs = 1\n") ==
        "/p/jobs.toml:1:1: jobs: unknown key: a profile has a [sandbox] table and [[job]] entries");
  CHECK(parse_error("[sandbox]\ntimeuot = \"1s\"\n") == "/p/jobs.toml:2:1: sandbox.timeuot: unknown key");
  CHECK(parse_error("sandbox = 3\n") == "/p/jobs.toml:1:11: sandbox: want a table ([sandbox]), not an integer");
  CHECK(parse_error("[job]\nname = \"a\"\n") ==
        "/p/jobs.toml:1:1: job: want [[job]] entries (an array of tables), not a table");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\nmemroy = \"1M\"\n") ==
        "/p/jobs.toml:4:1: job 1 (\"a\").memroy: unknown key");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\nroot = \"/\"\n") ==
        "/p/jobs.toml:4:1: job 1 (\"a\").root: can only be set in [sandbox], for every job");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\nparallel = 2\n") ==
        "/p/jobs.toml:4:1: job 1 (\"a\").parallel: can only be set in [sandbox], for every job");
  CHECK(parse_error("[sandbox]\nname = \"x\"\n") ==
        "/p/jobs.toml:2:1: sandbox.name: belongs in a [[job]] entry, not in [sandbox]");
  CHECK(parse_error("[sandbox]\ntimeout = 2\n") ==
        "/p/jobs.toml:2:11: sandbox.timeout: want a duration string such as \"500ms\" or \"2s\", not an integer");
  CHECK(parse_error("[sandbox]\nmemory = true\n") ==
        "/p/jobs.toml:2:10: sandbox.memory: want a size (bytes, or a string such as \"64M\"), not a boolean");
  CHECK(parse_error("[sandbox]\npids = \"10\"\n") ==
        "/p/jobs.toml:2:8: sandbox.pids: want a positive integer, not a string");
  CHECK(parse_error("[sandbox]\nenv = [\"A=1\"]\n") ==
        "/p/jobs.toml:2:7: sandbox.env: want a table of strings (env = { NAME = \"value\" }), not an array");
  CHECK(parse_error("[sandbox]\nenv = { A = 1 }\n") == "/p/jobs.toml:2:13: sandbox.env.A: want a string, not an integer");
  CHECK(parse_error("[sandbox]\nbinds = \"/a:/b\"\n") ==
        "/p/jobs.toml:2:9: sandbox.binds: want an array of \"HOST:GUEST[:ro]\" strings, not a string");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = \"echo hi\"\n") ==
        "/p/jobs.toml:3:8: job 1 (\"a\").argv: want an array of strings, not a string");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"echo\", 1]\n") ==
        "/p/jobs.toml:3:17: job 1 (\"a\").argv: want a string, not an integer");
  CHECK(parse_error("[[job]]\nname = 7\nargv = [\"x\"]\n") == "/p/jobs.toml:2:8: job 1.name: want a string, not an integer");
}

TEST_CASE("bad values", "[batch]") {
  CHECK(parse_error("[sandbox]\ntimeout = \"2x\"\n") ==
        "/p/jobs.toml:2:11: sandbox.timeout: bad duration \"2x\": want a number above 0 with ms, s, m or h "
        "(\"500ms\", \"2s\")");
  CHECK(parse_error("[sandbox]\ncpu_time = \"0s\"\n").find("sandbox.cpu_time: bad duration \"0s\"") != std::string::npos);
  CHECK(parse_error("[sandbox]\nmemory = \"12Q\"\n") ==
        "/p/jobs.toml:2:10: sandbox.memory: bad size \"12Q\": want a number of bytes with an optional K, M, G or T "
        "(\"64M\")");
  CHECK(parse_error("[sandbox]\nmemory = 0\n") == "/p/jobs.toml:2:10: sandbox.memory: a memory limit of 0 leaves no room to run");
  CHECK(parse_error("[sandbox]\noutput_limit = -5\n") == "/p/jobs.toml:2:16: sandbox.output_limit: a size cannot be negative");
  CHECK(parse_error("[sandbox]\npids = 0\n") == "/p/jobs.toml:2:8: sandbox.pids: 0 is out of range: want 1 to 4194304");
  CHECK(parse_error("[sandbox]\nparallel = 5000\n") ==
        "/p/jobs.toml:2:12: sandbox.parallel: 5000 is out of range: want 1 to 4096");
  CHECK(parse_error("[sandbox]\noverlay = \"dir:/x\"\n") ==
        "/p/jobs.toml:2:11: sandbox.overlay: want \"memory\" or \"none\", not \"dir:/x\" (jobs running at once cannot "
        "share an upper directory)");
  CHECK(parse_error("[sandbox]\nnetwork = \"bridge\"\n") ==
        "/p/jobs.toml:2:11: sandbox.network: want \"none\", \"sandbox\" or \"host\", not \"bridge\"");
  CHECK(parse_error("[sandbox]\ncwd = \"work\"\n") ==
        "/p/jobs.toml:2:7: sandbox.cwd: want an absolute path inside the sandbox, not \"work\"");
  CHECK(parse_error("[sandbox]\nenv = { \"A=B\" = \"1\" }\n") == "/p/jobs.toml:2:9: sandbox.env: bad variable name \"A=B\"");
}

TEST_CASE("job entries: names, argv or command, stdin or stdin_file", "[batch]") {
  CHECK(parse_error("[[job]]\nargv = [\"x\"]\n") ==
        "/p/jobs.toml:1:1: job 1: has no name (each [[job]] needs a unique name = \"...\")");
  CHECK(parse_error("[[job]]\nname = \"\"\nargv = [\"x\"]\n") ==
        "/p/jobs.toml:2:8: job 1.name: want a non-empty name on one line");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\n\n[[job]]\nname = \"a\"\nargv = [\"y\"]\n") ==
        "/p/jobs.toml:5:1: job 2 (\"a\").name: the name \"a\" is taken by the job on line 1");
  CHECK(parse_error("[[job]]\nname = \"a\"\n") == "/p/jobs.toml:1:1: job 1 (\"a\"): has neither argv nor command");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = []\n") ==
        "/p/jobs.toml:3:8: job 1 (\"a\").argv: want a program to run: argv[0] is missing or empty");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\ncommand = \"y\"\n") ==
        "/p/jobs.toml:4:11: job 1 (\"a\").command: give argv or command, not both");
  CHECK(parse_error("[[job]]\nname = \"a\"\ncommand = \"\"\n") ==
        "/p/jobs.toml:3:11: job 1 (\"a\").command: want a shell command, not an empty string");
  CHECK(parse_error("[[job]]\nname = \"a\"\nargv = [\"x\"]\nstdin = \"in\"\nstdin_file = \"/etc/hostname\"\n") ==
        "/p/jobs.toml:4:9: job 1 (\"a\").stdin: give stdin or stdin_file, not both");
  // The second job's error names it, not the first.
  CHECK(parse_error("[[job]]\nname = \"ok\"\nargv = [\"x\"]\n[[job]]\nname = \"slow\"\nargv = [\"x\"]\ntimeout = \"1\"\n")
            .rfind("/p/jobs.toml:7:11: job 2 (\"slow\").timeout: bad duration \"1\"", 0) == 0);
}

TEST_CASE("load_profile reads the file and reports one that cannot be read", "[batch]") {
  TempDir dir;
  std::string path = dir.write("p.toml", "[[job]]\nname = \"a\"\nargv = [\"x\"]\n");
  auto r = load_profile(path);
  REQUIRE(std::holds_alternative<Profile>(r));
  CHECK(std::get<Profile>(r).jobs.size() == 1);
  auto missing = load_profile(dir.path + "/nope.toml");
  REQUIRE(std::holds_alternative<ProfileError>(missing));
  CHECK(std::get<ProfileError>(missing).message == dir.path + "/nope.toml: No such file or directory");
  auto directory = load_profile(dir.path);
  REQUIRE(std::holds_alternative<ProfileError>(directory));
  CHECK(std::get<ProfileError>(directory).message == dir.path + ": not a regular file");
}
