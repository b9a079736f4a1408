#pragma once
// AF_UNIX (unix(7)): guest unix sockets over host unix sockets whose names
// are private to the sentry. See net/README.md for the design.
//
// Every guest-visible name lives here: a guest bind to a path makes a
// socket inode in the sandbox VFS and records (sandbox, st_dev, st_ino) ->
// Endpoint; an abstract name records (sandbox, name) -> Endpoint. A host
// socket that needs an address (to be connected to, or to be recognised as a
// sender) is bound to a private host abstract name "\0moat-<pid>-<n>" that no
// guest can spell. Connecting to a guest name finds the Endpoint and
// connects the host socket to its private name.
//
// Ownership: a UnixSocket holds its Endpoint (shared_ptr); the registry
// holds weak_ptrs (dropped by ~UnixSocket); Endpoints point at their peer
// with a weak_ptr and at not-yet-accepted clients (a listener's pending
// list) with shared_ptrs, dropped at accept.

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/socket.h"

namespace moat {
class Sandbox;
}

namespace moat::net {

struct Endpoint {
  std::mutex lock;
  // Set once, under lock. Empty: the host socket has no private name.
  std::string host_name;
  // sockaddr_un bytes of the guest's bind (getsockname); empty: unbound.
  std::vector<std::byte> guest_name;
  bool connected = false;
  std::vector<std::byte> peer_name;  // getpeername
  std::optional<Creds> peer_creds;   // SO_PEERCRED
  Creds listen_creds;                // a listener's, given to its clients
  Creds connect_creds;               // a client's at connect, given to the accepted socket
  Creds last_sender;                 // who wrote last (SCM_CREDENTIALS)
  bool has_sender = false;
  std::weak_ptr<Endpoint> peer;
  std::deque<std::shared_ptr<Endpoint>> pending;  // a listener's clients, not yet accepted
  // The registry's keys for this endpoint (guarded by the registry's lock).
  const Sandbox* sandbox = nullptr;
  std::optional<std::string> abstract_key;
  std::optional<std::pair<dev_t, ino_t>> inode_key;
};

// The registry of names (unix_registry.cpp). Keys include the sandbox.
namespace unix_names {

// A fresh private host abstract name (without the leading NUL).
std::string new_host_name();
void add_host(const std::string& host_name, const std::shared_ptr<Endpoint>& ep);
std::shared_ptr<Endpoint> find_host(const std::string& host_name);
ErrorOr<void> add_abstract(const Sandbox* sb, const std::string& name, const std::shared_ptr<Endpoint>& ep);
std::shared_ptr<Endpoint> find_abstract(const Sandbox* sb, const std::string& name);
ErrorOr<void> add_inode(const Sandbox* sb, dev_t dev, ino_t ino, const std::shared_ptr<Endpoint>& ep);
std::shared_ptr<Endpoint> find_inode(const Sandbox* sb, dev_t dev, ino_t ino);
// Drops every name pointing at ep (the socket is closing).
void remove(const Endpoint* ep);

}  // namespace unix_names

// Files and credentials in flight (SCM_RIGHTS, SCM_CREDENTIALS): the sender
// leaves them here under a token, the write end of a fresh host pipe, which
// travels over the host socket with SCM_RIGHTS. The host kernel delivers the
// token exactly where it would have delivered real fds (with the bytes it
// was sent with), and the receiver trades it for the payload. A token the
// host discards (the receiver gave no control buffer, the socket closed with
// data unread) closes its pipe: the table keeps the read end and frees the
// payload once it sees POLLHUP.
namespace in_flight {

struct Payload {
  std::vector<RefPtr<fs::File>> files;
  std::optional<Creds> creds;
};

ErrorOr<UniqueFd> deposit(Payload payload);
// The payload of a received token (a copy when peek: MSG_PEEK installs the
// files again at the next read). nullopt: not a token of ours.
std::optional<Payload> redeem(int token_fd, bool peek);
// Frees the payloads of tokens the host dropped (a socket closed unread).
void sweep();
// The send carrying token failed: forget it now.
void cancel(int token_fd);

}  // namespace in_flight

}  // namespace moat::net
