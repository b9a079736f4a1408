// Sockets: socketpair, AF_UNIX names (paths and the abstract namespace),
// credentials and fd passing, AF_INET TCP and UDP on the loopback, blocking
// calls woken from another thread or process, readiness, options.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "harness.h"

namespace {

// The whole binary must end within 30 s in either mode.
struct Deadline {
  Deadline() { alarm(30); }
} deadline;

sockaddr_un path_addr(const std::string& path, socklen_t* len) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return sa;
}

sockaddr_un abstract_addr(const std::string& name, socklen_t* len) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  sa.sun_path[0] = 0;
  std::memcpy(sa.sun_path + 1, name.data(), name.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return sa;
}

std::string unique_name(const char* what) {
  return std::string("moat-socket-test-") + what + "-" + std::to_string(getpid());
}

std::atomic<int> sigpipe_count{0};
void on_sigpipe(int) { sigpipe_count++; }
void on_signal(int) {}

// Runs fn with sig caught by handler (no SA_RESTART), then restores it.
template <typename Fn>
void with_handler(int sig, void (*handler)(int), Fn fn) {
  struct sigaction sa {}, old{};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, &old);
  fn();
  sigaction(sig, &old, nullptr);
}

}  // namespace

TEST(SocketPair, StreamReadWriteSendRecv) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(sv[0], "hello", 5), 5);
  char buf[16] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(sv[1], buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(sv[1], "back", 4, 0), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sv[0], buf, 2, MSG_PEEK), 2);
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sv[0], buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::memcmp(buf, "back", 4), 0);
  struct stat st {};
  EXPECT_SYSCALL_SUCCEEDS(fstat(sv[0], &st));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_SYSCALL_FAILS_WITH(lseek(sv[0], 0, SEEK_SET), ESPIPE);
  int type = 0;
  socklen_t len = sizeof type;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len));
  EXPECT_EQ(type, SOCK_STREAM);
  char link[64] = {};
  std::string fdpath = "/proc/self/fd/" + std::to_string(sv[0]);
  EXPECT_SYSCALL_SUCCEEDS(readlink(fdpath.c_str(), link, sizeof link - 1));
  EXPECT_EQ(std::strncmp(link, "socket:[", 8), 0);
  close(sv[0]);
  close(sv[1]);
}

TEST(SocketPair, DatagramAndSeqpacketKeepBoundaries) {
  for (int type : {SOCK_DGRAM, SOCK_SEQPACKET}) {
    int sv[2];
    ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, type, 0, sv));
    EXPECT_SYSCALL_SUCCEEDS_WITH(send(sv[0], "abc", 3, 0), 3);
    EXPECT_SYSCALL_SUCCEEDS_WITH(send(sv[0], "defgh", 5, 0), 5);
    char buf[16] = {};
    EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sv[1], buf, sizeof buf, 0), 3);
    // A short buffer cuts the message and says so.
    iovec iov{buf, 2};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    EXPECT_SYSCALL_SUCCEEDS_WITH(recvmsg(sv[1], &msg, 0), 2);
    EXPECT_TRUE(msg.msg_flags & MSG_TRUNC);
    EXPECT_SYSCALL_FAILS_WITH(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
  }
}

TEST(SocketPair, ShutdownAndEpipe) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  EXPECT_SYSCALL_SUCCEEDS(shutdown(sv[0], SHUT_WR));
  char buf[4];
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(sv[1], buf, sizeof buf), 0);
  EXPECT_SYSCALL_FAILS_WITH(shutdown(sv[0], 7), EINVAL);
  with_handler(SIGPIPE, on_sigpipe, [&] {
    sigpipe_count = 0;
    EXPECT_SYSCALL_FAILS_WITH(write(sv[0], "x", 1), EPIPE);
    EXPECT_EQ(sigpipe_count.load(), 1);
    EXPECT_SYSCALL_FAILS_WITH(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_EQ(sigpipe_count.load(), 1);
    close(sv[1]);
    EXPECT_SYSCALL_FAILS_WITH(send(sv[0], "x", 1, 0), EPIPE);
    EXPECT_EQ(sigpipe_count.load(), 2);
  });
  close(sv[0]);
}

TEST(SocketPair, NonblockingEagain) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(read(sv[0], buf, sizeof buf), EAGAIN);
  EXPECT_TRUE(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
  int flags = fcntl(sv[0], F_GETFL);
  EXPECT_SYSCALL_SUCCEEDS(fcntl(sv[0], F_SETFL, flags & ~O_NONBLOCK));
  EXPECT_SYSCALL_FAILS_WITH(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  // Fill the socket: a non-blocking writer stops with EAGAIN.
  static char big[65536];
  ssize_t n;
  int rounds = 0;
  while ((n = send(sv[1], big, sizeof big, MSG_DONTWAIT)) > 0 && rounds < 1000) rounds++;
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, EAGAIN);
  close(sv[0]);
  close(sv[1]);
}

TEST(SocketPair, PollAndEpollReadiness) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  pollfd p{sv[0], POLLIN | POLLOUT, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLOUT);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 42;
  EXPECT_SYSCALL_SUCCEEDS(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &ev, 1, 0), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(sv[1], "z", 1), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(epoll_wait(ep, &ev, 1, 1000), 1);
  EXPECT_EQ(ev.data.u32, 42u);
  p.revents = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLIN | POLLOUT);
  fd_set rfds;
  FD_ZERO(&rfds);
  FD_SET(sv[0], &rfds);
  timeval tv{0, 0};
  EXPECT_SYSCALL_SUCCEEDS_WITH(select(sv[0] + 1, &rfds, nullptr, nullptr, &tv), 1);
  close(sv[1]);
  char c;
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(sv[0], &c, 1), 1);
  p.events = POLLIN;
  EXPECT_SYSCALL_SUCCEEDS_WITH(poll(&p, 1, 0), 1);
  EXPECT_TRUE(p.revents & POLLHUP);
  close(ep);
  close(sv[0]);
}

TEST(Unix, PathBindListenConnectAccept) {
  std::string path = conformance::temp_dir() + "/sock";
  socklen_t len;
  sockaddr_un sa = path_addr(path, &len);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(srv, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(srv, reinterpret_cast<sockaddr*>(&sa), len));
  struct stat st {};
  EXPECT_SYSCALL_SUCCEEDS(stat(path.c_str(), &st));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_SYSCALL_SUCCEEDS(listen(srv, 8));
  // A second socket cannot take the name.
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(bind(other, reinterpret_cast<sockaddr*>(&sa), len), EADDRINUSE);
  close(other);

  int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(connect(cli, reinterpret_cast<sockaddr*>(&sa), len));
  sockaddr_un peer{};
  socklen_t peer_len = sizeof peer;
  int conn = accept4(srv, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  EXPECT_EQ(peer_len, offsetof(sockaddr_un, sun_path));  // the client has no name

  sockaddr_un got{};
  socklen_t got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(srv, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_EQ(got_len, len);
  EXPECT_STREQ(got.sun_path, path.c_str());
  got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getpeername(cli, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_STREQ(got.sun_path, path.c_str());
  got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(conn, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_STREQ(got.sun_path, path.c_str());
  got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(cli, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_EQ(got_len, offsetof(sockaddr_un, sun_path));

  EXPECT_SYSCALL_SUCCEEDS_WITH(write(cli, "ping", 4), 4);
  char buf[8] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(conn, buf, sizeof buf), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(conn, "pong", 4), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(cli, buf, sizeof buf), 4);
  EXPECT_EQ(std::memcmp(buf, "pong", 4), 0);

  // Unlinking the name leaves the connection; new connects find nothing.
  EXPECT_SYSCALL_SUCCEEDS(unlink(path.c_str()));
  int late = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(connect(late, reinterpret_cast<sockaddr*>(&sa), len), ENOENT);
  close(late);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(cli, "x", 1), 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(conn, buf, 1), 1);
  close(conn);
  close(cli);
  close(srv);
}

TEST(Unix, ConnectRefusedAndUnbound) {
  std::string path = conformance::temp_dir() + "/idle";
  socklen_t len;
  sockaddr_un sa = path_addr(path, &len);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(s, reinterpret_cast<sockaddr*>(&sa), len));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  // Bound but not listening.
  EXPECT_SYSCALL_FAILS_WITH(connect(c, reinterpret_cast<sockaddr*>(&sa), len), ECONNREFUSED);
  close(s);
  // The name outlives the socket: nobody is behind it.
  EXPECT_SYSCALL_FAILS_WITH(connect(c, reinterpret_cast<sockaddr*>(&sa), len), ECONNREFUSED);
  EXPECT_SYSCALL_SUCCEEDS(unlink(path.c_str()));
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(listen(u, 1), EINVAL);  // no listens on an unbound socket
  sockaddr_un peer{};
  socklen_t plen = sizeof peer;
  EXPECT_SYSCALL_FAILS_WITH(getpeername(u, reinterpret_cast<sockaddr*>(&peer), &plen), ENOTCONN);
  int fd = open("/dev/null", O_RDONLY);
  EXPECT_SYSCALL_FAILS_WITH(listen(fd, 1), ENOTSOCK);
  close(fd);
  close(u);
  close(c);
}

TEST(Unix, AbstractNamespace) {
  std::string name = unique_name("abstract");
  socklen_t len;
  sockaddr_un sa = abstract_addr(name, &len);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(srv, reinterpret_cast<sockaddr*>(&sa), len));
  ASSERT_SYSCALL_SUCCEEDS(listen(srv, 4));
  int dup_srv = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(bind(dup_srv, reinterpret_cast<sockaddr*>(&sa), len), EADDRINUSE);
  close(dup_srv);
  sockaddr_un got{};
  socklen_t got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(srv, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_EQ(got_len, len);
  EXPECT_EQ(std::memcmp(got.sun_path, sa.sun_path, len - offsetof(sockaddr_un, sun_path)), 0);
  int cli = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  // A stream listener refuses a seqpacket client.
  EXPECT_SYSCALL_FAILS_WITH(connect(cli, reinterpret_cast<sockaddr*>(&sa), len), ECONNREFUSED);
  close(cli);
  cli = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(connect(cli, reinterpret_cast<sockaddr*>(&sa), len));
  int conn = accept(srv, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(conn, "abs", 3, 0), 3);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(cli, buf, 3, MSG_WAITALL), 3);
  close(conn);
  close(cli);
  close(srv);
  // Closing frees the name.
  int again = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_SYSCALL_SUCCEEDS(bind(again, reinterpret_cast<sockaddr*>(&sa), len));
  close(again);
  // Autobind: the family alone picks an abstract name.
  int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un fam{};
  fam.sun_family = AF_UNIX;
  EXPECT_SYSCALL_SUCCEEDS(bind(ab, reinterpret_cast<sockaddr*>(&fam), sizeof(sa_family_t)));
  got_len = sizeof got;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(ab, reinterpret_cast<sockaddr*>(&got), &got_len));
  EXPECT_EQ(got_len, offsetof(sockaddr_un, sun_path) + 6);
  EXPECT_EQ(got.sun_path[0], 0);
  close(ab);
}

TEST(Unix, PeerCredentials) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  ucred cred{};
  socklen_t len = sizeof cred;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len));
  EXPECT_EQ(len, sizeof cred);
  EXPECT_EQ(cred.pid, getpid());
  EXPECT_EQ(cred.uid, geteuid());
  EXPECT_EQ(cred.gid, getegid());
  close(sv[0]);
  close(sv[1]);

  // Across connect and accept, from a child process.
  std::string name = unique_name("cred");
  socklen_t alen;
  sockaddr_un sa = abstract_addr(name, &alen);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(srv, reinterpret_cast<sockaddr*>(&sa), alen));
  ASSERT_SYSCALL_SUCCEEDS(listen(srv, 4));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&sa), alen) < 0) _exit(1);
    ucred lc{};
    socklen_t l = sizeof lc;
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &lc, &l) < 0) _exit(2);
    if (lc.pid != getppid()) _exit(3);  // the listener's process
    char b;
    if (read(c, &b, 1) != 1) _exit(4);
    _exit(0);
  }
  int conn = accept(srv, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  len = sizeof cred;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len));
  EXPECT_EQ(cred.pid, child);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(conn, "k", 1), 1);
  int status = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(conn);
  close(srv);
}

TEST(Unix, ScmRightsPassesAPipe) {
  int sv[2], pfd[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  ASSERT_SYSCALL_SUCCEEDS(pipe(pfd));
  char data = 'm';
  iovec iov{&data, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendmsg(sv[0], &msg, 0), 1);
  close(pfd[0]);  // the copy in flight keeps the read end alive
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(pfd[1], "via", 3), 3);

  char got = 0;
  iovec riov{&got, 1};
  alignas(cmsghdr) char rctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr rmsg{};
  rmsg.msg_iov = &riov;
  rmsg.msg_iovlen = 1;
  rmsg.msg_control = rctl;
  rmsg.msg_controllen = sizeof rctl;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvmsg(sv[1], &rmsg, MSG_CMSG_CLOEXEC), 1);
  EXPECT_EQ(got, 'm');
  EXPECT_EQ(rmsg.msg_flags & MSG_CTRUNC, 0);
  cmsghdr* rc = CMSG_FIRSTHDR(&rmsg);
  ASSERT_TRUE(rc != nullptr);
  EXPECT_EQ(rc->cmsg_level, SOL_SOCKET);
  EXPECT_EQ(rc->cmsg_type, SCM_RIGHTS);
  ASSERT_EQ(rc->cmsg_len, CMSG_LEN(sizeof(int)));
  int passed;
  std::memcpy(&passed, CMSG_DATA(rc), sizeof passed);
  EXPECT_TRUE(fcntl(passed, F_GETFD) & FD_CLOEXEC);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(passed, buf, sizeof buf), 3);
  EXPECT_EQ(std::memcmp(buf, "via", 3), 0);
  close(passed);

  // No room for the fd: MSG_CTRUNC, and the fd is closed (the pipe's only
  // reader is gone, so a write fails).
  int pfd2[2];
  ASSERT_SYSCALL_SUCCEEDS(pipe(pfd2));
  std::memcpy(CMSG_DATA(c), &pfd2[0], sizeof(int));
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendmsg(sv[0], &msg, 0), 1);
  close(pfd2[0]);
  rmsg.msg_control = nullptr;
  rmsg.msg_controllen = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvmsg(sv[1], &rmsg, 0), 1);
  EXPECT_TRUE(rmsg.msg_flags & MSG_CTRUNC);
  with_handler(SIGPIPE, SIG_IGN, [&] { EXPECT_SYSCALL_FAILS_WITH(write(pfd2[1], "x", 1), EPIPE); });
  close(pfd2[1]);
  // A bad fd in SCM_RIGHTS is EBADF.
  int bad = 1000;
  std::memcpy(CMSG_DATA(c), &bad, sizeof(int));
  EXPECT_SYSCALL_FAILS_WITH(sendmsg(sv[0], &msg, 0), EBADF);
  close(pfd[1]);
  close(sv[0]);
  close(sv[1]);
}

TEST(Unix, ScmCredentialsWithPasscred) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  int on = 1;
  EXPECT_SYSCALL_SUCCEEDS(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  int val = 0;
  socklen_t vlen = sizeof val;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &val, &vlen));
  EXPECT_EQ(val, 1);
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(sv[0], "c", 1, 0), 1);
  char got;
  iovec iov{&got, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvmsg(sv[1], &msg, 0), 1);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  ASSERT_TRUE(c != nullptr);
  EXPECT_EQ(c->cmsg_type, SCM_CREDENTIALS);
  ucred cred;
  std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
  EXPECT_EQ(cred.pid, getpid());
  EXPECT_EQ(cred.uid, getuid());
  EXPECT_EQ(cred.gid, getgid());

  // A sender may state its own credentials; a foreign pid is EPERM unless privileged.
  alignas(cmsghdr) char sctl[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr smsg{};
  char d = 'd';
  iovec siov{&d, 1};
  smsg.msg_iov = &siov;
  smsg.msg_iovlen = 1;
  smsg.msg_control = sctl;
  smsg.msg_controllen = sizeof sctl;
  cmsghdr* sc = CMSG_FIRSTHDR(&smsg);
  sc->cmsg_level = SOL_SOCKET;
  sc->cmsg_type = SCM_CREDENTIALS;
  sc->cmsg_len = CMSG_LEN(sizeof(ucred));
  ucred mine{getpid(), getuid(), getgid()};
  std::memcpy(CMSG_DATA(sc), &mine, sizeof mine);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendmsg(sv[0], &smsg, 0), 1);
  msg.msg_controllen = sizeof ctl;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvmsg(sv[1], &msg, 0), 1);
  c = CMSG_FIRSTHDR(&msg);
  ASSERT_TRUE(c != nullptr);
  std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
  EXPECT_EQ(cred.pid, getpid());
  close(sv[0]);
  close(sv[1]);
}

TEST(Unix, DatagramSendtoRecvfrom) {
  std::string dir = conformance::temp_dir();
  std::string a_path = dir + "/a", b_path = dir + "/b";
  socklen_t alen, blen;
  sockaddr_un a = path_addr(a_path, &alen), b = path_addr(b_path, &blen);
  int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(sa, reinterpret_cast<sockaddr*>(&a), alen));
  ASSERT_SYSCALL_SUCCEEDS(bind(sb, reinterpret_cast<sockaddr*>(&b), blen));
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendto(sa, "to-b", 4, 0, reinterpret_cast<sockaddr*>(&b), blen), 4);
  char buf[8] = {};
  sockaddr_un from{};
  socklen_t flen = sizeof from;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvfrom(sb, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen), 4);
  EXPECT_EQ(flen, alen);
  EXPECT_STREQ(from.sun_path, a_path.c_str());
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendto(sb, "to-a", 4, 0, reinterpret_cast<sockaddr*>(&from), flen), 4);
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sa, buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::memcmp(buf, "to-a", 4), 0);
  // From an unnamed socket: no address.
  int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendto(anon, "?", 1, 0, reinterpret_cast<sockaddr*>(&b), blen), 1);
  flen = sizeof from;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvfrom(sb, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen), 1);
  EXPECT_EQ(flen, 0u);
  // Nobody there.
  std::string none = dir + "/none";
  socklen_t nlen;
  sockaddr_un n = path_addr(none, &nlen);
  EXPECT_SYSCALL_FAILS_WITH(sendto(anon, "?", 1, 0, reinterpret_cast<sockaddr*>(&n), nlen), ENOENT);
  close(anon);
  close(sa);
  close(sb);
}

TEST(Inet, TcpLoopback) {
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(srv, 0);
  int one = 1;
  EXPECT_SYSCALL_SUCCEEDS(setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_SYSCALL_SUCCEEDS(bind(srv, reinterpret_cast<sockaddr*>(&sin), sizeof sin));
  ASSERT_SYSCALL_SUCCEEDS(listen(srv, 8));
  socklen_t len = sizeof sin;
  ASSERT_SYSCALL_SUCCEEDS(getsockname(srv, reinterpret_cast<sockaddr*>(&sin), &len));
  EXPECT_NE(sin.sin_port, 0);
  int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  EXPECT_SYSCALL_SUCCEEDS(setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
  int nodelay = 0;
  socklen_t nlen = sizeof nodelay;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nlen));
  EXPECT_NE(nodelay, 0);
  ASSERT_SYSCALL_SUCCEEDS(connect(cli, reinterpret_cast<sockaddr*>(&sin), sizeof sin));
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  int conn = accept(srv, reinterpret_cast<sockaddr*>(&peer), &plen);
  ASSERT_GE(conn, 0);
  EXPECT_EQ(plen, sizeof peer);
  EXPECT_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  sockaddr_in local{};
  socklen_t llen = sizeof local;
  EXPECT_SYSCALL_SUCCEEDS(getsockname(cli, reinterpret_cast<sockaddr*>(&local), &llen));
  EXPECT_EQ(local.sin_port, peer.sin_port);
  static char big[200000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = static_cast<char>(i * 7);
  EXPECT_SYSCALL_SUCCEEDS_WITH(write(cli, big, 1000), 1000);
  static char got[200000];
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(conn, got, 1000, MSG_WAITALL), 1000);
  EXPECT_EQ(std::memcmp(big, got, 1000), 0);
  int avail = -1;
  EXPECT_SYSCALL_SUCCEEDS(ioctl(conn, FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  EXPECT_SYSCALL_SUCCEEDS(shutdown(cli, SHUT_WR));
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(conn, got, sizeof got), 0);
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(conn, "bye", 3, 0), 3);
  char buf[4] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(read(cli, buf, sizeof buf), 3);
  int bogus = 0;
  socklen_t blen = sizeof bogus;
  EXPECT_SYSCALL_FAILS_WITH(getsockopt(cli, SOL_SOCKET, 12345, &bogus, &blen), ENOPROTOOPT);
  close(conn);
  close(cli);
  // Nothing listens on the port any more.
  close(srv);
  int late = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(connect(late, reinterpret_cast<sockaddr*>(&sin), sizeof sin), ECONNREFUSED);
  close(late);
}

TEST(Inet, UdpLoopback) {
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(a, 0);
  sockaddr_in sa{}, sb{};
  sa.sin_family = sb.sin_family = AF_INET;
  sa.sin_addr.s_addr = sb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_SYSCALL_SUCCEEDS(bind(a, reinterpret_cast<sockaddr*>(&sa), sizeof sa));
  ASSERT_SYSCALL_SUCCEEDS(bind(b, reinterpret_cast<sockaddr*>(&sb), sizeof sb));
  socklen_t len = sizeof sa;
  getsockname(a, reinterpret_cast<sockaddr*>(&sa), &len);
  len = sizeof sb;
  getsockname(b, reinterpret_cast<sockaddr*>(&sb), &len);
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendto(a, "dgram", 5, 0, reinterpret_cast<sockaddr*>(&sb), sizeof sb), 5);
  char buf[16] = {};
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvfrom(b, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen), 5);
  EXPECT_EQ(from.sin_port, sa.sin_port);
  EXPECT_SYSCALL_FAILS_WITH(recv(b, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  // sendmmsg and recvmmsg move several at once.
  mmsghdr msgs[2] = {};
  iovec iov[2] = {{const_cast<char*>("one"), 3}, {const_cast<char*>("three"), 5}};
  for (int i = 0; i < 2; i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &sb;
    msgs[i].msg_hdr.msg_namelen = sizeof sb;
  }
  EXPECT_SYSCALL_SUCCEEDS_WITH(sendmmsg(a, msgs, 2, 0), 2);
  char r0[8], r1[8];
  iovec riov[2] = {{r0, sizeof r0}, {r1, sizeof r1}};
  mmsghdr rmsgs[2] = {};
  for (int i = 0; i < 2; i++) {
    rmsgs[i].msg_hdr.msg_iov = &riov[i];
    rmsgs[i].msg_hdr.msg_iovlen = 1;
  }
  EXPECT_SYSCALL_SUCCEEDS_WITH(recvmmsg(b, rmsgs, 2, MSG_WAITFORONE, nullptr), 2);
  EXPECT_EQ(rmsgs[0].msg_len, 3u);
  EXPECT_EQ(rmsgs[1].msg_len, 5u);
  EXPECT_SYSCALL_FAILS_WITH(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
  EXPECT_SYSCALL_FAILS_WITH(socketpair(AF_INET, SOCK_STREAM, 0, reinterpret_cast<int*>(buf)), EOPNOTSUPP);
  close(a);
  close(b);
}

namespace {

struct AcceptArgs {
  int fd;
  int result = -2;
  int err = 0;
};

void* blocking_accept(void* p) {
  auto* a = static_cast<AcceptArgs*>(p);
  a->result = accept(a->fd, nullptr, nullptr);
  a->err = errno;
  return nullptr;
}

void* blocking_recv(void* p) {
  auto* a = static_cast<AcceptArgs*>(p);
  char buf[8];
  a->result = static_cast<int>(recv(a->fd, buf, sizeof buf, 0));
  a->err = errno;
  return nullptr;
}

}  // namespace

TEST(Blocking, AcceptAndRecvWokenFromAnotherThread) {
  std::string name = unique_name("block");
  socklen_t len;
  sockaddr_un sa = abstract_addr(name, &len);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_SYSCALL_SUCCEEDS(bind(srv, reinterpret_cast<sockaddr*>(&sa), len));
  ASSERT_SYSCALL_SUCCEEDS(listen(srv, 4));
  AcceptArgs args{srv};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, blocking_accept, &args), 0);
  usleep(50000);
  int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_SYSCALL_SUCCEEDS(connect(cli, reinterpret_cast<sockaddr*>(&sa), len));
  pthread_join(th, nullptr);
  ASSERT_GE(args.result, 0);
  int conn = args.result;

  AcceptArgs rargs{conn};
  ASSERT_EQ(pthread_create(&th, nullptr, blocking_recv, &rargs), 0);
  usleep(50000);
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(cli, "wake", 4, 0), 4);
  pthread_join(th, nullptr);
  EXPECT_EQ(rargs.result, 4);
  close(conn);
  close(cli);
  close(srv);
}

TEST(Blocking, SignalInterruptsRecvAndTimeoutEndsIt) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  with_handler(SIGUSR1, on_signal, [&] {
    pid_t me = getpid();
    pid_t child = fork();
    if (child == 0) {
      usleep(100000);
      kill(me, SIGUSR1);
      _exit(0);
    }
    char buf[4];
    EXPECT_SYSCALL_FAILS_WITH(recv(sv[0], buf, sizeof buf, 0), EINTR);
    waitpid(child, nullptr, 0);
  });
  timeval tv{0, 100000};
  EXPECT_SYSCALL_SUCCEEDS(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  timeval back{};
  socklen_t blen = sizeof back;
  EXPECT_SYSCALL_SUCCEEDS(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &blen));
  EXPECT_EQ(back.tv_usec, 100000);
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char buf[4];
  EXPECT_SYSCALL_FAILS_WITH(recv(sv[0], buf, sizeof buf, 0), EAGAIN);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  EXPECT_GE(ms, 90);
  EXPECT_LT(ms, 5000);
  close(sv[0]);
  close(sv[1]);
}

TEST(Fork, ChildTalksThroughSocketpair) {
  int sv[2];
  ASSERT_SYSCALL_SUCCEEDS(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(sv[0]);
    char buf[16];
    ssize_t n = recv(sv[1], buf, sizeof buf, 0);
    if (n != 4 || std::memcmp(buf, "ping", 4) != 0) _exit(1);
    if (send(sv[1], "pong!", 5, 0) != 5) _exit(2);
    _exit(0);
  }
  close(sv[1]);
  EXPECT_SYSCALL_SUCCEEDS_WITH(send(sv[0], "ping", 4, 0), 4);
  char buf[16] = {};
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sv[0], buf, sizeof buf, 0), 5);
  EXPECT_EQ(std::memcmp(buf, "pong!", 5), 0);
  int status = 0;
  EXPECT_SYSCALL_SUCCEEDS_WITH(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The child is gone: end of stream.
  EXPECT_SYSCALL_SUCCEEDS_WITH(recv(sv[0], buf, sizeof buf, 0), 0);
  close(sv[0]);
}

TEST(Socket, UnsupportedFamiliesAndTypes) {
  EXPECT_SYSCALL_FAILS_WITH(socket(AF_APPLETALK, SOCK_DGRAM, 0), EAFNOSUPPORT);
  EXPECT_SYSCALL_FAILS_WITH(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
  EXPECT_SYSCALL_FAILS_WITH(socket(AF_UNIX, SOCK_STREAM | 0x1000, 0), EINVAL);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_SYSCALL_FAILS_WITH(listen(fd, 1), EOPNOTSUPP);
  EXPECT_SYSCALL_FAILS_WITH(accept(fd, nullptr, nullptr), EOPNOTSUPP);
  close(fd);
}
