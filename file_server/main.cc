// file_server: config -> logging -> reactor -> tasks for msg_servers, transfers for clients until
// SIGTERM -> exit 0.
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

#include "base/Daemon.h"
#include "file_server/FileServer.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"

using namespace tt;

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "file_server", "fileserver.conf");
  if (!start) return 2;
  // The loop and the signal mask come first, before anything could start a thread.
  net::EventDispatch loop;
  std::unique_ptr<file::FileServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) server->shutdown();
    // Posted after the closes shutdown() queued, so they run before the loop ends.
    loop.post([&loop] { loop.quit(); });
  });
  try {
    file::FileServerOptions options = file::readFileServerOptions(start->config, start->configPath);
    server = std::make_unique<file::FileServer>(&loop, options);
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot start: {}", err);
      return 1;
    }
    spdlog::info("file_server ready: clients on port {}, msg_servers on port {}, storage {}", options.clientPort,
                 options.msgPort, options.storageDir);
    loop.loop();
    server.reset();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("file_server stopped");
  return 0;
}
