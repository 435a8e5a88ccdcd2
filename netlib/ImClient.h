#pragma once
// One outbound PDU link that is kept up (msg_server -> db_proxy/login/route/push/file): reconnects
// with back-off, heartbeats when idle, drops a silent peer, and lets the owner send its identity
// handshake first from the connect handler. While the link is down, send() fails fast (returns
// false) so callers answer their own clients with an error instead of waiting.
#include <functional>
#include <memory>
#include <string>

#include "netlib/ImConn.h"
#include "netlib/TcpClient.h"
#include "netlib/TimerQueue.h"

namespace tt::net {

class ImClient {
 public:
  using ConnHandler = std::function<void(const ImConnPtr&)>;

  ImClient(EventDispatch* loop, const InetAddress& server, std::string name, const ImConnOptions& options);
  ~ImClient();
  ImClient(const ImClient&) = delete;
  ImClient& operator=(const ImClient&) = delete;

  void setPduHandler(ImConn::PduHandler h) { pduHandler_ = std::move(h); }
  // Runs when a connection is up, before anything else can be sent on it: send the handshake here.
  void setConnectHandler(ConnHandler h) { connectHandler_ = std::move(h); }
  void setCloseHandler(ConnHandler h) { closeHandler_ = std::move(h); }
  void setRetryDelays(int64_t initialMs, int64_t maxMs) { tcp_.setRetryDelays(initialMs, maxMs); }
  void setConnectTimeout(int64_t ms) { tcp_.setConnectTimeout(ms); }

  void connect();  // loop thread
  void stop();     // loop thread

  bool connected() const { return conn_ && conn_->connected(); }
  const ImConnPtr& conn() const { return conn_; }
  const std::string& name() const { return tcp_.name(); }
  const InetAddress& serverAddress() const { return tcp_.serverAddress(); }
  // false (nothing sent) while the link is down.
  bool send(uint16_t serviceId, uint16_t commandId, uint16_t seqNum, const google::protobuf::MessageLite& msg);
  bool sendRaw(std::string_view pdu);

 private:
  void onConnection(const TcpConnectionPtr& tcp);

  EventDispatch* loop_;
  ImConnOptions options_;
  TcpClient tcp_;
  ImConnPtr conn_;
  ImConn::PduHandler pduHandler_;
  ConnHandler connectHandler_;
  ConnHandler closeHandler_;
  TimerId tickTimer_ = 0;
};

}  // namespace tt::net
