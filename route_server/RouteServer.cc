#include "route_server/RouteServer.h"

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "IM.SwitchService.pb.h"

namespace tt::route {

namespace bd = IM::BaseDefine;
using net::ImConnPtr;
using net::ImPdu;

namespace {
net::ImConnOptions connOptions(const RouteOptions& o) {
  net::ImConnOptions c;
  c.maxPduSize = o.maxPduSize;
  c.heartbeatIntervalMs = o.heartbeatIntervalMs;  // route sends its own heartbeat when idle...
  c.timeoutMs = o.timeoutMs;
  c.echoHeartbeat = false;  // ...and swallows the msg_server's (PROTOCOL.md §4.i)
  c.maxOutputBytes = o.maxOutputBytes;
  return c;
}

std::string encodeEvent(const PresenceEvent& e) {
  using Kind = PresenceEvent::Kind;
  if (e.kind == Kind::kStatOnline || e.kind == Kind::kStatOffline) {
    IM::Buddy::IMUserStatNotify notify;
    notify.mutable_user_stat()->set_user_id(e.userId);
    notify.mutable_user_stat()->set_status(e.kind == Kind::kStatOnline ? bd::USER_STATUS_ONLINE
                                                                       : bd::USER_STATUS_OFFLINE);
    return net::encodePdu(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_STATUS_NOTIFY, 0, notify);
  }
  IM::Server::IMServerPCLoginStatusNotify notify;
  notify.set_user_id(e.userId);
  notify.set_login_status(e.kind == Kind::kPcLoginOn ? 1 : 0);
  return net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_LOGIN_STATUS_NOTIFY, 0, notify);
}

const char* eventName(PresenceEvent::Kind k) {
  switch (k) {
    case PresenceEvent::Kind::kStatOnline: return "status ONLINE";
    case PresenceEvent::Kind::kStatOffline: return "status OFFLINE";
    case PresenceEvent::Kind::kPcLoginOn: return "pc-login 1";
    case PresenceEvent::Kind::kPcLoginOff: return "pc-login 0";
  }
  return "?";
}
}  // namespace

RouteServer::RouteServer(net::EventDispatch* loop, const RouteOptions& options)
    : options_(options), server_(loop, "route", connOptions(options)) {
  server_.setPduHandler([this](const ImConnPtr& c, const ImPdu& pdu) { dispatcher_.dispatch(c, pdu); });
  server_.setConnectHandler([this](const ImConnPtr& c) { onConnect(c); });
  server_.setCloseHandler([this](const ImConnPtr& c) { onClose(c); });
  registerHandlers();
}

RouteServer::~RouteServer() = default;

bool RouteServer::start(std::string* err) {
  return server_.listen(options_.listenIps, options_.listenPort, options_.backlog, err);
}

void RouteServer::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: closing {} msg_server links ({} users known)", server_.size(), table_.userCount());
  server_.stopAccepting();
  server_.closeAll();
}

void RouteServer::onConnect(const ImConnPtr& conn) {
  spdlog::info("msg_server {} connected ({} links)", conn->name(), server_.size());
}

void RouteServer::onClose(const ImConnPtr& conn) {
  const size_t users = table_.usersOn(conn->id()).size();
  std::vector<PresenceEvent> events = table_.removeLink(conn->id());
  spdlog::info("msg_server {} disconnected: {} users dropped, {} presence changes", conn->name(), users,
               events.size());
  if (!stopping_) broadcastPresence(events);
}

void RouteServer::registerHandlers() {
  // --- bookkeeping (consumed) ---
  dispatcher_.on<IM::Server::IMRoleSet>(
      bd::CID_OTHER_ROLE_SET, [](const ImConnPtr& c, const ImPdu&, IM::Server::IMRoleSet& m) {
        // Which route_server a msg_server treats as master is its business; every route_server
        // routes whatever it is sent.
        spdlog::info("msg_server {} calls this route_server {} (ignored)", c->name(), m.master() ? "master" : "slave");
      });

  dispatcher_.on<IM::Server::IMOnlineUserInfo>(
      bd::CID_OTHER_ONLINE_USER_INFO, [this](const ImConnPtr& c, const ImPdu&, IM::Server::IMOnlineUserInfo& m) {
        std::vector<ClientEntry> clients;
        clients.reserve(static_cast<size_t>(m.user_stat_list_size()));
        for (const auto& s : m.user_stat_list()) clients.push_back({s.user_id(), static_cast<uint32_t>(s.client_type()),
                                                                   static_cast<uint32_t>(s.status())});
        std::vector<PresenceEvent> events = table_.replaceLink(c->id(), clients);
        spdlog::info("msg_server {} reports {} online clients: now holds {} users, {} presence changes", c->name(),
                     clients.size(), table_.usersOn(c->id()).size(), events.size());
        broadcastPresence(events);
      });

  dispatcher_.on<IM::Server::IMUserStatusUpdate>(
      bd::CID_OTHER_USER_STATUS_UPDATE,
      [this](const ImConnPtr& c, const ImPdu&, IM::Server::IMUserStatusUpdate& m) {
        const auto type = static_cast<uint32_t>(m.client_type());
        UpdateResult r = table_.update(c->id(), m.user_id(), m.user_status(), type);
        if (!r.applied) {
          spdlog::warn("msg_server {}: OFFLINE for user {} client type {:#04x} it never reported online; ignored",
                       c->name(), m.user_id(), type);
          return;
        }
        spdlog::debug("msg_server {}: user {} client type {:#04x} status {} ({} clients, {} PC)", c->name(),
                      m.user_id(), type, m.user_status(), table_.clientCount(m.user_id()),
                      table_.pcClientCount(m.user_id()));
        broadcastPresence(r.events);
      });

  dispatcher_.on<IM::Buddy::IMUsersStatReq>(
      bd::CID_BUDDY_LIST_USERS_STATUS_REQUEST,
      [this](const ImConnPtr& c, const ImPdu& pdu, IM::Buddy::IMUsersStatReq& m) {
        IM::Buddy::IMUsersStatRsp rsp;
        rsp.set_user_id(m.user_id());
        // TeamTalk's answer is ONLINE only for a PC client; msg_server's push path asks with the
        // any-device marker instead ("is any client of this user up anywhere?").
        const bool anyDevice = m.user_id() == kAnyDeviceStatQuery;
        for (uint32_t id : m.user_id_list()) {
          bd::UserStat* s = rsp.add_user_stat_list();
          s->set_user_id(id);
          const bool online = anyDevice ? table_.clientCount(id) > 0 : table_.pcOnline(id);
          s->set_status(online ? bd::USER_STATUS_ONLINE : bd::USER_STATUS_OFFLINE);
        }
        if (m.has_attach_data()) rsp.set_attach_data(m.attach_data());
        c->send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USERS_STATUS_RESPONSE, pdu.seqNum(), rsp);
      });

  // --- routed by user ---
  dispatcher_.on<IM::Message::IMMsgData>(
      bd::CID_MSG_DATA, [this](const ImConnPtr& c, const ImPdu& pdu, IM::Message::IMMsgData& m) {
        switch (m.msg_type()) {
          case bd::MSG_TYPE_SINGLE_TEXT:
          case bd::MSG_TYPE_SINGLE_AUDIO:
            // The receiver's connections, and the sender's other devices.
            forwardToUsers(c, pdu, {m.to_session_id(), m.from_user_id()});
            break;
          case bd::MSG_TYPE_GROUP_TEXT:
          case bd::MSG_TYPE_GROUP_AUDIO:
            forwardToPopulatedLinks(c, pdu);
            break;
        }
      });

  dispatcher_.on<IM::SwitchService::IMP2PCmdMsg>(
      bd::CID_SWITCH_P2P_CMD, [this](const ImConnPtr& c, const ImPdu& pdu, IM::SwitchService::IMP2PCmdMsg& m) {
        forwardToUsers(c, pdu, {m.from_user_id(), m.to_user_id()});
      });

  dispatcher_.on<IM::Message::IMMsgDataReadNotify>(
      bd::CID_MSG_READ_NOTIFY, [this](const ImConnPtr& c, const ImPdu& pdu, IM::Message::IMMsgDataReadNotify& m) {
        forwardToUsers(c, pdu, {m.user_id()});
      });

  dispatcher_.on<IM::Server::IMServerKickUser>(
      bd::CID_OTHER_SERVER_KICK_USER, [this](const ImConnPtr& c, const ImPdu& pdu, IM::Server::IMServerKickUser& m) {
        forwardToUsers(c, pdu, {m.user_id()});
      });

  dispatcher_.on<IM::Group::IMGroupChangeMemberNotify>(
      bd::CID_GROUP_CHANGE_MEMBER_NOTIFY,
      [this](const ImConnPtr& c, const ImPdu& pdu, IM::Group::IMGroupChangeMemberNotify& m) {
        std::vector<uint32_t> users(m.cur_user_id_list().begin(), m.cur_user_id_list().end());
        users.insert(users.end(), m.chg_user_id_list().begin(), m.chg_user_id_list().end());
        forwardToUsers(c, pdu, users);
      });

  dispatcher_.on<IM::File::IMFileNotify>(
      bd::CID_FILE_NOTIFY, [this](const ImConnPtr& c, const ImPdu& pdu, IM::File::IMFileNotify& m) {
        forwardToUsers(c, pdu, {m.to_user_id(), m.from_user_id()});
      });

  dispatcher_.on<IM::Buddy::IMRemoveSessionNotify>(
      bd::CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
      [this](const ImConnPtr& c, const ImPdu& pdu, IM::Buddy::IMRemoveSessionNotify& m) {
        forwardToUsers(c, pdu, {m.user_id()});
      });

  // Every msg_server including the sender's: each tells all its clients (PROTOCOL.md §2). The
  // original's missing `break` also ran the group-notify handler here; this does not.
  dispatcher_.on<IM::Buddy::IMSignInfoChangedNotify>(
      bd::CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
      [this](const ImConnPtr&, const ImPdu& pdu, IM::Buddy::IMSignInfoChangedNotify&) {
        const std::string bytes = pdu.serialize();
        for (const auto& [id, conn] : server_.connections()) conn->sendRaw(std::string_view(bytes));
      });

  dispatcher_.setUnknownHandler([](const ImConnPtr& c, const ImPdu& pdu) {
    spdlog::warn("msg_server {}: command {:#06x} (seq {}, {} bytes) is not routed; dropped", c->name(),
                 pdu.commandId(), pdu.seqNum(), pdu.body.size());
  });
}

void RouteServer::forwardToUsers(const ImConnPtr& from, const ImPdu& pdu, const std::vector<uint32_t>& users) {
  forwardTo(table_.linksHoldingAny(users, from->id()), from, pdu);
}

void RouteServer::forwardToPopulatedLinks(const ImConnPtr& from, const ImPdu& pdu) {
  forwardTo(table_.linksWithUsers(from->id()), from, pdu);
}

void RouteServer::forwardTo(const std::vector<LinkId>& links, const ImConnPtr& from, const ImPdu& pdu) {
  spdlog::debug("{:#06x} seq {} from {} -> {} links", pdu.commandId(), pdu.seqNum(), from->name(), links.size());
  if (links.empty()) return;
  const std::string bytes = pdu.serialize();
  for (LinkId id : links) {
    if (ImConnPtr conn = server_.find(id)) conn->sendRaw(std::string_view(bytes));
  }
}

void RouteServer::broadcastPresence(const std::vector<PresenceEvent>& events) {
  if (events.empty()) return;
  std::string bytes;
  for (const PresenceEvent& e : events) {
    spdlog::debug("user {}: {}", e.userId, eventName(e.kind));
    bytes += encodeEvent(e);
  }
  for (const auto& [id, conn] : server_.connections()) conn->sendRaw(std::string_view(bytes));
}

}  // namespace tt::route
