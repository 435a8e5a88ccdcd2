#include "netlib/SocketOps.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tt::net::sockets {

int createNonblocking(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

int connect(int fd, const InetAddress& addr) { return ::connect(fd, addr.sockAddr(), addr.sockLen()); }

int accept(int listenFd, InetAddress* peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int fd = ::accept4(listenFd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && peer) *peer = InetAddress(ss);
  return fd;
}

void close(int fd) {
  if (fd >= 0) ::close(fd);
}

void shutdownWrite(int fd) { ::shutdown(fd, SHUT_WR); }

void setTcpNoDelay(int fd, bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
}

void setKeepAlive(int fd, bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
}

void setReuseAddr(int fd, bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v);
}

int getSocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

InetAddress localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return InetAddress(ss);
}

InetAddress peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return InetAddress(ss);
}

// A connect to a port in the ephemeral range on the same host can connect to itself when nothing
// listens there (TCP simultaneous open). The connector must treat that as a failure.
bool isSelfConnect(int fd) { return localAddress(fd) == peerAddress(fd); }

}  // namespace tt::net::sockets
