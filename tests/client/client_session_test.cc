// ClientSession against a fake msg_server (netlib ImServer in this process, the peer not under
// test) and a fake login_server: login fields, receipt acks, seq-matched acks, heartbeats, request
// timeouts, kick, reconnect back-off, dead-server detection, unknown PDUs.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "FakeServers.h"
#include "proto/ContentCodec.h"
#include "tests/net/NetTestUtil.h"
#include "tools/client/ClientSession.h"

using namespace tt::client;
using namespace tt::codec;
using namespace tt::net;
using tt::test::FakeLoginServer;
using tt::test::FakeMsgServer;
using tt::test::Received;
using tt::test::Script;
namespace bd = IM::BaseDefine;

namespace {

SessionOptions direct(uint16_t port) {
  SessionOptions o;
  o.serverHost = "127.0.0.1";
  o.serverPort = port;
  o.userName = "user01";
  o.password = "ttsuite";
  o.reconnectInitialMs = 50;
  o.reconnectMaxMs = 2000;
  o.requestTimeoutMs = 3000;
  return o;
}

std::string rawPdu(uint16_t sid, uint16_t cid, uint16_t seq, std::string_view body) {
  return encodePdu(sid, cid, seq, body);
}

IM::Message::IMMsgData textMessage(uint32_t from, uint32_t to, uint32_t msgId, bd::MsgType type, const std::string& text) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(from);
  m.set_to_session_id(to);
  m.set_msg_id(msgId);
  m.set_create_time(tt::unixSeconds());
  m.set_msg_type(type);
  m.set_msg_data(encryptText(text));
  return m;
}

}  // namespace

TEST(ClientSession, LogsInWithNameMd5PasswordAndMacClientType) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  std::vector<SessionState> states;
  std::vector<int> results;
  s.handlers().onStateChanged = [&](SessionState st, const std::string&) { states.push_back(st); };
  s.handlers().onLoginResult = [&](const IM::Login::IMLoginRes& r) { results.push_back(r.result_code()); };
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("online", [&] { return s.online(); }).run());

  ASSERT_EQ(fake.logins.size(), 1u);
  const auto& req = fake.logins[0];
  EXPECT_EQ(req.user_name(), "user01");
  EXPECT_EQ(req.password(), "ce610a8a8a0c5e8ed0b26b38b8b8733d");  // printf ttsuite | md5sum
  EXPECT_EQ(req.client_type(), bd::CLIENT_TYPE_MAC);
  EXPECT_EQ(req.online_status(), bd::USER_STATUS_ONLINE);
  EXPECT_EQ(s.userId(), 1001u);
  EXPECT_EQ(s.userInfo().user_real_name(), "user01");
  EXPECT_EQ(results, std::vector<int>{0});
  EXPECT_EQ(states, (std::vector<SessionState>{SessionState::kConnecting, SessionState::kLoggingIn,
                                               SessionState::kOnline}));
}

TEST(ClientSession, ClientTypeAndStatusComeFromOptions) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  SessionOptions o = direct(fake.port);
  o.clientType = bd::CLIENT_TYPE_ANDROID;
  o.onlineStatus = bd::USER_STATUS_LEAVE;
  ClientSession s(&loop, o);
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("online", [&] { return s.online(); }).run());
  ASSERT_EQ(fake.logins.size(), 1u);
  EXPECT_EQ(fake.logins[0].client_type(), bd::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(fake.logins[0].online_status(), bd::USER_STATUS_LEAVE);
}

TEST(ClientSession, DeliveredMessagesAreDecryptedAndReceiptAcked) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  std::vector<std::pair<IM::Message::IMMsgData, std::optional<std::string>>> got;
  s.handlers().onMessage = [&](const IM::Message::IMMsgData& m, const std::optional<std::string>& t) {
    got.emplace_back(m, t);
  };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             fake.push(bd::SID_MSG, bd::CID_MSG_DATA, 0,
                                       textMessage(1002, 1001, 77, bd::MSG_TYPE_SINGLE_TEXT, "你好 hello"));
                             fake.push(bd::SID_MSG, bd::CID_MSG_DATA, 0,
                                       textMessage(1003, 7, 12, bd::MSG_TYPE_GROUP_TEXT, "group hi"));
                           })
                  .waitFor("two receipt acks", [&] { return fake.count(bd::CID_MSG_DATA_ACK) == 2; })
                  .run());

  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second.value_or("?"), "你好 hello");
  EXPECT_EQ(got[0].first.msg_id(), 77u);
  EXPECT_EQ(got[1].second.value_or("?"), "group hi");
  auto acks = fake.all<IM::Message::IMMsgDataAck>(bd::CID_MSG_DATA_ACK);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].user_id(), 1001u);
  EXPECT_EQ(acks[0].session_id(), 1002u);
  EXPECT_EQ(acks[0].msg_id(), 77u);
  EXPECT_EQ(acks[0].session_type(), bd::SESSION_TYPE_SINGLE);
  EXPECT_EQ(acks[1].session_id(), 7u);
  EXPECT_EQ(acks[1].msg_id(), 12u);
  EXPECT_EQ(acks[1].session_type(), bd::SESSION_TYPE_GROUP);
  EXPECT_EQ(s.stats().messagesReceived, 2u);
}

TEST(ClientSession, SendTextAckIsMatchedBySeqAndCommand) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  std::optional<uint32_t> firstId, secondId;
  int delivered = 0;
  s.handlers().onMessage = [&](const IM::Message::IMMsgData&, const std::optional<std::string>&) { ++delivered; };
  s.start();
  ASSERT_TRUE(
      Script(loop)
          .waitFor("online", [&] { return s.online(); },
                   [&] {
                     s.sendText(1002, "first", [&](RequestError e, uint32_t id) {
                       EXPECT_EQ(e, RequestError::kOk);
                       firstId = id;
                     });
                     s.sendGroupText(7, "second", [&](RequestError e, uint32_t id) {
                       EXPECT_EQ(e, RequestError::kOk);
                       secondId = id;
                     });
                   })
          .waitFor("both messages at the server", [&] { return fake.count(bd::CID_MSG_DATA) == 2; },
                   [&] {
                     const Received* a = fake.find(bd::CID_MSG_DATA, 0);
                     const Received* b = fake.find(bd::CID_MSG_DATA, 1);
                     ASSERT_NE(a->seq, b->seq);
                     // A route-relayed copy keeps its sender's seq: same seq, other command. Not an ack.
                     IM::Message::IMMsgData relay = textMessage(1005, 1001, 3, bd::MSG_TYPE_SINGLE_TEXT, "relay");
                     fake.push(bd::SID_MSG, bd::CID_MSG_DATA, a->seq, relay);
                     // Answer out of order.
                     IM::Message::IMMsgDataAck ack;
                     ack.set_user_id(1001);
                     ack.set_session_id(7);
                     ack.set_msg_id(902);
                     ack.set_session_type(bd::SESSION_TYPE_GROUP);
                     fake.push(bd::SID_MSG, bd::CID_MSG_DATA_ACK, b->seq, ack);
                     ack.set_session_id(1002);
                     ack.set_msg_id(901);
                     ack.set_session_type(bd::SESSION_TYPE_SINGLE);
                     fake.push(bd::SID_MSG, bd::CID_MSG_DATA_ACK, a->seq, ack);
                   })
          .waitFor("both acks", [&] { return firstId && secondId; })
          .run());

  EXPECT_EQ(*firstId, 901u);
  EXPECT_EQ(*secondId, 902u);
  EXPECT_EQ(delivered, 1);  // the relay copy went to onMessage
  auto sent = fake.all<IM::Message::IMMsgData>(bd::CID_MSG_DATA);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].from_user_id(), 1001u);
  EXPECT_EQ(sent[0].to_session_id(), 1002u);
  EXPECT_EQ(sent[0].msg_type(), bd::MSG_TYPE_SINGLE_TEXT);
  EXPECT_EQ(decryptText(sent[0].msg_data()).value_or("?"), "first");
  EXPECT_EQ(sent[1].to_session_id(), 7u);
  EXPECT_EQ(sent[1].msg_type(), bd::MSG_TYPE_GROUP_TEXT);
  EXPECT_EQ(decryptText(sent[1].msg_data()).value_or("?"), "second");
  EXPECT_EQ(s.pendingRequests(), 0u);
}

TEST(ClientSession, TypedRequestsCarryUserIdAndParseReplies) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.hook = [&](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() == bd::CID_BUDDY_LIST_ALL_USER_REQUEST) {
      IM::Buddy::IMAllUserRsp rsp;
      rsp.set_user_id(1001);
      rsp.set_latest_update_time(5);
      auto* u = rsp.add_user_list();
      u->set_user_id(1002);
      u->set_user_gender(1);
      u->set_user_nick_name("n");
      u->set_avatar_url("");
      u->set_department_id(1);
      u->set_email("");
      u->set_user_real_name("user02");
      u->set_user_tel("");
      u->set_user_domain("");
      u->set_status(0);
      c->send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_ALL_USER_RESPONSE, pdu.seqNum(), rsp);
    } else if (pdu.commandId() == bd::CID_MSG_LIST_REQUEST) {
      c->sendRaw(rawPdu(bd::SID_MSG, bd::CID_MSG_LIST_RESPONSE, pdu.seqNum(), "\x08"));  // truncated body
    }
  };
  ClientSession s(&loop, direct(fake.port));
  std::optional<std::string> name;
  std::optional<RequestError> historyResult;
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             s.allUsers([&](RequestError e, const IM::Buddy::IMAllUserRsp* r) {
                               ASSERT_EQ(e, RequestError::kOk);
                               name = r->user_list(0).user_real_name();
                             });
                             s.history(1002, bd::SESSION_TYPE_SINGLE, 0, 20,
                                       [&](RequestError e, const IM::Message::IMGetMsgListRsp* r) {
                                         EXPECT_EQ(r, nullptr);
                                         historyResult = e;
                                       });
                           })
                  .waitFor("replies", [&] { return name && historyResult; })
                  .run());
  EXPECT_EQ(*name, "user02");
  EXPECT_EQ(*historyResult, RequestError::kBadResponse);
  auto hist = fake.all<IM::Message::IMGetMsgListReq>(bd::CID_MSG_LIST_REQUEST);
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].user_id(), 1001u);
  EXPECT_EQ(hist[0].session_id(), 1002u);
  EXPECT_EQ(hist[0].msg_cnt(), 20u);
}

TEST(ClientSession, ReadAckIsOneWay) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] { EXPECT_TRUE(s.readAck(1002, bd::SESSION_TYPE_SINGLE, 9)); })
                  .waitFor("read ack", [&] { return fake.count(bd::CID_MSG_READ_ACK) == 1; })
                  .run());
  auto acks = fake.all<IM::Message::IMMsgDataReadAck>(bd::CID_MSG_READ_ACK);
  EXPECT_EQ(acks[0].user_id(), 1001u);
  EXPECT_EQ(acks[0].session_id(), 1002u);
  EXPECT_EQ(acks[0].msg_id(), 9u);
  EXPECT_EQ(s.pendingRequests(), 0u);
}

TEST(ClientSession, HeartbeatsWhenIdleAndEchoesKeepTheLinkAlive) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  SessionOptions o = direct(fake.port);
  o.heartbeatIntervalMs = 100;
  o.deadServerMs = 600;
  ClientSession s(&loop, o);
  int others = 0;
  s.handlers().onOtherPdu = [&](const ImPdu&) { ++others; };
  s.start();
  // Counted, not timed: 12 heartbeats (about twice deadServerMs), then check they were not sent
  // faster than one per 100 ms: 12 take at least 1 s (the first one may already be on its way
  // when the count starts).
  constexpr int kBeats = 12;
  int before = 0;
  int64_t onlineAt = 0, lastAt = 0;
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             before = fake.heartbeats;
                             onlineAt = tt::monotonicMs();
                           })
                  .waitFor("12 heartbeats", [&] { return fake.heartbeats - before >= kBeats; },
                           [&] { lastAt = tt::monotonicMs(); })
                  .run(20000));
  EXPECT_GE(lastAt - onlineAt, (kBeats - 2) * 100) << "heartbeats faster than every 100 ms";
  EXPECT_TRUE(s.online());
  EXPECT_EQ(fake.connections(), 1u);  // echoes count as traffic: never declared dead
  EXPECT_EQ(others, 0);               // echoes are not handed to the application
}

TEST(ClientSession, NoHeartbeatWhileBusySending) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  // Busy for three heartbeat intervals, one PDU every 50 ms; the interval is 10x that so a late
  // loop turn on a busy machine does not look like an idle link.
  SessionOptions o = direct(fake.port);
  o.heartbeatIntervalMs = 500;
  ClientSession s(&loop, o);
  s.start();
  TimerId chatter = 0;
  int before = 0;
  size_t sent = 0;
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             before = fake.heartbeats;
                             chatter = loop.runEvery(50, [&] { sent += s.readAck(1002, bd::SESSION_TYPE_SINGLE, 1); });
                           })
                  .after(1500, [&] { loop.cancel(chatter); })
                  // A heartbeat sent meanwhile would have reached the fake before the last ack.
                  .waitFor("every read ack at the server", [&] { return fake.count(bd::CID_MSG_READ_ACK) == sent; })
                  .run());
  EXPECT_GE(sent, 10u);
  EXPECT_EQ(fake.heartbeats - before, 0);
}

TEST(ClientSession, SilentServerIsDeclaredDeadAndReconnected) {
  EventDispatch loop;
  FakeMsgServer fake(&loop, /*echoHeartbeats=*/false);
  SessionOptions o = direct(fake.port);
  o.heartbeatIntervalMs = 50;
  o.deadServerMs = 300;
  ClientSession s(&loop, o);
  std::vector<std::string> reasons;
  s.handlers().onStateChanged = [&](SessionState st, const std::string& why) {
    if (st == SessionState::kDisconnected) reasons.push_back(why);
  };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); })
                  .waitFor("second login", [&] { return fake.logins.size() >= 2 && s.online(); })
                  .run());
  ASSERT_FALSE(reasons.empty());
  EXPECT_NE(reasons[0].find("nothing received"), std::string::npos) << reasons[0];
}

TEST(ClientSession, RequestTimesOutWhenTheServerIgnoresIt) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  SessionOptions o = direct(fake.port);
  o.requestTimeoutMs = 200;
  ClientSession s(&loop, o);
  std::optional<RequestError> result;
  int64_t sentAt = 0, doneAt = 0;
  uint16_t lateSeq = 0;
  int others = 0;
  s.handlers().onOtherPdu = [&](const ImPdu& pdu) {
    EXPECT_EQ(pdu.seqNum(), lateSeq);
    ++others;
  };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             sentAt = tt::monotonicMs();
                             s.unread([&](RequestError e, const IM::Message::IMUnreadMsgCntRsp* r) {
                               EXPECT_EQ(r, nullptr);
                               result = e;
                               doneAt = tt::monotonicMs();
                             });
                           })
                  .waitFor("timeout", [&] { return result.has_value(); },
                           [&] {
                             // The answer arrives too late: it is nobody's reply any more.
                             lateSeq = fake.find(bd::CID_MSG_UNREAD_CNT_REQUEST)->seq;
                             IM::Message::IMUnreadMsgCntRsp rsp;
                             rsp.set_user_id(1001);
                             rsp.set_total_cnt(0);
                             fake.push(bd::SID_MSG, bd::CID_MSG_UNREAD_CNT_RESPONSE, lateSeq, rsp);
                           })
                  .waitFor("late reply seen", [&] { return others == 1; })
                  .run());
  EXPECT_EQ(*result, RequestError::kTimeout);
  EXPECT_GE(doneAt - sentAt, 190);
  EXPECT_LT(doneAt - sentAt, 1500);
  EXPECT_EQ(s.pendingRequests(), 0u);
  EXPECT_EQ(s.stats().timeouts, 1u);
  EXPECT_TRUE(s.online());
}

TEST(ClientSession, RequestsFailFastWhenNotOnline) {
  EventDispatch loop;
  ClientSession s(&loop, direct(tt::test::freePort()));
  std::optional<RequestError> result;
  std::optional<RequestError> sendResult;
  EXPECT_EQ(s.request(bd::SID_MSG, bd::CID_MSG_UNREAD_CNT_REQUEST, IM::Message::IMUnreadMsgCntReq(),
                      [&](RequestError e, const ImPdu*) { result = e; }),
            0);
  s.sendText(5, "x", [&](RequestError e, uint32_t) { sendResult = e; });
  EXPECT_FALSE(result);  // posted, never called from inside request()
  EXPECT_FALSE(s.readAck(5, bd::SESSION_TYPE_SINGLE, 1));
  ASSERT_TRUE(Script(loop).waitFor("callbacks", [&] { return result && sendResult; }).run());
  EXPECT_EQ(*result, RequestError::kNotOnline);
  EXPECT_EQ(*sendResult, RequestError::kNotOnline);
}

TEST(ClientSession, PendingRequestFailsWhenTheServerCloses) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.hook = [](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() == bd::CID_MSG_UNREAD_CNT_REQUEST) c->close("test: drop");
  };
  ClientSession s(&loop, direct(fake.port));
  std::optional<RequestError> result;
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] { s.unread([&](RequestError e, const auto*) { result = e; }); })
                  .waitFor("failure", [&] { return result.has_value(); })
                  .waitFor("back online", [&] { return s.online() && fake.logins.size() == 2; })
                  .run());
  EXPECT_EQ(*result, RequestError::kDisconnected);
}

TEST(ClientSession, KickedSessionDoesNotReconnect) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  std::optional<int> reason;
  s.handlers().onKicked = [&](const IM::Login::IMKickUser& k) { reason = k.kick_reason(); };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             IM::Login::IMKickUser k;
                             k.set_user_id(1001);
                             k.set_kick_reason(bd::KICK_REASON_DUPLICATE_USER);
                             fake.push(bd::SID_LOGIN, bd::CID_LOGIN_KICK_USER, 0, k);
                           })
                  .waitFor("kicked", [&] { return reason.has_value(); })
                  .waitFor("connection closed", [&] { return fake.openConnections() == 0; })
                  .after(500)  // 10x the reconnect delay: a reconnect timer would have fired first
                  .run());
  EXPECT_EQ(*reason, bd::KICK_REASON_DUPLICATE_USER);
  EXPECT_TRUE(s.kicked());
  EXPECT_EQ(s.state(), SessionState::kDisconnected);
  EXPECT_EQ(s.stats().attempts, 1u);  // counted when an attempt starts, even before it connects
  EXPECT_EQ(fake.connections(), 1u);
}

TEST(ClientSession, ServerClosingAfterLoginMeansReconnectWithGrowingBackoff) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.closeAfterLogin = true;
  SessionOptions o = direct(fake.port);
  o.reconnectInitialMs = 100;
  o.reconnectMaxMs = 10000;
  ClientSession s(&loop, o);
  int onlineCount = 0;
  s.handlers().onStateChanged = [&](SessionState st, const std::string&) { onlineCount += st == SessionState::kOnline; };
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("four connections", [&] { return fake.connections() >= 4; }).run(20000));
  s.stop();
  const auto& t = fake.acceptedAtMs;
  const int64_t g0 = t[1] - t[0], g1 = t[2] - t[1], g2 = t[3] - t[2];
  // Back-off 100, 200, 400 ms, each +-20%. A gap is the back-off plus the time to dial, log in
  // and see the close, which a busy machine only makes longer: lower bounds are what a gap
  // proves. The third (>= 320) is more than the first could ever be (<= 120): it grew.
  EXPECT_GE(g0, 75) << g0 << " " << g1 << " " << g2;
  EXPECT_GE(g1, 155) << g0 << " " << g1 << " " << g2;
  EXPECT_GE(g2, 315) << g0 << " " << g1 << " " << g2;
  EXPECT_GE(onlineCount, 3);
  EXPECT_EQ(s.stats().attempts, fake.connections());
}

TEST(ClientSession, WrongPasswordIsFinal) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.loginResult = bd::REFUSE_REASON_DB_VALIDATE_FAILED;
  fake.loginResultString = "用户名/密码错误";
  ClientSession s(&loop, direct(fake.port));
  std::vector<std::string> errors;
  s.handlers().onError = [&](const std::string& e) { errors.push_back(e); };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("refused", [&] { return s.lastLoginResult() == 6; })
                  .after(400)  // 8x the reconnect delay: a reconnect timer would have fired first
                  .run());
  EXPECT_EQ(s.state(), SessionState::kDisconnected);
  EXPECT_EQ(s.stats().attempts, 1u);
  EXPECT_EQ(fake.connections(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("用户名/密码错误"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("code 6"), std::string::npos) << errors[0];
}

TEST(ClientSession, TransientRefusalIsRetried) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.loginResult = bd::REFUSE_REASON_NO_DB_SERVER;
  ClientSession s(&loop, direct(fake.port));
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("a retry", [&] { return fake.logins.size() >= 2; },
                           [&] { fake.loginResult = 0; })
                  .waitFor("online", [&] { return s.online(); })
                  .run());
}

TEST(ClientSession, UnknownAndMalformedPdusGoToOnOtherPdu) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  ClientSession s(&loop, direct(fake.port));
  std::vector<uint16_t> others;
  int statusNotifies = 0, readNotifies = 0, groupNotifies = 0;
  s.handlers().onOtherPdu = [&](const ImPdu& pdu) { others.push_back(pdu.commandId()); };
  s.handlers().onStatusNotify = [&](const IM::Buddy::IMUserStatNotify& n) {
    EXPECT_EQ(n.user_stat().user_id(), 1002u);
    ++statusNotifies;
  };
  s.handlers().onReadNotify = [&](const IM::Message::IMMsgDataReadNotify&) { ++readNotifies; };
  s.handlers().onGroupChangeNotify = [&](const IM::Group::IMGroupChangeMemberNotify&) { ++groupNotifies; };
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); },
                           [&] {
                             fake.last->sendRaw(rawPdu(9, 0x0999, 0, "\xff\xff\xff"));
                             fake.last->sendRaw(rawPdu(bd::SID_MSG, bd::CID_MSG_DATA, 0, "garbage"));
                             fake.last->sendRaw(rawPdu(bd::SID_LOGIN, bd::CID_LOGIN_RES_LOGINOUT, 4242, ""));
                             IM::Buddy::IMUserStatNotify st;
                             st.mutable_user_stat()->set_user_id(1002);
                             st.mutable_user_stat()->set_status(bd::USER_STATUS_ONLINE);
                             fake.push(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_STATUS_NOTIFY, 0, st);
                             IM::Message::IMMsgDataReadNotify rn;
                             rn.set_user_id(1001);
                             rn.set_session_id(1002);
                             rn.set_msg_id(3);
                             rn.set_session_type(bd::SESSION_TYPE_SINGLE);
                             fake.push(bd::SID_MSG, bd::CID_MSG_READ_NOTIFY, 0, rn);
                             IM::Group::IMGroupChangeMemberNotify gn;
                             gn.set_user_id(1002);
                             gn.set_change_type(bd::GROUP_MODIFY_TYPE_ADD);
                             gn.set_group_id(7);
                             gn.add_chg_user_id_list(1001);
                             fake.push(bd::SID_GROUP, bd::CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, gn);
                           })
                  .waitFor("all delivered", [&] { return others.size() == 3 && groupNotifies == 1; })
                  .run());
  EXPECT_EQ(others, (std::vector<uint16_t>{0x0999, bd::CID_MSG_DATA, bd::CID_LOGIN_RES_LOGINOUT}));
  EXPECT_EQ(statusNotifies, 1);
  EXPECT_EQ(readNotifies, 1);
  EXPECT_TRUE(s.online());
  EXPECT_EQ(fake.count(bd::CID_MSG_DATA_ACK), 0u);  // nothing to acknowledge for a broken message
}

TEST(ClientSession, LogsInThroughTheLoginServer) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  FakeLoginServer login(&loop, "{\"code\":0,\"msg\":\"\",\"priorIP\":\"127.0.0.1\",\"backupIP\":\"127.0.0.1\",\"port\":\"" +
                                   std::to_string(fake.port) + "\"}");
  SessionOptions o = direct(0);
  o.serverHost.clear();
  o.loginHost = "127.0.0.1";
  o.loginPort = login.port;
  ClientSession s(&loop, o);
  std::vector<SessionState> states;
  s.handlers().onStateChanged = [&](SessionState st, const std::string&) { states.push_back(st); };
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("online", [&] { return s.online(); }).run());
  EXPECT_EQ(states, (std::vector<SessionState>{SessionState::kResolving, SessionState::kConnecting,
                                               SessionState::kLoggingIn, SessionState::kOnline}));
  EXPECT_EQ(login.requests, 1);
}

TEST(ClientSession, LoginServerRefusalIsReportedAndRetried) {
  EventDispatch loop;
  FakeLoginServer login(&loop, "{\"code\":1,\"msg\":\"没有msg_server\"}");
  SessionOptions o = direct(0);
  o.serverHost.clear();
  o.loginPort = login.port;
  ClientSession s(&loop, o);
  std::vector<std::string> errors;
  s.handlers().onError = [&](const std::string& e) { errors.push_back(e); };
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("two lookups", [&] { return login.requests >= 2 && errors.size() >= 2; }).run());
  EXPECT_NE(errors[0].find("没有msg_server"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("code 1"), std::string::npos) << errors[0];
  EXPECT_EQ(s.userId(), 0u);
}

TEST(ClientSession, NoAutoReconnectMeansOneAttempt) {
  EventDispatch loop;
  SessionOptions o = direct(tt::test::freePort());  // nothing listens there
  o.autoReconnect = false;
  ClientSession s(&loop, o);
  std::vector<std::string> errors;
  s.handlers().onError = [&](const std::string& e) { errors.push_back(e); };
  s.start();
  ASSERT_TRUE(Script(loop).waitFor("error", [&] { return !errors.empty(); }).after(300).run());
  EXPECT_EQ(errors.size(), 1u);
  EXPECT_EQ(s.stats().attempts, 1u);
  EXPECT_EQ(s.state(), SessionState::kDisconnected);
}

TEST(ClientSession, LogoutWaitsForTheAnswerAndStaysOff) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.hook = [](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() == bd::CID_LOGIN_REQ_LOGINOUT) {
      IM::Login::IMLogoutRsp rsp;
      rsp.set_result_code(0);
      c->send(bd::SID_LOGIN, bd::CID_LOGIN_RES_LOGINOUT, pdu.seqNum(), rsp);
      c->tcp()->shutdown();
    }
  };
  ClientSession s(&loop, direct(fake.port));
  bool done = false;
  s.start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s.online(); }, [&] { s.logout([&] { done = true; }); })
                  .waitFor("logged out", [&] { return done; })
                  .after(300)  // 6x the reconnect delay: a reconnect timer would have fired first
                  .run());
  EXPECT_EQ(s.state(), SessionState::kDisconnected);
  EXPECT_EQ(s.stats().attempts, 1u);
  EXPECT_EQ(fake.count(bd::CID_LOGIN_REQ_LOGINOUT), 1u);
  EXPECT_EQ(fake.connections(), 1u);
}

TEST(ClientSession, ManySessionsShareOneLoop) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  constexpr int kSessions = 50;
  std::vector<std::unique_ptr<ClientSession>> sessions;
  int messages = 0;
  for (int i = 0; i < kSessions; ++i) {
    SessionOptions o = direct(fake.port);
    o.userName = "user" + std::to_string(i);
    sessions.push_back(std::make_unique<ClientSession>(&loop, o));
    sessions.back()->handlers().onMessage = [&](const IM::Message::IMMsgData&, const std::optional<std::string>& t) {
      EXPECT_EQ(t.value_or("?"), "broadcast");
      ++messages;
    };
    sessions.back()->start();
  }
  auto allOnline = [&] {
    for (auto& s : sessions) {
      if (!s->online()) return false;
    }
    return true;
  };
  // Each session sends itself a message; the fake acks it and delivers it back on the same link.
  fake.hook = [](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() != bd::CID_MSG_DATA) return;
    IM::Message::IMMsgData m;
    ASSERT_TRUE(pdu.parse(&m));
    IM::Message::IMMsgDataAck ack;
    ack.set_user_id(m.from_user_id());
    ack.set_session_id(m.to_session_id());
    ack.set_msg_id(1);
    ack.set_session_type(bd::SESSION_TYPE_SINGLE);
    c->send(bd::SID_MSG, bd::CID_MSG_DATA_ACK, pdu.seqNum(), ack);
    m.set_msg_id(1);
    c->send(bd::SID_MSG, bd::CID_MSG_DATA, 0, m);
  };
  int acked = 0;
  ASSERT_TRUE(Script(loop)
                  .waitFor("all online", allOnline,
                           [&] {
                             for (auto& s : sessions) {
                               s->sendText(s->userId(), "broadcast", [&](RequestError e, uint32_t) {
                                 EXPECT_EQ(e, RequestError::kOk);
                                 ++acked;
                               });
                             }
                           })
                  .waitFor("all delivered", [&] { return acked == kSessions && messages == kSessions; })
                  .run(20000));
  EXPECT_EQ(fake.logins.size(), static_cast<size_t>(kSessions));
}

TEST(ClientSession, DestroyingASessionWithWorkInFlightCallsNothing) {
  EventDispatch loop;
  FakeMsgServer fake(&loop);
  auto s = std::make_unique<ClientSession>(&loop, direct(fake.port));
  bool called = false;
  s->handlers().onStateChanged = [&](SessionState st, const std::string&) {
    if (st == SessionState::kDisconnected) called = true;
  };
  s->start();
  ASSERT_TRUE(Script(loop)
                  .waitFor("online", [&] { return s->online(); },
                           [&] {
                             s->unread([&](RequestError, const auto*) { called = true; });
                             s->sendText(1002, "x", [&](RequestError, uint32_t) { called = true; });
                             s.reset();
                           })
                  .waitFor("server saw the close", [&] { return fake.openConnections() == 0; })
                  .after(100)
                  .run());
  EXPECT_FALSE(called);
  // And one that is still dialing.
  EventDispatch loop2;
  auto t = std::make_unique<ClientSession>(&loop2, direct(tt::test::freePort()));
  t->start();
  t.reset();
  ASSERT_TRUE(Script(loop2).after(100).run());
}
