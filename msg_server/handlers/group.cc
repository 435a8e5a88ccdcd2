// IM.Group client commands (docs/PROTOCOL.md §2.5, §3.8) and the member-change notify from route_server.
//   NORMAL_LIST_REQUEST 0x0401, INFO_REQUEST 0x0403, SHIELD_GROUP_REQUEST 0x0409   C->M->D->M->C
//   CREATE_REQUEST 0x0405          clients may create temporary groups only (type 1 is refused here)
//   CHANGE_MEMBER_REQUEST 0x0407   answer, then IMGroupChangeMemberNotify 0x040b to the current and
//                                  changed members here and, through route, elsewhere; the member
//                                  cache follows the change without asking db_proxy again
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "msg_server/MsgServer.h"
#include "msg_server/handlers/Handlers.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

auto createFailed() {
  return failWith<IM::Group::IMGroupCreateRsp>(SID_GROUP, CID_GROUP_CREATE_RESPONSE,
                                               [](auto& rsp, const IM::Group::IMGroupCreateReq& req) {
                                                 rsp.set_user_id(req.user_id());
                                                 rsp.set_group_name(req.group_name());
                                               });
}

auto changeMemberFailed() {
  return failWith<IM::Group::IMGroupChangeMemberRsp>(SID_GROUP, CID_GROUP_CHANGE_MEMBER_RESPONSE,
                                                     [](auto& rsp, const IM::Group::IMGroupChangeMemberReq& req) {
                                                       rsp.set_user_id(req.user_id());
                                                       rsp.set_change_type(req.change_type());
                                                       rsp.set_group_id(req.group_id());
                                                     });
}

std::vector<uint32_t> idList(const google::protobuf::RepeatedField<uint32_t>& ids) {
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

// A notify goes to the current members and to the added / removed ones, each user once.
void deliverMemberChange(MsgServer& server, const IM::Group::IMGroupChangeMemberNotify& n, net::ConnId except) {
  std::set<uint32_t> users(n.cur_user_id_list().begin(), n.cur_user_id_list().end());
  users.insert(n.chg_user_id_list().begin(), n.chg_user_id_list().end());
  const std::string out = net::encodePdu(SID_GROUP, CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, n);
  for (uint32_t uid : users) server.deliverToUser(uid, out, except);
}

void onCreate(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu, IM::Group::IMGroupCreateReq& req) {
  req.set_user_id(userOf(conn));
  const uint16_t seq = pdu.seqNum();
  // Normal groups are the administrator's (http_msg_server / web admin); the original dropped
  // such a request silently, which left the client waiting. It hears a refusal instead.
  if (req.group_type() != GROUP_TYPE_TMP) {
    spdlog::info("client {} (user {}): group of type {} refused; clients create temporary groups only", conn->name(),
                 req.user_id(), static_cast<int>(req.group_type()));
    return createFailed()(conn, seq, req);
  }
  auto onAnswer = [req, seq](const net::ImConnPtr& client, const net::ImPdu* answer) {
    if (!client) return;
    if (answer) return relayToClient(client, seq, *answer);
    createFailed()(client, seq, req);
  };
  if (!ask(server, server.dbFor(req.user_id()), SID_GROUP, CID_GROUP_CREATE_REQUEST, req, conn, seq, onAnswer)) {
    createFailed()(conn, seq, req);
  }
}

void onChangeMember(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu,
                    IM::Group::IMGroupChangeMemberReq& req) {
  const uint32_t userId = userOf(conn);
  const uint16_t seq = pdu.seqNum();
  const net::ConnId origin = conn->id();
  req.set_user_id(userId);
  auto onAnswer = [&server, req, seq, userId, origin](const net::ImConnPtr& client, const net::ImPdu* answer) {
    IM::Group::IMGroupChangeMemberRsp rsp;
    if (!answer || !answer->parse(&rsp)) {
      if (client) changeMemberFailed()(client, seq, req);
      return;
    }
    if (client) relayToClient(client, seq, *answer);
    if (rsp.result_code() != 0) return;
    // The change is made whether or not the requester is still connected: members hear it.
    IM::Group::IMGroupChangeMemberNotify notify;
    notify.set_user_id(userId);
    notify.set_change_type(rsp.change_type());
    notify.set_group_id(rsp.group_id());
    *notify.mutable_cur_user_id_list() = rsp.cur_user_id_list();
    *notify.mutable_chg_user_id_list() = rsp.chg_user_id_list();
    server.groups().set(rsp.group_id(), idList(rsp.cur_user_id_list()));
    notifyRoute(server, net::encodePdu(SID_GROUP, CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, notify),
                CID_GROUP_CHANGE_MEMBER_NOTIFY);
    deliverMemberChange(server, notify, origin);
  };
  if (!ask(server, server.dbFor(userId), SID_GROUP, CID_GROUP_CHANGE_MEMBER_REQUEST, req, conn, seq, onAnswer)) {
    changeMemberFailed()(conn, seq, req);
  }
}

}  // namespace

void registerGroupHandlers(MsgServer& server) {
  relay<IM::Group::IMNormalGroupListReq>(server, Upstream::kDb, SID_GROUP, CID_GROUP_NORMAL_LIST_REQUEST, stampUserId);
  relay<IM::Group::IMGroupInfoListReq>(server, Upstream::kDb, SID_GROUP, CID_GROUP_INFO_REQUEST, stampUserId);
  relay<IM::Group::IMGroupShieldReq>(
      server, Upstream::kDb, SID_GROUP, CID_GROUP_SHIELD_GROUP_REQUEST, stampUserId,
      failWith<IM::Group::IMGroupShieldRsp>(SID_GROUP, CID_GROUP_SHIELD_GROUP_RESPONSE, [](auto& rsp, const auto& req) {
        rsp.set_user_id(req.user_id());
        rsp.set_group_id(req.group_id());
      }));

  auto& cmds = server.clientCommands();
  cmds.on<IM::Group::IMGroupCreateReq>(
      CID_GROUP_CREATE_REQUEST,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::Group::IMGroupCreateReq& req) {
        onCreate(server, c, pdu, req);
      });
  cmds.on<IM::Group::IMGroupChangeMemberReq>(
      CID_GROUP_CHANGE_MEMBER_REQUEST,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::Group::IMGroupChangeMemberReq& req) {
        onChangeMember(server, c, pdu, req);
      });

  // A member change made through another msg_server.
  server.routeCommands().on<IM::Group::IMGroupChangeMemberNotify>(
      CID_GROUP_CHANGE_MEMBER_NOTIFY,
      [&server](const net::ImConnPtr&, const net::ImPdu&, IM::Group::IMGroupChangeMemberNotify& n) {
        server.groups().set(n.group_id(), idList(n.cur_user_id_list()));
        deliverMemberChange(server, n, 0);
      });
}

}  // namespace tt::msg
