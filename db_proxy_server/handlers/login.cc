// Login-area handlers (docs/PROTOCOL.md §3.2, §2.2, §2.8):
//   CID_OTHER_VALIDATE_REQ 0x0703          -> IMValidateRsp 0x0704 (msg_server's login check)
//   CID_LOGIN_REQ_PUSH_SHIELD 0x010c       -> IMPushShieldRsp 0x010d
//   CID_LOGIN_REQ_QUERY_PUSH_SHIELD 0x010e -> IMQueryPushShieldRsp 0x010f
// Device tokens (0x0108, 0x0705) live in other.cc with the rest of the push bookkeeping.
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/auth/CredentialCache.h"
#include "db_proxy_server/auth/LoginThrottle.h"
#include "db_proxy_server/auth/PasswordHash.h"
#include "db_proxy_server/handlers/UserRows.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Storage.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;

// IMValidateRsp.result_code values. 0/1/6 are TeamTalk's; 3 reuses ResultType's NO_DB_SERVER for
// "storage unavailable", so msg_server can tell a server fault from a wrong password.
enum ValidateResult : uint32_t { kValidateOk = 0, kValidateBadCredential = 1, kValidateServerError = 3, kValidateThrottled = 6 };

// TeamTalk's own strings: clients show them as they are.
constexpr const char* kTextOk = "成功";
constexpr const char* kTextBadCredential = "用户名/密码错误";
constexpr const char* kTextThrottled = "用户名/密码错误次数太多";
constexpr const char* kTextServerError = "服务端异常";

// IMUser.name is varchar(32) (at most 128 bytes of UTF-8); the client sends a 32-character md5hex.
// Anything far longer cannot match a row, so it is refused before it reaches the throttle's memory
// or the KDF.
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxCredentialBytes = 128;

// An unknown name is verified against this hash, so it costs one PBKDF2 run like a wrong password:
// response time does not tell which names exist. Built once (one KDF run) on first use.
const std::string& dummyStoredHash() {
  static const std::string hash =
      auth::hashCredentialWithSalt("no such user", "ttsuite-dummy-salt", auth::kDefaultIterations);
  return hash;
}

struct UserRow {
  db::DbRow info;          // kUserInfoColumns
  std::string storedHash;  // IMUser.password
};

// The active (status 0) user with exactly this name. Throws db::DbError.
std::optional<UserRow> findActiveUser(DbContext& ctx, const std::string& name) {
  auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
  auto row = lease->queryOne(
      "SELECT " + std::string(kUserInfoColumns) + ", password FROM IMUser WHERE name = ? AND status = 0", {name});
  // utf8mb4_bin is a PAD SPACE collation in MariaDB: "user01 " matches the row of "user01". A
  // login name must match byte for byte, so the comparison is finished here.
  if (!row || row->str(kUserNameColumn) != name) return std::nullopt;
  UserRow user{*row, row->str(kUserInfoColumnCount)};
  return user;
}

// The cache first (a reconnect storm would otherwise pay a full KDF run per client), then the slow
// verify, whose success is remembered.
bool credentialMatches(DbContext& ctx, const std::string& name, const std::string& credential,
                       const std::string& stored) {
  if (ctx.credentials.check(name, credential, stored)) return true;
  if (!auth::verifyCredential(credential, stored)) return false;
  ctx.credentials.remember(name, credential, stored);
  return true;
}

void finish(IM::Server::IMValidateRsp& rsp, ValidateResult code, const char* text) {
  rsp.set_result_code(code);
  rsp.set_result_string(text);
}

void validate(DbContext& ctx, const IM::Server::IMValidateReq& req, IM::Server::IMValidateRsp& rsp) {
  const std::string& name = req.user_name();
  const std::string& credential = req.password();
  if (name.empty() || name.size() > kMaxNameBytes || credential.size() > kMaxCredentialBytes) {
    finish(rsp, kValidateBadCredential, kTextBadCredential);
    return;
  }
  if (!ctx.throttle.allowed(name)) {
    spdlog::warn("login of '{}' refused: too many failures", name);
    finish(rsp, kValidateThrottled, kTextThrottled);
    return;
  }
  std::optional<UserRow> user;
  try {
    user = findActiveUser(ctx, name);
  } catch (const db::DbError& e) {
    // Not the user's fault: no failure is recorded, and msg_server can say "server error".
    spdlog::error("login of '{}' not checked: {}", name, e.what());
    finish(rsp, kValidateServerError, kTextServerError);
    return;
  }
  bool ok = false;
  if (user) {
    ok = credentialMatches(ctx, name, credential, user->storedHash);
  } else {
    auth::verifyCredential(credential, dummyStoredHash());  // same cost as a wrong password
  }
  if (!ok) {
    ctx.throttle.recordFailure(name);  // unknown names too: probing names is throttled alike
    spdlog::info("login of '{}' failed", name);
    finish(rsp, kValidateBadCredential, kTextBadCredential);
    return;
  }
  ctx.throttle.recordSuccess(name);
  finish(rsp, kValidateOk, kTextOk);
  fillUserInfo(user->info, rsp.mutable_user_info());
  rsp.mutable_user_info()->set_status(0);  // as the original: a logged-in user is shown active
}

// Push "do not disturb" (IMUser.push_shield_status). Answers result_code 0 and the status on
// success, 1 (no status) otherwise.
void setPushShield(DbContext& ctx, const IM::Login::IMPushShieldReq& req, IM::Login::IMPushShieldRsp& rsp) {
  rsp.set_user_id(req.user_id());
  rsp.set_result_code(1);
  if (req.shield_status() > 1) return;  // the column is a 0/1 flag; refuse anything else
  try {
    auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
    auto r = lease->exec("UPDATE IMUser SET push_shield_status = ? WHERE id = ?",
                         {uint64_t{req.shield_status()}, uint64_t{req.user_id()}});
    // MariaDB counts changed rows: 0 also means "already set"; only a missing user is a failure.
    if (r.affectedRows == 0 && !lease->queryOne("SELECT 1 FROM IMUser WHERE id = ?", {uint64_t{req.user_id()}})) {
      return;
    }
  } catch (const db::DbError& e) {
    spdlog::error("push shield of user {} not set: {}", req.user_id(), e.what());
    return;
  }
  rsp.set_result_code(0);
  rsp.set_shield_status(req.shield_status());
}

void queryPushShield(DbContext& ctx, const IM::Login::IMQueryPushShieldReq& req,
                     IM::Login::IMQueryPushShieldRsp& rsp) {
  rsp.set_user_id(req.user_id());
  rsp.set_result_code(1);
  try {
    auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
    auto row = lease->queryOne("SELECT push_shield_status FROM IMUser WHERE id = ?", {uint64_t{req.user_id()}});
    if (!row) return;
    rsp.set_result_code(0);
    rsp.set_shield_status(row->u32(0));
  } catch (const db::DbError& e) {
    spdlog::error("push shield of user {} not read: {}", req.user_id(), e.what());
  }
}

}  // namespace

void registerLoginHandlers(HandlerTable& table) {
  table.add<IM::Server::IMValidateReq>(
      BD::CID_OTHER_VALIDATE_REQ, "IMValidateReq",
      [](DbContext& ctx, const Request&, IM::Server::IMValidateReq& msg, Response& res) {
        IM::Server::IMValidateRsp rsp;
        rsp.set_user_name(msg.user_name());
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        validate(ctx, msg, rsp);
        res.reply(BD::SID_OTHER, BD::CID_OTHER_VALIDATE_RSP, rsp);
      });

  table.add<IM::Login::IMPushShieldReq>(
      BD::CID_LOGIN_REQ_PUSH_SHIELD, "IMPushShieldReq",
      [](DbContext& ctx, const Request&, IM::Login::IMPushShieldReq& msg, Response& res) {
        IM::Login::IMPushShieldRsp rsp;
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        setPushShield(ctx, msg, rsp);
        res.reply(BD::SID_LOGIN, BD::CID_LOGIN_RES_PUSH_SHIELD, rsp);
      });

  table.add<IM::Login::IMQueryPushShieldReq>(
      BD::CID_LOGIN_REQ_QUERY_PUSH_SHIELD, "IMQueryPushShieldReq",
      [](DbContext& ctx, const Request&, IM::Login::IMQueryPushShieldReq& msg, Response& res) {
        IM::Login::IMQueryPushShieldRsp rsp;
        if (msg.has_attach_data()) rsp.set_attach_data(msg.attach_data());
        queryPushShield(ctx, msg, rsp);
        res.reply(BD::SID_LOGIN, BD::CID_LOGIN_RES_QUERY_PUSH_SHIELD, rsp);
      });
}

}  // namespace tt::dbproxy
