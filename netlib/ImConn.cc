#include "netlib/ImConn.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"

namespace tt::net {

ImConnPtr ImConn::attach(const TcpConnectionPtr& tcp, const ImConnOptions& options, PduHandler handler) {
  auto conn = std::make_shared<ImConn>(tcp, options, std::move(handler));
  tcp->setMaxOutputBytes(options.maxOutputBytes);
  tcp->context() = conn;
  std::weak_ptr<ImConn> weak = conn;
  tcp->setMessageCallback([weak](const TcpConnectionPtr& c, Buffer* buf) {
    if (auto self = weak.lock()) {
      self->onMessage(buf);
    } else {
      buf->retrieveAll();
    }
  });
  return conn;
}

ImConnPtr ImConn::from(const TcpConnectionPtr& tcp) {
  if (auto* p = std::any_cast<ImConnPtr>(&tcp->context())) return *p;
  return nullptr;
}

void ImConn::detach(const TcpConnectionPtr& tcp) { tcp->context().reset(); }

ImConn::ImConn(TcpConnectionPtr tcp, const ImConnOptions& options, PduHandler handler)
    : tcp_(std::move(tcp)), options_(options), handler_(std::move(handler)) {}

void ImConn::send(uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
                  const google::protobuf::MessageLite& msg) {
  if (options_.metrics) options_.metrics->sent(commandId);
  tcp_->send(encodePdu(serviceId, commandId, seqNum, msg));
}

void ImConn::sendRaw(std::string_view pdu) {
  if (options_.metrics) options_.metrics->sentPdu(pdu);
  tcp_->send(pdu);
}

void ImConn::sendRaw(std::string&& pdu) {
  if (options_.metrics) options_.metrics->sentPdu(pdu);
  tcp_->send(std::move(pdu));
}

void ImConn::sendHeartbeat() {
  if (options_.metrics) options_.metrics->sent(kCidHeartbeat);
  tcp_->send(encodePdu(kSidOther, kCidHeartbeat, 0, std::string_view()));
}

void ImConn::close(std::string_view reason) { tcp_->forceClose(reason); }

void ImConn::checkTimers(int64_t nowMs) {
  if (!tcp_->connected()) return;
  if (options_.timeoutMs > 0 && nowMs - tcp_->lastReceiveMs() >= options_.timeoutMs) {
    close("nothing received for " + std::to_string(nowMs - tcp_->lastReceiveMs()) + " ms");
    return;
  }
  if (options_.heartbeatIntervalMs > 0 && nowMs - tcp_->lastSendMs() >= options_.heartbeatIntervalMs) {
    sendHeartbeat();
  }
}

void ImConn::onMessage(Buffer* buf) {
  ImConnPtr self = shared_from_this();
  while (!tcp_->closing()) {
    PduHeader header;
    std::string error;
    const FrameStatus status = checkFrame(buf->peek(), buf->readableBytes(), options_.maxPduSize, &header, &error);
    if (status == FrameStatus::kNeedMore) return;
    if (status == FrameStatus::kInvalid) {
      buf->retrieveAll();
      close(error);
      return;
    }
    ImPdu pdu{header, std::string_view(buf->peek() + kPduHeaderSize, header.length - kPduHeaderSize)};
    ++pdusReceived_;
    if (options_.metrics) options_.metrics->received(header.commandId);
    const bool heartbeat = header.commandId == kCidHeartbeat;
    if (heartbeat && options_.echoHeartbeat) sendRaw(std::string_view(buf->peek(), header.length));
    if (!heartbeat || options_.deliverHeartbeats) {
      try {
        handler_(self, pdu);
      } catch (const std::exception& e) {
        spdlog::error("connection {}: handler for command {:#06x} threw: {}", name(), header.commandId, e.what());
        close("handler error");
      } catch (...) {
        spdlog::error("connection {}: handler for command {:#06x} threw", name(), header.commandId);
        close("handler error");
      }
    }
    buf->retrieve(header.length);
  }
  // Closing: whatever the peer still sent is not processed.
  buf->retrieveAll();
}

}  // namespace tt::net
