// IM.SwitchService (docs/PROTOCOL.md §2.7): CID_SWITCH_P2P_CMD 0x0601, opaque client-to-client
// signalling ("typing", file-transfer control). Delivered to the receiver's connections and to the
// sender's other devices, here and, through route_server, on every other msg_server.
#include <string>

#include "IM.BaseDefine.pb.h"
#include "IM.SwitchService.pb.h"
#include "msg_server/MsgServer.h"
#include "msg_server/handlers/Handlers.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

// Each user once: a command to oneself reaches one's other devices, not twice.
void deliverP2p(MsgServer& server, const IM::SwitchService::IMP2PCmdMsg& msg, net::ConnId except) {
  const std::string out = net::encodePdu(SID_SWITCH_SERVICE, CID_SWITCH_P2P_CMD, 0, msg);
  server.deliverToUser(msg.from_user_id(), out, except);
  if (msg.to_user_id() != msg.from_user_id()) server.deliverToUser(msg.to_user_id(), out, except);
}

}  // namespace

void registerSwitchHandlers(MsgServer& server) {
  server.clientCommands().on<IM::SwitchService::IMP2PCmdMsg>(
      CID_SWITCH_P2P_CMD,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::SwitchService::IMP2PCmdMsg& msg) {
        // The original forwarded the client's from_user_id unchecked: anyone could speak as anyone.
        msg.set_from_user_id(userOf(c));
        deliverP2p(server, msg, c->id());
        // Relayed PDUs keep the sender's seq on the server-to-server hop, as the original's did.
        notifyRoute(server, net::encodePdu(SID_SWITCH_SERVICE, CID_SWITCH_P2P_CMD, pdu.seqNum(), msg),
                    CID_SWITCH_P2P_CMD);
      });
  server.routeCommands().on<IM::SwitchService::IMP2PCmdMsg>(
      CID_SWITCH_P2P_CMD, [&server](const net::ImConnPtr&, const net::ImPdu&, IM::SwitchService::IMP2PCmdMsg& msg) {
        deliverP2p(server, msg, 0);
      });
}

}  // namespace tt::msg
