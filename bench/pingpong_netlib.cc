// Ping-pong throughput on tt::net (muduo's pingpong): the server echoes every byte; the client opens
// N connections, each sends one message at start and then echoes whatever comes back, so N messages
// circulate for the whole run and the byte rate measures the reactor, not the protocol.
//
//   pingpong_netlib server <port>        port 0 picks a free one; prints "port=<n>" once listening
//   pingpong_netlib client <host> <port> <conns> <msgsize> <seconds>
//
// The client prints one line: bytes=<received after all connected> msgs=<bytes/msgsize> seconds=<t>.
// One thread per process. bench/pingpong_libevent.c is the same program on libevent.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "netlib/Buffer.h"
#include "netlib/EventDispatch.h"
#include "netlib/TcpClient.h"
#include "netlib/TcpConnection.h"
#include "netlib/TcpServer.h"

namespace {

using tt::net::Buffer;
using tt::net::EventDispatch;
using tt::net::InetAddress;
using tt::net::TcpClient;
using tt::net::TcpConnectionPtr;
using tt::net::TcpServer;

// How long the client waits for all connections before it measures with those it has.
constexpr int64_t kConnectDeadlineMs = 10000;

double nowSeconds() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: pingpong_netlib server <port>\n"
               "       pingpong_netlib client <host> <port> <conns> <msgsize> <seconds>\n");
  std::exit(2);
}

long parsePositive(const char* s, const char* what, long min) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < min) {
    std::fprintf(stderr, "pingpong_netlib: bad %s '%s'\n", what, s);
    std::exit(2);
  }
  return v;
}

int runServer(uint16_t port) {
  EventDispatch loop;
  TcpServer server(&loop, "pingpong");
  server.setMessageCallback([](const TcpConnectionPtr& conn, Buffer* buf) { conn->send(buf); });
  std::string err;
  if (!server.listen("127.0.0.1", port, 4096, &err)) {
    std::fprintf(stderr, "pingpong_netlib server: %s\n", err.c_str());
    return 1;
  }
  std::printf("port=%u\n", static_cast<unsigned>(server.listenAddresses().front().port()));
  std::fflush(stdout);
  loop.loop();  // until SIGTERM
  return 0;
}

class Client {
 public:
  Client(EventDispatch* loop, const InetAddress& server, int conns, size_t msgSize, double seconds)
      : loop_(loop), message_(msgSize, 'x'), conns_(conns), seconds_(seconds) {
    for (size_t i = 0; i < msgSize; ++i) message_[i] = static_cast<char>(i % 128);
    for (int i = 0; i < conns; ++i) {
      auto c = std::make_unique<TcpClient>(loop, server, "pingpong-" + std::to_string(i));
      c->setRetry(false);
      c->setConnectionCallback([this](const TcpConnectionPtr& conn) { onConnection(conn); });
      c->setMessageCallback([this](const TcpConnectionPtr& conn, Buffer* buf) {
        bytesRead_ += buf->readableBytes();
        conn->send(buf);
      });
      clients_.push_back(std::move(c));
    }
  }

  void start() {
    for (auto& c : clients_) c->connect();
    loop_->runAfter(kConnectDeadlineMs, [this] {
      if (!measuring_) {
        std::fprintf(stderr, "pingpong_netlib client: only %d of %d connected; measuring those\n", connected_,
                     conns_);
        startMeasuring();
      }
    });
  }

 private:
  void onConnection(const TcpConnectionPtr& conn) {
    if (conn->connected()) {
      conn->send(std::string_view(message_));
      if (++connected_ == conns_) startMeasuring();
    } else if (!finished_) {
      std::fprintf(stderr, "pingpong_netlib client: a connection closed during the run\n");
    }
  }

  void startMeasuring() {
    if (measuring_) return;
    measuring_ = true;
    startBytes_ = bytesRead_;
    startTime_ = nowSeconds();
    loop_->runAfter(static_cast<int64_t>(seconds_ * 1000), [this] { finish(); });
  }

  void finish() {
    finished_ = true;
    const double elapsed = nowSeconds() - startTime_;
    const uint64_t bytes = bytesRead_ - startBytes_;
    std::printf("bytes=%llu msgs=%llu seconds=%.3f\n", static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(bytes / message_.size()), elapsed);
    std::fflush(stdout);
    loop_->quit();
  }

  EventDispatch* loop_;
  std::string message_;
  const int conns_;
  const double seconds_;
  std::vector<std::unique_ptr<TcpClient>> clients_;
  int connected_ = 0;
  bool measuring_ = false;
  bool finished_ = false;
  uint64_t bytesRead_ = 0;
  uint64_t startBytes_ = 0;
  double startTime_ = 0;
};

int runClient(const char* host, uint16_t port, int conns, size_t msgSize, double seconds) {
  auto addr = InetAddress::parse(host, port);
  if (!addr) {
    std::fprintf(stderr, "pingpong_netlib client: '%s' is not a numeric address\n", host);
    return 2;
  }
  EventDispatch loop;
  Client client(&loop, *addr, conns, msgSize, seconds);
  client.start();
  loop.loop();
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  spdlog::set_level(spdlog::level::warn);  // no per-connection info lines in the measurement
  if (argc == 3 && std::string(argv[1]) == "server") {
    return runServer(static_cast<uint16_t>(parsePositive(argv[2], "port", 0)));
  }
  if (argc == 7 && std::string(argv[1]) == "client") {
    const auto port = static_cast<uint16_t>(parsePositive(argv[3], "port", 1));
    const int conns = static_cast<int>(parsePositive(argv[4], "conns", 1));
    const auto msgSize = static_cast<size_t>(parsePositive(argv[5], "msgsize", 1));
    const double seconds = std::atof(argv[6]);
    if (seconds <= 0) usage();
    return runClient(argv[2], port, conns, msgSize, seconds);
  }
  usage();
}
