#pragma once
// Thin wrappers over the socket calls the reactor needs. They never throw; errors come back as -1
// with errno, so callers decide whether an error closes one connection or stops start-up.
#include <netinet/in.h>

#include "netlib/InetAddress.h"

namespace tt::net::sockets {

int createNonblocking(int family);  // CLOEXEC + NONBLOCK stream socket, -1 on error
int connect(int fd, const InetAddress& addr);
int accept(int listenFd, InetAddress* peer);  // CLOEXEC + NONBLOCK accepted fd, -1 with errno
void close(int fd);
void shutdownWrite(int fd);
void setTcpNoDelay(int fd, bool on);
void setKeepAlive(int fd, bool on);
void setReuseAddr(int fd, bool on);
int getSocketError(int fd);
InetAddress localAddress(int fd);
InetAddress peerAddress(int fd);
bool isSelfConnect(int fd);

}  // namespace tt::net::sockets
