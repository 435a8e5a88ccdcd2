// push_server: config -> logging -> reactor -> providers -> accept msg_server push requests until
// SIGTERM -> drain -> exit 0.
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "base/Daemon.h"
#include "netlib/InetAddress.h"
#include "netlib/DaemonMain.h"
#include "push_server/ApnsProvider.h"
#include "push_server/PushServer.h"
#include "push_server/WebhookProvider.h"

using namespace tt;

namespace {

push::PushOptions readOptions(const Config& c) {
  push::PushOptions o;
  o.listenIps = c.getList("ListenIP");
  if (o.listenIps.empty()) o.listenIps = {"127.0.0.1"};
  o.listenPort = static_cast<uint16_t>(c.getInt("ListenPort", 8500, 1, 65535));
  o.timeoutMs = c.getInt("MsgServerTimeout", 30, 1, 3600) * 1000;
  o.maxPduSize = static_cast<uint32_t>(c.getInt("MaxPduSize", o.maxPduSize, 1024, 64 * 1024 * 1024));
  o.dbServers = c.getServerList("DBServerIP", "DBServerPort");
  if (!o.dbServers.empty()) {
    std::string err;
    if (!net::InetAddress::resolve(o.dbServers.front().host, o.dbServers.front().port, &err)) {
      c.fail("DBServerIP1", "cannot resolve '" + o.dbServers.front().host + "': " + err);
    }
  }
  o.drainMs = c.getInt("DrainTimeoutMs", 3000, 0, 60000);
  return o;
}

push::QueueOptions readQueueOptions(const Config& c) {
  push::QueueOptions q;
  q.capacity = static_cast<size_t>(c.getInt("QueueSize", 10000, 1, 10000000));
  q.maxAttempts = static_cast<int>(c.getInt("MaxAttempts", 4, 1, 100));
  q.retryBaseMs = c.getInt("RetryBaseMs", 1000, 1, 3600000);
  q.retryMaxMs = c.getInt("RetryMaxMs", 60000, 1, 86400000);
  return q;
}

// Required key of a chosen provider: the message names the provider that needs it.
std::string need(const Config& c, const std::string& key, const std::string& why) {
  if (!c.has(key)) c.fail(key, "required when " + why);
  return c.getString(key);
}

std::unique_ptr<push::Provider> makeProvider(const Config& c, const std::string& key, const std::string& name) {
  const std::string why = key + "=" + name;
  try {
    if (name == "apns") {
      push::ApnsOptions a;
      const bool sandbox = c.getBool("ApnsSandbox", false);
      a.host = c.getString("ApnsHost", sandbox ? "api.sandbox.push.apple.com" : "api.push.apple.com");
      a.port = static_cast<uint16_t>(c.getInt("ApnsPort", 443, 1, 65535));
      a.keyFile = need(c, "ApnsKeyFile", why);
      a.keyId = need(c, "ApnsKeyId", why);
      a.teamId = need(c, "ApnsTeamId", why);
      a.topic = need(c, "ApnsTopic", why);
      a.caFile = c.getString("ApnsCaFile", "");
      a.timeoutMs = c.getInt("ApnsTimeoutMs", 10000, 100, 600000);
      a.expirationSeconds = c.getInt("ApnsExpiration", 3600, 0, 30 * 86400);
      return std::make_unique<push::ApnsProvider>(a);
    }
    if (name == "webhook") {
      push::WebhookOptions w;
      const std::string url = need(c, "WebhookUrl", why);
      auto parsed = push::Url::parse(url);
      if (!parsed) c.fail("WebhookUrl", "'" + url + "' is not an http:// or https:// URL");
      w.url = *parsed;
      w.caFile = c.getString("WebhookCaFile", "");
      w.timeoutMs = c.getInt("WebhookTimeoutMs", 10000, 100, 600000);
      return std::make_unique<push::WebhookProvider>(w);
    }
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const ConfigError*>(&e)) throw;
    c.fail(key, e.what());  // key file, CA file: named with the provider key that chose them
  }
  c.fail(key, "unknown provider '" + name + "' (apns, webhook or none)");
}

}  // namespace

int main(int argc, char** argv) {
  net::DaemonParts<push::PushServer> parts;
  parts.make = [](net::EventDispatch* loop, const DaemonStart& start, std::string* ready) {
    const Config& c = start.config;
    push::PushOptions options = readOptions(c);
    push::QueueOptions queue = readQueueOptions(c);
    auto server = std::make_unique<push::PushServer>(loop, options);
    // Both client types may name the same provider: they then share one provider and queue.
    const std::string ios = c.getString("IosProvider", "none");
    const std::string android = c.getString("AndroidProvider", "none");
    if (ios != "none") {
      server->setProvider(IM::BaseDefine::CLIENT_TYPE_IOS, makeProvider(c, "IosProvider", ios), queue);
    }
    if (android != "none") {
      if (android == ios) {
        server->shareProvider(IM::BaseDefine::CLIENT_TYPE_ANDROID, IM::BaseDefine::CLIENT_TYPE_IOS);
      } else {
        server->setProvider(IM::BaseDefine::CLIENT_TYPE_ANDROID, makeProvider(c, "AndroidProvider", android), queue);
      }
    }
    *ready = fmt::format("port {} (iOS: {}, Android: {}, db_proxy: {})", options.listenPort, ios, android,
                         options.dbServers.empty() ? "none"
                                                   : options.dbServers.front().host + ":" +
                                                         std::to_string(options.dbServers.front().port));
    return server;
  };
  // Deliveries get DrainTimeoutMs; quit once they are done or dropped.
  parts.stop = [](push::PushServer& server, const std::function<void()>& quit) { server.shutdown(quit); };
  return net::runDaemon(argc, argv, "push_server", "pushserver.conf", parts);
}
