// The overlay root (fs/overlay.h) over a scratch host tree: what the guest
// sees after its changes, and that the host tree never changes.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/tmpfs.h"
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

// Where the overlay keeps its upper layer: memory, or a host directory
// (beside the lower tree, or inside it).
enum class Upper { Memory, HostDir, HostDirInside };

std::string xattr_of(const std::filesystem::path& p, const char* name) {
  char buf[256];
  ssize_t n = lgetxattr(p.c_str(), name, buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct OverlayFixture {
  std::filesystem::path base;
  std::filesystem::path upper;  // the host upper directory, if any
  Upper kind;
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<Process> process;
  std::string before;

  explicit OverlayFixture(Upper k = Upper::Memory) : kind(k) {
    char tmpl[] = "/var/tmp/moat-fs-overlay-XXXXXX";
    base = mkdtemp(tmpl);
    std::filesystem::create_directories(base / "etc" / "conf.d");
    std::filesystem::create_directories(base / "usr" / "share" / "empty");
    std::ofstream(base / "etc" / "passwd") << "root:x:0:0\n";
    std::ofstream(base / "etc" / "conf.d" / "a") << "a";
    std::ofstream(base / "etc" / "conf.d" / "b") << "b";
    std::filesystem::create_symlink("passwd", base / "etc" / "pw");
    before = describe(base);
    if (kind == Upper::HostDir) upper = base.string() + "-upper";
    if (kind == Upper::HostDirInside) upper = base / "var" / "upper";
    if (!upper.empty()) std::filesystem::create_directories(upper);
    start();
  }
  // A fresh sandbox over the same layers (the next `moat do`).
  void start() {
    process.reset();
    sandbox.reset();
    SandboxConfig config;
    config.root_dir = base.string();
    config.root_overlay = upper.empty() ? RootOverlay::Memory : RootOverlay::HostDir;
    config.root_overlay_dir = upper.string();
    sandbox = std::make_unique<Sandbox>(config);
    process = std::make_unique<Process>(*sandbox, 1);
    REQUIRE(!setup_process_fs(*sandbox, *process, "/").is_error());
  }
  ~OverlayFixture() {
    process.reset();
    sandbox.reset();
    // The host tree never changes (an upper directory inside it aside).
    if (kind == Upper::HostDirInside) std::filesystem::remove_all(base / "var");
    CHECK(describe(base) == before);
    std::filesystem::remove_all(base);
    if (kind == Upper::HostDir) std::filesystem::remove_all(upper);
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
    if (!dynamic_cast<TmpFile*>(tmp)) {
      // A host file writes through the worker's io_uring, which unit tests
      // lack: write its host fd directly.
      struct stat st {};
      REQUIRE(fstat(tmp->mmap_fd(), &st) == 0);
      off_t at = (flags & O_APPEND) ? st.st_size : 0;
      REQUIRE(pwrite(tmp->mmap_fd(), data.data(), data.size(), at) == static_cast<ssize_t>(data.size()));
      return;
    }
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
  OverlayFixture f(GENERATE(Upper::Memory, Upper::HostDir, Upper::HostDirInside));
  ino_t ino = f.stat_of("/etc/passwd").st_ino;
  f.write("/etc/passwd", "guest\n", O_WRONLY | O_APPEND);
  CHECK(f.read("/etc/passwd") == "root:x:0:0\nguest\n");
  CHECK(f.stat_of("/etc/passwd").st_ino == ino);  // a copy-up keeps the inode number
  f.write("/usr/share/new", "n");
  CHECK(f.read("/usr/share/new") == "n");
  CHECK(f.names("/usr/share") == std::vector<std::string>{"empty", "new"});
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/opt", 0755).is_error());
  if (f.kind == Upper::HostDirInside) {
    CHECK(f.names("/").size() == 4);  // etc, opt, usr, var
    CHECK(f.names("/var").empty());   // the upper directory never shows
    CHECK(!f.exists("/var/upper"));
  } else {
    CHECK(f.names("/").size() == 3);  // etc, opt, usr
  }
}

TEST_CASE("overlay: whiteouts and opaque directories", "[fs][overlay]") {
  OverlayFixture f(GENERATE(Upper::Memory, Upper::HostDir, Upper::HostDirInside));
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
  OverlayFixture f(GENERATE(Upper::Memory, Upper::HostDir, Upper::HostDirInside));
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
  OverlayFixture f(GENERATE(Upper::Memory, Upper::HostDir, Upper::HostDirInside));
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

TEST_CASE("overlay: every copy-up brings the extended attributes along", "[fs][overlay]") {
  OverlayFixture f(GENERATE(Upper::Memory, Upper::HostDir));
  REQUIRE(setxattr((f.base / "etc" / "conf.d" / "a").c_str(), "user.k", "v", 1, 0) == 0);
  REQUIRE(setxattr((f.base / "etc" / "passwd").c_str(), "user.k", "w", 1, 0) == 0);
  Caller root = Caller::of(f.p());
  auto a = resolve_at(f.p(), AT_FDCWD, "/etc/conf.d/a", 0).release_value();
  CHECK(!a.node().chmod(root, 0600).is_error());
  CHECK(a.node().getxattr("user.k").value() == "v");
  f.write("/etc/passwd", "x", O_WRONLY | O_APPEND);
  auto pw = resolve_at(f.p(), AT_FDCWD, "/etc/passwd", 0).release_value();
  CHECK(pw.node().getxattr("user.k").value() == "w");
  CHECK(pw.node().listxattr().value() == std::vector<std::string>{"user.k"});
  if (f.kind == Upper::HostDir) {
    CHECK(xattr_of(f.upper / "etc" / "passwd", "user.k") == "w");
    // The overlay's own attributes stay its own.
    CHECK(pw.node().getxattr("user.overlay.moat.ino").error() == Errno::NOTSUP);
    CHECK(pw.node().setxattr("user.overlay.opaque", "y", 0).error() == Errno::NOTSUP);
  }
}

TEST_CASE("overlay: a host upper directory keeps the changes for the next run", "[fs][overlay]") {
  OverlayFixture f(GENERATE(Upper::HostDir, Upper::HostDirInside));
  ino_t ino = f.stat_of("/etc/passwd").st_ino;
  f.write("/etc/passwd", "guest\n", O_WRONLY | O_APPEND);
  f.write("/usr/share/new", "n");
  for (const char* p : {"/etc/conf.d/a", "/etc/conf.d/b"}) CHECK(!unlink_at(f.p(), AT_FDCWD, p, 0).is_error());
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/etc/conf.d", AT_REMOVEDIR).is_error());
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/etc/conf.d", 0755).is_error());
  CHECK(!rename_at(f.p(), AT_FDCWD, "/etc/pw", AT_FDCWD, "/usr/pw", 0).is_error());
  // Laid out as overlayfs (userxattr) lays out an upper directory.
  CHECK(read_file(f.upper / "etc" / "passwd") == "root:x:0:0\nguest\n");
  CHECK(xattr_of(f.upper / "etc" / "conf.d", "user.overlay.opaque") == "y");
  struct stat wh {};
  CHECK(lstat((f.upper / "etc" / "pw").c_str(), &wh) == 0);
  CHECK((S_ISCHR(wh.st_mode) && wh.st_rdev == 0));

  f.start();
  CHECK(f.read("/etc/passwd") == "root:x:0:0\nguest\n");
  CHECK(f.stat_of("/etc/passwd").st_ino == ino);
  CHECK(f.read("/usr/share/new") == "n");
  CHECK(f.names("/etc") == std::vector<std::string>{"conf.d", "passwd"});
  CHECK(f.names("/etc/conf.d").empty());
  CHECK(!f.exists("/etc/pw"));
  CHECK(S_ISLNK(f.stat_of("/usr/pw").st_mode));
  // A name made again where a whiteout stands.
  f.write("/etc/pw", "file");
  CHECK(f.read("/etc/pw") == "file");
}

TEST_CASE("overlay: a host upper directory with xattr whiteouts", "[fs][overlay]") {
  // What overlayfs writes where mknod is refused: an empty file marked as a
  // whiteout in a directory marked as holding such files; and an opaque
  // directory.
  OverlayFixture f(Upper::HostDir);
  std::filesystem::create_directories(f.upper / "etc");
  std::filesystem::create_directories(f.upper / "usr" / "share");
  std::ofstream(f.upper / "etc" / "passwd").close();
  REQUIRE(setxattr((f.upper / "etc" / "passwd").c_str(), "user.overlay.whiteout", "y", 1, 0) == 0);
  REQUIRE(setxattr((f.upper / "etc").c_str(), "user.overlay.opaque", "x", 1, 0) == 0);
  REQUIRE(setxattr((f.upper / "usr" / "share").c_str(), "user.overlay.opaque", "y", 1, 0) == 0);
  f.start();
  CHECK(!f.exists("/etc/passwd"));
  CHECK(f.names("/etc") == std::vector<std::string>{"conf.d", "pw"});
  CHECK(f.names("/usr/share").empty());
  f.write("/etc/passwd", "new");
  CHECK(f.read("/etc/passwd") == "new");
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
