#include "netlib/ImServer.h"

#include "netlib/EventDispatch.h"

namespace tt::net {

ImServer::ImServer(EventDispatch* loop, std::string name, const ImConnOptions& options)
    : loop_(loop), options_(options), tcp_(loop, std::move(name)) {
  tcp_.setMaxOutputBytes(options.maxOutputBytes);
  tcp_.setConnectionCallback([this](const TcpConnectionPtr& c) { onConnection(c); });
}

ImServer::~ImServer() {
  loop_->cancel(tickTimer_);
  // TcpServer's destructor tears down connections; their down-callbacks must not reach us.
  tcp_.setConnectionCallback(nullptr);
  for (auto& [id, conn] : conns_) {
    conn->tcp()->setConnectionCallback(nullptr);
    ImConn::detach(conn->tcp());
  }
}

bool ImServer::listen(const std::vector<std::string>& ips, uint16_t port, int backlog, std::string* err) {
  for (const auto& ip : ips) {
    if (!tcp_.listen(ip, port, backlog, err)) return false;
  }
  if (tickTimer_ == 0) tickTimer_ = loop_->runEvery(tickMs_, [this] { tick(); });
  return true;
}

ImConnPtr ImServer::find(ConnId id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

void ImServer::onConnection(const TcpConnectionPtr& tcp) {
  if (tcp->connected()) {
    auto conn = ImConn::attach(tcp, options_, [this](const ImConnPtr& c, const ImPdu& pdu) {
      if (pduHandler_) pduHandler_(c, pdu);
    });
    conns_.emplace(conn->id(), conn);
    if (connectHandler_) connectHandler_(conn);
    return;
  }
  auto it = conns_.find(tcp->id());
  if (it == conns_.end()) return;
  ImConnPtr conn = it->second;
  conns_.erase(it);
  if (closeHandler_) closeHandler_(conn);
  ImConn::detach(tcp);
}

void ImServer::tick() {
  const int64_t now = loop_->nowMs();
  // checkTimers may close connections, which erases from conns_ only on a later turn of the loop
  // (closing is deferred), so iterating here is safe.
  for (auto& [id, conn] : conns_) conn->checkTimers(now);
}

}  // namespace tt::net
