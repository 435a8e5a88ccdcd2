#include "netlib/ImClient.h"

#include <algorithm>

#include "netlib/EventDispatch.h"

namespace tt::net {

ImClient::ImClient(EventDispatch* loop, const InetAddress& server, std::string name, const ImConnOptions& options)
    : loop_(loop), options_(options), tcp_(loop, server, std::move(name)) {
  tcp_.setMaxOutputBytes(options.maxOutputBytes);
  tcp_.setConnectionCallback([this](const TcpConnectionPtr& c) { onConnection(c); });
}

ImClient::~ImClient() {
  loop_->cancel(tickTimer_);
  tcp_.setConnectionCallback(nullptr);
  if (conn_) {
    conn_->tcp()->setConnectionCallback(nullptr);
    ImConn::detach(conn_->tcp());
  }
}

void ImClient::connect() {
  tcp_.connect();
  if (tickTimer_ == 0) {
    // Fine enough to honour the shortest configured interval, at most once a second.
    int64_t tick = 1000;
    for (int64_t v : {options_.heartbeatIntervalMs, options_.timeoutMs}) {
      if (v > 0) tick = std::min(tick, std::max<int64_t>(10, v / 4));
    }
    tickTimer_ = loop_->runEvery(tick, [this] {
      if (conn_) conn_->checkTimers(loop_->nowMs());
    });
  }
}

void ImClient::stop() {
  loop_->cancel(tickTimer_);
  tickTimer_ = 0;
  tcp_.stop();
}

bool ImClient::send(uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
                    const google::protobuf::MessageLite& msg) {
  if (!connected()) return false;
  conn_->send(serviceId, commandId, seqNum, msg);
  return true;
}

bool ImClient::sendRaw(std::string_view pdu) {
  if (!connected()) return false;
  conn_->sendRaw(pdu);
  return true;
}

void ImClient::onConnection(const TcpConnectionPtr& tcp) {
  if (tcp->connected()) {
    conn_ = ImConn::attach(tcp, options_, [this](const ImConnPtr& c, const ImPdu& pdu) {
      if (pduHandler_) pduHandler_(c, pdu);
    });
    if (connectHandler_) connectHandler_(conn_);
    return;
  }
  ImConnPtr gone = conn_;
  if (gone && gone->tcp() == tcp) conn_.reset();
  if (gone && closeHandler_) closeHandler_(gone);
  ImConn::detach(tcp);
}

}  // namespace tt::net
