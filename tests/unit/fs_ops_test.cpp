// Path-level operations with a real Process (no stub, no guest memory).
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "sentry/kernel/process.h"
#include "sentry/kernel/sandbox.h"

using namespace moat;
using namespace moat::fs;

namespace {

struct OpsFixture {
  std::filesystem::path base;
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<Process> process;

  OpsFixture() {
    char tmpl[] = "/var/tmp/moat-fs-ops-XXXXXX";
    base = mkdtemp(tmpl);
    std::filesystem::create_directories(base / "bin");
    std::filesystem::create_directories(base / "home" / "user");
    std::ofstream(base / "bin" / "tool") << "#!/bin/sh\n";
    std::filesystem::permissions(base / "bin" / "tool", std::filesystem::perms(0755));
    std::ofstream(base / "bin" / "noexec") << "data";
    std::filesystem::permissions(base / "bin" / "noexec", std::filesystem::perms(0644));
    std::filesystem::create_symlink("tool", base / "bin" / "alias");
    SandboxConfig config;
    config.root_dir = base.string();
    sandbox = std::make_unique<Sandbox>(config);
    process = std::make_unique<Process>(*sandbox, 1);
    REQUIRE(!setup_process_fs(*sandbox, *process, "/home/user").is_error());
  }
  ~OpsFixture() { std::filesystem::remove_all(base); }
  Process& p() { return *process; }
  Errno open_error(std::string_view path, int flags, mode_t mode = 0644) {
    auto r = open_path(p(), AT_FDCWD, path, flags, mode);
    return r.is_error() ? r.error() : Errno::Ok;
  }
};

}  // namespace

TEST_CASE("fs ops: setup gives cwd and stdio", "[fs][ops]") {
  OpsFixture f;
  CHECK(f.p().fs().cwd().path() == "/home/user");
  CHECK(!f.p().fds().get(0).is_error());
  CHECK(!f.p().fds().get(2).is_error());
  CHECK(f.p().fds().get(3).error() == Errno::BADF);
  // A second process of the same sandbox shares the Vfs.
  Process other(*f.sandbox, 2);
  Vfs* before = &f.sandbox->vfs();
  REQUIRE(!setup_process_fs(*f.sandbox, other, "/nonexistent").is_error());
  CHECK(&f.sandbox->vfs() == before);
  CHECK(other.fs().cwd().path() == "/");
}

TEST_CASE("fs ops: open on the read-only root", "[fs][ops]") {
  OpsFixture f;
  CHECK(f.open_error("/bin/tool", O_RDONLY) == Errno::Ok);
  CHECK(f.open_error("/bin/tool", O_WRONLY) == Errno::ROFS);
  CHECK(f.open_error("/bin/tool", O_RDONLY | O_TRUNC) == Errno::ROFS);
  CHECK(f.open_error("/bin/new", O_CREAT | O_WRONLY) == Errno::ROFS);
  CHECK(f.open_error("/bin/tool", O_CREAT | O_EXCL | O_WRONLY) == Errno::EXIST);
  CHECK(f.open_error("/bin", O_WRONLY) == Errno::ISDIR);
  CHECK(f.open_error("/bin", O_RDONLY | O_CREAT) == Errno::ISDIR);
  CHECK(f.open_error("/bin/tool", O_RDONLY | O_DIRECTORY) == Errno::NOTDIR);
  CHECK(f.open_error("/bin/alias", O_RDONLY | O_NOFOLLOW) == Errno::LOOP);
  CHECK(f.open_error("/bin/alias", O_PATH | O_NOFOLLOW) == Errno::Ok);
  CHECK(f.open_error("/bin/missing", O_RDONLY) == Errno::NOENT);
  CHECK(f.open_error("", O_RDONLY) == Errno::NOENT);
  auto file = open_path(f.p(), AT_FDCWD, "/bin/alias", O_RDONLY, 0);
  REQUIRE(!file.is_error());
  CHECK(file.value()->path() == "/bin/tool");
  CHECK(file.value()->mmap_fd() >= 0);
  char buf[16] = {};
  CHECK(file.value()->pread_sync(std::as_writable_bytes(std::span(buf)), 0).value() == 10);
}

TEST_CASE("fs ops: create, mkdir, unlink, rename in /tmp", "[fs][ops]") {
  OpsFixture f;
  f.p().fs().exchange_umask(022);
  auto file = open_path(f.p(), AT_FDCWD, "/tmp/x", O_CREAT | O_RDWR, 0666);
  REQUIRE(!file.is_error());
  CHECK((file.value()->stat().value().st_mode & 0777) == 0644);
  CHECK(file.value()->path() == "/tmp/x");
  CHECK(f.open_error("/tmp/x/", O_CREAT | O_RDWR) == Errno::ISDIR);
  CHECK(f.open_error("/tmp/x/", O_RDONLY) == Errno::NOTDIR);
  CHECK(!mkdir_at(f.p(), AT_FDCWD, "/tmp/d", 0777).is_error());
  CHECK(mkdir_at(f.p(), AT_FDCWD, "/tmp/d", 0777).error() == Errno::EXIST);
  CHECK(mkdir_at(f.p(), AT_FDCWD, "/tmp", 0777).error() == Errno::EXIST);
  CHECK(mkdir_at(f.p(), AT_FDCWD, "/bin", 0777).error() == Errno::EXIST);
  CHECK(mkdir_at(f.p(), AT_FDCWD, "/newdir", 0777).error() == Errno::ROFS);
  CHECK(mkdir_at(f.p(), AT_FDCWD, "/tmp/nope/x", 0777).error() == Errno::NOENT);

  // dirfd-relative operations.
  auto dir = open_path(f.p(), AT_FDCWD, "/tmp/d", O_RDONLY | O_DIRECTORY, 0).release_value();
  int dfd = f.p().fds().allocate(dir, false, 0, 1024).value();
  REQUIRE(!open_path(f.p(), dfd, "inner", O_CREAT | O_WRONLY, 0600).is_error());
  int xfd = f.p().fds().allocate(file.value(), false, 0, 1024).value();
  CHECK(open_path(f.p(), xfd, "inner", O_RDONLY, 0).error() == Errno::NOTDIR);
  CHECK(open_path(f.p(), 999, "inner", O_RDONLY, 0).error() == Errno::BADF);
  CHECK(!open_path(f.p(), 999, "/tmp/d/inner", O_RDONLY, 0).is_error());  // absolute: dirfd ignored

  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/d", 0).error() == Errno::ISDIR);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/d", AT_REMOVEDIR).error() == Errno::NOTEMPTY);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/x", AT_REMOVEDIR).error() == Errno::NOTDIR);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/x/", 0).error() == Errno::NOTDIR);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/d/.", AT_REMOVEDIR).error() == Errno::INVAL);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/d/..", AT_REMOVEDIR).error() == Errno::NOTEMPTY);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/", AT_REMOVEDIR).error() == Errno::BUSY);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp", AT_REMOVEDIR).error() == Errno::ROFS);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/bin/tool", 0).error() == Errno::ROFS);
  CHECK(unlink_at(f.p(), AT_FDCWD, "/tmp/x", 0x1000).error() == Errno::INVAL);

  CHECK(rename_at(f.p(), AT_FDCWD, "/tmp/x", AT_FDCWD, "/bin/x", 0).error() == Errno::XDEV);
  CHECK(rename_at(f.p(), AT_FDCWD, "/tmp/x", AT_FDCWD, "/dev/shm/x", 0).error() == Errno::XDEV);
  CHECK(rename_at(f.p(), AT_FDCWD, "/tmp/d", AT_FDCWD, "/tmp/d/sub", 0).error() == Errno::INVAL);
  CHECK(rename_at(f.p(), AT_FDCWD, "/tmp/x", AT_FDCWD, "/tmp/y/", 0).error() == Errno::NOTDIR);
  CHECK(rename_at(f.p(), AT_FDCWD, "/tmp/x", AT_FDCWD, "/tmp/y", RENAME_EXCHANGE | RENAME_NOREPLACE).error() ==
        Errno::INVAL);
  REQUIRE(!rename_at(f.p(), AT_FDCWD, "/tmp/x", AT_FDCWD, "/tmp/d/y", 0).is_error());
  CHECK(f.open_error("/tmp/d/y", O_RDONLY) == Errno::Ok);
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/tmp/d/y", 0).is_error());
  CHECK(!unlink_at(f.p(), dfd, "inner", 0).is_error());
  CHECK(!unlink_at(f.p(), AT_FDCWD, "/tmp/d", AT_REMOVEDIR).is_error());
}

TEST_CASE("fs ops: access, readlink, chdir", "[fs][ops]") {
  OpsFixture f;
  CHECK(!access_at(f.p(), AT_FDCWD, "/bin/tool", X_OK, 0).is_error());
  CHECK(access_at(f.p(), AT_FDCWD, "/bin/noexec", X_OK, 0).error() == Errno::ACCES);
  CHECK(access_at(f.p(), AT_FDCWD, "/bin/tool", W_OK, 0).error() == Errno::ROFS);
  CHECK(!access_at(f.p(), AT_FDCWD, "/tmp", W_OK, 0).is_error());
  CHECK(access_at(f.p(), AT_FDCWD, "/missing", F_OK, 0).error() == Errno::NOENT);
  CHECK(access_at(f.p(), AT_FDCWD, "/bin/tool", 8, 0).error() == Errno::INVAL);
  CHECK(!access_at(f.p(), AT_FDCWD, "/dev/null", W_OK, 0).is_error());

  CHECK(readlink_at(f.p(), AT_FDCWD, "/bin/alias").value() == "tool");
  CHECK(readlink_at(f.p(), AT_FDCWD, "/bin/tool").error() == Errno::INVAL);
  CHECK(readlink_at(f.p(), AT_FDCWD, "/dev/stderr").value() == "/proc/self/fd/2");

  auto loc = resolve_at(f.p(), AT_FDCWD, "../..", 0);
  REQUIRE(!loc.is_error());
  REQUIRE(!chdir_to(f.p(), loc.release_value()).is_error());
  CHECK(f.p().fs().cwd().path() == "/");
  CHECK(chdir_to(f.p(), resolve_at(f.p(), AT_FDCWD, "bin/tool", 0).release_value()).error() == Errno::NOTDIR);
}

TEST_CASE("fs ops: /proc/self for the calling process", "[fs][ops]") {
  OpsFixture f;
  f.p().exe_path = "/bin/tool";
  CHECK(readlink_at(f.p(), AT_FDCWD, "/proc/self").value() == "1");
  CHECK(readlink_at(f.p(), AT_FDCWD, "/proc/self/exe").value() == "/bin/tool");
  CHECK(readlink_at(f.p(), AT_FDCWD, "/proc/1/cwd").value() == "/home/user");
  CHECK(resolve_at(f.p(), AT_FDCWD, "/proc/2", 0).error() == Errno::NOENT);
  // /proc/self/exe follows to the file itself.
  auto exe = resolve_at(f.p(), AT_FDCWD, "/proc/self/exe", 0);
  REQUIRE(!exe.is_error());
  CHECK(exe.value().path() == "/bin/tool");
  // A magic link to an fd with a path jumps to that file.
  auto tmp = open_path(f.p(), AT_FDCWD, "/tmp", O_RDONLY | O_DIRECTORY, 0).release_value();
  int fd = f.p().fds().allocate(tmp, false, 0, 1024).value();
  auto via_fd = resolve_at(f.p(), AT_FDCWD, "/proc/self/fd/" + std::to_string(fd), 0);
  REQUIRE(!via_fd.is_error());
  CHECK(via_fd.value().path() == "/tmp");
  CHECK(readlink_at(f.p(), AT_FDCWD, "/dev/fd/" + std::to_string(fd)).value() == "/tmp");
  // /dev/stdout reopens the stdio file.
  auto out = open_path(f.p(), AT_FDCWD, "/dev/stdout", O_WRONLY, 0);
  if (!out.is_error()) CHECK(out.value()->writable());
  auto maps = open_path(f.p(), AT_FDCWD, "/proc/self/status", O_RDONLY, 0);
  REQUIRE(!maps.is_error());
  char buf[256] = {};
  auto n = maps.value()->pread_sync(std::as_writable_bytes(std::span(buf)), 0);
  REQUIRE(!n.is_error());
  CHECK(std::string(buf, n.value()).find("Pid:\t1\n") != std::string::npos);
}

TEST_CASE("fs ops: resolve_exec searches PATH like execvp", "[fs][ops]") {
  OpsFixture f;
  CHECK(resolve_exec(f.p(), "tool", "/nope:/bin").value() == "/bin/tool");
  CHECK(resolve_exec(f.p(), "alias", "/bin").value() == "/bin/tool");
  CHECK(resolve_exec(f.p(), "noexec", "/bin").error() == Errno::ACCES);
  CHECK(resolve_exec(f.p(), "absent", "/bin").error() == Errno::NOENT);
  CHECK(resolve_exec(f.p(), "/bin/tool", "").value() == "/bin/tool");
  CHECK(resolve_exec(f.p(), "../../bin/tool", "").value() == "/bin/tool");
  CHECK(resolve_exec(f.p(), "/bin", "").error() == Errno::ACCES);
  CHECK(resolve_exec(f.p(), "", "/bin").error() == Errno::NOENT);
}
