// Offline push end to end: real MariaDB/Redis, db_proxy_server, route_server, login_server
// (ClusterFixture), push_server, and msg_servers configured with the push_server; Node plays APNs
// (HTTP/2 + TLS, self-signed) and records what it receives. Clients are raw PduClients.
//
// Users (demo data, password "ttsuite"): alice = user01 (nick "User 01") sends; bob = user02;
// user03 is the "barrier" receiver; group 1 (users 1-10): user04 plain member, user05 shielded.
// Group 2 (all 20) is not used. A barrier push (to user03) sent after a message that must not be
// pushed proves that message's push path has run: one msg_server handles them in order and
// push_server's APNs queue delivers in order.
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ClusterFixture.h"
#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Group.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"
#include "proto/ContentCodec.h"
#include "proto/InternalCommands.h"
#include "push/PushPeers.h"

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace bd = IM::BaseDefine;
using nlohmann::json;
using tt::test::ClusterFixture;
using tt::test::DaemonProcess;
using tt::test::PduClient;
using namespace tt::test::push;

namespace {

constexpr uint32_t kAlice = 1, kBob = 2, kBarrier = 3, kMember = 4, kShielded = 5;

std::string hexToken(char c, const std::string& prefix = "") { return prefix + std::string(64 - prefix.size(), c); }
const std::string kBobToken = hexToken('b');
const std::string kBarrierToken = hexToken('c');
const std::string kMemberToken = hexToken('d');
const std::string kShieldedToken = hexToken('e');

std::string userName(uint32_t id) {
  char b[16];
  std::snprintf(b, sizeof b, "user%02u", id);
  return b;
}

class PushFlowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterFixture& c = ClusterFixture::instance(1);
    dir_ = tt::test::makeTempDir("tt-pushflow-");
    peers_ = new NodePeers(dir_, tt::test::pickFreeLoopbackPort(), tt::test::pickFreeLoopbackPort());
    pushPort_ = tt::test::pickFreeLoopbackPort();
    push_ = new DaemonProcess(tt::test::daemonBinary("push_server"), "push_server");
    push_->start(dir_,
                 "ListenIP=127.0.0.1\nListenPort=" + std::to_string(pushPort_) +
                     "\nIosProvider=apns\nAndroidProvider=none\nDBServerIP1=127.0.0.1\nDBServerPort1=" +
                     std::to_string(c.dbProxyPort()) + "\nLogLevel=debug\n" + peers_->apnsConf(),
                 pushPort_);
    // Two msg_servers with push: a group message must still be pushed once per member.
    const std::string extra = "PushServerIP1=127.0.0.1\nPushServerPort1=" + std::to_string(pushPort_) + "\n";
    msgA_ = static_cast<int>(c.addMsgServer(extra));
    msgB_ = static_cast<int>(c.addMsgServer(extra));
  }
  static void TearDownTestSuite() {
    if (push_) {
      EXPECT_EQ(push_->stop(), 0) << push_->logTail();
      delete push_;
      push_ = nullptr;
    }
    delete peers_;
    peers_ = nullptr;
    for (const std::string& name : ClusterFixture::instance().stopAll()) ADD_FAILURE() << name << " did not exit 0";
    tt::test::removeTree(dir_);
  }

  static int msgPort(int i) { return ClusterFixture::instance().msgServerPort(static_cast<size_t>(i)); }

  // A raw client login; retries while the msg_server's back-end links come up.
  static bool login(PduClient& c, int port, uint32_t uid, bd::ClientType type) {
    for (int attempt = 0; attempt < 40; ++attempt) {
      c.close();
      if (!c.connect(port)) return false;
      IM::Login::IMLoginReq req;
      req.set_user_name(userName(uid));
      req.set_password(tt::codec::md5Hex("ttsuite"));
      req.set_online_status(bd::USER_STATUS_ONLINE);
      req.set_client_type(type);
      if (!c.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, 1, req)) return false;
      auto pdu = c.receiveCommand(bd::CID_LOGIN_RES_USERLOGIN, 15000);
      if (!pdu) return false;
      const auto res = pdu->as<IM::Login::IMLoginRes>();
      if (res.result_code() == 0) return true;
      if (res.result_code() > bd::REFUSE_REASON_NO_ROUTE_SERVER) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  // Sends an encrypted text; true once the server acked it (stored).
  static bool sendText(PduClient& c, uint32_t to, const std::string& text, bool group = false) {
    static uint16_t seq = 100;
    IM::Message::IMMsgData msg;
    msg.set_from_user_id(kAlice);
    msg.set_to_session_id(to);
    msg.set_msg_id(0);
    msg.set_create_time(0);
    msg.set_msg_type(group ? bd::MSG_TYPE_GROUP_TEXT : bd::MSG_TYPE_SINGLE_TEXT);
    msg.set_msg_data(tt::codec::encryptText(text));
    const uint16_t s = ++seq;
    if (!c.send(bd::SID_MSG, bd::CID_MSG_DATA, s, msg)) return false;
    auto ack = c.receiveCommand(bd::CID_MSG_DATA_ACK, 15000);
    return ack && ack->seq() == s && ack->as<IM::Message::IMMsgDataAck>().msg_id() != 0;
  }

  // Direct db_proxy requests (what a msg_server sends), answered on the same connection.
  template <class Rsp, class Req>
  static std::optional<Rsp> db(uint16_t sid, uint16_t cid, const Req& req, uint16_t rspCid) {
    PduClient c;
    if (!c.connect(ClusterFixture::instance().dbProxyPort())) return std::nullopt;
    if (!c.send(sid, cid, 9, req)) return std::nullopt;
    auto pdu = c.receiveCommand(rspCid, 15000);
    if (!pdu) return std::nullopt;
    return pdu->as<Rsp>();
  }
  static void setToken(uint32_t uid, const std::string& token, const std::string& attach = "") {
    IM::Login::IMDeviceTokenReq req;
    req.set_user_id(uid);
    req.set_device_token(token);
    req.set_client_type(bd::CLIENT_TYPE_IOS);
    if (!attach.empty()) req.set_attach_data(attach);
    ASSERT_TRUE((db<IM::Login::IMDeviceTokenRsp>(bd::SID_LOGIN, bd::CID_LOGIN_REQ_DEVICETOKEN, req,
                                                 bd::CID_LOGIN_RES_DEVICETOKEN)));
  }
  static std::optional<bd::UserTokenInfo> tokenOf(uint32_t uid) {
    IM::Server::IMGetDeviceTokenReq req;
    req.add_user_id(uid);
    auto rsp = db<IM::Server::IMGetDeviceTokenRsp>(bd::SID_OTHER, bd::CID_OTHER_GET_DEVICE_TOKEN_REQ, req,
                                                   bd::CID_OTHER_GET_DEVICE_TOKEN_RSP);
    if (!rsp || rsp->user_token_info_size() == 0) return std::nullopt;
    return rsp->user_token_info(0);
  }
  static uint32_t totalUnread(uint32_t uid) {
    IM::Message::IMUnreadMsgCntReq req;
    req.set_user_id(uid);
    auto rsp = db<IM::Message::IMUnreadMsgCntRsp>(bd::SID_MSG, bd::CID_MSG_UNREAD_CNT_REQUEST, req,
                                                  bd::CID_MSG_UNREAD_CNT_RESPONSE);
    EXPECT_TRUE(rsp.has_value());
    return rsp ? rsp->total_cnt() : 0;
  }
  // route_server's any-device answer for uid, asked as a (user-less) msg_server would.
  static bool anyDeviceOnline(uint32_t uid, uint32_t queryUser = tt::internal::kAnyDeviceStatQuery) {
    PduClient r;
    if (!r.connect(ClusterFixture::instance().routePort())) return false;
    IM::Buddy::IMUsersStatReq req;
    req.set_user_id(queryUser);
    req.add_user_id_list(uid);
    r.send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USERS_STATUS_REQUEST, 3, req);
    auto pdu = r.receiveCommand(bd::CID_BUDDY_LIST_USERS_STATUS_RESPONSE);
    return pdu && pdu->as<IM::Buddy::IMUsersStatRsp>().user_stat_list(0).status() == bd::USER_STATUS_ONLINE;
  }
  static bool waitOffline(uint32_t uid) {
    const int64_t deadline = nowMs() + 20000;
    while (nowMs() < deadline) {
      if (!anyDeviceOnline(uid)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // APNs records for token whose alert body is body.
  static std::vector<json> pushes(const std::string& token, const std::string& body, size_t n = 1, int timeoutMs = 20000) {
    return waitRecords(peers_->apnsRecords, n, [&](const json& r) {
      return r.value("token", "") == token && r["body"].is_object() &&
             r["body"]["aps"].contains("alert") && r["body"]["aps"]["alert"].value("body", "") == body;
    }, timeoutMs);
  }
  // Sends a text to the barrier user and waits for its push.
  static void barrier(PduClient& alice, const std::string& text) {
    ASSERT_TRUE(sendText(alice, kBarrier, text));
    ASSERT_EQ(pushes(kBarrierToken, text).size(), 1u) << push_->logTail();
  }

  static std::string dir_;
  static NodePeers* peers_;
  static DaemonProcess* push_;
  static int pushPort_, msgA_, msgB_;
};

std::string PushFlowTest::dir_;
NodePeers* PushFlowTest::peers_ = nullptr;
DaemonProcess* PushFlowTest::push_ = nullptr;
int PushFlowTest::pushPort_ = 0, PushFlowTest::msgA_ = 0, PushFlowTest::msgB_ = 0;

TEST_F(PushFlowTest, OfflineReceiverGetsAlertWithUnreadBadge) {
  // bob registers his iPhone's token through msg_server, then the phone drops off (no logout:
  // a logout clears the token).
  {
    PduClient bob;
    ASSERT_TRUE(login(bob, msgPort(msgA_), kBob, bd::CLIENT_TYPE_IOS));
    IM::Login::IMDeviceTokenReq req;
    req.set_user_id(kBob);
    req.set_device_token(kBobToken);
    req.set_client_type(bd::CLIENT_TYPE_IOS);
    ASSERT_TRUE(bob.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_DEVICETOKEN, 5, req));
    ASSERT_TRUE(bob.receiveCommand(bd::CID_LOGIN_RES_DEVICETOKEN).has_value());
    const int64_t deadline = nowMs() + 20000;
    while (nowMs() < deadline && !(tokenOf(kBob) && tokenOf(kBob)->token() == kBobToken)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(tokenOf(kBob)->token(), kBobToken);
  }
  ASSERT_TRUE(waitOffline(kBob));
  setToken(kBarrier, kBarrierToken);

  PduClient alice;
  ASSERT_TRUE(login(alice, msgPort(msgA_), kAlice, bd::CLIENT_TYPE_MAC));
  ASSERT_TRUE(sendText(alice, kBob, "hello bob"));
  auto got = pushes(kBobToken, "hello bob");
  ASSERT_EQ(got.size(), 1u) << push_->logTail();
  const json& aps = got[0]["body"]["aps"];
  EXPECT_EQ(aps["alert"]["title"], "User 01");
  EXPECT_EQ(aps["badge"].get<uint32_t>(), totalUnread(kBob));
  EXPECT_GE(aps["badge"].get<uint32_t>(), 1u);
  EXPECT_EQ(got[0]["body"]["custom"]["from_id"], kAlice);
  EXPECT_EQ(got[0]["body"]["custom"]["msg_type"], bd::MSG_TYPE_SINGLE_TEXT);
  EXPECT_TRUE(got[0]["jwt"]["ok"].get<bool>());

  // A long text is cut to 37 bytes of "<nick>:<text>" + "...", never inside a UTF-8 character:
  // "User 01:" is 8 bytes, then 9 three-byte characters fit (27), the 10th would not.
  ASSERT_TRUE(sendText(alice, kBob, "你好你好你好你好你好你好你好你好"));
  EXPECT_EQ(pushes(kBobToken, "你好你好你好你好你...").size(), 1u) << push_->logTail();
  // Images are announced without their URL.
  ASSERT_TRUE(sendText(alice, kBob, "look &$#@~^@[{:http://x/1.png:}]&$~@#@"));
  EXPECT_EQ(pushes(kBobToken, "您收到了一条消息").size(), 1u) << push_->logTail();
}

TEST_F(PushFlowTest, ReceiverOnlineOnAnyDeviceAnywhereGetsNoPush) {
  setToken(kBob, kBobToken);
  setToken(kBarrier, kBarrierToken);
  PduClient alice, bobAndroid;
  ASSERT_TRUE(login(alice, msgPort(msgA_), kAlice, bd::CLIENT_TYPE_MAC));
  // bob online with a phone on the other msg_server: route's TeamTalk answer (PC only) would say
  // OFFLINE; the any-device query must say ONLINE.
  ASSERT_TRUE(login(bobAndroid, msgPort(msgB_), kBob, bd::CLIENT_TYPE_ANDROID));
  ASSERT_TRUE(anyDeviceOnline(kBob));
  EXPECT_FALSE(anyDeviceOnline(kBob, 0)) << "TeamTalk's status query stays PC-only";
  ASSERT_TRUE(sendText(alice, kBob, "are you there"));
  barrier(alice, "barrier after online bob");
  EXPECT_TRUE(pushes(kBobToken, "are you there", 1, 0).empty());

  // Local connection on the sender's own msg_server: no push either.
  PduClient bobMac;
  ASSERT_TRUE(login(bobMac, msgPort(msgA_), kBob, bd::CLIENT_TYPE_MAC));
  ASSERT_TRUE(sendText(alice, kBob, "still there"));
  barrier(alice, "barrier after local bob");
  EXPECT_TRUE(pushes(kBobToken, "still there", 1, 0).empty());
}

TEST_F(PushFlowTest, GroupMessagePushesEachUnshieldedOfflineMemberOnce) {
  ASSERT_TRUE(waitOffline(kBob));
  setToken(kMember, kMemberToken);
  setToken(kShielded, kShieldedToken);
  setToken(kBarrier, kBarrierToken);
  IM::Group::IMGroupShieldReq shield;
  shield.set_user_id(kShielded);
  shield.set_group_id(1);
  shield.set_shield_status(1);
  auto rsp = db<IM::Group::IMGroupShieldRsp>(bd::SID_GROUP, bd::CID_GROUP_SHIELD_GROUP_REQUEST, shield,
                                             bd::CID_GROUP_SHIELD_GROUP_RESPONSE);
  ASSERT_TRUE(rsp.has_value());
  ASSERT_EQ(rsp->result_code(), 0u);

  PduClient alice;
  ASSERT_TRUE(login(alice, msgPort(msgA_), kAlice, bd::CLIENT_TYPE_MAC));
  ASSERT_TRUE(sendText(alice, 1, "team meeting", true));
  auto member = pushes(kMemberToken, "team meeting");
  ASSERT_EQ(member.size(), 1u) << push_->logTail();
  EXPECT_EQ(member[0]["body"]["custom"]["group_id"], 1);
  EXPECT_EQ(member[0]["body"]["custom"]["msg_type"], bd::MSG_TYPE_GROUP_TEXT);
  EXPECT_EQ(member[0]["body"]["aps"]["badge"].get<uint32_t>(), totalUnread(kMember));
  barrier(alice, "barrier after group");
  // Exactly once, although two msg_servers with push links saw the message.
  EXPECT_EQ(pushes(kMemberToken, "team meeting", 2, 0).size(), 1u);
  EXPECT_TRUE(pushes(kShieldedToken, "team meeting", 1, 0).empty());
  // The sender never gets her own push.
  EXPECT_TRUE(pushes(hexToken('a'), "team meeting", 1, 0).empty());
}

// Messages stored together share one presence query to route_server (one per loop turn): each
// offline receiver still gets its own push, the online one none.
TEST_F(PushFlowTest, BurstOfMessagesPushesEachOfflineReceiverOnce) {
  setToken(kBob, kBobToken);
  setToken(kMember, kMemberToken);
  setToken(kBarrier, kBarrierToken);
  PduClient alice, bobAndroid;
  ASSERT_TRUE(login(alice, msgPort(msgA_), kAlice, bd::CLIENT_TYPE_MAC));
  ASSERT_TRUE(login(bobAndroid, msgPort(msgB_), kBob, bd::CLIENT_TYPE_ANDROID));
  ASSERT_TRUE(anyDeviceOnline(kBob));
  ASSERT_TRUE(waitOffline(kMember));
  // Pipelined: every message is on the wire before the first ack is read.
  const std::pair<uint32_t, std::string> burst[] = {
      {kMember, "burst 1 member"}, {kBob, "burst 2 bob"}, {kBarrier, "burst 3 barrier"},
      {kMember, "burst 4 member"}, {kBob, "burst 5 bob"}, {kBarrier, "burst 6 barrier"}};
  uint16_t seq = 500;
  for (const auto& [to, text] : burst) {
    IM::Message::IMMsgData msg;
    msg.set_from_user_id(kAlice);
    msg.set_to_session_id(to);
    msg.set_msg_id(0);
    msg.set_create_time(0);
    msg.set_msg_type(bd::MSG_TYPE_SINGLE_TEXT);
    msg.set_msg_data(tt::codec::encryptText(text));
    ASSERT_TRUE(alice.send(bd::SID_MSG, bd::CID_MSG_DATA, ++seq, msg));
  }
  for (size_t i = 0; i < std::size(burst); ++i) {
    auto ack = alice.receiveCommand(bd::CID_MSG_DATA_ACK, 15000);
    ASSERT_TRUE(ack && ack->as<IM::Message::IMMsgDataAck>().msg_id() != 0) << "ack " << i;
  }
  EXPECT_EQ(pushes(kMemberToken, "burst 1 member").size(), 1u) << push_->logTail();
  EXPECT_EQ(pushes(kMemberToken, "burst 4 member").size(), 1u);
  EXPECT_EQ(pushes(kBarrierToken, "burst 3 barrier").size(), 1u);
  EXPECT_EQ(pushes(kBarrierToken, "burst 6 barrier").size(), 1u);
  barrier(alice, "barrier after burst");
  EXPECT_EQ(pushes(kMemberToken, "burst 1 member", 2, 0).size(), 1u) << "pushed twice";
  EXPECT_TRUE(pushes(kBobToken, "burst 2 bob", 1, 0).empty());
  EXPECT_TRUE(pushes(kBobToken, "burst 5 bob", 1, 0).empty());
}

TEST_F(PushFlowTest, GoneTokenIsClearedInDbProxy) {
  const std::string gone = hexToken('f', "410");  // the APNs stand-in answers 410 Unregistered
  setToken(kBob, gone);
  ASSERT_TRUE(waitOffline(kBob));
  PduClient alice;
  ASSERT_TRUE(login(alice, msgPort(msgA_), kAlice, bd::CLIENT_TYPE_MAC));
  ASSERT_TRUE(sendText(alice, kBob, "are you gone"));
  ASSERT_EQ(pushes(gone, "are you gone").size(), 1u) << push_->logTail();
  const int64_t deadline = nowMs() + 20000;
  while (nowMs() < deadline && tokenOf(kBob)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(tokenOf(kBob).has_value()) << push_->logTail();

  // Compare-and-clear: a clear for a token the user has since replaced leaves the new one.
  setToken(kBob, kBobToken);
  setToken(kBob, "", tt::internal::clearIfTokenAttachData(gone));
  ASSERT_TRUE(tokenOf(kBob).has_value());
  EXPECT_EQ(tokenOf(kBob)->token(), kBobToken);
  setToken(kBob, "", tt::internal::clearIfTokenAttachData(kBobToken));
  EXPECT_FALSE(tokenOf(kBob).has_value());
}

}  // namespace
