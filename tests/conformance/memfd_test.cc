// Conformance: memfd_create(2) and file seals (fcntl F_ADD_SEALS, F_GET_SEALS).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fs_util.h"
#include "harness.h"

using namespace conformance;

namespace {

int memfd(const char* name, unsigned flags) { return static_cast<int>(syscall(SYS_memfd_create, name, flags)); }

std::string fd_link(int fd) {
  char buf[512] = {};
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST(Memfd, CreatesAnEmptyReadWriteFile) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("conf", 0));
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(fd, "hello", 5), 5);
  char buf[8] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, sizeof buf, 0), 5);
  EXPECT_STREQ(buf, "hello");
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 5);
  close(fd);
}

TEST(Memfd, FchmodAndFtruncate) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("mode", 0));
  ASSERT_SYSCALL_SUCCEEDS(fchmod(fd, 0600));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 12345));
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 12345);
  EXPECT_SYSCALL_FAILS_WITH(ftruncate(fd, -1), EINVAL);
  close(fd);
}

TEST(Memfd, CloexecFlag) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("conf", MFD_CLOEXEC));
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Memfd, ProcFdLinkShowsTheName) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("my-name", 0));
  EXPECT_STREQ(std::string(fd_link(fd)).c_str(), "/memfd:my-name (deleted)");
  close(fd);
}

TEST(Memfd, ReopenThroughProcFd) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("reopen", 0));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "abc", 3), 3);
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  int fd2 = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDONLY));
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd2, buf, 3), 3);
  EXPECT_STREQ(buf, "abc");
  struct stat a {}, b {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &a));
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd2, &b));
  EXPECT_EQ(a.st_ino, b.st_ino);
  close(fd2);
  close(fd);
}

TEST(Memfd, BadArguments) {
  EXPECT_SYSCALL_FAILS_WITH(memfd("x", 0x1000), EINVAL);
  std::string long_name(250, 'a');
  EXPECT_SYSCALL_FAILS_WITH(memfd(long_name.c_str(), 0), EINVAL);
  std::string max_name(249, 'a');
  int fd = EXPECT_SYSCALL_SUCCEEDS(memfd(max_name.c_str(), 0));
  if (fd >= 0) close(fd);
  EXPECT_SYSCALL_FAILS_WITH(memfd(reinterpret_cast<const char*>(8), 0), EFAULT);
}

TEST(Memfd, WithoutAllowSealingSealsAreSealed) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("noseal", 0));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  close(fd);
}

TEST(Memfd, SealsAccumulate) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("seal", MFD_ALLOW_SEALING));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GET_SEALS), 0);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_ADD_SEALS, 0x8000), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  close(fd);
}

TEST(Memfd, ShrinkAndGrowSeals) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("size", MFD_ALLOW_SEALING));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 8192));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
  EXPECT_SYSCALL_FAILS_WITH(ftruncate(fd, 4096), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(ftruncate(fd, 16384), EPERM);
  EXPECT_SYSCALL_SUCCEEDS(ftruncate(fd, 8192));
  // Writes inside the file are fine; past its end they would grow it.
  EXPECT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "x", 1, 100), 1);
  EXPECT_SYSCALL_FAILS_WITH(pwrite(fd, "x", 1, 8192), EPERM);
  struct stat st {};
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 8192);
  close(fd);
}

TEST(Memfd, WriteSeal) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("write", MFD_ALLOW_SEALING));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EPERM);
  EXPECT_SYSCALL_FAILS_WITH(pwrite(fd, "x", 1, 0), EPERM);
  void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_TRUE(shared == MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  void* ro = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_TRUE(ro != MAP_FAILED);
  if (ro != MAP_FAILED) munmap(ro, 4096);
  // A private writable mapping is still allowed.
  void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  EXPECT_TRUE(priv != MAP_FAILED);
  if (priv != MAP_FAILED) munmap(priv, 4096);
  close(fd);
}

TEST(Memfd, WriteSealRefusedWhileMappedWritable) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("busy", MFD_ALLOW_SEALING));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_TRUE(m != MAP_FAILED);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  munmap(m, 4096);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  close(fd);
}

TEST(Memfd, FutureWriteSeal) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("future", MFD_ALLOW_SEALING));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  // An existing writable mapping keeps working after F_SEAL_FUTURE_WRITE.
  auto* m = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(m != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
  m[0] = 'z';
  char c = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, &c, 1, 0), 1);
  EXPECT_EQ(c, 'z');
  EXPECT_SYSCALL_FAILS_WITH(write(fd, "x", 1), EPERM);
  void* again = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_TRUE(again == MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  munmap(m, 4096);
  close(fd);
}

TEST(Memfd, AddSealsNeedsAWritableDescription) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("rdonly", MFD_ALLOW_SEALING));
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  int ro = ASSERT_SYSCALL_SUCCEEDS(open(p.c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM);
  EXPECT_SYSCALL_SUCCEEDS_WITH(fcntl(ro, F_GET_SEALS), 0);
  close(ro);
  close(fd);
}

TEST(Memfd, SealsOnOtherFiles) {
  int pipefd[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(pipefd));
  EXPECT_SYSCALL_FAILS_WITH(fcntl(pipefd[0], F_GET_SEALS), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fcntl(pipefd[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST(Memfd, SharedMappingIsCoherentWithWrites) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("coherent", 0));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  auto* m = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(m != MAP_FAILED);
  ASSERT_SYSCALL_SUCCEEDS_WITH(pwrite(fd, "abc", 3, 10), 3);
  EXPECT_EQ(std::memcmp(m + 10, "abc", 3), 0);
  std::memcpy(m + 100, "xyz", 3);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 3, 100), 3);
  EXPECT_STREQ(buf, "xyz");
  munmap(m, 4096);
  close(fd);
}

TEST(Memfd, SharedMappingAcrossFork) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(memfd("fork", MFD_CLOEXEC));
  ASSERT_SYSCALL_SUCCEEDS(ftruncate(fd, 4096));
  auto* m = static_cast<volatile char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_TRUE(m != MAP_FAILED);
  m[0] = 'p';
  pid_t pid = fork();
  if (pid == 0) {
    // The child sees the parent's byte and answers through the mapping and
    // through the fd.
    if (m[0] != 'p') _exit(2);
    m[1] = 'c';
    if (pwrite(fd, "f", 1, 2) != 1) _exit(3);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_SYSCALL_SUCCEEDS(waitpid(pid, &status, 0));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(m[1], 'c');
  EXPECT_EQ(m[2], 'f');
  munmap(const_cast<char*>(m), 4096);
  close(fd);
}

TEST(Memfd, TmpfsFilesCarrySealSeal) {
  std::string path = fsutil::tmp("plain");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDWR | O_CREAT, 0600));
  // Only tmpfs files (shmem) know seals; others answer EINVAL.
  int r = fcntl(fd, F_GET_SEALS);
  if (r >= 0) {
    EXPECT_EQ(r, F_SEAL_SEAL);
    EXPECT_SYSCALL_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  } else {
    EXPECT_EQ(errno, EINVAL);
  }
  close(fd);
}
