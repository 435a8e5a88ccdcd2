// login_server against the real binary: fake msg_servers register on the msg_server port (PduClient),
// clients ask over HTTP (a raw socket, so partial, pipelined and malformed requests can be sent)
// and over the legacy TCP path. Each test starts its own daemon on free loopback ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Other.pb.h"
#include "IM.Server.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"
#include "netlib/ImPdu.h"

namespace tt::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A blocking TCP socket with a receive buffer: enough to speak HTTP or raw PDUs byte by byte.
class RawClient {
 public:
  ~RawClient() { close(); }

  bool connect(int port) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
    eof_ = false;
  }

  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads whatever arrives before the deadline into the buffer; false on timeout or EOF.
  bool fill(int64_t deadline) {
    if (eof_) return false;
    const int64_t left = deadline - nowMs();
    if (left <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
    char tmp[4096];
    const ssize_t k = ::recv(fd_, tmp, sizeof tmp, 0);
    if (k <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(k));
    return true;
  }

  struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    }
  };

  // Minimal parse: status line, headers up to the blank line, Content-Length bytes of body.
  std::optional<HttpResponse> readHttp(int timeoutMs = 15000) {
    const int64_t deadline = nowMs() + timeoutMs;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    HttpResponse r;
    std::istringstream head(buf_.substr(0, end));
    std::string line;
    std::getline(head, line);
    if (line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    r.status = std::atoi(line.c_str() + 9);
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    const std::string cl = r.header("content-length");
    if (cl.empty()) return std::nullopt;
    const size_t len = std::stoul(cl);
    while (buf_.size() < end + 4 + len) {
      if (!fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(end + 4, len);
    buf_.erase(0, end + 4 + len);
    return r;
  }

  // Next whole PDU (heartbeats included).
  std::optional<ReceivedPdu> readPdu(int timeoutMs = 15000) {
    const int64_t deadline = nowMs() + timeoutMs;
    while (buf_.size() < net::kPduHeaderSize) {
      if (!fill(deadline)) return std::nullopt;
    }
    ReceivedPdu p;
    p.header = net::decodeHeader(buf_.data());
    if (p.header.length < net::kPduHeaderSize) return std::nullopt;
    while (buf_.size() < p.header.length) {
      if (!fill(deadline)) return std::nullopt;
    }
    p.body = buf_.substr(net::kPduHeaderSize, p.header.length - net::kPduHeaderSize);
    buf_.erase(0, p.header.length);
    return p;
  }

  // true if the peer closes within timeoutMs (bytes it sends first are kept in the buffer).
  bool waitClosed(int timeoutMs = 15000) {
    const int64_t deadline = nowMs() + timeoutMs;
    while (!eof_) {
      if (!fill(deadline) && !eof_) return false;
    }
    return true;
  }
  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

std::string getRequest(const std::string& path = "/msg_server", const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

IM::Server::IMMsgServInfo serverInfo(const std::string& ip1, const std::string& ip2, uint32_t port, uint32_t max,
                                     uint32_t cur, const std::string& host) {
  IM::Server::IMMsgServInfo m;
  m.set_ip1(ip1);
  m.set_ip2(ip2);
  m.set_port(port);
  m.set_max_conn_cnt(max);
  m.set_cur_conn_cnt(cur);
  m.set_host_name(host);
  return m;
}

class LoginServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (daemon_.running()) {
      const int rc = daemon_.stop();
      EXPECT_EQ(rc, 0) << daemon_.logTail();
    }
    removeTree(dir_);
  }

  std::string conf(int msgServerTimeout, int httpIdle) const {
    return "ClientListenIP=127.0.0.1\nClientPort=" + std::to_string(clientPort_) +
           "\nHttpListenIP=127.0.0.1\nHttpPort=" + std::to_string(httpPort_) +
           "\nMsgServerListenIP=127.0.0.1\nMsgServerPort=" + std::to_string(msgPort_) +
           "\nmsfs=http://msfs.example:8700/\ndiscovery=http://example/api/discovery\n"
           "MsgServerTimeout=" + std::to_string(msgServerTimeout) +
           "\nHttpIdleTimeout=" + std::to_string(httpIdle) + "\nLogLevel=debug\n";
  }

  void start(int msgServerTimeout = 30, int httpIdle = 60) {
    dir_ = makeTempDir("ttlogin");
    clientPort_ = pickFreeLoopbackPort();
    httpPort_ = pickFreeLoopbackPort();
    msgPort_ = pickFreeLoopbackPort();
    // The legacy client port is opened last, so once it answers all three are up.
    daemon_.start(dir_, conf(msgServerTimeout, httpIdle), clientPort_);
  }

  // One GET /msg_server on a fresh connection; the JSON body.
  json ask() {
    RawClient c;
    if (!c.connect(httpPort_)) return json();
    c.send(getRequest());
    auto r = c.readHttp();
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  // Asks until pred holds (registrations travel on another connection, so the daemon may see
  // them a moment after the test sent them). Returns the last answer.
  json askUntil(const std::function<bool(const json&)>& pred, int timeoutMs = 20000) {
    const int64_t deadline = nowMs() + timeoutMs;
    json j;
    do {
      j = ask();
      if (j.is_object() && pred(j)) return j;
      std::this_thread::sleep_for(20ms);
    } while (nowMs() < deadline);
    return j;
  }
  static std::function<bool(const json&)> portIs(const std::string& port) {
    return [port](const json& j) { return j.value("code", -1) == 0 && j.value("port", "") == port; };
  }
  static std::function<bool(const json&)> codeIs(int code) {
    return [code](const json& j) { return j.value("code", -1) == code; };
  }

  // Registers a fake msg_server and waits until it is the one handed out (so register the busier
  // ones first).
  void registerServer(PduClient& link, const IM::Server::IMMsgServInfo& info) {
    ASSERT_TRUE(link.connect(msgPort_));
    ASSERT_TRUE(link.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_MSG_SERV_INFO, 0, info));
    const std::string port = std::to_string(info.port());
    ASSERT_TRUE(portIs(port)(askUntil(portIs(port)))) << "msg_server on port " << port << " never handed out";
  }

  void userCnt(PduClient& link, uint32_t action, uint32_t uid) {
    IM::Server::IMUserCntUpdate u;
    u.set_user_action(action);
    u.set_user_id(uid);
    ASSERT_TRUE(link.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_USER_CNT_UPDATE, 0, u));
  }

  std::optional<IM::Login::IMMsgServRsp> legacyAsk(uint16_t seq) {
    PduClient c;
    if (!c.connect(clientPort_)) return std::nullopt;
    IM::Login::IMMsgServReq req;
    c.send(IM::BaseDefine::SID_LOGIN, IM::BaseDefine::CID_LOGIN_REQ_MSGSERVER, seq, req);
    auto pdu = c.receive();
    if (!pdu || pdu->commandId() != IM::BaseDefine::CID_LOGIN_RES_MSGSERVER || pdu->seq() != seq) return std::nullopt;
    EXPECT_TRUE(c.waitClosed()) << "the legacy path closes after its answer";
    return pdu->as<IM::Login::IMMsgServRsp>();
  }

  DaemonProcess daemon_{daemonBinary("login_server"), "login_server"};
  std::string dir_;
  int clientPort_ = 0;
  int httpPort_ = 0;
  int msgPort_ = 0;
};

// ---- choosing a msg_server ----

TEST_F(LoginServerTest, NoMsgServerAnswersCode1WithOriginalHeaders) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  ASSERT_TRUE(c.send(getRequest()));
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/html;charset=utf-8");
  EXPECT_EQ(r->header("connection"), "keep-alive");
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  json j = json::parse(r->body);
  EXPECT_EQ(j["code"], 1);
  EXPECT_EQ(j["msg"], "没有msg_server");
}

TEST_F(LoginServerTest, PicksTheRegisteredServerWithFewestUsers) {
  start();
  PduClient a, b;
  registerServer(a, serverInfo("10.0.0.1", "20.0.0.1", 8001, 100, 5, "ms-a"));
  ASSERT_NO_FATAL_FAILURE(registerServer(b, serverInfo("10.0.0.2", "20.0.0.2", 8002, 100, 3, "ms-b")));
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  ASSERT_TRUE(c.send(getRequest()));
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  json j = json::parse(r->body);  // throws (fails the test) if it is not JSON
  EXPECT_EQ(j["code"], 0);
  EXPECT_EQ(j["msg"], "");
  ASSERT_TRUE(j["port"].is_string()) << r->body;
  EXPECT_EQ(j["port"], "8002");
  // An IPv4 client gets ip1 first.
  EXPECT_EQ(j["priorIP"], "10.0.0.2");
  EXPECT_EQ(j["backupIP"], "20.0.0.2");
  EXPECT_EQ(j["msfsPrior"], "http://msfs.example:8700/");
  EXPECT_EQ(j["msfsBackup"], "http://msfs.example:8700/");
  EXPECT_EQ(j["discovery"], "http://example/api/discovery");
}

TEST_F(LoginServerTest, UserCountUpdatesMoveTheChoice) {
  start();
  PduClient a, b;
  registerServer(b, serverInfo("10.0.0.2", "10.0.0.2", 8002, 100, 4, "ms-b"));
  ASSERT_NO_FATAL_FAILURE(registerServer(a, serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 3, "ms-a")));
  EXPECT_EQ(askUntil(portIs("8001"))["port"], "8001");  // 3 < 4
  userCnt(a, 1, 1001);
  userCnt(a, 1, 1002);  // a: 5
  EXPECT_EQ(askUntil(portIs("8002"))["port"], "8002");
  userCnt(b, 1, 2001);
  userCnt(b, 1, 2002);  // b: 6
  EXPECT_EQ(askUntil(portIs("8001"))["port"], "8001");
  userCnt(b, 2, 2001);
  userCnt(b, 2, 2002);
  userCnt(b, 2, 2003);  // b: 3
  EXPECT_EQ(askUntil(portIs("8002"))["port"], "8002");
}

TEST_F(LoginServerTest, LogoutNeverTakesTheCountBelowZero) {
  start();
  PduClient a;
  registerServer(a, serverInfo("10.0.0.1", "10.0.0.1", 8001, 2, 0, "ms-a"));
  // 0 -3 (stays 0) +2 = 2 = max: full. One logout later there is room again. A counter that
  // wrapped below zero would stay "full" for good.
  for (uint32_t uid : {1u, 2u, 3u}) userCnt(a, 2, uid);
  userCnt(a, 1, 4);
  userCnt(a, 1, 5);
  EXPECT_EQ(askUntil(codeIs(2))["code"], 2);
  userCnt(a, 2, 4);
  EXPECT_EQ(askUntil(codeIs(0))["port"], "8001");
}

TEST_F(LoginServerTest, AllFullAnswersCode2) {
  start();
  PduClient a;
  ASSERT_TRUE(a.connect(msgPort_));
  ASSERT_TRUE(a.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_MSG_SERV_INFO, 0,
                     serverInfo("10.0.0.1", "10.0.0.1", 8001, 2, 2, "ms-a")));
  json j = askUntil(codeIs(2));
  EXPECT_EQ(j["code"], 2);
  EXPECT_EQ(j["msg"], "负载过高");
  auto rsp = legacyAsk(7);
  ASSERT_TRUE(rsp);
  EXPECT_EQ(rsp->result_code(), IM::BaseDefine::REFUSE_REASON_MSG_SERVER_FULL);
  userCnt(a, 2, 1);  // a user leaves: room again
  EXPECT_EQ(askUntil(portIs("8001"))["code"], 0);
}

TEST_F(LoginServerTest, AMsgServerThatDisconnectsIsDroppedAtOnce) {
  start();
  PduClient a, b;
  registerServer(b, serverInfo("10.0.0.2", "10.0.0.2", 8002, 100, 50, "ms-b"));
  ASSERT_NO_FATAL_FAILURE(registerServer(a, serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 1, "ms-a")));
  EXPECT_EQ(askUntil(portIs("8001"))["port"], "8001");
  // "At once": well within the 30 s MsgServerTimeout that would also drop a silent link.
  a.close();
  EXPECT_EQ(askUntil(portIs("8002"), 10000)["port"], "8002");
  b.close();
  EXPECT_EQ(askUntil(codeIs(1), 10000)["code"], 1);
}

TEST_F(LoginServerTest, RegistrationIsUpdatedByALaterServInfoOnTheSameLink) {
  start();
  PduClient a, b;
  registerServer(b, serverInfo("10.0.0.2", "10.0.0.2", 8002, 100, 10, "ms-b"));
  ASSERT_NO_FATAL_FAILURE(registerServer(a, serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 1, "ms-a")));
  // a re-announces itself with 20 users: one entry updated, not a second entry.
  ASSERT_TRUE(a.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_MSG_SERV_INFO, 0,
                     serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 20, "ms-a")));
  EXPECT_EQ(askUntil(portIs("8002"))["port"], "8002");
  b.close();
  EXPECT_EQ(askUntil(portIs("8001"))["port"], "8001");
}

TEST_F(LoginServerTest, ASilentMsgServerIsDroppedAfterTheTimeoutAndAHeartbeatingOneIsKept) {
  start(/*msgServerTimeout=*/2);
  PduClient silent, alive;
  registerServer(alive, serverInfo("10.0.0.2", "10.0.0.2", 8002, 100, 9, "alive"));
  ASSERT_NO_FATAL_FAILURE(registerServer(silent, serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 1, "silent")));
  const int64_t t0 = nowMs();
  EXPECT_EQ(ask()["port"], "8001");
  IM::Other::IMHeartBeat hb;
  bool sawSilentDropped = false;
  while (nowMs() - t0 < 20000) {
    alive.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_HEARTBEAT, 0, hb);
    json j = ask();
    if (j.value("port", "") == "8002") {
      sawSilentDropped = true;
      EXPECT_GE(nowMs() - t0, 1500) << "dropped before the 2 s timeout";
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(sawSilentDropped) << "the silent msg_server is still handed out";
  EXPECT_TRUE(silent.waitClosed()) << "its link is closed";
  // The one that heartbeats outlives the timeout several times over.
  for (int i = 0; i < 10; ++i) {
    alive.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_HEARTBEAT, 0, hb);
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(ask()["port"], "8002");
}

TEST_F(LoginServerTest, SendsItsOwnHeartbeatToAnIdleMsgServerLink) {
  start();
  RawClient link;
  ASSERT_TRUE(link.connect(msgPort_));
  ASSERT_TRUE(link.send(net::encodePdu(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_MSG_SERV_INFO, 0,
                                       serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 0, "ms"))));
  const int64_t t0 = nowMs();
  auto pdu = link.readPdu(20000);
  ASSERT_TRUE(pdu) << "no heartbeat within 20 s";
  EXPECT_EQ(pdu->commandId(), IM::BaseDefine::CID_OTHER_HEARTBEAT);
  EXPECT_TRUE(pdu->body.empty());
  EXPECT_GE(nowMs() - t0, 3500) << "heartbeats are only sent after 5 s idle";
}

TEST_F(LoginServerTest, MsgServerLinkDropsUnknownCommandsAndClosesOnUnparsableBodies) {
  start();
  PduClient link;
  ASSERT_TRUE(link.connect(msgPort_));
  // An unknown command is logged and dropped; the link stays usable.
  IM::Server::IMUserCntUpdate u;
  u.set_user_action(1);
  u.set_user_id(1);
  ASSERT_TRUE(link.send(IM::BaseDefine::SID_OTHER, 0x0799, 0, u));
  ASSERT_TRUE(link.send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_MSG_SERV_INFO, 0,
                        serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 0, "ms")));
  EXPECT_EQ(askUntil(portIs("8001"))["port"], "8001");
  // A body missing required fields closes the link, which drops its registration.
  ASSERT_TRUE(link.sendRaw(net::encodePdu(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_USER_CNT_UPDATE, 0,
                                          std::string("\x08\x01", 2))));
  EXPECT_TRUE(link.waitClosed());
  EXPECT_EQ(askUntil(codeIs(1))["code"], 1);
  // So does a frame with an impossible length.
  PduClient bad;
  ASSERT_TRUE(bad.connect(msgPort_));
  ASSERT_TRUE(bad.sendRaw(std::string("\x00\x00\x00\x05\x00\x01\x00\x00\x00\x07\x07\x01\x00\x00\x00\x00", 16)));
  EXPECT_TRUE(bad.waitClosed());
}

// ---- HTTP framing ----

TEST_F(LoginServerTest, KeepAliveConnectionAnswersSeveralRequests) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(getRequest()));
    auto r = c.readHttp();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    EXPECT_EQ(json::parse(r->body)["code"], 1);
  }
  // The connection stays open: a POST on it is answered too (accepted like GET, as the
  // original answered any method).
  ASSERT_TRUE(c.send("POST /msg_server HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(LoginServerTest, ARequestArrivingByteByByteIsAnswered) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  const std::string req = getRequest("/msg_server?client=android", "User-Agent: slow\r\n");
  for (char ch : req) {
    ASSERT_TRUE(c.send(std::string(1, ch)));
    std::this_thread::sleep_for(2ms);
  }
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["code"], 1);
}

TEST_F(LoginServerTest, PipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsHonoured) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  ASSERT_TRUE(c.send(getRequest() + getRequest("/nope") + "PUT /msg_server HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" +
                     getRequest("/msg_server", "Connection: close\r\n") + getRequest()));
  auto r1 = c.readHttp();
  auto r2 = c.readHttp();
  auto r3 = c.readHttp();
  auto r4 = c.readHttp();
  ASSERT_TRUE(r1 && r2 && r3 && r4);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r2->status, 404);
  EXPECT_EQ(r3->status, 405);
  EXPECT_EQ(r3->header("allow"), "GET, POST");
  EXPECT_EQ(r4->status, 200);
  EXPECT_EQ(r4->header("connection"), "close");
  // The request after "Connection: close" is not answered; the connection ends.
  EXPECT_TRUE(c.waitClosed());
  EXPECT_TRUE(c.buffered().empty()) << c.buffered();
}

TEST_F(LoginServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  ASSERT_TRUE(c.send("GET /msg_server HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /msg_server HTTP/1.0\r\n\r\n"));
  r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(LoginServerTest, OversizeRequestsGet400AndAreClosed) {
  start();
  // Headers over 1 KiB in one piece.
  {
    RawClient c;
    ASSERT_TRUE(c.connect(httpPort_));
    ASSERT_TRUE(c.send(getRequest("/msg_server", "X-Pad: " + std::string(1100, 'a') + "\r\n")));
    auto r = c.readHttp();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.waitClosed());
  }
  // A header that never ends: refused once 1 KiB has arrived, without waiting for the end.
  {
    RawClient c;
    ASSERT_TRUE(c.connect(httpPort_));
    ASSERT_TRUE(c.send("GET /msg_server HTTP/1.1\r\nX-Pad: " + std::string(1100, 'b')));
    auto r = c.readHttp();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.waitClosed());
  }
  // A body that takes the request over 1 KiB.
  {
    RawClient c;
    ASSERT_TRUE(c.connect(httpPort_));
    ASSERT_TRUE(c.send("POST /msg_server HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'c')));
    auto r = c.readHttp();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.waitClosed());
  }
  // The limit is per request: a second request on a keep-alive connection starts from zero.
  {
    RawClient c;
    ASSERT_TRUE(c.connect(httpPort_));
    const std::string pad = "X-Pad: " + std::string(700, 'd') + "\r\n";
    ASSERT_TRUE(c.send(getRequest("/msg_server", pad) + getRequest("/msg_server", pad)));
    auto r1 = c.readHttp();
    auto r2 = c.readHttp();
    ASSERT_TRUE(r1 && r2);
    EXPECT_EQ(r1->status, 200);
    EXPECT_EQ(r2->status, 200);
  }
  EXPECT_EQ(ask()["code"], 1) << "the server still answers others";
}

TEST_F(LoginServerTest, GarbageGets400AndIsClosedWhileOthersAreServed) {
  start();
  RawClient other;
  ASSERT_TRUE(other.connect(httpPort_));
  RawClient c;
  ASSERT_TRUE(c.connect(httpPort_));
  ASSERT_TRUE(c.send("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n"));
  auto r = c.readHttp();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.waitClosed());
  // Garbage after a good request on the same connection: the good one is answered first.
  RawClient d;
  ASSERT_TRUE(d.connect(httpPort_));
  ASSERT_TRUE(d.send(getRequest() + "BLAH BLAH\r\n\r\n"));
  auto ok = d.readHttp();
  auto bad = d.readHttp();
  ASSERT_TRUE(ok && bad);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(d.waitClosed());
  ASSERT_TRUE(other.send(getRequest()));
  auto o = other.readHttp();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, 200);
}

TEST_F(LoginServerTest, IdleHttpConnectionsAreClosed) {
  start(30, /*httpIdle=*/1);
  RawClient idle, partial;
  ASSERT_TRUE(idle.connect(httpPort_));
  ASSERT_TRUE(partial.connect(httpPort_));
  ASSERT_TRUE(partial.send("GET /msg_server HTTP/1.1\r\n"));
  // HttpIdleTimeout=1: closed long before the 60 s default would.
  EXPECT_TRUE(idle.waitClosed(20000));
  EXPECT_TRUE(partial.waitClosed(20000));
}

// ---- legacy TCP path ----

TEST_F(LoginServerTest, LegacyTcpPathAnswersAndCloses) {
  start();
  auto none = legacyAsk(42);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->result_code(), IM::BaseDefine::REFUSE_REASON_NO_MSG_SERVER);
  EXPECT_FALSE(none->has_prior_ip());

  PduClient a;
  registerServer(a, serverInfo("10.0.0.1", "20.0.0.1", 8001, 100, 0, "ms-a"));
  auto ok = legacyAsk(43);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_code(), IM::BaseDefine::REFUSE_REASON_NONE);
  EXPECT_EQ(ok->prior_ip(), "10.0.0.1");
  EXPECT_EQ(ok->backip_ip(), "20.0.0.1");
  EXPECT_EQ(ok->port(), 8001u);
}

TEST_F(LoginServerTest, LegacyTcpPathEchoesHeartbeatsAndClosesOnOtherCommands) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(clientPort_));
  const std::string hb = net::encodePdu(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_HEARTBEAT, 9, std::string_view());
  ASSERT_TRUE(c.send(hb));
  auto echo = c.readPdu();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->commandId(), IM::BaseDefine::CID_OTHER_HEARTBEAT);
  EXPECT_EQ(echo->seq(), 9);
  // Still open after the heartbeat: a second one is echoed as well.
  const std::string hb2 = net::encodePdu(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_HEARTBEAT, 10, std::string_view());
  ASSERT_TRUE(c.send(hb2));
  auto echo2 = c.readPdu();
  ASSERT_TRUE(echo2) << "the legacy connection closed after a heartbeat";
  EXPECT_EQ(echo2->seq(), 10);
  // A login request does not belong here.
  IM::Login::IMLoginReq login;
  login.set_user_name("u");
  login.set_password("p");
  login.set_online_status(IM::BaseDefine::USER_STATUS_ONLINE);
  login.set_client_type(IM::BaseDefine::CLIENT_TYPE_WINDOWS);
  ASSERT_TRUE(c.send(net::encodePdu(IM::BaseDefine::SID_LOGIN, IM::BaseDefine::CID_LOGIN_REQ_USERLOGIN, 1, login)));
  EXPECT_TRUE(c.waitClosed());
}

// ---- process ----

TEST_F(LoginServerTest, SigtermWithOpenConnectionsExitsZero) {
  start();
  PduClient ms;
  registerServer(ms, serverInfo("10.0.0.1", "10.0.0.1", 8001, 100, 0, "ms"));
  RawClient http, legacy;
  // Both connections are known to the daemon before SIGTERM: each got an answer first.
  ASSERT_TRUE(http.connect(httpPort_));
  ASSERT_TRUE(http.send(getRequest()));
  ASSERT_TRUE(http.readHttp());
  ASSERT_TRUE(http.send("GET /msg_ser"));  // then half a request
  ASSERT_TRUE(legacy.connect(clientPort_));
  ASSERT_TRUE(legacy.send(net::encodePdu(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_HEARTBEAT, 1, std::string_view())));
  ASSERT_TRUE(legacy.readPdu());
  EXPECT_EQ(daemon_.stop(15000), 0) << daemon_.logTail();
  EXPECT_TRUE(ms.waitClosed());
  EXPECT_TRUE(http.waitClosed());
  EXPECT_TRUE(legacy.waitClosed());
}

TEST(LoginServerConfig, MissingKeyStopsStartUpNamingKeyAndFile) {
  const std::string dir = makeTempDir("ttloginconf");
  const std::string confPath = dir + "/loginserver.conf";
  {
    std::ofstream out(confPath);
    out << "ClientListenIP=127.0.0.1\nHttpListenIP=127.0.0.1\nMsgServerListenIP=127.0.0.1\n"
           "discovery=http://x/\n";  // msfs missing
  }
  const std::string cmd = "'" + daemonBinary("login_server") + "' -c '" + confPath + "' > '" + dir + "/out' 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(dir + "/out");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("msfs"), std::string::npos) << out;
  EXPECT_NE(out.find("loginserver.conf"), std::string::npos) << out;
  {
    std::ofstream o(confPath);
    o << "ClientListenIP=127.0.0.1\nHttpListenIP=127.0.0.1\nMsgServerListenIP=127.0.0.1\nmsfs=a\ndiscovery=b\n"
         "HttpPort=http\n";
  }
  const int status2 = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status2));
  EXPECT_EQ(WEXITSTATUS(status2), 2);
  std::ifstream in2(dir + "/out");
  const std::string out2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_NE(out2.find("HttpPort"), std::string::npos) << out2;
  removeTree(dir);
}

}  // namespace
}  // namespace tt::test
