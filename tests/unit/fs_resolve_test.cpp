// Path resolution: the isolation invariant (no guest path reaches outside the
// sandbox root) and the walk's error rules.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fs/file.h"
#include "fs/host_fs.h"
#include "fs/vfs.h"

using namespace moat;
using namespace moat::fs;

namespace {

// A host tree:  <tmp>/secret.txt          (outside the sandbox)
//               <tmp>/root/etc/passwd      ("sandbox passwd")
//               <tmp>/root/a/b/            and many symlinks
struct Tree {
  std::filesystem::path base, root;
  Tree() {
    char tmpl[] = "/var/tmp/moat-fs-test-XXXXXX";
    base = mkdtemp(tmpl);
    root = base / "root";
    std::filesystem::create_directories(root / "etc");
    std::filesystem::create_directories(root / "a" / "b");
    std::ofstream(base / "secret.txt") << "host secret";
    std::ofstream(root / "etc" / "passwd") << "sandbox passwd";
    std::ofstream(root / "file") << "x";
    auto link = [&](const char* target, const char* name) { std::filesystem::create_symlink(target, root / name); };
    link("/etc", "abs_etc");
    link("../../../../../etc", "dotdot_etc");
    link("/../../etc/passwd", "abs_dotdot_passwd");
    link("../../../../../../secret.txt", "rel_secret");
    link((base / "secret.txt").c_str(), "host_abs_secret");
    link("../../../..", "a/b/up");
    link("loop2", "loop1");
    link("loop1", "loop2");
    link("file", "to_file");
    // chain0 -> chain1 -> ... -> chain40 -> file
    for (int i = 0; i <= 40; ++i) {
      std::string target = i == 40 ? "file" : "chain" + std::to_string(i + 1);
      std::filesystem::create_symlink(target, root / ("chain" + std::to_string(i)));
    }
  }
  ~Tree() { std::filesystem::remove_all(base); }
};

std::string read_all(const Location& loc) {
  Caller caller;
  auto file = loc.node_ref()->open(caller, loc, O_RDONLY);
  REQUIRE(!file.is_error());
  std::string out(256, '\0');
  auto n = file.value()->pread_sync(std::as_writable_bytes(std::span(out)), 0);
  REQUIRE(!n.is_error());
  out.resize(n.value());
  return out;
}

struct Fixture {
  Tree tree;
  std::unique_ptr<Vfs> vfs;
  Location root;
  Caller caller;
  Fixture() {
    auto v = Vfs::create(tree.root.string());
    REQUIRE(!v.is_error());
    vfs = v.release_value();
    root = vfs->root();
  }
  ErrorOr<Location> resolve(std::string_view path, unsigned flags = kFollowLast) {
    return vfs->resolve(caller, root, root, path, flags);
  }
  Errno error_of(std::string_view path, unsigned flags = kFollowLast) {
    auto r = resolve(path, flags);
    return r.is_error() ? r.error() : Errno::Ok;
  }
};

}  // namespace

TEST_CASE("fs: symlinks to absolute paths stay inside the sandbox root", "[fs][isolation]") {
  Fixture f;
  auto loc = f.resolve("/abs_etc/passwd");
  REQUIRE(!loc.is_error());
  CHECK(loc.value().path() == "/etc/passwd");
  CHECK(read_all(loc.value()) == "sandbox passwd");

  auto loc2 = f.resolve("/abs_dotdot_passwd");
  REQUIRE(!loc2.is_error());
  CHECK(read_all(loc2.value()) == "sandbox passwd");
}

TEST_CASE("fs: .. never climbs above the sandbox root", "[fs][isolation]") {
  Fixture f;
  auto loc = f.resolve("/../../../../etc/passwd");
  REQUIRE(!loc.is_error());
  CHECK(read_all(loc.value()) == "sandbox passwd");

  auto up = f.resolve("/a/b/up");
  REQUIRE(!up.is_error());
  CHECK(up.value().path() == "/");
  CHECK(up.value().entries.size() == 1);

  auto rel = f.resolve("dotdot_etc/passwd");
  REQUIRE(!rel.is_error());
  CHECK(read_all(rel.value()) == "sandbox passwd");

  CHECK(f.resolve("/..").value().path() == "/");
  CHECK(f.resolve("a/b/../../..").value().path() == "/");
}

TEST_CASE("fs: host paths outside the root are unreachable", "[fs][isolation]") {
  Fixture f;
  // The file exists on the host next to the root, never inside the sandbox.
  CHECK(f.error_of("/rel_secret") == Errno::NOENT);
  CHECK(f.error_of("/host_abs_secret") == Errno::NOENT);
  CHECK(f.error_of("/../secret.txt") == Errno::NOENT);
  CHECK(f.error_of((f.tree.base / "secret.txt").string()) == Errno::NOENT);
  // Not following the last symlink gives the link itself.
  auto link = f.resolve("/host_abs_secret", kResolveNone);
  REQUIRE(!link.is_error());
  CHECK(link.value().node().is_symlink());
}

TEST_CASE("fs: walk errors: ELOOP, ENOTDIR, ENAMETOOLONG, ENOENT", "[fs]") {
  Fixture f;
  CHECK(f.error_of("/loop1") == Errno::LOOP);
  CHECK(f.error_of("/loop1", kResolveNone) == Errno::Ok);
  CHECK(f.error_of("/loop1/x", kResolveNone) == Errno::LOOP);
  CHECK(f.error_of("/file/x") == Errno::NOTDIR);
  CHECK(f.error_of("/file/") == Errno::NOTDIR);
  CHECK(f.error_of("/to_file/") == Errno::NOTDIR);
  CHECK(f.error_of("/a/", kResolveNone) == Errno::Ok);
  CHECK(f.error_of("/missing/x") == Errno::NOENT);
  CHECK(f.error_of("") == Errno::NOENT);
  CHECK(f.error_of("/" + std::string(256, 'x')) == Errno::NAMETOOLONG);
  CHECK(f.error_of("/" + std::string(255, 'x')) == Errno::NOENT);
  CHECK(f.error_of("/file", kMustBeDir) == Errno::NOTDIR);
}

TEST_CASE("fs: 40 symlinks resolve, 41 give ELOOP", "[fs]") {
  Fixture f;
  // chain1 .. chain40 then file: 40 links.
  CHECK(f.error_of("/chain1") == Errno::Ok);
  // chain0 adds the 41st.
  CHECK(f.error_of("/chain0") == Errno::LOOP);
}

TEST_CASE("fs: mounts shadow the host root", "[fs]") {
  Fixture f;
  auto tmp = f.resolve("/tmp");
  REQUIRE(!tmp.is_error());
  CHECK(tmp.value().node().fs_info().read_only == false);
  CHECK(std::string(tmp.value().node().fs_info().name) == "tmpfs");

  auto null = f.resolve("/dev/null");
  REQUIRE(!null.is_error());
  auto st = null.value().node().stat();
  REQUIRE(!st.is_error());
  CHECK(S_ISCHR(st.value().st_mode));

  // /dev/stdin points into /proc/self/fd, which needs a process.
  auto stdin_link = f.resolve("/dev/stdin", kResolveNone);
  REQUIRE(!stdin_link.is_error());
  CHECK(stdin_link.value().node().readlink(f.caller).value() == "/proc/self/fd/0");
  CHECK(f.error_of("/proc/self") == Errno::NOENT);
  CHECK(f.error_of("/sys") == Errno::Ok);

  // The host root is read-only.
  CHECK(f.root.node().create(f.caller, "new", 0644).error() == Errno::ROFS);
  CHECK(f.root.node().mkdir(f.caller, "new", 0755).error() == Errno::ROFS);
  CHECK(f.root.node().fs_info().read_only);
}

TEST_CASE("fs: resolve_parent splits the last component", "[fs]") {
  Fixture f;
  auto p = f.vfs->resolve_parent(f.caller, f.root, f.root, "/a/b/new/");
  REQUIRE(!p.is_error());
  CHECK(p.value().dir.path() == "/a/b");
  CHECK(p.value().name == "new");
  CHECK(p.value().trailing_slash);
  auto r = f.vfs->resolve_parent(f.caller, f.root, f.root, "/");
  REQUIRE(!r.is_error());
  CHECK(r.value().name.empty());
  CHECK(f.vfs->resolve_parent(f.caller, f.root, f.root, "/file/x").error() == Errno::NOTDIR);
  auto via_link = f.vfs->resolve_parent(f.caller, f.root, f.root, "/abs_etc/x");
  REQUIRE(!via_link.is_error());
  CHECK(via_link.value().dir.path() == "/etc");
}

TEST_CASE("fs: permission checks follow generic_permission", "[fs]") {
  struct stat st {};
  st.st_mode = S_IFREG | 0640;
  st.st_uid = 1000;
  st.st_gid = 100;
  Caller owner{nullptr, 1000, 5}, group{nullptr, 2000, 100}, other{nullptr, 3000, 7}, root{nullptr, 0, 0};
  CHECK(!check_access(st, owner, R_OK | W_OK).is_error());
  CHECK(check_access(st, owner, X_OK).error() == Errno::ACCES);
  CHECK(!check_access(st, group, R_OK).is_error());
  CHECK(check_access(st, group, W_OK).error() == Errno::ACCES);
  CHECK(check_access(st, other, R_OK).error() == Errno::ACCES);
  CHECK(!check_access(st, root, R_OK | W_OK).is_error());
  CHECK(check_access(st, root, X_OK).error() == Errno::ACCES);
  st.st_mode = S_IFREG | 0001;
  CHECK(!check_access(st, root, X_OK).is_error());
  st.st_mode = S_IFDIR | 0000;
  CHECK(!check_access(st, root, X_OK).is_error());
}

TEST_CASE("fs: host nodes are cached and revalidated against the host", "[fs][cache]") {
  Fixture f;
  auto a = f.resolve("/etc/passwd");
  auto b = f.resolve("/etc/passwd");
  REQUIRE(!a.is_error());
  REQUIRE(!b.is_error());
  CHECK(&a.value().node() == &b.value().node());  // one live node per name
  // The host replaces the file behind the sandbox: the next lookup sees it.
  std::ofstream(f.tree.root / "etc" / "passwd.new") << "replaced";
  std::filesystem::rename(f.tree.root / "etc" / "passwd.new", f.tree.root / "etc" / "passwd");
  auto c = f.resolve("/etc/passwd");
  REQUIRE(!c.is_error());
  CHECK(&c.value().node() != &a.value().node());
  CHECK(read_all(c.value()) == "replaced");
  std::filesystem::remove(f.tree.root / "etc" / "passwd");
  CHECK(f.error_of("/etc/passwd") == Errno::NOENT);
}

TEST_CASE("fs: a handler's walk leaves uncached host lookups to io_uring", "[fs][cache]") {
  Fixture f;
  HostFetch fetch;
  {
    HostFetch::Scope scope(fetch);
    CHECK(f.error_of("/a/b") == Errno::FetchHost);
    CHECK(fetch.pending());
  }
  // Once the names are cached (here by a walk outside any handler), the
  // same walk needs nothing from the host but revalidation.
  REQUIRE(f.error_of("/a/b") == Errno::Ok);
  HostFetch again;
  HostFetch::Scope scope(again);
  CHECK(f.error_of("/a/b") == Errno::Ok);
  CHECK(!again.pending());
  // Mount points and synthetic filesystems never wait for the host.
  CHECK(f.error_of("/proc") == Errno::Ok);
}

TEST_CASE("fs: an exclusive root trusts its cache", "[fs][cache]") {
  Tree tree;
  auto v = Vfs::create(tree.root.string(), RootOverlay::None, {}, /*exclusive=*/true);
  REQUIRE(!v.is_error());
  auto vfs = v.release_value();
  Caller caller;
  Location root = vfs->root();
  auto a = vfs->resolve(caller, root, root, "/etc/passwd", kFollowLast);
  REQUIRE(!a.is_error());
  // Nobody but the sandbox may change an exclusive root: a change behind
  // its back is not looked for (no fstatat per component).
  std::ofstream(tree.root / "etc" / "passwd.new") << "replaced";
  std::filesystem::rename(tree.root / "etc" / "passwd.new", tree.root / "etc" / "passwd");
  auto b = vfs->resolve(caller, root, root, "/etc/passwd", kFollowLast);
  REQUIRE(!b.is_error());
  CHECK(&b.value().node() == &a.value().node());
  struct stat st {};
  REQUIRE(::stat((tree.root / "etc" / "passwd").c_str(), &st) == 0);
  CHECK(b.value().node().stat().value().st_ino != st.st_ino);  // the inode it was
}
