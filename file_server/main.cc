// file_server: config -> logging -> reactor -> tasks for msg_servers, transfers for clients until
// SIGTERM -> exit 0.
#include <spdlog/spdlog.h>

#include <memory>

#include "base/Daemon.h"
#include "file_server/FileServer.h"
#include "netlib/DaemonMain.h"

using namespace tt;

int main(int argc, char** argv) {
  net::DaemonParts<file::FileServer> parts;
  parts.make = [](net::EventDispatch* loop, const DaemonStart& start, std::string* ready) {
    file::FileServerOptions options = file::readFileServerOptions(start.config, start.configPath);
    *ready = fmt::format("clients on port {}, msg_servers on port {}, storage {}", options.clientPort,
                         options.msgPort, options.storageDir);
    return std::make_unique<file::FileServer>(loop, options);
  };
  parts.stop = [](file::FileServer& server, const std::function<void()>& quit) {
    server.shutdown();
    quit();  // after the closes shutdown() queued
  };
  return net::runDaemon(argc, argv, "file_server", "fileserver.conf", parts);
}
