// Group handlers (docs/PROTOCOL.md §3.8, §3.10.1): normal-group list, group info, create, change
// members, shield. MySQL (IMGroup, IMGroupMember) is the only authority on membership; the
// original kept a Redis mirror (`group_member_<gid>`) that drifted whenever the web admin wrote
// MySQL directly. Shield flags stay in Redis `group_set_<gid>` (field `<uid>_1`), as msg_server's
// push path expects; group read positions stay in the "unread" instance
// (`<uid>_<gid>_im_user_group` field `count`, a msg id: unread = IMGroup.msgSeq - count). The keys
// are built by proto/RedisKeys.h.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Server.pb.h"
#include "base/Time.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;

constexpr int kAcquireTimeoutMs = 2000;
// IMGroup.name / avatar are varchar(256); checked in bytes, which is stricter than characters.
constexpr size_t kMaxGroupNameBytes = 256;
constexpr size_t kMaxAvatarBytes = 256;
// One create / change request names at most this many users: bounds the transaction and the
// response (a TeamTalk client never sends more than a screenful; admin bulk edits go through
// tools/im_admin, not the wire).
constexpr size_t kMaxMembersPerRequest = 1000;

using IdList = std::vector<uint32_t>;

// ---- IN lists and multi-row inserts ----------------------------------------------------------
// Statements are prepared and cached per connection by their text, so id lists are cut into
// chunks of a few fixed sizes (the last chunk padded by repeating its last element): at most four
// texts per statement, however many ids a request carries.
constexpr size_t kChunkSizes[] = {1, 4, 16, 64};

size_t chunkSize(size_t n) {
  for (size_t s : kChunkSizes) {
    if (n <= s) return s;
  }
  return kChunkSizes[std::size(kChunkSizes) - 1];
}

std::string repeatJoined(const std::string& item, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += item;
  }
  return out;
}

// fn(indexes) per chunk of [0, count): indexes has chunkSize() entries (padding repeats the last).
template <class Fn>
void forEachChunk(size_t count, Fn fn) {
  const size_t maxChunk = kChunkSizes[std::size(kChunkSizes) - 1];
  for (size_t off = 0; off < count; off += maxChunk) {
    const size_t n = std::min(maxChunk, count - off);
    std::vector<size_t> index;
    for (size_t i = 0; i < chunkSize(n); ++i) index.push_back(off + std::min(i, n - 1));
    fn(index);
  }
}

// fn("?, ?, ...", params) per chunk of ids, for `... IN (<list>)`.
template <class Fn>
void forEachIdChunk(const IdList& ids, Fn fn) {
  forEachChunk(ids.size(), [&](const std::vector<size_t>& index) {
    std::vector<db::DbValue> params;
    for (size_t i : index) params.emplace_back(ids[i]);
    fn(repeatJoined("?", index.size()), params);
  });
}

// fn("(row), (row), ...", indexes) per chunk of [0, count), for multi-row INSERTs.
template <class Fn>
void forEachRowChunk(size_t count, const std::string& row, Fn fn) {
  forEachChunk(count, [&](const std::vector<size_t>& index) { fn(repeatJoined(row, index.size()), index); });
}

// ---- small helpers --------------------------------------------------------------------------

template <class Req, class Rsp>
void echoAttach(const Req& req, Rsp& rsp) {
  if (req.has_attach_data()) rsp.set_attach_data(req.attach_data());
}

using rediskey::groupReadKey;
using rediskey::groupShieldField;
using rediskey::groupShieldKey;

// Ids in first-seen order, without duplicates and without 0 (never a user).
IdList dedupe(const google::protobuf::RepeatedField<uint32_t>& ids) {
  IdList out;
  std::set<uint32_t> seen;
  for (uint32_t id : ids) {
    if (id != 0 && seen.insert(id).second) out.push_back(id);
  }
  return out;
}

// The subset of ids that are users (IMUser rows), in the order given: a group must not collect
// members that no client can resolve.
IdList existingUsers(db::MysqlConn& conn, const IdList& ids) {
  std::set<uint32_t> found;
  forEachIdChunk(ids, [&](const std::string& in, const std::vector<db::DbValue>& params) {
    for (const auto& row : conn.query("SELECT id FROM IMUser WHERE id IN (" + in + ")", params)) {
      found.insert(row.u32(0));
    }
  });
  IdList out;
  for (uint32_t id : ids) {
    if (found.count(id)) out.push_back(id);
  }
  return out;
}

// Active members of a group, ascending.
IdList activeMembers(db::MysqlConn& conn, uint32_t gid) {
  IdList out;
  for (const auto& row :
       conn.query("SELECT userId FROM IMGroupMember WHERE groupId = ? AND status = 0 ORDER BY userId", {gid})) {
    out.push_back(row.u32(0));
  }
  return out;
}

bool isActiveMember(db::MysqlConn& conn, uint32_t gid, uint32_t uid) {
  return conn
      .queryOne("SELECT 1 FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
                "WHERE m.groupId = ? AND m.userId = ? AND m.status = 0 AND g.status = 0",
                {gid, uid})
      .has_value();
}

// Inserts (or re-activates) members with join time `now`. A repeated row from the IN-list
// padding is harmless: it upserts the same values.
void upsertMembers(db::MysqlConn& conn, uint32_t gid, const IdList& ids, uint32_t now) {
  forEachRowChunk(ids.size(), "(?, ?, 0, ?, ?)", [&](const std::string& rows, const std::vector<size_t>& index) {
    std::vector<db::DbValue> params;
    params.reserve(index.size() * 4);
    for (size_t i : index) params.insert(params.end(), {gid, ids[i], now, now});
    conn.exec("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES " + rows +
                  " ON DUPLICATE KEY UPDATE status = 0, created = VALUES(created), updated = VALUES(updated)",
              params);
  });
}

// Marks members as left and their group sessions as deleted (the group leaves their recent list;
// GroupSync only revives sessions of active members).
void removeMembers(db::MysqlConn& conn, uint32_t gid, const IdList& ids, uint32_t now) {
  forEachIdChunk(ids, [&](const std::string& in, const std::vector<db::DbValue>& idParams) {
    std::vector<db::DbValue> params{now, gid};
    params.insert(params.end(), idParams.begin(), idParams.end());
    conn.exec("UPDATE IMGroupMember SET status = 1, updated = ? WHERE groupId = ? AND status = 0 AND userId IN (" +
                  in + ")",
              params);
    conn.exec("UPDATE IMRecentSession SET status = 1, updated = ? WHERE peerId = ? AND type = 2 AND userId IN (" +
                  in + ")",
              params);
  });
}

// Sets read positions in the "unread" instance. Called after COMMIT: a Redis failure leaves a
// position unset (the member then counts the group's older messages as unread), logged, never a
// membership change undone.
void setReadPositions(DbContext& ctx, uint32_t gid, const IdList& uids, uint32_t position) {
  if (uids.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (uint32_t uid : uids) {
    cmds.push_back({"HSET", groupReadKey(uid, gid), rediskey::kGroupReadField, std::to_string(position)});
  }
  try {
    auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
    redis->pipeline(cmds);
  } catch (const db::RedisError& e) {
    spdlog::error("group {}: read positions of {} members not set: {}", gid, uids.size(), e.what());
  }
}

void dropReadPositions(DbContext& ctx, uint32_t gid, const IdList& uids) {
  if (uids.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (uint32_t uid : uids) cmds.push_back({"DEL", groupReadKey(uid, gid)});
  try {
    auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
    redis->pipeline(cmds);
  } catch (const db::RedisError& e) {
    spdlog::warn("group {}: read positions of {} removed members not dropped: {}", gid, uids.size(), e.what());
  }
}

// ---- 0x0401 normal group list ---------------------------------------------------------------

void normalGroupList(DbContext& ctx, const IM::Group::IMNormalGroupListReq& req, IM::Group::IMNormalGroupListRsp& rsp) {
  auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
  auto rows = lease->query(
      "SELECT g.id, g.version FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
      "WHERE m.userId = ? AND m.status = 0 AND g.type = ? AND g.status = 0 ORDER BY g.id",
      {req.user_id(), static_cast<uint32_t>(BD::GROUP_TYPE_NORMAL)});
  for (const auto& row : rows) {
    auto* v = rsp.add_group_version_list();
    v->set_group_id(row.u32(0));
    v->set_version(row.u32(1));
  }
}

// ---- 0x0403 group info ----------------------------------------------------------------------

// The requester's shield flag per group, from one pipeline. Degrades to "not shielded" when Redis
// fails: msg_server uses this response for group-message fan-out, which must not stop because
// the push preference is unreadable.
std::map<uint32_t, uint32_t> shieldFlags(DbContext& ctx, uint32_t uid, const IdList& gids) {
  std::map<uint32_t, uint32_t> flags;
  if (gids.empty()) return flags;
  std::vector<std::vector<std::string>> cmds;
  for (uint32_t gid : gids) cmds.push_back({"HGET", groupShieldKey(gid), groupShieldField(uid)});
  try {
    auto redis = ctx.storage.cache(rediskey::kGroupSetInstance).acquire(kAcquireTimeoutMs);
    auto replies = redis->pipeline(cmds);
    for (size_t i = 0; i < gids.size() && i < replies.size(); ++i) {
      flags[gids[i]] = replies[i].isString() && replies[i].str == "1" ? 1 : 0;
    }
  } catch (const db::RedisError& e) {
    spdlog::warn("shield flags of user {} unreadable, reported as 0: {}", uid, e.what());
  }
  return flags;
}

void groupInfoList(DbContext& ctx, const IM::Group::IMGroupInfoListReq& req, IM::Group::IMGroupInfoListRsp& rsp) {
  // The client's cached version per group (a group asked twice keeps its lowest version).
  std::map<uint32_t, uint32_t> clientVersion;
  IdList asked;
  for (const auto& v : req.group_version_list()) {
    auto [it, inserted] = clientVersion.emplace(v.group_id(), v.version());
    if (inserted) {
      asked.push_back(v.group_id());
    } else {
      it->second = std::min(it->second, v.version());
    }
  }
  if (asked.empty()) return;

  auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
  db::MysqlConn& conn = *lease;
  struct Row {
    uint32_t version = 0, creator = 0, type = 0;
    std::string name, avatar;
  };
  std::map<uint32_t, Row> groups;
  forEachIdChunk(asked, [&](const std::string& in, const std::vector<db::DbValue>& params) {
    for (const auto& r : conn.query("SELECT id, version, name, avatar, creator, type FROM IMGroup "
                                    "WHERE id IN (" + in + ") AND status = 0",
                                    params)) {
      const uint32_t gid = r.u32(0), version = r.u32(1);
      // Version 0 is never stored (groups start at 1), so a client version of 0 always refreshes.
      if (version <= clientVersion[gid]) continue;
      groups[gid] = Row{version, r.u32(4), r.u32(5), r.str(2), r.str(3)};
    }
  });
  IdList wanted;
  for (uint32_t gid : asked) {
    if (groups.count(gid)) wanted.push_back(gid);
  }
  std::map<uint32_t, IdList> members;
  forEachIdChunk(wanted, [&](const std::string& in, const std::vector<db::DbValue>& params) {
    for (const auto& r : conn.query("SELECT groupId, userId FROM IMGroupMember WHERE groupId IN (" + in +
                                        ") AND status = 0 ORDER BY groupId, userId",
                                    params)) {
      members[r.u32(0)].push_back(r.u32(1));
    }
  });
  lease.release();

  auto shields = shieldFlags(ctx, req.user_id(), wanted);
  for (uint32_t gid : wanted) {
    const Row& g = groups[gid];
    auto* info = rsp.add_group_info_list();
    info->set_group_id(gid);
    info->set_version(g.version);
    info->set_group_name(g.name);
    info->set_group_avatar(g.avatar);
    info->set_group_creator_id(g.creator);
    // Only the two known values go on the wire; a row with another type reads as temporary.
    const bool normal = g.type == static_cast<uint32_t>(BD::GROUP_TYPE_NORMAL);
    info->set_group_type(normal ? BD::GROUP_TYPE_NORMAL : BD::GROUP_TYPE_TMP);
    info->set_shield_status(shields[gid]);
    for (uint32_t uid : members[gid]) info->add_group_member_list(uid);
  }
}

// ---- 0x0405 create --------------------------------------------------------------------------

// Returns the new group id, or nullopt when the request is refused (logged).
std::optional<uint32_t> createGroup(DbContext& ctx, const IM::Group::IMGroupCreateReq& req, IdList& members) {
  const std::string& name = req.group_name();
  if (name.empty() || name.size() > kMaxGroupNameBytes || req.group_avatar().size() > kMaxAvatarBytes) {
    spdlog::warn("group create by {} refused: name of {} bytes, avatar of {} bytes", req.user_id(), name.size(),
                 req.group_avatar().size());
    return std::nullopt;
  }
  members = dedupe(req.member_id_list());
  if (members.size() > kMaxMembersPerRequest) {
    spdlog::warn("group create by {} refused: {} members", req.user_id(), members.size());
    return std::nullopt;
  }
  auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
  db::MysqlConn& conn = *lease;
  members = existingUsers(conn, members);
  if (members.empty()) {
    spdlog::warn("group create by {} refused: no member is a known user", req.user_id());
    return std::nullopt;
  }
  const uint32_t now = tt::unixSeconds();
  db::Transaction tx(conn);
  const auto res = conn.exec(
      "INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, msgSeq, lastChated, created, "
      "updated) VALUES (?, ?, ?, ?, ?, 0, 1, 0, 0, ?, ?)",
      {name, req.group_avatar(), req.user_id(), static_cast<uint32_t>(req.group_type()),
       static_cast<uint64_t>(members.size()), now, now});
  const auto gid = static_cast<uint32_t>(res.insertId);
  upsertMembers(conn, gid, members, now);
  tx.commit();
  lease.release();

  // A new group has no messages: every member starts fully read.
  setReadPositions(ctx, gid, members, 0);
  spdlog::info("group {} (type {}) created by {} with {} members", gid, static_cast<int>(req.group_type()),
               req.user_id(), members.size());
  return gid;
}

// ---- 0x0407 change members ------------------------------------------------------------------

struct MemberChange {
  bool ok = false;
  IdList current;  // active members after the change, ascending
  IdList changed;  // ids actually added / removed, in request order
};

// Who may change a group's members. user id 0 gets nothing special (the original let it bypass
// every check; administrators use tools/im_admin instead of the wire).
bool mayChange(uint32_t requester, uint32_t creator, uint32_t type, bool add, const std::set<uint32_t>& active) {
  if (requester == 0) return false;
  if (type == static_cast<uint32_t>(BD::GROUP_TYPE_TMP) && add && active.count(requester)) return true;
  return requester == creator;
}

MemberChange changeMembers(DbContext& ctx, const IM::Group::IMGroupChangeMemberReq& req) {
  MemberChange out;
  const uint32_t gid = req.group_id(), requester = req.user_id();
  const bool add = req.change_type() == BD::GROUP_MODIFY_TYPE_ADD;
  IdList ids = dedupe(req.member_id_list());
  if (ids.size() > kMaxMembersPerRequest) {
    spdlog::warn("group {}: change by {} refused: {} ids", gid, requester, ids.size());
    return out;
  }
  auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
  db::MysqlConn& conn = *lease;
  if (add) ids = existingUsers(conn, ids);

  const uint32_t now = tt::unixSeconds();
  db::Transaction tx(conn);
  // FOR UPDATE serialises member changes of one group (version and userCnt stay consistent) and
  // holds off message stores, so msgSeq read here is the newest.
  auto group = conn.queryOne("SELECT type, creator, msgSeq FROM IMGroup WHERE id = ? AND status = 0 FOR UPDATE", {gid});
  if (!group) {
    spdlog::warn("group {}: change by {} refused: no such group", gid, requester);
    return out;
  }
  const uint32_t type = group->u32(0), creator = group->u32(1), msgSeq = group->u32(2);
  const IdList before = activeMembers(conn, gid);
  std::set<uint32_t> active(before.begin(), before.end());
  if (!mayChange(requester, creator, type, add, active)) {
    spdlog::warn("group {}: {} by {} refused (creator {}, type {})", gid, add ? "add" : "remove", requester, creator,
                 type);
    return out;
  }

  for (uint32_t id : ids) {
    if (add != (active.count(id) > 0)) out.changed.push_back(id);
  }
  if (!out.changed.empty()) {
    if (add) {
      upsertMembers(conn, gid, out.changed, now);
      active.insert(out.changed.begin(), out.changed.end());
    } else {
      removeMembers(conn, gid, out.changed, now);
      for (uint32_t id : out.changed) active.erase(id);
    }
    conn.exec("UPDATE IMGroup SET version = version + 1, userCnt = ?, updated = ? WHERE id = ?",
              {static_cast<uint64_t>(active.size()), now, gid});
  }
  tx.commit();
  lease.release();

  out.ok = true;
  out.current.assign(active.begin(), active.end());
  // New members start with nothing unread; removed members' positions are meaningless now.
  if (add) {
    setReadPositions(ctx, gid, out.changed, msgSeq);
  } else {
    dropReadPositions(ctx, gid, out.changed);
  }
  if (!out.changed.empty()) {
    spdlog::info("group {}: {} {} members by {}", gid, add ? "added" : "removed", out.changed.size(), requester);
  }
  return out;
}

// InnoDB may pick a member change as a deadlock victim: GroupSync and the message writers touch
// the same member and session rows. Nothing outside MySQL happened yet when that throws, so the
// whole change is simply run again.
MemberChange changeMembersRetrying(DbContext& ctx, const IM::Group::IMGroupChangeMemberReq& req) {
  constexpr unsigned kDeadlock = 1213;  // ER_LOCK_DEADLOCK
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      return changeMembers(ctx, req);
    } catch (const db::DbError& e) {
      if (e.code() != kDeadlock || attempt == kAttempts) throw;
      spdlog::warn("group {}: member change hit a deadlock (attempt {}), retrying", req.group_id(), attempt);
    }
  }
}

// ---- registration ---------------------------------------------------------------------------

// Runs body; a failure (db::DbError / db::RedisError, mostly) is logged in one line and reported
// as false, so the caller still answers, with the protocol's failure form.
template <class Body>
bool guarded(const char* what, uint32_t id, Body body) {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {}", what, id, e.what());
  }
  return false;
}

void onNormalList(DbContext& ctx, const Request&, IM::Group::IMNormalGroupListReq& req, Response& res) {
  IM::Group::IMNormalGroupListRsp rsp;
  rsp.set_user_id(req.user_id());
  if (!guarded("normal group list of user", req.user_id(), [&] { normalGroupList(ctx, req, rsp); })) {
    rsp.clear_group_version_list();
  }
  echoAttach(req, rsp);
  res.reply(BD::SID_GROUP, BD::CID_GROUP_NORMAL_LIST_RESPONSE, rsp);
}

void onInfo(DbContext& ctx, const Request&, IM::Group::IMGroupInfoListReq& req, Response& res) {
  IM::Group::IMGroupInfoListRsp rsp;
  rsp.set_user_id(req.user_id());
  if (!guarded("group info for user", req.user_id(), [&] { groupInfoList(ctx, req, rsp); })) {
    rsp.clear_group_info_list();
  }
  echoAttach(req, rsp);
  res.reply(BD::SID_GROUP, BD::CID_GROUP_INFO_RESPONSE, rsp);
}

void onCreate(DbContext& ctx, const Request&, IM::Group::IMGroupCreateReq& req, Response& res) {
  IM::Group::IMGroupCreateRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_group_name(req.group_name());
  IdList members;
  std::optional<uint32_t> gid;
  guarded("group create by user", req.user_id(), [&] { gid = createGroup(ctx, req, members); });
  rsp.set_result_code(gid ? 0 : 1);
  if (gid) {
    rsp.set_group_id(*gid);
    for (uint32_t uid : members) rsp.add_user_id_list(uid);
  }
  echoAttach(req, rsp);
  res.reply(BD::SID_GROUP, BD::CID_GROUP_CREATE_RESPONSE, rsp);
}

void onChangeMember(DbContext& ctx, const Request&, IM::Group::IMGroupChangeMemberReq& req, Response& res) {
  MemberChange change;
  if (!guarded("member change of group", req.group_id(), [&] { change = changeMembersRetrying(ctx, req); })) {
    change = MemberChange{};
  }
  IM::Group::IMGroupChangeMemberRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_change_type(req.change_type());
  rsp.set_result_code(change.ok ? 0 : 1);
  rsp.set_group_id(req.group_id());
  for (uint32_t uid : change.current) rsp.add_cur_user_id_list(uid);
  for (uint32_t uid : change.changed) rsp.add_chg_user_id_list(uid);
  echoAttach(req, rsp);
  res.reply(BD::SID_GROUP, BD::CID_GROUP_CHANGE_MEMBER_RESPONSE, rsp);
}

// 0x0409: only an active member may set their own flag for a group.
bool setShield(DbContext& ctx, const IM::Group::IMGroupShieldReq& req) {
  {
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    if (!isActiveMember(*lease, req.group_id(), req.user_id())) {
      spdlog::warn("group {}: shield by non-member {} refused", req.group_id(), req.user_id());
      return false;
    }
  }
  auto redis = ctx.storage.cache(rediskey::kGroupSetInstance).acquire(kAcquireTimeoutMs);
  redis->hset(groupShieldKey(req.group_id()), groupShieldField(req.user_id()), req.shield_status() ? "1" : "0");
  return true;
}

void onShield(DbContext& ctx, const Request&, IM::Group::IMGroupShieldReq& req, Response& res) {
  bool ok = false;
  guarded("group shield by user", req.user_id(), [&] { ok = setShield(ctx, req); });
  IM::Group::IMGroupShieldRsp rsp;
  rsp.set_user_id(req.user_id());
  rsp.set_group_id(req.group_id());
  rsp.set_result_code(ok ? 0 : 1);
  echoAttach(req, rsp);
  res.reply(BD::SID_GROUP, BD::CID_GROUP_SHIELD_GROUP_RESPONSE, rsp);
}

// 0x0711 (msg_server's push path): one ShieldStatus per requested user, from one HMGET.
void getShields(DbContext& ctx, const IM::Server::IMGroupGetShieldReq& req, IM::Server::IMGroupGetShieldRsp& rsp) {
  if (req.user_id_size() == 0) return;
  std::vector<std::string> cmd{"HMGET", groupShieldKey(req.group_id())};
  for (uint32_t uid : req.user_id()) cmd.push_back(groupShieldField(uid));
  auto redis = ctx.storage.cache(rediskey::kGroupSetInstance).acquire(kAcquireTimeoutMs);
  const auto reply = redis->command(cmd);
  if (!reply.isArray() || reply.elements.size() != static_cast<size_t>(req.user_id_size())) {
    throw db::RedisError("unexpected HMGET reply for " + groupShieldKey(req.group_id()));
  }
  for (int i = 0; i < req.user_id_size(); ++i) {
    const auto& e = reply.elements[static_cast<size_t>(i)];
    auto* s = rsp.add_shield_status_list();
    s->set_user_id(req.user_id(i));
    s->set_group_id(req.group_id());
    s->set_shield_status(e.isString() && e.str == "1" ? 1 : 0);
  }
}

void onGetShield(DbContext& ctx, const Request&, IM::Server::IMGroupGetShieldReq& req, Response& res) {
  IM::Server::IMGroupGetShieldRsp rsp;
  rsp.set_group_id(req.group_id());
  if (!guarded("shield lookup of group", req.group_id(), [&] { getShields(ctx, req, rsp); })) {
    rsp.clear_shield_status_list();
  }
  echoAttach(req, rsp);
  res.reply(BD::SID_OTHER, BD::CID_OTHER_GET_SHIELD_RSP, rsp);
}

}  // namespace

void registerGroupHandlers(HandlerTable& table) {
  table.add<IM::Group::IMNormalGroupListReq>(BD::CID_GROUP_NORMAL_LIST_REQUEST, "IMNormalGroupListReq", onNormalList);
  table.add<IM::Group::IMGroupInfoListReq>(BD::CID_GROUP_INFO_REQUEST, "IMGroupInfoListReq", onInfo);
  table.add<IM::Group::IMGroupCreateReq>(BD::CID_GROUP_CREATE_REQUEST, "IMGroupCreateReq", onCreate);
  table.add<IM::Group::IMGroupChangeMemberReq>(BD::CID_GROUP_CHANGE_MEMBER_REQUEST, "IMGroupChangeMemberReq",
                                               onChangeMember);
  table.add<IM::Group::IMGroupShieldReq>(BD::CID_GROUP_SHIELD_GROUP_REQUEST, "IMGroupShieldReq", onShield);
  table.add<IM::Server::IMGroupGetShieldReq>(BD::CID_OTHER_GET_SHIELD_REQ, "IMGroupGetShieldReq", onGetShield);
}

}  // namespace tt::dbproxy
