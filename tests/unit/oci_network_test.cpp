// linux.sysctl as runc checks it, and which network namespace a container
// gets from the spec and moat's --network flag (runtime/netns.h).

#include <catch2/catch.hpp>
#include <string>

#include "config/oci_spec.h"
#include "runtime/netns.h"

using namespace moat;

namespace {

std::string with_linux(const std::string& linux_object) {
  return R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
             "process": {"args": ["sh"], "cwd": "/"}, "linux": )" +
         linux_object + "}";
}

std::vector<oci::Namespace> namespaces(std::initializer_list<oci::Namespace> list) { return list; }

}  // namespace

TEST_CASE("oci sysctl: the spec's map is kept in file order", "[oci]") {
  auto r = oci::parse_spec(with_linux(R"({"namespaces": [{"type": "ipc"}, {"type": "network"}],
      "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1", "net/ipv4/ping_group_range": "0 0"}})"));
  REQUIRE(std::holds_alternative<oci::Spec>(r));
  const auto& sysctl = std::get<oci::Spec>(r).sysctl;
  REQUIRE(sysctl.size() == 3);
  CHECK(sysctl[0] == std::pair<std::string, std::string>{"net.ipv4.ip_forward", "1"});
  CHECK(sysctl[1].first == "kernel.shm_rmid_forced");
  CHECK(sysctl[2].second == "0 0");
}

TEST_CASE("oci sysctl: runc's rules, with runc's words", "[oci]") {
  auto error_of = [](const std::string& linux_object) -> std::string {
    auto r = oci::parse_spec(with_linux(linux_object));
    if (auto* e = std::get_if<oci::SpecError>(&r)) return e->message;
    return "";
  };
  CHECK(error_of(R"({"namespaces": [{"type": "uts"}], "sysctl": {"kernel.hostname": "x"}})") ==
        "linux.sysctl: sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field");
  CHECK(error_of(R"({"namespaces": [{"type": "uts"}], "sysctl": {"kernel.pid_max": "5"}})") ==
        "linux.sysctl: sysctl \"kernel.pid_max\" is not in a separate kernel namespace");
  CHECK(error_of(R"({"namespaces": [{"type": "pid"}], "sysctl": {"net.ipv4.ip_forward": "1"}})") ==
        "linux.sysctl: sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");
  CHECK(error_of(R"({"namespaces": [{"type": "pid"}], "sysctl": {"kernel.msgmax": "1"}})") ==
        "linux.sysctl: sysctl \"kernel.msgmax\" is not allowed in the hosts ipc namespace");
  CHECK(error_of(R"({"sysctl": {"kernel.sem": 5}})").find("linux.sysctl.kernel.sem: expected a string") == 0);
  CHECK(error_of(R"({"sysctl": ["net.ipv4.ip_forward"]})").find("linux.sysctl: expected an object") == 0);
  // Allowed: each in a namespace of the container's own.
  CHECK(error_of(R"({"namespaces": [{"type": "uts"}], "sysctl": {"kernel.domainname": "d"}})").empty());
  CHECK(error_of(R"({"namespaces": [{"type": "ipc"}], "sysctl": {"fs.mqueue.msg_max": "9", "kernel.sem": "1 2 3 4"}})").empty());
  CHECK(error_of(R"({"namespaces": [{"type": "network", "path": "/x"}], "sysctl": {"net/core/somaxconn": "9"}})").empty());
  CHECK(oci::sysctl_error("kernel.shmmax", {{"ipc", ""}}) == std::nullopt);
  CHECK(oci::sysctl_error("kernel/shmmax", {}).value() == "sysctl \"kernel/shmmax\" is not allowed in the hosts ipc namespace");
}

TEST_CASE("oci network: the spec and --network choose the namespace", "[oci]") {
  using runtime::NetworkFlag;
  auto choose = [](NetworkFlag flag, std::vector<oci::Namespace> ns) {
    SandboxConfig c;
    runtime::choose_network(flag, ns, c);
    return std::pair{c.network, c.netns_path};
  };
  auto joined = namespaces({{"pid", ""}, {"network", "/var/run/netns/x"}});
  auto fresh = namespaces({{"pid", ""}, {"network", ""}});
  auto none = namespaces({{"pid", ""}});
  // Without the flag the spec decides, as with runc.
  CHECK(choose(NetworkFlag::Unset, joined) == std::pair{NetworkMode::Join, std::string("/var/run/netns/x")});
  CHECK(choose(NetworkFlag::Unset, fresh) == std::pair{NetworkMode::New, std::string()});
  CHECK(choose(NetworkFlag::Unset, none) == std::pair{NetworkMode::Host, std::string()});
  // host: the host's, unless the spec names a namespace to join.
  CHECK(choose(NetworkFlag::Host, joined).first == NetworkMode::Join);
  CHECK(choose(NetworkFlag::Host, fresh).first == NetworkMode::Host);
  CHECK(choose(NetworkFlag::Host, none).first == NetworkMode::Host);
  // sandbox: a namespace of its own unless one is given; none: always new.
  CHECK(choose(NetworkFlag::Sandbox, joined).first == NetworkMode::Join);
  CHECK(choose(NetworkFlag::Sandbox, none).first == NetworkMode::New);
  CHECK(choose(NetworkFlag::None, joined) == std::pair{NetworkMode::New, std::string()});
  CHECK(choose(NetworkFlag::None, none).first == NetworkMode::New);

  CHECK(runtime::parse_network_flag("host") == NetworkFlag::Host);
  CHECK(runtime::parse_network_flag("none") == NetworkFlag::None);
  CHECK(runtime::parse_network_flag("sandbox") == NetworkFlag::Sandbox);
  CHECK_FALSE(runtime::parse_network_flag("bridge").has_value());
}
