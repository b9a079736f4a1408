// Conformance: /proc/self: the link itself, exe, cwd, cmdline, comm, status,
// maps and fd/.
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

std::string link_of(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ASSERT_SYSCALL_SUCCEEDS(readlink(path.c_str(), buf, sizeof buf));
  return std::string(buf, static_cast<size_t>(n));
}

// True when some line of /proc/self/maps covers addr with the given
// permission characters (e.g. "r-x").
bool maps_cover(uintptr_t addr, const char* perms) {
  std::string maps = read_file("/proc/self/maps");
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t end = maps.find('\n', pos);
    if (end == std::string::npos) end = maps.size();
    std::string line = maps.substr(pos, end - pos);
    unsigned long lo, hi;
    char p[5] = {};
    if (sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi)
      return strncmp(p, perms, strlen(perms)) == 0;
    pos = end + 1;
  }
  return false;
}

}  // namespace

TEST(ProcSelf, IsLinkToOwnPid) { EXPECT_STREQ(link_of("/proc/self"), std::to_string(getpid())); }

TEST(ProcSelf, PidDirectoryExists) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat(("/proc/" + std::to_string(getpid())).c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(ProcSelf, MissingPidIsEnoent) {
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat("/proc/999999999", &st), ENOENT);
}

TEST(ProcSelfExe, IsTheRunningBinary) {
  std::string exe = link_of("/proc/self/exe");
  ASSERT_TRUE(!exe.empty() && exe[0] == '/');
  struct stat via_link, via_path;
  ASSERT_SYSCALL_SUCCEEDS(stat("/proc/self/exe", &via_link));
  ASSERT_SYSCALL_SUCCEEDS(stat(exe.c_str(), &via_path));
  EXPECT_EQ(via_link.st_ino, via_path.st_ino);
  EXPECT_TRUE(S_ISREG(via_path.st_mode));
}

TEST(ProcSelfExe, OpensAsElf) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/proc/self/exe", O_RDONLY));
  char magic[4];
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, magic, 4), 4);
  EXPECT_EQ(memcmp(magic, "\x7f" "ELF", 4), 0);
  close(fd);
}

TEST(ProcSelfExe, LstatIsSymlink) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat("/proc/self/exe", &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST(ProcSelfCwd, MatchesGetcwd) {
  ASSERT_SYSCALL_SUCCEEDS(chdir(conformance::temp_dir().c_str()));
  EXPECT_STREQ(link_of("/proc/self/cwd"), conformance::temp_dir());
}

TEST(ProcSelfCmdline, FirstArgumentNamesTheBinary) {
  std::string cmd = read_file("/proc/self/cmdline");
  ASSERT_TRUE(!cmd.empty());
  EXPECT_EQ(cmd.back(), '\0');
  std::string argv0 = cmd.c_str();
  std::string base = argv0.substr(argv0.rfind('/') + 1);
  EXPECT_STREQ(base, "conf_proc_test");
}

TEST(ProcSelfComm, IsTruncatedBasename) {
  std::string comm = read_file("/proc/self/comm");
  EXPECT_STREQ(comm, std::string("conf_proc_test").substr(0, 15) + "\n");
}

TEST(ProcSelfStatus, ReportsPid) {
  std::string status = read_file("/proc/self/status");
  EXPECT_TRUE(status.find("\nPid:\t" + std::to_string(getpid()) + "\n") != std::string::npos);
  EXPECT_TRUE(status.rfind("Name:\t", 0) == 0);
}

TEST(ProcSelfMaps, CoversCodeAndStack) {
  int local = 0;
  EXPECT_TRUE(maps_cover(reinterpret_cast<uintptr_t>(&maps_cover), "r-x"));
  EXPECT_TRUE(maps_cover(reinterpret_cast<uintptr_t>(&local), "rw-"));
  EXPECT_TRUE(read_file("/proc/self/maps").find("[stack]") != std::string::npos);
}

TEST(ProcSelfMaps, ShowsNewMapping) {
  long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, 3 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(m != MAP_FAILED);
  EXPECT_TRUE(maps_cover(reinterpret_cast<uintptr_t>(m) + page, "r--"));
  munmap(m, 3 * page);
  EXPECT_FALSE(maps_cover(reinterpret_cast<uintptr_t>(m) + page, "r--"));
}

TEST(ProcSelfFd, ReadlinkGivesPath) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_STREQ(link_of("/proc/self/fd/" + std::to_string(fd)), tmp("f"));
  close(fd);
}

TEST(ProcSelfFd, ClosedFdIsEnoent) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  close(fd);
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(lstat(("/proc/self/fd/" + std::to_string(fd)).c_str(), &st), ENOENT);
}

TEST(ProcSelfFd, EntriesAreSymlinks) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(("/proc/self/fd/" + std::to_string(fd)).c_str(), &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_SYSCALL_SUCCEEDS(stat(("/proc/self/fd/" + std::to_string(fd)).c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  close(fd);
}

TEST(ProcSelfFd, OpenGivesNewDescription) {
  make_file(tmp("f"), "0123");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 1);
  int again = ASSERT_SYSCALL_SUCCEEDS(open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY));
  EXPECT_STREQ(read_all(again), "0123");
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 1);
  close(again);
  close(fd);
}

TEST(ProcSelfFd, FollowsFileAfterRename) {
  make_file(tmp("f"), "x");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("f").c_str(), tmp("g").c_str()));
  EXPECT_STREQ(link_of("/proc/self/fd/" + std::to_string(fd)), tmp("g"));
  close(fd);
}

TEST(ProcSelfFd, DirectoryIsNotWritable) {
  EXPECT_SYSCALL_FAILS_WITH(open("/proc/self/fd", O_RDWR), EISDIR);
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(stat("/proc/self/fd", &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(ProcSelfFd, UnlinkedFileIsMarkedDeleted) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(unlink(tmp("f").c_str()));
  EXPECT_STREQ(link_of("/proc/self/fd/" + std::to_string(fd)), tmp("f") + " (deleted)");
  close(fd);
}

TEST(ProcSelfFd, FollowsMoveToOtherDirectory) {
  make_dir(tmp("d"));
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(rename(tmp("f").c_str(), tmp("d/g").c_str()));
  EXPECT_STREQ(link_of("/proc/self/fd/" + std::to_string(fd)), tmp("d/g"));
  close(fd);
}
