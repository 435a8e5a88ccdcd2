// TcpServer / TcpClient / Connector over loopback: echo integrity, back-pressure, EPOLLOUT
// discipline, reconnect, and closing from inside callbacks.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "NetTestUtil.h"
#include "netlib/EventDispatch.h"
#include "netlib/TcpClient.h"
#include "netlib/TcpServer.h"

using namespace tt::net;
using tt::test::freePort;
using tt::test::rawConnect;
using tt::test::watchdog;

TEST(TcpServer, ListenReportsBusyPortAndBadAddress) {
  EventDispatch loop;
  TcpServer a(&loop, "a");
  std::string err;
  ASSERT_TRUE(a.listen("127.0.0.1", 0, 128, &err)) << err;
  const uint16_t port = a.listenAddresses().at(0).port();
  TcpServer b(&loop, "b");
  EXPECT_FALSE(b.listen("127.0.0.1", port, 128, &err));
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  EXPECT_FALSE(b.listen("not-an-ip", 1234, 128, &err));
  EXPECT_NE(err.find("not-an-ip"), std::string::npos) << err;
}

TEST(TcpServer, ListensOnSeveralAddresses) {
  EventDispatch loop;
  TcpServer s(&loop, "multi");
  std::string err;
  const uint16_t port = freePort();
  ASSERT_TRUE(s.listen("127.0.0.1", port, 128, &err)) << err;
  ASSERT_TRUE(s.listen("127.0.0.2", port, 128, &err)) << err;
  EXPECT_EQ(s.listenAddresses().size(), 2u);
}

TEST(TcpConnection, StopsAskingForWritableOnceDrained) {
  EventDispatch loop;
  TcpServer server(&loop, "srv");
  std::string err;
  ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  const std::string payload(8 * 1024 * 1024, 'p');
  TcpConnectionPtr accepted;
  server.setConnectionCallback([&](const TcpConnectionPtr& c) {
    if (c->connected()) {
      accepted = c;
      c->send(payload);  // more than the socket buffers: must queue and arm EPOLLOUT
      EXPECT_GT(c->pendingOutputBytes(), 0u);
    }
  });
  TcpClient client(&loop, InetAddress::parse("127.0.0.1", port).value(), "cli");
  size_t received = 0;
  uint64_t iterationsWhenDrained = 0;
  client.setMessageCallback([&](const TcpConnectionPtr&, Buffer* buf) {
    received += buf->readableBytes();
    buf->retrieveAll();
    if (received == payload.size()) {
      loop.runAfter(10, [&] {
        EXPECT_EQ(accepted->pendingOutputBytes(), 0u);
        iterationsWhenDrained = loop.iterations();
        loop.runAfter(300, [&] { loop.quit(); });
      });
    }
  });
  client.connect();
  watchdog(loop);
  loop.loop();
  EXPECT_EQ(received, payload.size());
  // Idle after draining: a still-armed EPOLLOUT would spin the level-triggered loop thousands of times.
  EXPECT_LE(loop.iterations() - iterationsWhenDrained, 5u);
}

TEST(TcpConnection, SlowReaderIsDisconnectedAtTheOutputCap) {
  EventDispatch loop;
  TcpServer server(&loop, "srv");
  constexpr size_t kCap = 1 * 1024 * 1024;
  server.setMaxOutputBytes(kCap);
  std::string err;
  ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  size_t maxPending = 0;
  size_t sentTotal = 0;
  bool closedByServer = false;
  TimerId pump = 0;
  const std::string chunk(64 * 1024, 'c');
  server.setConnectionCallback([&](const TcpConnectionPtr& c) {
    if (c->connected()) {
      std::weak_ptr<TcpConnection> weak = c;
      pump = loop.runEvery(1, [&, weak] {
        auto conn = weak.lock();
        if (!conn || !conn->connected()) return;
        conn->send(chunk);
        sentTotal += chunk.size();
        maxPending = std::max(maxPending, conn->pendingOutputBytes());
      });
    } else {
      closedByServer = true;
      loop.cancel(pump);
      loop.runAfter(50, [&] { loop.quit(); });
    }
  });
  const int fd = rawConnect(port);  // connects and never reads
  ASSERT_GE(fd, 0);
  watchdog(loop);
  loop.loop();
  ::close(fd);
  EXPECT_TRUE(closedByServer);
  EXPECT_LE(maxPending, kCap);               // memory stayed bounded
  EXPECT_GT(sentTotal, kCap);                // the cap, not something else, ended it
  EXPECT_EQ(server.connectionCount(), 0u);
}

TEST(Connector, ReconnectsWhenTheListenerComesBack) {
  EventDispatch loop;
  const uint16_t port = freePort();
  TcpClient client(&loop, InetAddress::parse("127.0.0.1", port).value(), "cli");
  client.setRetryDelays(20, 100);
  int ups = 0, downs = 0;
  std::unique_ptr<TcpServer> server;
  auto startServer = [&] {
    server = std::make_unique<TcpServer>(&loop, "srv");
    std::string err;
    ASSERT_TRUE(server->listen("127.0.0.1", port, 128, &err)) << err;
  };
  client.setConnectionCallback([&](const TcpConnectionPtr& c) {
    if (c->connected()) {
      ++ups;
      if (ups == 1) {
        // Take the server away: the client sees the close and must dial again on its own.
        loop.post([&] { server.reset(); });
        loop.runAfter(300, startServer);
      } else {
        loop.quit();
      }
    } else {
      ++downs;
    }
  });
  client.connect();                  // nothing listens yet: fails and backs off
  loop.runAfter(250, startServer);   // listener appears later
  watchdog(loop);
  loop.loop();
  EXPECT_EQ(ups, 2);
  EXPECT_EQ(downs, 1);
}

TEST(Connector, ConnectTimeoutRetries) {
  // 10.255.255.1 is not used: an address nobody answers would need the network. Instead: a
  // listener with a full backlog never completes... not portable. Use an unroutable loopback
  // port to check the failure path keeps retrying with growing delays instead.
  EventDispatch loop;
  auto connector = std::make_shared<Connector>(&loop, InetAddress::parse("127.0.0.1", freePort()).value());
  connector->setRetryDelays(10, 80);
  connector->setNewConnectionCallback([&](int) { ADD_FAILURE() << "nothing listens there"; });
  connector->start();
  // 10, 20, 40, 80: wait (bounded by the watchdog) until the delay reached the cap, then let a few
  // more 80 ms retries run: it stays there.
  TimerId poll = 0;
  poll = loop.runEvery(5, [&] {
    if (connector->currentRetryDelayMs() < 80) return;
    loop.cancel(poll);
    loop.runAfter(400, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  EXPECT_EQ(connector->currentRetryDelayMs(), 80);  // grew to the cap, not beyond
  connector->stop();
}

TEST(TcpConnection, CloseFromInsideItsOwnCallbacksAndTimers) {
  // Run many connections that are closed from every awkward place; ASan builds turn any
  // use-after-free here into a failure.
  EventDispatch loop;
  TcpServer server(&loop, "srv");
  std::string err;
  ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  int serverCloses = 0;
  int mode = 0;
  server.setConnectionCallback([&](const TcpConnectionPtr& c) {
    if (!c->connected()) {
      ++serverCloses;
      return;
    }
    switch (mode++ % 3) {
      case 0:
        c->forceClose("closed in connect callback");
        c->send("after close is a no-op");
        break;
      case 1: {
        std::weak_ptr<TcpConnection> weak = c;
        loop.runAfter(1, [weak] {
          if (auto conn = weak.lock()) conn->forceClose("closed from a timer");
        });
        break;
      }
      default:
        break;  // closed from the message callback below
    }
  });
  server.setMessageCallback([&](const TcpConnectionPtr& c, Buffer* buf) {
    buf->retrieveAll();
    c->send("bye");
    c->forceClose("closed in message callback");
    c->forceClose("twice");
  });
  constexpr int kConns = 60;
  std::vector<std::unique_ptr<TcpClient>> clients;
  int clientDowns = 0;
  for (int i = 0; i < kConns; ++i) {
    auto cl = std::make_unique<TcpClient>(&loop, InetAddress::parse("127.0.0.1", port).value(), "c");
    cl->setRetry(false);
    cl->setConnectionCallback([&](const TcpConnectionPtr& c) {
      if (c->connected()) {
        c->send("hello");
      } else if (++clientDowns == kConns) {
        loop.runAfter(20, [&] { loop.quit(); });
      }
    });
    cl->setMessageCallback([](const TcpConnectionPtr& c, Buffer* buf) {
      buf->retrieveAll();
      c->forceClose();  // the client side closes inside its own callback too
    });
    cl->connect();
    clients.push_back(std::move(cl));
  }
  watchdog(loop);
  loop.loop();
  EXPECT_EQ(serverCloses, kConns);
  EXPECT_EQ(clientDowns, kConns);
  EXPECT_EQ(server.connectionCount(), 0u);
}

TEST(Acceptor, SurvivesRunningOutOfFileDescriptors) {
  EventDispatch loop;
  TcpServer server(&loop, "srv");
  std::string err;
  ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err));
  const uint16_t port = server.listenAddresses()[0].port();
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  // Made before the budget below is measured, so they do not use it up: the child's "all 20
  // queued" pipe, the pipe that holds the child until the test is done, and a probe socket
  // that queues behind the child's 20. Being shed proves the acceptor got through all of them.
  int ready[2], hold[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(probe, 0);
  // Room for a handful of connections beyond what is open now.
  int maxFd = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) maxFd = fd;
  }
  // New descriptors take the lowest free number: fill the gaps so exactly five remain free.
  std::vector<int> fillers;
  for (int fd = 0; fd < maxFd; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) fillers.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(maxFd + 6);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  // The clients live in a child process with the limit given back (it inherits ours and our
  // descriptors), so it really opens 20 connections: more than the server has descriptors for.
  const pid_t child = ::fork();
  if (child == 0) {
    ::setrlimit(RLIMIT_NOFILE, &old);
    ::close(ready[0]);
    ::close(hold[1]);
    std::vector<int> fds;
    for (int i = 0; i < 20; ++i) fds.push_back(rawConnect(port));
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    (void)!::read(hold[0], &c, 1);  // until the test closes its end
    ::_exit(0);
  }
  size_t peak = 0;
  int accepted = 0, acceptedBeforeRestore = 0;
  server.setConnectionCallback([&](const TcpConnectionPtr& c) { accepted += c->connected(); });
  loop.runEvery(20, [&] { peak = std::max(peak, server.connectionCount()); });
  enum { kWaitChild, kWaitProbeShed, kWaitAccepted } phase = kWaitChild;
  int fd = -1;
  loop.runEvery(5, [&] {
    char c;
    switch (phase) {
      case kWaitChild: {
        if (::read(ready[0], &c, 1) != 1) return;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        // Completes from the backlog: the listener's accept is not needed for that.
        if (::connect(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
          ADD_FAILURE() << "probe connect: " << std::strerror(errno);
          loop.quit();
          return;
        }
        phase = kWaitProbeShed;
        return;
      }
      case kWaitProbeShed: {
        const ssize_t n = ::recv(probe, &c, 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        EXPECT_LE(n, 0) << "the probe got data";
        peak = std::max(peak, server.connectionCount());
        // Give descriptors back; the listener must still be alive and accept again.
        ::setrlimit(RLIMIT_NOFILE, &old);
        server.closeAll();
        acceptedBeforeRestore = accepted;
        fd = rawConnect(port);
        EXPECT_GE(fd, 0);
        phase = kWaitAccepted;
        return;
      }
      case kWaitAccepted:
        if (accepted == acceptedBeforeRestore) return;
        ::close(fd);
        loop.quit();
        return;
    }
  });
  watchdog(loop);
  loop.loop();
  ::setrlimit(RLIMIT_NOFILE, &old);
  for (int f : fillers) ::close(f);
  ::close(probe);
  for (int f : {hold[1], hold[0], ready[0], ready[1]}) ::close(f);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(phase, kWaitAccepted) << "stuck in phase " << phase;
  EXPECT_GT(peak, 0u);
  EXPECT_LT(peak, 20u);  // the limit bit: some connections were shed, and we did not spin or die
}
