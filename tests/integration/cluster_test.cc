// The message path end to end (issue 4): real MariaDB/Redis, db_proxy_server, route_server,
// login_server and two msg_servers (ClusterFixture), driven by the client library (ClientSession)
// and, where a test must see exactly what the server does to a connection, by raw PduClients.
//
// The ClientSessions live on one EventDispatch that runs on its own thread (LoopThread); the test
// thread talks to them only through LoopThread::call / waitUntil, so every session and its
// recorded events are touched on the loop thread only.
//
// Demo users (password "ttsuite"): each test has its own users so nothing leaks between tests.
//   balance 16-19 | login 4, 5 | kick 6 | cross-server 7, 8 | offline 9, 10 | group 11-13, 15 (+4)
//   heartbeat 14, 20 | route restart 1, 2 | garbage 3, 19
// Group 1 = users 1-10, group 2 = users 1-20.
#include <arpa/inet.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ClusterFixture.h"
#include "DbProxyFixture.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "IM.Other.pb.h"
#include "LoopThread.h"
#include "PduClient.h"
#include "StorageFixture.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImPdu.h"
#include "proto/ContentCodec.h"
#include "tools/client/ClientSession.h"

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace bd = IM::BaseDefine;
using tt::client::ClientSession;
using tt::client::RequestError;
using tt::client::SessionOptions;
using tt::client::SessionState;
using tt::test::ClusterFixture;
using tt::test::PduClient;
using namespace std::chrono_literals;

namespace {

constexpr char kPassword[] = "ttsuite";
constexpr int kViaHttp = -1;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string userName(uint32_t id) {
  char b[16];
  std::snprintf(b, sizeof b, "user%02u", id);
  return b;
}

ClusterFixture& cluster() { return ClusterFixture::instance(2); }

using tt::test::LoopThread;

// One client session and everything it saw (loop thread only).
struct Peer {
  uint32_t userId = 0;
  std::unique_ptr<ClientSession> session;
  std::vector<int> portsTried;  // msg_server ports it connected to (from the state reasons)
  std::vector<IM::Message::IMMsgData> messages;
  std::vector<std::string> texts;  // decrypted text, "<undecryptable>" otherwise
  std::vector<IM::Message::IMMsgDataReadNotify> readNotifies;
  std::vector<IM::Login::IMKickUser> kicks;
  std::vector<IM::Login::IMLoginRes> loginResults;

  bool online() const { return session->online(); }
  // Messages received from `from` (in a single or group session `session`, 0 = any).
  size_t countFrom(uint32_t from, uint32_t sessionId = 0) const {
    size_t n = 0;
    for (const auto& m : messages) n += m.from_user_id() == from && (sessionId == 0 || m.to_session_id() == sessionId);
    return n;
  }
};

struct SendResult {
  bool done = false;
  RequestError err = RequestError::kOk;
  uint32_t msgId = 0;
  uint16_t seq = 0;  // the request's seq (msg_server names it in its log)
  std::string note;  // set by an optional check run in the ack callback
};

// Raw login over a blocking PduClient (what a TeamTalk client sends). Retries while the server
// refuses for a missing back end (codes 3/4/5: its links are still coming up).
std::optional<IM::Login::IMLoginRes> rawLogin(PduClient& c, int port, uint32_t userId, const std::string& password,
                                              bd::ClientType type = bd::CLIENT_TYPE_MAC) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    c.close();
    if (!c.connect(port)) return std::nullopt;
    IM::Login::IMLoginReq req;
    req.set_user_name(userName(userId));
    req.set_password(tt::codec::md5Hex(password));
    req.set_online_status(bd::USER_STATUS_ONLINE);
    req.set_client_type(type);
    req.set_client_version("cluster_test");
    if (!c.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, 77, req)) return std::nullopt;
    auto pdu = c.receiveCommand(bd::CID_LOGIN_RES_USERLOGIN, 15000);
    if (!pdu) return std::nullopt;
    EXPECT_EQ(pdu->seq(), 77) << "IMLoginRes must echo the request's seq";
    auto res = pdu->as<IM::Login::IMLoginRes>();
    const int code = res.result_code();
    if (code == bd::REFUSE_REASON_NO_DB_SERVER || code == bd::REFUSE_REASON_NO_LOGIN_SERVER ||
        code == bd::REFUSE_REASON_NO_ROUTE_SERVER) {
      std::this_thread::sleep_for(250ms);
      continue;
    }
    return res;
  }
  return std::nullopt;
}

// GET /msg_server on login_server; the whole response (the server closes after it).
std::string httpGet(int port, const std::string& path = "/msg_server") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      const int64_t deadline = nowMs() + 15000;
      char buf[4096];
      while (nowMs() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

std::string rawHeader(uint32_t length, uint16_t serviceId, uint16_t commandId) {
  tt::net::PduHeader h;
  h.length = length;
  h.serviceId = serviceId;
  h.commandId = commandId;
  h.seqNum = 1;
  std::string out(tt::net::kPduHeaderSize, '\0');
  tt::net::encodeHeader(h, out.data());
  return out;
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster(); }

  void TearDown() override {
    loop_.call([this] {
      for (auto& p : peers_) p->session->stop("test over");
      peers_.clear();
      return 0;
    });
  }

  int port(size_t server) const { return cluster().msgServerPort(server); }

  // Creates and starts a session (server = msg_server index, or kViaHttp for login_server).
  Peer* connect(uint32_t userId, int server, bd::ClientType type = bd::CLIENT_TYPE_MAC,
                const std::string& password = kPassword) {
    return loop_.call([&] {
      SessionOptions o;
      o.loginHost = "127.0.0.1";
      o.loginPort = static_cast<uint16_t>(cluster().loginHttpPort());
      if (server != kViaHttp) {
        o.serverHost = "127.0.0.1";
        o.serverPort = static_cast<uint16_t>(port(static_cast<size_t>(server)));
      }
      o.userName = userName(userId);
      o.password = password;
      o.clientType = type;
      o.requestTimeoutMs = 15000;
      o.reconnectInitialMs = 200;
      o.reconnectMaxMs = 1000;
      auto peer = std::make_unique<Peer>();
      Peer* p = peer.get();
      p->userId = userId;
      p->session = std::make_unique<ClientSession>(loop_.loop(), o);
      auto& h = p->session->handlers();
      h.onStateChanged = [p](SessionState s, const std::string& reason) {
        if (s != SessionState::kConnecting) return;
        const auto colon = reason.rfind(':');
        if (colon != std::string::npos) p->portsTried.push_back(std::atoi(reason.c_str() + colon + 1));
      };
      h.onLoginResult = [p](const IM::Login::IMLoginRes& r) { p->loginResults.push_back(r); };
      h.onMessage = [p](const IM::Message::IMMsgData& m, const std::optional<std::string>& text) {
        p->messages.push_back(m);
        p->texts.push_back(text ? *text : "<undecryptable>");
      };
      h.onReadNotify = [p](const IM::Message::IMMsgDataReadNotify& n) { p->readNotifies.push_back(n); };
      h.onKicked = [p](const IM::Login::IMKickUser& k) { p->kicks.push_back(k); };
      peers_.push_back(std::move(peer));
      p->session->start();
      return p;
    });
  }

  // connect() and wait until online.
  Peer* login(uint32_t userId, int server, bd::ClientType type = bd::CLIENT_TYPE_MAC) {
    Peer* p = connect(userId, server, type);
    EXPECT_TRUE(loop_.waitUntil([p] { return p->online(); }, 30000))
        << userName(userId) << " did not get online: " << loop_.call([p] { return p->session->lastError(); });
    return p;
  }

  // Sends a text (single or group); the result fills in when the ack (or a failure) arrives.
  // check, if set, runs in the ack callback (loop thread) the moment the ack arrives.
  std::shared_ptr<SendResult> sendAsync(Peer* p, uint32_t to, const std::string& text, bool group = false,
                                        std::function<std::string(uint32_t msgId)> check = nullptr) {
    auto r = std::make_shared<SendResult>();
    loop_.call([&] {
      auto cb = [r, check](RequestError err, uint32_t msgId) {
        r->err = err;
        r->msgId = msgId;
        if (err == RequestError::kOk && check) r->note = check(msgId);
        r->done = true;
      };
      r->seq = group ? p->session->sendGroupText(to, text, cb) : p->session->sendText(to, text, cb);
      return 0;
    });
    return r;
  }
  SendResult send(Peer* p, uint32_t to, const std::string& text, bool group = false,
                  std::function<std::string(uint32_t)> check = nullptr) {
    auto r = sendAsync(p, to, text, group, std::move(check));
    EXPECT_TRUE(loop_.waitUntil([r] { return r->done; }, 20000)) << "no ack for '" << text << "'";
    return loop_.call([r] { return *r; });
  }

  std::optional<IM::Message::IMUnreadMsgCntRsp> unread(Peer* p) {
    auto out = std::make_shared<std::optional<IM::Message::IMUnreadMsgCntRsp>>();
    auto done = std::make_shared<bool>(false);
    loop_.call([&] {
      p->session->unread([out, done](RequestError err, const IM::Message::IMUnreadMsgCntRsp* rsp) {
        if (err == RequestError::kOk) *out = *rsp;
        *done = true;
      });
      return 0;
    });
    loop_.waitUntil([done] { return *done; }, 20000);
    return loop_.call([out] { return *out; });
  }

  // Unread count of a single session (0 if absent); -1 if the request failed.
  int unreadFrom(Peer* p, uint32_t peerId) {
    auto rsp = unread(p);
    if (!rsp) return -1;
    for (const auto& u : rsp->unreadinfo_list()) {
      if (u.session_id() == peerId && u.session_type() == bd::SESSION_TYPE_SINGLE) return static_cast<int>(u.unread_cnt());
    }
    return 0;
  }

  std::optional<IM::Message::IMGetMsgListRsp> history(Peer* p, uint32_t sessionId, uint32_t count) {
    auto out = std::make_shared<std::optional<IM::Message::IMGetMsgListRsp>>();
    auto done = std::make_shared<bool>(false);
    loop_.call([&] {
      p->session->history(sessionId, bd::SESSION_TYPE_SINGLE, 0, count,
                          [out, done](RequestError err, const IM::Message::IMGetMsgListRsp* rsp) {
                            if (err == RequestError::kOk) *out = *rsp;
                            *done = true;
                          });
      return 0;
    });
    loop_.waitUntil([done] { return *done; }, 20000);
    return loop_.call([out] { return *out; });
  }

  // A user's status as route_server answers it (through p's msg_server); -1 on failure.
  int statusOf(Peer* p, uint32_t userId) {
    auto out = std::make_shared<int>(-1);
    auto done = std::make_shared<bool>(false);
    loop_.call([&] {
      p->session->usersStatus({userId}, [out, done, userId](RequestError err, const IM::Buddy::IMUsersStatRsp* rsp) {
        if (err == RequestError::kOk) {
          for (const auto& st : rsp->user_stat_list()) {
            if (st.user_id() == userId) *out = st.status();
          }
        }
        *done = true;
      });
      return 0;
    });
    loop_.waitUntil([done] { return *done; }, 20000);
    return loop_.call([out] { return *out; });
  }

  template <class F>
  auto on(F f) -> decltype(f()) {
    return loop_.call(std::move(f));
  }

  // Anchor for "p got nothing more": a status query from p goes p -> its msg_server ->
  // route_server and back the same way. Whatever route_server or that msg_server already had on
  // its way to p (an extra copy of a message, a kick, a read notify) is written to p's
  // connection before the answer, so once the answer is in, p has seen it. Returns the status.
  int drain(Peer* p) {
    const int st = statusOf(p, p->userId);
    EXPECT_NE(st, -1) << userName(p->userId) << ": no status answer";
    return st;
  }
  // Anchor for "the client did not do X on a timer": a timer of ms on the sessions' loop fires
  // after every earlier-due timer of theirs (a reconnect, a heartbeat) has run.
  void runLoopFor(int64_t ms) {
    auto fired = std::make_shared<bool>(false);
    on([&] {
      loop_.loop()->runAfter(ms, [fired] { *fired = true; });
      return 0;
    });
    ASSERT_TRUE(loop_.waitUntil([fired] { return *fired; }, ms + 30000));
  }

  LoopThread loop_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

// ---- 1. HTTP /msg_server balance --------------------------------------------------------------

TEST_F(ClusterTest, HttpMsgServerBalancesOverBothServers) {
  const std::set<int> ports{port(0), port(1)};
  const std::string resp = httpGet(cluster().loginHttpPort());
  ASSERT_NE(resp.find("200"), std::string::npos) << resp;
  const auto bodyAt = resp.find("\r\n\r\n");
  ASSERT_NE(bodyAt, std::string::npos) << resp;
  const std::string body = resp.substr(bodyAt + 4);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(body, m, std::regex("\"port\"\\s*:\\s*\"([0-9]+)\"")))
      << "port must be a JSON string: " << body;
  EXPECT_EQ(ports.count(std::stoi(m[1].str())), 1u) << body;
  EXPECT_TRUE(std::regex_search(body, std::regex("\"code\"\\s*:\\s*0"))) << body;
  EXPECT_TRUE(std::regex_search(body, std::regex("\"priorIP\"\\s*:\\s*\"127\\.0\\.0\\.1\""))) << body;

  // Sequential logins through login_server: each goes to the server with the fewest users.
  std::map<int, int> perPort;
  std::map<int, std::vector<Peer*>> byPort;
  auto viaHttp = [&](uint32_t uid) {
    Peer* p = login(uid, kViaHttp);
    const auto tried = on([p] { return p->portsTried; });
    if (tried.empty()) return 0;
    EXPECT_EQ(ports.count(tried.back()), 1u) << "unknown msg_server port " << tried.back();
    byPort[tried.back()].push_back(p);
    return tried.back();
  };
  for (uint32_t uid : {16u, 17u, 18u, 19u}) ++perPort[viaHttp(uid)];
  EXPECT_EQ(perPort.size(), 2u) << "all logins went to one msg_server";
  for (const auto& [p, n] : perPort) EXPECT_EQ(n, 2) << "port " << p;

  // The users of one server leave: login_server must see it (IMUserCntUpdate 2), so the next two
  // logins both go there.
  const int emptied = port(0);
  on([&] {
    for (Peer* p : byPort[emptied]) p->session->stop();
    return 0;
  });
  // Both IMUserCntUpdate 2 handled: login_server logs each one (LogLevel=debug).
  for (Peer* p : byPort[emptied]) {
    ASSERT_TRUE(cluster().login().waitForLogLines({"127.0.0.1/127.0.0.1:" + std::to_string(emptied) + " (",
                                                   "): user " + std::to_string(p->userId) + " logged out"}))
        << "login_server did not see user " << p->userId << " leave\n" << cluster().login().logTail();
  }
  EXPECT_EQ(viaHttp(16 + 4), emptied);  // user 20
  EXPECT_EQ(viaHttp(15), emptied);
}

// ---- 2. login right / wrong password ----------------------------------------------------------

TEST_F(ClusterTest, LoginRightAndWrongPassword) {
  PduClient good;
  auto ok = rawLogin(good, port(0), 4, kPassword);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_code(), bd::REFUSE_REASON_NONE) << ok->result_string();
  EXPECT_EQ(ok->user_info().user_id(), 4u);
  EXPECT_GT(ok->server_time(), 0u);
  // A good login stays connected: a request after it is answered on the same connection.
  ASSERT_TRUE(good.send(bd::SID_MSG, bd::CID_MSG_TIME_REQUEST, 78, IM::Message::IMClientTimeReq()));
  auto time = good.receiveCommand(bd::CID_MSG_TIME_RESPONSE);
  ASSERT_TRUE(time) << "a good login must stay connected";
  EXPECT_EQ(time->seq(), 78);

  PduClient bad;
  auto refused = rawLogin(bad, port(1), 5, "not-the-password");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result_code(), bd::REFUSE_REASON_DB_VALIDATE_FAILED);
  EXPECT_FALSE(refused->result_string().empty());
  EXPECT_TRUE(bad.waitClosed()) << "a refused login must be closed by the server";

  // The client library reports the refusal and does not retry.
  Peer* p = connect(5, 0, bd::CLIENT_TYPE_MAC, "wrong");
  ASSERT_TRUE(loop_.waitUntil([p] { return !p->loginResults.empty(); }, 20000));
  EXPECT_EQ(on([p] { return static_cast<int>(p->loginResults.back().result_code()); }),
            bd::REFUSE_REASON_DB_VALIDATE_FAILED);
  // Past the longest reconnect delay (reconnectMaxMs 1000 + 20% jitter): no second attempt.
  runLoopFor(1500);
  EXPECT_FALSE(on([p] { return p->online(); }));
  EXPECT_EQ(on([p] { return p->session->stats().attempts; }), 1u) << "a refused login was retried";
}

// ---- 3. duplicate login kick ------------------------------------------------------------------

TEST_F(ClusterTest, DuplicateLoginKicksSameDeviceClassOnly) {
  PduClient first;  // MAC on server A
  auto res = rawLogin(first, port(0), 6, kPassword, bd::CLIENT_TYPE_MAC);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->result_code(), 0);

  Peer* second = login(6, 1, bd::CLIENT_TYPE_MAC);  // MAC again on server B
  auto kick = first.receiveCommand(bd::CID_LOGIN_KICK_USER);
  ASSERT_TRUE(kick) << "the first PC login was not kicked";
  const auto k = kick->as<IM::Login::IMKickUser>();
  EXPECT_EQ(k.user_id(), 6u);
  EXPECT_EQ(k.kick_reason(), bd::KICK_REASON_DUPLICATE_USER);
  EXPECT_TRUE(first.waitClosed()) << "the kicked connection must be closed by the server";

  // A mobile login of the same user leaves the PC session alone. Its kick went from A to route
  // to B before the phone's login answer; a status query from the PC (B -> route -> B) is
  // answered after it.
  Peer* phone = login(6, 0, bd::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(drain(second), bd::USER_STATUS_ONLINE);
  drain(phone);
  EXPECT_TRUE(on([second] { return second->online() && second->kicks.empty(); })) << "the mobile login kicked the PC";
  EXPECT_TRUE(on([phone] { return phone->online() && phone->kicks.empty(); }));

  // Same server, same class: the older one goes, the newer one stays.
  Peer* mac1 = login(17, 0, bd::CLIENT_TYPE_MAC);
  Peer* mac2 = login(17, 0, bd::CLIENT_TYPE_WINDOWS);
  EXPECT_TRUE(loop_.waitUntil([mac1] { return !mac1->kicks.empty() && !mac1->online(); }, 20000))
      << "a second PC login on the same msg_server did not kick the first";
  drain(mac2);  // mac2's own kick to route (and anything coming back) is behind us
  EXPECT_TRUE(on([mac2] { return mac2->online() && mac2->kicks.empty(); })) << "the newer login was kicked";

  // Presence: with every session of user 6 gone (the kicked one included), route_server must
  // answer OFFLINE -- the kicked connection's offline update must not be lost.
  Peer* observer = login(18, 1);
  EXPECT_EQ(statusOf(observer, 6), bd::USER_STATUS_ONLINE);
  on([&] {
    second->session->stop();
    phone->session->stop();
    return 0;
  });
  int status = -1;
  for (const int64_t deadline = nowMs() + 20000; status != bd::USER_STATUS_OFFLINE && nowMs() < deadline;) {
    status = statusOf(observer, 6);
    if (status != bd::USER_STATUS_OFFLINE) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, bd::USER_STATUS_OFFLINE) << "user 6 still shows online after all its sessions left";
}

// ---- 4. alice on A <-> bob on B through route_server, ack after store --------------------------

TEST_F(ClusterTest, CrossServerChatBothWaysAckAfterStore) {
  constexpr uint32_t kAlice = 7, kBob = 8;
  Peer* alice = login(kAlice, 0);
  Peer* bob = login(kBob, 1);
  Peer* alicePhone = login(kAlice, 1, bd::CLIENT_TYPE_ANDROID);  // the sender's other device, on B
  MYSQL* db = cluster().dbProxy().mysql();
  ASSERT_NE(db, nullptr);

  // Runs in the ack callback: the row must already be in IMMessage_<relateId % 8>.
  auto stored = [db](uint32_t from, uint32_t to, const std::string& text) {
    return [db, from, to, text](uint32_t msgId) -> std::string {
      const std::string rel = tt::test::sqlValue(db, "SELECT id FROM IMRelationShip WHERE smallId = " +
                                                         std::to_string(std::min(from, to)) +
                                                         " AND bigId = " + std::to_string(std::max(from, to)));
      if (rel.empty()) return "no relation row";
      const std::string content = tt::test::sqlValue(
          db, "SELECT content FROM IMMessage_" + std::to_string(std::stoul(rel) % 8) + " WHERE relateId = " + rel +
                  " AND msgId = " + std::to_string(msgId) + " AND fromId = " + std::to_string(from) +
                  " AND toId = " + std::to_string(to));
      if (content.empty()) return "message " + std::to_string(msgId) + " not stored when the ack arrived";
      auto plain = tt::codec::decryptText(content);
      if (!plain || *plain != text) return "stored content does not decrypt to the text";
      return "stored";
    };
  };

  const std::string t1 = "hello bob, from A \xe4\xbd\xa0\xe5\xa5\xbd";
  const SendResult a1 = send(alice, kBob, t1, false, stored(kAlice, kBob, t1));
  ASSERT_EQ(a1.err, RequestError::kOk);
  EXPECT_GT(a1.msgId, 0u);
  EXPECT_EQ(a1.note, "stored");
  ASSERT_TRUE(loop_.waitUntil([bob] { return bob->messages.size() >= 1; }, 20000)) << "bob (server B) got nothing";
  on([&] {
    EXPECT_EQ(bob->messages[0].from_user_id(), kAlice);
    EXPECT_EQ(bob->messages[0].to_session_id(), kBob);
    EXPECT_EQ(bob->messages[0].msg_id(), a1.msgId);
    EXPECT_EQ(bob->messages[0].msg_type(), bd::MSG_TYPE_SINGLE_TEXT);
    EXPECT_EQ(bob->texts[0], t1);
    return 0;
  });

  const std::string t2 = "hi alice, from B";
  const SendResult b1 = send(bob, kAlice, t2, false, stored(kBob, kAlice, t2));
  ASSERT_EQ(b1.err, RequestError::kOk);
  EXPECT_EQ(b1.msgId, a1.msgId + 1) << "one conversation, one id sequence";
  EXPECT_EQ(b1.note, "stored");
  ASSERT_TRUE(loop_.waitUntil([alice] { return alice->messages.size() >= 1; }, 20000)) << "alice (server A) got nothing";
  drain(alice);
  drain(bob);
  on([&] {
    EXPECT_EQ(alice->messages.size(), 1u) << "alice must not get a copy of her own message";
    EXPECT_EQ(alice->messages[0].from_user_id(), kBob);
    EXPECT_EQ(alice->messages[0].msg_id(), b1.msgId);
    EXPECT_EQ(alice->texts[0], t2);
    EXPECT_EQ(bob->messages.size(), 1u) << "bob must not get a copy of his own message";
    return 0;
  });
  // alice's phone sees both sides of the conversation, each message once.
  ASSERT_TRUE(loop_.waitUntil([alicePhone] { return alicePhone->messages.size() >= 2; }, 20000))
      << "the sender's other device did not get the conversation";
  drain(alicePhone);
  on([&] {
    EXPECT_EQ(alicePhone->countFrom(kAlice, kBob), 1u) << "own message on the other device";
    EXPECT_EQ(alicePhone->countFrom(kBob, kAlice), 1u) << "bob's reply on the other device";
    EXPECT_EQ(alicePhone->messages.size(), 2u);
    return 0;
  });
  mysql_close(db);
}

// ---- 5. offline receiver: unread, history, read ack + notify to the reader's other device -------

TEST_F(ClusterTest, OfflineMessagesUnreadHistoryAndReadNotify) {
  constexpr uint32_t kAlice = 9, kBob = 10;
  Peer* alice = login(kAlice, 0);
  const std::vector<std::string> texts{"offline one", "offline two", "offline three"};
  std::vector<uint32_t> ids;
  for (const auto& t : texts) {
    const SendResult r = send(alice, kBob, t);
    ASSERT_EQ(r.err, RequestError::kOk) << t;
    ids.push_back(r.msgId);
  }
  ASSERT_TRUE(ids[0] < ids[1] && ids[1] < ids[2]);

  Peer* bobPc = login(kBob, 1, bd::CLIENT_TYPE_MAC);
  Peer* bobPhone = login(kBob, 0, bd::CLIENT_TYPE_ANDROID);

  auto u = unread(bobPc);
  ASSERT_TRUE(u);
  bool found = false;
  for (const auto& info : u->unreadinfo_list()) {
    if (info.session_id() != kAlice || info.session_type() != bd::SESSION_TYPE_SINGLE) continue;
    found = true;
    EXPECT_EQ(info.unread_cnt(), 3u);
    EXPECT_EQ(info.latest_msg_id(), ids[2]);
    EXPECT_EQ(info.latest_msg_from_user_id(), kAlice);
    EXPECT_EQ(tt::codec::decryptText(info.latest_msg_data()).value_or("?"), texts[2]);
  }
  EXPECT_TRUE(found) << "no unread entry for alice";
  EXPECT_GE(u->total_cnt(), 3u);

  auto h = history(bobPc, kAlice, 10);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->msg_list_size(), 3);
  for (int i = 0; i < 3; ++i) {  // newest first
    const auto& m = h->msg_list(i);
    EXPECT_EQ(m.msg_id(), ids[2 - i]);
    EXPECT_EQ(m.from_session_id(), kAlice);
    EXPECT_EQ(tt::codec::decryptText(m.msg_data()).value_or("?"), texts[2 - i]);
  }
  // Checked after requests answered on both connections (db_proxy and route round trips).
  unread(bobPhone);
  drain(bobPc);
  drain(bobPhone);
  EXPECT_TRUE(on([&] { return bobPc->messages.empty() && bobPhone->messages.empty(); }))
      << "nothing is queued for an offline receiver";

  // Read on the PC: unread clears, the phone (other msg_server) hears it, nobody else does.
  ASSERT_TRUE(on([&] { return bobPc->session->readAck(kAlice, bd::SESSION_TYPE_SINGLE, ids[2]); }));
  ASSERT_TRUE(loop_.waitUntil([bobPhone] { return !bobPhone->readNotifies.empty(); }, 20000))
      << "bob's other device got no IMMsgDataReadNotify";
  on([&] {
    const auto& n = bobPhone->readNotifies[0];
    EXPECT_EQ(n.user_id(), kBob);
    EXPECT_EQ(n.session_id(), kAlice);
    EXPECT_EQ(n.msg_id(), ids[2]);
    EXPECT_EQ(n.session_type(), bd::SESSION_TYPE_SINGLE);
    return 0;
  });
  int left = -1;
  for (const int64_t deadline = nowMs() + 20000; left != 0 && nowMs() < deadline;) {
    left = unreadFrom(bobPhone, kAlice);
    if (left != 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(left, 0) << "the read ack did not clear the unread counter";
  // The notify reached bobPhone through route: copies for bobPc (B) or alice (A) would be on
  // their connections before these answers.
  drain(bobPc);
  drain(alice);
  EXPECT_TRUE(on([&] { return bobPc->readNotifies.empty() && alice->readNotifies.empty(); }))
      << "the read notify goes to the reader's other devices only";
}

// ---- 6. group fan-out over two servers; non-member refused --------------------------------------

TEST_F(ClusterTest, GroupMessageReachesEachMemberOnceNonMemberRefused) {
  constexpr uint32_t kGroupA = 1, kGroupB = 2;
  Peer* u11 = login(11, 0);
  Peer* u12 = login(12, 0);
  Peer* u13 = login(13, 1);
  Peer* u11Phone = login(11, 1, bd::CLIENT_TYPE_ANDROID);  // the sender's other device
  const std::string text = "to group-b from 11";
  const SendResult r = send(u11, kGroupB, text, true);
  ASSERT_EQ(r.err, RequestError::kOk);
  EXPECT_GT(r.msgId, 0u);
  ASSERT_TRUE(loop_.waitUntil([&] { return u12->countFrom(11, kGroupB) >= 1 && u13->countFrom(11, kGroupB) >= 1 &&
                                            u11Phone->countFrom(11, kGroupB) >= 1; },
                              20000))
      << "a member did not get the group message";
  for (Peer* p : {u11, u12, u13, u11Phone}) drain(p);  // duplicates, if any, are in now
  on([&] {
    EXPECT_EQ(u12->countFrom(11, kGroupB), 1u) << "member on the same server";
    EXPECT_EQ(u13->countFrom(11, kGroupB), 1u) << "member on the other server";
    EXPECT_EQ(u11Phone->countFrom(11, kGroupB), 1u) << "the sender's other device";
    EXPECT_EQ(u11->messages.size(), 0u) << "the sender's own connection gets the ack, not the message";
    for (Peer* p : {u12, u13}) {
      EXPECT_EQ(p->messages[0].msg_id(), r.msgId);
      EXPECT_EQ(p->messages[0].msg_type(), bd::MSG_TYPE_GROUP_TEXT);
      EXPECT_EQ(p->texts[0], text);
    }
    return 0;
  });

  // User 15 is not in group 1 (users 1-10): no delivery, no ack. db_proxy refuses to store it
  // and msg_server (0, where u15 is) logs that it acks nothing, the last thing it does with it.
  Peer* member = login(4, 1);  // a group-1 member online
  Peer* u15 = login(15, 0);
  auto bad = sendAsync(u15, kGroupA, "intruder", true);
  const uint16_t badSeq = on([bad] { return bad->seq; });
  ASSERT_NE(badSeq, 0);
  EXPECT_TRUE(cluster().msgServer(0).waitForLogLines(
      {"message with seq " + std::to_string(badSeq) + " from connection #", "not stored: no ack"}))
      << cluster().msgServer(0).logTail();
  drain(member);
  drain(u12);
  on([&] {
    EXPECT_FALSE(bad->done && bad->err == RequestError::kOk) << "a non-member's group message was acked";
    EXPECT_EQ(member->messages.size(), 0u) << "a non-member's group message was delivered";
    EXPECT_EQ(u12->countFrom(15), 0u);
    return 0;
  });
}

// ---- 7. heartbeat timeout ---------------------------------------------------------------------

TEST_F(ClusterTest, SilentClientTimesOutHeartbeatingClientStays) {
  // A third msg_server with a 2 s PC client timeout.
  const size_t idx = cluster().addMsgServer("PcClientTimeout=2\n");
  const int p3 = cluster().msgServerPort(idx);
  PduClient silent, alive;
  auto r1 = rawLogin(silent, p3, 14, kPassword);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->result_code(), 0);
  auto r2 = rawLogin(alive, p3, 20, kPassword);
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->result_code(), 0);

  // The heartbeating one beats every 400 ms for at least 5 s (2.5 timeouts) and until the silent
  // one is closed (at most 20 s).
  const int64_t start = nowMs();
  int64_t closedAfter = -1;
  IM::Other::IMHeartBeat hb;
  while (nowMs() - start < 20000 && (closedAfter < 0 || nowMs() - start < 5000)) {
    ASSERT_TRUE(alive.send(tt::net::kSidOther, tt::net::kCidHeartbeat, 0, hb));
    if (closedAfter < 0 && silent.waitClosed(400)) closedAfter = nowMs() - start;
    if (closedAfter < 0) continue;
    std::this_thread::sleep_for(400ms);
  }
  EXPECT_GE(closedAfter, 0) << "a silent client was not closed";
  EXPECT_LE(closedAfter, 10000) << "closed, but not after the 2 s PcClientTimeout";
  // The heartbeating one is still served.
  IM::Message::IMClientTimeReq t;
  ASSERT_TRUE(alive.send(bd::SID_MSG, bd::CID_MSG_TIME_REQUEST, 9, t));
  auto rsp = alive.receiveCommand(bd::CID_MSG_TIME_RESPONSE);
  ASSERT_TRUE(rsp) << "the heartbeating client was closed";
  EXPECT_EQ(rsp->seq(), 9);
}

// ---- 8. route_server restart ------------------------------------------------------------------

TEST_F(ClusterTest, CrossServerChatResumesAfterRouteRestart) {
  constexpr uint32_t kAlice = 1, kBob = 2;
  Peer* alice = login(kAlice, 0);
  Peer* bob = login(kBob, 1);
  ASSERT_EQ(send(alice, kBob, "before restart").err, RequestError::kOk);
  ASSERT_TRUE(loop_.waitUntil([bob] { return bob->countFrom(kAlice) == 1; }, 20000));

  // While no route_server runs, logins are refused with NO_ROUTE_SERVER (5) and closed; asked
  // once msg_server 0 has noticed its route link go.
  const std::string routeLost =
      "route_server link route_server@127.0.0.1:" + std::to_string(cluster().routePort()) + " lost";
  const size_t lostBefore = cluster().msgServer(0).logCount(routeLost);
  ASSERT_EQ(cluster().route().stop(), 0) << "route_server did not exit 0 on SIGTERM";
  ASSERT_TRUE(cluster().msgServer(0).waitForLog(routeLost, lostBefore + 1)) << cluster().msgServer(0).logTail();
  {
    PduClient c;
    ASSERT_TRUE(c.connect(port(0)));
    IM::Login::IMLoginReq req;
    req.set_user_name(userName(5));
    req.set_password(tt::codec::md5Hex(kPassword));
    req.set_online_status(bd::USER_STATUS_ONLINE);
    req.set_client_type(bd::CLIENT_TYPE_MAC);
    ASSERT_TRUE(c.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, 3, req));
    auto res = c.receiveCommand(bd::CID_LOGIN_RES_USERLOGIN);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->as<IM::Login::IMLoginRes>().result_code(), bd::REFUSE_REASON_NO_ROUTE_SERVER);
    EXPECT_TRUE(c.waitClosed());
  }
  // ...and login_server hands out none of them: each withdrew (closed its login link) when its
  // route link went, rather than being handed to clients that it would refuse.
  auto httpCodeBecomes = [](const std::string& code) {
    const int64_t end = nowMs() + 20000;
    while (nowMs() < end) {
      if (httpGet(cluster().loginHttpPort()).find("\"code\":" + code) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  EXPECT_TRUE(httpCodeBecomes("1")) << httpGet(cluster().loginHttpPort()) << cluster().login().logTail();
  cluster().route().start(cluster().dir(), cluster().routeConf(), cluster().routePort());
  // Registered again once the route links are back.
  EXPECT_TRUE(httpCodeBecomes("0")) << httpGet(cluster().loginHttpPort()) << cluster().login().logTail();

  // msg_servers reconnect with back-off and re-send their online users; then chat works again.
  bool resumed = false;
  const int64_t deadline = nowMs() + 30000;
  for (int i = 0; !resumed && nowMs() < deadline; ++i) {
    const size_t before = on([bob] { return bob->messages.size(); });
    const SendResult r = send(alice, kBob, "ping " + std::to_string(i));
    if (r.err != RequestError::kOk) {
      std::this_thread::sleep_for(300ms);  // retry pacing while the links come back
      continue;
    }
    resumed = loop_.waitUntil([bob, before] { return bob->messages.size() > before; }, 700);
  }
  ASSERT_TRUE(resumed) << "alice -> bob never resumed after the route_server restart";
  const SendResult back = send(bob, kAlice, "pong after restart");
  ASSERT_EQ(back.err, RequestError::kOk);
  EXPECT_TRUE(loop_.waitUntil(
      [alice] { return !alice->texts.empty() && alice->texts.back() == "pong after restart"; }, 20000))
      << "bob -> alice did not resume";
  EXPECT_TRUE(on([&] { return alice->online() && bob->online(); }));
  // The new route_server rebuilt its map from the msg_servers' online lists.
  EXPECT_EQ(statusOf(bob, kAlice), bd::USER_STATUS_ONLINE);
  EXPECT_EQ(statusOf(alice, kBob), bd::USER_STATUS_ONLINE);
}

// ---- 9. garbage and commands before login -----------------------------------------------------

TEST_F(ClusterTest, GarbageAndUnauthenticatedCommandsCloseOnlyThatConnection) {
  Peer* bystander = login(3, 0);

  {  // length field below the header size
    PduClient c;
    ASSERT_TRUE(c.connect(port(0)));
    ASSERT_TRUE(c.sendRaw(rawHeader(5, bd::SID_MSG, bd::CID_MSG_DATA) + "xxxxxxxx"));
    EXPECT_TRUE(c.waitClosed()) << "bad PDU length not closed";
  }
  {  // absurd length
    PduClient c;
    ASSERT_TRUE(c.connect(port(0)));
    ASSERT_TRUE(c.sendRaw(rawHeader(0x7fffffff, bd::SID_MSG, bd::CID_MSG_DATA)));
    EXPECT_TRUE(c.waitClosed()) << "oversized PDU not closed";
  }
  {  // a command before login
    PduClient c;
    ASSERT_TRUE(c.connect(port(0)));
    IM::Message::IMUnreadMsgCntReq req;
    req.set_user_id(3);
    ASSERT_TRUE(c.send(bd::SID_MSG, bd::CID_MSG_UNREAD_CNT_REQUEST, 5, req));
    EXPECT_TRUE(c.waitClosed()) << "command before login not closed";
  }
  {  // undecodable login body
    PduClient c;
    ASSERT_TRUE(c.connect(port(1)));
    ASSERT_TRUE(c.sendRaw(rawHeader(tt::net::kPduHeaderSize + 4, bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN) +
                          "\xff\xff\xff\xff"));
    EXPECT_TRUE(c.waitClosed()) << "undecodable login not closed";
  }
  {  // logged in, then an undecodable message body
    PduClient c;
    auto res = rawLogin(c, port(0), 19, kPassword);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->result_code(), 0);
    ASSERT_TRUE(c.sendRaw(rawHeader(tt::net::kPduHeaderSize + 4, bd::SID_MSG, bd::CID_MSG_DATA) + "\xff\xff\xff\xff"));
    EXPECT_TRUE(c.waitClosed()) << "undecodable IMMsgData not closed";
  }
  // The bystander on the same server is unaffected.
  EXPECT_TRUE(on([bystander] { return bystander->online(); }));
  EXPECT_TRUE(unread(bystander).has_value()) << "the bystander is no longer served";
}

// 10. Every daemon exits 0 on SIGTERM: ClusterFixture's environment stops them all after the last
// test and fails the run otherwise.

}  // namespace
