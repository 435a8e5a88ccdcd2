#pragma once
// push_server: msg_servers send CID_OTHER_PUSH_TO_USER_REQ (IMPushToUserReq: alert text, JSON
// data, one UserTokenInfo per device); each device is answered at once in IMPushToUserRsp
// (0 = accepted and queued, 1 = refused: no provider for that client type, malformed token,
// queue full) and then delivered off the reactor by the provider configured for its client type
// (DeliveryQueue: bounded, worker thread, retries with back-off). A token the provider calls
// invalid (APNs 410 / BadDeviceToken, webhook 410) is cleared through db_proxy with a
// compare-and-clear IMDeviceTokenReq, so a token the user registered again meanwhile survives.
//
// The msg_server link: heartbeats echoed, closed after 30 s of silence, and closed on any command
// other than heartbeat and 0x070f, or a body that does not parse (docs/PROTOCOL.md §4.6).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/Config.h"
#include "base/Metrics.h"
#include "netlib/Dispatcher.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImClient.h"
#include "netlib/ImServer.h"
#include "push_server/DeliveryQueue.h"
#include "push_server/PushMetrics.h"

namespace tt::push {

struct PushOptions {
  std::vector<std::string> listenIps{"127.0.0.1"};
  uint16_t listenPort = 8500;
  int64_t timeoutMs = 30000;
  uint32_t maxPduSize = 1024 * 1024;
  std::vector<ServerAddr> dbServers;  // the first is used to clear invalid tokens; none = only logged
  int64_t drainMs = 3000;             // SIGTERM: time given to queued deliveries
};

// Alert title/body from msg_server's flash text "<nick>:<text>" (docs/PROTOCOL.md §3.10.3): the nick is
// the title, the rest the body; a flash without ':' is all body.
void splitAlert(const std::string& flash, std::string* title, std::string* body);

class PushServer {
 public:
  // Providers by client type: iosQueue for CLIENT_TYPE_IOS, androidQueue for CLIENT_TYPE_ANDROID;
  // null = that type is not delivered (result 1). Queues report to this server through the loop.
  PushServer(net::EventDispatch* loop, PushOptions options);
  ~PushServer();
  PushServer(const PushServer&) = delete;
  PushServer& operator=(const PushServer&) = delete;

  // Before start(): deliver clientType through provider, with its own queue and worker.
  void setProvider(uint32_t clientType, std::unique_ptr<Provider> provider, const QueueOptions& q);
  // The other client type uses the same queue as `sameAs`.
  void shareProvider(uint32_t clientType, uint32_t sameAs);

  bool start(std::string* err);
  // SIGTERM: stop accepting, close msg_server links, let queued deliveries run for drainMs; then
  // calls done on the loop.
  void shutdown(std::function<void()> done);

 private:
  void registerHandlers();
  void registerMetrics();
  struct Route;
  const Route* routeFor(uint32_t clientType) const;
  void onReport(const Notification& n, DeliveryQueue::Outcome outcome, const Attempt& a, const std::string& provider);
  void clearToken(const Notification& n);
  void flushClears();

  net::EventDispatch* loop_;
  PushOptions options_;
  net::ImServer server_;
  net::Dispatcher dispatcher_;
  std::unique_ptr<net::ImClient> db_;
  struct Route {
    uint32_t clientType;
    DeliveryQueue* queue;
    ProviderMetrics metrics;  // the queue's provider's series
  };
  std::vector<std::unique_ptr<DeliveryQueue>> queues_;
  std::vector<Route> routes_;
  std::vector<Notification> pendingClears_;  // waiting for the db_proxy link (bounded)
  bool stopping_ = false;
  std::vector<metrics::CallbackHandle> metricHandles_;  // last: unregistered before what they read dies
};

}  // namespace tt::push
