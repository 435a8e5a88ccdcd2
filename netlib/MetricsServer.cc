#include "netlib/MetricsServer.h"

#include <spdlog/spdlog.h>

namespace tt::net {

namespace {
HttpServerOptions httpOptions() {
  HttpServerOptions o;
  o.maxRequestBytes = 4096;       // a scraper's GET with its headers
  o.idleTimeoutMs = 60000;
  o.maxOutputBytes = 16 << 20;    // one rendering, whatever the series count
  return o;
}
}  // namespace

std::optional<MetricsOptions> readMetricsOptions(const Config& c) {
  if (!c.has("MetricsPort")) {
    if (c.has("MetricsListenIP")) c.fail("MetricsListenIP", "set, but MetricsPort is not");
    return std::nullopt;
  }
  MetricsOptions o;
  o.port = c.getPort("MetricsPort");
  if (c.has("MetricsListenIP")) o.listenIps = c.getRequiredList("MetricsListenIP");
  return o;
}

MetricsServer::MetricsServer(EventDispatch* loop, const std::string& daemon, MetricsOptions options)
    : options_(std::move(options)),
      http_(loop, "metrics", httpOptions(), [this](const HttpRequest& r) { return handle(r); }) {
  auto& registry = metrics::Registry::global();
  handles_ = metrics::registerProcessMetrics(registry);
  handles_.push_back(registry.addCallback("ttsuite_build_info", "The daemon and its version; always 1.",
                                          metrics::Type::kGauge, {"daemon", "version"}, [daemon] {
                                            return std::vector<metrics::Sample>{{{daemon, TTSUITE_VERSION}, 1}};
                                          }));
}

MetricsServer::~MetricsServer() = default;

bool MetricsServer::start(std::string* err) {
  if (!http_.listen(options_.listenIps, options_.port, 64, err)) {
    *err = "metrics endpoint: " + *err;
    return false;
  }
  for (const auto& a : http_.listenAddresses()) spdlog::info("metrics on http://{}/metrics", a.toString());
  return true;
}

void MetricsServer::stop() {
  http_.stopAccepting();
  http_.closeAll();
}

HttpResponse MetricsServer::handle(const HttpRequest& request) const {
  HttpResponse res;
  res.contentType = "text/plain; version=0.0.4; charset=utf-8";
  if (request.method != "GET") {
    res.status = 405;
    res.headers.emplace_back("Allow", "GET");
    res.body = "only GET\n";
    return res;
  }
  if (request.path != "/metrics") {
    res.status = 404;
    res.body = "metrics are at /metrics\n";
    return res;
  }
  res.body = metrics::Registry::global().render();
  return res;
}

}  // namespace tt::net
