#pragma once
// One outbound connection that is kept up: dials through a Connector, and when an established
// connection closes, dials again (immediately back-off-reset if it had lived a while, otherwise
// continuing the back-off, so a peer that accepts and drops at once is not hammered).
#include <memory>
#include <string>

#include "netlib/Callbacks.h"
#include "netlib/Connector.h"
#include "netlib/TcpConnection.h"

namespace tt::net {

class EventDispatch;

class TcpClient {
 public:
  TcpClient(EventDispatch* loop, const InetAddress& server, std::string name);
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  void setConnectionCallback(ConnectionCallback cb) { connectionCallback_ = std::move(cb); }
  void setMessageCallback(MessageCallback cb) { messageCallback_ = std::move(cb); }
  void setWriteCompleteCallback(WriteCompleteCallback cb) { writeCompleteCallback_ = std::move(cb); }
  void setRetry(bool on) { retry_ = on; }
  void setRetryDelays(int64_t initialMs, int64_t maxMs) { connector_->setRetryDelays(initialMs, maxMs); }
  void setConnectTimeout(int64_t ms) { connector_->setConnectTimeout(ms); }
  void setMaxOutputBytes(size_t n) { maxOutputBytes_ = n; }

  // Loop thread.
  void connect();
  // Loop thread: stop reconnecting and close the current connection.
  void stop();

  TcpConnectionPtr connection() const { return connection_; }
  bool connected() const { return connection_ && connection_->connected(); }
  const std::string& name() const { return name_; }
  const InetAddress& serverAddress() const { return connector_->serverAddress(); }
  EventDispatch* loop() const { return loop_; }

 private:
  void newConnection(int fd);
  void removeConnection(const TcpConnectionPtr& conn);

  EventDispatch* loop_;
  const std::string name_;
  std::shared_ptr<Connector> connector_;
  TcpConnectionPtr connection_;
  int64_t connectedAtMs_ = 0;
  bool retry_ = true;
  bool wanted_ = false;
  size_t maxOutputBytes_ = TcpConnection::kDefaultMaxOutputBytes;
  ConnectionCallback connectionCallback_;
  MessageCallback messageCallback_;
  WriteCompleteCallback writeCompleteCallback_;
  // Callbacks posted to the loop hold this weak token, not `this`.
  std::shared_ptr<TcpClient*> self_;
};

}  // namespace tt::net
