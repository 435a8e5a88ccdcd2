#include "tools/client/Dialer.h"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <sys/socket.h>

#include "netlib/BaseSocket.h"
#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::client {

std::shared_ptr<Dialer> Dialer::dial(net::EventDispatch* loop, const net::InetAddress& server, int64_t timeoutMs,
                                     Callback cb, const std::string& localIp) {
  auto d = std::make_shared<Dialer>(loop, server, std::move(cb));
  d->start(timeoutMs, localIp);
  return d;
}

Dialer::Dialer(net::EventDispatch* loop, const net::InetAddress& server, Callback cb)
    : loop_(loop), server_(server), callback_(std::move(cb)) {}

Dialer::~Dialer() {
  loop_->cancel(timer_);
  net::sockets::close(releaseSocket());
}

void Dialer::start(int64_t timeoutMs, const std::string& localIp) {
  std::weak_ptr<Dialer> weak = shared_from_this();
  fd_ = net::sockets::createNonblocking(server_.family());
  if (fd_ < 0) {
    const std::string why = std::string("socket: ") + std::strerror(errno);
    loop_->post([weak, why] {
      if (auto self = weak.lock()) self->finish(-1, why);
    });
    return;
  }
  if (!localIp.empty()) {
    std::string why;
    const auto local = net::InetAddress::parse(localIp, 0);
    if (!local || local->family() != server_.family()) {
      why = "bad local address " + localIp;
    } else {
#ifdef IP_BIND_ADDRESS_NO_PORT
      // Port picked by connect(), unique per destination, not one port per bind.
      const int on = 1;
      ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
#endif
      const socklen_t len = local->family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
      if (::bind(fd_, local->sockAddr(), len) != 0) why = "bind " + localIp + ": " + std::strerror(errno);
    }
    if (!why.empty()) {
      net::sockets::close(fd_);
      fd_ = -1;
      loop_->post([weak, why] {
        if (auto self = weak.lock()) self->finish(-1, why);
      });
      return;
    }
  }
  const int rc = net::sockets::connect(fd_, server_);
  const int err = rc == 0 ? 0 : errno;
  if (err != 0 && err != EINPROGRESS && err != EINTR && err != EISCONN) {
    const std::string why = "connect " + server_.toString() + ": " + std::strerror(err);
    net::sockets::close(fd_);
    fd_ = -1;
    loop_->post([weak, why] {
      if (auto self = weak.lock()) self->finish(-1, why);
    });
    return;
  }
  // Completion (or failure) of a non-blocking connect is reported as writability.
  socket_ = std::make_unique<net::BaseSocket>(loop_, fd_);
  auto onEvent = [weak] {
    if (auto self = weak.lock()) self->handleWritable();
  };
  socket_->setWriteCallback(onEvent);
  socket_->setErrorCallback(onEvent);
  socket_->setCloseCallback(onEvent);
  socket_->enableWriting();
  timer_ = loop_->runAfter(timeoutMs, [weak, timeoutMs, addr = server_.toString()] {
    if (auto self = weak.lock()) {
      self->timer_ = 0;
      net::sockets::close(self->releaseSocket());
      self->finish(-1, "connect " + addr + ": timed out after " + std::to_string(timeoutMs) + " ms");
    }
  });
}

int Dialer::releaseSocket() {
  if (socket_) {
    socket_->remove();
    // Deferred: we may be running inside this BaseSocket's own callback.
    loop_->post([s = std::shared_ptr<net::BaseSocket>(std::move(socket_))] {});
  }
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Dialer::handleWritable() {
  if (!socket_) return;
  loop_->cancel(timer_);
  timer_ = 0;
  const int fd = releaseSocket();
  const int err = net::sockets::getSocketError(fd);
  if (err != 0) {
    net::sockets::close(fd);
    finish(-1, "connect " + server_.toString() + ": " + std::strerror(err));
    return;
  }
  if (net::sockets::isSelfConnect(fd)) {
    net::sockets::close(fd);
    finish(-1, "connect " + server_.toString() + ": self connect");
    return;
  }
  finish(fd, {});
}

void Dialer::finish(int fd, const std::string& error) {
  Callback cb = std::move(callback_);
  callback_ = nullptr;
  if (cb) {
    cb(fd, error);
  } else {
    net::sockets::close(fd);
  }
}

void Dialer::cancel() {
  callback_ = nullptr;
  loop_->cancel(timer_);
  timer_ = 0;
  net::sockets::close(releaseSocket());
}

}  // namespace tt::client
