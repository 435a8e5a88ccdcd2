#include "msg_server/MsgServer.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "msg_server/MsgMetrics.h"

namespace tt::msg {

using namespace IM::BaseDefine;

MsgServerOptions readMsgServerOptions(const Config& c) {
  MsgServerOptions o;
  o.listenIps = c.getRequiredList("ListenIP");
  o.listenPort = c.getPort("ListenPort");
  o.ipAddr1 = c.getString("IpAddr1");
  o.ipAddr2 = c.getString("IpAddr2", o.ipAddr1);
  o.maxConnCnt = static_cast<uint32_t>(c.getInt("MaxConnCnt", 100000, 1, 10000000));
  o.dbServers = c.getServerList("DBServerIP", "DBServerPort");
  if (o.dbServers.empty()) c.fail("DBServerIP1", "at least one db_proxy_server is required");
  o.loginServers = c.getServerList("LoginServerIP", "LoginServerPort");
  if (o.loginServers.empty()) c.fail("LoginServerIP1", "at least one login_server is required");
  o.routeServers = c.getServerList("RouteServerIP", "RouteServerPort");
  if (o.routeServers.empty()) c.fail("RouteServerIP1", "at least one route_server is required");
  o.pushServers = c.getServerList("PushServerIP", "PushServerPort");
  o.fileServers = c.getServerList("FileServerIP", "FileServerPort");
  o.dbLinksPerServer = static_cast<size_t>(c.getInt("ConcurrentDBConnCnt", 2, 1, 64));
  o.maxPduSize = static_cast<uint32_t>(c.getInt("MaxPduSize", net::kDefaultMaxPduSize, 1024, 64 * 1024 * 1024));
  o.loginTimeoutMs = c.getInt("LoginTimeout", 15, 1, 3600) * 1000;
  o.pcTimeoutMs = c.getInt("PcClientTimeout", 120, 1, 86400) * 1000;
  o.mobileTimeoutMs = c.getInt("MobileClientTimeout", 300, 1, 86400) * 1000;
  o.upstreamTimeoutMs = c.getInt("UpstreamTimeout", 15, 1, 600) * 1000;
  o.maxMessagesPerSecond = static_cast<uint32_t>(c.getInt("MaxMsgPerSecond", 20, 1, 100000));
  o.aesKey = c.getString("aesKey", o.aesKey);
  if (o.aesKey.size() != 32) c.fail("aesKey", "must be exactly 32 characters (clients use the same key)");
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  o.hostName = host;
  return o;
}

namespace {
net::ImConnOptions clientOptions(const MsgServerOptions& o) {
  net::ImConnOptions c;
  c.maxPduSize = o.maxPduSize;
  c.heartbeatIntervalMs = 0;   // clients send heartbeats; we echo them
  c.echoHeartbeat = true;
  c.timeoutMs = o.loginTimeoutMs;  // until login; then PC or mobile timeout
  c.maxOutputBytes = 8 * 1024 * 1024;
  c.metrics = &net::PduMetrics::forLink("client");
  return c;
}
net::ImConnOptions upstreamOptions(const MsgServerOptions& o, const std::string& kind) {
  net::ImConnOptions c;
  c.metrics = &net::PduMetrics::forLink(kind);
  c.maxPduSize = o.maxPduSize;
  c.heartbeatIntervalMs = 5000;
  c.timeoutMs = 30000;
  c.maxOutputBytes = 64 * 1024 * 1024;
  return c;
}
}  // namespace

MsgServer::MsgServer(net::EventDispatch* loop, MsgServerOptions options)
    : loop_(loop),
      options_(std::move(options)),
      clients_(loop, "msg_server", clientOptions(options_)),
      db_(loop, "db_proxy", options_.dbServers, options_.dbLinksPerServer, upstreamOptions(options_, "db_proxy")),
      login_(loop, "login_server", options_.loginServers, 1, upstreamOptions(options_, "login_server")),
      route_(loop, "route_server", options_.routeServers, 1, upstreamOptions(options_, "route_server")),
      push_(loop, "push_server", options_.pushServers, 1, upstreamOptions(options_, "push_server")),
      file_(loop, "file_server", options_.fileServers, 1, upstreamOptions(options_, "file_server")),
      groups_(*this, 60000) {
  clients_.setConnectHandler([this](const net::ImConnPtr& c) {
    ClientSession s;
    s.rateWindowStartMs = s.connectedAtMs = loop_->nowMs();
    c->context() = s;
  });
  clients_.setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& pdu) { onClientPdu(c, pdu); });
  clients_.setCloseHandler([this](const net::ImConnPtr& c) { onClientClosed(c); });

  // Only heartbeat (answered inside ImConn) and login before the login has succeeded: the
  // original let unauthenticated connections act as user 0.
  clientCommands_.setFilter([](const net::ImConnPtr& c, const net::ImPdu& pdu) {
    ClientSession* s = sessionOf(c);
    if (!s) return false;
    if (s->state == ClientSession::State::kOnline) return true;
    if (pdu.commandId() == CID_LOGIN_REQ_USERLOGIN) return true;
    c->close("command " + std::to_string(pdu.commandId()) + " before login");
    return false;
  });
  clientCommands_.setUnknownHandler([](const net::ImConnPtr& c, const net::ImPdu& pdu) {
    spdlog::info("client {}: unknown command {:#06x} ignored", c->name(), pdu.commandId());
  });

  for (Upstreams* u : {&db_, &login_, &route_, &push_, &file_}) {
    const bool fromRoute = u == &route_;
    u->setPduHandler([this, fromRoute](const net::ImConnPtr& link, const net::ImPdu& pdu) {
      onUpstreamPdu(link, pdu, fromRoute);
    });
    u->setCloseHandler([this](const net::ImConnPtr& link) {
      onUpstreamClosed(link);
      updateRegistration();
    });
  }
  // login_server hands this server to clients only while it can serve them: registered once db_proxy
  // and route_server links are up, withdrawn (login link closed) when either kind is all down.
  login_.setConnectHandler([this](const net::ImConnPtr&) { updateRegistration(); });
  db_.setConnectHandler([this](const net::ImConnPtr&) { updateRegistration(); });
  route_.setConnectHandler([this](const net::ImConnPtr& link) {
    sendOnlineUsers(link);
    updateRegistration();
  });
  serverCommands_.setUnknownHandler([](const net::ImConnPtr& link, const net::ImPdu& pdu) {
    spdlog::debug("upstream {}: unsolicited command {:#06x} ignored", link->name(), pdu.commandId());
  });
  routeCommands_.setUnknownHandler([](const net::ImConnPtr& link, const net::ImPdu& pdu) {
    spdlog::info("route {}: command {:#06x} not handled", link->name(), pdu.commandId());
  });
  serverCommands_.on(CID_OTHER_STOP_RECV_PACKET, [this](const net::ImConnPtr& link, const net::ImPdu&) {
    db_.markDraining(link);
  });

  registerMetrics();
  registerLoginHandlers(*this);
  registerMessageHandlers(*this);
  registerForwardHandlers(*this);
  registerPushHandlers(*this);
}

MsgServer::~MsgServer() { loop_->cancel(tickTimer_); }

bool MsgServer::start(std::string* err) {
  if (!clients_.listen(options_.listenIps, options_.listenPort, options_.backlog, err)) return false;
  for (Upstreams* u : {&db_, &login_, &route_, &push_, &file_}) u->start();
  tickTimer_ = loop_->runEvery(1000, [this] { tick(); });
  return true;
}

void MsgServer::beginShutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: closing {} client connections", clients_.size());
  clients_.stopAccepting();
  clients_.closeAll();
  // Offline updates for the closed clients go out on the next turns; then stop.
  loop_->runAfter(300, [this] {
    for (Upstreams* u : {&db_, &login_, &route_, &push_, &file_}) u->stop();
    loop_->runAfter(100, [this] { loop_->quit(); });
  });
}

void MsgServer::onClientPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  clientCommands_.dispatch(conn, pdu);
}

void MsgServer::onUpstreamPdu(const net::ImConnPtr& link, const net::ImPdu& pdu, bool fromRoute) {
  // Answers to our own requests carry our request id in attach_data.
  const bool mayBeAnswer = !fromRoute || pdu.commandId() == CID_BUDDY_LIST_USERS_STATUS_RESPONSE;
  if (mayBeAnswer) {
    if (auto attach = findAttach(pdu.body)) {
      if (auto id = decodeRequestId(*attach)) {
        std::optional<Pending> p = pending_.take(*id);
        if (!p) {
          spdlog::debug("late answer {:#06x} from {} dropped", pdu.commandId(), link->name());
          return;
        }
        if (p->onReply) {
          p->onReply(&pdu);
          return;
        }
        net::ImConnPtr client = clients_.find(p->client);
        if (!client) return;  // the client left while we waited
        std::string body;
        if (!stripAttach(pdu.body, &body)) {
          link->close("malformed answer body for command " + std::to_string(pdu.commandId()));
          return;
        }
        client->sendRaw(net::encodePdu(pdu.serviceId(), pdu.commandId(), p->seq, body));
        return;
      }
    }
  }
  (fromRoute ? routeCommands_ : serverCommands_).dispatch(link, pdu);
}

void MsgServer::onUpstreamClosed(const net::ImConnPtr& link) {
  for (Pending& p : pending_.takeAllOnLink(link->id())) failPending(p);
}

void MsgServer::failPending(Pending& p) {
  static metrics::Counter& failures = MsgMetrics::get().upstreamFailures;
  failures.inc();
  if (p.onReply) {
    p.onReply(nullptr);
    return;
  }
  spdlog::info("request {:#06x} of client #{} failed: upstream gone or too slow", p.commandId, p.client);
}

void MsgServer::tick() {
  const int64_t now = loop_->nowMs();
  for (Pending& p : pending_.takeExpired(now)) failPending(p);
  // A connection that heartbeats but never logs in is closed too (its ImConn timeout alone would
  // keep it).
  for (const auto& [id, conn] : clients_.connections()) {
    ClientSession* s = sessionOf(conn);
    if (s && s->state != ClientSession::State::kOnline && now - s->connectedAtMs > options_.loginTimeoutMs) {
      conn->close("no login within " + std::to_string(options_.loginTimeoutMs / 1000) + " s");
    }
  }
}

void MsgServer::deliverToUser(uint32_t userId, const std::string& pdu, net::ConnId except) {
  for (const auto& c : users_.connections(userId)) {
    if (c->id() != except) c->sendRaw(pdu);
  }
}

void MsgServer::deliverMessageToUser(uint32_t userId, const std::string& pdu, net::ConnId except) {
  static metrics::Counter& delivered = MsgMetrics::get().messagesDelivered;
  for (const auto& c : users_.connections(userId)) {
    if (c->id() == except) continue;
    c->sendRaw(pdu);
    delivered.inc();
  }
}

void MsgServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  metricHandles_.push_back(metrics::connectionsGauge("msg_server", [this] {
    size_t online = 0;
    for (const auto& [id, c] : clients_.connections()) {
      const ClientSession* s = sessionOf(c);
      online += s && s->state == ClientSession::State::kOnline;
    }
    return std::vector<std::pair<std::string, double>>{{"client_logged_in", double(online)},
                                                       {"client_not_logged_in", double(clients_.size() - online)}};
  }));
  metricHandles_.push_back(r.addCallback("ttsuite_msg_online_users", "Users with at least one connection logged in here.",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, double(users_.userCount())}};
                                         }));
  metricHandles_.push_back(metrics::upstreamLinksGauge("msg_server", [this] {
    std::vector<metrics::LinkState> out;
    for (const Upstreams* u : {&db_, &login_, &route_, &push_, &file_}) {
      u->forEachLink([&](const std::string& peer, bool up) { out.push_back({u->kind(), peer, up}); });
    }
    return out;
  }));
  metricHandles_.push_back(r.addCallback("ttsuite_msg_pending_requests",
                                         "Client requests waiting for an upstream answer.", metrics::Type::kGauge, {},
                                         [this] { return std::vector<Sample>{{{}, double(pending_.size())}}; }));
  metricHandles_.push_back(r.addCallback("ttsuite_msg_registered", "1 while login_server hands this msg_server to clients.",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, registeredAt_.empty() ? 0.0 : 1.0}};
                                         }));
}

bool MsgServer::sendToRoute(const std::string& pdu) {
  net::ImConnPtr r = route_.first();
  if (!r) return false;
  r->sendRaw(pdu);
  return true;
}

bool MsgServer::sendToRoute(uint16_t serviceId, uint16_t commandId, uint16_t seq,
                            const google::protobuf::MessageLite& msg) {
  return sendToRoute(net::encodePdu(serviceId, commandId, seq, msg));
}

void MsgServer::sendToAllRoutes(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg) {
  const std::string pdu = net::encodePdu(serviceId, commandId, 0, msg);
  for (auto& r : route_.live()) r->sendRaw(pdu);
}

void MsgServer::sendToAllLogins(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg) {
  const std::string pdu = net::encodePdu(serviceId, commandId, 0, msg);
  for (auto& l : login_.live()) {
    if (registeredAt_.count(l->id())) l->sendRaw(pdu);
  }
}

bool MsgServer::serviceable() const { return !stopping_ && db_.liveCount() > 0 && route_.liveCount() > 0; }

void MsgServer::updateRegistration() {
  const auto live = login_.live();
  // Forget links that went away.
  for (auto it = registeredAt_.begin(); it != registeredAt_.end();) {
    bool up = false;
    for (const auto& l : live) up |= l->id() == *it;
    it = up ? std::next(it) : registeredAt_.erase(it);
  }
  if (serviceable()) {
    for (const auto& l : live) {
      if (registeredAt_.insert(l->id()).second) sendServerInfo(l);
    }
    return;
  }
  if (registeredAt_.empty()) return;
  // The protocol has no "unregister": login_server forgets a msg_server whose link closes. The
  // link comes back by itself and registers again once db_proxy and route_server are reachable.
  spdlog::warn("no {} link up: withdrawing from {} login_server(s)", db_.liveCount() ? "route_server" : "db_proxy",
               registeredAt_.size());
  for (const auto& l : live) {
    if (registeredAt_.count(l->id())) l->close("withdrawn: cannot serve clients without db_proxy and route_server");
  }
  registeredAt_.clear();
}

void MsgServer::sendServerInfo(const net::ImConnPtr& loginLink) {
  IM::Server::IMMsgServInfo info;
  info.set_ip1(options_.ipAddr1);
  info.set_ip2(options_.ipAddr2);
  info.set_port(options_.listenPort);
  info.set_max_conn_cnt(options_.maxConnCnt);
  info.set_cur_conn_cnt(static_cast<uint32_t>(users_.connectionCount()));
  info.set_host_name(options_.hostName);
  loginLink->send(SID_OTHER, CID_OTHER_MSG_SERV_INFO, 0, info);
}

void MsgServer::sendOnlineUsers(const net::ImConnPtr& routeLink) {
  // route_server rebuilds this server's part of its map from this list.
  IM::Server::IMOnlineUserInfo info;
  users_.forEach([&](uint32_t uid, const net::ImConnPtr& c) {
    ClientSession* s = sessionOf(c);
    if (!s || s->state != ClientSession::State::kOnline) return;
    auto* st = info.add_user_stat_list();
    st->set_user_id(uid);
    st->set_status(static_cast<UserStatType>(s->onlineStatus));
    st->set_client_type(static_cast<ClientType>(s->clientType));
  });
  routeLink->send(SID_OTHER, CID_OTHER_ONLINE_USER_INFO, 0, info);
  if (route_.first() == routeLink) {
    IM::Server::IMRoleSet role;
    role.set_master(1);
    routeLink->send(SID_OTHER, CID_OTHER_ROLE_SET, 0, role);
  }
}

}  // namespace tt::msg
