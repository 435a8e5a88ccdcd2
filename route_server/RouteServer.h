#pragma once
// route_server: msg_servers connect here, report which users they hold (IMOnlineUserInfo on
// connect, IMUserStatusUpdate per login/logout) and hand over traffic for users they do not hold.
// RouteServer keeps a RouteTable from those reports and
//   - forwards each routed PDU, byte for byte (same command, same seq), to the msg_servers that
//     hold its target users (the original re-broadcast everything to every msg_server);
//   - answers IMUsersStatReq from the table;
//   - broadcasts presence changes (IMUserStatNotify, IMServerPCLoginStatusNotify) to every
//     msg_server, including when a msg_server goes away and its users with it.
// Several route_servers may run side by side; each keeps its own table from the same reports.
#include <cstdint>
#include <string>
#include <vector>

#include "base/Metrics.h"
#include "netlib/Dispatcher.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImServer.h"
#include "route_server/RouteTable.h"

namespace tt::route {

struct RouteOptions {
  std::vector<std::string> listenIps{"0.0.0.0"};
  uint16_t listenPort = 8200;
  int backlog = 128;
  int64_t heartbeatIntervalMs = 5000;  // our own heartbeat after this long without sending
  int64_t timeoutMs = 30000;           // a msg_server silent this long is dropped
  uint32_t maxPduSize = 8 * 1024 * 1024;  // IMOnlineUserInfo of a full msg_server is ~1.5 MiB
  size_t maxOutputBytes = 64 * 1024 * 1024;
};

class RouteServer {
 public:
  RouteServer(net::EventDispatch* loop, const RouteOptions& options);
  ~RouteServer();
  RouteServer(const RouteServer&) = delete;
  RouteServer& operator=(const RouteServer&) = delete;

  bool start(std::string* err);
  // SIGTERM: stop accepting and close every link. The users of those links are not reported
  // offline to anyone: they did not go offline, this route_server did.
  void shutdown();

  std::vector<net::InetAddress> listenAddresses() const { return server_.listenAddresses(); }
  const RouteTable& table() const { return table_; }

 private:
  void registerHandlers();
  void registerMetrics();
  void onConnect(const net::ImConnPtr& conn);
  void onClose(const net::ImConnPtr& conn);

  // Sends the PDU unchanged to every link holding one of users, except the one it came from.
  void forwardToUsers(const net::ImConnPtr& from, const net::ImPdu& pdu, const std::vector<uint32_t>& users);
  // Group traffic: route knows no membership, so every other link that holds anyone gets it.
  void forwardToPopulatedLinks(const net::ImConnPtr& from, const net::ImPdu& pdu);
  void forwardTo(const std::vector<LinkId>& links, const net::ImConnPtr& from, const net::ImPdu& pdu);
  // One write per msg_server for all the notifies a change implies.
  void broadcastPresence(const std::vector<PresenceEvent>& events);

  RouteOptions options_;
  net::ImServer server_;
  net::Dispatcher dispatcher_;
  RouteTable table_;
  bool stopping_ = false;
  std::vector<metrics::CallbackHandle> metricHandles_;  // last: unregistered before what they read dies
};

}  // namespace tt::route
