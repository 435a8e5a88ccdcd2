// db_proxy_server's SID_MSG side against the real daemon, MariaDB and Redis: storing CID_MSG_DATA
// (0x0301, MessageStore), read acks (0x0303), unread counts (0x0307), history (0x0309), messages by
// id (0x030d) and the latest id (0x030b), plus a malformed PDU and a MariaDB restart. Each test makes
// its own users (ids 4000..4999) and groups (ids 400..499), so tests do not depend on each other;
// the MariaDB restart test is last because it takes the shared database away for a while.
#include <hiredis/hiredis.h>
#include <mysql.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "proto/RedisKeys.h"
#include "tests/integration/DbProxyFixture.h"
#include "tests/integration/PduClient.h"
#include "tests/integration/StorageFixture.h"

namespace rk = tt::rediskey;  // the Redis layout (the spellings are pinned in tests/unit/redis_keys_test.cc)

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace tt::test {
namespace {

namespace BD = IM::BaseDefine;
namespace Msg = IM::Message;
using IdList = std::vector<uint32_t>;

constexpr int kUnreadDb = 1;
constexpr int kReplyTimeoutMs = 10000;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string n2s(uint64_t v) { return std::to_string(v); }

Msg::IMMsgData makeMessage(uint32_t from, uint32_t to, const std::string& data,
                           BD::MsgType type = BD::MSG_TYPE_SINGLE_TEXT, uint32_t createTime = 0) {
  Msg::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(0);
  m.set_create_time(createTime);
  m.set_msg_type(type);
  m.set_msg_data(data);
  return m;
}
Msg::IMMsgData groupMessage(uint32_t from, uint32_t group, const std::string& data, uint32_t createTime = 0) {
  return makeMessage(from, group, data, BD::MSG_TYPE_GROUP_TEXT, createTime);
}

// Sends every message on one connection without waiting, then reads the replies: the msg ids in
// send order (0 where a reply is missing or not stored). Seqs are firstSeq, firstSeq + 1, ...
std::vector<uint32_t> storePipelined(PduClient& c, const std::vector<Msg::IMMsgData>& msgs, uint16_t firstSeq = 1) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (!c.send(BD::SID_MSG, BD::CID_MSG_DATA, static_cast<uint16_t>(firstSeq + i), msgs[i])) return {};
  }
  std::map<uint16_t, uint32_t> bySeq;
  std::vector<uint16_t> order;  // seqs in the order the replies arrived
  for (size_t i = 0; i < msgs.size(); ++i) {
    auto pdu = c.receiveCommand(BD::CID_MSG_DATA, kReplyTimeoutMs);
    if (!pdu) break;
    bySeq[pdu->seq()] = pdu->as<Msg::IMMsgData>().msg_id();
    order.push_back(pdu->seq());
  }
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < msgs.size(); ++i) {
    auto it = bySeq.find(static_cast<uint16_t>(firstSeq + i));
    ids.push_back(it == bySeq.end() ? 0 : it->second);
  }
  return ids;
}

bool waitUntil(const std::function<bool()>& pred, int timeoutMs = 20000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class MessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = &DbProxyFixture::instance();
    db_.reset(proxy_->mysql());
    redis_.reset(proxy_->redis(kUnreadDb));
    ASSERT_TRUE(client_.connect(proxy_->port()));
  }

  std::vector<std::vector<std::string>> rows(const std::string& sql) { return sqlRows(db_.get(), sql); }
  std::string value(const std::string& sql) { return sqlValue(db_.get(), sql); }
  void exec(const std::string& sql) { sqlRows(db_.get(), sql); }

  void makeUsers(const IdList& ids) {
    for (uint32_t id : ids) {
      exec("INSERT INTO IMUser (id, name, nick, created, updated) VALUES (" + n2s(id) + ", 'mt" + n2s(id) +
           "', 'n', 1700000000, 1700000000)");
    }
  }
  void makeGroup(uint32_t gid, const IdList& members, uint32_t status = 0) {
    exec("INSERT INTO IMGroup (id, name, creator, type, userCnt, status, version, msgSeq, created, updated) VALUES (" +
         n2s(gid) + ", 'mg" + n2s(gid) + "', " + n2s(members.empty() ? 0 : members[0]) + ", 2, " +
         n2s(members.size()) + ", " + n2s(status) + ", 1, 0, 1700000000, 1700000000)");
    for (uint32_t uid : members) addMember(gid, uid, 1700000000);
  }
  void addMember(uint32_t gid, uint32_t uid, uint32_t joined, uint32_t status = 0) {
    exec("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (" + n2s(gid) + ", " +
         n2s(uid) + ", " + n2s(status) + ", " + n2s(joined) + ", " + n2s(joined) + ")");
  }
  uint32_t relationOf(uint32_t a, uint32_t b) {
    const std::string v = value("SELECT id FROM IMRelationShip WHERE smallId = " + n2s(std::min(a, b)) +
                                " AND bigId = " + n2s(std::max(a, b)));
    return v.empty() ? 0 : static_cast<uint32_t>(std::stoul(v));
  }
  std::string messageTable(uint32_t a, uint32_t b) { return "IMMessage_" + n2s(relationOf(a, b) % 8); }

  std::optional<std::string> hget(const std::string& key, const std::string& field) {
    auto* r = static_cast<redisReply*>(redisCommand(redis_.get(), "HGET %s %s", key.c_str(), field.c_str()));
    if (!r) throw std::runtime_error("redis HGET failed");
    std::optional<std::string> out;
    if (r->type == REDIS_REPLY_STRING) out = std::string(r->str, r->len);
    freeReplyObject(r);
    return out;
  }

  // Stores one message through the fixture's connection; returns the msg id of the reply.
  uint32_t store(const Msg::IMMsgData& m, const std::string& attach = "") {
    Msg::IMMsgData req = m;
    if (!attach.empty()) req.set_attach_data(attach);
    const uint16_t seq = nextSeq();
    if (!client_.send(BD::SID_MSG, BD::CID_MSG_DATA, seq, req)) throw std::runtime_error("send failed");
    auto pdu = client_.receiveCommand(BD::CID_MSG_DATA, kReplyTimeoutMs);
    if (!pdu) throw std::runtime_error("no reply to CID_MSG_DATA\n" + proxy_->daemon().logTail());
    EXPECT_EQ(pdu->seq(), seq);
    auto rsp = pdu->as<Msg::IMMsgData>();
    EXPECT_EQ(rsp.from_user_id(), m.from_user_id());
    EXPECT_EQ(rsp.to_session_id(), m.to_session_id());
    EXPECT_EQ(rsp.msg_data(), m.msg_data());
    if (!attach.empty()) {
      EXPECT_EQ(rsp.attach_data(), attach);
    }
    return rsp.msg_id();
  }

  // Sends req and returns the response (command rspCid), checking the seq echo.
  template <class Rsp, class Req>
  Rsp call(uint16_t cid, uint16_t rspCid, const Req& req, PduClient* c = nullptr) {
    PduClient& client = c ? *c : client_;
    const uint16_t seq = nextSeq();
    if (!client.send(BD::SID_MSG, cid, seq, req)) throw std::runtime_error("send failed");
    auto pdu = client.receiveCommand(rspCid, kReplyTimeoutMs);
    if (!pdu) throw std::runtime_error("no response to command " + n2s(cid) + "\n" + proxy_->daemon().logTail());
    EXPECT_EQ(pdu->seq(), seq);
    return pdu->as<Rsp>();
  }

  Msg::IMUnreadMsgCntRsp unread(uint32_t me, const std::string& attach = "") {
    Msg::IMUnreadMsgCntReq req;
    req.set_user_id(me);
    if (!attach.empty()) req.set_attach_data(attach);
    auto rsp = call<Msg::IMUnreadMsgCntRsp>(BD::CID_MSG_UNREAD_CNT_REQUEST, BD::CID_MSG_UNREAD_CNT_RESPONSE, req);
    EXPECT_EQ(rsp.user_id(), me);
    if (!attach.empty()) {
      EXPECT_EQ(rsp.attach_data(), attach);
    }
    return rsp;
  }

  Msg::IMGetMsgListRsp list(uint32_t me, BD::SessionType type, uint32_t session, uint32_t begin, uint32_t count,
                            const std::string& attach = "") {
    Msg::IMGetMsgListReq req;
    req.set_user_id(me);
    req.set_session_type(type);
    req.set_session_id(session);
    req.set_msg_id_begin(begin);
    req.set_msg_cnt(count);
    if (!attach.empty()) req.set_attach_data(attach);
    auto rsp = call<Msg::IMGetMsgListRsp>(BD::CID_MSG_LIST_REQUEST, BD::CID_MSG_LIST_RESPONSE, req);
    EXPECT_EQ(rsp.user_id(), me);
    EXPECT_EQ(rsp.session_type(), type);
    EXPECT_EQ(rsp.session_id(), session);
    EXPECT_EQ(rsp.msg_id_begin(), begin);
    if (!attach.empty()) {
      EXPECT_EQ(rsp.attach_data(), attach);
    }
    return rsp;
  }

  Msg::IMGetMsgByIdRsp byIds(uint32_t me, BD::SessionType type, uint32_t session, const IdList& ids,
                             const std::string& attach = "") {
    Msg::IMGetMsgByIdReq req;
    req.set_user_id(me);
    req.set_session_type(type);
    req.set_session_id(session);
    for (uint32_t id : ids) req.add_msg_id_list(id);
    if (!attach.empty()) req.set_attach_data(attach);
    auto rsp = call<Msg::IMGetMsgByIdRsp>(BD::CID_MSG_GET_BY_MSG_ID_REQ, BD::CID_MSG_GET_BY_MSG_ID_RES, req);
    EXPECT_EQ(rsp.user_id(), me);
    EXPECT_EQ(rsp.session_type(), type);
    EXPECT_EQ(rsp.session_id(), session);
    if (!attach.empty()) {
      EXPECT_EQ(rsp.attach_data(), attach);
    }
    return rsp;
  }

  uint32_t latest(uint32_t me, BD::SessionType type, uint32_t session, const std::string& attach = "") {
    Msg::IMGetLatestMsgIdReq req;
    req.set_user_id(me);
    req.set_session_type(type);
    req.set_session_id(session);
    if (!attach.empty()) req.set_attach_data(attach);
    auto rsp = call<Msg::IMGetLatestMsgIdRsp>(BD::CID_MSG_GET_LATEST_MSG_ID_REQ, BD::CID_MSG_GET_LATEST_MSG_ID_RSP, req);
    EXPECT_EQ(rsp.user_id(), me);
    EXPECT_EQ(rsp.session_type(), type);
    EXPECT_EQ(rsp.session_id(), session);
    if (!attach.empty()) {
      EXPECT_EQ(rsp.attach_data(), attach);
    }
    return rsp.latest_msg_id();
  }

  void readAck(uint32_t me, BD::SessionType type, uint32_t session, uint32_t msgId) {
    Msg::IMMsgDataReadAck ack;
    ack.set_user_id(me);
    ack.set_session_id(session);
    ack.set_msg_id(msgId);
    ack.set_session_type(type);
    ASSERT_TRUE(client_.send(BD::SID_MSG, BD::CID_MSG_READ_ACK, nextSeq(), ack));
  }

  uint16_t nextSeq() { return ++seq_ == 0 ? ++seq_ : seq_; }

  DbProxyFixture* proxy_ = nullptr;
  MysqlPtr db_;
  RedisPtr redis_;
  PduClient client_;
  uint16_t seq_ = 0;
};

IdList idsOf(const google::protobuf::RepeatedPtrField<BD::MsgInfo>& list) {
  IdList ids;
  for (const auto& m : list) ids.push_back(m.msg_id());
  return ids;
}

const BD::UnreadInfo* findUnread(const Msg::IMUnreadMsgCntRsp& rsp, BD::SessionType type, uint32_t session) {
  for (const auto& u : rsp.unreadinfo_list()) {
    if (u.session_type() == type && u.session_id() == session) return &u;
  }
  return nullptr;
}

// ---- storing (MessageStore) -------------------------------------------------------------------

TEST_F(MessageTest, NewPairGetsIdsOneTwoThreeInItsShard) {
  makeUsers({4001, 4002});
  EXPECT_EQ(store(makeMessage(4001, 4002, "hello-1"), "ctx-1"), 1u);
  EXPECT_EQ(store(makeMessage(4002, 4001, "hello-2"), "ctx-2"), 2u);
  EXPECT_EQ(store(makeMessage(4001, 4002, "hello-3")), 3u);

  const uint32_t rel = relationOf(4001, 4002);
  ASSERT_NE(rel, 0u);
  EXPECT_EQ(value("SELECT msgSeq FROM IMRelationShip WHERE id = " + n2s(rel)), "3");
  const std::string table = "IMMessage_" + n2s(rel % 8);
  auto r = rows("SELECT msgId, fromId, toId, content, type, status FROM " + table + " WHERE relateId = " + n2s(rel) +
                " ORDER BY msgId");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"1", "4001", "4002", "hello-1", "1", "0"}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"2", "4002", "4001", "hello-2", "1", "0"}));
  EXPECT_EQ(r[2], (std::vector<std::string>{"3", "4001", "4002", "hello-3", "1", "0"}));
  // No copy in any other shard.
  for (int shard = 0; shard < 8; ++shard) {
    if (static_cast<uint32_t>(shard) == rel % 8) continue;
    EXPECT_EQ(value("SELECT COUNT(*) FROM IMMessage_" + n2s(shard) + " WHERE relateId = " + n2s(rel)), "0");
  }
  // Both sides have the recent session; each receiver's unread counter was bumped.
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMRecentSession WHERE type = 1 AND status = 0 AND "
                  "((userId = 4001 AND peerId = 4002) OR (userId = 4002 AND peerId = 4001))"),
            "2");
  EXPECT_EQ(hget(rk::unreadKey(4002), "4001"), "2");
  EXPECT_EQ(hget(rk::unreadKey(4001), "4002"), "1");
}

TEST_F(MessageTest, ConcurrentSendersGetGaplessIdsInSendOrder) {
  makeUsers({4010, 4011});
  constexpr int kClients = 8, kPerClient = 40;
  std::vector<std::vector<uint32_t>> ids(kClients);
  std::vector<std::thread> threads;
  for (int k = 0; k < kClients; ++k) {
    threads.emplace_back([&, k] {
      PduClient c;
      if (!c.connect(proxy_->port())) return;
      const uint32_t from = k % 2 ? 4010 : 4011, to = k % 2 ? 4011 : 4010;
      std::vector<Msg::IMMsgData> msgs;
      for (int i = 0; i < kPerClient; ++i) msgs.push_back(makeMessage(from, to, "c" + n2s(k) + "-" + n2s(i)));
      ids[k] = storePipelined(c, msgs);
    });
  }
  for (auto& t : threads) t.join();

  std::vector<uint32_t> all;
  for (int k = 0; k < kClients; ++k) {
    ASSERT_EQ(ids[k].size(), static_cast<size_t>(kPerClient)) << "client " << k;
    for (int i = 0; i < kPerClient; ++i) {
      EXPECT_NE(ids[k][i], 0u) << "client " << k << " message " << i;
      if (i > 0) {
        EXPECT_GT(ids[k][i], ids[k][i - 1]) << "client " << k << " message " << i << " overtook an earlier one";
      }
    }
    all.insert(all.end(), ids[k].begin(), ids[k].end());
  }
  std::sort(all.begin(), all.end());
  std::vector<uint32_t> expected(kClients * kPerClient);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<uint32_t>(i + 1);
  EXPECT_EQ(all, expected) << "ids must be 1..N without gaps or duplicates";

  const uint32_t rel = relationOf(4010, 4011);
  EXPECT_EQ(value("SELECT msgSeq FROM IMRelationShip WHERE id = " + n2s(rel)), n2s(expected.size()));
  const std::string table = messageTable(4010, 4011);
  EXPECT_EQ(value("SELECT COUNT(DISTINCT msgId) FROM " + table + " WHERE relateId = " + n2s(rel)), n2s(expected.size()));
  // Each acked id names the row holding that client's message.
  std::map<uint32_t, std::string> content;
  for (auto& row : rows("SELECT msgId, content FROM " + table + " WHERE relateId = " + n2s(rel))) {
    content[static_cast<uint32_t>(std::stoul(row[0]))] = row[1];
  }
  for (int k = 0; k < kClients; ++k) {
    for (int i = 0; i < kPerClient; ++i) EXPECT_EQ(content[ids[k][i]], "c" + n2s(k) + "-" + n2s(i));
  }
}

TEST_F(MessageTest, GroupMessageStoredForMembersOnly) {
  makeUsers({4020, 4021, 4022, 4023});
  makeGroup(401, {4020, 4021});
  addMember(401, 4023, 1700000000, 1);  // left the group
  makeGroup(402, {4020}, 1);            // deleted group

  EXPECT_EQ(store(groupMessage(4020, 401, "g-1"), "gctx"), 1u);
  EXPECT_EQ(store(groupMessage(4021, 401, "g-2")), 2u);
  auto r = rows("SELECT groupId, userId, msgId, content, type, status FROM IMGroupMessage_1 WHERE groupId = 401 "
                "ORDER BY msgId");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"401", "4020", "1", "g-1", "17", "0"}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"401", "4021", "2", "g-2", "17", "0"}));
  EXPECT_EQ(value("SELECT msgSeq FROM IMGroup WHERE id = 401"), "2");
  // The sender has read its own message.
  EXPECT_EQ(hget(rk::groupReadKey(4020, 401), rk::kGroupReadField), "1");
  EXPECT_EQ(hget(rk::groupReadKey(4021, 401), rk::kGroupReadField), "2");
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMRecentSession WHERE userId = 4020 AND peerId = 401 AND type = 2"), "1");

  // Outsiders, former members and deleted groups: answered with msg_id 0, nothing stored.
  EXPECT_EQ(store(groupMessage(4022, 401, "intruder")), 0u);
  EXPECT_EQ(store(groupMessage(4023, 401, "gone")), 0u);
  EXPECT_EQ(store(groupMessage(4020, 402, "deleted group")), 0u);
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMGroupMessage_1 WHERE groupId = 401"), "2");
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMGroupMessage_2 WHERE groupId = 402"), "0");
  EXPECT_EQ(value("SELECT msgSeq FROM IMGroup WHERE id = 401"), "2");
}

TEST_F(MessageTest, EmptyAndSelfMessagesAreNotStored) {
  makeUsers({4030, 4031});
  EXPECT_EQ(store(makeMessage(4030, 4031, "")), 0u);
  EXPECT_EQ(relationOf(4030, 4031), 0u) << "a rejected message must not create a relation";
  EXPECT_EQ(store(makeMessage(4030, 4030, "note to self")), 0u);
  EXPECT_EQ(relationOf(4030, 4030), 0u);
  EXPECT_FALSE(hget(rk::unreadKey(4031), "4030").has_value());
  EXPECT_FALSE(hget(rk::unreadKey(4030), "4030").has_value());
  // The connection is still fine: the next real message is stored with id 1.
  EXPECT_EQ(store(makeMessage(4030, 4031, "real")), 1u);
}

// ---- unread counts and read acks ---------------------------------------------------------------

TEST_F(MessageTest, UnreadCountsFollowStoresAndReadAcks) {
  const uint32_t a = 4040, b = 4041, c = 4042, g = 403;
  makeUsers({a, b, c});
  makeGroup(g, {a, b});
  ASSERT_EQ(store(makeMessage(b, a, "b1")), 1u);
  ASSERT_EQ(store(makeMessage(b, a, "b2")), 2u);
  ASSERT_EQ(store(makeMessage(c, a, "c1")), 1u);
  ASSERT_EQ(store(groupMessage(b, g, "g1")), 1u);
  ASSERT_EQ(store(groupMessage(b, g, "g2")), 2u);
  ASSERT_EQ(store(groupMessage(b, g, "g3")), 3u);

  auto rsp = unread(a, "unread-ctx");
  EXPECT_EQ(rsp.total_cnt(), 6u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 3);
  const auto* fromB = findUnread(rsp, BD::SESSION_TYPE_SINGLE, b);
  ASSERT_NE(fromB, nullptr);
  EXPECT_EQ(fromB->unread_cnt(), 2u);
  EXPECT_EQ(fromB->latest_msg_id(), 2u);
  EXPECT_EQ(fromB->latest_msg_data(), "b2");
  EXPECT_EQ(fromB->latest_msg_type(), BD::MSG_TYPE_SINGLE_TEXT);
  EXPECT_EQ(fromB->latest_msg_from_user_id(), b);
  const auto* fromC = findUnread(rsp, BD::SESSION_TYPE_SINGLE, c);
  ASSERT_NE(fromC, nullptr);
  EXPECT_EQ(fromC->unread_cnt(), 1u);
  EXPECT_EQ(fromC->latest_msg_data(), "c1");
  const auto* group = findUnread(rsp, BD::SESSION_TYPE_GROUP, g);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->unread_cnt(), 3u);
  EXPECT_EQ(group->latest_msg_id(), 3u);
  EXPECT_EQ(group->latest_msg_data(), "g3");
  EXPECT_EQ(group->latest_msg_type(), BD::MSG_TYPE_GROUP_TEXT);
  EXPECT_EQ(group->latest_msg_from_user_id(), b);

  // The sender has nothing unread: its own group messages count as read.
  rsp = unread(b);
  EXPECT_EQ(rsp.total_cnt(), 0u);
  EXPECT_EQ(rsp.unreadinfo_list_size(), 0);

  // a answers b without reading: b has 1 unread from a; a's entry for b now shows a's reply as the
  // latest message, with the real sender (a), not the peer.
  ASSERT_EQ(store(makeMessage(a, b, "a1")), 3u);
  rsp = unread(b);
  EXPECT_EQ(rsp.total_cnt(), 1u);
  ASSERT_NE(findUnread(rsp, BD::SESSION_TYPE_SINGLE, a), nullptr);
  EXPECT_EQ(findUnread(rsp, BD::SESSION_TYPE_SINGLE, a)->latest_msg_from_user_id(), a);
  rsp = unread(a);
  fromB = findUnread(rsp, BD::SESSION_TYPE_SINGLE, b);
  ASSERT_NE(fromB, nullptr);
  EXPECT_EQ(fromB->unread_cnt(), 2u);
  EXPECT_EQ(fromB->latest_msg_id(), 3u);
  EXPECT_EQ(fromB->latest_msg_data(), "a1");
  EXPECT_EQ(fromB->latest_msg_from_user_id(), a);

  // Single read ack: the whole session's counter goes (read is per session).
  readAck(a, BD::SESSION_TYPE_SINGLE, b, 1);
  ASSERT_TRUE(waitUntil([&] { return !hget(rk::unreadKey(4040), "4041").has_value(); }));
  rsp = unread(a);
  EXPECT_EQ(rsp.total_cnt(), 4u);
  EXPECT_EQ(findUnread(rsp, BD::SESSION_TYPE_SINGLE, b), nullptr);

  // Group read ack: my read position becomes the group's msgSeq.
  readAck(a, BD::SESSION_TYPE_GROUP, g, 3);
  ASSERT_TRUE(waitUntil(
      [&] { return hget(rk::groupReadKey(4040, 403), rk::kGroupReadField) == std::optional<std::string>("3"); }));
  rsp = unread(a);
  EXPECT_EQ(rsp.total_cnt(), 1u);
  ASSERT_EQ(rsp.unreadinfo_list_size(), 1);
  EXPECT_EQ(rsp.unreadinfo_list(0).session_id(), c);

  // A new group message is unread again, with its own latest message.
  ASSERT_EQ(store(groupMessage(b, g, "g4")), 4u);
  rsp = unread(a);
  EXPECT_EQ(rsp.total_cnt(), 2u);
  group = findUnread(rsp, BD::SESSION_TYPE_GROUP, g);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->unread_cnt(), 1u);
  EXPECT_EQ(group->latest_msg_id(), 4u);
  EXPECT_EQ(group->latest_msg_data(), "g4");

  // A non-member's group read ack writes nothing, checked once a later ack of c has been applied:
  // db_proxy runs one user's SID_MSG requests on one worker in arrival order (keyed by user_id),
  // so the single ack's effect proves the group ack before it was handled.
  ASSERT_EQ(store(makeMessage(a, c, "to-c")), 2u);
  ASSERT_EQ(hget(rk::unreadKey(4042), "4040"), std::optional<std::string>("1"));
  readAck(c, BD::SESSION_TYPE_GROUP, g, 4);
  readAck(c, BD::SESSION_TYPE_SINGLE, a, 2);
  ASSERT_TRUE(waitUntil([&] { return !hget(rk::unreadKey(4042), "4040").has_value(); }));
  EXPECT_FALSE(hget(rk::groupReadKey(4042, 403), rk::kGroupReadField).has_value());
}

TEST_F(MessageTest, UnreadCountOmitsConversationsWithoutMessages) {
  const uint32_t a = 4045, ghost = 4046;
  makeUsers({a, ghost});
  // A counter left behind for a peer a never talked to (no relation, no message) is not reported.
  const std::string ghostCounter = rk::unreadKey(a);
  freeReplyObject(redisCommand(redis_.get(), "HSET %b 4046 5", ghostCounter.data(), ghostCounter.size()));
  // A group with messages whose rows were all deleted has no valid last message.
  makeGroup(404, {a});
  exec("UPDATE IMGroup SET msgSeq = 7 WHERE id = 404");
  auto rsp = unread(a, "x");
  EXPECT_EQ(rsp.total_cnt(), 0u);
  EXPECT_EQ(rsp.unreadinfo_list_size(), 0);
}

// ---- history, by id, latest id -----------------------------------------------------------------

TEST_F(MessageTest, MessageListPagesNewestFirst) {
  const uint32_t a = 4050, b = 4051, outsider = 4052;
  makeUsers({a, b, outsider});
  for (uint32_t i = 1; i <= 10; ++i) {
    ASSERT_EQ(store(makeMessage(i % 2 ? a : b, i % 2 ? b : a, "p-" + n2s(i), BD::MSG_TYPE_SINGLE_TEXT, 1700001000 + i)),
              i);
  }
  auto rsp = list(a, BD::SESSION_TYPE_SINGLE, b, 0, 4, "list-ctx");
  EXPECT_EQ(idsOf(rsp.msg_list()), (IdList{10, 9, 8, 7}));
  ASSERT_EQ(rsp.msg_list_size(), 4);
  EXPECT_EQ(rsp.msg_list(0).from_session_id(), b);
  EXPECT_EQ(rsp.msg_list(1).from_session_id(), a);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "p-10");
  EXPECT_EQ(rsp.msg_list(0).create_time(), 1700001010u);
  EXPECT_EQ(rsp.msg_list(0).msg_type(), BD::MSG_TYPE_SINGLE_TEXT);

  EXPECT_EQ(idsOf(list(a, BD::SESSION_TYPE_SINGLE, b, 6, 4).msg_list()), (IdList{6, 5, 4, 3}));
  EXPECT_EQ(idsOf(list(a, BD::SESSION_TYPE_SINGLE, b, 2, 10).msg_list()), (IdList{2, 1}));
  EXPECT_EQ(list(a, BD::SESSION_TYPE_SINGLE, b, 0, 0).msg_list_size(), 0);
  // The peer sees the same conversation.
  EXPECT_EQ(idsOf(list(b, BD::SESSION_TYPE_SINGLE, a, 0, 3).msg_list()), (IdList{10, 9, 8}));

  // Deleted rows (status 1) are skipped.
  exec("UPDATE " + messageTable(a, b) + " SET status = 1 WHERE relateId = " + n2s(relationOf(a, b)) + " AND msgId = 9");
  EXPECT_EQ(idsOf(list(a, BD::SESSION_TYPE_SINGLE, b, 10, 3).msg_list()), (IdList{10, 8, 7}));

  // No relation with the requester: nothing, whoever the session names.
  EXPECT_EQ(list(outsider, BD::SESSION_TYPE_SINGLE, a, 0, 10).msg_list_size(), 0);
  EXPECT_EQ(list(a, BD::SESSION_TYPE_SINGLE, a, 0, 10).msg_list_size(), 0);
}

TEST_F(MessageTest, MessageListIsCappedAt200) {
  makeUsers({4053, 4054});
  std::vector<Msg::IMMsgData> msgs;
  for (int i = 1; i <= 205; ++i) msgs.push_back(makeMessage(4053, 4054, "cap-" + n2s(i)));
  auto ids = storePipelined(client_, msgs, 30000);
  ASSERT_EQ(ids.size(), 205u);
  ASSERT_EQ(ids.back(), 205u);
  auto rsp = list(4054, BD::SESSION_TYPE_SINGLE, 4053, 0, 100000);
  ASSERT_EQ(rsp.msg_list_size(), 200);
  EXPECT_EQ(rsp.msg_list(0).msg_id(), 205u);
  EXPECT_EQ(rsp.msg_list(199).msg_id(), 6u);
  EXPECT_EQ(rsp.msg_list(199).msg_data(), "cap-6");

  // By id: only the first 100 listed ids count.
  IdList want;
  for (uint32_t i = 1; i <= 150; ++i) want.push_back(i);
  auto byId = byIds(4054, BD::SESSION_TYPE_SINGLE, 4053, want);
  ASSERT_EQ(byId.msg_list_size(), 100);
  EXPECT_EQ(byId.msg_list(0).msg_id(), 100u);
  EXPECT_EQ(byId.msg_list(99).msg_id(), 1u);
}

TEST_F(MessageTest, MessagesByIdAndLatestId) {
  const uint32_t f = 4060, g = 4061, outsider = 4062, gid = 405;
  makeUsers({f, g, outsider});
  for (uint32_t i = 1; i <= 5; ++i) ASSERT_EQ(store(makeMessage(f, g, "i-" + n2s(i))), i);

  auto rsp = byIds(f, BD::SESSION_TYPE_SINGLE, g, {3, 1, 99, 3, 0}, "byid-ctx");
  EXPECT_EQ(idsOf(rsp.msg_list()), (IdList{3, 1}));
  ASSERT_EQ(rsp.msg_list_size(), 2);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "i-3");
  EXPECT_EQ(rsp.msg_list(0).from_session_id(), f);
  EXPECT_EQ(rsp.msg_list(1).msg_data(), "i-1");
  // Every placeholder count works (1, 2, odd counts padded to the next bucket).
  EXPECT_EQ(idsOf(byIds(g, BD::SESSION_TYPE_SINGLE, f, {5}).msg_list()), (IdList{5}));
  EXPECT_EQ(idsOf(byIds(g, BD::SESSION_TYPE_SINGLE, f, {2, 4, 5}).msg_list()), (IdList{5, 4, 2}));
  EXPECT_EQ(byIds(outsider, BD::SESSION_TYPE_SINGLE, f, {1, 2}).msg_list_size(), 0);
  EXPECT_EQ(byIds(f, BD::SESSION_TYPE_SINGLE, g, {}).msg_list_size(), 0);

  EXPECT_EQ(latest(f, BD::SESSION_TYPE_SINGLE, g, "latest-ctx"), 5u);
  EXPECT_EQ(latest(g, BD::SESSION_TYPE_SINGLE, f), 5u);
  exec("UPDATE " + messageTable(f, g) + " SET status = 1 WHERE relateId = " + n2s(relationOf(f, g)) + " AND msgId = 5");
  EXPECT_EQ(latest(f, BD::SESSION_TYPE_SINGLE, g), 4u);
  EXPECT_EQ(byIds(f, BD::SESSION_TYPE_SINGLE, g, {5}).msg_list_size(), 0) << "deleted messages are not returned";
  EXPECT_EQ(latest(outsider, BD::SESSION_TYPE_SINGLE, f), 0u);

  // Groups: members only.
  makeGroup(gid, {f});
  EXPECT_EQ(latest(f, BD::SESSION_TYPE_GROUP, gid), 0u) << "no messages yet";
  ASSERT_EQ(store(groupMessage(f, gid, "gm-1")), 1u);
  ASSERT_EQ(store(groupMessage(f, gid, "gm-2")), 2u);
  EXPECT_EQ(idsOf(byIds(f, BD::SESSION_TYPE_GROUP, gid, {1, 2}).msg_list()), (IdList{2, 1}));
  EXPECT_EQ(byIds(g, BD::SESSION_TYPE_GROUP, gid, {1, 2}).msg_list_size(), 0);
  EXPECT_EQ(latest(f, BD::SESSION_TYPE_GROUP, gid), 2u);
  EXPECT_EQ(latest(g, BD::SESSION_TYPE_GROUP, gid), 0u);
  EXPECT_EQ(list(g, BD::SESSION_TYPE_GROUP, gid, 0, 10).msg_list_size(), 0);
}

TEST_F(MessageTest, LateJoinerSeesOnlyMessagesFromJoiningOn) {
  const uint32_t early = 4070, late = 4071, former = 4072, gid = 406;
  makeUsers({early, late, former});
  makeGroup(gid, {early});
  addMember(gid, former, 1700000000, 1);
  ASSERT_EQ(store(groupMessage(early, gid, "before-1", 1700001000)), 1u);
  ASSERT_EQ(store(groupMessage(early, gid, "before-2", 1700002000)), 2u);
  addMember(gid, late, 1700003000);
  ASSERT_EQ(store(groupMessage(early, gid, "after-1", 1700004000)), 3u);
  ASSERT_EQ(store(groupMessage(late, gid, "after-2", 1700005000)), 4u);

  auto rsp = list(late, BD::SESSION_TYPE_GROUP, gid, 0, 10);
  EXPECT_EQ(idsOf(rsp.msg_list()), (IdList{4, 3}));
  ASSERT_EQ(rsp.msg_list_size(), 2);
  EXPECT_EQ(rsp.msg_list(0).from_session_id(), late);
  EXPECT_EQ(rsp.msg_list(0).msg_type(), BD::MSG_TYPE_GROUP_TEXT);
  EXPECT_EQ(rsp.msg_list(1).msg_data(), "after-1");
  EXPECT_EQ(list(late, BD::SESSION_TYPE_GROUP, gid, 2, 10).msg_list_size(), 0);
  EXPECT_EQ(idsOf(byIds(late, BD::SESSION_TYPE_GROUP, gid, {1, 2, 3, 4}).msg_list()), (IdList{4, 3}));
  EXPECT_EQ(latest(late, BD::SESSION_TYPE_GROUP, gid), 4u);

  EXPECT_EQ(idsOf(list(early, BD::SESSION_TYPE_GROUP, gid, 0, 10).msg_list()), (IdList{4, 3, 2, 1}));
  EXPECT_EQ(list(former, BD::SESSION_TYPE_GROUP, gid, 0, 10).msg_list_size(), 0);
  EXPECT_EQ(latest(former, BD::SESSION_TYPE_GROUP, gid), 0u);
}

// ---- bytes, malformed PDUs, MariaDB restart ------------------------------------------------------

TEST_F(MessageTest, InjectionAndBinaryBytesRoundTripVerbatim) {
  const uint32_t a = 4080, b = 4081, gid = 407;
  makeUsers({a, b});
  makeGroup(gid, {a, b});
  const std::string injection = "x'); DROP TABLE IMUser; --";
  const std::string binary = std::string("\0\xff\x01\\\"'%_\xc3\x28", 10) + "\xf0\x9f\x98\x80" + std::string(1, '\0');
  ASSERT_EQ(store(makeMessage(a, b, injection)), 1u);
  ASSERT_EQ(store(makeMessage(a, b, binary)), 2u);
  ASSERT_EQ(store(groupMessage(a, gid, binary)), 1u);
  ASSERT_EQ(store(groupMessage(b, gid, injection)), 2u);

  EXPECT_EQ(value("SELECT COUNT(*) FROM IMUser WHERE id <= 20"), "20") << "IMUser must survive";
  const std::string table = messageTable(a, b), rel = n2s(relationOf(a, b));
  EXPECT_EQ(value("SELECT HEX(content) FROM " + table + " WHERE relateId = " + rel + " AND msgId = 1"), hex(injection));
  EXPECT_EQ(value("SELECT HEX(content) FROM " + table + " WHERE relateId = " + rel + " AND msgId = 2"), hex(binary));
  EXPECT_EQ(value("SELECT HEX(content) FROM IMGroupMessage_7 WHERE groupId = 407 AND msgId = 1"), hex(binary));
  EXPECT_EQ(value("SELECT HEX(content) FROM IMGroupMessage_7 WHERE groupId = 407 AND msgId = 2"), hex(injection));

  auto single = list(b, BD::SESSION_TYPE_SINGLE, a, 0, 10);
  ASSERT_EQ(single.msg_list_size(), 2);
  EXPECT_EQ(hex(single.msg_list(0).msg_data()), hex(binary));
  EXPECT_EQ(single.msg_list(1).msg_data(), injection);
  auto group = byIds(a, BD::SESSION_TYPE_GROUP, gid, {1, 2});
  ASSERT_EQ(group.msg_list_size(), 2);
  EXPECT_EQ(group.msg_list(0).msg_data(), injection);
  EXPECT_EQ(hex(group.msg_list(1).msg_data()), hex(binary));
  const auto unreadOfB = unread(b);
  const auto* u = findUnread(unreadOfB, BD::SESSION_TYPE_SINGLE, a);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(hex(u->latest_msg_data()), hex(binary));
}

TEST_F(MessageTest, MalformedPduClosesOnlyThatConnection) {
  makeUsers({4085, 4086});
  ASSERT_EQ(store(makeMessage(4085, 4086, "still here")), 1u);

  PduClient garbage;
  ASSERT_TRUE(garbage.connect(proxy_->port()));
  ASSERT_TRUE(garbage.sendRaw(net::encodePdu(BD::SID_MSG, BD::CID_MSG_LIST_REQUEST, 1, std::string("\xff\xff\xff\xff"))));
  EXPECT_TRUE(garbage.waitClosed(20000));

  // A body that parses but lacks a required field (msg_cnt) is just as malformed.
  Msg::IMGetMsgListReq partial;
  partial.set_user_id(4085);
  partial.set_session_type(BD::SESSION_TYPE_SINGLE);
  partial.set_session_id(4086);
  partial.set_msg_id_begin(0);
  PduClient missing;
  ASSERT_TRUE(missing.connect(proxy_->port()));
  ASSERT_TRUE(missing.sendRaw(net::encodePdu(BD::SID_MSG, BD::CID_MSG_LIST_REQUEST, 1, partial.SerializePartialAsString())));
  EXPECT_TRUE(missing.waitClosed(20000));

  PduClient badData;
  ASSERT_TRUE(badData.connect(proxy_->port()));
  ASSERT_TRUE(badData.sendRaw(net::encodePdu(BD::SID_MSG, BD::CID_MSG_DATA, 1, std::string("\x08", 1))));
  EXPECT_TRUE(badData.waitClosed(20000));

  // The fixture's connection was never touched.
  EXPECT_EQ(latest(4085, BD::SESSION_TYPE_SINGLE, 4086), 1u);
  EXPECT_EQ(store(makeMessage(4086, 4085, "and still")), 2u);
}

bool processAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' && line[close + 2] != 'X';
}

// Keep this test last: it stops the binary's shared MariaDB and starts it again.
TEST_F(MessageTest, MariaDbRestartFailsCleanlyThenRecovers) {
  const uint32_t a = 4090, b = 4091;
  makeUsers({a, b});
  ASSERT_EQ(store(makeMessage(a, b, "before")), 1u);
  db_.reset();

  StorageFixture& storage = proxy_->storage();
  pid_t pid = 0;
  {
    std::ifstream in(storage.dir() + "/mysql.pid");
    ASSERT_TRUE(in >> pid) << "no pid in " << storage.dir() << "/mysql.pid";
  }
  ASSERT_GT(pid, 1);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_TRUE(waitUntil([&] { return !processAlive(pid); }, 60000)) << "mariadbd did not stop";

  // Requests fail cleanly and quickly: msg_id 0, empty lists, latest 0 — never a hang.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(store(makeMessage(a, b, "during")), 0u);
  EXPECT_EQ(list(a, BD::SESSION_TYPE_SINGLE, b, 0, 10).msg_list_size(), 0);
  EXPECT_EQ(latest(a, BD::SESSION_TYPE_SINGLE, b), 0u);
  EXPECT_EQ(unread(b, "down").total_cnt(), 0u);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(15)) << "failures must be quick";

  ASSERT_EQ(StorageFixture::runScript({"start", storage.dir(), n2s(storage.mysqlPort), n2s(storage.redisPort)}), 0);

  // The pools replace their dead connections by themselves: the next message gets the next id.
  EXPECT_EQ(store(makeMessage(b, a, "after")), 2u);
  auto rsp = list(a, BD::SESSION_TYPE_SINGLE, b, 0, 10);
  EXPECT_EQ(idsOf(rsp.msg_list()), (IdList{2, 1}));
  ASSERT_EQ(rsp.msg_list_size(), 2);
  EXPECT_EQ(rsp.msg_list(0).msg_data(), "after");
  db_.reset(proxy_->mysql());
  EXPECT_EQ(value("SELECT COUNT(*) FROM " + messageTable(a, b) + " WHERE content = 'during'"), "0");
}

}  // namespace
}  // namespace tt::test
