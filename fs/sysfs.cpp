#include "fs/sysfs.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "fs/file.h"
#include "fs/synthetic.h"

namespace moat::fs {

namespace {

const std::shared_ptr<const FsInfo>& sysfs_info() {
  static const auto info =
      std::make_shared<const FsInfo>(FsInfo{makedev(0, 21), 0x62656572 /* SYSFS_MAGIC */, true, "sysfs"});
  return info;
}

// A read-only attribute whose text is computed at open.
class SysAttr final : public Node {
 public:
  SysAttr(ino_t ino, std::function<std::string()> gen) : Node(S_IFREG), m_ino(ino), m_gen(std::move(gen)) {}
  const FsInfo& fs_info() const override { return *sysfs_info(); }
  // sysfs attributes report a page as their size (kernfs).
  ErrorOr<struct stat> stat() const override { return synthetic_stat(*sysfs_info(), m_ino, S_IFREG | 0444, 4096); }
  ErrorOr<RefPtr<File>> open(const Caller&, const Location& loc, int flags) override {
    return BufferFile::create(loc, flags, m_gen());
  }

 private:
  ino_t m_ino;
  std::function<std::string()> m_gen;
};

// The host's view of a CPU list ("0-1\n"), or all the CPUs online in the
// sentry's view when the host's sysfs is not reachable.
std::string cpu_list(const char* name) {
  std::string path = std::string("/sys/devices/system/cpu/") + name;
  if (FILE* f = fopen(path.c_str(), "re")) {
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n > 0 && buf[n - 1] == '\n') return std::string(buf, n);
  }
  long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  return cpus == 1 ? std::string("0\n") : "0-" + std::to_string(cpus - 1) + "\n";
}

// The CPU numbers a list like "0-3,5" names.
std::vector<int> parse_cpu_list(const std::string& list) {
  std::vector<int> out;
  size_t i = 0;
  while (i < list.size()) {
    int lo = 0, hi = 0, used = 0;
    if (sscanf(list.c_str() + i, "%d-%d%n", &lo, &hi, &used) == 2) {
    } else if (sscanf(list.c_str() + i, "%d%n", &lo, &used) == 1) {
      hi = lo;
    } else {
      break;
    }
    for (int c = lo; c <= hi && c < 4096; c++) out.push_back(c);
    i += static_cast<size_t>(used);
    if (i < list.size() && list[i] == ',') ++i;
    else break;
  }
  return out;
}

}  // namespace

RefPtr<Node> create_sysfs() {
  const auto& fs = sysfs_info();
  ino_t next = 1;
  auto root = make_ref<SynthDir>(fs, next++, 0555);
  auto devices = make_ref<SynthDir>(fs, next++, 0755);
  auto system = make_ref<SynthDir>(fs, next++, 0755);
  auto cpu = make_ref<SynthDir>(fs, next++, 0755);
  auto fsdir = make_ref<SynthDir>(fs, next++, 0755);
  root->add("devices", devices);
  root->add("fs", fsdir);
  devices->add("system", system);
  system->add("cpu", cpu);
  fsdir->add("cgroup", make_ref<SynthDir>(fs, next++, 0755));
  for (const char* name : {"online", "possible", "present"})
    cpu->add(name, make_ref<SysAttr>(next++, [name] { return cpu_list(name); }));
  for (int c : parse_cpu_list(cpu_list("possible"))) cpu->add("cpu" + std::to_string(c), make_ref<SynthDir>(fs, next++, 0755));
  return root;
}

}  // namespace moat::fs
