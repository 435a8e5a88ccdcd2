#pragma once
// A PDU server: TcpServer + an ImConn per accepted connection + one 1-second tick that sends
// heartbeats and closes silent connections (one scan of all connections per second; cheap next to
// a timer per connection at 100k connections).
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "netlib/ImConn.h"
#include "netlib/TcpServer.h"
#include "netlib/TimerQueue.h"

namespace tt::net {

class ImServer {
 public:
  using ConnHandler = std::function<void(const ImConnPtr&)>;

  ImServer(EventDispatch* loop, std::string name, const ImConnOptions& options);
  ~ImServer();
  ImServer(const ImServer&) = delete;
  ImServer& operator=(const ImServer&) = delete;

  // Listens on every ip of the list with one port. false with *err naming the failed address.
  bool listen(const std::vector<std::string>& ips, uint16_t port, int backlog, std::string* err);
  std::vector<InetAddress> listenAddresses() const { return tcp_.listenAddresses(); }

  void setPduHandler(ImConn::PduHandler h) { pduHandler_ = std::move(h); }
  void setConnectHandler(ConnHandler h) { connectHandler_ = std::move(h); }
  void setCloseHandler(ConnHandler h) { closeHandler_ = std::move(h); }
  void setTickInterval(int64_t ms) { tickMs_ = ms; }

  ImConnPtr find(ConnId id) const;
  const std::unordered_map<ConnId, ImConnPtr>& connections() const { return conns_; }
  size_t size() const { return conns_.size(); }
  EventDispatch* loop() const { return loop_; }
  const ImConnOptions& options() const { return options_; }

  void stopAccepting() { tcp_.stopAccepting(); }
  void closeAll() { tcp_.closeAll(); }

 private:
  void onConnection(const TcpConnectionPtr& tcp);
  void tick();

  EventDispatch* loop_;
  ImConnOptions options_;
  TcpServer tcp_;
  std::unordered_map<ConnId, ImConnPtr> conns_;
  ImConn::PduHandler pduHandler_;
  ConnHandler connectHandler_;
  ConnHandler closeHandler_;
  int64_t tickMs_ = 1000;
  TimerId tickTimer_ = 0;
};

}  // namespace tt::net
