#include "netlib/Acceptor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::net {

Acceptor::Acceptor(EventDispatch* loop, const InetAddress& listenAddr, int backlog)
    : loop_(loop), addr_(listenAddr), backlog_(backlog > 0 ? backlog : SOMAXCONN) {}

Acceptor::~Acceptor() { stop(); }

bool Acceptor::listen(std::string* err) {
  loop_->assertInLoopThread();
  auto fail = [&](const char* what) {
    if (err) *err = std::string(what) + " " + addr_.toString() + ": " + std::strerror(errno);
    sockets::close(fd_);
    fd_ = -1;
    return false;
  };
  fd_ = sockets::createNonblocking(addr_.family());
  if (fd_ < 0) return fail("socket");
  sockets::setReuseAddr(fd_, true);
  if (addr_.family() == AF_INET6) {
    int v6only = 1;  // "::" listens on IPv6 only; list 0.0.0.0 separately for IPv4
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd_, addr_.sockAddr(), addr_.sockLen()) != 0) return fail("bind");
  if (::listen(fd_, backlog_) != 0) return fail("listen");
  addr_ = sockets::localAddress(fd_);
  idleFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  socket_ = std::make_unique<BaseSocket>(loop_, fd_);
  socket_->setReadCallback([this] { handleRead(); });
  socket_->enableReading();
  listening_ = true;
  return true;
}

void Acceptor::stop() {
  // socket_ itself stays until we are destroyed: stop() may run inside its read callback.
  if (socket_) socket_->remove();
  sockets::close(fd_);
  fd_ = -1;
  sockets::close(idleFd_);
  idleFd_ = -1;
  listening_ = false;
}

void Acceptor::handleRead() {
  // Bounded batch per wake-up so one busy listener does not starve established connections.
  for (int i = 0; i < 256; ++i) {
    InetAddress peer;
    const int fd = sockets::accept(fd_, &peer);
    if (fd >= 0) {
      if (callback_) {
        callback_(fd, peer);
        if (fd_ < 0) return;  // stopped by the callback
      } else {
        sockets::close(fd);
      }
      continue;
    }
    const int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) return;
    if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM) continue;
    if ((e == EMFILE || e == ENFILE) && idleFd_ >= 0) {
      spdlog::warn("accept on {}: {}; shedding one pending connection", addr_.toString(), std::strerror(e));
      ::close(idleFd_);
      idleFd_ = ::accept(fd_, nullptr, nullptr);
      sockets::close(idleFd_);
      idleFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      return;
    }
    spdlog::error("accept on {}: {}", addr_.toString(), std::strerror(e));
    return;
  }
}

}  // namespace tt::net
