#pragma once
// Accepts connections on one or more addresses and owns them: a map ConnId -> shared_ptr, the only
// owning reference. A connection leaves the map when it closes; its destruction is deferred to the
// next turn of the loop so callbacks that are still on the stack stay valid.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "netlib/Acceptor.h"
#include "netlib/Callbacks.h"
#include "netlib/TcpConnection.h"

namespace tt::net {

class EventDispatch;

class TcpServer {
 public:
  TcpServer(EventDispatch* loop, std::string name);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Loop thread. May be called for several addresses (TeamTalk's "ListenIP=a;b"). On failure returns
  // false with *err naming the address and the reason; nothing is left listening for that address.
  bool listen(const std::string& ip, uint16_t port, int backlog, std::string* err);
  // Actual bound addresses (port 0 resolved).
  std::vector<InetAddress> listenAddresses() const;

  void setConnectionCallback(ConnectionCallback cb) { connectionCallback_ = std::move(cb); }
  void setMessageCallback(MessageCallback cb) { messageCallback_ = std::move(cb); }
  void setWriteCompleteCallback(WriteCompleteCallback cb) { writeCompleteCallback_ = std::move(cb); }
  void setMaxOutputBytes(size_t n) { maxOutputBytes_ = n; }
  void setTcpNoDelay(bool on) { noDelay_ = on; }

  EventDispatch* loop() const { return loop_; }
  const std::string& name() const { return name_; }
  size_t connectionCount() const { return connections_.size(); }
  TcpConnectionPtr find(ConnId id) const;
  const std::unordered_map<ConnId, TcpConnectionPtr>& connections() const { return connections_; }

  // Loop thread, from anywhere (a signal handler, a connection callback run by the accept loop):
  // nothing is accepted after it returns.
  void stopAccepting();
  // Closes every connection (their close callbacks run).
  void closeAll();

 private:
  void newConnection(int fd, const InetAddress& peer);
  void removeConnection(const TcpConnectionPtr& conn);

  EventDispatch* loop_;
  const std::string name_;
  std::vector<std::shared_ptr<Acceptor>> acceptors_;  // shared: stopAccepting() defers their end
  std::unordered_map<ConnId, TcpConnectionPtr> connections_;
  ConnectionCallback connectionCallback_;
  MessageCallback messageCallback_;
  WriteCompleteCallback writeCompleteCallback_;
  size_t maxOutputBytes_ = TcpConnection::kDefaultMaxOutputBytes;
  bool noDelay_ = true;
};

}  // namespace tt::net
