// route_server, the real binary, with fake msg_servers (blocking PduClients): the user map built
// from IMOnlineUserInfo / IMUserStatusUpdate, routing by user, presence notifies, link loss,
// garbage, timeouts and SIGTERM. No storage is involved.
//
// Ordering without sleeps: route_server handles one link's PDUs in order, so once a fake
// msg_server gets the answer to its own IMUsersStatReq ("sync"), everything it sent before has
// been handled, and everything route_server sent it before that answer is in its queue.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Group.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "IM.SwitchService.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"  // pickFreeLoopbackPort only: no MariaDB/Redis here

namespace bd = IM::BaseDefine;
using tt::test::PduClient;
using tt::test::ReceivedPdu;

namespace {

constexpr uint32_t kWindows = bd::CLIENT_TYPE_WINDOWS;
constexpr uint32_t kMac = bd::CLIENT_TYPE_MAC;
constexpr uint32_t kIos = bd::CLIENT_TYPE_IOS;
constexpr uint32_t kAndroid = bd::CLIENT_TYPE_ANDROID;
constexpr uint16_t kSyncSeq = 0xfff0;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The bytes of a received PDU exactly as they were on the wire.
std::string rawBytes(const ReceivedPdu& p) {
  std::string out(tt::net::kPduHeaderSize, '\0');
  tt::net::encodeHeader(p.header, out.data());
  return out + p.body;
}

struct Client {
  uint32_t userId;
  uint32_t clientType;
};

// A fake msg_server: a PduClient plus a queue of what arrived while waiting for a sync answer.
class FakeMsgServer {
 public:
  explicit FakeMsgServer(std::string name) : name_(std::move(name)) {}

  // Connects and reports its users (IMOnlineUserInfo), as a msg_server does right after connecting.
  void connect(int port, const std::vector<Client>& clients = {}) {
    ASSERT_TRUE(client_.connect(port)) << name_;
    IM::Server::IMRoleSet role;
    role.set_master(1);
    ASSERT_TRUE(client_.send(bd::SID_OTHER, bd::CID_OTHER_ROLE_SET, 0, role));
    reportOnline(clients);
  }
  void reportOnline(const std::vector<Client>& clients) {
    IM::Server::IMOnlineUserInfo info;
    for (const Client& c : clients) {
      auto* s = info.add_user_stat_list();
      s->set_user_id(c.userId);
      s->set_status(bd::USER_STATUS_ONLINE);
      s->set_client_type(static_cast<bd::ClientType>(c.clientType));
    }
    ASSERT_TRUE(client_.send(bd::SID_OTHER, bd::CID_OTHER_ONLINE_USER_INFO, 0, info));
    sync();
  }
  void status(uint32_t userId, uint32_t clientType, bd::UserStatType st) {
    IM::Server::IMUserStatusUpdate u;
    u.set_user_status(st);
    u.set_user_id(userId);
    u.set_client_type(static_cast<bd::ClientType>(clientType));
    ASSERT_TRUE(client_.send(bd::SID_OTHER, bd::CID_OTHER_USER_STATUS_UPDATE, 0, u));
    sync();
  }
  void login(uint32_t userId, uint32_t clientType) { status(userId, clientType, bd::USER_STATUS_ONLINE); }
  void logout(uint32_t userId, uint32_t clientType) { status(userId, clientType, bd::USER_STATUS_OFFLINE); }

  // Waits until route_server has handled everything this link sent so far.
  void sync() {
    IM::Buddy::IMUsersStatReq req;
    req.set_user_id(0);
    req.set_attach_data("sync");
    ASSERT_TRUE(client_.send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USERS_STATUS_REQUEST, kSyncSeq, req)) << name_;
    const int64_t deadline = nowMs() + 20000;
    while (nowMs() < deadline) {
      auto p = client_.receive(static_cast<int>(deadline - nowMs()));
      ASSERT_TRUE(p) << name_ << ": no sync answer (link closed?)";
      if (p->commandId() == bd::CID_BUDDY_LIST_USERS_STATUS_RESPONSE && p->seq() == kSyncSeq) return;
      queue_.push_back(std::move(*p));
    }
    FAIL() << name_ << ": sync timed out";
  }

  // Waits (bounded) for route_server to send something, e.g. after another link closed, then take().
  std::vector<ReceivedPdu> takeAfterEvent() {
    if (queue_.empty()) {
      auto p = client_.receive(20000);
      EXPECT_TRUE(p) << name_ << ": nothing arrived";
      if (p) queue_.push_back(std::move(*p));
    }
    return take();
  }

  // Everything route_server sent this link up to now (sync first), and forgets it.
  std::vector<ReceivedPdu> take() {
    sync();
    std::vector<ReceivedPdu> out(queue_.begin(), queue_.end());
    queue_.clear();
    return out;
  }

  IM::Buddy::IMUsersStatRsp query(const std::vector<uint32_t>& ids, uint16_t seq = 77, const std::string& attach = "") {
    IM::Buddy::IMUsersStatReq req;
    req.set_user_id(1234);
    for (uint32_t id : ids) req.add_user_id_list(id);
    if (!attach.empty()) req.set_attach_data(attach);
    EXPECT_TRUE(client_.send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USERS_STATUS_REQUEST, seq, req));
    for (;;) {
      auto p = client_.receive(20000);
      if (!p) {
        ADD_FAILURE() << name_ << ": no IMUsersStatRsp";
        return {};
      }
      if (p->commandId() == bd::CID_BUDDY_LIST_USERS_STATUS_RESPONSE && p->seq() == seq) {
        return p->as<IM::Buddy::IMUsersStatRsp>();
      }
      queue_.push_back(std::move(*p));
    }
  }

  PduClient& raw() { return client_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  PduClient client_;
  std::deque<ReceivedPdu> queue_;
};

// One route_server per test: a clean user map, and every test ends with SIGTERM -> exit 0.
class RouteServerTest : public ::testing::Test {
 protected:
  void SetUp() override { startRoute(""); }
  void TearDown() override {
    if (!daemon_) return;
    const int rc = daemon_->stop();
    EXPECT_EQ(rc, 0) << "route_server did not exit 0 on SIGTERM:\n" << daemon_->logTail();
    if (HasFailure()) std::cerr << "route_server log:\n" << daemon_->logTail(80);
    tt::test::removeTree(dir_);
  }

  void startRoute(const std::string& extra) {
    dir_ = tt::test::makeTempDir("ttroute-");
    port_ = tt::test::pickFreeLoopbackPort();
    daemon_ = std::make_unique<tt::test::DaemonProcess>(tt::test::daemonBinary("route_server"), "route_server");
    daemon_->start(dir_, "ListenIP=127.0.0.1\nListenMsgPort=" + std::to_string(port_) + "\nLogLevel=debug\n" + extra,
                   port_);
  }

  static std::vector<std::pair<uint32_t, bd::UserStatType>> stats(const IM::Buddy::IMUsersStatRsp& r) {
    std::vector<std::pair<uint32_t, bd::UserStatType>> out;
    for (const auto& s : r.user_stat_list()) out.emplace_back(s.user_id(), s.status());
    return out;
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<tt::test::DaemonProcess> daemon_;
};

// A 0x0203 with (user, status), or a 0x070e with (user, login_status).
struct Notify {
  uint16_t cmd;
  uint32_t user;
  uint32_t value;
  bool operator==(const Notify& o) const { return cmd == o.cmd && user == o.user && value == o.value; }
};
std::ostream& operator<<(std::ostream& os, const Notify& n) {
  return os << "{" << std::hex << n.cmd << std::dec << " user " << n.user << " = " << n.value << "}";
}
constexpr uint16_t kStat = bd::CID_BUDDY_LIST_STATUS_NOTIFY;
constexpr uint16_t kPcLogin = bd::CID_OTHER_LOGIN_STATUS_NOTIFY;

std::vector<Notify> notifies(const std::vector<ReceivedPdu>& pdus) {
  std::vector<Notify> out;
  for (const auto& p : pdus) {
    EXPECT_EQ(p.seq(), 0) << "notifies are unsolicited";
    if (p.commandId() == kStat) {
      auto n = p.as<IM::Buddy::IMUserStatNotify>();
      out.push_back({kStat, n.user_stat().user_id(), static_cast<uint32_t>(n.user_stat().status())});
    } else if (p.commandId() == kPcLogin) {
      auto n = p.as<IM::Server::IMServerPCLoginStatusNotify>();
      out.push_back({kPcLogin, n.user_id(), n.login_status()});
    } else {
      ADD_FAILURE() << "unexpected command " << std::hex << p.commandId();
    }
  }
  return out;
}

std::string msgDataPdu(uint32_t from, uint32_t to, bd::MsgType type, uint16_t seq) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(99);
  m.set_create_time(1700000000);
  m.set_msg_type(type);
  m.set_msg_data("hello");
  m.set_attach_data(std::string("\x00\x00\x00\x01\x00\x00\x00\x2a\x00\x00\x00\x00", 12));
  // Unusual header fields too: a forwarded PDU must come out byte for byte as it went in.
  std::string pdu = tt::net::encodePdu(bd::SID_MSG, bd::CID_MSG_DATA, seq, m);
  pdu[7] = 0x05;   // flag
  pdu[15] = 0x09;  // reserved
  return pdu;
}

}  // namespace

TEST_F(RouteServerTest, OnlineUserInfoBuildsAndRebuildsTheLinksUsers) {
  FakeMsgServer a("A"), b("B");
  b.connect(port_);
  a.connect(port_, {{1, kWindows}, {2, kAndroid}, {3, kMac}, {3, kIos}});
  EXPECT_EQ(stats(b.query({1, 2, 3, 4})),
            (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_ONLINE},
                                                                {2, bd::USER_STATUS_OFFLINE},
                                                                {3, bd::USER_STATUS_ONLINE},
                                                                {4, bd::USER_STATUS_OFFLINE}}));
  // The new PC users are announced to every msg_server, the reporting one included.
  const std::vector<Notify> announced{{kStat, 1, 1}, {kPcLogin, 1, 1}, {kStat, 3, 1}, {kPcLogin, 3, 1}};
  EXPECT_EQ(notifies(b.take()), announced);
  EXPECT_EQ(notifies(a.take()), announced);

  // A re-reports: its whole set is replaced (1 gone, 2 now on a PC, 3 unchanged).
  a.reportOnline({{2, kWindows}, {3, kMac}, {3, kIos}});
  EXPECT_EQ(stats(b.query({1, 2, 3})),
            (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_OFFLINE},
                                                                {2, bd::USER_STATUS_ONLINE},
                                                                {3, bd::USER_STATUS_ONLINE}}));
  EXPECT_EQ(notifies(b.take()), (std::vector<Notify>{{kStat, 1, 2}, {kStat, 2, 1}, {kPcLogin, 2, 1}}));

  // A msg_server that reconnects rebuilds its part of the map.
  a.raw().close();
  EXPECT_EQ(notifies(b.takeAfterEvent()), (std::vector<Notify>{{kStat, 2, 2}, {kStat, 3, 2}}));
  FakeMsgServer a2("A2");
  a2.connect(port_, {{3, kWindows}});
  EXPECT_EQ(stats(b.query({2, 3})), (std::vector<std::pair<uint32_t, bd::UserStatType>>{
                                        {2, bd::USER_STATUS_OFFLINE}, {3, bd::USER_STATUS_ONLINE}}));
}

TEST_F(RouteServerTest, SingleMessageGoesOnlyToLinksHoldingReceiverOrSender) {
  FakeMsgServer a("A"), b("B"), c("C");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kWindows}});
  c.connect(port_, {{3, kWindows}});
  for (auto* s : {&a, &b, &c}) s->take();

  const std::string sent = msgDataPdu(1, 2, bd::MSG_TYPE_SINGLE_TEXT, 4242);
  ASSERT_TRUE(a.raw().sendRaw(sent));
  a.sync();
  auto atB = b.take();
  ASSERT_EQ(atB.size(), 1u);
  EXPECT_EQ(atB[0].seq(), 4242);
  EXPECT_EQ(rawBytes(atB[0]), sent) << "forwarded bytes differ";
  EXPECT_TRUE(c.take().empty()) << "C holds neither sender nor receiver";
  EXPECT_TRUE(a.take().empty()) << "never back to the origin";

  // The sender's other device on C now gets it too (multi-device sync); audio is routed the same way.
  c.login(1, kAndroid);
  for (auto* s : {&a, &b, &c}) s->take();
  const std::string audio = msgDataPdu(1, 2, bd::MSG_TYPE_SINGLE_AUDIO, 4243);
  ASSERT_TRUE(a.raw().sendRaw(audio));
  a.sync();
  auto atB2 = b.take();
  auto atC2 = c.take();
  ASSERT_EQ(atB2.size(), 1u);
  ASSERT_EQ(atC2.size(), 1u);
  EXPECT_EQ(rawBytes(atB2[0]), audio);
  EXPECT_EQ(rawBytes(atC2[0]), audio);

  // A receiver nobody holds: nothing is sent anywhere.
  ASSERT_TRUE(b.raw().sendRaw(msgDataPdu(2, 50, bd::MSG_TYPE_SINGLE_TEXT, 1)));
  b.sync();
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(c.take().empty());
}

TEST_F(RouteServerTest, GroupMessageGoesToEveryOtherPopulatedLink) {
  FakeMsgServer a("A"), b("B"), c("C"), d("D");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kAndroid}});  // mobile-only users count: the msg_server delivers to them
  c.connect(port_, {{3, kWindows}});
  d.connect(port_);                    // holds nobody
  for (auto* s : {&a, &b, &c, &d}) s->take();

  const std::string sent = msgDataPdu(1, 500, bd::MSG_TYPE_GROUP_TEXT, 31);
  ASSERT_TRUE(a.raw().sendRaw(sent));
  a.sync();
  for (auto* s : {&b, &c}) {
    auto got = s->take();
    ASSERT_EQ(got.size(), 1u) << s->name();
    EXPECT_EQ(rawBytes(got[0]), sent) << s->name();
  }
  EXPECT_TRUE(d.take().empty());
  EXPECT_TRUE(a.take().empty());
}

TEST_F(RouteServerTest, SignInfoChangeGoesToEveryLinkIncludingTheOrigin) {
  FakeMsgServer a("A"), b("B"), c("C");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_);
  c.connect(port_, {{3, kIos}});
  for (auto* s : {&a, &b, &c}) s->take();

  IM::Buddy::IMSignInfoChangedNotify n;
  n.set_changed_user_id(1);
  n.set_sign_info("busy");
  const std::string sent = tt::net::encodePdu(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, 8, n);
  ASSERT_TRUE(a.raw().sendRaw(sent));
  for (auto* s : {&a, &b, &c}) {
    auto got = s->take();
    ASSERT_EQ(got.size(), 1u) << s->name();
    EXPECT_EQ(rawBytes(got[0]), sent) << s->name();
  }
}

TEST_F(RouteServerTest, UsersStatusQueryCountsOnlyPcClientsAndEchoes) {
  FakeMsgServer a("A"), b("B");
  a.connect(port_, {{1, kWindows}, {2, kAndroid}, {3, kIos}});
  b.connect(port_, {{3, kMac}, {4, kIos}, {4, kAndroid}});
  const std::string attach("\x00\x00\x00\x04\x00\x00\x00\x07", 8);
  IM::Buddy::IMUsersStatRsp r = a.query({1, 2, 3, 4, 5, 1}, 0x1234, attach);
  EXPECT_EQ(r.user_id(), 1234u);
  EXPECT_EQ(r.attach_data(), attach);
  EXPECT_EQ(stats(r), (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_ONLINE},
                                                                          {2, bd::USER_STATUS_OFFLINE},
                                                                          {3, bd::USER_STATUS_ONLINE},
                                                                          {4, bd::USER_STATUS_OFFLINE},
                                                                          {5, bd::USER_STATUS_OFFLINE},
                                                                          {1, bd::USER_STATUS_ONLINE}}));
  // Without attach_data the answer has none.
  EXPECT_FALSE(b.query({1}, 5).has_attach_data());
}

TEST_F(RouteServerTest, PcLoginAndLogoutNotifyEveryMsgServer) {
  FakeMsgServer a("A"), b("B"), c("C");
  for (auto* s : {&a, &b, &c}) s->connect(port_);

  a.login(5, kAndroid);  // mobile only: not "online", nothing to say
  for (auto* s : {&a, &b, &c}) EXPECT_TRUE(s->take().empty()) << s->name();

  b.login(5, kWindows);
  for (auto* s : {&a, &b, &c}) {
    EXPECT_EQ(notifies(s->take()), (std::vector<Notify>{{kStat, 5, bd::USER_STATUS_ONLINE}, {kPcLogin, 5, 1}}))
        << s->name();
  }
  EXPECT_EQ(stats(c.query({5})), (std::vector<std::pair<uint32_t, bd::UserStatType>>{{5, bd::USER_STATUS_ONLINE}}));

  // A second mobile client while the PC is on: its msg_server must learn the PC flag.
  c.login(5, kIos);
  for (auto* s : {&a, &b, &c}) EXPECT_EQ(notifies(s->take()), (std::vector<Notify>{{kPcLogin, 5, 1}})) << s->name();

  // The PC leaves while mobiles remain: OFFLINE, and PC login off.
  b.logout(5, kWindows);
  for (auto* s : {&a, &b, &c}) {
    EXPECT_EQ(notifies(s->take()), (std::vector<Notify>{{kStat, 5, bd::USER_STATUS_OFFLINE}, {kPcLogin, 5, 0}}))
        << s->name();
  }
  EXPECT_EQ(stats(a.query({5})), (std::vector<std::pair<uint32_t, bd::UserStatType>>{{5, bd::USER_STATUS_OFFLINE}}));

  // Mobiles leaving say nothing; a PC leaving when nothing else remains says OFFLINE only.
  a.logout(5, kAndroid);
  c.logout(5, kIos);
  for (auto* s : {&a, &b, &c}) EXPECT_TRUE(s->take().empty()) << s->name();
  a.login(6, kMac);
  for (auto* s : {&a, &b, &c}) s->take();
  a.logout(6, kMac);
  for (auto* s : {&a, &b, &c}) {
    EXPECT_EQ(notifies(s->take()), (std::vector<Notify>{{kStat, 6, bd::USER_STATUS_OFFLINE}})) << s->name();
  }

  // An OFFLINE for a client never reported changes nothing and keeps the link.
  a.logout(7, kWindows);
  for (auto* s : {&a, &b, &c}) EXPECT_TRUE(s->take().empty()) << s->name();
}

TEST_F(RouteServerTest, ClosingALinkRemovesItsUsers) {
  FakeMsgServer a("A"), b("B"), c("C");
  a.connect(port_, {{1, kWindows}, {2, kAndroid}, {3, kWindows}, {4, kWindows}});
  b.connect(port_, {{2, kWindows}, {4, kMac}});
  c.connect(port_, {{3, kAndroid}});
  for (auto* s : {&a, &b, &c}) s->take();

  a.raw().close();
  // 1: gone. 2: PC on B remains, nothing. 3: mobile on C remains: OFFLINE + PC login off. 4: PC on B.
  const std::vector<Notify> expected{{kStat, 1, bd::USER_STATUS_OFFLINE},
                                     {kStat, 3, bd::USER_STATUS_OFFLINE},
                                     {kPcLogin, 3, 0}};
  // The close is handled asynchronously; wait for its notifies before asking.
  EXPECT_EQ(notifies(b.takeAfterEvent()), expected);
  EXPECT_EQ(notifies(c.takeAfterEvent()), expected);
  EXPECT_EQ(stats(b.query({1, 2, 3, 4})),
            (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_OFFLINE},
                                                                {2, bd::USER_STATUS_ONLINE},
                                                                {3, bd::USER_STATUS_OFFLINE},
                                                                {4, bd::USER_STATUS_ONLINE}}));
  // A message to user 1 is no longer routed anywhere; to user 3 only to C.
  ASSERT_TRUE(b.raw().sendRaw(msgDataPdu(2, 1, bd::MSG_TYPE_SINGLE_TEXT, 3)));
  ASSERT_TRUE(b.raw().sendRaw(msgDataPdu(2, 3, bd::MSG_TYPE_SINGLE_TEXT, 4)));
  b.sync();
  auto atC = c.take();
  ASSERT_EQ(atC.size(), 1u);
  EXPECT_EQ(atC[0].seq(), 4);
}

TEST_F(RouteServerTest, EveryRoutedCommandGoesByItsUsers) {
  FakeMsgServer a("A"), b("B"), c("C");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kWindows}, {4, kAndroid}});
  c.connect(port_, {{3, kWindows}});
  for (auto* s : {&a, &b, &c}) s->take();

  struct Case {
    const char* what;
    std::string pdu;
    bool toB;
    bool toC;
  };
  std::vector<Case> cases;
  {
    IM::Server::IMServerKickUser m;
    m.set_user_id(2);
    m.set_client_type(bd::CLIENT_TYPE_WINDOWS);
    m.set_reason(bd::KICK_REASON_DUPLICATE_USER);
    cases.push_back({"kick user 2", tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_SERVER_KICK_USER, 9, m), true, false});
    m.set_user_id(3);
    m.set_reason(bd::KICK_REASON_MOBILE_KICK);
    cases.push_back({"kick user 3", tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_SERVER_KICK_USER, 10, m), false, true});
  }
  {
    IM::SwitchService::IMP2PCmdMsg m;
    m.set_from_user_id(1);
    m.set_to_user_id(3);
    m.set_cmd_msg_data("{\"typing\":1}");
    cases.push_back({"p2p 1->3", tt::net::encodePdu(bd::SID_SWITCH_SERVICE, bd::CID_SWITCH_P2P_CMD, 11, m), false, true});
    m.set_from_user_id(4);  // sender's other devices are on B
    cases.push_back({"p2p 4->3", tt::net::encodePdu(bd::SID_SWITCH_SERVICE, bd::CID_SWITCH_P2P_CMD, 12, m), true, true});
  }
  {
    IM::Message::IMMsgDataReadNotify m;
    m.set_user_id(4);
    m.set_session_id(1);
    m.set_msg_id(5);
    m.set_session_type(bd::SESSION_TYPE_SINGLE);
    cases.push_back({"read notify 4", tt::net::encodePdu(bd::SID_MSG, bd::CID_MSG_READ_NOTIFY, 13, m), true, false});
  }
  {
    IM::Group::IMGroupChangeMemberNotify m;
    m.set_user_id(1);
    m.set_change_type(bd::GROUP_MODIFY_TYPE_ADD);
    m.set_group_id(77);
    m.add_cur_user_id_list(1);
    m.add_cur_user_id_list(2);
    cases.push_back({"members cur 1,2", tt::net::encodePdu(bd::SID_GROUP, bd::CID_GROUP_CHANGE_MEMBER_NOTIFY, 14, m),
                     true, false});
    m.add_chg_user_id_list(3);
    cases.push_back({"members chg 3", tt::net::encodePdu(bd::SID_GROUP, bd::CID_GROUP_CHANGE_MEMBER_NOTIFY, 15, m),
                     true, true});
  }
  {
    IM::File::IMFileNotify m;
    m.set_from_user_id(1);
    m.set_to_user_id(3);
    m.set_file_name("a.txt");
    m.set_file_size(10);
    m.set_task_id("00000000-0000-0000-0000-000000000000");
    m.set_trans_mode(bd::FILE_TYPE_ONLINE);
    m.set_offline_ready(0);
    cases.push_back({"file notify 1->3", tt::net::encodePdu(bd::SID_FILE, bd::CID_FILE_NOTIFY, 16, m), false, true});
  }
  {
    IM::Buddy::IMRemoveSessionNotify m;
    m.set_user_id(2);
    m.set_session_type(bd::SESSION_TYPE_SINGLE);
    m.set_session_id(1);
    cases.push_back({"remove session 2",
                     tt::net::encodePdu(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, 17, m), true,
                     false});
  }
  for (const Case& k : cases) {
    ASSERT_TRUE(a.raw().sendRaw(k.pdu));
    a.sync();
    auto atB = b.take();
    auto atC = c.take();
    ASSERT_EQ(atB.size(), k.toB ? 1u : 0u) << k.what;
    ASSERT_EQ(atC.size(), k.toC ? 1u : 0u) << k.what;
    if (k.toB) {
      EXPECT_EQ(rawBytes(atB[0]), k.pdu) << k.what;
    }
    if (k.toC) {
      EXPECT_EQ(rawBytes(atC[0]), k.pdu) << k.what;
    }
    EXPECT_TRUE(a.take().empty()) << k.what;
  }
}

TEST_F(RouteServerTest, UnknownCommandIsDroppedAndTheLinkStays) {
  FakeMsgServer a("A"), b("B");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kWindows}});
  a.take();
  b.take();
  IM::Server::IMValidateReq v;
  v.set_user_name("x");
  v.set_password("y");
  ASSERT_TRUE(a.raw().send(bd::SID_OTHER, bd::CID_OTHER_VALIDATE_REQ, 3, v));
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(stats(a.query({1})), (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_ONLINE}}));
}

TEST_F(RouteServerTest, GarbageClosesOnlyThatLink) {
  FakeMsgServer a("A"), b("B"), c("C"), d("D");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kWindows}});
  c.connect(port_, {{3, kWindows}});
  d.connect(port_, {{4, kWindows}});
  for (auto* s : {&a, &b, &c, &d}) s->take();

  // C: a body that does not parse as IMMsgData.
  ASSERT_TRUE(c.raw().sendRaw(tt::net::encodePdu(bd::SID_MSG, bd::CID_MSG_DATA, 1, std::string("\xff\xff\xff", 3))));
  EXPECT_TRUE(c.raw().waitClosed());
  // D: a PDU length below the header size.
  ASSERT_TRUE(d.raw().sendRaw(std::string("\x00\x00\x00\x05\x00\x01\x00\x00\x00\x07\x07\x01\x00\x00\x00\x00", 16)));
  EXPECT_TRUE(d.raw().waitClosed());
  // Their users went with them; A and B carry on.
  const int64_t deadline = nowMs() + 20000;
  std::vector<Notify> seen;
  while (seen.size() < 2 && nowMs() < deadline) {
    auto p = a.raw().receive(200);
    if (p) seen.push_back(notifies({*p}).at(0));
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(stats(b.query({1, 2, 3, 4})),
            (std::vector<std::pair<uint32_t, bd::UserStatType>>{{1, bd::USER_STATUS_ONLINE},
                                                                {2, bd::USER_STATUS_ONLINE},
                                                                {3, bd::USER_STATUS_OFFLINE},
                                                                {4, bd::USER_STATUS_OFFLINE}}));
  // B also heard the two OFFLINEs; what matters is that A's message still reaches it.
  b.take();
  const std::string sent = msgDataPdu(1, 2, bd::MSG_TYPE_SINGLE_TEXT, 6);
  ASSERT_TRUE(a.raw().sendRaw(sent));
  a.sync();
  auto atB = b.take();
  ASSERT_EQ(atB.size(), 1u);
  EXPECT_EQ(rawBytes(atB[0]), sent);
}

TEST_F(RouteServerTest, SigtermClosesLinksAndExitsZero) {
  FakeMsgServer a("A"), b("B");
  a.connect(port_, {{1, kWindows}});
  b.connect(port_, {{2, kWindows}});
  a.take();
  b.take();
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->logTail();
  daemon_.reset();
  // Closed without telling anyone that users went offline: they did not, the route_server did.
  EXPECT_TRUE(a.raw().waitClosed());
  EXPECT_TRUE(b.raw().waitClosed());
  tt::test::removeTree(dir_);
}

// A fresh route_server with a short timeout: it heartbeats an idle link after 5 s and drops a link
// that stays silent, while a link that sends heartbeats stays.
class RouteServerTimeoutTest : public RouteServerTest {
 protected:
  void SetUp() override { startRoute("MsgServerTimeout=8\n"); }
};

TEST_F(RouteServerTimeoutTest, HeartbeatsAndSilentLinkTimeout) {
  FakeMsgServer alive("alive");
  alive.connect(port_, {{1, kWindows}});
  alive.take();

  // The silent link: a raw socket, so route_server's own heartbeats are visible.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  {
    IM::Server::IMOnlineUserInfo info;
    auto* s = info.add_user_stat_list();
    s->set_user_id(2);
    s->set_status(bd::USER_STATUS_ONLINE);
    s->set_client_type(bd::CLIENT_TYPE_WINDOWS);
    const std::string pdu = tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_ONLINE_USER_INFO, 0, info);
    ASSERT_EQ(::send(fd, pdu.data(), pdu.size(), MSG_NOSIGNAL), static_cast<ssize_t>(pdu.size()));
  }
  const int64_t start = nowMs();
  int heartbeats = 0;
  int64_t firstHeartbeatMs = -1;
  int64_t closedAfterMs = -1;
  std::string in;
  const std::string heartbeat = tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_HEARTBEAT, 0, std::string_view());
  int64_t lastBeat = start;
  while (nowMs() - start < 25000 && closedAfterMs < 0) {
    if (nowMs() - lastBeat >= 1000) {  // the live link keeps talking
      ASSERT_TRUE(alive.raw().sendRaw(heartbeat));
      lastBeat = nowMs();
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closedAfterMs = nowMs() - start;
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    while (in.size() >= tt::net::kPduHeaderSize) {
      const tt::net::PduHeader h = tt::net::decodeHeader(in.data());
      if (in.size() < h.length) break;
      if (h.commandId == bd::CID_OTHER_HEARTBEAT) {
        if (++heartbeats == 1) firstHeartbeatMs = nowMs() - start;
      }
      in.erase(0, h.length);
    }
  }
  ::close(fd);
  // Heartbeat after 5 s idle (before the drop: the loop ends there), drop after the 8 s
  // timeout; the upper bound only has to tell 8 s from the 30 s default on a slow machine.
  EXPECT_GE(heartbeats, 1) << "route_server sends its own heartbeat on an idle link";
  EXPECT_GE(firstHeartbeatMs, 4000);
  ASSERT_GE(closedAfterMs, 0) << "silent link not dropped";
  EXPECT_GE(closedAfterMs, 7000) << "dropped too early";
  EXPECT_LE(closedAfterMs, 20000) << "silent link not dropped after MsgServerTimeout";
  // The silent link's user is gone and reported offline; the live link is still served.
  bool offlineSeen = false;
  while (!offlineSeen) {
    auto n = alive.raw().receiveCommand(kStat);
    ASSERT_TRUE(n) << "no OFFLINE notify for the dropped link's user";
    const auto st = n->as<IM::Buddy::IMUserStatNotify>().user_stat();
    offlineSeen = st.user_id() == 2 && st.status() == bd::USER_STATUS_OFFLINE;
  }
  EXPECT_EQ(stats(alive.query({1, 2})), (std::vector<std::pair<uint32_t, bd::UserStatType>>{
                                            {1, bd::USER_STATUS_ONLINE}, {2, bd::USER_STATUS_OFFLINE}}));
}
