// Login, logout and kicks (docs/PROTOCOL.md §3.2, §3.3), and the presence notifications route_server sends.
#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "base/Time.h"
#include "msg_server/MsgMetrics.h"
#include "msg_server/MsgServer.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

// Counts every refusal: the server's own (no link, full) and db_proxy's (throttled apart).
void refuseLogin(const net::ImConnPtr& conn, uint16_t seq, ResultType code, const std::string& text,
                 bool throttled = false) {
  MsgMetrics& m = MsgMetrics::get();
  (throttled ? m.loginThrottled : code == REFUSE_REASON_DB_VALIDATE_FAILED ? m.loginFailed : m.loginNoServer).inc();
  IM::Login::IMLoginRes res;
  res.set_server_time(tt::unixSeconds());
  res.set_result_code(code);
  res.set_result_string(text);
  conn->send(SID_LOGIN, CID_LOGIN_RES_USERLOGIN, seq, res);
  // Close once the answer is written, so the client reads why.
  conn->tcp()->shutdown();
  if (ClientSession* s = sessionOf(conn)) s->state = ClientSession::State::kClosing;
}

void sendKick(const net::ImConnPtr& conn, uint32_t userId, KickReasonType reason) {
  IM::Login::IMKickUser kick;
  kick.set_user_id(userId);
  kick.set_kick_reason(reason);
  conn->send(SID_LOGIN, CID_LOGIN_KICK_USER, 0, kick);
  // The original only flagged a kicked connection; it kept working. Really close it (after the
  // kick notice is written).
  if (ClientSession* s = sessionOf(conn)) s->state = ClientSession::State::kClosing;
  conn->tcp()->shutdown();
  std::weak_ptr<net::ImConn> weak = conn;
  conn->loop()->runAfter(2000, [weak] {
    if (auto c = weak.lock()) c->close("kicked");
  });
}

// Kicks this server's connections of userId whose device class (PC / mobile) matches clientType.
void kickLocal(MsgServer& server, uint32_t userId, uint32_t clientType, KickReasonType reason, net::ConnId except) {
  for (const auto& c : server.users().connections(userId)) {
    ClientSession* s = sessionOf(c);
    if (!s || c->id() == except || s->state != ClientSession::State::kOnline) continue;
    if (isMobile(s->clientType) != isMobile(clientType)) continue;
    spdlog::info("user {}: kicking connection {} (reason {})", userId, c->name(), static_cast<int>(reason));
    // Offline bookkeeping first (registry, login_server count, route OFFLINE): it only runs for a
    // connection still marked online, and sendKick marks it closing. The socket closes after the
    // notice.
    server.onClientClosed(c);
    sendKick(c, userId, reason);
  }
}

void onLogin(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu, IM::Login::IMLoginReq& req) {
  ClientSession* s = sessionOf(conn);
  if (s->state != ClientSession::State::kConnected) return;  // a second login on one connection is ignored
  const uint16_t seq = pdu.seqNum();
  if (server.db().liveCount() == 0) return refuseLogin(conn, seq, REFUSE_REASON_NO_DB_SERVER, "服务端异常");
  // route before login: without route_server this msg_server withdraws from login_server (closes
  // that link), so the route link is the cause to report.
  if (server.route().liveCount() == 0) return refuseLogin(conn, seq, REFUSE_REASON_NO_ROUTE_SERVER, "服务端异常");
  if (server.login().liveCount() == 0) return refuseLogin(conn, seq, REFUSE_REASON_NO_LOGIN_SERVER, "服务端异常");
  if (server.users().connectionCount() >= server.options().maxConnCnt) {
    return refuseLogin(conn, seq, REFUSE_REASON_MSG_SERVER_FULL, "服务器已满");
  }
  s->state = ClientSession::State::kValidating;
  s->clientType = req.client_type();
  const uint32_t status = req.online_status();
  s->onlineStatus = (status >= USER_STATUS_ONLINE && status <= USER_STATUS_LEAVE) ? status : uint32_t{USER_STATUS_ONLINE};
  s->loginSeq = seq;

  IM::Server::IMValidateReq validate;
  validate.set_user_name(req.user_name());
  validate.set_password(req.password());
  Pending p;
  p.client = conn->id();
  p.seq = seq;
  std::weak_ptr<net::ImConn> weak = conn;
  const uint32_t requestedStatus = s->onlineStatus;
  p.onReply = [&server, weak, seq, requestedStatus](const net::ImPdu* answer) {
    net::ImConnPtr c = weak.lock();
    if (!c || !c->connected()) return;
    if (!answer) return refuseLogin(c, seq, REFUSE_REASON_NO_DB_SERVER, "服务端异常");
    IM::Server::IMValidateRsp rsp;
    if (!answer->parse(&rsp)) return refuseLogin(c, seq, REFUSE_REASON_NO_DB_SERVER, "服务端异常");
    if (rsp.result_code() != 0) {
      spdlog::info("login of '{}' from {} refused: {} {}", rsp.user_name(), c->name(), rsp.result_code(),
                   rsp.result_string());
      // db_proxy's 3 means its storage failed: tell the client it is the server, not the password.
      const ResultType code = rsp.result_code() == 3 ? REFUSE_REASON_NO_DB_SERVER : REFUSE_REASON_DB_VALIDATE_FAILED;
      // db_proxy's 6: more than 10 failures for this name in 30 minutes.
      return refuseLogin(c, seq, code, rsp.result_string(), rsp.result_code() == 6);
    }
    MsgMetrics::get().loginOk.inc();
    const uint32_t userId = rsp.user_info().user_id();
    server.onLoginValidated(c, userId);
    IM::Login::IMLoginRes res;
    res.set_server_time(tt::unixSeconds());
    res.set_result_code(REFUSE_REASON_NONE);
    res.set_result_string(rsp.result_string().empty() ? "成功" : rsp.result_string());
    res.set_online_status(static_cast<UserStatType>(requestedStatus));
    *res.mutable_user_info() = rsp.user_info();
    c->send(SID_LOGIN, CID_LOGIN_RES_USERLOGIN, seq, res);
  };
  // Logins spread over the db links by connection (no per-user order to keep yet).
  if (!server.request(server.db().pick(conn->id()), SID_OTHER, CID_OTHER_VALIDATE_REQ, validate, std::move(p))) {
    refuseLogin(conn, seq, REFUSE_REASON_NO_DB_SERVER, "服务端异常");
  }
}

void onLogout(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  ClientSession* s = sessionOf(conn);
  // Logging out clears the device token, so the user's phone stops getting pushes.
  IM::Login::IMDeviceTokenReq clear;
  clear.set_user_id(s->userId);
  clear.set_device_token("");
  clear.set_client_type(static_cast<ClientType>(s->clientType));
  Pending p;  // the answer is only logged
  p.onReply = [](const net::ImPdu*) {};
  server.request(server.dbFor(s->userId), SID_LOGIN, CID_LOGIN_REQ_DEVICETOKEN, clear, std::move(p));
  IM::Login::IMLogoutRsp rsp;
  rsp.set_result_code(0);
  conn->send(SID_LOGIN, CID_LOGIN_RES_LOGINOUT, pdu.seqNum(), rsp);
  server.onClientClosed(conn);
  s->state = ClientSession::State::kClosing;
  conn->tcp()->shutdown();
}

void onKickPc(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu, IM::Login::IMKickPCClientReq&) {
  ClientSession* s = sessionOf(conn);
  if (!isMobile(s->clientType)) {
    spdlog::info("client {}: kick-PC request from a PC client ignored", conn->name());
    return;
  }
  kickLocal(server, s->userId, CLIENT_TYPE_MAC, KICK_REASON_MOBILE_KICK, conn->id());
  IM::Server::IMServerKickUser kick;
  kick.set_user_id(s->userId);
  kick.set_client_type(CLIENT_TYPE_MAC);
  kick.set_reason(KICK_REASON_MOBILE_KICK);
  server.sendToRoute(SID_OTHER, CID_OTHER_SERVER_KICK_USER, 0, kick);
  IM::Login::IMKickPCClientRsp rsp;
  rsp.set_user_id(s->userId);
  rsp.set_result_code(0);
  conn->send(SID_LOGIN, CID_LOGIN_RES_KICKPCCLIENT, pdu.seqNum(), rsp);
}

}  // namespace

void MsgServer::onLoginValidated(const net::ImConnPtr& conn, uint32_t userId) {
  ClientSession* s = sessionOf(conn);
  s->userId = userId;
  // One connection per device class: a second PC (or mobile) login replaces the first, here and,
  // through route_server, on every other msg_server.
  kickLocal(*this, userId, s->clientType, KICK_REASON_DUPLICATE_USER, conn->id());
  IM::Server::IMServerKickUser kick;
  kick.set_user_id(userId);
  kick.set_client_type(static_cast<ClientType>(s->clientType));
  kick.set_reason(KICK_REASON_DUPLICATE_USER);
  sendToRoute(SID_OTHER, CID_OTHER_SERVER_KICK_USER, 0, kick);

  s->state = ClientSession::State::kOnline;
  conn->setTimeout(isMobile(s->clientType) ? options_.mobileTimeoutMs : options_.pcTimeoutMs);
  users_.add(userId, conn);
  IM::Server::IMUserCntUpdate cnt;
  cnt.set_user_action(1);
  cnt.set_user_id(userId);
  sendToAllLogins(SID_OTHER, CID_OTHER_USER_CNT_UPDATE, cnt);
  IM::Server::IMUserStatusUpdate status;
  status.set_user_status(s->onlineStatus);
  status.set_user_id(userId);
  status.set_client_type(static_cast<ClientType>(s->clientType));
  sendToAllRoutes(SID_OTHER, CID_OTHER_USER_STATUS_UPDATE, status);
  spdlog::info("user {} online from {} (client type {:#x})", userId, conn->name(), s->clientType);
}

void MsgServer::onClientClosed(const net::ImConnPtr& conn) {
  ClientSession* s = sessionOf(conn);
  if (!s || s->state != ClientSession::State::kOnline) {
    if (s) s->state = ClientSession::State::kClosing;
    return;
  }
  s->state = ClientSession::State::kClosing;
  users_.remove(s->userId, conn->id());
  IM::Server::IMUserCntUpdate cnt;
  cnt.set_user_action(2);
  cnt.set_user_id(s->userId);
  sendToAllLogins(SID_OTHER, CID_OTHER_USER_CNT_UPDATE, cnt);
  IM::Server::IMUserStatusUpdate status;
  status.set_user_status(USER_STATUS_OFFLINE);
  status.set_user_id(s->userId);
  status.set_client_type(static_cast<ClientType>(s->clientType));
  sendToAllRoutes(SID_OTHER, CID_OTHER_USER_STATUS_UPDATE, status);
  spdlog::info("user {} offline from {}", s->userId, conn->name());
}

void registerLoginHandlers(MsgServer& server) {
  auto& cmds = server.clientCommands();
  cmds.on<IM::Login::IMLoginReq>(CID_LOGIN_REQ_USERLOGIN, [&server](const net::ImConnPtr& c, const net::ImPdu& pdu,
                                                                    IM::Login::IMLoginReq& req) {
    onLogin(server, c, pdu, req);
  });
  cmds.on(CID_LOGIN_REQ_LOGINOUT, [&server](const net::ImConnPtr& c, const net::ImPdu& pdu) { onLogout(server, c, pdu); });
  cmds.on<IM::Login::IMKickPCClientReq>(CID_LOGIN_REQ_KICKPCCLIENT,
                                        [&server](const net::ImConnPtr& c, const net::ImPdu& pdu,
                                                  IM::Login::IMKickPCClientReq& req) { onKickPc(server, c, pdu, req); });

  auto& route = server.routeCommands();
  // Another msg_server logged this user in: kick our connection of the same device class.
  route.on<IM::Server::IMServerKickUser>(CID_OTHER_SERVER_KICK_USER, [&server](const net::ImConnPtr&, const net::ImPdu&,
                                                                              IM::Server::IMServerKickUser& k) {
    const auto reason = k.reason() == KICK_REASON_MOBILE_KICK ? KICK_REASON_MOBILE_KICK : KICK_REASON_DUPLICATE_USER;
    kickLocal(server, k.user_id(), k.client_type(), reason, 0);
  });
  // A PC client of this user came or went somewhere: remember it, tell the user's phones.
  route.on<IM::Server::IMServerPCLoginStatusNotify>(
      CID_OTHER_LOGIN_STATUS_NOTIFY,
      [&server](const net::ImConnPtr&, const net::ImPdu&, IM::Server::IMServerPCLoginStatusNotify& n) {
        IM::Buddy::IMPCLoginStatusNotify notify;
        notify.set_user_id(n.user_id());
        notify.set_login_stat(n.login_status() ? USER_STATUS_ONLINE : USER_STATUS_OFFLINE);
        const std::string pdu = net::encodePdu(SID_BUDDY_LIST, CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, 0, notify);
        for (const auto& c : server.users().connections(n.user_id())) {
          ClientSession* s = sessionOf(c);
          if (!s) continue;
          s->pcOnlineElsewhere = n.login_status() != 0;
          if (isMobile(s->clientType)) c->sendRaw(pdu);
        }
      });
  // Presence of a PC client changed: every local PC client hears it (mobile clients do not).
  route.on(CID_BUDDY_LIST_STATUS_NOTIFY, [&server](const net::ImConnPtr&, const net::ImPdu& pdu) {
    const std::string bytes = pdu.serialize();
    for (const auto& [id, c] : server.clients().connections()) {
      ClientSession* s = sessionOf(c);
      if (s && s->state == ClientSession::State::kOnline && !isMobile(s->clientType)) c->sendRaw(bytes);
    }
  });
}

}  // namespace tt::msg
