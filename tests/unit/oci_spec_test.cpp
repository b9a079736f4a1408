// config.json parsing (config/oci_spec.h), signal names and container IDs
// as the OCI commands take them, and the log line formats.

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "config/oci_spec.h"
#include "runtime/logging.h"
#include "runtime/state.h"

using namespace moat;

namespace {

// A minimal valid config with `extra` spliced into the top-level object and
// `process_extra` into process.
std::string config(const std::string& extra = "", const std::string& process_extra = "") {
  return R"({"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
             "process": {"args": ["sh", "-c", "exit 7"], "cwd": "/")" +
         process_extra + "}" + extra + "}";
}

oci::Spec parse_ok(const std::string& text) {
  auto r = oci::parse_spec(text);
  if (auto* e = std::get_if<oci::SpecError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<oci::Spec>(r);
}

std::string parse_error(const std::string& text) {
  auto r = oci::parse_spec(text);
  if (std::holds_alternative<oci::Spec>(r)) FAIL("parsed, but should not have: " << text);
  return std::get<oci::SpecError>(r).message;
}

bool has_warning(const oci::Spec& spec, const std::string& field) {
  return std::any_of(spec.unsupported.begin(), spec.unsupported.end(),
                     [&](const std::string& w) { return w.rfind(field, 0) == 0; });
}

}  // namespace

TEST_CASE("oci spec: a minimal config takes the defaults", "[oci]") {
  oci::Spec s = parse_ok(config());
  CHECK(s.oci_version == "1.0.2");
  CHECK(s.root_path == "rootfs");
  CHECK(s.root_readonly);
  CHECK(s.process.args == std::vector<std::string>{"sh", "-c", "exit 7"});
  CHECK(s.process.cwd == "/");
  CHECK(s.process.env.empty());
  CHECK(s.process.user.uid == 0);
  CHECK(s.process.user.gid == 0);
  CHECK_FALSE(s.process.terminal);
  CHECK_FALSE(s.process.no_new_privileges);
  CHECK_FALSE(s.process.capabilities.effective.has_value());
  CHECK(s.hostname.empty());
  CHECK(s.unsupported.empty());
  CHECK(oci::rootfs_path(s, "/b") == "/b/rootfs");
}

TEST_CASE("oci spec: the default spec parses without warnings", "[oci]") {
  oci::Spec s = parse_ok(oci::default_spec().dump());
  CHECK(s.process.terminal);
  CHECK(s.process.args == std::vector<std::string>{"sh"});
  CHECK(s.hostname == "moat");
  CHECK(s.process.no_new_privileges);
  REQUIRE(s.process.rlimits.size() == 1);
  CHECK(s.process.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(s.process.rlimits[0].soft == 1024);
  REQUIRE(s.process.capabilities.effective.has_value());
  CHECK(*s.process.capabilities.effective == ((1ULL << 29) | (1ULL << 5) | (1ULL << 10)));
  CHECK(s.mounts.size() == 7);
  CHECK(s.namespaces.size() == 5);
  CHECK(s.masked_paths.size() == 10);
  INFO((s.unsupported.empty() ? "" : s.unsupported[0]));
  CHECK(s.unsupported.empty());
}

TEST_CASE("oci spec: process fields", "[oci]") {
  oci::Spec s = parse_ok(config(R"(, "hostname": "box", "annotations": {"b": "2", "a": "1"})",
                                R"(, "env": ["PATH=/bin", "X=1"], "terminal": true,
                                     "consoleSize": {"height": 24, "width": 80},
                                     "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 18},
                                     "rlimits": [{"type": "RLIMIT_NPROC", "soft": 10, "hard": 20}],
                                     "oomScoreAdj": -500, "noNewPrivileges": true)"));
  CHECK(s.hostname == "box");
  CHECK(s.process.env == std::vector<std::string>{"PATH=/bin", "X=1"});
  CHECK(s.process.terminal);
  REQUIRE(s.process.console_size.has_value());
  CHECK(s.process.console_size->width == 80);
  CHECK(s.process.user.uid == 1000);
  CHECK(s.process.user.gid == 100);
  CHECK(s.process.user.additional_gids == std::vector<uint32_t>{5, 6});
  CHECK(s.process.user.umask == 18u);
  REQUIRE(s.process.rlimits.size() == 1);
  CHECK(s.process.rlimits[0].resource == RLIMIT_NPROC);
  CHECK(s.process.rlimits[0].hard == 20);
  CHECK(s.process.oom_score_adj == -500);
  CHECK(s.process.no_new_privileges);
  // Annotations keep their order in the file.
  REQUIRE(s.annotations.size() == 2);
  CHECK(s.annotations[0].first == "b");
  CHECK(s.annotations[1].second == "1");
}

TEST_CASE("oci spec: malformed and invalid configs name the problem", "[oci]") {
  CHECK(parse_error("{bad").rfind("malformed JSON", 0) == 0);
  CHECK(parse_error("").rfind("malformed JSON", 0) == 0);
  CHECK(parse_error("[]").find("expected a JSON object") != std::string::npos);
  CHECK(parse_error(R"({"root": {"path": "r"}, "process": {"args": ["a"], "cwd": "/"}})").rfind("ociVersion", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "2.0.0", "root": {"path": "r"}, "process": {"args": ["a"], "cwd": "/"}})")
            .rfind("ociVersion", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "process": {"args": ["a"], "cwd": "/"}})").rfind("root", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {}, "process": {"args": ["a"], "cwd": "/"}})")
            .rfind("root.path", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}})").rfind("process", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"cwd": "/"}})")
            .rfind("process.args", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": [], "cwd": "/"}})")
            .rfind("process.args", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": "sh", "cwd": "/"}})") ==
        "process.args: expected an array of strings, got a string");
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh", 3], "cwd": "/"}})") ==
        "process.args[1]: expected a string, got a number");
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"]}})")
            .rfind("process.cwd", 0) == 0);
  CHECK(parse_error(R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "rel"}})")
            .rfind("process.cwd", 0) == 0);
  CHECK(parse_error(config("", R"(, "user": {"uid": -1})")).rfind("process.user.uid", 0) == 0);
  CHECK(parse_error(config("", R"(, "terminal": "yes")")) == "process.terminal: expected a boolean, got a string");
  CHECK(parse_error(config("", R"(, "rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}])"))
            .find("unknown rlimit") != std::string::npos);
  CHECK(parse_error(config("", R"(, "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}])"))
            .find("soft limit above") != std::string::npos);
  CHECK(parse_error(config("", R"(, "oomScoreAdj": 5000)")).rfind("process.oomScoreAdj", 0) == 0);
  CHECK(parse_error(config(R"(, "linux": {"namespaces": [{"type": "bogus"}]})")).find("unknown namespace") !=
        std::string::npos);
  CHECK(parse_error(config(R"(, "mounts": [{"destination": "rel", "type": "tmpfs"}])")).rfind("mounts[0]", 0) == 0);
  CHECK(parse_error(config(R"(, "annotations": {"a": 1})")) == "annotations.a: expected a string, got a number");
}

TEST_CASE("oci spec: unsupported fields are named, never silently dropped", "[oci]") {
  oci::Spec s = parse_ok(config(R"(,
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                 {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
                 {"destination": "/mnt", "type": "nfs", "source": "srv:/x"},
                 {"destination": "/scratch", "type": "tmpfs", "options": ["size=1m", "mode=750", "uid=5", "nr_inodes=9"]},
                 {"destination": "/dev/shm", "type": "bind", "source": "/var/lib/x/shm", "options": ["rbind"]}],
      "hooks": {"prestart": [{"path": "/bin/true"}], "poststop": [], "startContainer": [{"path": "/bin/x"}]},
      "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "ipc", "path": "/x"}],
                "resources": {"memory": {"limit": 1000000, "kernel": 5}, "hugepageLimits": [{"pageSize": "2MB", "limit": 1}],
                              "devices": [{"allow": false, "access": "rwm"}], "blockIO": {"weight": 0}},
                "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"},
                "sysctl": {"net.ipv4.ip_forward": "1"},
                "maskedPaths": ["/proc/kcore", "/etc/secret"],
                "readonlyPaths": ["/proc/sys", "/usr"]})",
                                R"(, "capabilities": {"effective": ["CAP_KILL", "CAP_BOGUS"]},
                                     "apparmorProfile": "docker-default")"));
  CHECK_FALSE(has_warning(s, "mounts[0]"));
  CHECK_FALSE(has_warning(s, "mounts[1]"));
  CHECK(has_warning(s, "mounts[2] (nfs srv:/x on /mnt)"));
  CHECK_FALSE(has_warning(s, "mounts[3] (tmpfs on /scratch): option uid=5"));
  CHECK(has_warning(s, "mounts[3] (tmpfs on /scratch): option nr_inodes=9"));
  CHECK_FALSE(has_warning(s, "mounts[4]"));
  CHECK_FALSE(has_warning(s, "hooks.prestart"));
  CHECK_FALSE(has_warning(s, "hooks.poststop"));
  CHECK_FALSE(has_warning(s, "hooks.startContainer[0]"));
  CHECK_FALSE(has_warning(s, "linux.namespaces[1]"));  // a network namespace path is joined
  CHECK(has_warning(s, "linux.namespaces[2]"));        // other paths are not
  CHECK_FALSE(has_warning(s, "linux.namespaces[0]"));
  CHECK_FALSE(has_warning(s, "linux.resources.memory.limit"));
  CHECK(has_warning(s, "linux.resources.memory.kernel"));
  CHECK(has_warning(s, "linux.resources.hugepageLimits"));
  CHECK_FALSE(has_warning(s, "linux.resources.blockIO"));
  CHECK_FALSE(has_warning(s, "linux.resources.devices"));
  CHECK(s.resources.memory_limit == 1000000);
  CHECK(has_warning(s, "linux.seccomp"));
  CHECK_FALSE(has_warning(s, "linux.sysctl"));
  CHECK_FALSE(has_warning(s, "linux.maskedPaths"));
  CHECK_FALSE(has_warning(s, "linux.readonlyPaths"));
  CHECK(has_warning(s, "process.capabilities.effective: unknown capability CAP_BOGUS"));
  CHECK(has_warning(s, "process.apparmorProfile"));
  REQUIRE(s.process.capabilities.effective.has_value());
  CHECK(*s.process.capabilities.effective == (1ULL << 5));

  oci::Spec writable = parse_ok(R"({"ociVersion": "1.0.0", "root": {"path": "/r"},
                                    "process": {"args": ["a"], "cwd": "/"}})");
  CHECK_FALSE(writable.root_readonly);
  CHECK(oci::rootfs_path(writable, "/b") == "/r");
}

TEST_CASE("oci spec: mount kinds and options", "[oci]") {
  auto mount = [](std::string dest, std::string type, std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = "x";
    m.options = std::move(options);
    return m;
  };
  CHECK(oci::mount_kind(mount("/proc", "proc", {})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/sys/", "sysfs", {"ro"})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/dev/pts", "devpts", {})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/dev/mqueue", "mqueue", {})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/sys/fs/cgroup", "cgroup", {})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/dev/shm", "bind", {"rbind"})) == oci::MountKind::Provided);
  CHECK(oci::mount_kind(mount("/data", "bind", {})) == oci::MountKind::Bind);
  CHECK(oci::mount_kind(mount("/data", "none", {"rbind", "ro"})) == oci::MountKind::Bind);
  CHECK(oci::mount_kind(mount("/data", "", {"bind"})) == oci::MountKind::Bind);
  CHECK(oci::mount_kind(mount("/tmp", "tmpfs", {})) == oci::MountKind::Tmpfs);
  CHECK(oci::mount_kind(mount("/x/proc", "proc", {})) == oci::MountKind::Unsupported);
  CHECK(oci::mount_kind(mount("/mnt", "nfs", {})) == oci::MountKind::Unsupported);

  oci::Spec d = parse_ok(config(R"(, "domainname": "example.org")"));
  CHECK(d.domainname == "example.org");
  CHECK_FALSE(has_warning(d, "domainname"));

  oci::MountOptions o = oci::split_mount_options({"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate", "size=1m", "mode=750"});
  CHECK(o.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  CHECK(o.data == "size=1m,mode=750");
  CHECK(oci::split_mount_options({"rw", "relatime"}).flags == 0);
}

TEST_CASE("oci spec: capability and rlimit names", "[oci]") {
  CHECK(oci::capability_number("CAP_CHOWN") == 0);
  CHECK(oci::capability_number("CAP_SYS_ADMIN") == 21);
  CHECK(oci::capability_number("CAP_CHECKPOINT_RESTORE") == 40);
  CHECK_FALSE(oci::capability_number("CAP_NOPE").has_value());
  CHECK(oci::capability_names().size() == 41);
  CHECK(oci::rlimit_resource("RLIMIT_NOFILE") == RLIMIT_NOFILE);
  CHECK(oci::rlimit_resource("RLIMIT_RTTIME") == RLIMIT_RTTIME);
  CHECK_FALSE(oci::rlimit_resource("NOFILE").has_value());
}

TEST_CASE("oci kill: signal names and numbers", "[oci]") {
  CHECK(oci::parse_signal("TERM") == SIGTERM);
  CHECK(oci::parse_signal("SIGTERM") == SIGTERM);
  CHECK(oci::parse_signal("sigkill") == SIGKILL);
  CHECK(oci::parse_signal("KILL") == SIGKILL);
  CHECK(oci::parse_signal("9") == 9);
  CHECK(oci::parse_signal("64") == 64);
  CHECK(oci::parse_signal("USR1") == SIGUSR1);
  CHECK(oci::parse_signal("SIGWINCH") == SIGWINCH);
  CHECK(oci::parse_signal("RTMIN") == 32);
  CHECK(oci::parse_signal("RTMIN+3") == 35);
  CHECK(oci::parse_signal("SIGRTMAX-1") == 63);
  CHECK_FALSE(oci::parse_signal("").has_value());
  CHECK_FALSE(oci::parse_signal("0").has_value());
  CHECK_FALSE(oci::parse_signal("65").has_value());
  CHECK_FALSE(oci::parse_signal("-9").has_value());
  CHECK_FALSE(oci::parse_signal("BOGUS").has_value());
  CHECK_FALSE(oci::parse_signal("SIG").has_value());
  CHECK_FALSE(oci::parse_signal("RTMIN+40").has_value());
  CHECK_FALSE(oci::parse_signal("RTMIN-1").has_value());
}

TEST_CASE("oci: container IDs", "[oci]") {
  CHECK_FALSE(oci::container_id_error("abc").has_value());
  CHECK_FALSE(oci::container_id_error("a-b_c.d+e,f9").has_value());
  CHECK_FALSE(oci::container_id_error(std::string(64, 'f')).has_value());
  CHECK(oci::container_id_error("").has_value());
  CHECK(oci::container_id_error("a/b").has_value());
  CHECK(oci::container_id_error("..").has_value());
  CHECK(oci::container_id_error(".").has_value());
  CHECK(oci::container_id_error("a b").has_value());
  CHECK(oci::container_id_error(std::string(256, 'a')).has_value());
}

TEST_CASE("oci state: status names and the state JSON", "[oci]") {
  CHECK(runtime::status_from_name("created") == runtime::Status::Created);
  CHECK_FALSE(runtime::status_from_name("paused").has_value());
  runtime::ContainerState s;
  s.id = "c1";
  s.pid = 1234;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2024-01-02T03:04:05.000000001Z";
  auto running = runtime::state_json(s, runtime::Status::Running);
  CHECK(running["status"] == "running");
  CHECK(running["pid"] == 1234);
  CHECK_FALSE(running.contains("annotations"));
  std::vector<std::string> keys;
  for (auto& [k, v] : running.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"});
  s.annotations = {{"k", "v"}};
  auto stopped = runtime::state_json(s, runtime::Status::Stopped);
  CHECK(stopped["pid"] == 0);
  CHECK(stopped["annotations"]["k"] == "v");
  // A pid that is not running is stopped, whatever was recorded.
  s.status = runtime::Status::Running;
  s.pid = 0x3fffffff;
  CHECK(runtime::current_status(s) == runtime::Status::Stopped);
}

TEST_CASE("oci log: text and json lines", "[oci]") {
  std::string t = log::format_line(log::Format::Text, log::Level::Error, "say \"hi\"\n", "2024-01-02T03:04:05Z");
  CHECK(t == R"(time="2024-01-02T03:04:05Z" level=error msg="say \"hi\"\n")");
  std::string j = log::format_line(log::Format::Json, log::Level::Warning, "x\"y", "2024-01-02T03:04:05Z");
  CHECK(j == R"({"level":"warning","msg":"x\"y","time":"2024-01-02T03:04:05Z"})");
}

TEST_CASE("oci spec: linux.resources, cgroupsPath and hooks", "[oci]") {
  oci::Spec s = parse_ok(config(R"(,
      "hooks": {"createRuntime": [{"path": "/usr/bin/hook", "args": ["hook", "a"], "env": ["X=1"], "timeout": 3}],
                "poststop": [{"path": "/bin/true"}]},
      "linux": {"cgroupsPath": "/docker/abc",
                "resources": {"memory": {"limit": 67108864, "reservation": 1000, "swap": -1},
                              "pids": {"limit": 99},
                              "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"}}})"));
  CHECK(s.cgroups_path == "/docker/abc");
  CHECK(s.resources.memory_limit == 67108864);
  CHECK(s.resources.memory_reservation == 1000);
  CHECK(s.resources.memory_swap == -1);
  CHECK(s.resources.pids_limit == 99);
  CHECK(s.resources.cpu_shares == 512u);
  CHECK(s.resources.cpu_quota == 50000);
  CHECK(s.resources.cpu_period == 100000u);
  CHECK(s.resources.cpuset_cpus == "0-1");
  CHECK(s.resources.cpuset_mems == "0");
  CHECK(s.resources.any());
  REQUIRE(s.hooks.create_runtime.size() == 1);
  CHECK(s.hooks.create_runtime[0].path == "/usr/bin/hook");
  CHECK(s.hooks.create_runtime[0].args == std::vector<std::string>{"hook", "a"});
  CHECK(s.hooks.create_runtime[0].env == std::vector<std::string>{"X=1"});
  CHECK(s.hooks.create_runtime[0].timeout == 3);
  CHECK(s.hooks.poststop.size() == 1);
  CHECK(s.unsupported.empty());
  CHECK_FALSE(parse_ok(config("")).resources.any());
  CHECK(parse_error(config(R"(, "hooks": {"prestart": [{"path": "relative"}]})")).rfind("hooks.prestart[0].path", 0) == 0);
  CHECK(parse_error(config(R"(, "hooks": {"prestart": [{"args": []}]})")) == "hooks.prestart[0].path: missing");
  CHECK(parse_error(config(R"(, "hooks": {"poststart": [{"path": "/x", "timeout": 0}]})"))
            .rfind("hooks.poststart[0].timeout", 0) == 0);
  CHECK(parse_error(config(R"(, "linux": {"resources": {"pids": {"limit": "many"}}})"))
            .rfind("linux.resources.pids.limit", 0) == 0);
}

TEST_CASE("oci spec: an exec process object", "[oci]") {
  std::vector<std::string> warnings;
  auto ok = oci::parse_process_spec(
      R"({"args": ["sh", "-c", "id"], "cwd": "/tmp", "env": ["A=1"], "user": {"uid": 1000, "gid": 1000},
          "terminal": true, "apparmorProfile": "docker-default"})",
      &warnings);
  REQUIRE(std::holds_alternative<oci::ProcessSpec>(ok));
  const auto& p = std::get<oci::ProcessSpec>(ok);
  CHECK(p.args.size() == 3);
  CHECK(p.cwd == "/tmp");
  CHECK(p.user.uid == 1000);
  CHECK(p.terminal);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].rfind("process.apparmorProfile", 0) == 0);
  auto bad = oci::parse_process_spec(R"({"cwd": "/"})", nullptr);
  REQUIRE(std::holds_alternative<oci::SpecError>(bad));
  CHECK(std::get<oci::SpecError>(bad).message.rfind("process.args", 0) == 0);
  auto malformed = oci::parse_process_spec("{", nullptr);
  REQUIRE(std::holds_alternative<oci::SpecError>(malformed));
  CHECK(std::get<oci::SpecError>(malformed).message.rfind("malformed JSON", 0) == 0);
}
