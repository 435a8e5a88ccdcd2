// IM.Buddy client commands (docs/PROTOCOL.md §2.3, §3.7) and the buddy notifies route_server relays.
//   RECENT_CONTACT_SESSION_REQUEST 0x0201, USER_INFO_REQUEST 0x0204, ALL_USER_REQUEST 0x0208,
//   DEPARTMENT_REQUEST 0x0210, CHANGE_AVATAR_REQUEST 0x020c     C->M->D->M->C
//   USERS_STATUS_REQUEST 0x020a                                  C->M->R(master)->M->C
//   REMOVE_SESSION_REQ 0x0206      answer, then IMRemoveSessionNotify 0x020f to the user's other
//                                  connections here and, through route, elsewhere
//   CHANGE_SIGN_INFO_REQUEST 0x0213  answer, then IMSignInfoChangedNotify 0x0215 through route to
//                                  every msg_server (this one included) -> every online client
#include <string>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "msg_server/MsgServer.h"
#include "msg_server/handlers/Handlers.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

auto removeSessionFailed() {
  return failWith<IM::Buddy::IMRemoveSessionRsp>(SID_BUDDY_LIST, CID_BUDDY_LIST_REMOVE_SESSION_RES,
                                                 [](auto& rsp, const IM::Buddy::IMRemoveSessionReq& req) {
                                                   rsp.set_user_id(req.user_id());
                                                   rsp.set_session_type(req.session_type());
                                                   rsp.set_session_id(req.session_id());
                                                 });
}

auto changeSignInfoFailed() {
  return failWith<IM::Buddy::IMChangeSignInfoRsp>(SID_BUDDY_LIST, CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
                                                  [](auto& rsp, const auto& req) { rsp.set_user_id(req.user_id()); });
}

// The user's other devices drop the session too; a group session is left alone, as by the original.
void onRemoveSession(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu,
                     IM::Buddy::IMRemoveSessionReq& req) {
  const uint32_t userId = userOf(conn);
  const uint16_t seq = pdu.seqNum();
  const net::ConnId origin = conn->id();
  req.set_user_id(userId);
  auto onAnswer = [&server, req, seq, userId, origin](const net::ImConnPtr& client, const net::ImPdu* answer) {
    IM::Buddy::IMRemoveSessionRsp rsp;
    if (!answer || !answer->parse(&rsp)) {
      if (client) removeSessionFailed()(client, seq, req);
      return;
    }
    if (client) relayToClient(client, seq, *answer);
    if (rsp.result_code() != 0 || rsp.session_type() != SESSION_TYPE_SINGLE) return;
    IM::Buddy::IMRemoveSessionNotify notify;
    notify.set_user_id(userId);
    notify.set_session_type(rsp.session_type());
    notify.set_session_id(rsp.session_id());
    const std::string out = net::encodePdu(SID_BUDDY_LIST, CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, 0, notify);
    server.deliverToUser(userId, out, origin);
    notifyRoute(server, out, CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY);
  };
  if (!ask(server, server.dbFor(userId), SID_BUDDY_LIST, CID_BUDDY_LIST_REMOVE_SESSION_REQ, req, conn, seq, onAnswer)) {
    removeSessionFailed()(conn, seq, req);
  }
}

// Every online client here hears of a new signature.
void deliverToAllClients(MsgServer& server, const std::string& pdu) {
  for (const auto& [id, c] : server.clients().connections()) {
    ClientSession* s = sessionOf(c);
    if (s && s->state == ClientSession::State::kOnline) c->sendRaw(pdu);
  }
}

void onChangeSignInfo(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu,
                      IM::Buddy::IMChangeSignInfoReq& req) {
  const uint32_t userId = userOf(conn);
  const uint16_t seq = pdu.seqNum();
  req.set_user_id(userId);
  auto onAnswer = [&server, req, seq, userId](const net::ImConnPtr& client, const net::ImPdu* answer) {
    IM::Buddy::IMChangeSignInfoRsp rsp;
    if (!answer || !answer->parse(&rsp)) {
      if (client) changeSignInfoFailed()(client, seq, req);
      return;
    }
    if (client) relayToClient(client, seq, *answer);
    if (rsp.result_code() != 0) return;
    IM::Buddy::IMSignInfoChangedNotify notify;
    notify.set_changed_user_id(userId);
    notify.set_sign_info(rsp.has_sign_info() ? rsp.sign_info() : req.sign_info());
    const std::string out = net::encodePdu(SID_BUDDY_LIST, CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, 0, notify);
    // route_server returns it to every msg_server, this one included; without route, only here.
    if (!server.sendToRoute(out)) deliverToAllClients(server, out);
  };
  if (!ask(server, server.dbFor(userId), SID_BUDDY_LIST, CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, req, conn, seq,
           onAnswer)) {
    changeSignInfoFailed()(conn, seq, req);
  }
}

}  // namespace

void registerBuddyHandlers(MsgServer& server) {
  relay<IM::Buddy::IMRecentContactSessionReq>(server, Upstream::kDb, SID_BUDDY_LIST,
                                              CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, stampUserId);
  relay<IM::Buddy::IMUsersInfoReq>(server, Upstream::kDb, SID_BUDDY_LIST, CID_BUDDY_LIST_USER_INFO_REQUEST,
                                   stampUserId);
  relay<IM::Buddy::IMAllUserReq>(server, Upstream::kDb, SID_BUDDY_LIST, CID_BUDDY_LIST_ALL_USER_REQUEST, stampUserId);
  relay<IM::Buddy::IMDepartmentReq>(server, Upstream::kDb, SID_BUDDY_LIST, CID_BUDDY_LIST_DEPARTMENT_REQUEST,
                                    stampUserId);
  relay<IM::Buddy::IMUsersStatReq>(server, Upstream::kRoute, SID_BUDDY_LIST, CID_BUDDY_LIST_USERS_STATUS_REQUEST,
                                   stampUserId);
  relay<IM::Buddy::IMChangeAvatarReq>(
      server, Upstream::kDb, SID_BUDDY_LIST, CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, stampUserId,
      failWith<IM::Buddy::IMChangeAvatarRsp>(SID_BUDDY_LIST, CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
                                             [](auto& rsp, const auto& req) { rsp.set_user_id(req.user_id()); }));

  auto& cmds = server.clientCommands();
  cmds.on<IM::Buddy::IMRemoveSessionReq>(
      CID_BUDDY_LIST_REMOVE_SESSION_REQ,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::Buddy::IMRemoveSessionReq& req) {
        onRemoveSession(server, c, pdu, req);
      });
  cmds.on<IM::Buddy::IMChangeSignInfoReq>(
      CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::Buddy::IMChangeSignInfoReq& req) {
        onChangeSignInfo(server, c, pdu, req);
      });

  auto& route = server.routeCommands();
  // The user removed a session on another msg_server: that user's connections here follow.
  route.on<IM::Buddy::IMRemoveSessionNotify>(
      CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
      [&server](const net::ImConnPtr&, const net::ImPdu&, IM::Buddy::IMRemoveSessionNotify& n) {
        server.deliverToUser(n.user_id(), net::encodePdu(SID_BUDDY_LIST, CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, 0, n));
      });
  route.on<IM::Buddy::IMSignInfoChangedNotify>(
      CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
      [&server](const net::ImConnPtr&, const net::ImPdu&, IM::Buddy::IMSignInfoChangedNotify& n) {
        deliverToAllClients(server, net::encodePdu(SID_BUDDY_LIST, CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, 0, n));
      });
}

}  // namespace tt::msg
