// Conformance: fsync(2), fdatasync(2), syncfs(2), sync(2),
// sync_file_range(2), fallocate(2), statfs(2) and fstatfs(2).
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

constexpr long kStValid = 0x0020;  // statfs f_flags: the flags are valid

struct Pipe {
  int fds[2];
  Pipe() { ASSERT_SYSCALL_SUCCEEDS(pipe(fds)); }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
};

off_t size_of(int fd) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  return st.st_size;
}

}  // namespace

TEST(Fsync, SucceedsOnFilesAndDirectories) {
  make_file(tmp("f"), "data");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_SYSCALL_SUCCEEDS(fsync(fd));
  EXPECT_SYSCALL_SUCCEEDS(fdatasync(fd));
  close(fd);
  int ro = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS(fsync(ro));
  close(ro);
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_SUCCEEDS(fsync(dir));
  close(dir);
  // A file of the root filesystem, opened for reading.
  int root_file = ASSERT_SYSCALL_SUCCEEDS(open("/bin/sh", O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS(fsync(root_file));
  close(root_file);
}

TEST(Fsync, BadDescriptors) {
  EXPECT_SYSCALL_FAILS_WITH(fsync(9999), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(fdatasync(-1), EBADF);
  make_file(tmp("f"));
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(fsync(path_fd), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(syncfs(path_fd), EBADF);
  close(path_fd);
}

TEST(Fsync, PipesAndProcFilesAreEinval) {
  Pipe p;
  EXPECT_SYSCALL_FAILS_WITH(fsync(p.fds[0]), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fdatasync(p.fds[1]), EINVAL);
  int status = ASSERT_SYSCALL_SUCCEEDS(open("/proc/self/status", O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(fsync(status), EINVAL);
  close(status);
  int null = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_WRONLY));
  EXPECT_SYSCALL_FAILS_WITH(fsync(null), EINVAL);
  close(null);
}

TEST(Syncfs, AnyOpenFileWillDo) {
  Pipe p;
  EXPECT_SYSCALL_SUCCEEDS(syncfs(p.fds[0]));
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_SUCCEEDS(syncfs(fd));
  close(fd);
  EXPECT_SYSCALL_FAILS_WITH(syncfs(9999), EBADF);
  sync();  // returns nothing and must not fail
}

TEST(SyncFileRange, ChecksItsArguments) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_SYSCALL_SUCCEEDS(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
  EXPECT_SYSCALL_SUCCEEDS(
      sync_file_range(fd, 0, 3, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
  EXPECT_SYSCALL_FAILS_WITH(sync_file_range(fd, 0, 0, 8), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sync_file_range(fd, -1, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sync_file_range(fd, 0, -1, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(sync_file_range(9999, 0, 0, 8), EBADF);
  close(fd);
  Pipe p;
  EXPECT_SYSCALL_FAILS_WITH(sync_file_range(p.fds[0], 0, 0, 0), ESPIPE);
}

TEST(Fallocate, ModeZeroExtendsTheFile) {
  make_file(tmp("f"), "abc");
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS(fallocate(fd, 0, 0, 10000));
  EXPECT_EQ(size_of(fd), 10000);
  // Within the size: nothing changes.
  ASSERT_SYSCALL_SUCCEEDS(fallocate(fd, 0, 0, 100));
  EXPECT_EQ(size_of(fd), 10000);
  char buf[4] = {};
  ASSERT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 4, 0), 4);
  EXPECT_STREQ(std::string(buf, 3), "abc");
  EXPECT_EQ(buf[3], 0);
  close(fd);
}

TEST(Fallocate, KeepSizeReservesWithoutGrowing) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  ASSERT_SYSCALL_SUCCEEDS(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536));
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(fstat(fd, &st));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_GE(st.st_blocks, 65536 / 512);
  close(fd);
}

TEST(Fallocate, PunchHoleZeroesARange) {
  make_file(tmp("f"), std::string(8192, 'x'));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_SYSCALL_FAILS_WITH(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
  ASSERT_SYSCALL_SUCCEEDS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  EXPECT_EQ(size_of(fd), 8192);
  char buf[2] = {};
  ASSERT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 1, 100), 1);
  EXPECT_EQ(buf[0], 0);
  ASSERT_SYSCALL_SUCCEEDS_WITH(pread(fd, buf, 1, 5000), 1);
  EXPECT_EQ(buf[0], 'x');
  close(fd);
}

TEST(Fallocate, Errors) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDWR));
  EXPECT_SYSCALL_FAILS_WITH(fallocate(fd, 0, -1, 1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fallocate(fd, 0, 0, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fallocate(fd, 0, 0, -5), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(fallocate(fd, 0x100, 0, 1), EOPNOTSUPP);
  close(fd);
  int ro = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  EXPECT_SYSCALL_FAILS_WITH(fallocate(ro, 0, 0, 1), EBADF);
  close(ro);
  EXPECT_SYSCALL_FAILS_WITH(fallocate(9999, 0, 0, 1), EBADF);
  Pipe p;
  EXPECT_SYSCALL_FAILS_WITH(fallocate(p.fds[1], 0, 0, 1), ESPIPE);
  int null = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_WRONLY));
  EXPECT_SYSCALL_FAILS_WITH(fallocate(null, 0, 0, 1), ENODEV);
  close(null);
}

TEST(Statfs, TmpfsAndProcReportTheirMagic) {
  struct statfs sf;
  ASSERT_SYSCALL_SUCCEEDS(statfs("/dev/shm", &sf));
  EXPECT_EQ(sf.f_type, TMPFS_MAGIC);
  EXPECT_EQ(sf.f_bsize, 4096);
  EXPECT_EQ(sf.f_namelen, 255);
  EXPECT_GT(sf.f_blocks, 0u);
  EXPECT_LE(sf.f_bfree, sf.f_blocks);
  EXPECT_GT(sf.f_files, 0u);
  EXPECT_LE(sf.f_ffree, sf.f_files);
  EXPECT_TRUE(sf.f_flags & kStValid);
  EXPECT_FALSE(sf.f_flags & ST_RDONLY);
  ASSERT_SYSCALL_SUCCEEDS(statfs("/proc/self", &sf));
  EXPECT_EQ(sf.f_type, PROC_SUPER_MAGIC);
  EXPECT_TRUE(sf.f_flags & kStValid);
}

// The root filesystem holds the system: it shows space in use (Python's
// test_shutil.test_disk_usage), even where the root is an overlay whose
// writable layer is empty.
TEST(Statfs, TheRootShowsSpaceInUse) {
  struct statvfs sv;
  ASSERT_SYSCALL_SUCCEEDS(statvfs("/", &sv));
  EXPECT_GT(sv.f_blocks, 0u);
  EXPECT_LT(sv.f_bfree, sv.f_blocks);
  EXPECT_LE(sv.f_bavail, sv.f_bfree);
  EXPECT_LT(sv.f_ffree, sv.f_files);
}

TEST(Statfs, ThroughDescriptors) {
  Pipe p;
  struct statfs sf;
  ASSERT_SYSCALL_SUCCEEDS(fstatfs(p.fds[0], &sf));
  EXPECT_EQ(sf.f_type, PIPEFS_MAGIC);
  int shm = ASSERT_SYSCALL_SUCCEEDS(open("/dev/shm", O_RDONLY | O_DIRECTORY));
  ASSERT_SYSCALL_SUCCEEDS(fstatfs(shm, &sf));
  EXPECT_EQ(sf.f_type, TMPFS_MAGIC);
  close(shm);
  // The temp dir's filesystem (ext4 natively, tmpfs in moat) answers too.
  make_file(tmp("f"));
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  ASSERT_SYSCALL_SUCCEEDS(fstatfs(path_fd, &sf));
  EXPECT_GT(sf.f_bsize, 0);
  EXPECT_TRUE(sf.f_flags & kStValid);
  close(path_fd);
  EXPECT_SYSCALL_FAILS_WITH(fstatfs(9999, &sf), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(statfs(tmp("missing").c_str(), &sf), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(statfs(tmp("f").c_str(), reinterpret_cast<struct statfs*>(8)), EFAULT);
}
