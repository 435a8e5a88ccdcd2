// push_server, the real binary, alone: a PduClient plays msg_server, Node plays APNs (HTTP/2 over
// TLS with a self-signed certificate the test makes) and a webhook receiver (plain HTTP), and a
// small listening socket plays db_proxy to receive the token clears. Each test starts its own
// push_server and stops it with SIGTERM (exit 0 checked).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"  // pickFreeLoopbackPort
#include "proto/InternalCommands.h"
#include "push/PushPeers.h"

namespace bd = IM::BaseDefine;
using nlohmann::json;
using tt::test::DaemonProcess;
using tt::test::PduClient;
using namespace tt::test::push;

namespace {

const std::string kTokenA(64, 'a');
const std::string kTokenB = std::string(62, 'b') + "01";

// A db_proxy stand-in: accepts push_server's link and collects the PDUs it sends (heartbeats
// skipped), so a test can wait for the IMDeviceTokenReq that clears a token.
class FakeDbProxy {
 public:
  FakeDbProxy() {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listenFd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeDbProxy() {
    if (connFd_ >= 0) ::close(connFd_);
    ::close(listenFd_);
  }
  int port() const { return port_; }

  // The next IMDeviceTokenReq push_server sends, or nullopt after timeoutMs.
  std::optional<IM::Login::IMDeviceTokenReq> nextTokenReq(int timeoutMs = 20000) {
    const int64_t deadline = nowMs() + timeoutMs;
    while (nowMs() < deadline) {
      if (auto req = takeBuffered()) return req;
      const int fd = connFd_ >= 0 ? connFd_ : listenFd_;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, deadline - nowMs()))) <= 0) continue;
      if (connFd_ < 0) {
        connFd_ = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
        continue;
      }
      char buf[4096];
      const ssize_t n = ::read(connFd_, buf, sizeof buf);
      if (n <= 0) {
        ::close(connFd_);
        connFd_ = -1;
        continue;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    return std::nullopt;
  }

 private:
  std::optional<IM::Login::IMDeviceTokenReq> takeBuffered() {
    while (in_.size() >= tt::net::kPduHeaderSize) {
      const tt::net::PduHeader h = tt::net::decodeHeader(in_.data());
      if (h.length < tt::net::kPduHeaderSize || in_.size() < h.length) return std::nullopt;
      const std::string body = in_.substr(tt::net::kPduHeaderSize, h.length - tt::net::kPduHeaderSize);
      in_.erase(0, h.length);
      if (h.commandId == bd::CID_LOGIN_REQ_DEVICETOKEN) {
        IM::Login::IMDeviceTokenReq req;
        if (req.ParseFromString(body)) return req;
      }
    }
    return std::nullopt;
  }

  int listenFd_ = -1, connFd_ = -1, port_ = 0;
  std::string in_;
};

IM::Server::IMPushToUserReq pushReq(const std::string& flash, const std::string& data) {
  IM::Server::IMPushToUserReq req;
  req.set_flash(flash);
  req.set_data(data);
  return req;
}

void addToken(IM::Server::IMPushToUserReq& req, uint32_t uid, bd::ClientType type, const std::string& token,
              uint32_t badge, uint32_t pushType = 1) {
  auto* t = req.add_user_token_list();
  t->set_user_id(uid);
  t->set_user_type(type);
  t->set_token(token);
  t->set_push_count(badge);
  t->set_push_type(pushType);
}

class PushServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = tt::test::makeTempDir("tt-push-");
    peers_ = new NodePeers(dir_, tt::test::pickFreeLoopbackPort(), tt::test::pickFreeLoopbackPort());
  }
  static void TearDownTestSuite() {
    delete peers_;
    peers_ = nullptr;
    if (!std::getenv("TT_KEEP_TMP")) tt::test::removeTree(dir_);
  }

  void TearDown() override {
    if (daemon_ && daemon_->running()) {
      EXPECT_EQ(daemon_->stop(), 0) << daemon_->logTail();
    }
  }

  // Starts push_server with the given provider lines (plus common ones).
  void startPush(const std::string& extra) {
    port_ = tt::test::pickFreeLoopbackPort();
    const std::string conf = "ListenIP=127.0.0.1\nListenPort=" + std::to_string(port_) +
                             "\nDBServerIP1=127.0.0.1\nDBServerPort1=" + std::to_string(db_.port()) +
                             "\nLogLevel=debug\n" + extra;
    const std::string sub = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::mkdir(sub.c_str(), 0755);
    daemon_ = std::make_unique<DaemonProcess>(tt::test::daemonBinary("push_server"), "push_server");
    daemon_->start(sub, conf, port_);
  }

  IM::Server::IMPushToUserRsp send(PduClient& c, const IM::Server::IMPushToUserReq& req, uint16_t seq = 7) {
    EXPECT_TRUE(c.send(bd::SID_OTHER, bd::CID_OTHER_PUSH_TO_USER_REQ, seq, req));
    auto rsp = c.receiveCommand(bd::CID_OTHER_PUSH_TO_USER_RSP);
    EXPECT_TRUE(rsp.has_value()) << daemon_->logTail();
    if (!rsp) return {};
    EXPECT_EQ(rsp->seq(), seq);
    return rsp->as<IM::Server::IMPushToUserRsp>();
  }

  static std::function<bool(const json&)> apnsToken(const std::string& token) {
    return [token](const json& r) { return r.value("token", "") == token; };
  }
  static std::function<bool(const json&)> hookToken(const std::string& token) {
    return [token](const json& r) { return r.contains("body") && r["body"].is_object() && r["body"].value("token", "") == token; };
  }

  static std::string dir_;
  static NodePeers* peers_;
  FakeDbProxy db_;
  int port_ = 0;
  std::unique_ptr<DaemonProcess> daemon_;
};

std::string PushServerTest::dir_;
NodePeers* PushServerTest::peers_ = nullptr;

TEST_F(PushServerTest, ApnsDeliversAlertOverOneHttp2ConnectionWithVerifiableJwt) {
  startPush("IosProvider=apns\nAndroidProvider=none\n" + peers_->apnsConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  auto req = pushReq("Alice:hello there", R"({"msg_type":1,"from_id":1})");
  addToken(req, 2, bd::CLIENT_TYPE_IOS, kTokenA, 5);
  addToken(req, 3, bd::CLIENT_TYPE_IOS, kTokenB, 9);
  addToken(req, 4, bd::CLIENT_TYPE_ANDROID, "android-token", 1);  // no Android provider
  addToken(req, 5, bd::CLIENT_TYPE_IOS, "not-hex!", 1);          // malformed APNs token
  auto rsp = send(msg, req);
  ASSERT_EQ(rsp.push_result_list_size(), 4);
  EXPECT_EQ(rsp.push_result_list(0).user_token(), kTokenA);
  EXPECT_EQ(rsp.push_result_list(0).result_code(), 0u);
  EXPECT_EQ(rsp.push_result_list(1).result_code(), 0u);
  EXPECT_EQ(rsp.push_result_list(2).result_code(), 1u);
  EXPECT_EQ(rsp.push_result_list(3).result_code(), 1u);

  auto a = waitRecords(peers_->apnsRecords, 1, apnsToken(kTokenA));
  auto b = waitRecords(peers_->apnsRecords, 1, apnsToken(kTokenB));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  const json& r = a[0];
  EXPECT_EQ(r["method"], "POST");
  EXPECT_EQ(r["path"], "/3/device/" + kTokenA);
  EXPECT_EQ(r["topic"], "com.example.tt");
  EXPECT_EQ(r["pushType"], "alert");
  EXPECT_EQ(r["priority"], "10");
  EXPECT_GT(std::stoll(r["expiration"].get<std::string>()), static_cast<long long>(std::time(nullptr)));
  EXPECT_TRUE(r["jwt"]["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["jwt"]["sigLen"], 64);
  EXPECT_EQ(r["jwt"]["header"]["alg"], "ES256");
  EXPECT_EQ(r["jwt"]["header"]["kid"], "KEY1234567");
  EXPECT_EQ(r["jwt"]["claims"]["iss"], "TEAM123456");
  EXPECT_NEAR(r["jwt"]["claims"]["iat"].get<double>(), static_cast<double>(std::time(nullptr)), 60);
  EXPECT_EQ(r["body"]["aps"]["alert"]["title"], "Alice");
  EXPECT_EQ(r["body"]["aps"]["alert"]["body"], "hello there");
  EXPECT_EQ(r["body"]["aps"]["badge"], 5);
  EXPECT_EQ(r["body"]["aps"]["sound"], "default");
  EXPECT_EQ(r["body"]["custom"]["from_id"], 1);
  EXPECT_EQ(b[0]["body"]["aps"]["badge"], 9);
  // Both streams went over the one kept HTTP/2 connection.
  EXPECT_EQ(a[0]["session"], b[0]["session"]);

  // A later request reuses it too.
  auto req2 = pushReq("Bob:again", "{}");
  const std::string tokenC = std::string(60, 'c') + "0123";
  addToken(req2, 2, bd::CLIENT_TYPE_IOS, tokenC, 6);
  send(msg, req2, 8);
  auto c = waitRecords(peers_->apnsRecords, 1, apnsToken(tokenC));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["session"], a[0]["session"]);
  EXPECT_TRUE(waitForText(daemon_->logPath(), "push to user 2 via apns delivered"));
}

TEST_F(PushServerTest, SilentPushIsBackgroundWithBadgeOnly) {
  startPush("IosProvider=apns\n" + peers_->apnsConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  const std::string token = std::string(63, 'd') + "0";
  auto req = pushReq("Alice:quiet please", R"({"msg_type":1,"from_id":1})");
  addToken(req, 2, bd::CLIENT_TYPE_IOS, token, 3, 2);
  auto rsp = send(msg, req);
  ASSERT_EQ(rsp.push_result_list_size(), 1);
  EXPECT_EQ(rsp.push_result_list(0).result_code(), 0u);
  auto recs = waitRecords(peers_->apnsRecords, 1, apnsToken(token));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0]["pushType"], "background");
  EXPECT_EQ(recs[0]["priority"], "5");
  EXPECT_EQ(recs[0]["body"]["aps"]["content-available"], 1);
  EXPECT_EQ(recs[0]["body"]["aps"]["badge"], 3);
  EXPECT_FALSE(recs[0]["body"]["aps"].contains("alert"));
  EXPECT_FALSE(recs[0]["body"]["aps"].contains("sound"));
}

TEST_F(PushServerTest, WebhookPostsJsonBody) {
  startPush("IosProvider=none\nAndroidProvider=webhook\n" + peers_->webhookConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  auto req = pushReq("Carol:在群聊中 hi", R"({"msg_type":17,"from_id":3,"group_id":2})");
  addToken(req, 7, bd::CLIENT_TYPE_ANDROID, "fcm-token-7", 4);
  addToken(req, 8, bd::CLIENT_TYPE_IOS, kTokenA, 4);  // iOS: none
  auto rsp = send(msg, req);
  ASSERT_EQ(rsp.push_result_list_size(), 2);
  EXPECT_EQ(rsp.push_result_list(0).result_code(), 0u);
  EXPECT_EQ(rsp.push_result_list(1).result_code(), 1u);
  auto recs = waitRecords(peers_->webhookRecords, 1, hookToken("fcm-token-7"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0]["method"], "POST");
  EXPECT_EQ(recs[0]["url"], "/hook");
  EXPECT_EQ(recs[0]["contentType"], "application/json");
  const json& b = recs[0]["body"];
  EXPECT_EQ(b["user_id"], 7);
  EXPECT_EQ(b["client_type"], bd::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(b["title"], "Carol");
  EXPECT_EQ(b["body"], "在群聊中 hi");
  EXPECT_EQ(b["badge"], 4);
  EXPECT_EQ(b["silent"], false);
  EXPECT_EQ(b["data"]["group_id"], 2);
}

TEST_F(PushServerTest, InvalidTokensAreClearedThroughDbProxy) {
  startPush("IosProvider=apns\nAndroidProvider=webhook\n" + peers_->apnsConf() + peers_->webhookConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  const std::string gone = "410" + std::string(61, 'e');
  const std::string bad = "400b" + std::string(60, 'f');
  auto req = pushReq("Alice:x", "{}");
  addToken(req, 11, bd::CLIENT_TYPE_IOS, gone, 1);
  send(msg, req, 1);
  auto clear = db_.nextTokenReq();
  ASSERT_TRUE(clear.has_value()) << daemon_->logTail();
  EXPECT_EQ(clear->user_id(), 11u);
  EXPECT_EQ(clear->device_token(), "");
  EXPECT_EQ(clear->client_type(), bd::CLIENT_TYPE_IOS);
  EXPECT_EQ(clear->attach_data(), tt::internal::clearIfTokenAttachData(gone));

  auto req2 = pushReq("Alice:x", "{}");
  addToken(req2, 12, bd::CLIENT_TYPE_IOS, bad, 1);
  addToken(req2, 13, bd::CLIENT_TYPE_ANDROID, "gone-android", 1);
  send(msg, req2, 2);
  std::set<uint32_t> cleared;
  for (int i = 0; i < 2; ++i) {
    auto c = db_.nextTokenReq();
    ASSERT_TRUE(c.has_value()) << daemon_->logTail();
    cleared.insert(c->user_id());
    EXPECT_EQ(c->attach_data(), tt::internal::clearIfTokenAttachData(c->user_id() == 12 ? bad : "gone-android"));
  }
  EXPECT_EQ(cleared, (std::set<uint32_t>{12, 13}));
  // Each was tried once: an invalid token is not retried.
  EXPECT_EQ(waitRecords(peers_->apnsRecords, 1, apnsToken(gone)).size(), 1u);
}

TEST_F(PushServerTest, FailingEndpointIsRetriedWithBackoffThenDropped) {
  startPush("IosProvider=apns\nAndroidProvider=webhook\nMaxAttempts=3\nRetryBaseMs=100\n" + peers_->apnsConf() +
            peers_->webhookConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  const std::string t503 = "503" + std::string(61, '1');
  auto req = pushReq("Alice:retry me", "{}");
  addToken(req, 21, bd::CLIENT_TYPE_IOS, t503, 1);
  addToken(req, 22, bd::CLIENT_TYPE_ANDROID, "fail-22", 1);
  auto rsp = send(msg, req);
  ASSERT_EQ(rsp.push_result_list_size(), 2);
  EXPECT_EQ(rsp.push_result_list(0).result_code(), 0u);  // accepted: the failure comes later
  EXPECT_TRUE(waitForText(daemon_->logPath(), "push to user 21 via apns dropped: gave up after 3 attempts"))
      << daemon_->logTail();
  EXPECT_TRUE(waitForText(daemon_->logPath(), "push to user 22 via webhook dropped: gave up after 3 attempts"))
      << daemon_->logTail();
  auto apns = waitRecords(peers_->apnsRecords, 3, apnsToken(t503), 0);
  auto hook = waitRecords(peers_->webhookRecords, 3, hookToken("fail-22"), 0);
  EXPECT_EQ(apns.size(), 3u);
  EXPECT_EQ(hook.size(), 3u);
  EXPECT_TRUE(waitForText(daemon_->logPath(), "attempt 2 failed (503"));
}

TEST_F(PushServerTest, UnreachableEndpointIsRetriedThenDroppedWithALogLine) {
  const int deadPort = tt::test::pickFreeLoopbackPort();  // nothing listens there
  startPush("AndroidProvider=webhook\nWebhookUrl=http://127.0.0.1:" + std::to_string(deadPort) +
            "/x\nMaxAttempts=3\nRetryBaseMs=50\n");
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  auto req = pushReq("Alice:anyone?", "{}");
  addToken(req, 31, bd::CLIENT_TYPE_ANDROID, "tok-31", 1);
  EXPECT_EQ(send(msg, req).push_result_list(0).result_code(), 0u);
  EXPECT_TRUE(waitForText(daemon_->logPath(), "push to user 31 via webhook dropped: gave up after 3 attempts"))
      << daemon_->logTail();
  const std::string log = readFile(daemon_->logPath());
  EXPECT_NE(log.find("attempt 1 failed (0 connect 127.0.0.1"), std::string::npos) << log;
  EXPECT_NE(log.find("attempt 2 failed"), std::string::npos);
}

TEST_F(PushServerTest, GarbageClosesOnlyThatLink) {
  startPush("AndroidProvider=webhook\n" + peers_->webhookConf());
  PduClient good, wrongCommand, badBody, badLength;
  ASSERT_TRUE(good.connect(port_));
  ASSERT_TRUE(wrongCommand.connect(port_));
  ASSERT_TRUE(badBody.connect(port_));
  ASSERT_TRUE(badLength.connect(port_));
  IM::Server::IMRoleSet role;
  role.set_master(1);
  ASSERT_TRUE(wrongCommand.send(bd::SID_OTHER, bd::CID_OTHER_ROLE_SET, 1, role));
  EXPECT_TRUE(wrongCommand.waitClosed());
  ASSERT_TRUE(badBody.sendRaw(tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_PUSH_TO_USER_REQ, 1,
                                                 std::string_view("\xff\xff\xff", 3))));
  EXPECT_TRUE(badBody.waitClosed());
  std::string header(16, '\0');
  tt::net::PduHeader h;
  h.length = 5;  // shorter than a header
  h.serviceId = bd::SID_OTHER;
  h.commandId = bd::CID_OTHER_PUSH_TO_USER_REQ;
  tt::net::encodeHeader(h, header.data());
  ASSERT_TRUE(badLength.sendRaw(header));
  EXPECT_TRUE(badLength.waitClosed());

  // The good link still gets heartbeats echoed and answers.
  ASSERT_TRUE(good.sendRaw(tt::net::encodePdu(bd::SID_OTHER, bd::CID_OTHER_HEARTBEAT, 0, std::string_view())));
  auto req = pushReq("Alice:still here", "{}");
  addToken(req, 41, bd::CLIENT_TYPE_ANDROID, "tok-41", 1);
  EXPECT_EQ(send(good, req).push_result_list(0).result_code(), 0u);
  EXPECT_EQ(waitRecords(peers_->webhookRecords, 1, hookToken("tok-41")).size(), 1u);
}

TEST_F(PushServerTest, SigtermDrainsQueuedDeliveriesAndExitsZero) {
  // The drain ends when the queue is empty; its deadline only has to be out of reach.
  startPush("AndroidProvider=webhook\nDrainTimeoutMs=30000\n" + peers_->webhookConf());
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  auto req = pushReq("Alice:bye", "{}");
  for (int i = 0; i < 20; ++i) addToken(req, 100 + i, bd::CLIENT_TYPE_ANDROID, "drain-" + std::to_string(i), 1);
  send(msg, req);
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->logTail();
  // Everything accepted was delivered before exit.
  EXPECT_EQ(waitRecords(peers_->webhookRecords, 20, [](const json& r) {
              return r["body"].is_object() && r["body"].value("token", "").rfind("drain-", 0) == 0;
            }, 0).size(), 20u);
  EXPECT_TRUE(msg.waitClosed());
}

TEST_F(PushServerTest, FullQueueRefusesAndShutdownReportsWhatIsLeft) {
  const int deadPort = tt::test::pickFreeLoopbackPort();
  startPush("AndroidProvider=webhook\nWebhookUrl=http://127.0.0.1:" + std::to_string(deadPort) +
            "/x\nQueueSize=1\nMaxAttempts=5\nRetryBaseMs=60000\nDrainTimeoutMs=200\n");
  PduClient msg;
  ASSERT_TRUE(msg.connect(port_));
  auto first = pushReq("Alice:one", "{}");
  addToken(first, 51, bd::CLIENT_TYPE_ANDROID, "tok-51", 1);
  EXPECT_EQ(send(msg, first).push_result_list(0).result_code(), 0u);
  // The failed first attempt waits a minute for its retry, still holding the only queue slot.
  ASSERT_TRUE(waitForText(daemon_->logPath(), "push to user 51 via webhook: attempt 1 failed")) << daemon_->logTail();
  auto second = pushReq("Alice:two", "{}");
  addToken(second, 52, bd::CLIENT_TYPE_ANDROID, "tok-52", 1);
  auto rsp = send(msg, second, 9);
  ASSERT_EQ(rsp.push_result_list_size(), 1);
  EXPECT_EQ(rsp.push_result_list(0).result_code(), 1u);
  EXPECT_TRUE(waitForText(daemon_->logPath(), "user 52: webhook queue full"));
  // SIGTERM does not wait a minute for the retry: it is reported as dropped and the exit is clean.
  const int64_t t0 = nowMs();
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->logTail();
  EXPECT_LT(nowMs() - t0, 5000);
  EXPECT_NE(readFile(daemon_->logPath()).find("push to user 51 via webhook dropped: dropped at shutdown after 1 attempts"),
            std::string::npos)
      << daemon_->logTail();
}

// Start-up refuses a bad provider configuration with one line naming the key and the file.
TEST_F(PushServerTest, BadProviderConfigStopsStartup) {
  const std::string sub = dir_ + "/badconf";
  ::mkdir(sub.c_str(), 0755);
  auto run = [&](const std::string& conf) {
    const std::string path = sub + "/pushserver.conf";
    std::ofstream(path) << "ListenIP=127.0.0.1\nListenPort=" << tt::test::pickFreeLoopbackPort() << "\n" << conf;
    const std::string cmd = tt::test::daemonBinary("push_server") + " -c " + path + " >" + sub + "/out.txt 2>&1";
    const int status = std::system(cmd.c_str());
    return std::make_pair(WEXITSTATUS(status), readFile(sub + "/out.txt"));
  };
  auto [code, out] = run("IosProvider=apns\nApnsKeyId=K\nApnsTeamId=T\nApnsTopic=x\n");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("ApnsKeyFile"), std::string::npos) << out;
  EXPECT_NE(out.find("pushserver.conf"), std::string::npos) << out;
  std::tie(code, out) = run("AndroidProvider=carrier-pigeon\n");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("AndroidProvider"), std::string::npos) << out;
  std::tie(code, out) = run("IosProvider=apns\nApnsKeyFile=" + sub + "/missing.p8\nApnsKeyId=K\nApnsTeamId=T\nApnsTopic=x\n");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("missing.p8"), std::string::npos) << out;
  std::tie(code, out) = run("AndroidProvider=webhook\nWebhookUrl=ftp://x/\n");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("WebhookUrl"), std::string::npos) << out;
  // The shipped conf starts (no providers, no Apple keys needed).
  EXPECT_NE(readFile(std::string(TT_SOURCE_DIR) + "/conf/pushserver.conf").find("IosProvider=none"), std::string::npos);
}

}  // namespace
