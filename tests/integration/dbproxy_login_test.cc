// db_proxy_server's login-side handlers against the real daemon, MariaDB and Redis:
// CID_OTHER_VALIDATE_REQ 0x0703 (password check, throttle, credential cache, storage failure),
// push shield set/query 0x010c/0x010e, device tokens 0x0108/0x0705, and a malformed body.
// Each test makes its own users (ids 1100..1199) and groups (ids 1100..1199), so tests do not
// depend on each other; demo users are only read.
#include <hiredis/hiredis.h>
#include <mysql.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "proto/RedisKeys.h"
#include "tests/integration/DaemonProcess.h"
#include "tests/integration/DbProxyFixture.h"
#include "tests/integration/PduClient.h"
#include "tests/integration/StorageFixture.h"

namespace rk = tt::rediskey;  // the Redis layout (the spellings are pinned in tests/unit/redis_keys_test.cc)

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace tt::test {
namespace {

namespace BD = IM::BaseDefine;

constexpr int kUnreadDb = 1;
constexpr int kTokenDb = 3;
constexpr int kReplyTimeoutMs = 10000;
// md5hex("ttsuite"): what a TeamTalk client sends for the demo password.
const std::string kGoodCredential = "ce610a8a8a0c5e8ed0b26b38b8b8733d";
const std::string kBadCredential = "00000000000000000000000000000000";

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

MysqlPtr db() { return MysqlPtr(DbProxyFixture::instance().mysql()); }
RedisPtr redis(int n) { return RedisPtr(DbProxyFixture::instance().redis(n)); }

void sql(const std::string& text) {
  auto c = db();
  sqlRows(c.get(), text);
}
std::string sqlOne(const std::string& text) {
  auto c = db();
  return sqlValue(c.get(), text);
}

// A Redis command with binary-safe arguments; the reply (nil -> nullopt for strings).
ReplyPtr redisCmd(int n, const std::vector<std::string>& args) {
  auto r = redis(n);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(r.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
}
std::optional<std::string> redisGet(int n, const std::string& key) {
  auto reply = redisCmd(n, {"GET", key});
  if (!reply || reply->type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(reply->str, reply->len);
}

// A user whose password is the demo one ("ttsuite"), copied from user01's stored hash.
void createUser(uint32_t id, const std::string& name, uint32_t status = 0) {
  sql("INSERT INTO IMUser (id, sex, name, domain, nick, password, email, departId, status, created, updated, "
      "sign_info) SELECT " + std::to_string(id) + ", 1, '" + name + "', '" + name + "', 'Nick " + name +
      "', password, '" + name + "@example.com', 2, " + std::to_string(status) + ", 1700000000, 1700000000, "
      "'sig " + name + "' FROM IMUser WHERE id = 1");
}

// Sends req and waits for the reply with command rspCid; fails the test when none comes.
template <class Rsp, class Req>
Rsp call(PduClient& c, uint16_t sid, uint16_t cid, uint16_t rspCid, const Req& req, uint16_t seq = 7,
         ReceivedPdu* raw = nullptr) {
  EXPECT_TRUE(c.send(sid, cid, seq, req));
  auto pdu = c.receiveCommand(rspCid, kReplyTimeoutMs);
  EXPECT_TRUE(pdu.has_value()) << "no reply " << rspCid << " to command " << cid;
  if (!pdu) return Rsp();
  if (raw) *raw = *pdu;
  EXPECT_EQ(pdu->seq(), seq);
  return pdu->as<Rsp>();
}

int proxyPort() { return DbProxyFixture::instance().port(); }

IM::Server::IMValidateRsp validate(PduClient& c, const std::string& name, const std::string& credential,
                                   uint16_t seq = 7, const std::string& attach = "") {
  IM::Server::IMValidateReq req;
  req.set_user_name(name);
  req.set_password(credential);
  if (!attach.empty()) req.set_attach_data(attach);
  return call<IM::Server::IMValidateRsp>(c, BD::SID_OTHER, BD::CID_OTHER_VALIDATE_REQ, BD::CID_OTHER_VALIDATE_RSP,
                                         req, seq);
}

// Milliseconds one validate round trip takes.
double timedValidate(PduClient& c, const std::string& name, const std::string& credential, uint32_t expectCode) {
  const auto t0 = std::chrono::steady_clock::now();
  auto rsp = validate(c, name, credential);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(rsp.result_code(), expectCode) << name;
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// ---------------------------------------------------------------------------------------------
// CID_OTHER_VALIDATE_REQ

TEST(DbProxyLogin, RightPasswordReturnsUserInfoAndEchoesSeqAndAttach) {
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  const std::string attach("\x00\x01handle\xff", 9);
  auto rsp = validate(c, "user01", kGoodCredential, 4711, attach);
  EXPECT_EQ(rsp.user_name(), "user01");
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.result_string(), "成功");
  EXPECT_EQ(rsp.attach_data(), attach);
  ASSERT_TRUE(rsp.has_user_info());
  const auto& u = rsp.user_info();
  EXPECT_EQ(u.user_id(), 1u);
  EXPECT_EQ(u.user_real_name(), "user01");
  EXPECT_EQ(u.user_nick_name(), "User 01");
  EXPECT_EQ(u.user_gender(), 1u);
  EXPECT_EQ(u.department_id(), 1u);
  EXPECT_EQ(u.email(), "user01@example.com");
  EXPECT_EQ(u.user_domain(), "user01");
  EXPECT_EQ(u.status(), 0u);
  EXPECT_TRUE(u.has_sign_info());
}

TEST(DbProxyLogin, WrongPasswordIsRefused) {
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  const std::string attach = "ctx-wrong";
  auto rsp = validate(c, "user02", kBadCredential, 99, attach);
  EXPECT_EQ(rsp.user_name(), "user02");
  EXPECT_EQ(rsp.result_code(), 1u);
  EXPECT_EQ(rsp.result_string(), "用户名/密码错误");
  EXPECT_EQ(rsp.attach_data(), attach);
  EXPECT_FALSE(rsp.has_user_info());
}

TEST(DbProxyLogin, UnknownAndDepartedUsersAreRefusedLikeWrongPasswords) {
  createUser(1100, "login-departed", 3);
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  for (const std::string name : {"login-nobody", "login-departed", "USER01", "user01 "}) {
    auto rsp = validate(c, name, kGoodCredential);
    EXPECT_EQ(rsp.user_name(), name);
    EXPECT_EQ(rsp.result_code(), 1u) << name;
    EXPECT_EQ(rsp.result_string(), "用户名/密码错误") << name;
    EXPECT_FALSE(rsp.has_user_info()) << name;
  }
}

TEST(DbProxyLogin, UnknownUserCostsAboutAsMuchAsAWrongPassword) {
  // The unknown name is checked against a dummy hash, so response time does not reveal which
  // names exist. Load on the machine only ever adds time, so the fastest of five interleaved tries
  // is each case's own cost (a median still moves when a busy machine slows two tries of one
  // kind); distinct names and five failures keep every name below the throttle.
  createUser(1101, "login-timing");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  std::vector<double> wrong, unknown;
  for (int i = 0; i < 5; ++i) {
    wrong.push_back(timedValidate(c, "login-timing", kBadCredential, 1));
    unknown.push_back(timedValidate(c, "login-ghost-" + std::to_string(i), kBadCredential, 1));
  }
  const double w = *std::min_element(wrong.begin(), wrong.end());
  const double u = *std::min_element(unknown.begin(), unknown.end());
  EXPECT_GT(u, w * 0.5) << "unknown " << u << " ms, wrong password " << w << " ms";
  EXPECT_LT(u, w * 2.0) << "unknown " << u << " ms, wrong password " << w << " ms";
}

TEST(DbProxyLogin, TooManyFailuresAreRefusedWithCode6UntilTheWindowPasses) {
  createUser(1102, "login-throttled");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  // More than 10 failures in 30 minutes (docs/PROTOCOL.md §3.2.2): failures 1..11 are answered 1.
  double slowest = 0;
  for (int i = 1; i <= 11; ++i) {
    slowest = std::max(slowest, timedValidate(c, "login-throttled", kBadCredential, 1));
  }
  // From then on even the right password is refused, without running the KDF.
  const auto t0 = std::chrono::steady_clock::now();
  auto rsp = validate(c, "login-throttled", kGoodCredential, 12, "att");
  const double refusedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(rsp.result_code(), 6u);
  EXPECT_EQ(rsp.result_string(), "用户名/密码错误次数太多");
  EXPECT_EQ(rsp.attach_data(), "att");
  EXPECT_FALSE(rsp.has_user_info());
  EXPECT_LT(refusedMs, slowest) << "a refused attempt should be cheaper than a verify";
  // Other names are not affected.
  EXPECT_EQ(validate(c, "user03", kGoodCredential).result_code(), 0u);
}

TEST(DbProxyLogin, SecondRightLoginIsServedFromTheCredentialCache) {
  createUser(1103, "login-cached");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  const double first = timedValidate(c, "login-cached", kGoodCredential, 0);
  double cached = 1e9;
  for (int i = 0; i < 5; ++i) cached = std::min(cached, timedValidate(c, "login-cached", kGoodCredential, 0));
  // One PBKDF2 verify is tens of ms; a cache hit is a map lookup plus the row query.
  EXPECT_GT(first, cached * 3) << "first " << first << " ms, cached " << cached << " ms";
  // A wrong password is never answered from the cache.
  EXPECT_EQ(validate(c, "login-cached", kBadCredential).result_code(), 1u);
  // A changed stored hash misses the cache at once: the old credential no longer works.
  sql("UPDATE IMUser SET password = 'pbkdf2-sha256$1$AAAAAAAAAAAAAAAAAAAAAA==$"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' WHERE id = 1103");
  EXPECT_EQ(validate(c, "login-cached", kGoodCredential).result_code(), 1u);
}

TEST(DbProxyLogin, StorageFailureAnswersServerErrorAndIsNotCountedAsAFailure) {
  // A second daemon whose MariaDB and Redis ports lead nowhere.
  auto& proxy = DbProxyFixture::instance();
  const int deadPort = pickFreeLoopbackPort();
  const int port = pickFreeLoopbackPort();
  std::string conf = dbProxyConf(proxy.storage(), port);
  for (const int p : {proxy.storage().mysqlPort, proxy.storage().redisPort}) {
    const std::string from = "_port=" + std::to_string(p) + "\n", to = "_port=" + std::to_string(deadPort) + "\n";
    for (size_t at = conf.find(from); at != std::string::npos; at = conf.find(from, at + to.size())) {
      conf.replace(at, from.size(), to);
    }
  }
  const std::string dir = makeTempDir("ttdbproxy-dead-");
  DaemonProcess dead(daemonBinary("db_proxy_server"), "db_proxy_server");
  dead.start(dir, conf, port);

  PduClient c;
  ASSERT_TRUE(c.connect(port));
  for (int i = 0; i < 12; ++i) {  // more than the throttle allows: storage errors are not failures
    auto rsp = validate(c, "user01", kGoodCredential, static_cast<uint16_t>(100 + i), "a");
    ASSERT_EQ(rsp.result_code(), 3u) << "attempt " << i;
    EXPECT_EQ(rsp.result_string(), "服务端异常");
    EXPECT_EQ(rsp.attach_data(), "a");
    EXPECT_FALSE(rsp.has_user_info());
  }
  IM::Login::IMQueryPushShieldReq q;
  q.set_user_id(1);
  auto qr = call<IM::Login::IMQueryPushShieldRsp>(c, BD::SID_LOGIN, BD::CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
                                                   BD::CID_LOGIN_RES_QUERY_PUSH_SHIELD, q);
  EXPECT_EQ(qr.result_code(), 1u);
  IM::Server::IMGetDeviceTokenReq t;
  t.add_user_id(1);
  t.set_attach_data("msg");
  auto tr = call<IM::Server::IMGetDeviceTokenRsp>(c, BD::SID_OTHER, BD::CID_OTHER_GET_DEVICE_TOKEN_REQ,
                                                   BD::CID_OTHER_GET_DEVICE_TOKEN_RSP, t);
  EXPECT_EQ(tr.user_token_info_size(), 0);
  EXPECT_EQ(tr.attach_data(), "msg");
  IM::Login::IMDeviceTokenReq d;
  d.set_user_id(1);
  d.set_device_token("tok");
  auto dr = call<IM::Login::IMDeviceTokenRsp>(c, BD::SID_LOGIN, BD::CID_LOGIN_REQ_DEVICETOKEN,
                                               BD::CID_LOGIN_RES_DEVICETOKEN, d);
  EXPECT_EQ(dr.user_id(), 1u);
  c.close();
  EXPECT_EQ(dead.stop(), 0) << dead.logTail();
  removeTree(dir);
}

// ---------------------------------------------------------------------------------------------
// Push shield

IM::Login::IMPushShieldRsp setShield(PduClient& c, uint32_t uid, uint32_t status) {
  IM::Login::IMPushShieldReq req;
  req.set_user_id(uid);
  req.set_shield_status(status);
  req.set_attach_data("shield");
  auto rsp = call<IM::Login::IMPushShieldRsp>(c, BD::SID_LOGIN, BD::CID_LOGIN_REQ_PUSH_SHIELD,
                                              BD::CID_LOGIN_RES_PUSH_SHIELD, req, 31);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), "shield");
  return rsp;
}
IM::Login::IMQueryPushShieldRsp queryShield(PduClient& c, uint32_t uid) {
  IM::Login::IMQueryPushShieldReq req;
  req.set_user_id(uid);
  req.set_attach_data("query");
  auto rsp = call<IM::Login::IMQueryPushShieldRsp>(c, BD::SID_LOGIN, BD::CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
                                                   BD::CID_LOGIN_RES_QUERY_PUSH_SHIELD, req, 32);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), "query");
  return rsp;
}

TEST(DbProxyLogin, PushShieldIsSetAndQueried) {
  createUser(1110, "login-shield");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  auto on = setShield(c, 1110, 1);
  EXPECT_EQ(on.result_code(), 0u);
  EXPECT_EQ(on.shield_status(), 1u);
  EXPECT_EQ(sqlOne("SELECT push_shield_status FROM IMUser WHERE id = 1110"), "1");
  auto q1 = queryShield(c, 1110);
  EXPECT_EQ(q1.result_code(), 0u);
  EXPECT_EQ(q1.shield_status(), 1u);
  EXPECT_EQ(setShield(c, 1110, 1).result_code(), 0u);  // setting the same value again is fine

  auto off = setShield(c, 1110, 0);
  EXPECT_EQ(off.result_code(), 0u);
  EXPECT_EQ(off.shield_status(), 0u);
  EXPECT_EQ(queryShield(c, 1110).shield_status(), 0u);

  auto bad = setShield(c, 1110, 7);  // only 0/1
  EXPECT_EQ(bad.result_code(), 1u);
  EXPECT_FALSE(bad.has_shield_status());
  EXPECT_EQ(sqlOne("SELECT push_shield_status FROM IMUser WHERE id = 1110"), "0");

  EXPECT_EQ(setShield(c, 1199999, 1).result_code(), 1u);  // no such user
  auto missing = queryShield(c, 1199999);
  EXPECT_EQ(missing.result_code(), 1u);
  EXPECT_FALSE(missing.has_shield_status());
}

// ---------------------------------------------------------------------------------------------
// Device tokens

void setToken(PduClient& c, uint32_t uid, const std::string& token, BD::ClientType type) {
  IM::Login::IMDeviceTokenReq req;
  req.set_user_id(uid);
  req.set_device_token(token);
  req.set_client_type(type);
  req.set_attach_data("tok-attach");
  auto rsp = call<IM::Login::IMDeviceTokenRsp>(c, BD::SID_LOGIN, BD::CID_LOGIN_REQ_DEVICETOKEN,
                                               BD::CID_LOGIN_RES_DEVICETOKEN, req, 41);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), "tok-attach");
}

IM::Server::IMGetDeviceTokenRsp getTokens(PduClient& c, const std::vector<uint32_t>& uids, const std::string& attach) {
  IM::Server::IMGetDeviceTokenReq req;
  for (uint32_t u : uids) req.add_user_id(u);
  req.set_attach_data(attach);
  auto rsp = call<IM::Server::IMGetDeviceTokenRsp>(c, BD::SID_OTHER, BD::CID_OTHER_GET_DEVICE_TOKEN_REQ,
                                                   BD::CID_OTHER_GET_DEVICE_TOKEN_RSP, req, 42);
  EXPECT_EQ(rsp.attach_data(), attach);
  return rsp;
}

bool quietHourNow() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return local.tm_hour >= 22 || local.tm_hour <= 7;
}

TEST(DbProxyLogin, DeviceTokensAreStoredWithTheirClientTypePrefix) {
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  const std::string ios = "aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01aa01";
  setToken(c, 1120, ios, BD::CLIENT_TYPE_IOS);
  setToken(c, 1121, "fcm:token/1121", BD::CLIENT_TYPE_ANDROID);
  setToken(c, 1122, "pc-token-1122", BD::CLIENT_TYPE_WINDOWS);
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1120)), std::string(rk::kIosTokenPrefix) + ios);
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey(ios)), "1120");
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1121)), std::string(rk::kAndroidTokenPrefix) + "fcm:token/1121");
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey("fcm:token/1121")), std::string("1121"));
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1122)), std::string("pc-token-1122"));

  // A new token for 1121: the old reverse entry goes.
  setToken(c, 1121, "fcm-new-1121", BD::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1121)), std::string(rk::kAndroidTokenPrefix) + "fcm-new-1121");
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey("fcm:token/1121")), std::nullopt);
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey("fcm-new-1121")), std::string("1121"));

  // The iPhone moves to account 1123: 1120 must stop getting its pushes.
  setToken(c, 1123, ios, BD::CLIENT_TYPE_IOS);
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1120)), std::nullopt);
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1123)), std::string(rk::kIosTokenPrefix) + ios);
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey(ios)), "1123");

  // Logout (empty token) clears the user's token and its reverse entry.
  setToken(c, 1123, "", BD::CLIENT_TYPE_IOS);
  EXPECT_EQ(redisGet(kTokenDb, rk::userTokenKey(1123)), std::nullopt);
  EXPECT_EQ(redisGet(kTokenDb, rk::tokenOwnerKey(ios)), std::nullopt);
}

TEST(DbProxyLogin, GetDeviceTokensReportsTypeTokenAndTotalUnread) {
  createUser(1130, "login-push-ios");
  createUser(1131, "login-push-android");
  createUser(1132, "login-push-pc");
  sql("UPDATE IMUser SET push_shield_status = 1 WHERE id = 1130");
  // Group 1130 has 10 messages; 1130 read up to 6, 1131 never read. Group 1131 (5 messages) was
  // left by 1130, so it does not count.
  sql("INSERT INTO IMGroup (id, name, creator, type, status, msgSeq, created, updated) VALUES "
      "(1130, 'login-g1', 1130, 2, 0, 10, 1700000000, 1700000000), "
      "(1131, 'login-g2', 1130, 2, 0, 5, 1700000000, 1700000000)");
  sql("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES "
      "(1130, 1130, 0, 1700000000, 1700000000), (1130, 1131, 0, 1700000000, 1700000000), "
      "(1131, 1130, 1, 1700000000, 1700000000)");
  redisCmd(kUnreadDb, {"HSET", rk::unreadKey(1130), "2", "3", "5", "4"});
  redisCmd(kUnreadDb, {"HSET", rk::groupReadKey(1130, 1130), rk::kGroupReadField, "6"});
  redisCmd(kUnreadDb, {"HSET", rk::unreadKey(1131), "1", "2"});

  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  setToken(c, 1130, "ios-token-1130", BD::CLIENT_TYPE_IOS);
  setToken(c, 1131, "android-token-1131", BD::CLIENT_TYPE_ANDROID);
  setToken(c, 1132, "pc-token-1132", BD::CLIENT_TYPE_MAC);  // no prefix: never pushed

  const bool quietBefore = quietHourNow();
  auto rsp = getTokens(c, {1132, 1131, 1130, 1133, 1131}, std::string("\x01\x02msgdata", 9));
  const bool quietAfter = quietHourNow();
  ASSERT_EQ(rsp.user_token_info_size(), 2);
  const auto& a = rsp.user_token_info(0);  // request order, duplicates once
  EXPECT_EQ(a.user_id(), 1131u);
  EXPECT_EQ(a.user_type(), BD::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(a.token(), "android-token-1131");
  EXPECT_EQ(a.push_count(), 2u + 10u);  // 1:1 unread + group 1130 never read
  EXPECT_EQ(a.push_type(), 1u);
  const auto& i = rsp.user_token_info(1);
  EXPECT_EQ(i.user_id(), 1130u);
  EXPECT_EQ(i.user_type(), BD::CLIENT_TYPE_IOS);
  EXPECT_EQ(i.token(), "ios-token-1130");
  EXPECT_EQ(i.push_count(), 3u + 4u + (10u - 6u));
  if (quietBefore == quietAfter) {  // not at an hour boundary
    EXPECT_EQ(i.push_type(), quietBefore ? 2u : 1u);
  }

  // Nobody with a token: an empty list, attach still echoed.
  EXPECT_EQ(getTokens(c, {1132, 1133}, "x").user_token_info_size(), 0);
}

// ---------------------------------------------------------------------------------------------
// Protocol violations

TEST(DbProxyLogin, MalformedBodyClosesOnlyThatConnection) {
  PduClient good;
  ASSERT_TRUE(good.connect(proxyPort()));
  PduClient bad;
  ASSERT_TRUE(bad.connect(proxyPort()));
  // A length-delimited field whose length runs past the body.
  ASSERT_TRUE(bad.sendRaw(net::encodePdu(BD::SID_OTHER, BD::CID_OTHER_VALIDATE_REQ, 5, std::string("\x0a\x7f\x41", 3))));
  EXPECT_TRUE(bad.waitClosed(20000));
  // A body that parses but lacks the required password.
  PduClient missing;
  ASSERT_TRUE(missing.connect(proxyPort()));
  ASSERT_TRUE(missing.sendRaw(net::encodePdu(BD::SID_OTHER, BD::CID_OTHER_VALIDATE_REQ, 6,
                                             std::string("\x0a\x06user01", 8))));
  EXPECT_TRUE(missing.waitClosed(20000));
  EXPECT_EQ(validate(good, "user04", kGoodCredential).result_code(), 0u);
}

}  // namespace
}  // namespace tt::test
