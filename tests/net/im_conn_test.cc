// ImServer / ImClient / ImConn over loopback: PDU echo integrity, bad input closing only the
// offending connection, heartbeats and timeouts, typed dispatch.
#include <sys/time.h>

#include <cerrno>
#include <memory>
#include <thread>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.Login.pb.h"
#include "NetTestUtil.h"
#include "netlib/Dispatcher.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImClient.h"
#include "netlib/ImServer.h"
#include "base/Time.h"

using namespace tt::net;
using tt::test::rawConnect;
using tt::test::watchdog;

namespace {
ImConnOptions quietOptions() {
  ImConnOptions o;
  o.heartbeatIntervalMs = 0;
  o.timeoutMs = 0;
  return o;
}

uint16_t startEchoServer(ImServer& server) {
  server.setPduHandler([](const ImConnPtr& c, const ImPdu& pdu) { c->sendRaw(pdu.serialize()); });
  std::string err;
  EXPECT_TRUE(server.listen({"127.0.0.1"}, 0, 1024, &err)) << err;
  return server.listenAddresses().at(0).port();
}

// Reads whole PDUs from a blocking socket; "" on EOF.
std::string readPdu(int fd) {
  std::string head(kPduHeaderSize, '\0');
  size_t got = 0;
  while (got < head.size()) {
    ssize_t n = ::read(fd, head.data() + got, head.size() - got);
    if (n <= 0) return "";
    got += static_cast<size_t>(n);
  }
  const uint32_t len = decodeHeader(head.data()).length;
  std::string pdu = head;
  pdu.resize(len);
  while (got < len) {
    ssize_t n = ::read(fd, pdu.data() + got, len - got);
    if (n <= 0) return "";
    got += static_cast<size_t>(n);
  }
  return pdu;
}

bool peerClosed(int fd, int timeoutMs) {
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}
}  // namespace

TEST(ImConn, EchoesTenThousandPdusOnFiftyConnectionsByteExact) {
  EventDispatch loop;
  ImServer server(&loop, "echo", quietOptions());
  const uint16_t port = startEchoServer(server);

  constexpr int kConns = 50;
  constexpr int kPerConn = 200;
  struct Peer {
    std::unique_ptr<ImClient> client;
    std::vector<std::string> sent;
    size_t received = 0;
    size_t mismatches = 0;
  };
  std::vector<Peer> peers(kConns);
  int finished = 0;
  std::mt19937 rng(12345);
  for (int i = 0; i < kConns; ++i) {
    Peer& p = peers[i];
    // Bodies of random size and content, some large enough to split across reads.
    for (int k = 0; k < kPerConn; ++k) {
      std::string body(std::uniform_int_distribution<int>(0, k % 10 == 0 ? 40000 : 300)(rng), '\0');
      for (char& ch : body) ch = static_cast<char>(rng());
      p.sent.push_back(encodePdu(static_cast<uint16_t>(i), static_cast<uint16_t>(0x0300 + (k % 16)),
                                 static_cast<uint16_t>(k), body));
    }
    p.client = std::make_unique<ImClient>(&loop, InetAddress::parse("127.0.0.1", port).value(), "c", quietOptions());
    p.client->setConnectHandler([&p](const ImConnPtr& c) {
      // Glue everything into a few big writes: the server must split sticky packets.
      std::string all;
      for (auto& s : p.sent) all += s;
      c->sendRaw(std::move(all));
    });
    p.client->setPduHandler([&, i](const ImConnPtr&, const ImPdu& pdu) {
      Peer& me = peers[i];
      if (me.received >= me.sent.size() || pdu.serialize() != me.sent[me.received]) ++me.mismatches;
      if (++me.received == me.sent.size() && ++finished == kConns) loop.quit();
    });
    p.client->connect();
  }
  watchdog(loop, 60000);
  loop.loop();
  size_t total = 0, bad = 0;
  for (auto& p : peers) {
    total += p.received;
    bad += p.mismatches;
  }
  EXPECT_EQ(total, static_cast<size_t>(kConns * kPerConn));
  EXPECT_EQ(bad, 0u);
}

TEST(ImConn, BadLengthClosesOnlyThatConnection) {
  EventDispatch loop;
  ImServer server(&loop, "srv", quietOptions());
  const uint16_t port = startEchoServer(server);
  int closes = 0;
  server.setCloseHandler([&](const ImConnPtr&) { ++closes; });
  std::thread clients([&] {
    const int good = rawConnect(port);
    const int tooShort = rawConnect(port);
    const int tooLong = rawConnect(port);
    // length 5 (< 16 header bytes) and length 3 GiB
    const unsigned char shortHdr[16] = {0, 0, 0, 5, 0, 1, 0, 0, 0, 7, 7, 1, 0, 0, 0, 0};
    const unsigned char longHdr[16] = {0xC0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 7, 1, 0, 0, 0, 0};
    EXPECT_EQ(::write(tooShort, shortHdr, 16), 16);
    EXPECT_EQ(::write(tooLong, longHdr, 16), 16);
    EXPECT_TRUE(peerClosed(tooShort, 15000));
    EXPECT_TRUE(peerClosed(tooLong, 15000));
    const std::string ping = encodePdu(3, 0x0301, 77, std::string_view("still here"));
    EXPECT_EQ(::write(good, ping.data(), ping.size()), static_cast<ssize_t>(ping.size()));
    EXPECT_EQ(readPdu(good), ping);
    ::close(good);
    ::close(tooShort);
    ::close(tooLong);
  });
  // Done once the server has seen all three go (the good one closed by the client); bounded by
  // the watchdog.
  loop.runEvery(5, [&] {
    if (closes == 3) loop.quit();
  });
  watchdog(loop);
  loop.loop();
  clients.join();
  EXPECT_EQ(closes, 3);
}

TEST(ImConn, ConfiguredMaximumApplies) {
  EventDispatch loop;
  ImConnOptions o = quietOptions();
  o.maxPduSize = 1024;
  ImServer server(&loop, "srv", o);
  const uint16_t port = startEchoServer(server);
  std::thread client([&] {
    const int fd = rawConnect(port);
    const std::string ok = encodePdu(3, 0x0301, 1, std::string(1000, 'a'));
    const std::string big = encodePdu(3, 0x0301, 2, std::string(1100, 'b'));
    EXPECT_EQ(::write(fd, ok.data(), ok.size()), static_cast<ssize_t>(ok.size()));
    EXPECT_EQ(readPdu(fd), ok);
    EXPECT_EQ(::write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
    EXPECT_TRUE(peerClosed(fd, 15000));
    ::close(fd);
    loop.runAfter(50, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  client.join();
}

TEST(ImConn, HeartbeatIsEchoedWithItsSeq) {
  EventDispatch loop;
  ImConnOptions o = quietOptions();
  o.echoHeartbeat = true;
  ImServer server(&loop, "srv", o);
  int delivered = 0;
  server.setPduHandler([&](const ImConnPtr&, const ImPdu&) { ++delivered; });
  std::string err;
  ASSERT_TRUE(server.listen({"127.0.0.1"}, 0, 16, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  std::thread client([&] {
    const int fd = rawConnect(port);
    const std::string hb = encodePdu(kSidOther, kCidHeartbeat, 4321, std::string_view());
    EXPECT_EQ(::write(fd, hb.data(), hb.size()), 16);
    EXPECT_EQ(readPdu(fd), hb);
    ::close(fd);
    loop.runAfter(50, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  client.join();
  EXPECT_EQ(delivered, 0);  // swallowed, not passed to the handler
}

TEST(ImConn, SilentPeerIsClosedAndIdleLinkSendsHeartbeats) {
  EventDispatch loop;
  // Timeout 1 s, far above the 100 ms heartbeat: the chatty link must survive a busy machine
  // delaying this loop (its heartbeats and the server's timeout check run on the same loop).
  ImConnOptions serverOpts;
  serverOpts.heartbeatIntervalMs = 0;
  serverOpts.timeoutMs = 1000;
  serverOpts.deliverHeartbeats = true;
  ImServer server(&loop, "srv", serverOpts);
  server.setTickInterval(50);
  int heartbeatsSeen = 0;
  server.setPduHandler([&](const ImConnPtr&, const ImPdu& pdu) {
    if (pdu.commandId() == kCidHeartbeat) ++heartbeatsSeen;
  });
  std::string err;
  ASSERT_TRUE(server.listen({"127.0.0.1"}, 0, 16, &err));
  const uint16_t port = server.listenAddresses()[0].port();

  // A client that heartbeats every 100 ms stays; a silent raw socket is dropped.
  ImConnOptions clientOpts;
  clientOpts.heartbeatIntervalMs = 100;
  clientOpts.timeoutMs = 0;
  ImClient chatty(&loop, InetAddress::parse("127.0.0.1", port).value(), "chatty", clientOpts);
  chatty.connect();
  int closes = 0;
  server.setCloseHandler([&](const ImConnPtr&) { ++closes; });
  const int silent = rawConnect(port);
  const int64_t start = tt::monotonicMs();
  int64_t closedAfter = -1;
  // Until the silent one is closed and 25 heartbeats (about 2.5 s: 2.5 timeouts) came in.
  loop.runEvery(20, [&] {
    if (closes == 1 && closedAfter < 0) closedAfter = tt::monotonicMs() - start;
    if (closedAfter >= 0 && heartbeatsSeen >= 25) loop.quit();
  });
  watchdog(loop, 30000);
  loop.loop();
  ::close(silent);
  EXPECT_EQ(closes, 1);
  EXPECT_GE(closedAfter, 950);
  EXPECT_LE(closedAfter, 5000);
  EXPECT_TRUE(chatty.connected());
  EXPECT_GE(heartbeatsSeen, 25);
}

TEST(Dispatcher, TypedHandlersSeeParsedMessagesAndBadBodiesClose) {
  EventDispatch loop;
  ImServer server(&loop, "srv", quietOptions());
  Dispatcher dispatcher;
  std::vector<std::string> names;
  dispatcher.on<IM::Login::IMLoginReq>(0x0103, [&](const ImConnPtr& c, const ImPdu& pdu, IM::Login::IMLoginReq& req) {
    names.push_back(req.user_name());
    IM::Login::IMLoginRes res;
    res.set_server_time(1);
    res.set_result_code(IM::BaseDefine::REFUSE_REASON_NONE);
    c->send(1, 0x0104, pdu.seqNum(), res);
  });
  int filtered = 0;
  dispatcher.setFilter([&](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() == 0x0301) {
      ++filtered;
      c->close("not logged in");
      return false;
    }
    return true;
  });
  server.setPduHandler([&](const ImConnPtr& c, const ImPdu& pdu) { dispatcher.dispatch(c, pdu); });
  std::string err;
  ASSERT_TRUE(server.listen({"127.0.0.1"}, 0, 16, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  std::thread client([&] {
    IM::Login::IMLoginReq req;
    req.set_user_name("user01");
    req.set_password(std::string(32, 'a'));
    req.set_online_status(IM::BaseDefine::USER_STATUS_ONLINE);
    req.set_client_type(IM::BaseDefine::CLIENT_TYPE_MAC);
    const int a = rawConnect(port);
    const std::string login = encodePdu(1, 0x0103, 99, req);
    EXPECT_EQ(::write(a, login.data(), login.size()), static_cast<ssize_t>(login.size()));
    const std::string res = readPdu(a);
    ASSERT_FALSE(res.empty());
    EXPECT_EQ(decodeHeader(res.data()).seqNum, 99);  // responses echo the request's seq
    // Garbage body for the same command closes the connection.
    const std::string bad = encodePdu(1, 0x0103, 100, std::string_view("\x0a\xff\xff", 3));
    EXPECT_EQ(::write(a, bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
    EXPECT_TRUE(peerClosed(a, 15000));
    // The filter refuses a command before it reaches a handler.
    const int b = rawConnect(port);
    const std::string msg = encodePdu(3, 0x0301, 1, std::string_view());
    EXPECT_EQ(::write(b, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
    EXPECT_TRUE(peerClosed(b, 15000));
    ::close(a);
    ::close(b);
    loop.runAfter(50, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  client.join();
  EXPECT_EQ(names, std::vector<std::string>{"user01"});
  EXPECT_EQ(filtered, 1);
}

TEST(ImConn, ExceptionInAHandlerClosesThatConnectionOnly) {
  EventDispatch loop;
  ImServer server(&loop, "srv", quietOptions());
  server.setPduHandler([](const ImConnPtr& c, const ImPdu& pdu) {
    if (pdu.commandId() == 0x0666) throw std::runtime_error("handler bug");
    c->sendRaw(pdu.serialize());
  });
  std::string err;
  ASSERT_TRUE(server.listen({"127.0.0.1"}, 0, 16, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  std::thread client([&] {
    const int a = rawConnect(port);
    const int b = rawConnect(port);
    const std::string boom = encodePdu(3, 0x0666, 1, std::string_view());
    EXPECT_EQ(::write(a, boom.data(), boom.size()), 16);
    EXPECT_TRUE(peerClosed(a, 15000));
    const std::string ok = encodePdu(3, 0x0301, 2, std::string_view("x"));
    EXPECT_EQ(::write(b, ok.data(), ok.size()), static_cast<ssize_t>(ok.size()));
    EXPECT_EQ(readPdu(b), ok);
    ::close(a);
    ::close(b);
    loop.runAfter(50, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  client.join();
}
