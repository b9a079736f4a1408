// The overlay root (fs/overlay.h) over a scratch host tree: what the guest
// sees after its changes, and that the host tree never changes.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"

using namespace moat;
using namespace moat::fs;

namespace {

// Every path under base with its type, size, mode and content, for
// comparing the host tree before and after.
std::string describe(const std::filesystem::path& base) {
  std::vector<std::string> lines;
  for (const auto& e : std::filesystem::recursive_directory_iterator(base)) {
    struct stat st {};
    lstat(e.path().c_str(), &st);
    std::ostringstream line;
    line << e.path().string() << " " << std::oct << st.st_mode << std::dec << " " << st.st_size << " "
         << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " " << st.st_nlink;
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(e.path());
      line << " " << std::string(std::istreambuf_iterator<char>(in), {});
    }
    lines.push_back(line.str());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

struct OverlayFixture {
  std::filesystem::path base;
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<Process> process;
  std::string before;

  OverlayFixture() {
    char tmpl[] = "/var/tmp/moat-fs-overlay-XXXXXX";
    base = mkdtemp(tmpl);
    std::filesystem::create_directories(base / "etc" / "conf.d");
    std::filesystem::create_directories(base / "usr" / "share" / "empty");
    std::ofstream(base / "etc" / "passwd") << "root:x:0:0\n";
    std::ofstream(base / "etc" / "conf.d" / "a") << "a";
    std::ofstream(base / "etc" / "conf.d" / "b") << "b";
    std::filesystem::create_symlink("passwd", base / "etc" / "pw");
    SandboxConfig config;
    config.root_dir = base.string();
    config.root_overlay = RootOverlay::Memory;
    sandbox = std::make_unique<Sandbox>(config);
    process = std::make_unique<Process>(*sandbox, 1);
    REQUIRE(!setup_process_fs(*sandbox, *process, "/").is_error());
    before = describe(base);
  }
  ~OverlayFixture() {
    CHECK(describe(base) == before);  // the host tree never changes
    std::filesystem::remove_all(base);
  }
  Process& p() { return *process; }

  std::string read(std::string_view path) {
    auto file = open_path(p(), AT_FDCWD, path, O_RDONLY, 0);
    if (file.is_error()) return "<" + std::string(errno_name(file.error())) + ">";
    std::string out(4096, '\0');
    size_t n = file.value()->pread_sync(std::as_writable_bytes(std::span(out)), 0).value();
    out.resize(n);
    return out;
  }
  void write(std::string_view path, std::string_view data, int flags = O_WRONLY | O_CREAT | O_TRUNC) {
    auto file = open_path(p(), AT_FDCWD, path, flags, 0644);
    REQUIRE(!file.is_error());
    auto* tmp = file.value().ptr();
    std::optional<ErrorOr<size_t>> r;
    spawn(tmp->write(std::as_bytes(std::span(data.data(), data.size())), -1),
          [&](ErrorOr<size_t> v) { r.emplace(std::move(v)); });
    REQUIRE(r.has_value());
    REQUIRE(!r->is_error());
  }
  std::vector<std::string> names(std::string_view path) {
    auto loc = resolve_at(p(), AT_FDCWD, path, 0);
    REQUIRE(!loc.is_error());
    auto entries = loc.value().node().list(Caller::of(p()));
    REQUIRE(!entries.is_error());
    std::vector<std::string> out;
    for (const auto& e : entries.value())
      if (e.name != "." && e.name != "..") out.push_back(e.name);
    std::sort(out.begin(), out.end());
    return out;
  }
  struct stat stat_of(std::string_view path) {
    auto loc = resolve_at(p(), AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
    REQUIRE(!loc.is_error());
    return loc.value().node().stat().value();
  }
  bool exists(std::string_view path) { return !resolve_at(p(), AT_FDCWD, path, AT_SYMLINK_NOFOLLOW).is_error(); }
};

}  // namespace

TEST_CASE("overlay: writes go to the upper layer", "[fs][overlay]") {
  OverlayFixture f;
  ino_t ino = f.stat_of("/etc/passwd").st_ino;
  f.write("/etc/passwd", "guest\n", O_WRONLY | O_APPEND);
  CHECK(f.read("/etc/passwd") == "root:x:0:0\nguest\n");
  CHECK(f.stat_of("/etc/passwd").st_ino == ino);  // a copy-up keeps the inode number
  f.write("/usr/share/new", "n");
  CHECK(f.read("/usr/share/new") == "n");
  CHECK(f.names("/usr/share") == std::vector<std::string>{"empty", "new"});
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/opt", 0755).is_error());
  CHECK(f.names("/").size() == 3);  // etc, opt, usr
}

TEST_CASE("overlay: whiteouts and opaque directories", "[fs][overlay]") {
  OverlayFixture f;
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/etc/passwd", 0).is_error());
  CHECK(!f.exists("/etc/passwd"));
  CHECK(f.read("/etc/pw") == "<ENOENT>");  // a dangling link now
  CHECK(f.names("/etc") == std::vector<std::string>{"conf.d", "pw"});
  CHECK(unlink_at(f.p(), AT_FDCWD, "/etc/conf.d", AT_REMOVEDIR).error() == Errno::NOTEMPTY);
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/etc/conf.d/a", 0).is_error());
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/etc/conf.d/b", 0).is_error());
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/etc/conf.d", AT_REMOVEDIR).is_error());
  CHECK(!f.exists("/etc/conf.d"));
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/etc/conf.d", 0700).is_error());
  CHECK(f.names("/etc/conf.d").empty());  // opaque: a and b stay hidden
  CHECK((f.stat_of("/etc/conf.d").st_mode & 07777) == 0700);
  f.write("/etc/passwd", "again");
  CHECK(f.read("/etc/passwd") == "again");
}

TEST_CASE("overlay: renames", "[fs][overlay]") {
  OverlayFixture f;
  CHECK(!rename_at(f.p(), AT_FDCWD, "/etc/passwd", AT_FDCWD, "/usr/passwd", 0).is_error());
  CHECK(!f.exists("/etc/passwd"));
  CHECK(f.read("/usr/passwd") == "root:x:0:0\n");
  // Directories with host content do not move; new ones do.
  CHECK(rename_at(f.p(), AT_FDCWD, "/etc/conf.d", AT_FDCWD, "/etc/conf", 0).error() == Errno::XDEV);
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/etc/mine", 0755).is_error());
  f.write("/etc/mine/x", "x");
  CHECK(!rename_at(f.p(), AT_FDCWD, "/etc/mine", AT_FDCWD, "/usr/mine", 0).is_error());
  CHECK(f.read("/usr/mine/x") == "x");
  // Over a host file, and over an empty host directory.
  CHECK(!rename_at(f.p(), AT_FDCWD, "/usr/passwd", AT_FDCWD, "/etc/conf.d/a", 0).is_error());
  CHECK(f.read("/etc/conf.d/a") == "root:x:0:0\n");
  CHECK(!rename_at(f.p(), AT_FDCWD, "/usr/mine", AT_FDCWD, "/usr/share/empty", 0).is_error());
  CHECK(f.names("/usr/share/empty") == std::vector<std::string>{"x"});
  CHECK(rename_at(f.p(), AT_FDCWD, "/etc/pw", AT_FDCWD, "/etc/conf.d/b", RENAME_NOREPLACE).error() == Errno::EXIST);
  CHECK(!rename_at(f.p(), AT_FDCWD, "/etc/pw", AT_FDCWD, "/etc/conf.d/b", RENAME_EXCHANGE).is_error());
  CHECK(S_ISLNK(f.stat_of("/etc/conf.d/b").st_mode));
  CHECK(f.read("/etc/pw") == "b");
}

TEST_CASE("overlay: metadata changes and links", "[fs][overlay]") {
  OverlayFixture f;
  Caller root = Caller::of(f.p());
  auto loc = resolve_at(f.p(), AT_FDCWD, "/etc/conf.d/a", 0).release_value();
  CHECK(!loc.node().chmod(root, 0600).is_error());
  CHECK(!loc.node().chown(root, 7, 8).is_error());
  struct timespec t[2] = {{100, 0}, {200, 0}};
  CHECK(!loc.node().set_times(root, t[0], t[1]).is_error());
  struct stat st = f.stat_of("/etc/conf.d/a");
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 7);
  CHECK(st.st_mtim.tv_sec == 200);
  CHECK(f.read("/etc/conf.d/a") == "a");
  // A node looked up before the copy-up sees it.
  auto early = resolve_at(f.p(), AT_FDCWD, "/etc/conf.d/b", 0).release_value();
  CHECK(!link_at(f.p(), AT_FDCWD, "/etc/conf.d/b", AT_FDCWD, "/usr/b", 0).is_error());
  CHECK(f.stat_of("/usr/b").st_nlink == 2);
  CHECK(early.node().stat().value().st_nlink == 2);
  CHECK(link_at(f.p(), AT_FDCWD, "/etc", AT_FDCWD, "/etc2", 0).error() == Errno::PERM);
  CHECK(link_at(f.p(), AT_FDCWD, "/etc/passwd", AT_FDCWD, "/tmp/p", 0).error() == Errno::XDEV);
  CHECK(!mknod_at(f.p(), AT_FDCWD, "/etc/fifo", S_IFIFO | 0600, 0).is_error());
  CHECK(S_ISFIFO(f.stat_of("/etc/fifo").st_mode));
  CHECK(mknod_at(f.p(), AT_FDCWD, "/etc/null", S_IFCHR | 0600, makedev(1, 3)).error() == Errno::PERM);
  CHECK(!loc.node().truncate(0).is_error());
  CHECK(f.read("/etc/conf.d/a").empty());
}

TEST_CASE("overlay: --overlay none keeps the root read-only", "[fs][overlay]") {
  char tmpl[] = "/var/tmp/moat-fs-overlay-XXXXXX";
  std::filesystem::path base = mkdtemp(tmpl);
  SandboxConfig config;
  config.root_dir = base.string();
  Sandbox sandbox(config);
  Process process(sandbox, 1);
  REQUIRE(!setup_process_fs(sandbox, process, "/").is_error());
  CHECK(mkdir_at(process, AT_FDCWD, "/x", 0755).error() == Errno::ROFS);
  CHECK(mknod_at(process, AT_FDCWD, "/f", S_IFIFO | 0600, 0).error() == Errno::ROFS);
  std::filesystem::remove_all(base);
}
