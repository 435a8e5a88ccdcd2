// Client requests answered by db_proxy without msg_server logic of their own: msg_server stamps the
// authenticated user id, forwards, and relays the answer. Also registers the families with a
// little logic of their own (buddy.cc, group.cc, file.cc, switch.cc) and holds their shared helpers.
//   CID_LOGIN_REQ_DEVICETOKEN 0x0108        C(mobile)->M->D; M answers at once, D's answer is logged
//   CID_LOGIN_REQ_PUSH_SHIELD 0x010c        C->M->D->M->C
//   CID_LOGIN_REQ_QUERY_PUSH_SHIELD 0x010e  C->M->D->M->C
//   CID_MSG_UNREAD_CNT_REQUEST 0x0307, CID_MSG_LIST_REQUEST 0x0309,
//   CID_MSG_GET_LATEST_MSG_ID_REQ 0x030b, CID_MSG_GET_BY_MSG_ID_REQ 0x030d   C->M->D->M->C
#include <string>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "msg_server/MsgServer.h"
#include "msg_server/handlers/Handlers.h"

namespace tt::msg {

using namespace IM::BaseDefine;

void relayToClient(const net::ImConnPtr& client, uint16_t seq, const net::ImPdu& answer) {
  std::string body;
  if (!stripAttach(answer.body, &body)) {
    spdlog::warn("answer {:#06x} for client {} is not a protobuf body; dropped", answer.commandId(), client->name());
    return;
  }
  client->sendRaw(net::encodePdu(answer.serviceId(), answer.commandId(), seq, body));
}

void notifyRoute(MsgServer& server, const std::string& pdu, uint16_t commandId) {
  if (!server.sendToRoute(pdu)) {
    spdlog::warn("command {:#06x} not relayed to the other msg_servers: no route_server link", commandId);
  }
}

void logUnanswered(const net::ImConnPtr& client, uint16_t commandId, std::string_view why) {
  spdlog::warn("client {} (user {}): command {:#06x} not served: {}", client->name(), userOf(client), commandId, why);
}

namespace {

// The device token is stored for pushes; the client is answered at once, as by the original, but
// with the required user_id the original left out. db_proxy's answer has nothing to tell anyone.
void onDeviceToken(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu,
                   IM::Login::IMDeviceTokenReq& req) {
  const ClientSession* s = sessionOf(conn);
  req.set_user_id(s->userId);
  // The session's client type decides the token's kind (ios:/android:), not the client's claim.
  req.set_client_type(static_cast<ClientType>(s->clientType));
  const bool sent = ask(server, server.dbFor(s->userId), SID_LOGIN, CID_LOGIN_REQ_DEVICETOKEN, req, conn, pdu.seqNum(),
                        [uid = s->userId](const net::ImConnPtr&, const net::ImPdu* answer) {
                          if (!answer) spdlog::warn("device token of user {}: db_proxy did not answer", uid);
                        });
  if (!sent) logUnanswered(conn, CID_LOGIN_REQ_DEVICETOKEN, "no db_proxy link; device token not stored");
  IM::Login::IMDeviceTokenRsp rsp;
  rsp.set_user_id(s->userId);
  conn->send(SID_LOGIN, CID_LOGIN_RES_DEVICETOKEN, pdu.seqNum(), rsp);
}

}  // namespace

void registerForwardHandlers(MsgServer& server) {
  server.clientCommands().on<IM::Login::IMDeviceTokenReq>(
      CID_LOGIN_REQ_DEVICETOKEN,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::Login::IMDeviceTokenReq& req) {
        onDeviceToken(server, c, pdu, req);
      });
  relay<IM::Login::IMPushShieldReq>(
      server, Upstream::kDb, SID_LOGIN, CID_LOGIN_REQ_PUSH_SHIELD, stampUserId,
      failWith<IM::Login::IMPushShieldRsp>(SID_LOGIN, CID_LOGIN_RES_PUSH_SHIELD,
                                           [](auto& rsp, const auto& req) { rsp.set_user_id(req.user_id()); }));
  relay<IM::Login::IMQueryPushShieldReq>(
      server, Upstream::kDb, SID_LOGIN, CID_LOGIN_REQ_QUERY_PUSH_SHIELD, stampUserId,
      failWith<IM::Login::IMQueryPushShieldRsp>(SID_LOGIN, CID_LOGIN_RES_QUERY_PUSH_SHIELD,
                                                [](auto& rsp, const auto& req) { rsp.set_user_id(req.user_id()); }));

  relay<IM::Message::IMUnreadMsgCntReq>(server, Upstream::kDb, SID_MSG, CID_MSG_UNREAD_CNT_REQUEST, stampUserId);
  relay<IM::Message::IMGetMsgListReq>(server, Upstream::kDb, SID_MSG, CID_MSG_LIST_REQUEST, stampUserId);
  relay<IM::Message::IMGetLatestMsgIdReq>(server, Upstream::kDb, SID_MSG, CID_MSG_GET_LATEST_MSG_ID_REQ, stampUserId);
  relay<IM::Message::IMGetMsgByIdReq>(server, Upstream::kDb, SID_MSG, CID_MSG_GET_BY_MSG_ID_REQ, stampUserId);

  registerBuddyHandlers(server);
  registerGroupHandlers(server);
  registerFileHandlers(server);
  registerSwitchHandlers(server);
}

}  // namespace tt::msg
