// db_proxy_server group handlers against the real daemon, MariaDB and Redis: normal-group list
// (0x0401), group info (0x0403), create (0x0405), change members (0x0407), shield (0x0409) and
// msg_server's shield lookup (0x0711). Each test makes its own users (ids 3100..3399) and groups,
// so the tests do not depend on each other or on their order.
#include <hiredis/hiredis.h>
#include <mysql.h>

#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Server.pb.h"
#include "proto/RedisKeys.h"
#include "tests/integration/DbProxyFixture.h"
#include "tests/integration/PduClient.h"
#include "tests/integration/StorageFixture.h"

namespace rk = tt::rediskey;  // the Redis layout (the spellings are pinned in tests/unit/redis_keys_test.cc)

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace tt::test {
namespace {

namespace BD = IM::BaseDefine;
using IdList = std::vector<uint32_t>;

constexpr int kUnreadDb = 1;
constexpr int kGroupSetDb = 2;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;

// Direct storage access for setting up and checking; one MySQL connection per test.
class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = &DbProxyFixture::instance();
    db_.reset(proxy_->mysql());
    ASSERT_TRUE(client_.connect(proxy_->port()));
  }

  std::vector<std::vector<std::string>> rows(const std::string& sql) { return sqlRows(db_.get(), sql); }
  std::string value(const std::string& sql) { return sqlValue(db_.get(), sql); }
  void exec(const std::string& sql) { sqlRows(db_.get(), sql); }

  // A user row (id and name unique to the test).
  void makeUser(uint32_t id) {
    exec("INSERT INTO IMUser (id, name, nick, created, updated) VALUES (" + std::to_string(id) + ", 'gt" +
         std::to_string(id) + "', 'n', 1700000000, 1700000000)");
  }
  void makeUsers(uint32_t first, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) makeUser(first + i);
  }

  // A group written straight into MySQL; members get status 0 and join time 1700000000.
  uint32_t makeGroup(const std::string& name, uint32_t creator, uint32_t type, const IdList& members,
                     uint32_t version = 1, uint32_t status = 0, uint32_t msgSeq = 0) {
    exec("INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, msgSeq, created, updated) "
         "VALUES ('" + name + "', 'avatar-" + name + "', " + std::to_string(creator) + ", " + std::to_string(type) +
         ", " + std::to_string(members.size()) + ", " + std::to_string(status) + ", " + std::to_string(version) +
         ", " + std::to_string(msgSeq) + ", 1700000000, 1700000000)");
    const auto gid = static_cast<uint32_t>(std::stoul(value("SELECT LAST_INSERT_ID()")));
    for (uint32_t uid : members) addMemberRow(gid, uid, 0);
    return gid;
  }
  void addMemberRow(uint32_t gid, uint32_t uid, uint32_t status) {
    exec("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (" + std::to_string(gid) +
         ", " + std::to_string(uid) + ", " + std::to_string(status) + ", 1600000000, 1600000000)");
  }

  // Sends req and returns the response with command rspCid, checking the seq echo.
  template <class Rsp, class Req>
  Rsp call(uint16_t sid, uint16_t cid, uint16_t rspCid, const Req& req, uint16_t seq) {
    EXPECT_TRUE(client_.send(sid, cid, seq, req));
    auto pdu = client_.receiveCommand(rspCid, 20000);
    if (!pdu) {
      ADD_FAILURE() << "no response " << rspCid << " to command " << cid << "\n" << proxy_->daemon().logTail();
      return Rsp();
    }
    EXPECT_EQ(pdu->seq(), seq);
    return pdu->as<Rsp>();
  }

  IM::Group::IMNormalGroupListRsp normalList(uint32_t uid, uint16_t seq = 1) {
    IM::Group::IMNormalGroupListReq req;
    req.set_user_id(uid);
    return call<IM::Group::IMNormalGroupListRsp>(BD::SID_GROUP, BD::CID_GROUP_NORMAL_LIST_REQUEST,
                                                 BD::CID_GROUP_NORMAL_LIST_RESPONSE, req, seq);
  }
  IM::Group::IMGroupInfoListRsp info(uint32_t uid, const std::vector<std::pair<uint32_t, uint32_t>>& versions,
                                     uint16_t seq = 2, const std::string& attach = "") {
    IM::Group::IMGroupInfoListReq req;
    req.set_user_id(uid);
    for (auto [gid, v] : versions) {
      auto* gv = req.add_group_version_list();
      gv->set_group_id(gid);
      gv->set_version(v);
    }
    if (!attach.empty()) req.set_attach_data(attach);
    return call<IM::Group::IMGroupInfoListRsp>(BD::SID_GROUP, BD::CID_GROUP_INFO_REQUEST,
                                               BD::CID_GROUP_INFO_RESPONSE, req, seq);
  }
  IM::Group::IMGroupChangeMemberRsp change(uint32_t uid, uint32_t gid, BD::GroupModifyType type, const IdList& ids,
                                           uint16_t seq = 4) {
    IM::Group::IMGroupChangeMemberReq req;
    req.set_user_id(uid);
    req.set_change_type(type);
    req.set_group_id(gid);
    for (uint32_t id : ids) req.add_member_id_list(id);
    return call<IM::Group::IMGroupChangeMemberRsp>(BD::SID_GROUP, BD::CID_GROUP_CHANGE_MEMBER_REQUEST,
                                                   BD::CID_GROUP_CHANGE_MEMBER_RESPONSE, req, seq);
  }
  IM::Group::IMGroupShieldRsp shield(uint32_t uid, uint32_t gid, uint32_t status, uint16_t seq = 5) {
    IM::Group::IMGroupShieldReq req;
    req.set_user_id(uid);
    req.set_group_id(gid);
    req.set_shield_status(status);
    return call<IM::Group::IMGroupShieldRsp>(BD::SID_GROUP, BD::CID_GROUP_SHIELD_GROUP_REQUEST,
                                             BD::CID_GROUP_SHIELD_GROUP_RESPONSE, req, seq);
  }

  // HGET in a Redis db; nullopt-like "<nil>" when the field is missing.
  std::string hget(int dbNum, const std::string& key, const std::string& field) {
    RedisPtr r(proxy_->redis(dbNum));
    auto* reply = static_cast<redisReply*>(redisCommand(r.get(), "HGET %b %b", key.data(), key.size(), field.data(),
                                                        field.size()));
    std::string out = "<error>";
    if (reply && reply->type == REDIS_REPLY_STRING) out.assign(reply->str, reply->len);
    if (reply && reply->type == REDIS_REPLY_NIL) out = "<nil>";
    freeReplyObject(reply);
    return out;
  }
  void hset(int dbNum, const std::string& key, const std::string& field, const std::string& v) {
    RedisPtr r(proxy_->redis(dbNum));
    freeReplyObject(redisCommand(r.get(), "HSET %b %b %b", key.data(), key.size(), field.data(), field.size(),
                                 v.data(), v.size()));
  }

  std::string groupCol(uint32_t gid, const std::string& col) {
    return value("SELECT " + col + " FROM IMGroup WHERE id = " + std::to_string(gid));
  }
  std::string memberStatus(uint32_t gid, uint32_t uid) {
    return value("SELECT status FROM IMGroupMember WHERE groupId = " + std::to_string(gid) +
                 " AND userId = " + std::to_string(uid));
  }

  static IdList ids(const google::protobuf::RepeatedField<uint32_t>& f) { return IdList(f.begin(), f.end()); }

  DbProxyFixture* proxy_ = nullptr;
  MysqlPtr db_;
  PduClient client_;
};

// ---- 0x0401 -------------------------------------------------------------------------------------

TEST_F(GroupTest, NormalListHasOnlyActiveNormalGroupsOfTheUser) {
  makeUsers(3100, 3);  // 3100 asks, 3101 is in other groups, 3102 is in none
  const uint32_t listed = makeGroup("nl-normal", 3101, 1, {3100, 3101}, 3);
  makeGroup("nl-other", 3101, 1, {3101});                    // not a member
  makeGroup("nl-temp", 3100, 2, {3100, 3101});               // temporary: not listed
  makeGroup("nl-deleted", 3101, 1, {3100}, 1, /*status*/ 1);  // deleted group
  const uint32_t left = makeGroup("nl-left", 3101, 1, {3101});
  addMemberRow(left, 3100, 1);  // 3100 left it

  IM::Group::IMNormalGroupListReq req;
  req.set_user_id(3100);
  req.set_attach_data(std::string("ctx\0bytes", 9));
  auto rsp = call<IM::Group::IMNormalGroupListRsp>(BD::SID_GROUP, BD::CID_GROUP_NORMAL_LIST_REQUEST,
                                                   BD::CID_GROUP_NORMAL_LIST_RESPONSE, req, 4711);
  EXPECT_EQ(rsp.user_id(), 3100u);
  EXPECT_EQ(rsp.attach_data(), std::string("ctx\0bytes", 9));
  ASSERT_EQ(rsp.group_version_list_size(), 1);
  EXPECT_EQ(rsp.group_version_list(0).group_id(), listed);
  EXPECT_EQ(rsp.group_version_list(0).version(), 3u);

  auto none = normalList(3102, 9);
  EXPECT_EQ(none.user_id(), 3102u);
  EXPECT_EQ(none.group_version_list_size(), 0);
  EXPECT_FALSE(none.has_attach_data());

  // Demo data: user15 is only in group-b (id 2).
  auto demo = normalList(15);
  ASSERT_EQ(demo.group_version_list_size(), 1);
  EXPECT_EQ(demo.group_version_list(0).group_id(), 2u);
}

// ---- 0x0403 -------------------------------------------------------------------------------------

TEST_F(GroupTest, InfoFollowsVersionsAndReportsTheRequestersShield) {
  makeUsers(3110, 4);
  const uint32_t g = makeGroup("info \"g\" 😀", 3110, 1, {3110, 3111}, 2);
  addMemberRow(g, 3112, 1);  // a former member is not listed
  const uint32_t cached = makeGroup("info-cached", 3110, 2, {3110}, 5);
  const uint32_t deleted = makeGroup("info-deleted", 3110, 1, {3110}, 1, 1);
  hset(kGroupSetDb, rk::groupShieldKey(g), rk::groupShieldField(3110), "1");

  auto rsp = info(3110, {{g, 0}, {cached, 5}, {deleted, 0}, {999999, 0}}, 321, "attach-info");
  EXPECT_EQ(rsp.user_id(), 3110u);
  EXPECT_EQ(rsp.attach_data(), "attach-info");
  ASSERT_EQ(rsp.group_info_list_size(), 1);
  const auto& gi = rsp.group_info_list(0);
  EXPECT_EQ(gi.group_id(), g);
  EXPECT_EQ(gi.version(), 2u);
  EXPECT_EQ(gi.group_name(), "info \"g\" 😀");
  EXPECT_EQ(gi.group_avatar(), "avatar-info \"g\" 😀");
  EXPECT_EQ(gi.group_creator_id(), 3110u);
  EXPECT_EQ(gi.group_type(), BD::GROUP_TYPE_NORMAL);
  EXPECT_EQ(gi.shield_status(), 1u);
  EXPECT_EQ(ids(gi.group_member_list()), (IdList{3110, 3111}));

  // Up to date: nothing; one version behind: refreshed; another member sees its own shield (0).
  EXPECT_EQ(info(3110, {{g, 2}}).group_info_list_size(), 0);
  auto older = info(3111, {{g, 1}, {cached, 4}});
  ASSERT_EQ(older.group_info_list_size(), 2);
  EXPECT_EQ(older.group_info_list(0).group_id(), g);
  EXPECT_EQ(older.group_info_list(0).shield_status(), 0u);
  EXPECT_EQ(older.group_info_list(1).group_id(), cached);
  EXPECT_EQ(older.group_info_list(1).group_type(), BD::GROUP_TYPE_TMP);
  EXPECT_EQ(older.group_info_list(1).version(), 5u);

  // Empty request: empty answer, still answered.
  EXPECT_EQ(info(3113, {}).group_info_list_size(), 0);
}

// ---- 0x0405 -------------------------------------------------------------------------------------

TEST_F(GroupTest, CreateStoresTheGroupVerbatimInOneGo) {
  makeUsers(3120, 3);
  const std::string name = std::string("it's \"q\" \\ back `tick` 😀 群 ") + "'; DROP TABLE IMGroup; --";
  IM::Group::IMGroupCreateReq req;
  req.set_user_id(3120);
  req.set_group_type(BD::GROUP_TYPE_TMP);
  req.set_group_name(name);
  req.set_group_avatar("http://a/\\x.png");
  for (uint32_t id : {3121u, 3120u, 3121u, 0u, 3999999u, 3122u}) req.add_member_id_list(id);
  req.set_attach_data("create-ctx");
  const auto before = static_cast<uint32_t>(time(nullptr));
  auto rsp = call<IM::Group::IMGroupCreateRsp>(BD::SID_GROUP, BD::CID_GROUP_CREATE_REQUEST,
                                               BD::CID_GROUP_CREATE_RESPONSE, req, 600);
  const auto after = static_cast<uint32_t>(time(nullptr));
  ASSERT_EQ(rsp.result_code(), 0u);
  EXPECT_EQ(rsp.user_id(), 3120u);
  EXPECT_EQ(rsp.group_name(), name);
  EXPECT_EQ(rsp.attach_data(), "create-ctx");
  // Deduplicated, 0 and unknown users dropped, request order kept; the creator is not added.
  EXPECT_EQ(ids(rsp.user_id_list()), (IdList{3121, 3120, 3122}));
  ASSERT_TRUE(rsp.has_group_id());
  const uint32_t gid = rsp.group_id();
  const std::string g = std::to_string(gid);

  auto row = rows("SELECT name, avatar, creator, type, userCnt, status, version, msgSeq FROM IMGroup WHERE id = " + g);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0], (std::vector<std::string>{name, "http://a/\\x.png", "3120", "2", "3", "0", "1", "0"}));
  auto members = rows("SELECT userId, status, created FROM IMGroupMember WHERE groupId = " + g + " ORDER BY userId");
  ASSERT_EQ(members.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(members[i][0], std::to_string(3120 + i));
    EXPECT_EQ(members[i][1], "0");
    EXPECT_GE(std::stoul(members[i][2]), before);
    EXPECT_LE(std::stoul(members[i][2]), after);
  }
  for (uint32_t uid : {3120u, 3121u, 3122u}) {
    EXPECT_EQ(hget(kUnreadDb, rk::groupReadKey(uid, gid), rk::kGroupReadField), "0");
  }

  // The new group is visible through 0x0403 with the exact name.
  auto gi = info(3120, {{gid, 0}});
  ASSERT_EQ(gi.group_info_list_size(), 1);
  EXPECT_EQ(gi.group_info_list(0).group_name(), name);
  EXPECT_EQ(ids(gi.group_info_list(0).group_member_list()), (IdList{3120, 3121, 3122}));
}

TEST_F(GroupTest, CreateRefusesEmptyNameEmptyMembersAndLongNames) {
  makeUsers(3130, 2);
  auto create = [&](const std::string& name, const IdList& members, uint16_t seq) {
    IM::Group::IMGroupCreateReq req;
    req.set_user_id(3130);
    req.set_group_type(BD::GROUP_TYPE_TMP);
    req.set_group_name(name);
    req.set_group_avatar("");
    for (uint32_t id : members) req.add_member_id_list(id);
    return call<IM::Group::IMGroupCreateRsp>(BD::SID_GROUP, BD::CID_GROUP_CREATE_REQUEST,
                                             BD::CID_GROUP_CREATE_RESPONSE, req, seq);
  };
  const std::string groups = "SELECT COUNT(*) FROM IMGroup WHERE creator = 3130";
  auto noMembers = create("cr-none", {}, 11);
  EXPECT_EQ(noMembers.result_code(), 1u);
  EXPECT_EQ(noMembers.group_name(), "cr-none");
  EXPECT_FALSE(noMembers.has_group_id());
  EXPECT_EQ(noMembers.user_id_list_size(), 0);
  EXPECT_EQ(create("cr-unknown", {3999998}, 12).result_code(), 1u);  // no known user among them
  EXPECT_EQ(create("", {3130, 3131}, 13).result_code(), 1u);
  EXPECT_EQ(create(std::string(257, 'n'), {3130, 3131}, 14).result_code(), 1u);
  EXPECT_EQ(value(groups), "0");
  // 256 bytes of 4-byte characters is still fine.
  std::string emoji;
  for (int i = 0; i < 64; ++i) emoji += "😀";
  auto ok = create(emoji, {3130, 3131}, 15);
  EXPECT_EQ(ok.result_code(), 0u);
  EXPECT_EQ(value("SELECT name FROM IMGroup WHERE creator = 3130"), emoji);
  EXPECT_EQ(value(groups), "1");
}

// ---- 0x0407 -------------------------------------------------------------------------------------

TEST_F(GroupTest, CreatorAddsAndRemovesMembers) {
  makeUsers(3140, 6);
  const uint32_t gid = makeGroup("cm-normal", 3140, 1, {3140, 3141}, 1, 0, /*msgSeq*/ 7);
  const std::string g = std::to_string(gid);
  addMemberRow(gid, 3142, 1);  // a former member (joined long ago)
  exec("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES "
       "(3141, " + g + ", 2, 0, 1700000000, 1700000000), (3141, " + g + ", 1, 0, 1700000000, 1700000000)");

  const auto before = static_cast<uint32_t>(time(nullptr));
  IM::Group::IMGroupChangeMemberReq req;
  req.set_user_id(3140);
  req.set_change_type(BD::GROUP_MODIFY_TYPE_ADD);
  req.set_group_id(gid);
  for (uint32_t id : {3142u, 3143u, 3141u, 3143u}) req.add_member_id_list(id);
  req.set_attach_data("chg-ctx");
  auto add = call<IM::Group::IMGroupChangeMemberRsp>(BD::SID_GROUP, BD::CID_GROUP_CHANGE_MEMBER_REQUEST,
                                                     BD::CID_GROUP_CHANGE_MEMBER_RESPONSE, req, 901);
  EXPECT_EQ(add.result_code(), 0u);
  EXPECT_EQ(add.user_id(), 3140u);
  EXPECT_EQ(add.change_type(), BD::GROUP_MODIFY_TYPE_ADD);
  EXPECT_EQ(add.group_id(), gid);
  EXPECT_EQ(add.attach_data(), "chg-ctx");
  EXPECT_EQ(ids(add.chg_user_id_list()), (IdList{3142, 3143}));
  EXPECT_EQ(ids(add.cur_user_id_list()), (IdList{3140, 3141, 3142, 3143}));
  EXPECT_EQ(groupCol(gid, "version"), "2");
  EXPECT_EQ(groupCol(gid, "userCnt"), "4");
  EXPECT_EQ(memberStatus(gid, 3142), "0");
  EXPECT_GE(std::stoul(value("SELECT created FROM IMGroupMember WHERE groupId = " + g + " AND userId = 3142")),
            before);  // re-joined: a new join time
  EXPECT_EQ(value("SELECT created FROM IMGroupMember WHERE groupId = " + g + " AND userId = 3141"), "1600000000");
  // New members start at the group's newest message: nothing unread.
  EXPECT_EQ(hget(kUnreadDb, rk::groupReadKey(3142, gid), rk::kGroupReadField), "7");
  EXPECT_EQ(hget(kUnreadDb, rk::groupReadKey(3143, gid), rk::kGroupReadField), "7");
  EXPECT_EQ(hget(kUnreadDb, rk::groupReadKey(3141, gid), rk::kGroupReadField), "<nil>");  // not changed

  auto del = change(3140, gid, BD::GROUP_MODIFY_TYPE_DEL, {3141, 3145});
  EXPECT_EQ(del.result_code(), 0u);
  EXPECT_EQ(del.change_type(), BD::GROUP_MODIFY_TYPE_DEL);
  EXPECT_EQ(ids(del.chg_user_id_list()), (IdList{3141}));
  EXPECT_EQ(ids(del.cur_user_id_list()), (IdList{3140, 3142, 3143}));
  EXPECT_EQ(groupCol(gid, "version"), "3");
  EXPECT_EQ(groupCol(gid, "userCnt"), "3");
  EXPECT_EQ(memberStatus(gid, 3141), "1");
  // The removed member's group session is deleted; a 1:1 session with the same peer id is not.
  EXPECT_EQ(value("SELECT status FROM IMRecentSession WHERE userId = 3141 AND peerId = " + g + " AND type = 2"), "1");
  EXPECT_EQ(value("SELECT status FROM IMRecentSession WHERE userId = 3141 AND peerId = " + g + " AND type = 1"), "0");

  // Nothing to change: success, no version bump.
  auto noop = change(3140, gid, BD::GROUP_MODIFY_TYPE_DEL, {3141});
  EXPECT_EQ(noop.result_code(), 0u);
  EXPECT_EQ(noop.chg_user_id_list_size(), 0);
  EXPECT_EQ(ids(noop.cur_user_id_list()), (IdList{3140, 3142, 3143}));
  EXPECT_EQ(groupCol(gid, "version"), "3");

  // The version bump reaches clients through 0x0403.
  auto gi = info(3140, {{gid, 2}});
  ASSERT_EQ(gi.group_info_list_size(), 1);
  EXPECT_EQ(gi.group_info_list(0).version(), 3u);
  EXPECT_EQ(ids(gi.group_info_list(0).group_member_list()), (IdList{3140, 3142, 3143}));
}

TEST_F(GroupTest, OnlyTheCreatorChangesANormalGroup) {
  makeUsers(3150, 4);
  const uint32_t gid = makeGroup("cm-perm", 3150, 1, {3150, 3151, 3152});
  for (auto type : {BD::GROUP_MODIFY_TYPE_ADD, BD::GROUP_MODIFY_TYPE_DEL}) {
    const IdList target = type == BD::GROUP_MODIFY_TYPE_ADD ? IdList{3153} : IdList{3152};
    auto rsp = change(3151, gid, type, target);
    EXPECT_EQ(rsp.result_code(), 1u);
    EXPECT_EQ(rsp.user_id(), 3151u);
    EXPECT_EQ(rsp.group_id(), gid);
    EXPECT_EQ(rsp.change_type(), type);
    EXPECT_EQ(rsp.cur_user_id_list_size(), 0);
    EXPECT_EQ(rsp.chg_user_id_list_size(), 0);
  }
  EXPECT_EQ(memberStatus(gid, 3153), "");
  EXPECT_EQ(memberStatus(gid, 3152), "0");
  EXPECT_EQ(groupCol(gid, "version"), "1");
  // A group that does not exist: refused too.
  EXPECT_EQ(change(3150, 3999997, BD::GROUP_MODIFY_TYPE_ADD, {3153}).result_code(), 1u);
}

TEST_F(GroupTest, MembersOfATemporaryGroupMayAddButNotRemove) {
  makeUsers(3160, 5);
  const uint32_t gid = makeGroup("cm-temp", 3160, 2, {3160, 3161});
  auto add = change(3161, gid, BD::GROUP_MODIFY_TYPE_ADD, {3162});
  EXPECT_EQ(add.result_code(), 0u);
  EXPECT_EQ(ids(add.chg_user_id_list()), (IdList{3162}));
  EXPECT_EQ(ids(add.cur_user_id_list()), (IdList{3160, 3161, 3162}));
  EXPECT_EQ(memberStatus(gid, 3162), "0");

  EXPECT_EQ(change(3161, gid, BD::GROUP_MODIFY_TYPE_DEL, {3160}).result_code(), 1u);
  EXPECT_EQ(memberStatus(gid, 3160), "0");
  // A non-member may not add (the original let anyone add to a temporary group).
  EXPECT_EQ(change(3163, gid, BD::GROUP_MODIFY_TYPE_ADD, {3164}).result_code(), 1u);
  EXPECT_EQ(memberStatus(gid, 3164), "");
  EXPECT_EQ(groupCol(gid, "version"), "2");
}

TEST_F(GroupTest, UserZeroIsNotAnAdministrator) {
  makeUsers(3170, 2);
  const uint32_t normal = makeGroup("cm-zero", 3170, 1, {3170});
  const uint32_t creatorless = makeGroup("cm-zero-admin", 0, 1, {3170});  // e.g. made by an admin tool
  for (uint32_t gid : {normal, creatorless}) {
    EXPECT_EQ(change(0, gid, BD::GROUP_MODIFY_TYPE_ADD, {3171}).result_code(), 1u);
    EXPECT_EQ(change(0, gid, BD::GROUP_MODIFY_TYPE_DEL, {3170}).result_code(), 1u);
    EXPECT_EQ(memberStatus(gid, 3171), "");
    EXPECT_EQ(memberStatus(gid, 3170), "0");
    EXPECT_EQ(groupCol(gid, "version"), "1");
  }
}

// ---- 0x0409 / 0x0711 ----------------------------------------------------------------------------

TEST_F(GroupTest, ShieldIsSetByMembersAndLookedUpPerUser) {
  makeUsers(3180, 3);
  const uint32_t gid = makeGroup("sh-group", 3180, 2, {3180, 3181});
  const std::string key = rk::groupShieldKey(gid);

  IM::Group::IMGroupShieldReq req;
  req.set_user_id(3180);
  req.set_group_id(gid);
  req.set_shield_status(1);
  req.set_attach_data("sh-ctx");
  auto on = call<IM::Group::IMGroupShieldRsp>(BD::SID_GROUP, BD::CID_GROUP_SHIELD_GROUP_REQUEST,
                                              BD::CID_GROUP_SHIELD_GROUP_RESPONSE, req, 77);
  EXPECT_EQ(on.result_code(), 0u);
  EXPECT_EQ(on.user_id(), 3180u);
  EXPECT_EQ(on.group_id(), gid);
  EXPECT_EQ(on.attach_data(), "sh-ctx");
  EXPECT_EQ(hget(kGroupSetDb, key, rk::groupShieldField(3180)), "1");

  EXPECT_EQ(shield(3181, gid, 1).result_code(), 0u);
  EXPECT_EQ(hget(kGroupSetDb, key, rk::groupShieldField(3181)), "1");
  EXPECT_EQ(shield(3181, gid, 0).result_code(), 0u);
  EXPECT_EQ(hget(kGroupSetDb, key, rk::groupShieldField(3181)), "0");
  // Not a member: refused, nothing written.
  EXPECT_EQ(shield(3182, gid, 1).result_code(), 1u);
  EXPECT_EQ(hget(kGroupSetDb, key, rk::groupShieldField(3182)), "<nil>");

  // 0x0403 now tells 3180 its group is shielded.
  auto gi = info(3180, {{gid, 0}});
  ASSERT_EQ(gi.group_info_list_size(), 1);
  EXPECT_EQ(gi.group_info_list(0).shield_status(), 1u);

  // msg_server's lookup: one entry per requested user, in order, missing = 0.
  IM::Server::IMGroupGetShieldReq get;
  get.set_group_id(gid);
  for (uint32_t uid : {3180u, 3181u, 3182u, 3180u}) get.add_user_id(uid);
  get.set_attach_data(std::string("\x00\x00\x00\x03push", 8));
  auto rsp = call<IM::Server::IMGroupGetShieldRsp>(BD::SID_OTHER, BD::CID_OTHER_GET_SHIELD_REQ,
                                                   BD::CID_OTHER_GET_SHIELD_RSP, get, 1234);
  EXPECT_EQ(rsp.group_id(), gid);
  EXPECT_EQ(rsp.attach_data(), std::string("\x00\x00\x00\x03push", 8));
  ASSERT_EQ(rsp.shield_status_list_size(), 4);
  const std::vector<std::pair<uint32_t, uint32_t>> expected{{3180, 1}, {3181, 0}, {3182, 0}, {3180, 1}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(rsp.shield_status_list(i).user_id(), expected[static_cast<size_t>(i)].first);
    EXPECT_EQ(rsp.shield_status_list(i).group_id(), gid);
    EXPECT_EQ(rsp.shield_status_list(i).shield_status(), expected[static_cast<size_t>(i)].second);
  }

  IM::Server::IMGroupGetShieldReq empty;
  empty.set_group_id(gid);
  auto none = call<IM::Server::IMGroupGetShieldRsp>(BD::SID_OTHER, BD::CID_OTHER_GET_SHIELD_REQ,
                                                    BD::CID_OTHER_GET_SHIELD_RSP, empty, 1235);
  EXPECT_EQ(none.group_id(), gid);
  EXPECT_EQ(none.shield_status_list_size(), 0);
}

}  // namespace
}  // namespace tt::test
