// SID_MSG handlers except storing (MessageStore owns CID_MSG_DATA): read acks, unread counts,
// history, messages by id and the latest id of a conversation (docs/PROTOCOL.md §3.4–§3.6).
//
// Visibility is the same for every read: a 1:1 conversation is the relation of (me, peer) — no
// relation, nothing to see; a group conversation is visible to active members only (member row
// and group both status 0), and only from the member's join time (IMGroupMember.created) on.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/Relations.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;
namespace Msg = IM::Message;

constexpr int kAcquireTimeoutMs = 2000;
// A history page is one round trip's worth for a client; a larger msg_cnt is cut to this.
constexpr uint32_t kMaxListCount = 200;
// IMGetMsgByIdRsp carries at most 100 messages (docs/PROTOCOL.md §3.6).
constexpr size_t kMaxByIdCount = 100;

using rediskey::groupReadKey;
using rediskey::unreadKey;

template <class T>
std::optional<T> parseNumber(const std::string& s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Counts travel as uint32; a corrupt or huge counter saturates instead of wrapping around.
uint32_t clampU32(uint64_t v) {
  return v > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(v);
}
uint32_t saturatingAdd(uint32_t a, uint32_t b) { return clampU32(uint64_t{a} + b); }

// Runs body; a storage failure is logged in one line and reported as false, so the caller answers
// with the protocol's failure form instead of leaving the peer waiting.
template <class F>
bool guarded(const char* what, uint32_t user, F&& body) {
  try {
    body();
    return true;
  } catch (const db::DbError& e) {
    spdlog::error("{} for user {} failed: {}", what, user, e.what());
  } catch (const db::RedisError& e) {
    spdlog::error("{} for user {} failed: {}", what, user, e.what());
  }
  return false;
}

// ---- conversations ---------------------------------------------------------------------------

// Where one conversation's messages live, and what the requester may see of them.
struct Conversation {
  bool group = false;
  uint32_t id = 0;           // relateId or group id; 0 = nothing the requester may see
  uint32_t visibleFrom = 0;  // group: the member's join time (earlier messages stay hidden)
  std::string table;

  bool visible() const { return id != 0; }
  // The two shard kinds name their columns differently; the SQL below is otherwise the same.
  const char* keyColumn() const { return group ? "groupId" : "relateId"; }
  const char* senderColumn() const { return group ? "userId" : "fromId"; }
};

// The active membership of user in group: (join time, group's msgSeq), or nullopt.
std::optional<db::DbRow> activeMembership(db::MysqlConn& conn, uint32_t group, uint32_t user) {
  return conn.queryOne(
      "SELECT m.created, g.msgSeq FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
      "WHERE m.groupId = ? AND m.userId = ? AND m.status = 0 AND g.status = 0",
      {group, user});
}

Conversation singleConversation(DbContext& ctx, db::MysqlConn& conn, uint32_t me, uint32_t peer) {
  Conversation c;
  // Nobody has a conversation with themselves (MessageStore refuses self-messages).
  if (me == 0 || peer == 0 || me == peer) return c;
  c.id = ctx.relations.get(conn, me, peer, false);
  if (c.visible()) c.table = messageTable(c.id);
  return c;
}

Conversation groupConversation(db::MysqlConn& conn, uint32_t me, uint32_t group) {
  Conversation c;
  c.group = true;
  auto member = activeMembership(conn, group, me);
  if (!member) return c;
  c.id = group;
  c.visibleFrom = member->u32(0);
  c.table = groupMessageTable(group);
  return c;
}

Conversation resolveConversation(DbContext& ctx, db::MysqlConn& conn, uint32_t me, BD::SessionType type,
                                 uint32_t session) {
  return type == BD::SESSION_TYPE_GROUP ? groupConversation(conn, me, session)
                                        : singleConversation(ctx, conn, me, session);
}

// ---- message rows ----------------------------------------------------------------------------

// Every message query selects these columns, in this order.
std::string messageColumns(const Conversation& c) {
  return std::string("SELECT msgId, ") + c.senderColumn() + ", created, type, content FROM " + c.table;
}
enum MessageColumn { kMsgId = 0, kSender, kCreated, kType, kContent };

// Rows of a type outside the proto's enum are skipped: a client rejects the whole response.
bool validMessageType(const db::DbRow& row) {
  const uint32_t type = row.u32(kType);
  if (BD::MsgType_IsValid(static_cast<int>(type))) return true;
  spdlog::warn("message {} has type {}, outside MsgType: skipped", row.u32(kMsgId), type);
  return false;
}

void appendMessages(const db::DbRows& rows, google::protobuf::RepeatedPtrField<BD::MsgInfo>* out) {
  for (const auto& row : rows) {
    if (!validMessageType(row)) continue;
    BD::MsgInfo* info = out->Add();
    info->set_msg_id(row.u32(kMsgId));
    info->set_from_session_id(row.u32(kSender));
    info->set_create_time(row.u32(kCreated));
    info->set_msg_type(static_cast<BD::MsgType>(row.u32(kType)));
    info->set_msg_data(row.str(kContent));
  }
}

// Newest first, msgId <= maxMsgId, at most limit rows.
db::DbRows historyPage(db::MysqlConn& conn, const Conversation& c, uint32_t maxMsgId, uint32_t limit) {
  // Ids grow with time within a conversation, so msgId order is creation order (and is what the
  // (key, status, msgId) index serves). For 1:1 chats visibleFrom is 0 and filters nothing.
  return conn.query(messageColumns(c) + " WHERE " + c.keyColumn() +
                        " = ? AND status = 0 AND created >= ? AND msgId <= ? ORDER BY msgId DESC LIMIT ?",
                    {c.id, c.visibleFrom, maxMsgId, limit});
}

// The listed ids (deduplicated, zeros dropped, at most kMaxByIdCount), newest first.
db::DbRows queryMessagesById(db::MysqlConn& conn, const Conversation& c, const std::vector<uint32_t>& ids) {
  if (ids.empty()) return {};
  // The placeholder count is rounded up to a power of two (padding with a repeated id, which IN
  // ignores), so a connection caches a handful of statement texts per table, not one per length.
  size_t slots = 1;
  while (slots < ids.size()) slots *= 2;
  slots = std::min(slots, kMaxByIdCount);
  std::string sql = messageColumns(c) + " WHERE " + c.keyColumn() + " = ? AND status = 0 AND created >= ? AND msgId IN (";
  std::vector<db::DbValue> params{c.id, c.visibleFrom};
  for (size_t i = 0; i < slots; ++i) {
    sql += i ? ", ?" : "?";
    params.emplace_back(i < ids.size() ? ids[i] : ids.front());
  }
  sql += ") ORDER BY msgId DESC";
  return conn.query(sql, params);
}

std::vector<uint32_t> requestedIds(const google::protobuf::RepeatedField<uint32_t>& list) {
  std::vector<uint32_t> ids;
  for (uint32_t id : list) {
    if (id == 0 || std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    ids.push_back(id);
    if (ids.size() == kMaxByIdCount) break;
  }
  return ids;
}

// The newest message of the conversation (regardless of the join time), or nullopt.
std::optional<db::DbRow> latestMessage(db::MysqlConn& conn, const Conversation& c) {
  return conn.queryOne(messageColumns(c) + " WHERE " + c.keyColumn() + " = ? AND status = 0 ORDER BY msgId DESC LIMIT 1",
                       {c.id});
}

uint32_t latestMessageId(db::MysqlConn& conn, const Conversation& c) {
  auto row = conn.queryOne(std::string("SELECT msgId FROM ") + c.table + " WHERE " + c.keyColumn() +
                               " = ? AND status = 0 ORDER BY msgId DESC LIMIT 1",
                           {c.id});
  return row ? row->u32(0) : 0;
}

// ---- CID_MSG_READ_ACK ------------------------------------------------------------------------

void handleReadAck(DbContext& ctx, const Msg::IMMsgDataReadAck& ack) {
  const uint32_t me = ack.user_id(), session = ack.session_id();
  if (ack.session_type() == BD::SESSION_TYPE_SINGLE) {
    // Read is per session, as in the original: the whole counter goes, whatever msg_id says.
    auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
    redis->hdel(unreadKey(me), {std::to_string(session)});
    return;
  }
  // The group's msgSeq is read on the master: this read decides a write, and a lagging slave
  // would leave just-read messages counted as unread.
  uint64_t seq = 0;
  {
    auto db = ctx.storage.master().acquire(kAcquireTimeoutMs);
    auto member = activeMembership(*db, session, me);
    if (!member) {
      spdlog::info("read ack from {} for group {}: not a member, ignored", me, session);
      return;
    }
    seq = member->u64(1);
  }
  auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
  redis->hset(groupReadKey(me, session), rediskey::kGroupReadField, std::to_string(seq));
}

// ---- CID_MSG_UNREAD_CNT_REQUEST --------------------------------------------------------------

void fillUnreadInfo(BD::UnreadInfo* info, uint32_t session, BD::SessionType type, uint32_t count,
                    const db::DbRow& latest) {
  info->set_session_id(session);
  info->set_session_type(type);
  info->set_unread_cnt(count);
  info->set_latest_msg_id(latest.u32(kMsgId));
  info->set_latest_msg_data(latest.str(kContent));
  info->set_latest_msg_type(static_cast<BD::MsgType>(latest.u32(kType)));
  // CHANGE: the real sender for 1:1 chats too (the original always sent the peer id).
  info->set_latest_msg_from_user_id(latest.u32(kSender));
}

// 1:1 part: unread_<me> holds peer -> count.
void addSingleUnread(DbContext& ctx, db::MysqlConn& conn, db::RedisConn& redis, uint32_t me,
                     Msg::IMUnreadMsgCntRsp& rsp) {
  for (const auto& [field, value] : redis.hgetall(unreadKey(me))) {
    const auto peer = parseNumber<uint32_t>(field);
    const auto count = parseNumber<int64_t>(value);
    if (!peer || !count || *count <= 0) continue;
    const Conversation c = singleConversation(ctx, conn, me, *peer);
    if (!c.visible()) continue;
    auto latest = latestMessage(conn, c);
    if (!latest || !validMessageType(*latest)) continue;
    const uint32_t n = clampU32(static_cast<uint64_t>(*count));
    fillUnreadInfo(rsp.add_unreadinfo_list(), *peer, BD::SESSION_TYPE_SINGLE, n, *latest);
    rsp.set_total_cnt(saturatingAdd(rsp.total_cnt(), n));
  }
}

// Group part: for each group I am an active member of, msgSeq minus my read position.
void addGroupUnread(db::MysqlConn& conn, db::RedisConn& redis, uint32_t me, Msg::IMUnreadMsgCntRsp& rsp) {
  const db::DbRows groups = conn.query(
      "SELECT g.id, g.msgSeq FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
      "WHERE m.userId = ? AND m.status = 0 AND g.status = 0 ORDER BY g.id",
      {me});
  if (groups.empty()) return;
  std::vector<std::vector<std::string>> reads;
  for (const auto& g : groups) reads.push_back({"HGET", groupReadKey(me, g.u32(0)), rediskey::kGroupReadField});
  const auto positions = redis.pipeline(reads);
  for (size_t i = 0; i < groups.size(); ++i) {
    const uint32_t gid = groups[i].u32(0);
    const uint64_t seq = groups[i].u64(1);
    uint64_t position = 0;  // never read, never sent: everything is unread
    if (i < positions.size() && positions[i].isString()) position = parseNumber<uint64_t>(positions[i].str).value_or(0);
    if (seq <= position) continue;
    Conversation c;
    c.group = true;
    c.id = gid;
    c.table = groupMessageTable(gid);
    auto latest = latestMessage(conn, c);
    if (!latest || !validMessageType(*latest)) continue;
    const uint32_t n = clampU32(seq - position);
    fillUnreadInfo(rsp.add_unreadinfo_list(), gid, BD::SESSION_TYPE_GROUP, n, *latest);
    rsp.set_total_cnt(saturatingAdd(rsp.total_cnt(), n));
  }
}

void handleUnreadCount(DbContext& ctx, const Msg::IMUnreadMsgCntReq& req, Msg::IMUnreadMsgCntRsp& rsp) {
  const uint32_t me = req.user_id();
  const bool ok = guarded("unread count", me, [&] {
    auto db = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
    addSingleUnread(ctx, *db, *redis, me, rsp);
    addGroupUnread(*db, *redis, me, rsp);
  });
  if (!ok) {
    rsp.clear_unreadinfo_list();
    rsp.set_total_cnt(0);
  }
}

// ---- CID_MSG_LIST_REQUEST / GET_BY_MSG_ID / GET_LATEST_MSG_ID ----------------------------------

void handleMessageList(DbContext& ctx, const Msg::IMGetMsgListReq& req, Msg::IMGetMsgListRsp& rsp) {
  const bool ok = guarded("message list", req.user_id(), [&] {
    auto db = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    const Conversation c = resolveConversation(ctx, *db, req.user_id(), req.session_type(), req.session_id());
    if (!c.visible()) return;
    const uint32_t maxId = req.msg_id_begin() == 0 ? std::numeric_limits<uint32_t>::max() : req.msg_id_begin();
    const uint32_t limit = std::min(req.msg_cnt(), kMaxListCount);
    appendMessages(historyPage(*db, c, maxId, limit), rsp.mutable_msg_list());
  });
  if (!ok) rsp.clear_msg_list();
}

void handleMessagesById(DbContext& ctx, const Msg::IMGetMsgByIdReq& req, Msg::IMGetMsgByIdRsp& rsp) {
  const bool ok = guarded("messages by id", req.user_id(), [&] {
    const std::vector<uint32_t> ids = requestedIds(req.msg_id_list());
    if (ids.empty()) return;
    auto db = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    const Conversation c = resolveConversation(ctx, *db, req.user_id(), req.session_type(), req.session_id());
    if (!c.visible()) return;
    appendMessages(queryMessagesById(*db, c, ids), rsp.mutable_msg_list());
  });
  if (!ok) rsp.clear_msg_list();
}

void handleLatestMsgId(DbContext& ctx, const Msg::IMGetLatestMsgIdReq& req, Msg::IMGetLatestMsgIdRsp& rsp) {
  rsp.set_latest_msg_id(0);
  const bool ok = guarded("latest msg id", req.user_id(), [&] {
    auto db = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    const Conversation c = resolveConversation(ctx, *db, req.user_id(), req.session_type(), req.session_id());
    if (c.visible()) rsp.set_latest_msg_id(latestMessageId(*db, c));
  });
  if (!ok) rsp.set_latest_msg_id(0);
}

// Copies the fields every SID_MSG response echoes from its request.
template <class Req, class Rsp>
void echoSession(const Req& req, Rsp& rsp) {
  rsp.set_user_id(req.user_id());
  rsp.set_session_type(req.session_type());
  rsp.set_session_id(req.session_id());
  if (req.has_attach_data()) rsp.set_attach_data(req.attach_data());
}

}  // namespace

void registerMessageHandlers(HandlerTable& table) {
  table.add<Msg::IMMsgDataReadAck>(
      BD::CID_MSG_READ_ACK, "IMMsgDataReadAck",
      [](DbContext& ctx, const Request&, Msg::IMMsgDataReadAck& ack, Response&) {
        // No response in the protocol: a failure can only be logged.
        guarded("read ack", ack.user_id(), [&] { handleReadAck(ctx, ack); });
      });

  table.add<Msg::IMUnreadMsgCntReq>(
      BD::CID_MSG_UNREAD_CNT_REQUEST, "IMUnreadMsgCntReq",
      [](DbContext& ctx, const Request&, Msg::IMUnreadMsgCntReq& req, Response& res) {
        Msg::IMUnreadMsgCntRsp rsp;
        rsp.set_user_id(req.user_id());
        rsp.set_total_cnt(0);
        if (req.has_attach_data()) rsp.set_attach_data(req.attach_data());
        handleUnreadCount(ctx, req, rsp);
        res.reply(BD::SID_MSG, BD::CID_MSG_UNREAD_CNT_RESPONSE, rsp);
      });

  table.add<Msg::IMGetMsgListReq>(
      BD::CID_MSG_LIST_REQUEST, "IMGetMsgListReq",
      [](DbContext& ctx, const Request&, Msg::IMGetMsgListReq& req, Response& res) {
        Msg::IMGetMsgListRsp rsp;
        echoSession(req, rsp);
        rsp.set_msg_id_begin(req.msg_id_begin());
        handleMessageList(ctx, req, rsp);
        res.reply(BD::SID_MSG, BD::CID_MSG_LIST_RESPONSE, rsp);
      });

  table.add<Msg::IMGetMsgByIdReq>(
      BD::CID_MSG_GET_BY_MSG_ID_REQ, "IMGetMsgByIdReq",
      [](DbContext& ctx, const Request&, Msg::IMGetMsgByIdReq& req, Response& res) {
        Msg::IMGetMsgByIdRsp rsp;
        echoSession(req, rsp);
        handleMessagesById(ctx, req, rsp);
        res.reply(BD::SID_MSG, BD::CID_MSG_GET_BY_MSG_ID_RES, rsp);
      });

  table.add<Msg::IMGetLatestMsgIdReq>(
      BD::CID_MSG_GET_LATEST_MSG_ID_REQ, "IMGetLatestMsgIdReq",
      [](DbContext& ctx, const Request&, Msg::IMGetLatestMsgIdReq& req, Response& res) {
        Msg::IMGetLatestMsgIdRsp rsp;
        echoSession(req, rsp);
        handleLatestMsgId(ctx, req, rsp);
        res.reply(BD::SID_MSG, BD::CID_MSG_GET_LATEST_MSG_ID_RSP, rsp);
      });
}

}  // namespace tt::dbproxy
