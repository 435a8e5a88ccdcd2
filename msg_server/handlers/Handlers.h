#pragma once
// Shared by the handler families that relay client requests upstream (forward.cc, buddy.cc,
// group.cc, file.cc, switch.cc). Every relayed request carries the authenticated user id, never
// the one the client wrote (docs/PROTOCOL.md §1.7: "msg_server overwrites user_id"), and its answer goes
// back to the asking connection with the client's seq and without our attach_data.
//
// When no upstream link is up the client hears at once: the protocol's failure form (result_code 1)
// where the response has a result code, else one log line. Nothing is queued.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "msg_server/MsgServer.h"

namespace tt::msg {

void registerBuddyHandlers(MsgServer& server);
void registerGroupHandlers(MsgServer& server);
void registerFileHandlers(MsgServer& server);
void registerSwitchHandlers(MsgServer& server);

// The user logged in on a client connection (the dispatcher's filter lets only online sessions
// reach these handlers).
inline uint32_t userOf(const net::ImConnPtr& conn) { return sessionOf(conn)->userId; }

// Sends an upstream answer to the client that asked: its seq, attach_data removed.
void relayToClient(const net::ImConnPtr& client, uint16_t seq, const net::ImPdu& answer);
// Sends a notify to the master route_server for the other msg_servers; one log line when no route
// link is up (the local part of the delivery has been done; nothing is queued).
void notifyRoute(MsgServer& server, const std::string& pdu, uint16_t commandId);
// One log line for a request that could not go out (no link up) or came back with nothing.
void logUnanswered(const net::ImConnPtr& client, uint16_t commandId, std::string_view why);

// Called with the requesting connection (null if it has gone) and the upstream answer (null when
// the link was lost or the answer took too long).
using AnswerHandler = std::function<void(const net::ImConnPtr& client, const net::ImPdu* answer)>;

// Sends req upstream on link on behalf of client/seq. With onAnswer the caller sees the answer and
// must relay it itself; without, MsgServer forwards it to the client. false: no link, nothing sent.
template <class Req>
bool ask(MsgServer& server, const net::ImConnPtr& link, uint16_t serviceId, uint16_t commandId, Req& req,
         const net::ImConnPtr& client, uint16_t seq, AnswerHandler onAnswer = nullptr) {
  Pending p;
  p.client = client->id();
  p.seq = seq;
  if (onAnswer) {
    std::weak_ptr<net::ImConn> weak = client;
    p.onReply = [weak, onAnswer = std::move(onAnswer)](const net::ImPdu* answer) {
      net::ImConnPtr c = weak.lock();
      if (c && !c->connected()) c.reset();
      onAnswer(c, answer);
    };
  }
  return server.request(link, serviceId, commandId, req, std::move(p));
}

// Answers the client with the failure form of a response (result_code 1) built from the request.
template <class Req>
using FailureAnswer = std::function<void(const net::ImConnPtr& client, uint16_t seq, const Req& req)>;

// FailureAnswer that sends Rsp{result_code 1} after fill(rsp, req) has set its other required fields.
template <class Rsp, class Fill>
auto failWith(uint16_t serviceId, uint16_t commandId, Fill fill) {
  return [serviceId, commandId, fill](const net::ImConnPtr& client, uint16_t seq, const auto& req) {
    Rsp rsp;
    rsp.set_result_code(1);
    fill(rsp, req);
    client->send(serviceId, commandId, seq, rsp);
  };
}

// Stamps the common case: the request's user_id field.
inline constexpr auto stampUserId = [](auto& req, uint32_t userId) { req.set_user_id(userId); };

enum class Upstream { kDb, kRoute };

inline net::ImConnPtr linkFor(MsgServer& server, Upstream to, uint32_t userId) {
  return to == Upstream::kDb ? server.dbFor(userId) : server.route().first();
}

// The plain case: client command Req -> stamp(req, user) -> upstream -> answer to the client.
// With fail, the client also hears the failure form when the request is lost on the way (link
// down, timeout); without, those are logged by MsgServer.
template <class Req, class Stamp>
void relay(MsgServer& server, Upstream to, uint16_t serviceId, uint16_t commandId, Stamp stamp,
           FailureAnswer<Req> fail = nullptr) {
  server.clientCommands().on<Req>(commandId, [&server, to, serviceId, commandId, stamp, fail](
                                                 const net::ImConnPtr& conn, const net::ImPdu& pdu, Req& req) {
    const uint32_t userId = userOf(conn);
    const uint16_t seq = pdu.seqNum();
    stamp(req, userId);
    AnswerHandler onAnswer;
    if (fail) {
      onAnswer = [fail, seq, req](const net::ImConnPtr& client, const net::ImPdu* answer) {
        if (!client) return;
        if (answer) {
          relayToClient(client, seq, *answer);
        } else {
          fail(client, seq, req);
        }
      };
    }
    if (ask(server, linkFor(server, to, userId), serviceId, commandId, req, conn, seq, std::move(onAnswer))) return;
    if (fail) {
      fail(conn, seq, req);
    } else {
      logUnanswered(conn, commandId, to == Upstream::kDb ? "no db_proxy link" : "no route_server link");
    }
  });
}

}  // namespace tt::msg
