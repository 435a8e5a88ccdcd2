#include "login_server/LoginServer.h"

#include <netinet/in.h>

#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "netlib/EventDispatch.h"
#include "netlib/PduMetrics.h"

namespace tt::login {

using net::HttpRequest;
using net::HttpResponse;
using net::HttpServerOptions;

namespace {

constexpr uint32_t kUserLogin = 1;
constexpr uint32_t kUserLogout = 2;
// A legacy client that keeps its socket open after the answer is cut after this long.
constexpr int64_t kClientLingerMs = 5000;

net::ImConnOptions msgServerLinkOptions(const LoginOptions& o) {
  net::ImConnOptions c;
  c.metrics = &net::PduMetrics::forLink("msg_server");
  c.maxPduSize = 64 * 1024;      // IMMsgServInfo is a few dozen bytes
  c.heartbeatIntervalMs = 5000;  // our own heartbeat when we have sent nothing for 5 s
  c.timeoutMs = o.msgServerTimeoutMs;
  c.echoHeartbeat = false;       // the msg_server's heartbeats only prove it is alive
  c.maxOutputBytes = 1024 * 1024;
  return c;
}

net::ImConnOptions clientLinkOptions(const LoginOptions& o) {
  net::ImConnOptions c;
  c.metrics = &net::PduMetrics::forLink("legacy_client");
  c.maxPduSize = 4096;  // the only request, IMMsgServReq, is empty
  c.heartbeatIntervalMs = 0;
  c.timeoutMs = o.clientTimeoutMs;
  c.echoHeartbeat = true;  // clients reconnect when they hear nothing back
  c.maxOutputBytes = 64 * 1024;
  return c;
}

HttpServerOptions httpOptions(const LoginOptions& o) {
  HttpServerOptions h;
  h.maxRequestBytes = 1024;
  h.idleTimeoutMs = o.httpIdleTimeoutMs;
  return h;
}

// TeamTalk hands IPv4 clients ip1 ("telecom") first and everyone else ip2 ("netcom") first.
// An IPv4 client reaching a dual-stack listener shows up as ::ffff:a.b.c.d and is still IPv4.
bool isIpv4Peer(const net::InetAddress& peer) {
  if (peer.family() == AF_INET) return true;
  if (peer.family() != AF_INET6) return false;
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(peer.sockAddr());
  return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
}

// One msg_server lookup answered (HTTP or legacy TCP), by its result. The six series are found
// once: Family::with() takes a mutex, a lookup is one per client login.
void countAnswer(bool http, Assignment::Result result) {
  static metrics::Family<metrics::Counter>& f = metrics::Registry::global().counterFamily(
      "ttsuite_login_msg_server_answers_total",
      "msg_server lookups answered, by way in (http: GET/POST /msg_server, tcp: legacy 0x0101) and outcome.",
      {"via", "outcome"});
  static metrics::Counter* const table[2][3] = {  // [http, tcp][kOk, kNoMsgServer, kAllFull]
      {&f.with({"http", "ok"}), &f.with({"http", "no_msg_server"}), &f.with({"http", "all_full"})},
      {&f.with({"tcp", "ok"}), &f.with({"tcp", "no_msg_server"}), &f.with({"tcp", "all_full"})},
  };
  table[http ? 0 : 1][static_cast<int>(result)]->inc();
}

std::string describe(const MsgServerEntry& s) {
  return s.hostName + " " + s.ip1 + "/" + s.ip2 + ":" + std::to_string(s.port) + " (" +
         std::to_string(s.curConnCnt) + "/" + std::to_string(s.maxConnCnt) + " users)";
}

}  // namespace

LoginServer::LoginServer(net::EventDispatch* loop, const LoginOptions& options)
    : loop_(loop),
      options_(options),
      msgServers_(loop, "msg_server link", msgServerLinkOptions(options)),
      clients_(loop, "legacy client", clientLinkOptions(options)),
      http_(loop, "http", httpOptions(options), [this](const HttpRequest& r) { return onHttp(r); }) {
  // Typed registration: a body that does not parse closes the link with a log line.
  msgServerDispatch_.on<IM::Server::IMMsgServInfo>(
      IM::BaseDefine::CID_OTHER_MSG_SERV_INFO,
      [this](const net::ImConnPtr& c, const net::ImPdu&, const IM::Server::IMMsgServInfo& m) { onMsgServerInfo(c, m); });
  msgServerDispatch_.on<IM::Server::IMUserCntUpdate>(
      IM::BaseDefine::CID_OTHER_USER_CNT_UPDATE,
      [this](const net::ImConnPtr& c, const net::ImPdu&, const IM::Server::IMUserCntUpdate& m) { onUserCntUpdate(c, m); });
  msgServerDispatch_.setUnknownHandler([](const net::ImConnPtr& c, const net::ImPdu& p) {
    spdlog::warn("msg_server link {}: unexpected command {:#06x}, dropped", c->name(), p.commandId());
  });
  msgServers_.setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& p) { msgServerDispatch_.dispatch(c, p); });
  msgServers_.setConnectHandler([](const net::ImConnPtr& c) { spdlog::info("msg_server link {} connected", c->name()); });
  msgServers_.setCloseHandler([this](const net::ImConnPtr& c) { onMsgServerClosed(c); });
  clients_.setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& p) { onClientPdu(c, p); });
  registerMetrics();
}

LoginServer::~LoginServer() = default;

bool LoginServer::start(std::string* err) {
  if (!msgServers_.listen(options_.msgServerListenIps, options_.msgServerPort, options_.backlog, err)) return false;
  if (!http_.listen(options_.httpListenIps, options_.httpPort, options_.backlog, err)) return false;
  return clients_.listen(options_.clientListenIps, options_.clientPort, options_.backlog, err);
}

// Scrape-time gauges: they read loop-thread state, and scrapes run on this loop.
void LoginServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  metricHandles_.push_back(metrics::connectionsGauge("login_server", [this] {
    return std::vector<std::pair<std::string, double>>{{"msg_server", double(msgServers_.size())},
                                                       {"http", double(http_.connectionCount())},
                                                       {"legacy_client", double(clients_.size())}};
  }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_login_msg_servers", "msg_servers registered here (their link is up and they sent IMMsgServInfo).",
      metrics::Type::kGauge, {}, [this] { return std::vector<Sample>{{{}, double(registry_.size())}}; }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_login_msg_server_users", "Users the registered msg_servers report online, summed.",
      metrics::Type::kGauge, {}, [this] { return std::vector<Sample>{{{}, double(registry_.totalUsers())}}; }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_login_msg_server_capacity_users", "Users the registered msg_servers accept (max_conn_cnt), summed.",
      metrics::Type::kGauge, {}, [this] { return std::vector<Sample>{{{}, double(registry_.totalCapacity())}}; }));
}

void LoginServer::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: {} msg_servers, {} http and {} legacy client connections", msgServers_.size(),
               http_.connectionCount(), clients_.size());
  msgServers_.stopAccepting();
  http_.stopAccepting();
  clients_.stopAccepting();
  msgServers_.closeAll();
  http_.closeAll();
  clients_.closeAll();
  // A close completes over two turns of the loop (close, then the deferred destroy); quit after
  // both, so every socket is released while the loop still runs.
  loop_->post([this] { loop_->post([this] { loop_->quit(); }); });
}

void LoginServer::onMsgServerInfo(const net::ImConnPtr& conn, const IM::Server::IMMsgServInfo& info) {
  if (info.port() == 0 || info.port() > 65535) {
    conn->close("IMMsgServInfo with port " + std::to_string(info.port()));
    return;
  }
  MsgServerEntry e;
  e.ip1 = info.ip1();
  e.ip2 = info.ip2();
  e.port = static_cast<uint16_t>(info.port());
  e.maxConnCnt = info.max_conn_cnt();
  e.curConnCnt = info.cur_conn_cnt();
  e.hostName = info.host_name();
  const bool known = registry_.find(conn->id()) != nullptr;
  registry_.update(conn->id(), e);
  spdlog::info("msg_server {} {} on link {}; {} registered", describe(e), known ? "updated" : "registered",
               conn->name(), registry_.size());
}

void LoginServer::onUserCntUpdate(const net::ImConnPtr& conn, const IM::Server::IMUserCntUpdate& update) {
  bool known = false;
  if (update.user_action() == kUserLogin) {
    known = registry_.userLoggedIn(conn->id());
  } else if (update.user_action() == kUserLogout) {
    known = registry_.userLoggedOut(conn->id());
  } else {
    spdlog::warn("msg_server link {}: IMUserCntUpdate with unknown action {}, ignored", conn->name(),
                 update.user_action());
    return;
  }
  if (!known) {
    spdlog::warn("msg_server link {}: IMUserCntUpdate before IMMsgServInfo, ignored", conn->name());
    return;
  }
  if (const MsgServerEntry* e = registry_.find(conn->id())) {
    spdlog::debug("msg_server {}: user {} {}", describe(*e), update.user_id(),
                  update.user_action() == kUserLogin ? "logged in" : "logged out");
  }
}

void LoginServer::onMsgServerClosed(const net::ImConnPtr& conn) {
  const MsgServerEntry* e = registry_.find(conn->id());
  if (!e) {
    spdlog::info("msg_server link {} closed (never registered)", conn->name());
    return;
  }
  const std::string what = describe(*e);
  registry_.remove(conn->id());
  spdlog::info("msg_server {} gone with link {}; {} registered", what, conn->name(), registry_.size());
}

void LoginServer::onClientPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  if (pdu.commandId() != IM::BaseDefine::CID_LOGIN_REQ_MSGSERVER) {
    conn->close("legacy client sent command " + std::to_string(pdu.commandId()) + ", not 0x0101");
    return;
  }
  IM::Login::IMMsgServReq req;
  if (!pdu.parse(&req)) {
    conn->close("malformed IMMsgServReq");
    return;
  }
  IM::Login::IMMsgServRsp rsp;
  const Assignment a = registry_.choose();
  countAnswer(false, a.result);
  switch (a.result) {
    case Assignment::Result::kOk: {
      const bool v4 = isIpv4Peer(conn->tcp()->peerAddress());
      rsp.set_result_code(IM::BaseDefine::REFUSE_REASON_NONE);
      rsp.set_prior_ip(v4 ? a.server->ip1 : a.server->ip2);
      rsp.set_backip_ip(v4 ? a.server->ip2 : a.server->ip1);
      rsp.set_port(a.server->port);
      break;
    }
    case Assignment::Result::kNoMsgServer:
      rsp.set_result_code(IM::BaseDefine::REFUSE_REASON_NO_MSG_SERVER);
      break;
    case Assignment::Result::kAllFull:
      rsp.set_result_code(IM::BaseDefine::REFUSE_REASON_MSG_SERVER_FULL);
      break;
  }
  conn->send(IM::BaseDefine::SID_LOGIN, IM::BaseDefine::CID_LOGIN_RES_MSGSERVER, pdu.seqNum(), rsp);
  // One answer per connection, as in TeamTalk: FIN after the answer is written; the peer closes.
  conn->tcp()->shutdown();
  std::weak_ptr<net::TcpConnection> weak = conn->tcp();
  loop_->runAfter(kClientLingerMs, [weak] {
    if (auto tcp = weak.lock()) tcp->forceClose("legacy client kept the connection open after its answer");
  });
}

std::string LoginServer::msgServerJson(const net::InetAddress& peer) const {
  nlohmann::ordered_json j;
  const Assignment a = registry_.choose();
  countAnswer(true, a.result);  // here, where the choice is made; onHttp is its only caller
  switch (a.result) {
    case Assignment::Result::kOk: {
      const bool v4 = isIpv4Peer(peer);
      j["code"] = 0;
      j["msg"] = "";
      j["priorIP"] = v4 ? a.server->ip1 : a.server->ip2;
      j["backupIP"] = v4 ? a.server->ip2 : a.server->ip1;
      j["port"] = std::to_string(a.server->port);  // a string, as clients have always received it
      j["msfsPrior"] = options_.msfs;
      j["msfsBackup"] = options_.msfs;
      j["discovery"] = options_.discovery;
      break;
    }
    case Assignment::Result::kNoMsgServer:
      j["code"] = 1;
      j["msg"] = "没有msg_server";
      break;
    case Assignment::Result::kAllFull:
      j["code"] = 2;
      j["msg"] = "负载过高";
      break;
  }
  // The addresses come from msg_servers' protobuf strings, which are not checked for UTF-8:
  // replace bad bytes rather than let dump() throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse LoginServer::onHttp(const HttpRequest& request) const {
  // The three answers this handler can give; the path is classed, never copied, so a client
  // cannot create series. (400s for requests that do not parse never reach here: not counted.)
  static metrics::Family<metrics::Counter>& requests = metrics::Registry::global().counterFamily(
      "ttsuite_login_http_requests_total", "HTTP requests answered, by path class and status code.",
      {"path", "status"});
  static metrics::Counter& notFound = requests.with({"other", "404"});
  static metrics::Counter& badMethod = requests.with({"/msg_server", "405"});
  static metrics::Counter& ok = requests.with({"/msg_server", "200"});
  HttpResponse res;
  if (request.path.compare(0, 11, "/msg_server") != 0) {
    notFound.inc();
    res.status = 404;
    res.contentType = "text/plain;charset=utf-8";
    res.body = "Not Found\n";
    return res;
  }
  if (request.method != "GET" && request.method != "POST") {
    res.status = 405;
    res.contentType = "text/plain;charset=utf-8";
    res.body = "Method Not Allowed\n";
    res.headers.emplace_back("Allow", "GET, POST");
    badMethod.inc();
    return res;
  }
  ok.inc();
  res.body = msgServerJson(request.peer);
  return res;
}

}  // namespace tt::login
