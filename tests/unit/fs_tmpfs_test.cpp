// tmpfs, the fd table and directory listing.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "fs/fd_table.h"
#include "fs/tmpfs.h"

using namespace moat;
using namespace moat::fs;

namespace {

struct TmpFixture {
  Caller caller;
  RefPtr<Node> root = TmpNode::create_root(makedev(0, 99), 01777);
  Location root_loc() {
    Location l;
    l.entries.push_back(PathEntry{"", root});
    return l;
  }
  Location loc_of(std::string name, RefPtr<Node> n) {
    Location l = root_loc();
    l.entries.push_back(PathEntry{std::move(name), std::move(n)});
    return l;
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    auto entries = root->list(caller).release_value();
    for (auto& e : entries) out.push_back(e.name);
    return out;
  }
};

}  // namespace

TEST_CASE("tmpfs: create, write, read back, mmap fd", "[fs][tmpfs]") {
  TmpFixture f;
  auto node = f.root->create(f.caller, "a.txt", 0644);
  REQUIRE(!node.is_error());
  CHECK(f.root->create(f.caller, "a.txt", 0644).error() == Errno::EXIST);
  auto file = node.value()->open(f.caller, f.loc_of("a.txt", node.value()), O_RDWR);
  REQUIRE(!file.is_error());
  auto* tf = static_cast<TmpFile*>(file.value().ptr());
  const char msg[] = "hello tmpfs";
  auto w = tf->pwrite_sync(std::as_bytes(std::span(msg, sizeof msg - 1)), 0);
  REQUIRE(!w.is_error());
  CHECK(w.value() == sizeof msg - 1);
  char buf[64] = {};
  auto r = tf->pread_sync(std::as_writable_bytes(std::span(buf)), 6);
  REQUIRE(!r.is_error());
  CHECK(std::string(buf, r.value()) == "tmpfs");
  CHECK(tf->mmap_fd() >= 0);
  auto st = node.value()->stat();
  REQUIRE(!st.is_error());
  CHECK(st.value().st_size == 11);
  CHECK(S_ISREG(st.value().st_mode));
  CHECK((st.value().st_mode & 07777) == 0644);
  CHECK(st.value().st_dev == makedev(0, 99));
  CHECK(node.value()->truncate(0).is_error() == false);
  CHECK(node.value()->stat().value().st_size == 0);
}

TEST_CASE("tmpfs: O_APPEND writes at the end", "[fs][tmpfs]") {
  TmpFixture f;
  auto node = f.root->create(f.caller, "log", 0600).release_value();
  auto file = node->open(f.caller, f.loc_of("log", node), O_WRONLY | O_APPEND).release_value();
  auto* tf = static_cast<TmpFile*>(file.ptr());
  REQUIRE(!tf->pwrite_sync(std::as_bytes(std::span("abc", 3)), -1).is_error());
  REQUIRE(!tf->pwrite_sync(std::as_bytes(std::span("def", 3)), 0).is_error());
  CHECK(node->stat().value().st_size == 6);
  // pwrite appends under O_APPEND but leaves the position alone (pwrite(2) BUGS).
  CHECK(tf->position() == 3);
}

TEST_CASE("tmpfs: mkdir, unlink and rmdir error rules", "[fs][tmpfs]") {
  TmpFixture f;
  REQUIRE(!f.root->mkdir(f.caller, "d", 0755).is_error());
  CHECK(f.root->mkdir(f.caller, "d", 0755).error() == Errno::EXIST);
  CHECK(f.root->stat().value().st_nlink == 3);
  auto d = f.root->lookup(f.caller, "d").release_value();
  REQUIRE(!d->create(f.caller, "inner", 0644).is_error());
  CHECK(f.root->unlink(f.caller, "d", UnlinkKind::File).error() == Errno::ISDIR);
  CHECK(f.root->unlink(f.caller, "d", UnlinkKind::Dir).error() == Errno::NOTEMPTY);
  CHECK(d->unlink(f.caller, "inner", UnlinkKind::Dir).error() == Errno::NOTDIR);
  REQUIRE(!d->unlink(f.caller, "inner", UnlinkKind::File).is_error());
  CHECK(d->unlink(f.caller, "inner", UnlinkKind::File).error() == Errno::NOENT);
  REQUIRE(!f.root->unlink(f.caller, "d", UnlinkKind::Dir).is_error());
  CHECK(f.root->stat().value().st_nlink == 2);
  // A removed directory accepts no new entries.
  CHECK(d->create(f.caller, "late", 0644).error() == Errno::NOENT);
  CHECK(f.root->lookup(f.caller, "d").error() == Errno::NOENT);
}

TEST_CASE("tmpfs: rename rules", "[fs][tmpfs]") {
  TmpFixture f;
  REQUIRE(!f.root->create(f.caller, "a", 0644).is_error());
  REQUIRE(!f.root->create(f.caller, "b", 0644).is_error());
  REQUIRE(!f.root->mkdir(f.caller, "dir", 0755).is_error());
  REQUIRE(!f.root->mkdir(f.caller, "full", 0755).is_error());
  auto full = f.root->lookup(f.caller, "full").release_value();
  REQUIRE(!full->create(f.caller, "x", 0644).is_error());

  CHECK(f.root->rename(f.caller, "missing", *f.root, "z", 0).error() == Errno::NOENT);
  CHECK(f.root->rename(f.caller, "a", *f.root, "b", RENAME_NOREPLACE).error() == Errno::EXIST);
  CHECK(f.root->rename(f.caller, "a", *f.root, "dir", 0).error() == Errno::ISDIR);
  CHECK(f.root->rename(f.caller, "dir", *f.root, "a", 0).error() == Errno::NOTDIR);
  CHECK(f.root->rename(f.caller, "dir", *f.root, "full", 0).error() == Errno::NOTEMPTY);
  CHECK(f.root->rename(f.caller, "a", *f.root, "nothere", RENAME_EXCHANGE).error() == Errno::NOENT);

  auto a = f.root->lookup(f.caller, "a").release_value();
  auto b = f.root->lookup(f.caller, "b").release_value();
  REQUIRE(!f.root->rename(f.caller, "a", *f.root, "b", RENAME_EXCHANGE).is_error());
  CHECK(f.root->lookup(f.caller, "a").value() == b);
  CHECK(f.root->lookup(f.caller, "b").value() == a);

  // Replace b with a; b's node is gone from the tree.
  REQUIRE(!f.root->rename(f.caller, "a", *f.root, "b", 0).is_error());
  CHECK(f.root->lookup(f.caller, "a").error() == Errno::NOENT);
  CHECK(f.root->lookup(f.caller, "b").value() == b);

  // Move a directory into another: link counts follow.
  REQUIRE(!f.root->rename(f.caller, "dir", *full, "moved", 0).is_error());
  CHECK(full->stat().value().st_nlink == 3);
  CHECK(f.root->stat().value().st_nlink == 3);  // root: ".", "full" and its ".."

  // Another tmpfs instance is another filesystem.
  TmpFixture other;
  CHECK(f.root->rename(f.caller, "b", *other.root, "b", 0).error() == Errno::XDEV);
}

TEST_CASE("tmpfs: getdents64 lists . and .. and rejects tiny buffers", "[fs][tmpfs]") {
  TmpFixture f;
  REQUIRE(!f.root->create(f.caller, "one", 0644).is_error());
  REQUIRE(!f.root->mkdir(f.caller, "two", 0755).is_error());
  CHECK(f.names() == std::vector<std::string>{".", "..", "one", "two"});
  auto dir = f.root->open(f.caller, f.root_loc(), O_RDONLY | O_DIRECTORY).release_value();
  std::vector<std::byte> tiny(20);
  CHECK(dir->getdents64(tiny).error() == Errno::INVAL);
  std::vector<std::byte> buf(4096);
  auto n = dir->getdents64(buf);
  REQUIRE(!n.is_error());
  std::vector<std::string> seen;
  for (size_t off = 0; off < n.value();) {
    uint16_t reclen;
    std::memcpy(&reclen, buf.data() + off + 16, 2);
    seen.emplace_back(reinterpret_cast<const char*>(buf.data() + off + 19));
    CHECK(reclen % 8 == 0);
    off += reclen;
  }
  CHECK(seen == std::vector<std::string>{".", "..", "one", "two"});
  CHECK(dir->getdents64(buf).value() == 0);
  // rewinddir
  REQUIRE(!dir->lseek(0, SEEK_SET).is_error());
  CHECK(dir->getdents64(buf).value() == n.value());
}

TEST_CASE("fd table: lowest free fd, limits, cloexec, clone", "[fs]") {
  TmpFixture f;
  auto node = f.root->create(f.caller, "f", 0644).release_value();
  auto file = node->open(f.caller, f.loc_of("f", node), O_RDONLY).release_value();
  FdTable t;
  CHECK(t.allocate(file, false, 0, 4).value() == 0);
  CHECK(t.allocate(file, true, 0, 4).value() == 1);
  CHECK(t.allocate(file, false, 3, 4).value() == 3);
  CHECK(t.allocate(file, false, 0, 4).value() == 2);
  CHECK(t.allocate(file, false, 0, 4).error() == Errno::MFILE);
  CHECK(t.install_at(4, file, false, 4).error() == Errno::BADF);
  CHECK(t.cloexec(1).value() == true);
  REQUIRE(!t.remove(2).is_error());
  CHECK(t.remove(2).error() == Errno::BADF);
  CHECK(t.get(2).error() == Errno::BADF);
  CHECK(t.get(-1).error() == Errno::BADF);
  CHECK(t.allocate(file, false, 0, 4).value() == 2);
  auto copy = t.clone();
  t.close_on_exec();
  CHECK(t.get(1).error() == Errno::BADF);
  CHECK(!copy->get(1).is_error());
  CHECK(t.snapshot().size() == 3);
  CHECK(file->ref_count() == 1 + 3 + 4);
}
