// Conformance: getdents64(2).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

long getdents(int fd, void* buf, size_t n) { return syscall(SYS_getdents64, fd, buf, n); }

std::set<std::string> names(const std::vector<Dirent>& v) {
  std::set<std::string> s;
  for (const auto& d : v) s.insert(d.name);
  return s;
}

}  // namespace

TEST(Getdents, EmptyDirectoryHasDotAndDotDot) {
  make_dir(tmp("d"));
  auto v = list_dir(tmp("d"));
  EXPECT_EQ(v.size(), 2u);
  EXPECT_TRUE(find_entry(v, ".") != nullptr);
  EXPECT_TRUE(find_entry(v, "..") != nullptr);
}

TEST(Getdents, ListsEveryEntry) {
  make_dir(tmp("d"));
  make_file(tmp("d/a"));
  make_file(tmp("d/bb"));
  make_dir(tmp("d/sub"));
  auto s = names(list_dir(tmp("d")));
  EXPECT_EQ(s.size(), 5u);
  EXPECT_TRUE(s.count("a") && s.count("bb") && s.count("sub") && s.count(".") && s.count(".."));
}

TEST(Getdents, ReportsTypes) {
  make_dir(tmp("d"));
  make_file(tmp("d/file"));
  make_dir(tmp("d/dir"));
  make_symlink("file", tmp("d/link"));
  auto v = list_dir(tmp("d"));
  ASSERT_TRUE(find_entry(v, "file") && find_entry(v, "dir") && find_entry(v, "link"));
  EXPECT_EQ(find_entry(v, "file")->type, DT_REG);
  EXPECT_EQ(find_entry(v, "dir")->type, DT_DIR);
  EXPECT_EQ(find_entry(v, "link")->type, DT_LNK);
  EXPECT_EQ(find_entry(v, ".")->type, DT_DIR);
}

TEST(Getdents, InodesMatchStat) {
  make_dir(tmp("d"));
  make_file(tmp("d/f"));
  auto v = list_dir(tmp("d"));
  struct stat f, d;
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d/f").c_str(), &f));
  ASSERT_SYSCALL_SUCCEEDS(stat(tmp("d").c_str(), &d));
  ASSERT_TRUE(find_entry(v, "f") && find_entry(v, "."));
  EXPECT_EQ(find_entry(v, "f")->ino, f.st_ino);
  EXPECT_EQ(find_entry(v, ".")->ino, d.st_ino);
}

TEST(Getdents, ReturnsZeroAtEnd) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  alignas(8) char buf[4096];
  EXPECT_GT(ASSERT_SYSCALL_SUCCEEDS(getdents(fd, buf, sizeof buf)), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getdents(fd, buf, sizeof buf), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(getdents(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(Getdents, BufferTooSmallForOneEntryIsEinval) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  alignas(8) char buf[16];
  EXPECT_SYSCALL_FAILS_WITH(getdents(fd, buf, sizeof buf), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(getdents(fd, buf, 0), EINVAL);
  close(fd);
}

TEST(Getdents, SmallBufferIteratesAllEntries) {
  make_dir(tmp("d"));
  for (int i = 0; i < 20; ++i) make_file(tmp("d/file_" + std::to_string(i)));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  auto v = list_fd(fd, 40);  // room for one entry per call
  close(fd);
  auto s = names(v);
  EXPECT_EQ(v.size(), 22u);
  EXPECT_EQ(s.size(), 22u);
  EXPECT_TRUE(s.count("file_0") && s.count("file_19"));
}

TEST(Getdents, ManyEntries) {
  make_dir(tmp("d"));
  for (int i = 0; i < 200; ++i) make_file(tmp("d/entry_with_a_longer_name_" + std::to_string(i)));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  auto v = list_fd(fd, 1024);
  close(fd);
  EXPECT_EQ(names(v).size(), 202u);
}

TEST(Getdents, RecordLengthsAreAligned) {
  make_dir(tmp("d"));
  make_file(tmp("d/abc"));
  make_file(tmp("d/abcdefghijk"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  alignas(8) char buf[4096];
  long n = ASSERT_SYSCALL_SUCCEEDS(getdents(fd, buf, sizeof buf));
  long off = 0;
  int count = 0;
  while (off < n) {
    uint16_t reclen;
    memcpy(&reclen, buf + off + 16, 2);
    EXPECT_EQ(reclen % 8, 0);
    EXPECT_GE(reclen, 19 + strlen(buf + off + 19) + 1);
    off += reclen;
    ++count;
  }
  EXPECT_EQ(off, n);
  EXPECT_EQ(count, 4);
  close(fd);
}

TEST(Getdents, RewindSeesNewEntries) {
  make_dir(tmp("d"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(list_fd(fd).size(), 2u);
  make_file(tmp("d/new"));
  ASSERT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_SET), 0);
  auto v = list_fd(fd);
  EXPECT_EQ(v.size(), 3u);
  EXPECT_TRUE(find_entry(v, "new") != nullptr);
  close(fd);
}

TEST(Getdents, RemovedEntryNotListed) {
  make_dir(tmp("d"));
  make_file(tmp("d/a"));
  make_file(tmp("d/b"));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("d/a").c_str()));
  auto s = names(list_dir(tmp("d")));
  EXPECT_EQ(s.count("a"), 0u);
  EXPECT_EQ(s.count("b"), 1u);
}

TEST(Getdents, RegularFileIsEnotdir) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  alignas(8) char buf[256];
  EXPECT_SYSCALL_FAILS_WITH(getdents(fd, buf, sizeof buf), ENOTDIR);
  close(fd);
}

TEST(Getdents, BadFdIsEbadf) {
  alignas(8) char buf[256];
  EXPECT_SYSCALL_FAILS_WITH(getdents(-1, buf, sizeof buf), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(getdents(9999, buf, sizeof buf), EBADF);
}

TEST(Getdents, OPathFdIsEbadf) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_PATH | O_DIRECTORY));
  alignas(8) char buf[256];
  EXPECT_SYSCALL_FAILS_WITH(getdents(fd, buf, sizeof buf), EBADF);
  close(fd);
}

TEST(Getdents, BadBufferIsEfault) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_FAILS_WITH(getdents(fd, bad_ptr(), 4096), EFAULT);
  close(fd);
}

TEST(Getdents, DevListsStandardDevices) {
  auto s = names(list_dir("/dev"));
  EXPECT_TRUE(s.count("null") && s.count("zero") && s.count("full") && s.count("urandom"));
}

TEST(Getdents, ProcSelfFdListsOpenFds) {
  make_file(tmp("f"));
  int first = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  int fd = ASSERT_SYSCALL_SUCCEEDS(dup2(first, 90));
  close(first);
  auto s = names(list_dir("/proc/self/fd"));
  EXPECT_EQ(s.count(std::to_string(fd)), 1u);
  close(fd);
  s = names(list_dir("/proc/self/fd"));
  EXPECT_EQ(s.count(std::to_string(fd)), 0u);
}

TEST(Getdents, HostDirectoryListsKnownEntries) {
  auto s = names(list_dir("/"));
  EXPECT_TRUE(s.count(".") && s.count("..") && s.count("tmp") && s.count("proc") && s.count("dev"));
}

TEST(Getdents, SeekToReturnedOffsetResumes) {
  make_dir(tmp("d"));
  for (int i = 0; i < 5; ++i) make_file(tmp("d/f" + std::to_string(i)));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("d").c_str(), O_RDONLY | O_DIRECTORY));
  alignas(8) char buf[4096];
  long n = ASSERT_SYSCALL_SUCCEEDS(getdents(fd, buf, sizeof buf));
  // The second record's d_off is where the third one starts.
  uint16_t reclen0;
  memcpy(&reclen0, buf + 16, 2);
  int64_t off1;
  memcpy(&off1, buf + reclen0 + 8, 8);
  uint16_t reclen1;
  memcpy(&reclen1, buf + reclen0 + 16, 2);
  std::string third(buf + reclen0 + reclen1 + 19);
  ASSERT_GT(n, reclen0 + reclen1);
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, off1, SEEK_SET));
  alignas(8) char again[4096];
  ASSERT_GT(ASSERT_SYSCALL_SUCCEEDS(getdents(fd, again, sizeof again)), 0);
  EXPECT_STREQ(std::string(again + 19), third);
  close(fd);
}
