// login_server: config -> logging -> reactor -> serve msg_server registrations, HTTP /msg_server and
// the legacy TCP lookup until SIGTERM/SIGINT, then close everything and exit 0.
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "login_server/LoginServer.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"

using namespace tt;

namespace {
login::LoginOptions readOptions(const Config& c) {
  login::LoginOptions o;
  o.clientListenIps = c.getRequiredList("ClientListenIP");
  o.clientPort = static_cast<uint16_t>(c.getInt("ClientPort", 8008, 1, 65535));
  o.httpListenIps = c.getRequiredList("HttpListenIP");
  o.httpPort = static_cast<uint16_t>(c.getInt("HttpPort", 8080, 1, 65535));
  o.msgServerListenIps = c.getRequiredList("MsgServerListenIP");
  o.msgServerPort = static_cast<uint16_t>(c.getInt("MsgServerPort", 8100, 1, 65535));
  o.msfs = c.getString("msfs");
  o.discovery = c.getString("discovery");
  o.msgServerTimeoutMs = c.getInt("MsgServerTimeout", 30, 1, 3600) * 1000;
  o.clientTimeoutMs = c.getInt("ClientTimeout", 120, 1, 3600) * 1000;
  o.httpIdleTimeoutMs = c.getInt("HttpIdleTimeout", 60, 1, 3600) * 1000;
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "login_server", "loginserver.conf");
  if (!start) return 2;
  net::EventDispatch loop;
  std::unique_ptr<login::LoginServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) {
      server->shutdown();
    } else {
      loop.quit();
    }
  });
  try {
    const login::LoginOptions options = readOptions(start->config);
    server = std::make_unique<login::LoginServer>(&loop, options);
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot listen: {}", err);
      return 1;
    }
    spdlog::info("login_server ready: msg_servers on port {}, HTTP on port {}, legacy clients on port {}",
                 options.msgServerPort, options.httpPort, options.clientPort);
    loop.loop();
    server.reset();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("login_server stopped");
  return 0;
}
