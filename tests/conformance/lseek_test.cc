// Conformance: lseek(2).
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

int open_digits(int flags = O_RDONLY) {
  make_file(tmp("digits"), "0123456789");
  return ASSERT_SYSCALL_SUCCEEDS(open(tmp("digits").c_str(), flags));
}

}  // namespace

TEST(Lseek, SeekSet) {
  int fd = open_digits();
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 7, SEEK_SET), 7);
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 1);
  EXPECT_EQ(c, '7');
  close(fd);
}

TEST(Lseek, SeekCur) {
  int fd = open_digits();
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 2, SEEK_SET));
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 3, SEEK_CUR), 5);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, -1, SEEK_CUR), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 4);
  close(fd);
}

TEST(Lseek, SeekEnd) {
  int fd = open_digits();
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_END), 10);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, -3, SEEK_END), 7);
  char c;
  ASSERT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 1);
  EXPECT_EQ(c, '7');
  close(fd);
}

TEST(Lseek, PastEndIsAllowed) {
  int fd = open_digits();
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 100, SEEK_SET), 100);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 5, SEEK_END), 15);
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 1), 0);
  close(fd);
}

TEST(Lseek, NegativeResultIsEinval) {
  int fd = open_digits();
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 4, SEEK_SET));
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, -1, SEEK_SET), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, -5, SEEK_CUR), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, -11, SEEK_END), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 4);
  close(fd);
}

// generic_file_llseek_size: the sum wraps negative, and vfs_setpos refuses
// a negative offset with EINVAL (not EOVERFLOW).
TEST(Lseek, OverflowingSeekEndIsEinval) {
  int fd = open_digits();
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, 3, SEEK_SET));
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, INT64_MAX, SEEK_END), EINVAL);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_CUR), 3);
  close(fd);
}

TEST(Lseek, InvalidWhenceIsEinval) {
  int fd = open_digits();
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 0, 5), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 0, -1), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 0, 100), EINVAL);
  close(fd);
}

TEST(Lseek, BadFdIsEbadf) {
  EXPECT_SYSCALL_FAILS_WITH(lseek(-1, 0, SEEK_SET), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(lseek(9999, 0, SEEK_SET), EBADF);
}

TEST(Lseek, OPathFdIsEbadf) {
  int fd = open_digits(O_PATH);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 0, SEEK_SET), EBADF);
  close(fd);
}

TEST(Lseek, PipeIsEspipe) {
  int p[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(p));
  EXPECT_SYSCALL_FAILS_WITH(lseek(p[0], 0, SEEK_CUR), ESPIPE);
  close(p[0]);
  close(p[1]);
}

TEST(Lseek, WriteAfterSeekLandsThere) {
  int fd = open_digits(O_RDWR);
  ASSERT_SYSCALL_SUCCEEDS(lseek(fd, -2, SEEK_END));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "XYZ", 3), 3);
  close(fd);
  EXPECT_STREQ(read_file(tmp("digits")), "01234567XYZ");
}

TEST(Lseek, SeekDataAndHoleOnDenseFile) {
  int fd = open_digits();
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_DATA), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 3, SEEK_HOLE), 10);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 10, SEEK_DATA), ENXIO);
  EXPECT_SYSCALL_FAILS_WITH(lseek(fd, 11, SEEK_HOLE), ENXIO);
  close(fd);
}

TEST(Lseek, DirectoryRewind) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 0, SEEK_SET), 0);
  close(fd);
}

TEST(Lseek, DevNullAlwaysZero) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open("/dev/null", O_RDWR));
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 100, SEEK_SET), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(fd, 5, SEEK_CUR), 0);
  close(fd);
}

TEST(Lseek, SeparateDescriptionsHaveSeparateOffsets) {
  int a = open_digits();
  int b = ASSERT_SYSCALL_SUCCEEDS(open(tmp("digits").c_str(), O_RDONLY));
  ASSERT_SYSCALL_SUCCEEDS(lseek(a, 6, SEEK_SET));
  EXPECT_SYSCALL_SUCCEEDS_WITH(lseek(b, 0, SEEK_CUR), 0);
  close(a);
  close(b);
}
