// msg_server: config -> logging -> reactor -> client port + upstream links -> serve until SIGTERM.
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "msg_server/MsgServer.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"

using namespace tt;

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "msg_server", "msgserver.conf");
  if (!start) return 2;
  net::EventDispatch loop;
  std::unique_ptr<msg::MsgServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) {
      server->beginShutdown();
    } else {
      loop.quit();
    }
  });
  try {
    server = std::make_unique<msg::MsgServer>(&loop, msg::readMsgServerOptions(start->config));
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot listen: {}", err);
      return 1;
    }
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("msg_server ready");
  loop.loop();
  server.reset();
  spdlog::info("msg_server stopped");
  return 0;
}
