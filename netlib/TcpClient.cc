#include "netlib/TcpClient.h"

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::net {

namespace {
// A connection that lived at least this long counts as healthy: the next dial starts from the
// initial back-off again.
constexpr int64_t kHealthyConnectionMs = 5000;
}  // namespace

TcpClient::TcpClient(EventDispatch* loop, const InetAddress& server, std::string name)
    : loop_(loop),
      name_(std::move(name)),
      connector_(std::make_shared<Connector>(loop, server)),
      self_(std::make_shared<TcpClient*>(this)) {
  std::weak_ptr<TcpClient*> weak = self_;
  connector_->setNewConnectionCallback([weak](int fd) {
    if (auto self = weak.lock()) {
      (*self)->newConnection(fd);
    } else {
      sockets::close(fd);
    }
  });
}

TcpClient::~TcpClient() {
  loop_->assertInLoopThread();
  wanted_ = false;
  connector_->stop();
  if (connection_) {
    connection_->setCloseCallback(nullptr);
    connection_->connectDestroyed();
    connection_.reset();
  }
}

void TcpClient::connect() {
  loop_->assertInLoopThread();
  wanted_ = true;
  connector_->start();
}

void TcpClient::stop() {
  loop_->assertInLoopThread();
  wanted_ = false;
  connector_->stop();
  if (connection_) connection_->forceClose();
}

void TcpClient::newConnection(int fd) {
  loop_->assertInLoopThread();
  if (!wanted_) {
    sockets::close(fd);
    return;
  }
  auto conn = std::make_shared<TcpConnection>(loop_, nextConnId(), fd, sockets::localAddress(fd),
                                              sockets::peerAddress(fd));
  conn->setTcpNoDelay(true);
  conn->setMaxOutputBytes(maxOutputBytes_);
  conn->setConnectionCallback(connectionCallback_);
  conn->setMessageCallback(messageCallback_);
  conn->setWriteCompleteCallback(writeCompleteCallback_);
  std::weak_ptr<TcpClient*> weak = self_;
  conn->setCloseCallback([weak](const TcpConnectionPtr& c) {
    if (auto self = weak.lock()) (*self)->removeConnection(c);
  });
  connection_ = conn;
  connectedAtMs_ = loop_->nowMs();
  spdlog::info("{}: connected to {}", name_, conn->peerAddress().toString());
  conn->connectEstablished();
}

void TcpClient::removeConnection(const TcpConnectionPtr& conn) {
  loop_->assertInLoopThread();
  if (connection_ == conn) connection_.reset();
  loop_->post([conn] { conn->connectDestroyed(); });
  if (!wanted_ || !retry_) return;
  spdlog::info("{}: connection to {} closed, reconnecting", name_, conn->peerAddress().toString());
  if (loop_->nowMs() - connectedAtMs_ >= kHealthyConnectionMs) connector_->resetBackoff();
  connector_->retryLater();
}

}  // namespace tt::net
