#include "route_server/RouteServer.h"

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "IM.SwitchService.pb.h"
#include "netlib/PduMetrics.h"
#include "proto/InternalCommands.h"

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
  c.echoHeartbeat = false;  // ...and swallows the msg_server's (docs/PROTOCOL.md §3.11)
  c.maxOutputBytes = o.maxOutputBytes;
  c.metrics = &net::PduMetrics::forLink("msg_server");
  return c;
}

// Counters are found once (Family::with() takes a mutex) and then bumped on the loop with one
// relaxed atomic. Label values come from fixed lists, never from the wire.
metrics::Counter& routedCounter(uint16_t commandId) {
  static metrics::Family<metrics::Counter>& f = metrics::Registry::global().counterFamily(
      "ttsuite_route_routed_total", "PDUs received from msg_servers to be routed, by what they carry.", {"what"});
  static metrics::Counter& message = f.with({"message"});
  static metrics::Counter& p2p = f.with({"p2p_cmd"});
  static metrics::Counter& readNotify = f.with({"read_notify"});
  static metrics::Counter& kick = f.with({"kick"});
  static metrics::Counter& groupMembers = f.with({"group_member_change"});
  static metrics::Counter& fileNotify = f.with({"file_notify"});
  static metrics::Counter& removeSession = f.with({"remove_session"});
  static metrics::Counter& signInfo = f.with({"sign_info"});
  static metrics::Counter& other = f.with({"other"});
  switch (commandId) {
    case bd::CID_MSG_DATA: return message;
    case bd::CID_SWITCH_P2P_CMD: return p2p;
    case bd::CID_MSG_READ_NOTIFY: return readNotify;
    case bd::CID_OTHER_SERVER_KICK_USER: return kick;
    case bd::CID_GROUP_CHANGE_MEMBER_NOTIFY: return groupMembers;
    case bd::CID_FILE_NOTIFY: return fileNotify;
    case bd::CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY: return removeSession;
    case bd::CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY: return signInfo;
    default: return other;
  }
}

metrics::Counter& forwardedCopies() {
  static metrics::Counter& c = metrics::Registry::global().counter(
      "ttsuite_route_forwarded_copies_total", "Copies of routed PDUs written to msg_servers (one per target link).");
  return c;
}

metrics::Family<metrics::Counter>& droppedFamily() {
  static metrics::Family<metrics::Counter>& f = metrics::Registry::global().counterFamily(
      "ttsuite_route_dropped_total",
      "PDUs from msg_servers not acted on, by reason: no_target (no other msg_server holds their users, normal "
      "for offline users), unknown_command, stale_offline (OFFLINE for a client never reported online).",
      {"reason"});
  return f;
}

metrics::Counter& presenceCounter(PresenceEvent::Kind k) {
  static metrics::Family<metrics::Counter>& f = metrics::Registry::global().counterFamily(
      "ttsuite_route_presence_events_total", "Presence notifies broadcast to every msg_server, by event.", {"event"});
  static metrics::Counter* const table[4] = {&f.with({"online"}), &f.with({"offline"}), &f.with({"pc_login_on"}),
                                             &f.with({"pc_login_off"})};  // in PresenceEvent::Kind order
  return *table[static_cast<int>(k)];
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
  registerMetrics();
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

// Scrape-time gauges: they read loop-thread state, and scrapes run on this loop.
void RouteServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  metricHandles_.push_back(metrics::connectionsGauge("route_server", [this] {
    return std::vector<std::pair<std::string, double>>{{"msg_server", double(server_.size())}};
  }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_route_online_users", "Users with at least one client (any type) on some msg_server, as reported here.",
      metrics::Type::kGauge, {}, [this] { return std::vector<Sample>{{{}, double(table_.userCount())}}; }));
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
          static metrics::Counter& stale = droppedFamily().with({"stale_offline"});
          stale.inc();
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
        const bool anyDevice = m.user_id() == tt::internal::kAnyDeviceStatQuery;
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

  // Every msg_server including the sender's: each tells all its clients (docs/PROTOCOL.md §4.3). The
  // original's missing `break` also ran the group-notify handler here; this does not.
  dispatcher_.on<IM::Buddy::IMSignInfoChangedNotify>(
      bd::CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
      [this](const ImConnPtr&, const ImPdu& pdu, IM::Buddy::IMSignInfoChangedNotify&) {
        static metrics::Counter& routed = routedCounter(bd::CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY);
        routed.inc();
        forwardedCopies().inc(server_.size());
        const std::string bytes = pdu.serialize();
        for (const auto& [id, conn] : server_.connections()) conn->sendRaw(std::string_view(bytes));
      });

  dispatcher_.setUnknownHandler([](const ImConnPtr& c, const ImPdu& pdu) {
    static metrics::Counter& unknown = droppedFamily().with({"unknown_command"});
    unknown.inc();
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
  // Every routed PDU passes here once, whatever its handler: the one place to count them.
  static metrics::Counter& noTarget = droppedFamily().with({"no_target"});
  spdlog::debug("{:#06x} seq {} from {} -> {} links", pdu.commandId(), pdu.seqNum(), from->name(), links.size());
  routedCounter(pdu.commandId()).inc();
  if (links.empty()) {
    noTarget.inc();
    return;
  }
  const std::string bytes = pdu.serialize();
  size_t copies = 0;
  for (LinkId id : links) {
    if (ImConnPtr conn = server_.find(id)) {
      conn->sendRaw(std::string_view(bytes));
      ++copies;
    }
  }
  forwardedCopies().inc(copies);
}

void RouteServer::broadcastPresence(const std::vector<PresenceEvent>& events) {
  if (events.empty()) return;
  std::string bytes;
  for (const PresenceEvent& e : events) {
    presenceCounter(e.kind).inc();
    spdlog::debug("user {}: {}", e.userId, eventName(e.kind));
    bytes += encodeEvent(e);
  }
  for (const auto& [id, conn] : server_.connections()) conn->sendRaw(std::string_view(bytes));
}

}  // namespace tt::route
