#include "netlib/TcpServer.h"

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"

namespace tt::net {

TcpServer::TcpServer(EventDispatch* loop, std::string name) : loop_(loop), name_(std::move(name)) {}

TcpServer::~TcpServer() {
  loop_->assertInLoopThread();
  acceptors_.clear();  // ~Acceptor stops listening
  for (auto& [id, conn] : connections_) {
    // Disarm the close callback: it would look us up while we are being destroyed.
    conn->setCloseCallback(nullptr);
    conn->connectDestroyed();
  }
  connections_.clear();
}

bool TcpServer::listen(const std::string& ip, uint16_t port, int backlog, std::string* err) {
  loop_->assertInLoopThread();
  auto addr = InetAddress::parse(ip, port);
  if (!addr) {
    if (err) *err = "'" + ip + "' is not a numeric IPv4/IPv6 address";
    return false;
  }
  auto acceptor = std::make_shared<Acceptor>(loop_, *addr, backlog);
  if (!acceptor->listen(err)) return false;
  acceptor->setNewConnectionCallback([this](int fd, const InetAddress& peer) { newConnection(fd, peer); });
  spdlog::info("{}: listening on {}", name_, acceptor->address().toString());
  acceptors_.push_back(std::move(acceptor));
  return true;
}

std::vector<InetAddress> TcpServer::listenAddresses() const {
  std::vector<InetAddress> out;
  for (const auto& a : acceptors_) out.push_back(a->address());
  return out;
}

TcpConnectionPtr TcpServer::find(ConnId id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

void TcpServer::newConnection(int fd, const InetAddress& peer) {
  const ConnId id = nextConnId();
  auto conn = std::make_shared<TcpConnection>(loop_, id, fd, sockets::localAddress(fd), peer);
  if (noDelay_) conn->setTcpNoDelay(true);
  conn->setMaxOutputBytes(maxOutputBytes_);
  conn->setConnectionCallback(connectionCallback_);
  conn->setMessageCallback(messageCallback_);
  conn->setWriteCompleteCallback(writeCompleteCallback_);
  conn->setCloseCallback([this](const TcpConnectionPtr& c) { removeConnection(c); });
  connections_.emplace(id, conn);
  conn->connectEstablished();
}

void TcpServer::removeConnection(const TcpConnectionPtr& conn) {
  connections_.erase(conn->id());
  // Destroy on the next turn: the connection's own handler may still be on the stack.
  loop_->post([conn] { conn->connectDestroyed(); });
}

void TcpServer::stopAccepting() {
  for (auto& a : acceptors_) a->stop();
  if (acceptors_.empty()) return;
  // Closed now, destroyed on the next turn: we may be inside an acceptor's own accept loop.
  loop_->post([gone = std::move(acceptors_)] {});
  acceptors_.clear();
}

void TcpServer::closeAll() {
  // Copy: closing erases from the map.
  std::vector<TcpConnectionPtr> all;
  all.reserve(connections_.size());
  for (auto& [id, conn] : connections_) all.push_back(conn);
  for (auto& conn : all) conn->forceClose();
}

}  // namespace tt::net
