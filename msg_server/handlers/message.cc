// Messages (docs/PROTOCOL.md §3.4, §3.5, §3.6): store through db_proxy, ack the sender only after the
// store, then deliver here and through route_server.
#include <chrono>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "base/Time.h"
#include "msg_server/MsgMetrics.h"
#include "msg_server/MsgServer.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

bool isGroupType(uint32_t t) { return t == MSG_TYPE_GROUP_TEXT || t == MSG_TYPE_GROUP_AUDIO; }
bool isSingleType(uint32_t t) { return t == MSG_TYPE_SINGLE_TEXT || t == MSG_TYPE_SINGLE_AUDIO; }

// What clients receive: no attach_data, seq 0 (an unsolicited PDU).
std::string deliveryPdu(IM::Message::IMMsgData msg) {
  msg.clear_attach_data();
  return net::encodePdu(SID_MSG, CID_MSG_DATA, 0, msg);
}

// Delivers a stored group message to the local connections of its members.
void fanOutGroup(MsgServer& server, const IM::Message::IMMsgData& msg, net::ConnId except) {
  const std::string pdu = deliveryPdu(msg);
  const uint32_t sender = msg.from_user_id();
  server.groups().withMembers(msg.to_session_id(), sender, [&server, pdu, sender, except](const std::vector<uint32_t>* members) {
    if (!members) return;
    bool senderIsMember = false;
    for (uint32_t m : *members) senderIsMember |= m == sender;
    if (!senderIsMember) return;  // db_proxy checked too; a stale cache must not widen delivery
    for (uint32_t m : *members) {
      if (server.users().online(m)) server.deliverMessageToUser(m, pdu, except);
    }
  });
}

bool allowedRate(MsgServer& server, ClientSession& s, const net::ImConnPtr& conn) {
  const int64_t now = server.loop()->nowMs();
  if (now - s.rateWindowStartMs >= 1000) {
    s.rateWindowStartMs = now;
    s.rateCount = 0;
  }
  if (++s.rateCount > server.options().maxMessagesPerSecond) {
    spdlog::warn("client {} (user {}): more than {} messages in one second, message dropped", conn->name(), s.userId,
                 server.options().maxMessagesPerSecond);
    return false;
  }
  return true;
}

void onMessage(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu, IM::Message::IMMsgData& msg) {
  ClientSession* s = sessionOf(conn);
  // The sender is who logged in on this connection, whatever the client wrote.
  msg.set_from_user_id(s->userId);
  msg.set_create_time(tt::unixSeconds());
  const uint32_t type = msg.msg_type();
  // TeamTalk has no "rejected" answer for a message: these are logged and not acked, so the client
  // shows the message as failed; they are never acked as stored.
  MsgMetrics& metrics = MsgMetrics::get();
  if (msg.msg_data().empty()) {
    spdlog::info("user {}: empty message dropped", s->userId);
    metrics.messagesRejected.with({"empty"}).inc();
    return;
  }
  if (!isSingleType(type) && !isGroupType(type)) {
    spdlog::info("user {}: message of unknown type {} dropped", s->userId, type);
    metrics.messagesRejected.with({"bad_type"}).inc();
    return;
  }
  if (isSingleType(type) && msg.to_session_id() == s->userId) {
    spdlog::info("user {}: message to self dropped", s->userId);
    metrics.messagesRejected.with({"to_self"}).inc();
    return;
  }
  if (!allowedRate(server, *s, conn)) {
    static metrics::Counter& overRate = metrics.messagesRejected.with({"rate"});
    overRate.inc();
    return;
  }
  const auto readAt = std::chrono::steady_clock::now();

  const uint16_t seq = pdu.seqNum();
  Pending p;
  p.client = conn->id();
  p.seq = seq;
  std::weak_ptr<net::ImConn> weak = conn;
  const net::ConnId origin = conn->id();
  p.onReply = [&server, weak, seq, origin, readAt](const net::ImPdu* answer) {
    MsgMetrics& m = MsgMetrics::get();
    IM::Message::IMMsgData stored;
    if (!answer || !answer->parse(&stored) || stored.msg_id() == 0) {
      spdlog::warn("message with seq {} from connection #{} not stored: no ack", seq, origin);
      m.messagesNotStored.inc();
      return;
    }
    // Stored: now, and only now, the sender gets its ack (with the real msg_id, its own seq).
    const bool group = isGroupType(stored.msg_type());
    if (net::ImConnPtr c = weak.lock()) {
      IM::Message::IMMsgDataAck ack;
      ack.set_user_id(stored.from_user_id());
      ack.set_session_id(stored.to_session_id());
      ack.set_msg_id(stored.msg_id());
      ack.set_session_type(group ? SESSION_TYPE_GROUP : SESSION_TYPE_SINGLE);
      c->send(SID_MSG, CID_MSG_DATA_ACK, seq, ack);
      m.storeAckSeconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - readAt).count());
    }
    (group ? m.messagesAckedGroup : m.messagesAckedSingle).inc();
    // Other msg_servers deliver it to their connections of the receiver(s) and of the sender.
    stored.clear_attach_data();
    server.sendToRoute(net::encodePdu(SID_MSG, CID_MSG_DATA, seq, stored));
    if (group) {
      fanOutGroup(server, stored, origin);
    } else {
      const std::string out = deliveryPdu(stored);
      server.deliverMessageToUser(stored.to_session_id(), out);
      server.deliverMessageToUser(stored.from_user_id(), out, origin);
    }
    pushStoredMessage(server, stored);  // receivers with no device online anywhere
  };
  if (!server.request(server.dbFor(s->userId), SID_MSG, CID_MSG_DATA, msg, std::move(p))) {
    spdlog::warn("user {}: no db_proxy link, message not stored", s->userId);
    metrics.messagesNotStored.inc();
  }
}

void onReadAck(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu&, IM::Message::IMMsgDataReadAck& ack) {
  ClientSession* s = sessionOf(conn);
  ack.set_user_id(s->userId);
  if (net::ImConnPtr db = server.dbFor(s->userId)) db->send(SID_MSG, CID_MSG_READ_ACK, 0, ack);
  // The reader's other devices clear the same session (here and on other msg_servers).
  IM::Message::IMMsgDataReadNotify notify;
  notify.set_user_id(s->userId);
  notify.set_session_id(ack.session_id());
  notify.set_msg_id(ack.msg_id());
  notify.set_session_type(ack.session_type());
  const std::string pdu = net::encodePdu(SID_MSG, CID_MSG_READ_NOTIFY, 0, notify);
  server.deliverToUser(s->userId, pdu, conn->id());
  server.sendToRoute(pdu);
}

}  // namespace

void registerMessageHandlers(MsgServer& server) {
  auto& cmds = server.clientCommands();
  cmds.on<IM::Message::IMMsgData>(CID_MSG_DATA, [&server](const net::ImConnPtr& c, const net::ImPdu& pdu,
                                                          IM::Message::IMMsgData& msg) { onMessage(server, c, pdu, msg); });
  // A receiver's receipt: nothing is retransmitted in TeamTalk, so there is nothing to clear.
  cmds.on<IM::Message::IMMsgDataAck>(CID_MSG_DATA_ACK,
                                     [](const net::ImConnPtr&, const net::ImPdu&, IM::Message::IMMsgDataAck&) {});
  cmds.on<IM::Message::IMMsgDataReadAck>(CID_MSG_READ_ACK, [&server](const net::ImConnPtr& c, const net::ImPdu& pdu,
                                                                     IM::Message::IMMsgDataReadAck& ack) {
    onReadAck(server, c, pdu, ack);
  });
  cmds.on(CID_MSG_TIME_REQUEST, [](const net::ImConnPtr& c, const net::ImPdu& pdu) {
    IM::Message::IMClientTimeRsp rsp;
    rsp.set_server_time(tt::unixSeconds());
    c->send(SID_MSG, CID_MSG_TIME_RESPONSE, pdu.seqNum(), rsp);
  });

  auto& route = server.routeCommands();
  // A message stored by another msg_server: deliver to our connections of its receiver(s) and of
  // its sender (the sender's other devices).
  route.on<IM::Message::IMMsgData>(CID_MSG_DATA, [&server](const net::ImConnPtr&, const net::ImPdu&,
                                                           IM::Message::IMMsgData& msg) {
    if (isGroupType(msg.msg_type())) {
      fanOutGroup(server, msg, 0);
      return;
    }
    const std::string out = deliveryPdu(msg);
    server.deliverMessageToUser(msg.to_session_id(), out);
    server.deliverMessageToUser(msg.from_user_id(), out);
  });
  route.on(CID_MSG_READ_NOTIFY, [&server](const net::ImConnPtr&, const net::ImPdu& pdu) {
    IM::Message::IMMsgDataReadNotify n;
    if (!pdu.parse(&n)) return;
    server.deliverToUser(n.user_id(), pdu.serialize());
  });
}

}  // namespace tt::msg
