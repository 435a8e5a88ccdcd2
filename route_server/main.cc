// route_server: config -> logging -> reactor -> route msg_server traffic until SIGTERM -> exit 0.
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"
#include "route_server/RouteServer.h"

using namespace tt;

namespace {
route::RouteOptions readOptions(const Config& c) {
  route::RouteOptions o;
  o.listenIps = c.getList("ListenIP");
  if (o.listenIps.empty()) o.listenIps = {"0.0.0.0"};
  o.listenPort = static_cast<uint16_t>(c.getInt("ListenMsgPort", 8200, 1, 65535));
  o.timeoutMs = c.getInt("MsgServerTimeout", 30, 1, 3600) * 1000;
  o.maxPduSize = static_cast<uint32_t>(c.getInt("MaxPduSize", o.maxPduSize, 1024, 64 * 1024 * 1024));
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "route_server", "routeserver.conf");
  if (!start) return 2;
  // The loop and the signal mask come first, before anything could start a thread.
  net::EventDispatch loop;
  std::unique_ptr<route::RouteServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) server->shutdown();
    // Posted after the closes shutdown() queued, so they run (and are logged) before the loop ends.
    loop.post([&loop] { loop.quit(); });
  });
  try {
    route::RouteOptions options = readOptions(start->config);
    server = std::make_unique<route::RouteServer>(&loop, options);
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot listen: {}", err);
      return 1;
    }
    spdlog::info("route_server ready on port {} (msg_server timeout {} s)", options.listenPort,
                 options.timeoutMs / 1000);
    loop.loop();
    server.reset();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("route_server stopped");
  return 0;
}
