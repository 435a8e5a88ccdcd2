#include "netlib/TcpConnection.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::net {

namespace {
std::atomic<ConnId> gNextConnId{1};
}

ConnId nextConnId() { return gNextConnId.fetch_add(1, std::memory_order_relaxed); }

TcpConnection::TcpConnection(EventDispatch* loop, ConnId id, int fd, const InetAddress& local,
                             const InetAddress& peer)
    : loop_(loop), id_(id), fd_(fd), socket_(loop, fd), local_(local), peer_(peer) {
  socket_.setReadCallback([this] { handleRead(); });
  socket_.setWriteCallback([this] { handleWrite(); });
  socket_.setCloseCallback([this] { handleClose(); });
  socket_.setErrorCallback([this] { handleError(); });
  lastReceiveMs_ = lastSendMs_ = loop->nowMs();
}

TcpConnection::~TcpConnection() {
  assert(state_ == State::kDisconnected);
  sockets::close(fd_);
}

std::string TcpConnection::name() const { return "#" + std::to_string(id_) + " " + peer_.toString(); }

void TcpConnection::setTcpNoDelay(bool on) { sockets::setTcpNoDelay(fd_, on); }

void TcpConnection::connectEstablished() {
  loop_->assertInLoopThread();
  assert(state_ == State::kConnecting);
  state_ = State::kConnected;
  socket_.tie(shared_from_this());
  reading_ = true;
  socket_.enableReading();
  lastReceiveMs_ = lastSendMs_ = loop_->nowMs();
  if (connectionCallback_) connectionCallback_(shared_from_this());
}

void TcpConnection::connectDestroyed() {
  loop_->assertInLoopThread();
  if (state_ != State::kDisconnected) {
    // The owner is going away while we are still up (server shutdown).
    state_ = State::kDisconnected;
    socket_.disableAll();
    if (connectionCallback_) connectionCallback_(shared_from_this());
  }
  socket_.remove();
}

void TcpConnection::send(std::string_view data) {
  if (state_ != State::kConnected) return;
  if (loop_->isInLoopThread()) {
    sendInLoop(data.data(), data.size());
  } else {
    loop_->post([self = shared_from_this(), copy = std::string(data)] { self->sendInLoop(copy.data(), copy.size()); });
  }
}

void TcpConnection::send(std::string&& data) {
  if (state_ != State::kConnected) return;
  if (loop_->isInLoopThread()) {
    sendInLoop(data.data(), data.size());
  } else {
    loop_->post([self = shared_from_this(), moved = std::move(data)] { self->sendInLoop(moved.data(), moved.size()); });
  }
}

void TcpConnection::send(Buffer* buf) {
  loop_->assertInLoopThread();
  if (state_ == State::kConnected) sendInLoop(buf->peek(), buf->readableBytes());
  buf->retrieveAll();
}

void TcpConnection::sendInLoop(const char* data, size_t len) {
  loop_->assertInLoopThread();
  if (state_ != State::kConnected || len == 0) return;
  size_t written = 0;
  // Nothing queued: try the socket first, most sends finish here with no extra copy.
  if (!socket_.isWriting() && output_.readableBytes() == 0) {
    const ssize_t n = ::write(fd_, data, len);
    if (n >= 0) {
      written = static_cast<size_t>(n);
      bytesSent_ += written;
      lastSendMs_ = loop_->nowMs();
      if (written == len && writeCompleteCallback_) {
        loop_->post([self = shared_from_this()] {
          if (self->writeCompleteCallback_) self->writeCompleteCallback_(self);
        });
      }
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // Never close synchronously inside send(): callers may be iterating over connections.
      forceClose(std::string("write: ") + std::strerror(errno));
      return;
    }
  }
  const size_t remaining = len - written;
  if (remaining == 0) return;
  if (output_.readableBytes() + remaining > maxOutputBytes_) {
    spdlog::warn("connection {}: peer is not reading, {} bytes pending exceed the cap of {}: closing", name(),
                 output_.readableBytes() + remaining, maxOutputBytes_);
    forceClose();
    return;
  }
  output_.append(data + written, remaining);
  if (!socket_.isWriting()) socket_.enableWriting();
}

void TcpConnection::handleWrite() {
  loop_->assertInLoopThread();
  if (!socket_.isWriting()) return;
  const ssize_t n = ::write(fd_, output_.peek(), output_.readableBytes());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    spdlog::info("connection {}: write: {}", name(), std::strerror(errno));
    handleClose();
    return;
  }
  output_.retrieve(static_cast<size_t>(n));
  bytesSent_ += static_cast<size_t>(n);
  lastSendMs_ = loop_->nowMs();
  if (output_.readableBytes() == 0) {
    // Drained: stop asking for EPOLLOUT, or level-triggered epoll would spin on a writable socket.
    socket_.disableWriting();
    output_.shrinkIfIdle();
    if (writeCompleteCallback_) {
      loop_->post([self = shared_from_this()] {
        if (self->writeCompleteCallback_) self->writeCompleteCallback_(self);
      });
    }
    if (state_ == State::kDisconnecting) shutdownInLoop();
  }
}

void TcpConnection::handleRead() {
  loop_->assertInLoopThread();
  int savedErrno = 0;
  const ssize_t n = input_.readFd(fd_, &savedErrno);
  if (n > 0) {
    bytesReceived_ += static_cast<uint64_t>(n);
    lastReceiveMs_ = loop_->nowMs();
    if (messageCallback_) {
      messageCallback_(shared_from_this(), &input_);
    } else {
      input_.retrieveAll();
    }
    if (input_.readableBytes() == 0) input_.shrinkIfIdle();
  } else if (n == 0) {
    handleClose();
  } else if (savedErrno != EAGAIN && savedErrno != EWOULDBLOCK && savedErrno != EINTR) {
    spdlog::info("connection {}: read: {}", name(), std::strerror(savedErrno));
    handleClose();
  }
}

void TcpConnection::handleError() {
  const int err = sockets::getSocketError(fd_);
  if (err != 0) spdlog::debug("connection {}: socket error: {}", name(), std::strerror(err));
}

void TcpConnection::handleClose() {
  loop_->assertInLoopThread();
  if (state_ == State::kDisconnected) return;
  state_ = State::kDisconnected;
  socket_.disableAll();
  TcpConnectionPtr guard(shared_from_this());
  if (connectionCallback_) connectionCallback_(guard);
  // Last: the owner drops its reference and schedules connectDestroyed().
  if (closeCallback_) closeCallback_(guard);
}

void TcpConnection::shutdown() {
  if (state_ != State::kConnected) return;
  state_ = State::kDisconnecting;
  loop_->runInLoop([self = shared_from_this()] { self->shutdownInLoop(); });
}

void TcpConnection::shutdownInLoop() {
  loop_->assertInLoopThread();
  if (!socket_.isWriting()) sockets::shutdownWrite(fd_);
}

void TcpConnection::forceClose(std::string_view reason) {
  if (state_ == State::kDisconnected) return;
  // Stop reading at once so nothing more is processed from this peer, then close on the next turn
  // of the loop: the caller may be iterating over connections or be inside our own callback.
  std::string why(reason);
  loop_->runInLoop([self = shared_from_this()] {
    self->closing_ = true;
    if (self->reading_ && self->state_ != State::kDisconnected) {
      self->reading_ = false;
      self->socket_.disableReading();
    }
  });
  loop_->post([self = shared_from_this(), why = std::move(why)] { self->forceCloseInLoop(why); });
}

void TcpConnection::forceCloseInLoop(std::string reason) {
  loop_->assertInLoopThread();
  if (state_ == State::kDisconnected) return;
  if (!reason.empty()) spdlog::info("connection {}: closing: {}", name(), reason);
  handleClose();
}

void TcpConnection::stopRead() {
  loop_->runInLoop([self = shared_from_this()] {
    if (self->reading_ && self->state_ == State::kConnected) {
      self->reading_ = false;
      self->socket_.disableReading();
    }
  });
}

void TcpConnection::startRead() {
  loop_->runInLoop([self = shared_from_this()] {
    if (!self->reading_ && self->state_ == State::kConnected) {
      self->reading_ = true;
      self->socket_.enableReading();
    }
  });
}

}  // namespace tt::net
