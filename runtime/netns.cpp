#include "runtime/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace moat::runtime {

namespace {

int g_original_netns = -1;

// setns and unshare of CLONE_NEWNET move only the calling thread: a
// thread started earlier would keep making sockets in the old namespace.
int thread_count() {
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return -1;
  int n = 0;
  while (dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') n++;
  ::closedir(dir);
  return n;
}

std::string bring_up_loopback() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return std::string("socket: ") + strerror(errno);
  ifreq req{};
  strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) return std::string("SIOCGIFFLAGS lo: ") + strerror(errno);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) return std::string("SIOCSIFFLAGS lo: ") + strerror(errno);
  return {};
}

}  // namespace

std::optional<NetworkFlag> parse_network_flag(const std::string& text) {
  if (text == "sandbox") return NetworkFlag::Sandbox;
  if (text == "host") return NetworkFlag::Host;
  if (text == "none") return NetworkFlag::None;
  return std::nullopt;
}

void choose_network(NetworkFlag flag, const std::vector<oci::Namespace>& namespaces, SandboxConfig& config) {
  const oci::Namespace* entry = nullptr;
  for (const oci::Namespace& ns : namespaces)
    if (ns.type == "network") entry = &ns;
  config.netns_path.clear();
  if (flag != NetworkFlag::None && entry && !entry->path.empty()) {
    config.network = NetworkMode::Join;
    config.netns_path = entry->path;
    return;
  }
  switch (flag) {
    case NetworkFlag::None:
    case NetworkFlag::Sandbox: config.network = NetworkMode::New; return;
    case NetworkFlag::Host: config.network = NetworkMode::Host; return;
    case NetworkFlag::Unset: config.network = entry ? NetworkMode::New : NetworkMode::Host; return;
  }
}

std::string enter_network(const SandboxConfig& config) {
  if (config.network == NetworkMode::Host) return {};
  if (int n = thread_count(); n != 1)
    return "entering the network namespace: the sentry already runs " + std::to_string(n) + " threads";
  if (g_original_netns < 0) g_original_netns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (config.network == NetworkMode::Join) {
    UniqueFd ns(::open(config.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return "network namespace " + config.netns_path + ": " + strerror(errno);
    if (::setns(ns.get(), CLONE_NEWNET) != 0)
      return "joining the network namespace " + config.netns_path + ": " + strerror(errno);
    return {};
  }
  if (::unshare(CLONE_NEWNET) != 0) return std::string("creating a network namespace: ") + strerror(errno);
  if (auto error = bring_up_loopback(); !error.empty()) return "bringing up loopback: " + error;
  return {};
}

int original_netns_fd() { return g_original_netns; }

std::vector<std::string> apply_net_sysctls(const SandboxConfig& config) {
  std::vector<std::string> warnings;
  for (const auto& [path, text] : config.sysctls) {
    if (path.rfind("net/", 0) != 0) continue;
    std::string key = "linux.sysctl " + path;
    if (config.network == NetworkMode::Host) {
      warnings.push_back(key + ": the sandbox uses the host's network namespace: shown to the guest only");
      continue;
    }
    UniqueFd fd(::open(("/proc/sys/" + path).c_str(), O_WRONLY | O_CLOEXEC));
    std::string value = text;
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (!fd || ::write(fd.get(), value.data(), value.size()) < 0)
      warnings.push_back(key + ": not set in the network namespace (" + strerror(errno) + "): shown to the guest only");
  }
  return warnings;
}

}  // namespace moat::runtime
