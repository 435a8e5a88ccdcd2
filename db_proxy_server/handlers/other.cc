// Push bookkeeping (docs/PROTOCOL.md §3.3, §3.10.1, §4.4, §5.2 "token"):
//   CID_LOGIN_REQ_DEVICETOKEN 0x0108      -> IMDeviceTokenRsp 0x0109 (store / clear a device token)
//   CID_OTHER_GET_DEVICE_TOKEN_REQ 0x0705 -> IMGetDeviceTokenRsp 0x0706 (tokens + badge counts)
//
// Redis "token" holds device_<uid> = "ios:<token>" | "android:<token>" | "<token>" (other client
// types) and the reverse map device_<token> = "<uid>", as TeamTalk does (proto/RedisKeys.h).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/handlers/UserRows.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/InternalCommands.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;

using rediskey::kAndroidTokenPrefix;
using rediskey::kIosTokenPrefix;
using rediskey::tokenOwnerKey;
using rediskey::userTokenKey;
// APNs tokens are 64 hex characters, FCM tokens a few hundred bytes; anything longer is refused.
constexpr size_t kMaxTokenBytes = 1024;

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The token inside a device_<uid> value, without its client-type prefix.
std::string_view rawToken(std::string_view stored) {
  if (startsWith(stored, kIosTokenPrefix)) return stored.substr(kIosTokenPrefix.size());
  if (startsWith(stored, kAndroidTokenPrefix)) return stored.substr(kAndroidTokenPrefix.size());
  return stored;
}

std::optional<std::string> getString(db::RedisConn& redis, const std::string& key) {
  auto v = redis.get(key);
  if (v && v->empty()) return std::nullopt;  // the original "blanks" keys with ""
  return v;
}

// A Redis integer text as a non-negative count; garbage and negatives count as 0.
uint64_t parseCount(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return 0;
  return static_cast<uint64_t>(v);
}

// --- CID_LOGIN_REQ_DEVICETOKEN --------------------------------------------------------------

// Commands that drop `token`'s reverse entry if it still names uid (it may already name the user
// the device moved to, which must be kept).
void dropReverseEntryOf(db::RedisConn& redis, std::string_view token, uint32_t uid,
                        std::vector<std::vector<std::string>>& cmds) {
  if (token.empty()) return;
  auto owner = getString(redis, tokenOwnerKey(token));
  if (owner && *owner == std::to_string(uid)) cmds.push_back({"DEL", tokenOwnerKey(token)});
}

// Stores (or, for an empty token, clears) uid's device token. The writes go in one MULTI/EXEC so
// a failure never leaves device_<uid> and its reverse entry disagreeing.
void storeDeviceToken(db::RedisConn& redis, uint32_t uid, uint32_t clientType, const std::string& token) {
  std::vector<std::vector<std::string>> cmds{{"MULTI"}};
  const auto old = getString(redis, userTokenKey(uid));
  const std::string oldToken = old ? std::string(rawToken(*old)) : std::string();
  if (oldToken != token) dropReverseEntryOf(redis, oldToken, uid, cmds);
  if (token.empty()) {
    cmds.push_back({"DEL", userTokenKey(uid)});
  } else {
    // The device moved from another account (logout without a token clear, shared phone): that
    // account must stop getting this device's pushes.
    auto previousOwner = getString(redis, tokenOwnerKey(token));
    if (previousOwner && *previousOwner != std::to_string(uid)) {
      const std::string ownerKey = userTokenKey(*previousOwner);
      auto ownerValue = getString(redis, ownerKey);
      if (ownerValue && rawToken(*ownerValue) == token) cmds.push_back({"DEL", ownerKey});
    }
    std::string value = token;
    if (clientType == BD::CLIENT_TYPE_IOS) value = std::string(kIosTokenPrefix) + token;
    if (clientType == BD::CLIENT_TYPE_ANDROID) value = std::string(kAndroidTokenPrefix) + token;
    cmds.push_back({"SET", userTokenKey(uid), value});
    cmds.push_back({"SET", tokenOwnerKey(token), std::to_string(uid)});
  }
  cmds.push_back({"EXEC"});
  auto replies = redis.pipeline(cmds);
  if (!replies.back().isArray()) throw db::RedisError("device token transaction failed: " + replies.back().str);
}

// push_server's clear of a token the push provider called invalid (IMDeviceTokenReq with an empty
// device_token and attach_data internal::kClearIfTokenPrefix + token, proto/InternalCommands.h):
// clears device_<uid> only if it still holds that token. WATCH makes it compare-and-clear: if the
// user registers a new token between the read and the EXEC, the EXEC is refused and the new token
// stays.
bool clearIfStillToken(db::RedisConn& redis, uint32_t uid, std::string_view expected) {
  redis.command({"WATCH", userTokenKey(uid)});
  const auto current = getString(redis, userTokenKey(uid));
  if (!current || rawToken(*current) != expected) {
    redis.command({"UNWATCH"});
    return false;
  }
  storeDeviceToken(redis, uid, 0, "");
  return true;
}

void onDeviceToken(DbContext& ctx, const IM::Login::IMDeviceTokenReq& req) {
  if (req.user_id() == 0 || req.device_token().size() > kMaxTokenBytes) {
    spdlog::warn("device token of user {} refused ({} bytes)", req.user_id(), req.device_token().size());
    return;
  }
  try {
    auto redis = ctx.storage.cache(rediskey::kTokenInstance).acquire(kAcquireTimeoutMs);
    const auto expected = req.device_token().empty() ? tt::internal::clearIfTokenOf(req.attach_data()) : std::nullopt;
    if (expected) {
      if (clearIfStillToken(*redis, req.user_id(), *expected)) {
        spdlog::info("device token of user {} cleared (invalid at the push provider)", req.user_id());
      } else {
        spdlog::info("device token of user {} kept: it is no longer the one the push provider refused", req.user_id());
      }
      return;
    }
    storeDeviceToken(*redis, req.user_id(), req.client_type(), req.device_token());
  } catch (const db::RedisError& e) {
    spdlog::error("device token of user {} not stored: {}", req.user_id(), e.what());
  }
}

// --- CID_OTHER_GET_DEVICE_TOKEN_REQ ---------------------------------------------------------

struct PushTarget {
  uint32_t uid = 0;
  BD::ClientType type = BD::CLIENT_TYPE_IOS;
  std::string token;
  uint64_t unread = 0;
  bool shield = false;
};

// Users with a pushable (iOS / Android) token, in request order. Tokens of other client types
// carry no prefix and are skipped: push_server only delivers to phones.
std::vector<PushTarget> pushableTokens(DbContext& ctx, const std::vector<uint32_t>& uids) {
  std::vector<std::vector<std::string>> cmds;
  for (uint32_t uid : uids) cmds.push_back({"GET", userTokenKey(uid)});
  auto redis = ctx.storage.cache(rediskey::kTokenInstance).acquire(kAcquireTimeoutMs);
  auto replies = redis->pipeline(cmds);
  std::vector<PushTarget> out;
  for (size_t i = 0; i < uids.size(); ++i) {
    if (!replies[i].isString()) continue;
    const std::string& v = replies[i].str;
    PushTarget t;
    t.uid = uids[i];
    if (startsWith(v, kIosTokenPrefix)) {
      t.type = BD::CLIENT_TYPE_IOS;
    } else if (startsWith(v, kAndroidTokenPrefix)) {
      t.type = BD::CLIENT_TYPE_ANDROID;
    } else {
      continue;
    }
    t.token = std::string(rawToken(v));
    if (!t.token.empty()) out.push_back(std::move(t));
  }
  return out;
}

struct Membership {
  uint32_t uid;
  uint32_t gid;
  uint64_t msgSeq;  // IMGroup.msgSeq: the group's last message id
};

// push_shield_status of each user and the groups each user is an active member of.
void readUserState(DbContext& ctx, std::vector<PushTarget>& targets, std::vector<Membership>& groups) {
  std::vector<uint32_t> uids;
  std::unordered_map<uint32_t, PushTarget*> byUid;
  for (auto& t : targets) {
    uids.push_back(t.uid);
    byUid[t.uid] = &t;
  }
  auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
  forEachIdChunk(uids, [&](const std::string& in, std::vector<db::DbValue> params) {
    for (const auto& row : lease->query("SELECT id, push_shield_status FROM IMUser WHERE id IN (" + in + ")", params)) {
      byUid[row.u32(0)]->shield = row.u32(1) == 1;
    }
    for (const auto& row : lease->query(
             "SELECT m.userId, m.groupId, g.msgSeq FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
             "WHERE m.userId IN (" + in + ") AND m.status = 0 AND g.status = 0",
             params)) {
      groups.push_back(Membership{row.u32(0), row.u32(1), row.u64(2)});
    }
  });
}

// Total unread of each user: every 1:1 counter in unread_<uid> plus, per group, the messages after
// the user's read position (<uid>_<gid>_im_user_group.count; never read = 0).
void addUnreadCounts(DbContext& ctx, std::vector<PushTarget>& targets, const std::vector<Membership>& groups) {
  std::vector<std::vector<std::string>> cmds;
  for (const auto& t : targets) cmds.push_back({"HVALS", rediskey::unreadKey(t.uid)});
  for (const auto& m : groups) {
    cmds.push_back({"HGET", rediskey::groupReadKey(m.uid, m.gid), rediskey::kGroupReadField});
  }
  auto redis = ctx.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
  auto replies = redis->pipeline(cmds);
  std::unordered_map<uint32_t, PushTarget*> byUid;
  for (size_t i = 0; i < targets.size(); ++i) {
    byUid[targets[i].uid] = &targets[i];
    for (const auto& v : replies[i].elements) targets[i].unread += parseCount(v.str);
  }
  for (size_t j = 0; j < groups.size(); ++j) {
    const auto& r = replies[targets.size() + j];
    const uint64_t read = r.isString() ? parseCount(r.str) : 0;
    if (groups[j].msgSeq > read) byUid[groups[j].uid]->unread += groups[j].msgSeq - read;
  }
}

// The original's do-not-disturb window: 22:00 to 07:59 server local time.
bool quietHours() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return local.tm_hour >= 22 || local.tm_hour <= 7;
}

void getDeviceTokens(DbContext& ctx, const IM::Server::IMGetDeviceTokenReq& req,
                     IM::Server::IMGetDeviceTokenRsp& rsp) {
  std::vector<uint32_t> uids;
  for (uint32_t uid : uniqueIds({req.user_id().begin(), req.user_id().end()})) {
    if (uid != 0) uids.push_back(uid);
  }
  if (uids.empty()) return;
  try {
    std::vector<PushTarget> targets = pushableTokens(ctx, uids);
    if (targets.empty()) return;
    std::vector<Membership> groups;
    readUserState(ctx, targets, groups);
    addUnreadCounts(ctx, targets, groups);
    const bool quiet = quietHours();
    for (const auto& t : targets) {
      auto* info = rsp.add_user_token_info();
      info->set_user_id(t.uid);
      info->set_user_type(t.type);
      info->set_token(t.token);
      info->set_push_count(static_cast<uint32_t>(std::min<uint64_t>(t.unread, UINT32_MAX)));
      info->set_push_type(t.shield && quiet ? 2 : 1);
    }
  } catch (const db::DbError& e) {
    rsp.clear_user_token_info();  // nothing rather than badges computed from half the data
    spdlog::error("device tokens of {} users not read: {}", uids.size(), e.what());
  } catch (const db::RedisError& e) {
    rsp.clear_user_token_info();
    spdlog::error("device tokens of {} users not read: {}", uids.size(), e.what());
  }
}

}  // namespace

void registerOtherHandlers(HandlerTable& table) {
  table.add<IM::Login::IMDeviceTokenReq>(
      BD::CID_LOGIN_REQ_DEVICETOKEN, "IMDeviceTokenReq",
      [](DbContext& ctx, const Request&, IM::Login::IMDeviceTokenReq& msg, Response& res) {
        onDeviceToken(ctx, msg);
        // Answered even when storing failed: the message has no result code, and msg_server
        // only logs it (the original sent it without the required user_id).
        IM::Login::IMDeviceTokenRsp rsp;
        rsp.set_user_id(msg.user_id());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        res.reply(BD::SID_LOGIN, BD::CID_LOGIN_RES_DEVICETOKEN, rsp);
      });

  table.add<IM::Server::IMGetDeviceTokenReq>(
      BD::CID_OTHER_GET_DEVICE_TOKEN_REQ, "IMGetDeviceTokenReq",
      [](DbContext& ctx, const Request&, IM::Server::IMGetDeviceTokenReq& msg, Response& res) {
        IM::Server::IMGetDeviceTokenRsp rsp;
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        getDeviceTokens(ctx, msg, rsp);
        res.reply(BD::SID_OTHER, BD::CID_OTHER_GET_DEVICE_TOKEN_RSP, rsp);
      });
}

}  // namespace tt::dbproxy
