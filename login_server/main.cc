// login_server: config -> logging -> reactor -> serve msg_server registrations, HTTP /msg_server and
// the legacy TCP lookup until SIGTERM/SIGINT, then close everything and exit 0.
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "login_server/LoginServer.h"
#include "netlib/DaemonMain.h"

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
  net::DaemonParts<login::LoginServer> parts;
  parts.make = [](net::EventDispatch* loop, const DaemonStart& start, std::string* ready) {
    const login::LoginOptions options = readOptions(start.config);
    *ready = fmt::format("msg_servers on port {}, HTTP on port {}, legacy clients on port {}", options.msgServerPort,
                         options.httpPort, options.clientPort);
    return std::make_unique<login::LoginServer>(loop, options);
  };
  // shutdown() closes everything and ends the loop itself.
  parts.stop = [](login::LoginServer& server, const std::function<void()>&) { server.shutdown(); };
  return net::runDaemon(argc, argv, "login_server", "loginserver.conf", parts);
}
