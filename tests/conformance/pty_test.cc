// Conformance: pseudo-terminals (pty(7)): /dev/ptmx, /dev/pts/N, the pty
// ioctls (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER, TIOCPKT), termios (termios(3),
// tty_ioctl(4)) and the line discipline: canonical and raw reads, echo,
// output processing, signal characters, window size, controlling
// terminals and foreground groups, hang-ups, poll and blocking reads.
//
// A write to the master reaches the replica asynchronously on Linux (the
// tty flip buffer), so every check of what arrived waits with a deadline.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "harness.h"
#include "proc_child.h"

using namespace conformance;

namespace {

// A master and its replica, closed when the case ends.
struct PtyPair {
  int master = -1;
  int replica = -1;
  std::string name;
  ~PtyPair() {
    if (replica >= 0) close(replica);
    if (master >= 0) close(master);
  }
  void close_replica() {
    if (replica >= 0) close(replica);
    replica = -1;
  }
  void close_master() {
    if (master >= 0) close(master);
    master = -1;
  }
};

// Opens a pty the way a terminal emulator does (posix_openpt, grantpt,
// unlockpt, ptsname); the replica is opened unless told not to.
bool open_pty(PtyPair& p, bool open_replica = true) {
  p.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p.master < 0) return false;
  if (grantpt(p.master) != 0 || unlockpt(p.master) != 0) return false;
  const char* n = ptsname(p.master);
  if (!n) return false;
  p.name = n;
  if (!open_replica) return true;
  p.replica = open(n, O_RDWR | O_NOCTTY | O_CLOEXEC);
  return p.replica >= 0;
}

void write_str(int fd, const std::string& s) {
  ssize_t n = write(fd, s.data(), s.size());
  if (n != static_cast<ssize_t>(s.size())) CONF_FAIL_(false, "write of %zu bytes gave %zd (%s)", s.size(), n, errno_str(errno).c_str());
}

// Reads until want bytes came or timeout_ms passed (each read as the fd gives).
std::string read_some(int fd, size_t want, int timeout_ms = 2000) {
  std::string got;
  int64_t end = proc::now_ms() + timeout_ms;
  while (got.size() < want) {
    int left = static_cast<int>(end - proc::now_ms());
    if (left <= 0) break;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, left) <= 0) break;
    char buf[256];
    ssize_t n = read(fd, buf, std::min(sizeof buf, want - got.size()));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// One read of up to cap bytes once the fd is readable (a canonical read
// returns one line).
std::string read_once(int fd, size_t cap = 256, int timeout_ms = 2000) {
  struct pollfd pfd = {fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return "<not readable>";
  char buf[512];
  ssize_t n = read(fd, buf, std::min(cap, sizeof buf));
  if (n < 0) return "<" + errno_str(errno) + ">";
  return std::string(buf, static_cast<size_t>(n));
}

bool readable_within(int fd, int timeout_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  return poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN);
}

void set_lflag(int fd, tcflag_t on, tcflag_t off) {
  struct termios t;
  tcgetattr(fd, &t);
  t.c_lflag = (t.c_lflag | on) & ~off;
  tcsetattr(fd, TCSANOW, &t);
}

std::string hex(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) {
    snprintf(b, sizeof b, "%02x ", c);
    out += b;
  }
  return out;
}

#define EXPECT_BYTES(got, want) EXPECT_STREQ(hex(got), hex(want))

// Runs fn in a child that starts a new session and takes the replica as its
// controlling terminal; fn's return value is the child's exit status.
// ready: the child writes a byte once its terminal is set up.
template <typename F>
pid_t fork_session_child(const PtyPair& p, int ready_fd, F fn) {
  return proc::fork_child([&]() -> int {
    if (setsid() < 0) return 90;
    if (ioctl(p.replica, TIOCSCTTY, 0) < 0) return 91;
    return fn(ready_fd);
  });
}

void signal_ready(int fd) {
  char c = 'r';
  [[maybe_unused]] ssize_t n = write(fd, &c, 1);
}

bool wait_ready(int fd) {
  char c;
  return proc::read_full_timeout(fd, &c, 1, 5000) == 1;
}

// Waits up to 3 s for sig (blocked by the caller); 0 when it came.
int await_signal(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec ts = {3, 0};
  return sigtimedwait(&set, nullptr, &ts) == sig ? 0 : 1;
}

void block_signal(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

// The key typed at the master reaches the foreground group as sig.
void check_signal_key(char key, int sig) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  ASSERT_TRUE(ready.ok());
  pid_t child = fork_session_child(p, ready.w, [sig](int ready_fd) {
    block_signal(sig);
    signal_ready(ready_fd);
    return await_signal(sig);
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(wait_ready(ready.r));
  write_str(p.master, std::string(1, key));
  EXPECT_EQ(proc::child_result(child, 5000), 0);
  // Echoed as ^X (ECHOCTL).
  EXPECT_BYTES(read_some(p.master, 2), std::string("^") + static_cast<char>(key ^ 0x40));
}

}  // namespace

// ---- /dev/ptmx and /dev/pts ----------------------------------------------

TEST(Ptmx, OpenGivesATerminal) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
  ASSERT_GE(m, 0);
  EXPECT_TRUE(isatty(m));
  struct stat st;
  EXPECT_SYSCALL_SUCCEEDS(fstat(m, &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 5u);
  EXPECT_EQ(minor(st.st_rdev), 2u);
  close(m);
}

TEST(Ptmx, GrantptUnlockptPtsname) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(m, 0);
  EXPECT_SYSCALL_SUCCEEDS(grantpt(m));
  EXPECT_SYSCALL_SUCCEEDS(unlockpt(m));
  const char* name = ptsname(m);
  ASSERT_TRUE(name != nullptr);
  EXPECT_EQ(strncmp(name, "/dev/pts/", 9), 0);
  close(m);
}

TEST(Ptmx, TiocgptnMatchesPtsname) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p, false));
  unsigned n = 12345;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCGPTN, &n));
  EXPECT_STREQ(p.name, "/dev/pts/" + std::to_string(n));
}

TEST(Ptmx, TwoPtysHaveDifferentNumbers) {
  PtyPair a, b;
  ASSERT_TRUE(open_pty(a, false));
  ASSERT_TRUE(open_pty(b, false));
  EXPECT_TRUE(a.name != b.name);
}

TEST(Ptmx, NewPtyIsLockedUntilUnlockpt) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
  ASSERT_GE(m, 0);
  int locked = -1;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(m, TIOCGPTLCK, &locked));
  EXPECT_EQ(locked, 1);
  unsigned n;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(m, TIOCGPTN, &n));
  std::string name = "/dev/pts/" + std::to_string(n);
  EXPECT_SYSCALL_FAILS_WITH(open(name.c_str(), O_RDWR | O_NOCTTY), EIO);
  EXPECT_SYSCALL_FAILS_WITH(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY), EIO);
  int zero = 0;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(m, TIOCSPTLCK, &zero));
  ASSERT_SYSCALL_SUCCEEDS(ioctl(m, TIOCGPTLCK, &locked));
  EXPECT_EQ(locked, 0);
  int r = EXPECT_SYSCALL_SUCCEEDS(open(name.c_str(), O_RDWR | O_NOCTTY));
  if (r >= 0) close(r);
  // Locking again shuts the door for new opens.
  int one = 1;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(m, TIOCSPTLCK, &one));
  EXPECT_SYSCALL_FAILS_WITH(open(name.c_str(), O_RDWR | O_NOCTTY), EIO);
  close(m);
}

TEST(Ptmx, ReplicaIsCharDevice136) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  unsigned n;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCGPTN, &n));
  struct stat fst, pst;
  ASSERT_SYSCALL_SUCCEEDS(fstat(p.replica, &fst));
  ASSERT_SYSCALL_SUCCEEDS(stat(p.name.c_str(), &pst));
  EXPECT_TRUE(S_ISCHR(fst.st_mode));
  EXPECT_EQ(major(fst.st_rdev), 136u);
  EXPECT_EQ(minor(fst.st_rdev), n);
  EXPECT_EQ(fst.st_rdev, pst.st_rdev);
  EXPECT_EQ(fst.st_ino, pst.st_ino);
  EXPECT_EQ(fst.st_dev, pst.st_dev);
}

TEST(Ptmx, TtynameAndProcFdNameTheReplica) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  const char* t = ttyname(p.replica);
  ASSERT_TRUE(t != nullptr);
  EXPECT_STREQ(t, p.name);
  char link[256] = {};
  std::string proc = "/proc/self/fd/" + std::to_string(p.replica);
  ASSERT_SYSCALL_SUCCEEDS(readlink(proc.c_str(), link, sizeof link - 1));
  EXPECT_STREQ(link, p.name);
}

TEST(Ptmx, DevPtsListsOpenPtys) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p, false));
  std::string want = p.name.substr(strlen("/dev/pts/"));
  DIR* d = opendir("/dev/pts");
  ASSERT_TRUE(d != nullptr);
  bool found = false;
  while (struct dirent* e = readdir(d)) found |= want == e->d_name;
  closedir(d);
  EXPECT_TRUE(found);
}

TEST(Ptmx, TiocgptpeerOpensTheReplica) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p, false));
  int peer = ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(peer, 0);
  EXPECT_TRUE(isatty(peer));
  EXPECT_EQ(fcntl(peer, F_GETFD), FD_CLOEXEC);
  const char* t = ttyname(peer);
  EXPECT_STREQ(t ? t : "", p.name);
  write_str(p.master, "peer\n");
  EXPECT_STREQ(read_once(peer), "peer\n");
  // Its /proc/self/fd link opens the same replica again.
  std::string link = "/proc/self/fd/" + std::to_string(peer);
  int again = open(link.c_str(), O_RDWR | O_NOCTTY);
  EXPECT_GE(again, 0);
  if (again >= 0) {
    write_str(again, "2");
    EXPECT_BYTES(read_some(p.master, 7), "peer\r\n2");  // the echo, then its output
    close(again);
  }
  close(peer);
}

TEST(Ptmx, ReplicaRefusesMasterRequests) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  unsigned n;
  EXPECT_SYSCALL_FAILS_WITH(ioctl(p.replica, TIOCGPTN, &n), ENOTTY);
  int zero = 0;
  EXPECT_SYSCALL_FAILS_WITH(ioctl(p.replica, TIOCSPTLCK, &zero), ENOTTY);
  EXPECT_SYSCALL_FAILS_WITH(ioctl(p.replica, TIOCGPTPEER, O_RDWR), EIO);
}

TEST(Ptmx, NoSeek) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  EXPECT_SYSCALL_FAILS_WITH(lseek(p.master, 0, SEEK_SET), ESPIPE);
  EXPECT_SYSCALL_FAILS_WITH(lseek(p.replica, 0, SEEK_SET), ESPIPE);
}

// ---- termios ---------------------------------------------------------------

TEST(Termios, NewReplicaIsCooked) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &t));
  EXPECT_TRUE(t.c_lflag & ICANON);
  EXPECT_TRUE(t.c_lflag & ECHO);
  EXPECT_TRUE(t.c_lflag & ISIG);
  EXPECT_TRUE(t.c_iflag & ICRNL);
  EXPECT_TRUE((t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR));
  EXPECT_EQ(t.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
  EXPECT_EQ(t.c_cc[VINTR], 3);
  EXPECT_EQ(t.c_cc[VEOF], 4);
  EXPECT_EQ(t.c_cc[VERASE], 0177);
  EXPECT_EQ(t.c_cc[VKILL], 025);
  EXPECT_EQ(t.c_cc[VSUSP], 032);
  EXPECT_EQ(t.c_cc[VMIN], 1);
  EXPECT_EQ(t.c_cc[VTIME], 0);
}

TEST(Termios, SettingsRoundTrip) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &t));
  t.c_lflag &= ~(ECHO | ECHOE);
  t.c_iflag |= IGNCR;
  t.c_oflag &= ~ONLCR;
  t.c_cc[VINTR] = 'x';
  t.c_cc[VMIN] = 3;
  cfsetospeed(&t, B9600);
  cfsetispeed(&t, B9600);
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  struct termios back;
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &back));
  EXPECT_EQ(back.c_lflag, t.c_lflag);
  EXPECT_EQ(back.c_iflag, t.c_iflag);
  EXPECT_EQ(back.c_oflag, t.c_oflag);
  EXPECT_EQ(back.c_cc[VINTR], 'x');
  EXPECT_EQ(back.c_cc[VMIN], 3);
  EXPECT_EQ(cfgetospeed(&back), static_cast<speed_t>(B9600));
  // TCSETSW and TCSETSF take the same structure.
  t.c_lflag |= ECHO;
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSADRAIN, &t));
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSAFLUSH, &t));
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &back));
  EXPECT_TRUE(back.c_lflag & ECHO);
}

TEST(Termios, MasterSharesTheReplicaSettings) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  set_lflag(p.replica, 0, ECHO);
  struct termios t;
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.master, &t));
  EXPECT_FALSE(t.c_lflag & ECHO);
  // And a change through the master shows on the replica.
  set_lflag(p.master, ECHO, ICANON);
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &t));
  EXPECT_TRUE(t.c_lflag & ECHO);
  EXPECT_FALSE(t.c_lflag & ICANON);
}

TEST(Termios, KernelStructIs36Bytes) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  unsigned char buf[64];
  memset(buf, 0xaa, sizeof buf);
  ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_ioctl, p.replica, TCGETS, buf));
  for (size_t i = 36; i < sizeof buf; i++) EXPECT_EQ(buf[i], 0xaa);
  // c_cc starts at byte 17: VINTR there is ^C.
  EXPECT_EQ(buf[17], 3);
}

TEST(Termios, PtyIsAlwaysEightBitsWithoutParity) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &t));
  t.c_cflag = (t.c_cflag & ~CSIZE) | CS7 | PARENB;
  // glibc's tcsetattr would call the change it cannot see applied EINVAL.
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.replica, TCSETS, &t));
  ASSERT_SYSCALL_SUCCEEDS(tcgetattr(p.replica, &t));
  EXPECT_EQ(t.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
  EXPECT_FALSE(t.c_cflag & PARENB);
}

TEST(Termios, NotATerminalIsEnotty) {
  int fds[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(fds));
  struct termios t;
  EXPECT_SYSCALL_FAILS_WITH(tcgetattr(fds[0], &t), ENOTTY);
  close(fds[0]);
  close(fds[1]);
}

// ---- Canonical mode ----------------------------------------------------------

TEST(Canonical, ReadWaitsForTheNewline) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "abc");
  // The echo proves the line discipline has taken the bytes.
  EXPECT_STREQ(read_some(p.master, 3), "abc");
  int flags = fcntl(p.replica, F_GETFL);
  fcntl(p.replica, F_SETFL, flags | O_NONBLOCK);
  char buf[16];
  EXPECT_SYSCALL_FAILS_WITH(read(p.replica, buf, sizeof buf), EAGAIN);
  int avail = -1;
  EXPECT_SYSCALL_SUCCEEDS(ioctl(p.replica, FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  fcntl(p.replica, F_SETFL, flags);
  write_str(p.master, "\n");
  EXPECT_STREQ(read_once(p.replica), "abc\n");
}

TEST(Canonical, CarriageReturnEndsTheLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "hello\r");
  EXPECT_STREQ(read_once(p.replica), "hello\n");
}

TEST(Canonical, EraseAndKillEditTheLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "abc\x7f\x7f" "d\x15" "ef\n");
  EXPECT_STREQ(read_once(p.replica), "ef\n");
}

TEST(Canonical, WordEraseTakesTheLastWord) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "foo bar\x17" "baz\n");
  EXPECT_STREQ(read_once(p.replica), "foo baz\n");
}

TEST(Canonical, EofEndsALineOrReadsZero) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "x\x04");
  EXPECT_STREQ(read_once(p.replica), "x");
  write_str(p.master, "\x04");
  EXPECT_STREQ(read_once(p.replica), "");
}

TEST(Canonical, OneLinePerRead) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "one\ntwo\n");
  EXPECT_STREQ(read_once(p.replica), "one\n");
  EXPECT_STREQ(read_once(p.replica), "two\n");
}

TEST(Canonical, ShortReadLeavesTheRestOfTheLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "hello\n");
  EXPECT_STREQ(read_once(p.replica, 2), "he");
  EXPECT_STREQ(read_once(p.replica), "llo\n");
}

TEST(Canonical, FionreadCountsCompleteLines) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "12345\n");
  ASSERT_TRUE(readable_within(p.replica, 2000));
  write_str(p.master, "67");
  EXPECT_STREQ(read_some(p.master, 9), "12345\r\n67");  // both echoed: all taken
  int avail = -1;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.replica, FIONREAD, &avail));
  EXPECT_EQ(avail, 6);
}

TEST(Canonical, TcflushDiscardsTypedInput) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "gone\n");
  ASSERT_TRUE(readable_within(p.replica, 2000));
  ASSERT_SYSCALL_SUCCEEDS(tcflush(p.replica, TCIFLUSH));
  EXPECT_FALSE(readable_within(p.replica, 50));
  write_str(p.master, "kept\n");
  EXPECT_STREQ(read_once(p.replica), "kept\n");
}

// ---- Echo and output processing --------------------------------------------

TEST(Echo, TypedCharactersComeBackOnTheMaster) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "hi\r");
  EXPECT_BYTES(read_some(p.master, 4), "hi\r\n");
}

TEST(Echo, EraseRubsOutWithBackspaceSpaceBackspace) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "ab\x7f");
  EXPECT_BYTES(read_some(p.master, 5), "ab\b \b");
}

TEST(Echo, ControlCharactersEchoAsCaret) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "\x01");
  EXPECT_BYTES(read_some(p.master, 2), "^A");
}

TEST(Echo, NothingWithEchoOff) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  set_lflag(p.replica, 0, ECHO);
  write_str(p.master, "secret\n");
  EXPECT_STREQ(read_once(p.replica), "secret\n");
  int avail = -1;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
}

TEST(Output, OnlcrTurnsNewlineIntoCrLf) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.replica, "x\n");
  EXPECT_BYTES(read_some(p.master, 3), "x\r\n");
  struct termios t;
  tcgetattr(p.replica, &t);
  t.c_oflag &= ~OPOST;
  tcsetattr(p.replica, TCSANOW, &t);
  write_str(p.replica, "y\n");
  EXPECT_BYTES(read_some(p.master, 2), "y\n");
}

TEST(Output, MasterFionreadCountsReplicaOutput) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.replica, "hey");
  ASSERT_TRUE(readable_within(p.master, 2000));
  int avail = -1;
  // The flip buffer may hand the bytes over in pieces: wait for all three.
  for (int i = 0; i < 200 && avail != 3; i++) {
    ioctl(p.master, FIONREAD, &avail);
    if (avail != 3) proc::sleep_ms(5);
  }
  EXPECT_EQ(avail, 3);
}

// ---- Raw mode ----------------------------------------------------------------

TEST(Raw, ByteAtATimeWithoutEcho) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  tcgetattr(p.replica, &t);
  cfmakeraw(&t);  // VMIN 1, VTIME 0
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  write_str(p.master, "q");
  EXPECT_STREQ(read_once(p.replica), "q");
  write_str(p.master, "\r\x03");  // no ICRNL, no ISIG: plain bytes
  EXPECT_BYTES(read_some(p.replica, 2), "\r\x03");
  EXPECT_FALSE(readable_within(p.master, 50));  // no echo
}

TEST(Raw, VminHoldsReadinessUntilEnoughBytes) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  tcgetattr(p.replica, &t);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 2;
  t.c_cc[VTIME] = 0;
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  write_str(p.master, "a");
  EXPECT_FALSE(readable_within(p.replica, 100));
  write_str(p.master, "b");
  EXPECT_TRUE(readable_within(p.replica, 2000));
  char buf[8];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(p.replica, buf, sizeof buf), 2);
}

TEST(Raw, VminZeroVtimeZeroNeverWaits) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  tcgetattr(p.replica, &t);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  char buf[8];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(p.replica, buf, sizeof buf), 0);
}

TEST(Raw, VtimeEndsAnIdleRead) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  tcgetattr(p.replica, &t);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 2;  // 0.2 s
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  char buf[8];
  int64_t start = proc::now_ms();
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(p.replica, buf, sizeof buf), 0);
  int64_t took = proc::now_ms() - start;
  EXPECT_GE(took, 150);
  EXPECT_LT(took, 3000);
}

TEST(Raw, VminWithVtimeReturnsWhatCameWithinTheTimer) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct termios t;
  tcgetattr(p.replica, &t);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 5;
  t.c_cc[VTIME] = 2;  // 0.2 s between bytes
  ASSERT_SYSCALL_SUCCEEDS(tcsetattr(p.replica, TCSANOW, &t));
  write_str(p.master, "ab");
  char buf[16];
  int64_t start = proc::now_ms();
  ssize_t n = read(p.replica, buf, sizeof buf);
  int64_t took = proc::now_ms() - start;
  EXPECT_EQ(n, 2);
  EXPECT_LT(took, 3000);
}

TEST(Raw, LeavingCanonicalModeReleasesThePartialLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "abc");
  EXPECT_STREQ(read_some(p.master, 3), "abc");  // taken by the line discipline
  set_lflag(p.replica, 0, ICANON);
  EXPECT_STREQ(read_some(p.replica, 3), "abc");
}

TEST(Raw, IsigOffMakesCtrlCData) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  set_lflag(p.replica, 0, ISIG);
  write_str(p.master, "\x03\n");
  EXPECT_BYTES(read_once(p.replica), "\x03\n");
}

// ---- Window size -------------------------------------------------------------

TEST(WindowSize, RoundTripThroughEitherSide) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct winsize ws = {40, 132, 0, 0};
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCSWINSZ, &ws));
  struct winsize got = {};
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.replica, TIOCGWINSZ, &got));
  EXPECT_EQ(got.ws_row, 40);
  EXPECT_EQ(got.ws_col, 132);
  ws.ws_row = 25;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.replica, TIOCSWINSZ, &ws));
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCGWINSZ, &got));
  EXPECT_EQ(got.ws_row, 25);
}

TEST(WindowSize, ChangeSendsSigwinchToTheForegroundGroup) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  pid_t child = fork_session_child(p, ready.w, [](int ready_fd) {
    block_signal(SIGWINCH);
    signal_ready(ready_fd);
    return await_signal(SIGWINCH);
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(wait_ready(ready.r));
  struct winsize ws = {50, 100, 0, 0};
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCSWINSZ, &ws));
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

// ---- Signal characters -------------------------------------------------------

TEST(Signals, CtrlCSendsSigint) { check_signal_key('\x03', SIGINT); }
TEST(Signals, CtrlZSendsSigtstp) { check_signal_key('\x1a', SIGTSTP); }
TEST(Signals, CtrlBackslashSendsSigquit) { check_signal_key('\x1c', SIGQUIT); }

TEST(Signals, CtrlCFlushesTheLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  // Nobody's foreground: the key still discards what was typed.
  write_str(p.master, "lost\x03" "kept\n");
  EXPECT_STREQ(read_once(p.replica), "kept\n");
}

// ---- Controlling terminals ---------------------------------------------------

TEST(Ctty, TiocsctyMakesTheSessionsTerminal) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  pid_t child = fork_session_child(p, ready.w, [&p](int) {
    pid_t sid = -1, pgrp = -1;
    if (ioctl(p.replica, TIOCGSID, &sid) < 0 || sid != getpid()) return 1;
    if (ioctl(p.replica, TIOCGPGRP, &pgrp) < 0 || pgrp != getpid()) return 2;
    if (tcgetpgrp(p.replica) != getpid()) return 3;
    if (tcgetsid(p.master) != getpid()) return 4;
    int tty = open("/dev/tty", O_RDWR);
    if (tty < 0) return 5;
    struct stat a, b;
    fstat(tty, &a);
    stat("/dev/tty", &b);
    if (major(a.st_rdev) != 5 || minor(a.st_rdev) != 0 || a.st_ino != b.st_ino) return 6;
    // /dev/tty reads what the replica would.
    if (!isatty(tty)) return 7;
    close(tty);
    return 0;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, DevTtyWritesReachTheMaster) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  pid_t child = fork_session_child(p, ready.w, [](int) {
    int tty = open("/dev/tty", O_WRONLY);
    if (tty < 0) return 1;
    if (write(tty, "via tty\n", 8) != 8) return 2;
    close(tty);
    return 0;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
  EXPECT_BYTES(read_some(p.master, 9), "via tty\r\n");
}

TEST(Ctty, OnlyASessionLeaderMayTakeOne) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  pid_t child = proc::fork_child([&p]() -> int {
    // A fresh child leads no session.
    if (getsid(0) == getpid()) return 9;
    if (ioctl(p.replica, TIOCSCTTY, 0) == 0) return 1;
    return errno == EPERM ? 0 : 2;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, NewSessionHasNoTerminal) {
  pid_t child = proc::fork_child([]() -> int {
    if (setsid() < 0) return 9;
    if (open("/dev/tty", O_RDWR) >= 0) return 1;
    return errno == ENXIO ? 0 : 2;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, OpenWithoutNocttyAcquiresIt) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p, false));
  std::string name = p.name;
  pid_t child = proc::fork_child([name]() -> int {
    if (setsid() < 0) return 9;
    int fd = open(name.c_str(), O_RDWR);
    if (fd < 0) return 1;
    pid_t sid = -1;
    if (ioctl(fd, TIOCGSID, &sid) < 0) return 2;
    return sid == getpid() ? 0 : 3;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, AnotherSessionsTerminalIsRefused) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready, go;
  pid_t owner = fork_session_child(p, ready.w, [&go](int ready_fd) {
    signal_ready(ready_fd);
    proc::child_wait_for_go(go.r);
    return 0;
  });
  ASSERT_GT(owner, 0);
  ASSERT_TRUE(wait_ready(ready.r));
  pid_t other = proc::fork_child([&p]() -> int {
    if (setsid() < 0) return 9;
    pid_t sid;
    if (ioctl(p.replica, TIOCGSID, &sid) == 0) return 1;  // not its terminal
    if (errno != ENOTTY) return 2;
    if (ioctl(p.replica, TIOCSCTTY, 0) == 0) return 3;
    return errno == EPERM ? 0 : 4;
  });
  ASSERT_GT(other, 0);
  EXPECT_EQ(proc::child_result(other, 5000), 0);
  signal_ready(go.w);
  EXPECT_EQ(proc::child_result(owner, 5000), 0);
}

TEST(Ctty, TiocspgrpMovesTheForeground) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  pid_t child = fork_session_child(p, ready.w, [&p](int) {
    proc::Pipe go;
    pid_t job = proc::fork_child([&go]() -> int {
      setpgid(0, 0);
      proc::child_wait_for_go(go.r);
      return 0;
    });
    if (job < 0) return 1;
    setpgid(job, job);  // either side may win the race; both ask the same
    int result = 0;
    // A group that does not exist, and a bad one.
    if (tcsetpgrp(p.replica, 999999) == 0 || errno != ESRCH) result = 4;
    else if (tcsetpgrp(p.replica, -1) == 0 || errno != EINVAL) result = 5;
    else if (tcsetpgrp(p.replica, job) < 0) result = 2;
    else if (tcgetpgrp(p.replica) != job) result = 3;
    // Now in the background, of a group nobody could continue (its parent
    // is in another session): ENOTTY, not a stop (tiocspgrp).
    else if (tcsetpgrp(p.replica, getpid()) == 0 || errno != ENOTTY) result = 7;
    signal_ready(go.w);
    if (proc::child_result(job, 5000) != 0 && result == 0) result = 6;
    return result;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, TiocnottyGivesItUp) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  proc::Pipe ready;
  pid_t child = fork_session_child(p, ready.w, [&p](int) {
    signal(SIGHUP, SIG_IGN);  // the foreground group (this one) gets SIGHUP
    if (ioctl(p.replica, TIOCNOTTY) < 0) return 1;
    if (open("/dev/tty", O_RDWR) >= 0) return 2;
    pid_t sid;
    if (ioctl(p.master, TIOCGSID, &sid) == 0) return 3;
    return 0;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Ctty, MasterWithoutSessionReportsNone) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  pid_t pgrp = -1;
  EXPECT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCGPGRP, &pgrp));
  EXPECT_EQ(pgrp, 0);
  pid_t sid;
  EXPECT_SYSCALL_FAILS_WITH(ioctl(p.master, TIOCGSID, &sid), ENOTTY);
  EXPECT_SYSCALL_FAILS_WITH(ioctl(p.replica, TIOCGPGRP, &pgrp), ENOTTY);
}

// ---- Job control -------------------------------------------------------------

namespace {

// In a session whose terminal is the replica (the leader's group in the
// foreground), runs job in a child of a new, background group and returns
// how it ended: its exit status, 1000 + a signal that killed it, or
// 2000 + a signal that stopped it.
template <typename F>
int run_background_job(const PtyPair& p, tcflag_t extra_lflag, F job) {
  proc::Pipe ready;
  pid_t leader = fork_session_child(p, ready.w, [&p, extra_lflag, &job](int) {
    if (extra_lflag) set_lflag(p.replica, extra_lflag, 0);
    pid_t child = proc::fork_child([&job]() -> int {
      setpgid(0, 0);
      return job();
    });
    if (child < 0) return 250;
    setpgid(child, child);
    int st = 0;
    pid_t r = proc::wait_timeout(child, &st, WUNTRACED, 3000);
    int result = 251;
    if (r == child && WIFSTOPPED(st)) result = 200 + (WSTOPSIG(st) & 0x3f);
    else if (r == child && WIFEXITED(st)) result = WEXITSTATUS(st);
    else if (r == child && WIFSIGNALED(st)) result = 100 + (WTERMSIG(st) & 0x3f);
    proc::kill_and_reap(child);
    return result;
  });
  if (leader < 0) return -1;
  int r = proc::child_result(leader, 8000);
  if (r >= 200 && r < 250) return 2000 + r - 200;
  if (r >= 100 && r < 200) return 1000 + r - 100;
  return r;
}

}  // namespace

TEST(JobControl, BackgroundReadStopsWithSigttin) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int r = run_background_job(p, 0, [&p]() -> int {
    char c;
    return read(p.replica, &c, 1) < 0 ? 3 : 4;
  });
  EXPECT_EQ(r, 2000 + SIGTTIN);
}

TEST(JobControl, BackgroundReadWithSigttinBlockedIsEio) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int r = run_background_job(p, 0, [&p]() -> int {
    block_signal(SIGTTIN);
    char c;
    if (read(p.replica, &c, 1) >= 0) return 3;
    return errno == EIO ? 0 : 4;
  });
  EXPECT_EQ(r, 0);
}

TEST(JobControl, BackgroundWriteGoesThroughWithoutTostop) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int r = run_background_job(p, 0, [&p]() -> int { return write(p.replica, "bg", 2) == 2 ? 0 : 3; });
  EXPECT_EQ(r, 0);
  EXPECT_STREQ(read_some(p.master, 2), "bg");
}

TEST(JobControl, BackgroundWriteWithTostopStopsWithSigttou) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int r = run_background_job(p, TOSTOP, [&p]() -> int { return write(p.replica, "bg", 2) == 2 ? 3 : 4; });
  EXPECT_EQ(r, 2000 + SIGTTOU);
}

// ---- Hang-ups ------------------------------------------------------------------

TEST(Hangup, MasterReadsEioAfterTheReplicaCloses) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.replica, "bye\n");
  ASSERT_TRUE(readable_within(p.master, 2000));
  proc::sleep_ms(20);
  p.close_replica();
  EXPECT_BYTES(read_some(p.master, 5), "bye\r\n");
  char buf[8];
  EXPECT_SYSCALL_FAILS_WITH(read(p.master, buf, sizeof buf), EIO);
  // The master stays usable: a new replica clears the condition.
  p.replica = open(p.name.c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(p.replica, 0);
  write_str(p.replica, "again");
  EXPECT_STREQ(read_some(p.master, 5), "again");
}

TEST(Hangup, MasterReadBlocksBeforeAnyReplicaOpens) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p, false));
  fcntl(p.master, F_SETFL, O_NONBLOCK);
  char buf[8];
  EXPECT_SYSCALL_FAILS_WITH(read(p.master, buf, sizeof buf), EAGAIN);
}

TEST(Hangup, ReplicaSeesEndOfFileAfterTheMasterCloses) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  p.close_master();
  char buf[8];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(p.replica, buf, sizeof buf), 0);
  EXPECT_SYSCALL_FAILS_WITH(write(p.replica, "x", 1), EIO);
  struct termios t;
  EXPECT_SYSCALL_FAILS_WITH(tcgetattr(p.replica, &t), EIO);
  // The number is free again: /dev/pts/N is gone.
  struct stat st;
  EXPECT_SYSCALL_FAILS_WITH(stat(p.name.c_str(), &st), ENOENT);
}

// ---- Readiness and blocking ------------------------------------------------

TEST(Poll, MasterIsReadableOnceTheReplicaWrites) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  struct pollfd pfd = {p.master, POLLIN | POLLOUT, 0};
  ASSERT_SYSCALL_SUCCEEDS(poll(&pfd, 1, 0));
  EXPECT_EQ(pfd.revents & POLLIN, 0);
  EXPECT_TRUE(pfd.revents & POLLOUT);
  write_str(p.replica, "!");
  EXPECT_TRUE(readable_within(p.master, 2000));
}

TEST(Poll, ReplicaIsReadableOnlyWithACompleteLine) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  write_str(p.master, "par");
  EXPECT_STREQ(read_some(p.master, 3), "par");
  EXPECT_FALSE(readable_within(p.replica, 50));
  write_str(p.master, "t\n");
  EXPECT_TRUE(readable_within(p.replica, 2000));
}

TEST(Poll, EpollWatchesTheReplica) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = p.replica;
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_ADD, p.replica, &ev));
  struct epoll_event out;
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &out, 1, 0), 0);
  write_str(p.master, "e\n");
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &out, 1, 2000), 1);
  EXPECT_EQ(out.data.fd, p.replica);
  close(ep);
}

TEST(Poll, EdgeTriggeredEpollSeesEachNewWrite) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = p.master;
  ASSERT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_ADD, p.master, &ev));
  struct epoll_event out;
  write_str(p.replica, "a");
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &out, 1, 2000), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &out, 1, 0), 0);  // the edge is spent
  // More data, unread data still there: a new edge.
  write_str(p.replica, "b");
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &out, 1, 2000), 1);
  close(ep);
}

TEST(Blocking, ReadWakesWhenALineArrives) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  pid_t child = proc::fork_child([&p]() -> int {
    char buf[16];
    alarm(5);
    ssize_t n = read(p.replica, buf, sizeof buf);
    return n == 5 && memcmp(buf, "ping\n", 5) == 0 ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  proc::sleep_ms(100);
  write_str(p.master, "ping\n");
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

namespace {
void on_alarm(int) {}
}  // namespace

TEST(Blocking, SignalInterruptsARead) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  pid_t child = proc::fork_child([&p]() -> int {
    struct sigaction sa = {};
    sa.sa_handler = on_alarm;  // no SA_RESTART
    sigaction(SIGALRM, &sa, nullptr);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, nullptr);
    char buf[8];
    ssize_t n = read(p.replica, buf, sizeof buf);
    if (n != -1) return 1;
    return errno == EINTR ? 0 : 2;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

TEST(Blocking, MasterReadWakesOnReplicaOutput) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  pid_t child = proc::fork_child([&p]() -> int {
    char buf[16];
    alarm(5);
    ssize_t n = read(p.master, buf, sizeof buf);
    return n > 0 && buf[0] == 'z' ? 0 : 1;
  });
  ASSERT_GT(child, 0);
  proc::sleep_ms(100);
  write_str(p.replica, "z");
  EXPECT_EQ(proc::child_result(child, 5000), 0);
}

// ---- Packet mode -------------------------------------------------------------

TEST(Packet, DataComesWithAHeaderByte) {
  PtyPair p;
  ASSERT_TRUE(open_pty(p));
  int on = 1;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCPKT, &on));
  int got = 0;
  ASSERT_SYSCALL_SUCCEEDS(ioctl(p.master, TIOCGPKT, &got));
  EXPECT_EQ(got, 1);
  write_str(p.replica, "d");
  EXPECT_BYTES(read_once(p.master), std::string("\0d", 2));
}
