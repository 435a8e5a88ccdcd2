#pragma once
// The /metrics endpoint every daemon serves when its .conf sets MetricsPort: GET /metrics answers
// base/Metrics' process registry in the Prometheus text format (0.0.4). It runs on the daemon's
// own loop, so scrape-time callbacks read loop-thread state without locks; a scrape costs the
// loop one render (a few hundred series). Loopback by default: the numbers say who is online.
//
//   MetricsListenIP   address(es) to bind, ';'-separated (default 127.0.0.1)
//   MetricsPort       port; unset or empty: no endpoint
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/Config.h"
#include "base/Metrics.h"
#include "netlib/HttpServer.h"

namespace tt::net {

struct MetricsOptions {
  std::vector<std::string> listenIps{"127.0.0.1"};
  uint16_t port = 0;
};

// nullopt when MetricsPort is unset; a malformed key throws ConfigError.
std::optional<MetricsOptions> readMetricsOptions(const Config& config);

class MetricsServer {
 public:
  // daemon names the process in ttsuite_build_info{daemon, version}.
  MetricsServer(EventDispatch* loop, const std::string& daemon, MetricsOptions options);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  bool start(std::string* err);
  void stop();  // stop accepting and close scrapes in progress (drain: first thing to go)
  std::vector<InetAddress> listenAddresses() const { return http_.listenAddresses(); }

 private:
  HttpResponse handle(const HttpRequest& request) const;

  MetricsOptions options_;
  HttpServer http_;
  std::vector<metrics::CallbackHandle> handles_;
};

}  // namespace tt::net
