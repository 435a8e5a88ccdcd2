// A socket object destroyed (or its listener stopped) from the callback of another socket whose
// event came earlier in the same epoll_wait batch: the daemons' SIGTERM handler stopping the
// listeners during a burst of connects, a client dropped while its connect completes. Each round
// makes both fds ready in a chosen order, then runs exactly one loop iteration, so the batch holds
// both events in that order; ASan turns a call into a destroyed socket into a failure.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "NetTestUtil.h"
#include "base/Time.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"
#include "netlib/TcpClient.h"
#include "netlib/TcpServer.h"

using namespace tt::net;
using tt::test::rawConnect;

namespace {

constexpr int kRounds = 20;
constexpr int kClients = 8;

// The listening socket bound to 127.0.0.1:port in this process (owned by a TcpServer), or -1.
int findListeningFd(uint16_t port) {
  for (int fd = 0; fd < 4096; ++fd) {
    int on = 0;
    socklen_t len = sizeof on;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on) continue;
    sockaddr_in a{};
    socklen_t alen = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0 && a.sin_family == AF_INET &&
        ntohs(a.sin_port) == port) {
      return fd;
    }
  }
  return -1;
}

// Waits until n connections sit in listenFd's accept queue (TCP_INFO of a listener reports the
// queue length in tcpi_unacked), so they are all in the batch's accept. false after 5 s.
bool waitAcceptQueue(int listenFd, unsigned n) {
  const int64_t deadline = tt::monotonicMs() + 5000;
  while (tt::monotonicMs() < deadline) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(listenFd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
    if (info.tcpi_unacked >= n) return true;
    std::this_thread::yield();
  }
  return false;
}

// Every fd that is ready now is in the batch, in the order it became ready; the posted quit (its
// eventfd last) ends the loop after this one iteration. A loop runs once: quit() is for good.
void runOneIteration(EventDispatch& loop) {
  loop.post([&loop] { loop.quit(); });
  loop.loop();
}

std::vector<int> connectClients(uint16_t port, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) fds.push_back(rawConnect(port));
  return fds;
}

void closeAll(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

}  // namespace

TEST(SameBatch, SignalStopsAcceptingWhileConnectsArePending) {
  for (int round = 0; round < kRounds; ++round) {
    const bool signalFirst = round % 2 == 0;
    SCOPED_TRACE("round " + std::to_string(round) + (signalFirst ? ", signal first" : ", connects first"));
    EventDispatch loop;
    TcpServer server(&loop, "srv");
    std::string err;
    ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err)) << err;
    const uint16_t port = server.listenAddresses()[0].port();
    const int listenFd = findListeningFd(port);
    ASSERT_GE(listenFd, 0);
    int accepted = 0;
    server.setConnectionCallback([&](const TcpConnectionPtr& c) { accepted += c->connected(); });
    int signals = 0;
    SignalWatcher watcher(&loop, [&](int) {
      ++signals;
      server.stopAccepting();  // what every daemon's drain does first
    });
    std::vector<int> clients;
    if (signalFirst) ::raise(SIGHUP);
    clients = connectClients(port, kClients);
    ASSERT_TRUE(waitAcceptQueue(listenFd, kClients));
    if (!signalFirst) ::raise(SIGHUP);
    runOneIteration(loop);
    EXPECT_EQ(signals, 1);
    // Nothing is accepted once stopAccepting() returned, even what was already in the batch.
    EXPECT_EQ(accepted, signalFirst ? 0 : kClients);
    EXPECT_TRUE(server.listenAddresses().empty());
    closeAll(clients);
  }
}

TEST(SameBatch, ConnectionCallbackStopsAcceptingInsideTheAcceptLoop) {
  // The accept loop runs the connection callback; stopping there must end that loop safely.
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    EventDispatch loop;
    TcpServer server(&loop, "srv");
    std::string err;
    ASSERT_TRUE(server.listen("127.0.0.1", 0, 128, &err)) << err;
    const uint16_t port = server.listenAddresses()[0].port();
    const int listenFd = findListeningFd(port);
    ASSERT_GE(listenFd, 0);
    int accepted = 0;
    server.setConnectionCallback([&](const TcpConnectionPtr& c) {
      if (c->connected() && ++accepted == 1) server.stopAccepting();
    });
    std::vector<int> clients = connectClients(port, kClients);
    ASSERT_TRUE(waitAcceptQueue(listenFd, kClients));
    runOneIteration(loop);
    EXPECT_EQ(accepted, 1);
    EXPECT_EQ(server.connectionCount(), 1u);
    closeAll(clients);
  }
}

TEST(SameBatch, SignalDestroysAClientWhoseConnectIsCompleting) {
  // The listener is a plain socket here: the test only needs its accept queue as the sign that the
  // client's connect has completed (its fd is writable).
  for (int round = 0; round < kRounds; ++round) {
    const bool signalFirst = round % 2 == 0;
    SCOPED_TRACE("round " + std::to_string(round) + (signalFirst ? ", signal first" : ", connect first"));
    const int listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listenFd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listenFd, 16), 0);
    socklen_t alen = sizeof a;
    ::getsockname(listenFd, reinterpret_cast<sockaddr*>(&a), &alen);
    EventDispatch loop;
    auto client = std::make_unique<TcpClient>(&loop, InetAddress::parse("127.0.0.1", ntohs(a.sin_port)).value(), "c");
    client->setRetry(false);
    int ups = 0;
    client->setConnectionCallback([&](const TcpConnectionPtr& c) { ups += c->connected(); });
    int signals = 0;
    SignalWatcher watcher(&loop, [&](int) {
      ++signals;
      client.reset();
    });
    if (signalFirst) ::raise(SIGHUP);
    client->connect();
    ASSERT_TRUE(waitAcceptQueue(listenFd, 1));
    if (!signalFirst) ::raise(SIGHUP);
    runOneIteration(loop);
    EXPECT_EQ(signals, 1);
    EXPECT_EQ(client, nullptr);
    EXPECT_EQ(ups, signalFirst ? 0 : 1);
    ::close(listenFd);
  }
}

TEST(SameBatch, SignalDestroysAServerWhoseConnectionsHaveInput) {
  // One loop run: the first iteration accepts the clients, then (posted work of that iteration)
  // each client sends a byte and the signal is raised in the chosen order, so the second
  // iteration's batch holds the signal and every connection's input; the signal handler quits.
  for (int round = 0; round < kRounds; ++round) {
    const bool signalFirst = round % 2 == 0;
    SCOPED_TRACE("round " + std::to_string(round) + (signalFirst ? ", signal first" : ", input first"));
    EventDispatch loop;
    auto server = std::make_unique<TcpServer>(&loop, "srv");
    std::string err;
    ASSERT_TRUE(server->listen("127.0.0.1", 0, 128, &err)) << err;
    const uint16_t port = server->listenAddresses()[0].port();
    const int listenFd = findListeningFd(port);
    ASSERT_GE(listenFd, 0);
    int bytes = 0;
    server->setMessageCallback([&](const TcpConnectionPtr&, Buffer* buf) {
      bytes += static_cast<int>(buf->readableBytes());
      buf->retrieveAll();
    });
    int signals = 0;
    SignalWatcher watcher(&loop, [&](int) {
      ++signals;
      server.reset();
      loop.post([&loop] { loop.quit(); });
    });
    std::vector<int> clients = connectClients(port, kClients);
    auto makeReady = [&] {
      if (signalFirst) ::raise(SIGHUP);
      for (int fd : clients) ASSERT_EQ(::write(fd, "x", 1), 1);
      // Wait until the server side of each connection has its byte to read.
      for (const auto& [id, conn] : server->connections()) {
        const int64_t deadline = tt::monotonicMs() + 5000;
        int queued = 0;
        while (tt::monotonicMs() < deadline && (::ioctl(conn->fd(), FIONREAD, &queued) != 0 || queued < 1)) {
          std::this_thread::yield();
        }
        ASSERT_GE(queued, 1);
      }
      if (!signalFirst) ::raise(SIGHUP);
    };
    server->setConnectionCallback([&](const TcpConnectionPtr& c) {
      if (c->connected() && server->connectionCount() == static_cast<size_t>(kClients)) loop.post(makeReady);
    });
    ASSERT_TRUE(waitAcceptQueue(listenFd, kClients));
    tt::test::watchdog(loop);
    loop.loop();
    EXPECT_EQ(signals, 1);
    EXPECT_EQ(server, nullptr);
    EXPECT_EQ(bytes, signalFirst ? 0 : kClients);
    closeAll(clients);
  }
}
