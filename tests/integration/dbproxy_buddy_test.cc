// db_proxy_server's IM.Buddy handlers against the real daemon, MariaDB and Redis: recent sessions
// (0x0201) after messages stored through CID_MSG_DATA, remove session (0x0206), user info (0x0204),
// incremental user and department sync (0x0208, 0x0210), sign info (0x0213), avatar (0x020c), a
// storage outage and a malformed body. Each test makes its own users (ids 1200..1299), groups and
// departments (ids 1200..1299), so tests do not depend on each other; demo rows are only read.
#include <hiredis/hiredis.h>
#include <mysql.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
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
namespace Buddy = IM::Buddy;

constexpr int kUnreadDb = 1;
constexpr int kReplyTimeoutMs = 10000;

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

int proxyPort() { return DbProxyFixture::instance().port(); }

void sql(const std::string& text) {
  MysqlPtr c(DbProxyFixture::instance().mysql());
  sqlRows(c.get(), text);
}
std::string sqlOne(const std::string& text) {
  MysqlPtr c(DbProxyFixture::instance().mysql());
  return sqlValue(c.get(), text);
}
uint32_t sqlU32(const std::string& text) { return static_cast<uint32_t>(std::stoul(sqlOne(text))); }

ReplyPtr redisCmd(int n, const std::vector<std::string>& args) {
  RedisPtr r(DbProxyFixture::instance().redis(n));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(r.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
}

// A SQL literal holding exactly these bytes as utf8mb4 text, whatever they contain.
std::string textLiteral(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out = "_utf8mb4 X'";
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out + "'";
}

void createUser(uint32_t id, const std::string& name, uint32_t status = 0, uint32_t updated = 1700000000,
                const std::string& nick = "", const std::string& sign = "") {
  sql("INSERT INTO IMUser (id, sex, name, domain, nick, password, phone, email, avatar, departId, status, created, "
      "updated, sign_info) VALUES (" + std::to_string(id) + ", 2, " + textLiteral(name) + ", 'dom" +
      std::to_string(id) + "', " + textLiteral(nick.empty() ? "Nick " + name : nick) + ", '', '1380000" +
      std::to_string(id) + "', 'u" + std::to_string(id) + "@example.com', 'http://a/" + std::to_string(id) +
      ".png', 3, " + std::to_string(status) + ", 1700000000, " + std::to_string(updated) + ", " +
      textLiteral(sign) + ")");
}

template <class Rsp, class Req>
Rsp call(PduClient& c, uint16_t cid, uint16_t rspCid, const Req& req, uint16_t seq = 9) {
  EXPECT_TRUE(c.send(BD::SID_BUDDY_LIST, cid, seq, req));
  auto pdu = c.receiveCommand(rspCid, kReplyTimeoutMs);
  EXPECT_TRUE(pdu.has_value()) << "no reply " << rspCid << " to command " << cid;
  if (!pdu) return Rsp();
  EXPECT_EQ(pdu->seq(), seq);
  return pdu->as<Rsp>();
}

// Stores a message through MessageStore (CID_MSG_DATA); returns the msg_id it was given.
uint32_t sendMessage(PduClient& c, uint32_t from, uint32_t to, const std::string& data,
                     BD::MsgType type = BD::MSG_TYPE_SINGLE_TEXT) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(0);
  m.set_create_time(0);
  m.set_msg_type(type);
  m.set_msg_data(data);
  EXPECT_TRUE(c.send(BD::SID_MSG, BD::CID_MSG_DATA, 3, m));
  auto pdu = c.receiveCommand(BD::CID_MSG_DATA, kReplyTimeoutMs);
  EXPECT_TRUE(pdu.has_value());
  if (!pdu) return 0;
  const uint32_t id = pdu->as<IM::Message::IMMsgData>().msg_id();
  EXPECT_NE(id, 0u) << "message from " << from << " to " << to << " not stored";
  return id;
}

Buddy::IMRecentContactSessionRsp recentSessions(PduClient& c, uint32_t uid, uint32_t since,
                                               const std::string& attach = "rs") {
  Buddy::IMRecentContactSessionReq req;
  req.set_user_id(uid);
  req.set_latest_update_time(since);
  req.set_attach_data(attach);
  auto rsp = call<Buddy::IMRecentContactSessionRsp>(c, BD::CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST,
                                                   BD::CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE, req, 21);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), attach);
  return rsp;
}

Buddy::IMUsersInfoRsp usersInfo(PduClient& c, const std::vector<uint32_t>& ids) {
  Buddy::IMUsersInfoReq req;
  req.set_user_id(1);
  for (uint32_t id : ids) req.add_user_id_list(id);
  req.set_attach_data("ui");
  auto rsp = call<Buddy::IMUsersInfoRsp>(c, BD::CID_BUDDY_LIST_USER_INFO_REQUEST, BD::CID_BUDDY_LIST_USER_INFO_RESPONSE,
                                        req, 22);
  EXPECT_EQ(rsp.user_id(), 1u);
  EXPECT_EQ(rsp.attach_data(), "ui");
  return rsp;
}

Buddy::IMAllUserRsp allUsers(PduClient& c, uint32_t since) {
  Buddy::IMAllUserReq req;
  req.set_user_id(2);
  req.set_latest_update_time(since);
  req.set_attach_data("all");
  auto rsp = call<Buddy::IMAllUserRsp>(c, BD::CID_BUDDY_LIST_ALL_USER_REQUEST, BD::CID_BUDDY_LIST_ALL_USER_RESPONSE,
                                      req, 23);
  EXPECT_EQ(rsp.user_id(), 2u);
  EXPECT_EQ(rsp.attach_data(), "all");
  return rsp;
}

Buddy::IMDepartmentRsp departments(PduClient& c, uint32_t since) {
  Buddy::IMDepartmentReq req;
  req.set_user_id(3);
  req.set_latest_update_time(since);
  req.set_attach_data("dep");
  auto rsp = call<Buddy::IMDepartmentRsp>(c, BD::CID_BUDDY_LIST_DEPARTMENT_REQUEST,
                                         BD::CID_BUDDY_LIST_DEPARTMENT_RESPONSE, req, 24);
  EXPECT_EQ(rsp.user_id(), 3u);
  EXPECT_EQ(rsp.attach_data(), "dep");
  return rsp;
}

Buddy::IMRemoveSessionRsp removeSession(PduClient& c, uint32_t uid, BD::SessionType type, uint32_t peer) {
  Buddy::IMRemoveSessionReq req;
  req.set_user_id(uid);
  req.set_session_type(type);
  req.set_session_id(peer);
  req.set_attach_data("rm");
  auto rsp = call<Buddy::IMRemoveSessionRsp>(c, BD::CID_BUDDY_LIST_REMOVE_SESSION_REQ,
                                            BD::CID_BUDDY_LIST_REMOVE_SESSION_RES, req, 25);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.session_type(), type);
  EXPECT_EQ(rsp.session_id(), peer);
  EXPECT_EQ(rsp.attach_data(), "rm");
  return rsp;
}

Buddy::IMChangeSignInfoRsp changeSign(PduClient& c, uint32_t uid, const std::string& sign) {
  Buddy::IMChangeSignInfoReq req;
  req.set_user_id(uid);
  req.set_sign_info(sign);
  req.set_attach_data("sign");
  auto rsp = call<Buddy::IMChangeSignInfoRsp>(c, BD::CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
                                             BD::CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, req, 26);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), "sign");
  return rsp;
}

Buddy::IMChangeAvatarRsp changeAvatar(PduClient& c, uint32_t uid, const std::string& url) {
  Buddy::IMChangeAvatarReq req;
  req.set_user_id(uid);
  req.set_avatar_url(url);
  req.set_attach_data("av");
  auto rsp = call<Buddy::IMChangeAvatarRsp>(c, BD::CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST,
                                           BD::CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, req, 27);
  EXPECT_EQ(rsp.user_id(), uid);
  EXPECT_EQ(rsp.attach_data(), "av");
  return rsp;
}

std::set<uint32_t> idsOf(const google::protobuf::RepeatedPtrField<BD::UserInfo>& users) {
  std::set<uint32_t> ids;
  for (const auto& u : users) ids.insert(u.user_id());
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Recent sessions and removing them

TEST(DbProxyBuddy, RecentSessionsListNewestFirstWithTheirLastMessage) {
  for (uint32_t id : {1210u, 1211u, 1212u}) createUser(id, "buddy-rs-" + std::to_string(id));
  sql("INSERT INTO IMGroup (id, name, creator, type, status, created, updated) VALUES "
      "(1210, 'buddy-rs-group', 1210, 2, 0, 1700000000, 1700000000)");
  sql("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES "
      "(1210, 1210, 0, 1700000000, 1700000000), (1210, 1211, 0, 1700000000, 1700000000)");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  EXPECT_EQ(sendMessage(c, 1210, 1211, "aGVsbG8tMQ=="), 1u);
  EXPECT_EQ(sendMessage(c, 1211, 1210, "cmVwbHktMg=="), 2u);
  EXPECT_EQ(sendMessage(c, 1210, 1212, "dG8tMTIxMg=="), 1u);
  EXPECT_EQ(sendMessage(c, 1211, 1210, "Z3JvdXAtaGk=", BD::MSG_TYPE_GROUP_TEXT), 1u);

  // Fix the order (all of the above happened within a second or two). Future times, so the group
  // session refresher (updated = GREATEST(updated, lastChated)) leaves them alone.
  const uint32_t t0 = sqlU32("SELECT UNIX_TIMESTAMP()") + 1000;
  sql("UPDATE IMRecentSession SET updated = " + std::to_string(t0 + 20) + " WHERE userId = 1210 AND peerId = 1211 AND type = 1");
  sql("UPDATE IMRecentSession SET updated = " + std::to_string(t0 + 50) + " WHERE userId = 1210 AND peerId = 1212 AND type = 1");
  sql("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (1210, 1210, 2, 0, " +
      std::to_string(t0) + ", " + std::to_string(t0 + 100) + ") ON DUPLICATE KEY UPDATE status = 0, updated = " +
      std::to_string(t0 + 100));
  // A session without any message, and a removed one: neither is listed.
  sql("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES "
      "(1210, 1299, 1, 0, " + std::to_string(t0) + ", " + std::to_string(t0 + 200) + "), "
      "(1210, 1298, 2, 1, " + std::to_string(t0) + ", " + std::to_string(t0 + 300) + ")");

  auto rsp = recentSessions(c, 1210, 0, std::string("\x00\x07", 2));
  ASSERT_EQ(rsp.contact_session_list_size(), 3);
  const auto& g = rsp.contact_session_list(0);
  EXPECT_EQ(g.session_id(), 1210u);
  EXPECT_EQ(g.session_type(), BD::SESSION_TYPE_GROUP);
  EXPECT_EQ(g.session_status(), BD::SESSION_STATUS_OK);
  EXPECT_EQ(g.updated_time(), t0 + 100);
  EXPECT_EQ(g.latest_msg_id(), 1u);
  EXPECT_EQ(g.latest_msg_data(), "Z3JvdXAtaGk=");
  EXPECT_EQ(g.latest_msg_type(), BD::MSG_TYPE_GROUP_TEXT);
  EXPECT_EQ(g.latest_msg_from_user_id(), 1211u);

  const auto& s1 = rsp.contact_session_list(1);
  EXPECT_EQ(s1.session_id(), 1212u);
  EXPECT_EQ(s1.session_type(), BD::SESSION_TYPE_SINGLE);
  EXPECT_EQ(s1.updated_time(), t0 + 50);
  EXPECT_EQ(s1.latest_msg_id(), 1u);
  EXPECT_EQ(s1.latest_msg_data(), "dG8tMTIxMg==");
  EXPECT_EQ(s1.latest_msg_type(), BD::MSG_TYPE_SINGLE_TEXT);
  EXPECT_EQ(s1.latest_msg_from_user_id(), 1210u);  // the real sender (1210 itself), not the peer

  const auto& s2 = rsp.contact_session_list(2);
  EXPECT_EQ(s2.session_id(), 1211u);
  EXPECT_EQ(s2.updated_time(), t0 + 20);
  EXPECT_EQ(s2.latest_msg_id(), 2u);
  EXPECT_EQ(s2.latest_msg_data(), "cmVwbHktMg==");
  EXPECT_EQ(s2.latest_msg_from_user_id(), 1211u);

  // Incremental: only sessions updated after the mark.
  auto newer = recentSessions(c, 1210, t0 + 50);
  ASSERT_EQ(newer.contact_session_list_size(), 1);
  EXPECT_EQ(newer.contact_session_list(0).session_id(), 1210u);
  EXPECT_EQ(recentSessions(c, 1210, t0 + 100).contact_session_list_size(), 0);

  // A deleted last message: the session shows the newest message still there.
  sql("UPDATE IMMessage_" + std::to_string(sqlU32("SELECT id FROM IMRelationShip WHERE smallId = 1210 AND bigId = 1211") % 8) +
      " SET status = 1 WHERE msgId = 2 AND relateId = (SELECT id FROM IMRelationShip WHERE smallId = 1210 AND bigId = 1211)");
  auto afterDelete = recentSessions(c, 1210, 0);
  ASSERT_EQ(afterDelete.contact_session_list_size(), 3);
  EXPECT_EQ(afterDelete.contact_session_list(2).latest_msg_id(), 1u);
  EXPECT_EQ(afterDelete.contact_session_list(2).latest_msg_from_user_id(), 1210u);
}

TEST(DbProxyBuddy, RemoveSessionMarksItDeletedAndClearsItsUnreadCount) {
  createUser(1220, "buddy-rm-a");
  createUser(1221, "buddy-rm-b");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  sendMessage(c, 1220, 1221, "cm0tMQ==");
  sendMessage(c, 1220, 1221, "cm0tMg==");
  auto unread = redisCmd(kUnreadDb, {"HGET", rk::unreadKey(1221), "1220"});
  ASSERT_EQ(unread->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(unread->str, unread->len), "2");
  ASSERT_EQ(recentSessions(c, 1221, 0).contact_session_list_size(), 1);

  auto rsp = removeSession(c, 1221, BD::SESSION_TYPE_SINGLE, 1220);
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(sqlOne("SELECT status FROM IMRecentSession WHERE userId = 1221 AND peerId = 1220 AND type = 1"), "1");
  EXPECT_EQ(redisCmd(kUnreadDb, {"HEXISTS", rk::unreadKey(1221), "1220"})->integer, 0);
  EXPECT_EQ(recentSessions(c, 1221, 0).contact_session_list_size(), 0);
  // The other side keeps its session.
  EXPECT_EQ(sqlOne("SELECT status FROM IMRecentSession WHERE userId = 1220 AND peerId = 1221 AND type = 1"), "0");
  EXPECT_EQ(recentSessions(c, 1220, 0).contact_session_list_size(), 1);

  // A new message brings the session back.
  sendMessage(c, 1220, 1221, "cm0tMw==");
  EXPECT_EQ(recentSessions(c, 1221, 0).contact_session_list_size(), 1);

  // No such session.
  EXPECT_EQ(removeSession(c, 1221, BD::SESSION_TYPE_GROUP, 1220).result_code(), 1u);
  EXPECT_EQ(removeSession(c, 1221, BD::SESSION_TYPE_SINGLE, 1297).result_code(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Users and departments

TEST(DbProxyBuddy, UserInfoIsByteExactInRequestOrderAnyStatus) {
  const std::string name = "b'q\"\\\\😀";  // quote, double quote, two backslashes, a 4-byte emoji
  const std::string nick = "Nick ' OR '1'='1 \xF0\x9F\x8E\x89";
  const std::string sign = "sig\\n\" ; -- 🙂";
  createUser(1230, name, 0, 1700000000, nick, sign);
  createUser(1231, "buddy-departed", 3);
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  auto rsp = usersInfo(c, {1231, 1230, 1296, 1, 1230});
  ASSERT_EQ(rsp.user_info_list_size(), 3);
  EXPECT_EQ(rsp.user_info_list(0).user_id(), 1231u);
  EXPECT_EQ(rsp.user_info_list(0).status(), 3u);  // departed users are still described
  const auto& u = rsp.user_info_list(1);
  EXPECT_EQ(u.user_id(), 1230u);
  EXPECT_EQ(u.user_real_name(), name);
  EXPECT_EQ(u.user_nick_name(), nick);
  EXPECT_EQ(u.sign_info(), sign);
  EXPECT_EQ(u.user_gender(), 2u);
  EXPECT_EQ(u.avatar_url(), "http://a/1230.png");
  EXPECT_EQ(u.department_id(), 3u);
  EXPECT_EQ(u.email(), "u1230@example.com");
  EXPECT_EQ(u.user_tel(), "13800001230");
  EXPECT_EQ(u.user_domain(), "dom1230");
  EXPECT_EQ(u.status(), 0u);
  EXPECT_EQ(rsp.user_info_list(2).user_id(), 1u);
  EXPECT_EQ(rsp.user_info_list(2).user_real_name(), "user01");

  EXPECT_EQ(usersInfo(c, {}).user_info_list_size(), 0);
  // More ids than one IN (...) chunk holds.
  std::vector<uint32_t> many;
  for (uint32_t i = 0; i < 300; ++i) many.push_back(i % 20 + 1 + (i / 20) * 1000000);
  auto big = usersInfo(c, many);
  ASSERT_EQ(big.user_info_list_size(), 20);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(big.user_info_list(i).user_id(), static_cast<uint32_t>(i + 1));
}

TEST(DbProxyBuddy, AllUsersSyncIncrementallyByTheTablesNewestUpdate) {
  const uint32_t base = sqlU32("SELECT MAX(updated) FROM IMUser");
  createUser(1240, "buddy-all-gone", 3, base);  // departed
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));

  // Full sync: everyone who has not left; the mark is the table's newest update.
  auto full = allUsers(c, 0);
  EXPECT_EQ(full.latest_update_time(), sqlU32("SELECT MAX(updated) FROM IMUser"));
  auto ids = idsOf(full.user_list());
  EXPECT_EQ(ids.size(), std::stoul(sqlOne("SELECT COUNT(*) FROM IMUser WHERE status != 3")));
  for (uint32_t id = 1; id <= 20; ++id) EXPECT_TRUE(ids.count(id)) << id;
  EXPECT_FALSE(ids.count(1240));

  // Nothing changed since the mark: nothing sent, same mark back.
  const uint32_t mark = full.latest_update_time();
  auto none = allUsers(c, mark);
  EXPECT_EQ(none.user_list_size(), 0);
  EXPECT_EQ(none.latest_update_time(), mark);

  // A new user and a user who left, both after the mark: both sent (the client hides status 3).
  createUser(1241, "buddy-all-new", 0, mark + 5);
  sql("UPDATE IMUser SET status = 3, updated = " + std::to_string(mark + 6) + " WHERE id = 1240");
  auto inc = allUsers(c, mark);
  EXPECT_EQ(inc.latest_update_time(), mark + 6);
  auto incIds = idsOf(inc.user_list());
  EXPECT_TRUE(incIds.count(1241));
  EXPECT_TRUE(incIds.count(1240));
  for (const auto& u : inc.user_list()) {
    EXPECT_GE(sqlU32("SELECT updated FROM IMUser WHERE id = " + std::to_string(u.user_id())), mark) << u.user_id();
    if (u.user_id() == 1240) {
      EXPECT_EQ(u.status(), 3u);
    }
  }
  auto again = allUsers(c, inc.latest_update_time());
  EXPECT_EQ(again.user_list_size(), 0);
  EXPECT_EQ(again.latest_update_time(), mark + 6);
}

TEST(DbProxyBuddy, DepartmentsSyncIncrementallyAndSkipUnknownStatuses) {
  const uint32_t base = sqlU32("SELECT MAX(updated) FROM IMDepart");
  sql("INSERT INTO IMDepart (id, departName, priority, parentId, status, created, updated) VALUES "
      "(1250, " + textLiteral("研发 'R&D'") + ", 7, 1, 0, 1700000000, " + std::to_string(base + 3) + "), "
      "(1251, 'buddy-closed', 8, 1250, 1, 1700000000, " + std::to_string(base + 4) + "), "
      "(1252, 'buddy-odd', 9, 0, 7, 1700000000, " + std::to_string(base + 5) + ")");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  auto full = departments(c, 0);
  EXPECT_EQ(full.latest_update_time(), base + 5);
  std::set<uint32_t> ids;
  for (const auto& d : full.dept_list()) ids.insert(d.dept_id());
  for (uint32_t id : {1u, 2u, 3u, 1250u, 1251u}) EXPECT_TRUE(ids.count(id)) << id;
  EXPECT_FALSE(ids.count(1252));  // status 7 is no DepartmentStatusType
  for (const auto& d : full.dept_list()) {
    if (d.dept_id() == 1250) {
      EXPECT_EQ(d.dept_name(), "研发 'R&D'");
      EXPECT_EQ(d.priority(), 7u);
      EXPECT_EQ(d.parent_dept_id(), 1u);
      EXPECT_EQ(d.dept_status(), BD::DEPT_STATUS_OK);
    }
    if (d.dept_id() == 1251) {
      EXPECT_EQ(d.dept_status(), BD::DEPT_STATUS_DELETE);
    }
  }
  auto none = departments(c, base + 5);
  EXPECT_EQ(none.dept_list_size(), 0);
  EXPECT_EQ(none.latest_update_time(), base + 5);
  auto inc = departments(c, base + 4);
  ASSERT_EQ(inc.dept_list_size(), 1);
  EXPECT_EQ(inc.dept_list(0).dept_id(), 1251u);
  EXPECT_EQ(inc.latest_update_time(), base + 5);
}

// ---------------------------------------------------------------------------------------------
// Profile changes

TEST(DbProxyBuddy, SignInfoIsLimitedTo128BytesAndStoredVerbatim) {
  createUser(1260, "buddy-sign", 0, 1700000000, "", "old");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  auto tooLong = changeSign(c, 1260, std::string(129, 'x'));
  EXPECT_EQ(tooLong.result_code(), 1u);
  EXPECT_FALSE(tooLong.has_sign_info());
  EXPECT_EQ(sqlOne("SELECT sign_info FROM IMUser WHERE id = 1260"), "old");
  EXPECT_EQ(changeSign(c, 1260, std::string("bad \xC3\x28 utf8")).result_code(), 1u);
  EXPECT_EQ(changeSign(c, 1296, "nobody").result_code(), 1u);

  const std::string injection = "'); DROP TABLE IMUser; -- \\' \"x\" 😀";
  auto ok = changeSign(c, 1260, injection);
  EXPECT_EQ(ok.result_code(), 0u);
  EXPECT_EQ(ok.sign_info(), injection);
  EXPECT_EQ(sqlOne("SELECT sign_info FROM IMUser WHERE id = 1260"), injection);
  EXPECT_GT(sqlU32("SELECT updated FROM IMUser WHERE id = 1260"), 1700000000u);  // seen by IMAllUserReq
  EXPECT_EQ(usersInfo(c, {1260}).user_info_list(0).sign_info(), injection);
  EXPECT_EQ(sqlOne("SELECT COUNT(*) FROM IMUser WHERE id <= 20"), "20");

  // Exactly 128 bytes (32 four-byte characters) fit; the same text is accepted twice.
  std::string emoji;
  for (int i = 0; i < 32; ++i) emoji += "😀";
  EXPECT_EQ(changeSign(c, 1260, emoji).result_code(), 0u);
  EXPECT_EQ(changeSign(c, 1260, emoji).result_code(), 0u);
  EXPECT_EQ(sqlOne("SELECT sign_info FROM IMUser WHERE id = 1260"), emoji);
  EXPECT_EQ(changeSign(c, 1260, emoji + "😀").result_code(), 1u);
}

TEST(DbProxyBuddy, AvatarChangeIsStoredAndAnswered) {
  createUser(1270, "buddy-avatar");
  PduClient c;
  ASSERT_TRUE(c.connect(proxyPort()));
  const std::string url = "http://msfs.example/g0/000/000/1270_avatar.png?x='1'";
  auto rsp = changeAvatar(c, 1270, url);
  EXPECT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(sqlOne("SELECT avatar FROM IMUser WHERE id = 1270"), url);
  EXPECT_GT(sqlU32("SELECT updated FROM IMUser WHERE id = 1270"), 1700000000u);
  EXPECT_EQ(changeAvatar(c, 1270, std::string(256, 'a')).result_code(), 1u);
  EXPECT_EQ(sqlOne("SELECT avatar FROM IMUser WHERE id = 1270"), url);
  EXPECT_EQ(changeAvatar(c, 1295, url).result_code(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Failures

TEST(DbProxyBuddy, StorageOutageAnswersWithFailureForms) {
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
  EXPECT_EQ(recentSessions(c, 1, 0).contact_session_list_size(), 0);
  EXPECT_EQ(usersInfo(c, {1, 2}).user_info_list_size(), 0);
  auto all = allUsers(c, 1234);
  EXPECT_EQ(all.user_list_size(), 0);
  EXPECT_EQ(all.latest_update_time(), 1234u);
  auto dep = departments(c, 55);
  EXPECT_EQ(dep.dept_list_size(), 0);
  EXPECT_EQ(dep.latest_update_time(), 55u);
  EXPECT_EQ(removeSession(c, 1, BD::SESSION_TYPE_SINGLE, 2).result_code(), 1u);
  EXPECT_EQ(changeSign(c, 1, "x").result_code(), 1u);
  EXPECT_EQ(changeAvatar(c, 1, "x").result_code(), 1u);
  c.close();
  EXPECT_EQ(dead.stop(), 0) << dead.logTail();
  removeTree(dir);
}

TEST(DbProxyBuddy, BodyMissingARequiredFieldClosesOnlyThatConnection) {
  PduClient good, bad;
  ASSERT_TRUE(good.connect(proxyPort()));
  ASSERT_TRUE(bad.connect(proxyPort()));
  // IMUsersInfoReq without its required user_id (only a user_id_list entry).
  ASSERT_TRUE(bad.sendRaw(net::encodePdu(BD::SID_BUDDY_LIST, BD::CID_BUDDY_LIST_USER_INFO_REQUEST, 8,
                                         std::string("\x10\x01", 2))));
  EXPECT_TRUE(bad.waitClosed(20000));
  ASSERT_EQ(usersInfo(good, {2}).user_info_list_size(), 1);
}

}  // namespace
}  // namespace tt::test
