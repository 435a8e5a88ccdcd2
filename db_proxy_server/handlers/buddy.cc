// IM.Buddy handlers (docs/PROTOCOL.md §2.3, §3.7):
//   RECENT_CONTACT_SESSION_REQUEST 0x0201 -> 0x0202   recent sessions with their last message
//   USER_INFO_REQUEST 0x0204              -> 0x0205   users by id
//   REMOVE_SESSION_REQ 0x0206             -> 0x0207
//   ALL_USER_REQUEST 0x0208               -> 0x0209   incremental user sync
//   CHANGE_AVATAR_REQUEST 0x020c          -> 0x020d   (never answered by the original)
//   DEPARTMENT_REQUEST 0x0210             -> 0x0211   incremental department sync
//   CHANGE_SIGN_INFO_REQUEST 0x0213       -> 0x0214
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "base/Time.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/Relations.h"
#include "db_proxy_server/handlers/UserRows.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;

constexpr size_t kMaxSignInfoBytes = 128;
constexpr size_t kMaxAvatarBytes = 255;
constexpr uint32_t kUserStatusDeparted = 3;

// MariaDB refuses malformed UTF-8 in a text column; checking first turns that into a plain
// "refused" answer instead of a logged storage error.
bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Changes one IMUser column of uid (and `updated`, so IMAllUserReq pollers see it). True when the
// user exists. Throws db::DbError.
bool updateUserColumn(DbContext& ctx, uint32_t uid, const char* column, const std::string& value) {
  auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
  auto r = lease->exec("UPDATE IMUser SET " + std::string(column) + " = ?, updated = ? WHERE id = ?",
                       {value, uint64_t{tt::unixSeconds()}, uint64_t{uid}});
  // MariaDB reports changed rows: 0 also when the same value is written within the same second.
  return r.affectedRows > 0 || lease->queryOne("SELECT 1 FROM IMUser WHERE id = ?", {uint64_t{uid}}).has_value();
}

// --- recent sessions ------------------------------------------------------------------------

struct LastMessage {
  uint32_t msgId = 0;
  uint32_t from = 0;
  std::string data;
  uint32_t type = 0;
};

std::optional<LastMessage> toLastMessage(const std::optional<db::DbRow>& row) {
  if (!row) return std::nullopt;
  LastMessage m{row->u32(0), row->u32(1), row->str(2), row->u32(3)};
  // A row of a type clients do not know would make the required enum field count as missing.
  if (!BD::MsgType_IsValid(static_cast<int>(m.type))) return std::nullopt;
  return m;
}

std::optional<LastMessage> lastSingleMessage(DbContext& ctx, db::MysqlConn& conn, uint32_t me, uint32_t peer) {
  const uint32_t relateId = ctx.relations.get(conn, me, peer, false);
  if (relateId == 0) return std::nullopt;
  return toLastMessage(conn.queryOne("SELECT msgId, fromId, content, type FROM " + messageTable(relateId) +
                                         " WHERE relateId = ? AND status = 0 ORDER BY msgId DESC LIMIT 1",
                                     {uint64_t{relateId}}));
}

std::optional<LastMessage> lastGroupMessage(db::MysqlConn& conn, uint32_t groupId) {
  return toLastMessage(conn.queryOne("SELECT msgId, userId, content, type FROM " + groupMessageTable(groupId) +
                                         " WHERE groupId = ? AND status = 0 ORDER BY msgId DESC LIMIT 1",
                                     {uint64_t{groupId}}));
}

void recentSessions(DbContext& ctx, const IM::Buddy::IMRecentContactSessionReq& req,
                    IM::Buddy::IMRecentContactSessionRsp& rsp) {
  const uint32_t me = req.user_id();
  try {
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    auto sessions = lease->query(
        "SELECT peerId, type, updated FROM IMRecentSession WHERE userId = ? AND status = 0 AND updated > ? "
        "ORDER BY updated DESC, id DESC LIMIT 100",  // at most 100 sessions, as the original
        {uint64_t{me}, uint64_t{req.latest_update_time()}});
    for (const auto& s : sessions) {
      const uint32_t peer = s.u32(0), type = s.u32(1);
      std::optional<LastMessage> last;
      if (type == BD::SESSION_TYPE_SINGLE) last = lastSingleMessage(ctx, *lease, me, peer);
      if (type == BD::SESSION_TYPE_GROUP) last = lastGroupMessage(*lease, peer);
      if (!last) continue;  // no message yet (or an unknown session type): nothing to show
      auto* info = rsp.add_contact_session_list();
      info->set_session_id(peer);
      info->set_session_type(static_cast<BD::SessionType>(type));
      info->set_session_status(BD::SESSION_STATUS_OK);
      info->set_updated_time(s.u32(2));
      info->set_latest_msg_id(last->msgId);
      info->set_latest_msg_data(last->data);
      info->set_latest_msg_type(static_cast<BD::MsgType>(last->type));
      // The real sender, for single sessions too (the original always put the peer id here).
      info->set_latest_msg_from_user_id(last->from);
    }
  } catch (const db::DbError& e) {
    rsp.clear_contact_session_list();
    spdlog::error("recent sessions of user {} not read: {}", me, e.what());
  }
}

// Marks the session removed; a single session's unread counter goes with it. 0 ok, 1 failed
// (no such session or storage error).
uint32_t removeSession(DbContext& ctx, const IM::Buddy::IMRemoveSessionReq& req) {
  const uint32_t me = req.user_id(), peer = req.session_id(), type = req.session_type();
  try {
    {
      auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
      auto row = lease->queryOne("SELECT id FROM IMRecentSession WHERE userId = ? AND peerId = ? AND type = ?",
                                 {uint64_t{me}, uint64_t{peer}, uint64_t{type}});
      if (!row) return 1;
      lease->exec("UPDATE IMRecentSession SET status = 1, updated = ? WHERE id = ?",
                  {uint64_t{tt::unixSeconds()}, row->u64(0)});
    }
    if (type == BD::SESSION_TYPE_SINGLE) {
      auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
      redis->hdel(rediskey::unreadKey(me), {std::to_string(peer)});
    }
    return 0;
  } catch (const db::DbError& e) {
    spdlog::error("session {}/{} of user {} not removed: {}", type, peer, me, e.what());
  } catch (const db::RedisError& e) {
    spdlog::error("unread count of session {} of user {} not cleared: {}", peer, me, e.what());
  }
  return 1;
}

// --- users and departments ------------------------------------------------------------------

void usersInfo(DbContext& ctx, const IM::Buddy::IMUsersInfoReq& req, IM::Buddy::IMUsersInfoRsp& rsp) {
  const std::vector<uint32_t> ids = uniqueIds({req.user_id_list().begin(), req.user_id_list().end()});
  try {
    std::unordered_map<uint32_t, db::DbRow> found;
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    forEachIdChunk(ids, [&](const std::string& in, std::vector<db::DbValue> params) {
      for (auto& row : lease->query("SELECT " + std::string(kUserInfoColumns) + " FROM IMUser WHERE id IN (" + in + ")",
                                    params)) {
        const uint32_t id = row.u32(0);
        found.emplace(id, std::move(row));
      }
    });
    for (uint32_t id : ids) {  // the order the client asked for
      auto it = found.find(id);
      if (it != found.end()) fillUserInfo(it->second, rsp.add_user_info_list());
    }
  } catch (const db::DbError& e) {
    rsp.clear_user_info_list();
    spdlog::error("info of {} users not read: {}", ids.size(), e.what());
  }
}

// IMAllUserReq{T}. The change mark is max(IMUser.updated), read from the table on every request
// (the original kept it in memory under a mistyped Redis key, so admin edits went unseen).
//   T == 0: every user who has not left (status != 3); mark = max(updated).
//   T > 0 and max(updated) <= T: nothing new; mark = T.
//   T > 0 otherwise: users with updated >= T, departed ones included so clients can hide them.
//     >= rather than >: a user changed later within second T is sent again, never missed.
void allUsers(DbContext& ctx, const IM::Buddy::IMAllUserReq& req, IM::Buddy::IMAllUserRsp& rsp) {
  const uint32_t since = req.latest_update_time();
  rsp.set_latest_update_time(since);
  try {
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    const uint32_t newest = lease->queryOne("SELECT COALESCE(MAX(updated), 0) FROM IMUser")->u32(0);
    if (since > 0 && newest <= since) return;
    const std::string select = "SELECT " + std::string(kUserInfoColumns) + ", updated FROM IMUser ";
    auto rows = since == 0
                    ? lease->query(select + "WHERE status != ? ORDER BY id", {uint64_t{kUserStatusDeparted}})
                    : lease->query(select + "WHERE updated >= ? ORDER BY id", {uint64_t{since}});
    uint32_t mark = std::max(since, newest);
    for (const auto& row : rows) {
      fillUserInfo(row, rsp.add_user_list());
      mark = std::max(mark, row.u32(kUserInfoColumnCount));  // a row changed after MAX() was read
    }
    rsp.set_latest_update_time(mark);
  } catch (const db::DbError& e) {
    rsp.clear_user_list();
    rsp.set_latest_update_time(since);  // the client keeps its mark and asks again later
    spdlog::error("user list for user {} (since {}) not read: {}", req.user_id(), since, e.what());
  }
}

// IMDepartmentReq{T}, with the same change-mark rules as allUsers. Only rows whose status is a
// DepartmentStatusType (0 ok, 1 deleted) are sent; deleted ones tell clients to drop them.
void departments(DbContext& ctx, const IM::Buddy::IMDepartmentReq& req, IM::Buddy::IMDepartmentRsp& rsp) {
  const uint32_t since = req.latest_update_time();
  rsp.set_latest_update_time(since);
  try {
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    const uint32_t newest = lease->queryOne("SELECT COALESCE(MAX(updated), 0) FROM IMDepart")->u32(0);
    if (since > 0 && newest <= since) return;
    auto rows = lease->query(
        "SELECT id, priority, departName, parentId, status, updated FROM IMDepart "
        "WHERE updated >= ? AND status IN (0, 1) ORDER BY id",
        {uint64_t{since}});
    uint32_t mark = std::max(since, newest);
    for (const auto& row : rows) {
      auto* d = rsp.add_dept_list();
      d->set_dept_id(row.u32(0));
      d->set_priority(row.u32(1));
      d->set_dept_name(row.str(2));
      d->set_parent_dept_id(row.u32(3));
      d->set_dept_status(static_cast<BD::DepartmentStatusType>(row.u32(4)));
      mark = std::max(mark, row.u32(5));
    }
    rsp.set_latest_update_time(mark);
  } catch (const db::DbError& e) {
    rsp.clear_dept_list();
    rsp.set_latest_update_time(since);
    spdlog::error("departments for user {} (since {}) not read: {}", req.user_id(), since, e.what());
  }
}

// --- profile changes ------------------------------------------------------------------------

// 0 ok, 1 refused (too long, not UTF-8, no such user) or storage error.
uint32_t changeUserText(DbContext& ctx, uint32_t uid, const char* column, const std::string& value, size_t maxBytes) {
  if (value.size() > maxBytes || !isValidUtf8(value)) return 1;
  try {
    return updateUserColumn(ctx, uid, column, value) ? 0 : 1;
  } catch (const db::DbError& e) {
    spdlog::error("{} of user {} not changed: {}", column, uid, e.what());
    return 1;
  }
}

}  // namespace

void registerBuddyHandlers(HandlerTable& table) {
  table.add<IM::Buddy::IMRecentContactSessionReq>(
      BD::CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, "IMRecentContactSessionReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMRecentContactSessionReq& msg, Response& res) {
        IM::Buddy::IMRecentContactSessionRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        recentSessions(ctx, msg, rsp);
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE, rsp);
      });

  table.add<IM::Buddy::IMRemoveSessionReq>(
      BD::CID_BUDDY_LIST_REMOVE_SESSION_REQ, "IMRemoveSessionReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMRemoveSessionReq& msg, Response& res) {
        IM::Buddy::IMRemoveSessionRsp rsp;
        rsp.set_user_id(msg.user_id());
        rsp.set_session_type(msg.session_type());
        rsp.set_session_id(msg.session_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        rsp.set_result_code(removeSession(ctx, msg));
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_REMOVE_SESSION_RES, rsp);
      });

  table.add<IM::Buddy::IMUsersInfoReq>(
      BD::CID_BUDDY_LIST_USER_INFO_REQUEST, "IMUsersInfoReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMUsersInfoReq& msg, Response& res) {
        IM::Buddy::IMUsersInfoRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        usersInfo(ctx, msg, rsp);
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_USER_INFO_RESPONSE, rsp);
      });

  table.add<IM::Buddy::IMAllUserReq>(
      BD::CID_BUDDY_LIST_ALL_USER_REQUEST, "IMAllUserReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMAllUserReq& msg, Response& res) {
        IM::Buddy::IMAllUserRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        allUsers(ctx, msg, rsp);
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_ALL_USER_RESPONSE, rsp);
      });

  table.add<IM::Buddy::IMDepartmentReq>(
      BD::CID_BUDDY_LIST_DEPARTMENT_REQUEST, "IMDepartmentReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMDepartmentReq& msg, Response& res) {
        IM::Buddy::IMDepartmentRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        departments(ctx, msg, rsp);
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_DEPARTMENT_RESPONSE, rsp);
      });

  table.add<IM::Buddy::IMChangeSignInfoReq>(
      BD::CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, "IMChangeSignInfoReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMChangeSignInfoReq& msg, Response& res) {
        IM::Buddy::IMChangeSignInfoRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        rsp.set_result_code(changeUserText(ctx, msg.user_id(), "sign_info", msg.sign_info(), kMaxSignInfoBytes));
        // msg_server builds IMSignInfoChangedNotify from this on success.
        if (rsp.result_code() == 0) rsp.set_sign_info(msg.sign_info());
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, rsp);
      });

  table.add<IM::Buddy::IMChangeAvatarReq>(
      BD::CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, "IMChangeAvatarReq",
      [](DbContext& ctx, const Request&, IM::Buddy::IMChangeAvatarReq& msg, Response& res) {
        IM::Buddy::IMChangeAvatarRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        rsp.set_result_code(changeUserText(ctx, msg.user_id(), "avatar", msg.avatar_url(), kMaxAvatarBytes));
        res.reply(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, rsp);
      });
}

}  // namespace tt::dbproxy
