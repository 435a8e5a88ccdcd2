// tools/im_admin, the real binary, against the shared MariaDB/Redis, checked two ways: the rows it
// writes, and what the real db_proxy_server answers afterwards (login check 0x0703, group info
// 0x0403), so "the operator added a user" is proven to mean "that user can log in".
// Each test uses its own names (prefix per test), so tests do not depend on each other.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <mysql.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
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
constexpr int kReplyTimeoutMs = 10000;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

struct RunResult {
  int status = -1;  // exit status, -1 if killed or not run
  std::string out;
  std::string err;
};

std::string hexOf(const std::string& s) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

class ImAdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& proxy = DbProxyFixture::instance();
    confPath_ = proxy.dir() + "/im_admin.conf";
    writeFile(confPath_, dbProxyConf(proxy.storage(), proxy.port()));
  }

  void SetUp() override {
    proxy_ = &DbProxyFixture::instance();
    db_.reset(proxy_->mysql());
    ASSERT_TRUE(client_.connect(proxy_->port()));
  }

  // Runs build/tools/im_admin with `-c <conf>` first (unless conf is empty); stdin from `input`.
  RunResult admin(const std::vector<std::string>& args, const std::string& input = "",
                  const std::string& conf = confPath_) {
    const std::string base = proxy_->dir() + "/im_admin_run";
    writeFile(base + ".in", input);
    std::vector<std::string> argv{std::string(TT_BINARY_DIR) + "/tools/im_admin"};
    if (!conf.empty()) argv.insert(argv.end(), {"-c", conf});
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open((base + ".in").c_str(), O_RDONLY);
      const int out = open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || out < 0 || err < 0) _exit(127);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    RunResult r;
    int wstatus = 0;
    if (pid > 0 && waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus)) r.status = WEXITSTATUS(wstatus);
    r.out = readFile(base + ".out");
    r.err = readFile(base + ".err");
    return r;
  }

  // Runs a command that must succeed; returns its stdout.
  std::string ok(const std::vector<std::string>& args, const std::string& input = "") {
    RunResult r = admin(args, input);
    EXPECT_EQ(r.status, 0) << "im_admin failed; stdout:\n" << r.out << "stderr:\n" << r.err;
    return r.out;
  }

  std::vector<std::vector<std::string>> rows(const std::string& sql) { return sqlRows(db_.get(), sql); }
  std::string value(const std::string& sql) { return sqlValue(db_.get(), sql); }
  uint32_t number(const std::string& sql) { return static_cast<uint32_t>(std::stoul("0" + value(sql))); }

  uint32_t userId(const std::string& name) {
    return number("SELECT id FROM IMUser WHERE HEX(name) = '" + hexOf(name) + "'");
  }

  // md5hex(password), what a TeamTalk client sends; computed by MariaDB, independently of im_admin.
  std::string md5Hex(const std::string& password) { return value("SELECT MD5(UNHEX('" + hexOf(password) + "'))"); }

  // db_proxy's login check, as msg_server sends it: result_code 0 = ok, 1 = bad credential.
  uint32_t validate(const std::string& name, const std::string& password) {
    IM::Server::IMValidateReq req;
    req.set_user_name(name);
    req.set_password(md5Hex(password));
    EXPECT_TRUE(client_.send(BD::SID_OTHER, BD::CID_OTHER_VALIDATE_REQ, ++seq_, req));
    auto pdu = client_.receiveCommand(BD::CID_OTHER_VALIDATE_RSP, kReplyTimeoutMs);
    if (!pdu) {
      ADD_FAILURE() << "no validate response\n" << proxy_->daemon().logTail();
      return 99;
    }
    auto rsp = pdu->as<IM::Server::IMValidateRsp>();
    EXPECT_EQ(rsp.user_name(), name);
    return rsp.result_code();
  }

  // db_proxy's group info for one group (client version 0: always answered if the group is live).
  IM::Group::IMGroupInfoListRsp groupInfo(uint32_t uid, uint32_t gid) {
    IM::Group::IMGroupInfoListReq req;
    req.set_user_id(uid);
    auto* gv = req.add_group_version_list();
    gv->set_group_id(gid);
    gv->set_version(0);
    EXPECT_TRUE(client_.send(BD::SID_GROUP, BD::CID_GROUP_INFO_REQUEST, ++seq_, req));
    auto pdu = client_.receiveCommand(BD::CID_GROUP_INFO_RESPONSE, kReplyTimeoutMs);
    if (!pdu) {
      ADD_FAILURE() << "no group info response\n" << proxy_->daemon().logTail();
      return {};
    }
    return pdu->as<IM::Group::IMGroupInfoListRsp>();
  }

  IdList infoMembers(uint32_t uid, uint32_t gid) {
    auto rsp = groupInfo(uid, gid);
    if (rsp.group_info_list_size() != 1) return {};
    const auto& m = rsp.group_info_list(0).group_member_list();
    return IdList(m.begin(), m.end());
  }

  std::string readPosition(uint32_t uid, uint32_t gid) {
    RedisPtr r(proxy_->redis(kUnreadDb));
    const std::string key = rk::groupReadKey(uid, gid);
    const std::string field = rk::kGroupReadField;
    auto* reply = static_cast<redisReply*>(
        redisCommand(r.get(), "HGET %b %b", key.data(), key.size(), field.data(), field.size()));
    std::string out = "<error>";
    if (reply && reply->type == REDIS_REPLY_STRING) out.assign(reply->str, reply->len);
    if (reply && reply->type == REDIS_REPLY_NIL) out = "<nil>";
    freeReplyObject(reply);
    return out;
  }

  static std::string confPath_;
  DbProxyFixture* proxy_ = nullptr;
  MysqlPtr db_;
  PduClient client_;
  uint16_t seq_ = 0;
};

std::string ImAdminTest::confPath_;

uint32_t idFrom(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(" id ([0-9]+)"))) return 0;
  return static_cast<uint32_t>(std::stoul(m[1]));
}

TEST_F(ImAdminTest, HelpAndUsageErrors) {
  RunResult help = admin({"--help"}, "", "");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("user add <name> --password"), std::string::npos) << help.out;

  RunResult bad = admin({"user", "frobnicate"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("unknown command"), std::string::npos) << bad.err;

  RunResult missing = admin({"user", "add", "nopw"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("--password"), std::string::npos) << missing.err;
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMUser WHERE name = 'nopw'"), "0");
}

TEST_F(ImAdminTest, BadConfigNamesTheKey) {
  std::string conf = dbProxyConf(proxy_->storage(), proxy_->port());
  conf = std::regex_replace(conf, std::regex("teamtalk_master_dbname=[^\n]*\n"), "");
  const std::string path = proxy_->dir() + "/im_admin_bad.conf";
  writeFile(path, conf);
  RunResult r = admin({"user", "list"}, "", path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("teamtalk_master_dbname"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("im_admin_bad.conf"), std::string::npos) << r.err;

  RunResult none = admin({"user", "list"}, "", proxy_->dir() + "/does-not-exist.conf");
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("does-not-exist.conf"), std::string::npos) << none.err;
}

TEST_F(ImAdminTest, UserAddPasswdRemoveDrivesLogin) {
  const uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  const std::string out = ok({"user", "add", "adm_alice", "--password", "first-pw", "--nick", "Alice",
                              "--depart", "2", "--sex", "2", "--email", "a@example.com", "--phone", "555"});
  const uint32_t uid = idFrom(out);
  ASSERT_NE(uid, 0u) << out;
  auto row = rows("SELECT name, nick, departId, sex, email, phone, status, updated, created, password FROM IMUser "
                  "WHERE id = " + std::to_string(uid));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0], "adm_alice");
  EXPECT_EQ(row[0][1], "Alice");
  EXPECT_EQ(row[0][2], "2");
  EXPECT_EQ(row[0][3], "2");
  EXPECT_EQ(row[0][4], "a@example.com");
  EXPECT_EQ(row[0][5], "555");
  EXPECT_EQ(row[0][6], "0");
  EXPECT_GE(std::stoul(row[0][7]), before);
  EXPECT_GE(std::stoul(row[0][8]), before);
  EXPECT_EQ(row[0][9].rfind("pbkdf2-sha256$", 0), 0u) << "stored form is the login's: " << row[0][9];

  EXPECT_EQ(validate("adm_alice", "first-pw"), 0u);
  EXPECT_EQ(validate("adm_alice", "wrong"), 1u);

  // Duplicate name: refused, nothing changes.
  RunResult dup = admin({"user", "add", "adm_alice", "--password", "other"});
  EXPECT_EQ(dup.status, 1);
  EXPECT_NE(dup.err.find("duplicate name"), std::string::npos) << dup.err;
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMUser WHERE name = 'adm_alice'"), "1");

  // passwd by name: the old password stops working, the new one works. The row's updated moves.
  value("UPDATE IMUser SET updated = 1000 WHERE id = " + std::to_string(uid));
  ok({"user", "passwd", "adm_alice", "--password", "second-pw"});
  EXPECT_GE(number("SELECT updated FROM IMUser WHERE id = " + std::to_string(uid)), before);
  EXPECT_EQ(validate("adm_alice", "first-pw"), 1u);
  EXPECT_EQ(validate("adm_alice", "second-pw"), 0u);

  // passwd by id, the password from stdin.
  ok({"user", "passwd", std::to_string(uid), "--password", "-"}, "third-pw\n");
  EXPECT_EQ(validate("adm_alice", "second-pw"), 1u);
  EXPECT_EQ(validate("adm_alice", "third-pw"), 0u);

  // The list shows active users; after remove only --all does.
  EXPECT_NE(ok({"user", "list"}).find("adm_alice"), std::string::npos);

  // remove: status 3 (row kept), updated moves, login refused.
  value("UPDATE IMUser SET updated = 1000 WHERE id = " + std::to_string(uid));
  const std::string removed = ok({"user", "remove", "adm_alice"});
  EXPECT_NE(removed.find("removed user 'adm_alice'"), std::string::npos) << removed;
  EXPECT_EQ(value("SELECT status FROM IMUser WHERE id = " + std::to_string(uid)), "3");
  EXPECT_GE(number("SELECT updated FROM IMUser WHERE id = " + std::to_string(uid)), before);
  EXPECT_EQ(validate("adm_alice", "third-pw"), 1u);
  EXPECT_EQ(ok({"user", "list"}).find("adm_alice"), std::string::npos);
  EXPECT_NE(ok({"user", "list", "--all"}).find("adm_alice"), std::string::npos);
}

TEST_F(ImAdminTest, QuoteAndEmojiNameRoundTrips) {
  const std::string name = "o'bri\"en \xF0\x9F\x98\x80";  // o'bri"en 😀
  const std::string nick = "Nick \xF0\x9F\x8E\x89 '1";
  const uint32_t uid = idFrom(ok({"user", "add", name, "--password", "pw \xE5\xAF\x86\xE7\xA0\x81", "--nick", nick}));
  ASSERT_NE(uid, 0u);
  EXPECT_EQ(value("SELECT HEX(name) FROM IMUser WHERE id = " + std::to_string(uid)), hexOf(name));
  EXPECT_EQ(value("SELECT HEX(nick) FROM IMUser WHERE id = " + std::to_string(uid)), hexOf(nick));
  EXPECT_EQ(validate(name, "pw \xE5\xAF\x86\xE7\xA0\x81"), 0u);
  // Byte-exact: a trailing space is another name.
  EXPECT_EQ(validate(name + " ", "pw \xE5\xAF\x86\xE7\xA0\x81"), 1u);
  EXPECT_NE(ok({"user", "list"}).find(name), std::string::npos);
  // Addressed by that name, it is found.
  ok({"user", "passwd", name, "--password", "new"});
  EXPECT_EQ(validate(name, "new"), 0u);
}

TEST_F(ImAdminTest, UnknownUserFailsWithMessage) {
  RunResult r = admin({"user", "passwd", "adm_nobody", "--password", "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown user 'adm_nobody'"), std::string::npos) << r.err;

  RunResult rm = admin({"user", "remove", "999999"});
  EXPECT_EQ(rm.status, 1);
  EXPECT_NE(rm.err.find("unknown user '999999'"), std::string::npos) << rm.err;

  // A group command with one unknown user changes nothing.
  const std::string v = value("SELECT version FROM IMGroup WHERE id = 1");
  RunResult g = admin({"group", "add", "1", "user15", "adm_nobody"});
  EXPECT_EQ(g.status, 1);
  EXPECT_NE(g.err.find("unknown user 'adm_nobody'"), std::string::npos) << g.err;
  EXPECT_EQ(value("SELECT version FROM IMGroup WHERE id = 1"), v);
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 1 AND userId = 15 AND status = 0"), "0");

  RunResult create = admin({"group", "create", "g", "--creator", "adm_nobody", "--members", "user01"});
  EXPECT_EQ(create.status, 1);
  EXPECT_NE(create.err.find("unknown user 'adm_nobody'"), std::string::npos) << create.err;
}

TEST_F(ImAdminTest, DepartmentAdd) {
  const uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  const uint32_t top = idFrom(ok({"dept", "add", "Adm R&D \xF0\x9F\x94\xAC", "--priority", "7"}));
  ASSERT_NE(top, 0u);
  const uint32_t sub = idFrom(ok({"dept", "add", "Adm Lab", "--parent", std::to_string(top)}));
  ASSERT_NE(sub, 0u);
  auto row = rows("SELECT HEX(departName), priority, parentId, status, updated FROM IMDepart WHERE id = " +
                  std::to_string(top));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0], hexOf("Adm R&D \xF0\x9F\x94\xAC"));
  EXPECT_EQ(row[0][1], "7");
  EXPECT_EQ(row[0][2], "0");
  EXPECT_GE(std::stoul(row[0][4]), before);
  EXPECT_EQ(value("SELECT parentId FROM IMDepart WHERE id = " + std::to_string(sub)), std::to_string(top));

  RunResult dup = admin({"dept", "add", "Adm Lab", "--parent", std::to_string(top)});
  EXPECT_EQ(dup.status, 1);
  EXPECT_NE(dup.err.find("duplicate name"), std::string::npos) << dup.err;
  RunResult badParent = admin({"dept", "add", "Adm X", "--parent", "999999"});
  EXPECT_EQ(badParent.status, 1);

  // A user in the new department; an unknown department is refused.
  const uint32_t uid = idFrom(ok({"user", "add", "adm_labuser", "--password", "p", "--depart", std::to_string(sub)}));
  EXPECT_EQ(value("SELECT departId FROM IMUser WHERE id = " + std::to_string(uid)), std::to_string(sub));
  RunResult badDept = admin({"user", "add", "adm_nodept", "--password", "p", "--depart", "999999"});
  EXPECT_EQ(badDept.status, 1);
  EXPECT_NE(badDept.err.find("unknown department"), std::string::npos) << badDept.err;
}

TEST_F(ImAdminTest, GroupCreateAddRemove) {
  std::vector<uint32_t> u;
  for (const char* n : {"adm_g1", "adm_g2", "adm_g3", "adm_g4"}) {
    u.push_back(idFrom(ok({"user", "add", n, "--password", "p"})));
    ASSERT_NE(u.back(), 0u);
  }
  const uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  const std::string gname = "Adm's group \xF0\x9F\x9A\x80";
  // Members by name and by id; the creator is made a member.
  const std::string out =
      ok({"group", "create", gname, "--creator", "adm_g1", "--members", "adm_g2," + std::to_string(u[2])});
  const uint32_t gid = idFrom(out);
  ASSERT_NE(gid, 0u) << out;
  const std::string g = std::to_string(gid);

  auto grp = rows("SELECT HEX(name), creator, type, userCnt, version, status, updated FROM IMGroup WHERE id = " + g);
  ASSERT_EQ(grp.size(), 1u);
  EXPECT_EQ(grp[0][0], hexOf(gname));
  EXPECT_EQ(grp[0][1], std::to_string(u[0]));
  EXPECT_EQ(grp[0][2], "1");
  EXPECT_EQ(grp[0][3], "3");
  EXPECT_EQ(grp[0][4], "1");
  EXPECT_EQ(grp[0][5], "0");
  EXPECT_GE(std::stoul(grp[0][6]), before);
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMGroupMember WHERE status = 0 AND groupId = " + g), "3");
  EXPECT_GE(number("SELECT MIN(created) FROM IMGroupMember WHERE groupId = " + g), before);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(readPosition(u[i], gid), "0");

  auto info = groupInfo(u[0], gid);
  ASSERT_EQ(info.group_info_list_size(), 1);
  EXPECT_EQ(info.group_info_list(0).group_name(), gname);
  EXPECT_EQ(info.group_info_list(0).version(), 1u);
  EXPECT_EQ(info.group_info_list(0).group_creator_id(), u[0]);
  EXPECT_EQ(info.group_info_list(0).group_type(), BD::GROUP_TYPE_NORMAL);
  EXPECT_EQ(infoMembers(u[0], gid), (IdList{u[0], u[1], u[2]}));

  // The group has had messages: a new member starts at the current msg id.
  value("UPDATE IMGroup SET msgSeq = 5 WHERE id = " + g);
  const std::string added = ok({"group", "add", g, "adm_g4", "adm_g2"});
  EXPECT_NE(added.find("already members: 'adm_g2'"), std::string::npos) << added;
  EXPECT_EQ(value("SELECT CONCAT(version, ',', userCnt) FROM IMGroup WHERE id = " + g), "2,4");
  EXPECT_EQ(readPosition(u[3], gid), "5");
  EXPECT_EQ(infoMembers(u[0], gid), (IdList{u[0], u[1], u[2], u[3]}));

  // Removing: membership left, session deleted, read position dropped, version bumped.
  value("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (" +
        std::to_string(u[1]) + ", " + g + ", 2, 0, 1000, 1000)");
  ok({"group", "remove", g, "adm_g2"});
  EXPECT_EQ(value("SELECT CONCAT(version, ',', userCnt) FROM IMGroup WHERE id = " + g), "3,3");
  EXPECT_EQ(value("SELECT status FROM IMGroupMember WHERE groupId = " + g + " AND userId = " + std::to_string(u[1])),
            "1");
  auto session = rows("SELECT status, updated FROM IMRecentSession WHERE peerId = " + g +
                      " AND type = 2 AND userId = " + std::to_string(u[1]));
  ASSERT_EQ(session.size(), 1u);
  EXPECT_EQ(session[0][0], "1");
  EXPECT_GE(std::stoul(session[0][1]), before);
  EXPECT_EQ(readPosition(u[1], gid), "<nil>");
  EXPECT_EQ(infoMembers(u[0], gid), (IdList{u[0], u[2], u[3]}));

  // Removing a non-member changes nothing (no version bump).
  const std::string again = ok({"group", "remove", g, "adm_g2"});
  EXPECT_NE(again.find("not members: 'adm_g2'"), std::string::npos) << again;
  EXPECT_EQ(value("SELECT version FROM IMGroup WHERE id = " + g), "3");

  // Re-adding re-activates the same row with a new join time.
  value("UPDATE IMGroupMember SET created = 1000 WHERE groupId = " + g + " AND userId = " + std::to_string(u[1]));
  ok({"group", "add", g, std::to_string(u[1])});
  auto member = rows("SELECT status, created FROM IMGroupMember WHERE groupId = " + g +
                     " AND userId = " + std::to_string(u[1]));
  ASSERT_EQ(member.size(), 1u);
  EXPECT_EQ(member[0][0], "0");
  EXPECT_GE(std::stoul(member[0][1]), before);
  EXPECT_EQ(value("SELECT CONCAT(version, ',', userCnt) FROM IMGroup WHERE id = " + g), "4,4");
  EXPECT_EQ(readPosition(u[1], gid), "5");
  EXPECT_EQ(infoMembers(u[0], gid), (IdList{u[0], u[1], u[2], u[3]}));

  // A temporary group; the list shows both.
  const uint32_t tmp = idFrom(ok({"group", "create", "adm tmp", "--creator", std::to_string(u[3]), "--members",
                                  "adm_g1", "--type", "tmp"}));
  ASSERT_NE(tmp, 0u);
  EXPECT_EQ(value("SELECT CONCAT(type, ',', userCnt) FROM IMGroup WHERE id = " + std::to_string(tmp)), "2,2");
  const std::string list = ok({"group", "list"});
  EXPECT_NE(list.find(gname), std::string::npos) << list;
  EXPECT_NE(list.find("adm tmp"), std::string::npos) << list;

  // Unknown group: exit 1, nothing written.
  RunResult unknown = admin({"group", "add", "999999", "adm_g1"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("unknown group 999999"), std::string::npos) << unknown.err;
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 999999"), "0");
  // A departed user cannot be added.
  ok({"user", "remove", "adm_g4"});
  RunResult departed = admin({"group", "add", std::to_string(tmp), "adm_g4"});
  EXPECT_EQ(departed.status, 1);
  EXPECT_NE(departed.err.find("not active"), std::string::npos) << departed.err;
}

}  // namespace
}  // namespace tt::test
