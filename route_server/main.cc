// route_server: config -> logging -> reactor -> route msg_server traffic until SIGTERM -> exit 0.
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "netlib/DaemonMain.h"
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
  net::DaemonParts<route::RouteServer> parts;
  parts.make = [](net::EventDispatch* loop, const DaemonStart& start, std::string* ready) {
    route::RouteOptions options = readOptions(start.config);
    *ready = fmt::format("port {} (msg_server timeout {} s)", options.listenPort, options.timeoutMs / 1000);
    return std::make_unique<route::RouteServer>(loop, options);
  };
  parts.stop = [](route::RouteServer& server, const std::function<void()>& quit) {
    server.shutdown();
    quit();  // after the closes shutdown() queued, so they run (and are logged) first
  };
  return net::runDaemon(argc, argv, "route_server", "routeserver.conf", parts);
}
