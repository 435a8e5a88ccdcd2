#pragma once
// A PDU connection (TeamTalk's CImConn): frames whole PDUs out of a TcpConnection's input (sticky
// and split packets alike), hands each to a handler, answers or swallows heartbeats, and keeps the
// ticks for "send a heartbeat after 5 s idle" and "close after 30 s silent". A PDU with a bad length
// closes this connection only, with one log line; so does an exception thrown by a handler.
#include <any>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "netlib/ImPdu.h"
#include "netlib/PduMetrics.h"
#include "netlib/TcpConnection.h"

namespace tt::net {

class ImConn;
using ImConnPtr = std::shared_ptr<ImConn>;

struct ImConnOptions {
  uint32_t maxPduSize = kDefaultMaxPduSize;
  int64_t heartbeatIntervalMs = 5000;  // send a heartbeat after this long without sending; 0 = never
  int64_t timeoutMs = 30000;           // close after this long without receiving; 0 = never
  bool echoHeartbeat = false;          // answer a heartbeat with the same PDU (client-facing servers)
  bool deliverHeartbeats = false;      // also pass heartbeats to the handler
  size_t maxOutputBytes = TcpConnection::kDefaultMaxOutputBytes;
  PduMetrics* metrics = nullptr;  // PDUs in/out by command (PduMetrics::forLink); null: not counted
};

class ImConn : public std::enable_shared_from_this<ImConn> {
 public:
  using PduHandler = std::function<void(const ImConnPtr&, const ImPdu&)>;

  // Takes over the connection's message callback. The ImConn is kept alive by the TcpConnection's
  // context until the connection goes down (then detach() breaks the cycle).
  static ImConnPtr attach(const TcpConnectionPtr& tcp, const ImConnOptions& options, PduHandler handler);
  // The ImConn attached to tcp, or null.
  static ImConnPtr from(const TcpConnectionPtr& tcp);
  // Breaks the TcpConnection -> ImConn reference; call when the connection is down.
  static void detach(const TcpConnectionPtr& tcp);

  ImConn(TcpConnectionPtr tcp, const ImConnOptions& options, PduHandler handler);

  ConnId id() const { return tcp_->id(); }
  const TcpConnectionPtr& tcp() const { return tcp_; }
  EventDispatch* loop() const { return tcp_->loop(); }
  bool connected() const { return tcp_->connected(); }
  std::string name() const { return tcp_->name(); }

  // Thread-safe.
  void send(uint16_t serviceId, uint16_t commandId, uint16_t seqNum, const google::protobuf::MessageLite& msg);
  void sendRaw(std::string_view pdu);
  void sendRaw(std::string&& pdu);
  void sendHeartbeat();
  // Thread-safe; the reason is logged once.
  void close(std::string_view reason);

  // Per connection kind (e.g. PC vs mobile client after login).
  void setTimeout(int64_t ms) { options_.timeoutMs = ms; }
  void setHeartbeatInterval(int64_t ms) { options_.heartbeatIntervalMs = ms; }
  const ImConnOptions& options() const { return options_; }
  // Called by the owner's tick (about once a second): heartbeat when idle, close when silent.
  void checkTimers(int64_t nowMs);

  uint64_t pdusReceived() const { return pdusReceived_; }
  // Free slot for the daemon (its per-connection session state).
  std::any& context() { return context_; }

 private:
  void onMessage(Buffer* buf);

  TcpConnectionPtr tcp_;
  ImConnOptions options_;
  PduHandler handler_;
  uint64_t pdusReceived_ = 0;
  std::any context_;
};

}  // namespace tt::net
