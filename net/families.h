#pragma once
// The families' factories (net/socket.cpp dispatches socket(2) to them) and
// the control-message writer they share. Internal to net/.

#include <sys/socket.h>

#include <cstring>

#include "net/socket.h"

namespace moat::net {

// type: the base type (SOCK_STREAM...); flags: SOCK_NONBLOCK.
ErrorOr<RefPtr<SocketFile>> make_unix_socket(Process& process, int type, int protocol, int flags);
ErrorOr<std::pair<RefPtr<SocketFile>, RefPtr<SocketFile>>> make_unix_pair(Process& process, int type, int protocol,
                                                                          int flags);
ErrorOr<RefPtr<SocketFile>> make_inet_socket(Process& process, int family, int type, int protocol, int flags);
ErrorOr<RefPtr<SocketFile>> make_netlink_socket(Process& process, int type, int protocol, int flags);

// Builds the guest's control buffer the way the kernel's put_cmsg and
// scm_detach_fds fill msg_control: what does not fit is cut and flagged
// MSG_CTRUNC; each message takes CMSG_SPACE bytes, less at the very end.
class CmsgWriter {
 public:
  explicit CmsgWriter(size_t cap) : m_cap(cap) {}
  size_t room() const { return m_cap > m_out.size() ? m_cap - m_out.size() : 0; }
  void put(int level, int type, const void* data, size_t len) {
    if (room() < sizeof(cmsghdr)) {
      m_flags |= MSG_CTRUNC;
      return;
    }
    size_t cmlen = CMSG_LEN(len);
    if (room() < cmlen) {
      m_flags |= MSG_CTRUNC;
      cmlen = room();
    }
    append_header(cmlen, level, type);
    append(data, cmlen - sizeof(cmsghdr));
    pad(CMSG_SPACE(len) - cmlen);
  }
  // How many ints an SCM_RIGHTS message can still carry.
  size_t fd_room() const { return room() > sizeof(cmsghdr) ? (room() - sizeof(cmsghdr)) / sizeof(int) : 0; }
  void put_fds(const int* fds, size_t n) {
    if (n == 0) return;
    size_t cmlen = CMSG_LEN(n * sizeof(int));
    append_header(cmlen, SOL_SOCKET, SCM_RIGHTS);
    append(fds, n * sizeof(int));
    pad(CMSG_SPACE(n * sizeof(int)) - cmlen);
  }
  void set_flags(int f) { m_flags |= f; }
  int flags() const { return m_flags; }
  std::vector<std::byte> take() { return std::move(m_out); }

 private:
  void append_header(size_t cmlen, int level, int type) {
    cmsghdr h{};
    h.cmsg_len = cmlen;
    h.cmsg_level = level;
    h.cmsg_type = type;
    append(&h, sizeof h);
  }
  void append(const void* p, size_t n) {
    auto* b = static_cast<const std::byte*>(p);
    m_out.insert(m_out.end(), b, b + n);
  }
  void pad(size_t n) { m_out.resize(m_out.size() + std::min(n, room())); }

  size_t m_cap;
  std::vector<std::byte> m_out;
  int m_flags = 0;
};

}  // namespace moat::net
