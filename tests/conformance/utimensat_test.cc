// Conformance: utimensat(2), futimens(3), utimes(2), futimesat(2), utime(2).
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "fs_util.h"
#include "harness.h"

using namespace fsutil;

namespace {

struct stat lstat_of(const std::string& path) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(path.c_str(), &st));
  return st;
}

bool same(const struct timespec& a, const struct timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }
bool before_or_same(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

struct timespec now_rounded_down() {
  // File times come from the coarse clock: compare with it.
  struct timespec t;
  clock_gettime(CLOCK_REALTIME_COARSE, &t);
  t.tv_sec -= 1;
  return t;
}

template <typename Fn>
int as_nobody(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

long raw_utimensat(int dirfd, const char* path, const struct timespec* ts, int flags) {
  return syscall(SYS_utimensat, dirfd, path, ts, flags);
}

}  // namespace

TEST(Utimensat, SetsExplicitTimes) {
  make_file(tmp("f"));
  struct timespec ts[2] = {{1000, 5}, {2000, 7}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), ts, 0));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
}

TEST(Utimensat, NullTimesMeansNow) {
  make_file(tmp("f"));
  struct timespec old[2] = {{1, 0}, {1, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), old, 0));
  struct timespec lo = now_rounded_down();
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), nullptr, 0));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_TRUE(before_or_same(lo, st.st_mtim));
  EXPECT_TRUE(before_or_same(lo, st.st_atim));
  EXPECT_TRUE(before_or_same(lo, st.st_ctim));
}

TEST(Utimensat, NowAndOmitPerField) {
  make_file(tmp("f"));
  struct timespec old[2] = {{100, 0}, {200, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), old, 0));
  struct timespec lo = now_rounded_down();
  struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), ts, 0));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_TRUE(before_or_same(lo, st.st_atim));
  EXPECT_EQ(st.st_mtim.tv_sec, 200);
  struct timespec ts2[2] = {{0, UTIME_OMIT}, {300, 9}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), ts2, 0));
  struct stat st2 = lstat_of(tmp("f"));
  EXPECT_TRUE(same(st2.st_atim, st.st_atim));
  EXPECT_EQ(st2.st_mtim.tv_sec, 300);
  EXPECT_EQ(st2.st_mtim.tv_nsec, 9);
}

TEST(Utimensat, ChangesCtime) {
  make_file(tmp("f"));
  struct timespec old[2] = {{100, 0}, {200, 0}};
  struct stat before = lstat_of(tmp("f"));
  usleep(20000);
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), old, 0));
  struct stat after = lstat_of(tmp("f"));
  EXPECT_TRUE(before_or_same(before.st_ctim, after.st_ctim));
  EXPECT_FALSE(same(before.st_ctim, after.st_ctim));
}

TEST(Utimensat, BothOmitLooksAtNothing) {
  struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  EXPECT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("missing").c_str(), ts, 0));
  EXPECT_SYSCALL_SUCCEEDS(raw_utimensat(AT_FDCWD, tmp("missing").c_str(), ts, 0x999));
}

TEST(Utimensat, BadNanosecondsAreEinvalAfterLookup) {
  make_file(tmp("f"));
  struct timespec ts[2] = {{0, 1000000000}, {0, 0}};
  EXPECT_SYSCALL_FAILS_WITH(utimensat(AT_FDCWD, tmp("f").c_str(), ts, 0), EINVAL);
  struct timespec neg[2] = {{0, 0}, {0, -1}};
  EXPECT_SYSCALL_FAILS_WITH(utimensat(AT_FDCWD, tmp("f").c_str(), neg, 0), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(utimensat(AT_FDCWD, tmp("missing").c_str(), ts, 0), ENOENT);
}

TEST(Utimensat, FlagsAndPaths) {
  make_file(tmp("f"));
  EXPECT_SYSCALL_FAILS_WITH(utimensat(AT_FDCWD, tmp("f").c_str(), nullptr, 0x8000), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(utimensat(AT_FDCWD, tmp("missing").c_str(), nullptr, 0), ENOENT);
  EXPECT_SYSCALL_FAILS_WITH(utimensat(9999, "f", nullptr, 0), EBADF);
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(AT_FDCWD, reinterpret_cast<const char*>(8), nullptr, 0), EFAULT);
  struct timespec* bad = reinterpret_cast<struct timespec*>(8);
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(AT_FDCWD, tmp("f").c_str(), bad, 0), EFAULT);
}

TEST(Utimensat, NoFollowSetsTheSymlinksOwnTimes) {
  make_file(tmp("target"));
  make_symlink("target", tmp("link"));
  struct timespec ts[2] = {{500, 0}, {600, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("link").c_str(), ts, AT_SYMLINK_NOFOLLOW));
  EXPECT_EQ(lstat_of(tmp("link")).st_mtim.tv_sec, 600);
  EXPECT_NE(lstat_of(tmp("target")).st_mtim.tv_sec, 600);
  struct timespec ts2[2] = {{700, 0}, {800, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("link").c_str(), ts2, 0));
  EXPECT_EQ(lstat_of(tmp("target")).st_mtim.tv_sec, 800);
  EXPECT_EQ(lstat_of(tmp("link")).st_mtim.tv_sec, 600);
}

TEST(Futimens, NullPathNamesTheFd) {
  make_file(tmp("f"));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_RDONLY));
  struct timespec ts[2] = {{41, 0}, {42, 0}};
  ASSERT_SYSCALL_SUCCEEDS(futimens(fd, ts));
  EXPECT_EQ(lstat_of(tmp("f")).st_mtim.tv_sec, 42);
  ASSERT_SYSCALL_SUCCEEDS(raw_utimensat(fd, nullptr, ts, 0));
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(fd, nullptr, ts, AT_SYMLINK_NOFOLLOW), EINVAL);
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(AT_FDCWD, nullptr, ts, 0), EFAULT);
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(9999, nullptr, ts, 0), EBADF);
  close(fd);
  int path_fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_PATH));
  EXPECT_SYSCALL_FAILS_WITH(raw_utimensat(path_fd, nullptr, ts, 0), EBADF);
  struct timespec ts2[2] = {{51, 0}, {52, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(path_fd, "", ts2, AT_EMPTY_PATH));
  EXPECT_EQ(lstat_of(tmp("f")).st_mtim.tv_sec, 52);
  close(path_fd);
}

TEST(Utimensat, PermissionRules) {
  ASSERT_SYSCALL_SUCCEEDS(chmod(conformance::temp_dir().c_str(), 0777));
  make_file(tmp("ro"), "", 0644);
  make_file(tmp("rw"), "", 0644);
  ASSERT_SYSCALL_SUCCEEDS(chmod(tmp("rw").c_str(), 0666));
  std::string ro = tmp("ro"), rw = tmp("rw");
  int status = as_nobody([&] {
    struct timespec explicit_times[2] = {{5, 0}, {6, 0}};
    struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    struct timespec both_now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    // Touching needs write access; anything else needs ownership.
    if (utimensat(AT_FDCWD, ro.c_str(), nullptr, 0) != -1 || errno != EACCES) return 1;
    if (utimensat(AT_FDCWD, ro.c_str(), both_now, 0) != -1 || errno != EACCES) return 2;
    if (utimensat(AT_FDCWD, rw.c_str(), nullptr, 0) != 0) return 3;
    if (utimensat(AT_FDCWD, rw.c_str(), both_now, 0) != 0) return 4;
    if (utimensat(AT_FDCWD, rw.c_str(), explicit_times, 0) != -1 || errno != EPERM) return 5;
    if (utimensat(AT_FDCWD, rw.c_str(), now_omit, 0) != -1 || errno != EPERM) return 6;
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(Utimes, MicrosecondsAndNull) {
  make_file(tmp("f"));
  struct timeval tv[2] = {{10, 1}, {20, 2}};
  ASSERT_SYSCALL_SUCCEEDS(utimes(tmp("f").c_str(), tv));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 10);
  EXPECT_EQ(st.st_atim.tv_nsec, 1000);
  EXPECT_EQ(st.st_mtim.tv_sec, 20);
  EXPECT_EQ(st.st_mtim.tv_nsec, 2000);
  struct timeval bad[2] = {{10, 1000000}, {20, 0}};
  EXPECT_SYSCALL_FAILS_WITH(syscall(SYS_utimes, tmp("f").c_str(), bad), EINVAL);
  struct timespec lo = now_rounded_down();
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_utimes, tmp("f").c_str(), nullptr));
  EXPECT_TRUE(before_or_same(lo, lstat_of(tmp("f")).st_mtim));
}

TEST(Futimesat, RelativeToDirfd) {
  make_file(tmp("f"));
  int dir = ASSERT_SYSCALL_SUCCEEDS(open(conformance::temp_dir().c_str(), O_RDONLY | O_DIRECTORY));
  struct timeval tv[2] = {{30, 0}, {31, 0}};
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_futimesat, dir, "f", tv));
  EXPECT_EQ(lstat_of(tmp("f")).st_mtim.tv_sec, 31);
  close(dir);
}

TEST(Utime, SetsSecondsOrNow) {
  make_file(tmp("f"));
  struct utimbuf ub = {70, 80};
  ASSERT_SYSCALL_SUCCEEDS(utime(tmp("f").c_str(), &ub));
  struct stat st = lstat_of(tmp("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 70);
  EXPECT_EQ(st.st_mtim.tv_sec, 80);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
  struct timespec lo = now_rounded_down();
  ASSERT_SYSCALL_SUCCEEDS(utime(tmp("f").c_str(), nullptr));
  EXPECT_TRUE(before_or_same(lo, lstat_of(tmp("f")).st_mtim));
  EXPECT_SYSCALL_FAILS_WITH(utime(tmp("missing").c_str(), nullptr), ENOENT);
}

TEST(Utimensat, WritesUpdateMtime) {
  make_file(tmp("f"));
  struct timespec old[2] = {{1, 0}, {1, 0}};
  ASSERT_SYSCALL_SUCCEEDS(utimensat(AT_FDCWD, tmp("f").c_str(), old, 0));
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(tmp("f").c_str(), O_WRONLY));
  ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, "x", 1), 1);
  close(fd);
  EXPECT_GT(lstat_of(tmp("f")).st_mtim.tv_sec, 1);
}
