// db_proxy_server: config -> logging -> storage pools -> reactor -> serve until SIGTERM, drain, exit 0.
#include <mysql.h>

#include <cstdio>
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/DbProxyServer.h"
#include "db_proxy_server/GroupSync.h"
#include "db_proxy_server/Relations.h"
#include "db_proxy_server/auth/CredentialCache.h"
#include "db_proxy_server/auth/LoginThrottle.h"
#include "db_proxy_server/storage/Storage.h"
#include "netlib/EventDispatch.h"
#include "netlib/MetricsServer.h"
#include "netlib/SignalWatcher.h"

using namespace tt;

namespace {
dbproxy::DbProxyOptions readOptions(const Config& c) {
  dbproxy::DbProxyOptions o;
  o.listenIps = c.getRequiredList("ListenIP");
  o.listenPort = c.getPort("ListenPort");
  o.threads = static_cast<size_t>(c.getInt("ThreadNum", 8, 1, 256));
  o.messageWriters = static_cast<size_t>(c.getInt("MsgWriterNum", 2, 1, 64));
  o.messageBatch = static_cast<size_t>(c.getInt("MsgBatchSize", 256, 1, 4096));
  o.maxPduSize = static_cast<uint32_t>(c.getInt("MaxPduSize", net::kDefaultMaxPduSize, 1024, 64 * 1024 * 1024));
  o.shutdownTimeoutMs = c.getInt("ShutdownTimeout", 10, 1, 600) * 1000;
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "db_proxy_server", "dbproxyserver.conf");
  if (!start) return 2;
  const Config& config = start->config;
  // The reactor's loop object must exist before any thread starts, and the signal mask with it.
  net::EventDispatch loop;
  bool stopping = false;
  std::unique_ptr<dbproxy::DbProxyServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (!stopping && server) {
      stopping = true;
      server->beginShutdown();
    } else if (!server) {
      loop.quit();
    }
  });
  if (mysql_library_init(0, nullptr, nullptr) != 0) {
    std::fprintf(stderr, "db_proxy_server: mysql_library_init failed\n");
    return 1;
  }
  try {
    dbproxy::DbProxyOptions options = readOptions(config);
    const auto metricsOptions = net::readMetricsOptions(config);
    db::Storage storage = db::Storage::fromConfig(config);
    auth::CredentialCache::Options cacheOptions;
    cacheOptions.ttlMs = config.getInt("CredentialCacheSeconds", 600, 0, 86400) * 1000;
    auth::CredentialCache credentials(cacheOptions);
    auth::LoginThrottle throttle;
    dbproxy::RelationCache relations;
    dbproxy::DbContext context{storage, credentials, throttle, relations};

    dbproxy::HandlerTable handlers;
    dbproxy::registerLoginHandlers(handlers);
    dbproxy::registerBuddyHandlers(handlers);
    dbproxy::registerMessageHandlers(handlers);
    dbproxy::registerGroupHandlers(handlers);
    dbproxy::registerFileHandlers(handlers);
    dbproxy::registerOtherHandlers(handlers);

    server = std::make_unique<dbproxy::DbProxyServer>(&loop, options, context, handlers);
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot listen: {}", err);
      return 1;
    }
    std::unique_ptr<net::MetricsServer> metrics;
    if (metricsOptions) {
      metrics = std::make_unique<net::MetricsServer>(&loop, "db_proxy_server", *metricsOptions);
      if (!metrics->start(&err)) {
        spdlog::critical("cannot start: {}", err);
        return 1;
      }
    }
    dbproxy::GroupSync groupSync(context, config.getInt("GroupSyncIntervalMs", 5000, 100, 600000));
    spdlog::info("db_proxy_server ready: {} handlers, {} workers", handlers.size(), options.threads);
    loop.loop();
    groupSync.stop();
    metrics.reset();
    server->stopWorkers();
    server.reset();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  mysql_library_end();
  spdlog::info("db_proxy_server stopped");
  return 0;
}
