// login_server's GET /msg_server (docs/PROTOCOL.md §3.1): URL and request text, the incremental HTTP
// response reader fed 1 byte at a time, the JSON answer, and the asynchronous lookup over loopback.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/Time.h"
#include "tests/net/NetTestUtil.h"
#include "netlib/Buffer.h"
#include "netlib/EventDispatch.h"
#include "netlib/InetAddress.h"
#include "netlib/TcpConnection.h"
#include "netlib/TcpServer.h"
#include "tools/client/LoginHttp.h"

using namespace tt::client;
using tt::net::EventDispatch;
using tt::net::InetAddress;
using Status = HttpResponseReader::Status;

namespace {

const std::string kJsonOk =
    "{\n   \"backupIP\" : \"10.0.0.2\",\n   \"code\" : 0,\n   \"discovery\" : \"http://127.0.0.1/api/discovery\",\n"
    "   \"msfsBackup\" : \"http://127.0.0.1:8700/\",\n   \"msfsPrior\" : \"http://127.0.0.1:8700/\",\n"
    "   \"msg\" : \"\",\n   \"port\" : \"8000\",\n   \"priorIP\" : \"10.0.0.1\"\n}\n";

std::string response(const std::string& body, const std::string& connection) {
  return "HTTP/1.1 200 OK\r\nConnection:" + connection + "\r\nContent-Length:" + std::to_string(body.size()) +
         "\r\nContent-Type:text/html;charset=utf-8\r\n\r\n" + body;
}

// Feeds one byte at a time; returns the status after the last byte, and checks that completion is
// not reported early.
Status feedBytewise(HttpResponseReader& r, const std::string& bytes, size_t completeAt) {
  Status st = Status::kNeedMore;
  for (size_t i = 0; i < bytes.size(); ++i) {
    st = r.feed(bytes.data() + i, 1);
    if (i + 1 < completeAt) {
      EXPECT_EQ(st, Status::kNeedMore) << "byte " << i;
    }
  }
  return st;
}

}  // namespace

TEST(LoginUrl, ParsesTheUsualForms) {
  std::string err;
  auto a = parseLoginUrl("http://127.0.0.1:8080", &err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->path, "/msg_server");
  auto b = parseLoginUrl("http://login.example:9000/msg_server?x=1", &err);
  ASSERT_TRUE(b) << err;
  EXPECT_EQ(b->host, "login.example");
  EXPECT_EQ(b->port, 9000);
  EXPECT_EQ(b->path, "/msg_server?x=1");
  auto c = parseLoginUrl("10.1.2.3", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->port, 8080);
  EXPECT_FALSE(parseLoginUrl("https://x:1", &err));
  EXPECT_FALSE(parseLoginUrl("http://x:0", &err));
  EXPECT_FALSE(parseLoginUrl("http://x:99999", &err));
  EXPECT_FALSE(parseLoginUrl("http://:80", &err));
}

TEST(LoginHttp, RequestIsOneSmallGet) {
  const std::string r = buildMsgServerRequest("127.0.0.1:8080");
  EXPECT_EQ(r.rfind("GET /msg_server HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
  EXPECT_LE(r.size(), 1024u);  // login_server closes on longer requests
}

TEST(HttpResponseReader, CloseVariantOneByteAtATime) {
  const std::string bytes = response(kJsonOk, "close");
  HttpResponseReader r;
  EXPECT_EQ(feedBytewise(r, bytes, bytes.size()), Status::kComplete);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_FALSE(r.keepAlive());
  EXPECT_EQ(r.body(), kJsonOk);
  std::string err;
  auto info = parseMsgServerJson(r.body(), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->code, 0);
  EXPECT_EQ(info->priorIP, "10.0.0.1");
  EXPECT_EQ(info->backupIP, "10.0.0.2");
  EXPECT_EQ(info->port, 8000);
}

TEST(HttpResponseReader, KeepAliveVariantCompletesAtContentLengthAndIgnoresWhatFollows) {
  const std::string bytes = response(kJsonOk, "keep-alive") + "HTTP/1.1 500 Oops\r\n\r\n";
  HttpResponseReader r;
  const size_t end = response(kJsonOk, "keep-alive").size();
  Status st = Status::kNeedMore;
  for (size_t i = 0; i < bytes.size(); ++i) {
    st = r.feed(bytes.data() + i, 1);
    ASSERT_EQ(st, i + 1 < end ? Status::kNeedMore : Status::kComplete) << i;
  }
  EXPECT_TRUE(r.keepAlive());
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.body(), kJsonOk);
}

TEST(HttpResponseReader, BodyDelimitedByCloseNeedsFinish) {
  const std::string bytes = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + kJsonOk;
  HttpResponseReader r;
  EXPECT_EQ(feedBytewise(r, bytes, bytes.size() + 1), Status::kNeedMore);
  EXPECT_EQ(r.finish(), Status::kComplete);
  EXPECT_EQ(r.body(), kJsonOk);
}

TEST(HttpResponseReader, ChunkedBody) {
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"cod\r\n9\r\ne\":1,\"m\":\r\n3\r\n\"\"}\r\n0\r\n\r\n";
  HttpResponseReader r;
  EXPECT_EQ(feedBytewise(r, bytes, bytes.size()), Status::kComplete);
  EXPECT_EQ(r.body(), "{\"code\":1,\"m\":\"\"}");
}

TEST(HttpResponseReader, TruncatedGarbageAndOversizeAreErrors) {
  {
    HttpResponseReader r;
    const std::string bytes = response(kJsonOk, "close");
    EXPECT_EQ(r.feed(bytes.substr(0, bytes.size() - 3)), Status::kNeedMore);
    EXPECT_EQ(r.finish(), Status::kError);
    EXPECT_FALSE(r.error().empty());
  }
  {
    HttpResponseReader r;
    EXPECT_EQ(r.feed("SSH-2.0-OpenSSH_9.2\r\n"), Status::kError);
  }
  {
    HttpResponseReader r;
    EXPECT_EQ(r.finish(), Status::kError);  // closed before anything arrived
  }
  {
    HttpResponseReader r(16);
    EXPECT_EQ(r.feed(response(std::string(100, 'x'), "close")), Status::kError);
    EXPECT_NE(r.error().find("larger"), std::string::npos);
  }
}

TEST(MsgServerJson, RefusalsCarryCodeAndMessage) {
  std::string err;
  auto none = parseMsgServerJson("{\"code\":1,\"msg\":\"没有msg_server\"}", &err);
  ASSERT_TRUE(none) << err;
  EXPECT_EQ(none->code, 1);
  EXPECT_EQ(none->msg, "没有msg_server");
  auto full = parseMsgServerJson("{\n   \"code\" : 2,\n   \"msg\" : \"负载过高\"\n}\n", &err);
  ASSERT_TRUE(full) << err;
  EXPECT_EQ(full->code, 2);
  EXPECT_EQ(full->msg, "负载过高");
}

TEST(MsgServerJson, PortAsNumberOrStringAndBackupDefault) {
  std::string err;
  auto a = parseMsgServerJson("{\"code\":0,\"priorIP\":\"1.2.3.4\",\"port\":8001}", &err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->port, 8001);
  EXPECT_EQ(a->backupIP, "1.2.3.4");
  auto b = parseMsgServerJson("{\"code\":\"0\",\"priorIP\":\"1.2.3.4\",\"port\":\"8002\"}", &err);
  ASSERT_TRUE(b) << err;
  EXPECT_EQ(b->port, 8002);
}

TEST(MsgServerJson, MalformedAnswersAreRejected) {
  std::string err;
  EXPECT_FALSE(parseMsgServerJson("", &err));
  EXPECT_FALSE(parseMsgServerJson("<html>", &err));
  EXPECT_FALSE(parseMsgServerJson("[1,2]", &err));
  EXPECT_FALSE(parseMsgServerJson("{\"msg\":\"no code\"}", &err));
  EXPECT_FALSE(parseMsgServerJson("{\"code\":0,\"port\":\"8000\"}", &err));                  // no priorIP
  EXPECT_FALSE(parseMsgServerJson("{\"code\":0,\"priorIP\":\"1.2.3.4\"}", &err));            // no port
  EXPECT_FALSE(parseMsgServerJson("{\"code\":0,\"priorIP\":\"1.2.3.4\",\"port\":\"80x\"}", &err));
  EXPECT_FALSE(parseMsgServerJson("{\"code\":0,\"priorIP\":\"1.2.3.4\",\"port\":70000}", &err));
  EXPECT_FALSE(err.empty());
}

// ---- MsgServerLookup over loopback --------------------------------------------------------------

namespace {

// A tiny HTTP server: answers each request with `reply`, written one byte per loop turn when
// `trickle` (the client must reassemble), then closes unless keepOpen. `silent` never answers.
struct FakeLoginServer {
  FakeLoginServer(EventDispatch* loop, std::string reply) : loop(loop), server(loop, "fake-login"), reply(std::move(reply)) {
    server.setMessageCallback([this](const tt::net::TcpConnectionPtr& c, tt::net::Buffer* buf) {
      request.append(buf->peek(), buf->readableBytes());
      buf->retrieveAll();
      if (silent || request.find("\r\n\r\n") == std::string::npos) return;
      if (trickle) {
        sendByte(c, 0);
      } else {
        c->send(this->reply);
        if (!keepOpen) c->shutdown();
      }
    });
    std::string err;
    EXPECT_TRUE(server.listen("127.0.0.1", 0, 64, &err)) << err;
    port = server.listenAddresses().at(0).port();
  }

  void sendByte(tt::net::TcpConnectionPtr c, size_t i) {
    if (i >= reply.size()) {
      if (!keepOpen) c->shutdown();
      return;
    }
    c->send(reply.substr(i, 1));
    loop->runAfter(1, [this, c, i] { sendByte(c, i + 1); });
  }

  EventDispatch* loop;
  tt::net::TcpServer server;
  std::string reply;
  std::string request;
  uint16_t port = 0;
  bool trickle = false;
  bool keepOpen = false;
  bool silent = false;
};

MsgServerLookup::Result runLookup(EventDispatch& loop, uint16_t port, int64_t timeoutMs) {
  MsgServerLookup::Result result;
  bool done = false;
  auto lookup = MsgServerLookup::start(&loop, *InetAddress::parse("127.0.0.1", port), "127.0.0.1", "/msg_server",
                                       timeoutMs, [&](const MsgServerLookup::Result& r) {
                                         result = r;
                                         done = true;
                                         loop.quit();
                                       });
  tt::test::watchdog(loop, 10000);
  loop.loop();
  EXPECT_TRUE(done);
  return result;
}

}  // namespace

TEST(MsgServerLookup, TrickledKeepAliveAnswerIsParsed) {
  EventDispatch loop;
  FakeLoginServer fake(&loop, response(kJsonOk, "keep-alive"));
  fake.trickle = true;
  fake.keepOpen = true;  // completion must come from Content-Length, not from EOF
  auto r = runLookup(loop, fake.port, 5000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.info.priorIP, "10.0.0.1");
  EXPECT_EQ(r.info.port, 8000);
  EXPECT_EQ(fake.request.rfind("GET /msg_server HTTP/1.1\r\n", 0), 0u);
}

TEST(MsgServerLookup, RefusalIsAnAnswerNotAnError) {
  EventDispatch loop;
  FakeLoginServer fake(&loop, response("{\"code\":2,\"msg\":\"负载过高\"}", "close"));
  auto r = runLookup(loop, fake.port, 5000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.info.code, 2);
  EXPECT_EQ(r.info.msg, "负载过高");
}

TEST(MsgServerLookup, HttpErrorStatusIsReported) {
  EventDispatch loop;
  FakeLoginServer fake(&loop, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  auto r = runLookup(loop, fake.port, 5000);
  EXPECT_NE(r.error.find("404"), std::string::npos) << r.error;
}

TEST(MsgServerLookup, ConnectionRefusedFailsFast) {
  EventDispatch loop;
  const uint16_t port = tt::test::freePort();
  const int64_t t0 = tt::monotonicMs();
  auto r = runLookup(loop, port, 5000);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(tt::monotonicMs() - t0, 2000);
}

TEST(MsgServerLookup, SilentServerTimesOut) {
  EventDispatch loop;
  FakeLoginServer fake(&loop, "");
  fake.silent = true;
  const int64_t t0 = tt::monotonicMs();
  auto r = runLookup(loop, fake.port, 200);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("no answer"), std::string::npos) << r.error;
  EXPECT_GE(tt::monotonicMs() - t0, 190);
}

TEST(MsgServerLookup, CancelledLookupNeverCallsBack) {
  EventDispatch loop;
  FakeLoginServer fake(&loop, response(kJsonOk, "close"));
  bool called = false;
  auto lookup = MsgServerLookup::start(&loop, *InetAddress::parse("127.0.0.1", fake.port), "h", "/msg_server", 1000,
                                       [&](const MsgServerLookup::Result&) { called = true; });
  lookup->cancel();
  // A second lookup to the same server, started after: once it has its answer, the cancelled
  // one would have had time for its own (it is not a fixed pause that a slow loop may not fill).
  bool secondOk = false;
  auto second = MsgServerLookup::start(&loop, *InetAddress::parse("127.0.0.1", fake.port), "h", "/msg_server", 10000,
                                       [&](const MsgServerLookup::Result& r) {
                                         secondOk = r.ok();
                                         loop.quit();
                                       });
  tt::test::watchdog(loop, 20000);
  loop.loop();
  EXPECT_TRUE(secondOk);
  EXPECT_FALSE(called);
}
