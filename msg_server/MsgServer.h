#pragma once
// msg_server: the daemon TeamTalk clients log in to. It keeps client connections, validates logins
// through db_proxy, relays every client command to the right upstream (db_proxy, route_server,
// file_server, push_server) and delivers messages and notifications to the local connections of
// their users. One reactor thread; upstream answers find their client through PendingRequests.
//
// Command handlers live in handlers/*.cc and register themselves on the three dispatchers:
// clientCommands() (from clients; only heartbeat and login before login succeeds), routeCommands()
// (from route_server) and serverCommands() (unsolicited PDUs from db_proxy / file / push links).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "base/Config.h"
#include "base/Metrics.h"
#include "msg_server/Attach.h"
#include "msg_server/ClientSession.h"
#include "msg_server/GroupMembers.h"
#include "msg_server/PendingRequests.h"
#include "msg_server/Upstreams.h"
#include "netlib/Dispatcher.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImServer.h"
#include "proto/ContentCodec.h"

namespace IM::Message {
class IMMsgData;
}

namespace tt::msg {

class PushBatcher;  // handlers/push.cc

struct MsgServerOptions {
  std::vector<std::string> listenIps{"0.0.0.0"};
  uint16_t listenPort = 8000;
  int backlog = 4096;
  std::string ipAddr1;  // advertised to clients through login_server
  std::string ipAddr2;
  uint32_t maxConnCnt = 100000;
  std::string hostName;
  std::vector<ServerAddr> dbServers, loginServers, routeServers, pushServers, fileServers;
  size_t dbLinksPerServer = 2;
  uint32_t maxPduSize = net::kDefaultMaxPduSize;
  int64_t loginTimeoutMs = 15000;   // a connection must log in within this
  int64_t pcTimeoutMs = 120000;     // silent PC client closed after this
  int64_t mobileTimeoutMs = 300000;  // silent mobile client closed after this
  int64_t upstreamTimeoutMs = 15000;  // an upstream answer later than this fails the request
  uint32_t maxMessagesPerSecond = 20;
  std::string aesKey = std::string(tt::codec::kDefaultAesKey);
  int64_t shutdownTimeoutMs = 5000;
};

MsgServerOptions readMsgServerOptions(const Config& config);

class MsgServer {
 public:
  MsgServer(net::EventDispatch* loop, MsgServerOptions options);
  ~MsgServer();
  MsgServer(const MsgServer&) = delete;
  MsgServer& operator=(const MsgServer&) = delete;

  bool start(std::string* err);
  void beginShutdown();

  // ---- for handlers ----
  net::EventDispatch* loop() const { return loop_; }
  const MsgServerOptions& options() const { return options_; }
  net::Dispatcher& clientCommands() { return clientCommands_; }
  net::Dispatcher& routeCommands() { return routeCommands_; }
  net::Dispatcher& serverCommands() { return serverCommands_; }
  Upstreams& db() { return db_; }
  Upstreams& login() { return login_; }
  Upstreams& route() { return route_; }
  Upstreams& push() { return push_; }
  Upstreams& file() { return file_; }
  UserRegistry& users() { return users_; }
  GroupMembers& groups() { return groups_; }
  // Offline-push state (handlers/push.cc; created by registerPushHandlers).
  std::shared_ptr<PushBatcher>& pushBatcher() { return pushBatcher_; }
  net::ImServer& clients() { return clients_; }
  size_t onlineConnections() const { return users_.connectionCount(); }

  // Sends req (any message with attach_data) upstream on link, remembering p; the answer is
  // forwarded to p.client with p.seq (or handed to p.onReply). false, nothing sent, when link is
  // null — callers answer their client with an error at once.
  template <class Msg>
  bool request(const net::ImConnPtr& link, uint16_t serviceId, uint16_t commandId, Msg& req, Pending p) {
    if (!link) return false;
    p.link = link->id();
    p.commandId = commandId;
    p.deadlineMs = loop_->nowMs() + options_.upstreamTimeoutMs;
    const uint16_t seq = p.seq;
    req.set_attach_data(encodeRequestId(pending_.add(std::move(p))));
    link->send(serviceId, commandId, seq, req);
    return true;
  }
  // db_proxy link for a user's requests: always the same link while links are stable, so one
  // user's requests (and messages) reach db_proxy in the order they were sent.
  net::ImConnPtr dbFor(uint32_t userId) const { return db_.pick(userId); }

  // Sends the PDU to every local connection of the user except `except`.
  void deliverToUser(uint32_t userId, const std::string& pdu, net::ConnId except = 0);
  // The same for a CID_MSG_DATA, counted in ttsuite_msg_messages_delivered_total.
  void deliverMessageToUser(uint32_t userId, const std::string& pdu, net::ConnId except = 0);
  // Forward to the master route_server (false if none is up).
  bool sendToRoute(const std::string& pdu);
  bool sendToRoute(uint16_t serviceId, uint16_t commandId, uint16_t seq, const google::protobuf::MessageLite& msg);
  // To every live route_server (status updates).
  void sendToAllRoutes(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg);
  void sendToAllLogins(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg);

  // Login bookkeeping (handlers/login.cc).
  void onLoginValidated(const net::ImConnPtr& conn, uint32_t userId);
  void onClientClosed(const net::ImConnPtr& conn);

 private:
  void onClientPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onUpstreamPdu(const net::ImConnPtr& link, const net::ImPdu& pdu, bool fromRoute);
  void onUpstreamClosed(const net::ImConnPtr& link);
  void failPending(Pending& p);
  void tick();
  void sendServerInfo(const net::ImConnPtr& loginLink);
  bool serviceable() const;
  void registerMetrics();
  void updateRegistration();
  void sendOnlineUsers(const net::ImConnPtr& routeLink);

  net::EventDispatch* loop_;
  MsgServerOptions options_;
  net::ImServer clients_;
  Upstreams db_, login_, route_, push_, file_;
  net::Dispatcher clientCommands_, routeCommands_, serverCommands_;
  PendingRequests pending_;
  UserRegistry users_;
  GroupMembers groups_;
  std::shared_ptr<PushBatcher> pushBatcher_;
  net::TimerId tickTimer_ = 0;
  bool stopping_ = false;
  std::unordered_set<net::ConnId> registeredAt_;  // login links that have our IMMsgServInfo
  std::vector<metrics::CallbackHandle> metricHandles_;  // scrape-time gauges reading the above
};

// Handler families (handlers/*.cc).
void registerLoginHandlers(MsgServer& server);
void registerMessageHandlers(MsgServer& server);
void registerForwardHandlers(MsgServer& server);
void registerPushHandlers(MsgServer& server);

// Offline push (handlers/push.cc). Called by the msg_server that stored msg, once it is acked:
// notifies the receivers that have no device online anywhere through push_server.
void pushStoredMessage(MsgServer& server, const IM::Message::IMMsgData& msg);
// docs/PROTOCOL.md §3.10.2 alert text, cut to 37 bytes + "..." without splitting a UTF-8 character.
std::string pushAlertText(const std::string& senderNick, uint32_t msgType, const std::string& text, bool decrypted);
std::string truncateUtf8(const std::string& s, size_t maxBytes);

}  // namespace tt::msg
