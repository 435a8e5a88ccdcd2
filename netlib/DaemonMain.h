#pragma once
// The body of a daemon's main(), shared by the daemons whose server is one object on one loop:
//   config + logging (startDaemon) -> the loop and the signal watcher, before anything could start
//   a thread -> the server, built from the config -> start() -> serve -> SIGTERM/SIGINT: stop()
//   begins the drain and calls quit() when it is done -> the server is destroyed -> exit 0.
// Exit status 2 for a bad argument, config file or key (the line names them), 1 when the server
// cannot start (a port in use, say). MetricsPort in the config adds the /metrics endpoint
// (netlib/MetricsServer.h) on the same loop.
#include <spdlog/spdlog.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "base/Daemon.h"
#include "netlib/EventDispatch.h"
#include "netlib/MetricsServer.h"
#include "netlib/SignalWatcher.h"

namespace tt::net {

template <class Server>
struct DaemonParts {
  // Builds the server from the config (a bad key throws ConfigError) and says what its ready line
  // adds (ports, providers...). Runs on the main thread with the signals already blocked.
  std::function<std::unique_ptr<Server>(EventDispatch* loop, const DaemonStart& start, std::string* ready)> make;
  // On SIGTERM/SIGINT: begin draining; call quit() (from the loop) once done. quit() posts the end
  // of the loop, so closes queued before it still run.
  std::function<void(Server& server, const std::function<void()>& quit)> stop;
};

template <class Server>
int runDaemon(int argc, char** argv, const std::string& name, const std::string& defaultConfig,
              const DaemonParts<Server>& parts) {
  auto start = startDaemon(argc, argv, name, defaultConfig);
  if (!start) return 2;
  EventDispatch loop;
  std::unique_ptr<Server> server;
  const std::function<void()> quit = [&loop] { loop.post([&loop] { loop.quit(); }); };
  SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) {
      parts.stop(*server, quit);
    } else {
      quit();
    }
  });
  try {
    std::string ready;
    const auto metricsOptions = readMetricsOptions(start->config);  // a bad key stops start-up first
    server = parts.make(&loop, *start, &ready);
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot start: {}", err);
      return 1;
    }
    std::unique_ptr<MetricsServer> metrics;
    if (metricsOptions) {
      metrics = std::make_unique<MetricsServer>(&loop, name, *metricsOptions);
      if (!metrics->start(&err)) {
        spdlog::critical("cannot start: {}", err);
        return 1;
      }
    }
    spdlog::info("{} ready{}{}", name, ready.empty() ? "" : ": ", ready);
    loop.loop();
    metrics.reset();
    server.reset();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("{} stopped", name);
  return 0;
}

}  // namespace tt::net
