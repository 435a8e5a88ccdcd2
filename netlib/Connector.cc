#include "netlib/Connector.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::net {

Connector::Connector(EventDispatch* loop, const InetAddress& server) : loop_(loop), server_(server) {}

Connector::~Connector() {
  // Timers captured weak pointers; only the socket must be unregistered here.
  if (socket_) {
    socket_->remove();
    socket_.reset();
  }
  sockets::close(fd_);
}

void Connector::setRetryDelays(int64_t initialMs, int64_t maxMs) {
  initialDelayMs_ = std::max<int64_t>(1, initialMs);
  maxDelayMs_ = std::max(initialDelayMs_, maxMs);
  retryDelayMs_ = initialDelayMs_;
}

void Connector::start() {
  loop_->assertInLoopThread();
  if (state_ == State::kConnecting) return;
  loop_->cancel(retryTimer_);
  connect();
}

void Connector::stop() {
  loop_->assertInLoopThread();
  state_ = State::kStopped;
  loop_->cancel(retryTimer_);
  loop_->cancel(timeoutTimer_);
  sockets::close(removeSocket());
}

void Connector::connect() {
  state_ = State::kConnecting;
  fd_ = sockets::createNonblocking(server_.family());
  if (fd_ < 0) {
    fail(std::string("socket: ") + std::strerror(errno));
    return;
  }
  const int rc = sockets::connect(fd_, server_);
  const int err = rc == 0 ? 0 : errno;
  if (err == 0 || err == EINPROGRESS || err == EINTR || err == EISCONN) {
    // Completion (or failure) is reported as writability.
    socket_ = std::make_unique<BaseSocket>(loop_, fd_);
    socket_->setWriteCallback([this] { handleWrite(); });
    socket_->setErrorCallback([this] { handleWrite(); });
    socket_->setCloseCallback([this] { handleWrite(); });
    socket_->enableWriting();
    std::weak_ptr<Connector> weak = shared_from_this();
    timeoutTimer_ = loop_->runAfter(connectTimeoutMs_, [weak] {
      if (auto self = weak.lock()) self->handleTimeout();
    });
    return;
  }
  fail(std::string("connect: ") + std::strerror(err));
}

int Connector::removeSocket() {
  if (socket_) {
    socket_->remove();
    // Deferred: we may be inside this BaseSocket's own callback.
    loop_->post([s = std::shared_ptr<BaseSocket>(std::move(socket_))] {});
  }
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Connector::handleWrite() {
  if (state_ != State::kConnecting || !socket_) return;
  loop_->cancel(timeoutTimer_);
  const int fd = removeSocket();
  const int err = sockets::getSocketError(fd);
  if (err != 0) {
    sockets::close(fd);
    fail(std::strerror(err));
    return;
  }
  if (sockets::isSelfConnect(fd)) {
    sockets::close(fd);
    fail("self connect");
    return;
  }
  state_ = State::kIdle;
  failures_ = 0;
  if (callback_) {
    callback_(fd);
  } else {
    sockets::close(fd);
  }
}

void Connector::handleTimeout() {
  if (state_ != State::kConnecting) return;
  sockets::close(removeSocket());
  fail("connect timed out after " + std::to_string(connectTimeoutMs_) + " ms");
}

void Connector::fail(const std::string& why) {
  sockets::close(fd_);
  fd_ = -1;
  ++failures_;
  // First failure at warn, then quieter: a peer that is down for an hour should not flood the log.
  if (failures_ == 1 || failures_ % 20 == 0) {
    spdlog::warn("connect to {} failed ({}), attempt {}, retrying in {} ms", server_.toString(), why, failures_,
                 retryDelayMs_);
  }
  retryLater();
}

void Connector::retryLater() {
  loop_->assertInLoopThread();
  if (state_ == State::kStopped) return;
  state_ = State::kWaitingRetry;
  // +-20% jitter so many clients of one peer spread out.
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(-retryDelayMs_ / 5, retryDelayMs_ / 5);
  const int64_t delay = std::max<int64_t>(1, retryDelayMs_ + jitter(rng));
  retryDelayMs_ = std::min(retryDelayMs_ * 2, maxDelayMs_);
  std::weak_ptr<Connector> weak = shared_from_this();
  loop_->cancel(retryTimer_);
  retryTimer_ = loop_->runAfter(delay, [weak] {
    if (auto self = weak.lock()) {
      if (self->state_ == State::kWaitingRetry) self->connect();
    }
  });
}

}  // namespace tt::net
