// The mount API the OCI runtime uses at sandbox creation (fs/vfs.h): host
// binds, tmpfs mounts, masked and read-only paths.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fs/file.h"
#include "fs/tmpfs.h"
#include "fs/vfs.h"

using namespace moat;
using namespace moat::fs;

namespace {

struct HostTree {
  std::filesystem::path base, root, vol;
  HostTree() {
    char tmpl[] = "/var/tmp/moat-mounts-test-XXXXXX";
    base = mkdtemp(tmpl);
    root = base / "root";
    vol = base / "vol";
    std::filesystem::create_directories(root / "etc");
    std::filesystem::create_directories(root / "proc_like" / "sub");
    std::filesystem::create_directories(vol / "d");
    std::ofstream(root / "etc" / "hosts") << "tree hosts";
    std::ofstream(root / "proc_like" / "kcore") << "sensitive";
    std::ofstream(vol / "data.txt") << "volume data";
    std::ofstream(base / "single.conf") << "single file";
  }
  ~HostTree() { std::filesystem::remove_all(base); }
};

ErrorOr<Location> walk(Vfs& vfs, const std::string& path) {
  Caller caller;
  Location root = vfs.root();
  return vfs.resolve(caller, root, root, path, kFollowLast);
}

std::string read_path(Vfs& vfs, const std::string& path) {
  auto loc = walk(vfs, path);
  REQUIRE(!loc.is_error());
  Caller caller;
  auto file = loc.value().node_ref()->open(caller, loc.value(), O_RDONLY);
  REQUIRE(!file.is_error());
  std::string out(256, '\0');
  auto n = file.value()->pread_sync(std::as_writable_bytes(std::span(out)), 0);
  REQUIRE(!n.is_error());
  out.resize(n.value());
  return out;
}

// Creates name in dir (an existing guest directory) as uid 0.
ErrorOr<void> create_in(Vfs& vfs, const std::string& dir, const std::string& name) {
  auto loc = TRY(walk(vfs, dir));
  Caller caller;
  if (loc.node().fs_info().read_only) return Errno::ROFS;
  TRY(loc.node().create(caller, name, 0644));
  return {};
}

}  // namespace

TEST_CASE("OCI mounts: read-only host bind of a directory and of a file") {
  HostTree t;
  auto vfs = Vfs::create(t.root.string(), RootOverlay::Memory).release_value();
  REQUIRE(!vfs->bind_host_path(t.vol.string(), "/mnt/vol", Vfs::Access::ReadOnly).is_error());
  CHECK(read_path(*vfs, "/mnt/vol/data.txt") == "volume data");
  CHECK(create_in(*vfs, "/mnt/vol", "new").error() == Errno::ROFS);
  REQUIRE(!vfs->bind_host_path((t.base / "single.conf").string(), "/etc/single.conf", Vfs::Access::ReadOnly)
               .is_error());
  CHECK(read_path(*vfs, "/etc/single.conf") == "single file");
  // ".." from the bind's root is the guest's parent directory.
  auto up = walk(*vfs, "/mnt/vol/..");
  REQUIRE(!up.is_error());
  CHECK(up.value().path() == "/mnt");
  auto mounts = vfs->mounts();
  bool found = false;
  for (const auto& [path, node] : mounts) found |= path == "/mnt/vol";
  CHECK(found);
}

TEST_CASE("OCI mounts: read-write host bind writes through to the host") {
  HostTree t;
  auto vfs = Vfs::create(t.root.string(), RootOverlay::Memory).release_value();
  REQUIRE(!vfs->bind_host_path(t.vol.string(), "/data", Vfs::Access::ReadWrite).is_error());
  REQUIRE(!create_in(*vfs, "/data", "written").is_error());
  CHECK(!walk(*vfs, "/data/written").is_error());
  CHECK(std::filesystem::exists(t.vol / "written"));
}

TEST_CASE("OCI mounts: tmpfs with a size") {
  HostTree t;
  auto vfs = Vfs::create(t.root.string(), RootOverlay::Memory).release_value();
  REQUIRE(!vfs->mount_tmpfs("/run/small", 8192, 0700).is_error());
  auto loc = walk(*vfs, "/run/small");
  REQUIRE(!loc.is_error());
  auto st = loc.value().node().stat();
  REQUIRE(!st.is_error());
  CHECK((st.value().st_mode & 07777) == 0700);
  Caller caller;
  auto node = loc.value().node().create(caller, "f", 0644);
  REQUIRE(!node.is_error());
  Location floc = loc.value();
  floc.entries.push_back(PathEntry{"f", node.value()});
  auto file = node.value()->open(caller, floc, O_RDWR);
  REQUIRE(!file.is_error());
  auto* tmp = dynamic_cast<TmpFile*>(file.value().ptr());
  REQUIRE(tmp != nullptr);
  std::string page(4096, 'x');
  CHECK(!tmp->pwrite_sync(std::as_bytes(std::span(page)), 0).is_error());
  CHECK(!tmp->pwrite_sync(std::as_bytes(std::span(page)), 4096).is_error());
  auto full = tmp->pwrite_sync(std::as_bytes(std::span(page)), 8192);
  REQUIRE(full.is_error());
  CHECK(full.error() == Errno::NOSPC);
}

TEST_CASE("OCI mounts: masked and read-only paths") {
  HostTree t;
  auto vfs = Vfs::create(t.root.string(), RootOverlay::Memory).release_value();
  REQUIRE(!vfs->mask_path("/proc_like").is_error());
  REQUIRE(!vfs->mask_path("/etc/hosts").is_error());
  REQUIRE(!vfs->mask_path("/does/not/exist").is_error());
  CHECK(walk(*vfs, "/proc_like/kcore").error() == Errno::NOENT);
  CHECK(create_in(*vfs, "/proc_like", "x").error() == Errno::ROFS);
  CHECK(read_path(*vfs, "/etc/hosts").empty());
  REQUIRE(!vfs->make_path_read_only("/etc").is_error());
  REQUIRE(!vfs->make_path_read_only("/missing").is_error());
  CHECK(create_in(*vfs, "/etc", "new").error() == Errno::ROFS);
  // The rest of the root stays writable.
  CHECK(!create_in(*vfs, "/", "elsewhere").is_error());
}
