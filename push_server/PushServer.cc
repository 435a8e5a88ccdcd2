#include "push_server/PushServer.h"

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Server.pb.h"
#include "netlib/PduMetrics.h"
#include "proto/InternalCommands.h"

namespace tt::push {

namespace bd = IM::BaseDefine;
using net::ImConnPtr;
using net::ImPdu;

namespace {
constexpr size_t kMaxPendingClears = 10000;

net::ImConnOptions msgServerLinkOptions(const PushOptions& o) {
  net::ImConnOptions c;
  c.maxPduSize = o.maxPduSize;
  c.heartbeatIntervalMs = 0;  // push_server only echoes (docs/PROTOCOL.md §3.11)
  c.echoHeartbeat = true;
  c.timeoutMs = o.timeoutMs;
  c.metrics = &net::PduMetrics::forLink("msg_server");
  return c;
}

net::ImConnOptions dbLinkOptions() {
  net::ImConnOptions c;
  c.metrics = &net::PduMetrics::forLink("db_proxy");
  c.heartbeatIntervalMs = 5000;
  c.timeoutMs = 30000;
  return c;
}

const char* outcomeName(DeliveryQueue::Outcome o) {
  switch (o) {
    case DeliveryQueue::Outcome::kDelivered: return "delivered";
    case DeliveryQueue::Outcome::kInvalidToken: return "invalid token";
    case DeliveryQueue::Outcome::kRejected: return "rejected";
    case DeliveryQueue::Outcome::kGaveUp: return "gave up";
    case DeliveryQueue::Outcome::kDroppedAtStop: return "dropped at shutdown";
  }
  return "?";
}

// Tokens go to logs shortened: enough to tell two apart, not enough to push to.
std::string shortToken(const std::string& t) { return t.size() <= 12 ? t : t.substr(0, 8) + "…"; }
}  // namespace

void splitAlert(const std::string& flash, std::string* title, std::string* body) {
  const size_t colon = flash.find(':');
  if (colon == std::string::npos || colon == 0) {
    title->clear();
    *body = flash;
    return;
  }
  *title = flash.substr(0, colon);
  *body = flash.substr(colon + 1);
}

PushServer::PushServer(net::EventDispatch* loop, PushOptions options)
    : loop_(loop), options_(std::move(options)), server_(loop, "push", msgServerLinkOptions(options_)) {
  server_.setPduHandler([this](const ImConnPtr& c, const ImPdu& pdu) { dispatcher_.dispatch(c, pdu); });
  server_.setConnectHandler([this](const ImConnPtr& c) {
    spdlog::info("msg_server {} connected ({} links)", c->name(), server_.size());
  });
  server_.setCloseHandler([](const ImConnPtr& c) { spdlog::info("msg_server {} disconnected", c->name()); });
  if (!options_.dbServers.empty()) {
    const ServerAddr& a = options_.dbServers.front();
    auto addr = net::InetAddress::resolve(a.host, a.port);
    if (!addr) throw std::runtime_error("cannot resolve db_proxy address " + a.host);
    db_ = std::make_unique<net::ImClient>(loop, *addr, "db_proxy", dbLinkOptions());
    db_->setConnectHandler([this](const ImConnPtr&) { loop_->post([this] { flushClears(); }); });
    db_->setPduHandler([](const ImConnPtr& link, const ImPdu& pdu) {
      // IMDeviceTokenRsp carries no result; db_proxy logs what it did.
      spdlog::debug("db_proxy {}: command {:#06x} ignored", link->name(), pdu.commandId());
    });
  }
  registerHandlers();
  registerMetrics();
}

PushServer::~PushServer() {
  for (auto& q : queues_) q->stop(0);
}

void PushServer::setProvider(uint32_t clientType, std::unique_ptr<Provider> provider, const QueueOptions& q) {
  const std::string name = provider->name();
  const ProviderMetrics m(name);  // resolved here, once: the report below runs per notification
  QueueOptions options = q;
  options.attemptSeconds = m.attemptSeconds;
  auto queue = std::make_unique<DeliveryQueue>(
      std::move(provider), options, [this, name, m](const Notification& n, DeliveryQueue::Outcome o, const Attempt& a) {
        // Counted on the worker (an atomic), so outcomes reported after the loop stopped count too.
        m.outcome(o).inc();
        loop_->post([this, n, o, a, name] { onReport(n, o, a, name); });
      });
  routes_.push_back({clientType, queue.get(), m});
  queues_.push_back(std::move(queue));
}

void PushServer::shareProvider(uint32_t clientType, uint32_t sameAs) {
  if (const Route* r = routeFor(sameAs)) routes_.push_back({clientType, r->queue, r->metrics});
}

const PushServer::Route* PushServer::routeFor(uint32_t clientType) const {
  for (const Route& r : routes_) {
    if (r.clientType == clientType) return &r;
  }
  return nullptr;
}

// Scrape-time gauges: they read loop-thread state, and scrapes run on this loop. Providers are
// all set before start(), so the callbacks see a fixed set of queues.
void PushServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  metricHandles_.push_back(metrics::connectionsGauge("push_server", [this] {
    return std::vector<std::pair<std::string, double>>{{"msg_server", double(server_.size())}};
  }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_push_queue_depth", "Pushes in a provider's queue: waiting, waiting for a retry, or being delivered.",
      metrics::Type::kGauge, {"provider"}, [this] {
        std::vector<Sample> out;
        for (const auto& q : queues_) out.push_back({{q->provider().name()}, double(q->size())});
        return out;
      }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_push_token_clears_pending", "Invalid-token clears waiting for the db_proxy link.",
      metrics::Type::kGauge, {}, [this] { return std::vector<Sample>{{{}, double(pendingClears_.size())}}; }));
  if (db_) {
    const std::string peer = "db_proxy@" + db_->serverAddress().toString();
    metricHandles_.push_back(metrics::upstreamLinksGauge("push_server", [this, peer] {
      return std::vector<metrics::LinkState>{{"db_proxy", peer, db_->connected()}};
    }));
  }
}

bool PushServer::start(std::string* err) {
  if (!server_.listen(options_.listenIps, options_.listenPort, 128, err)) return false;
  if (db_) db_->connect();
  return true;
}

void PushServer::shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  size_t queued = 0;
  for (auto& q : queues_) queued += q->size();
  spdlog::info("shutting down: closing {} msg_server links, {} deliveries queued (drain {} ms)", server_.size(),
               queued, options_.drainMs);
  server_.stopAccepting();
  server_.closeAll();
  // The workers finish or report what is left; their reports are posted ahead of done.
  for (auto& q : queues_) q->stop(options_.drainMs);
  loop_->post([this, done = std::move(done)] {
    if (db_) db_->stop();
    done();
  });
}

void PushServer::registerHandlers() {
  dispatcher_.on<IM::Server::IMPushToUserReq>(
      bd::CID_OTHER_PUSH_TO_USER_REQ, [this](const ImConnPtr& c, const ImPdu& pdu, IM::Server::IMPushToUserReq& req) {
        IM::Server::IMPushToUserRsp rsp;
        std::string title, body;
        splitAlert(req.flash(), &title, &body);
        size_t accepted = 0;
        for (const auto& t : req.user_token_list()) {
          uint32_t result = 1;
          const Route* route = stopping_ ? nullptr : routeFor(static_cast<uint32_t>(t.user_type()));
          DeliveryQueue* q = route ? route->queue : nullptr;
          if (!q) {
            (stopping_ ? refusedStopping() : refusedNoProvider()).inc();
            spdlog::debug("user {}: no provider for client type {:#04x}, not pushed", t.user_id(),
                          static_cast<uint32_t>(t.user_type()));
          } else if (!q->provider().acceptsToken(t.token())) {
            route->metrics.refusedBadToken->inc();
            spdlog::warn("user {}: malformed {} token ({} bytes) refused", t.user_id(), q->provider().name(),
                         t.token().size());
          } else {
            Notification n;
            n.userId = t.user_id();
            n.clientType = static_cast<uint32_t>(t.user_type());
            n.token = t.token();
            n.title = title;
            n.body = body;
            n.badge = t.push_count();
            n.silent = t.push_type() == 2;
            n.data = req.data();
            if (q->submit(std::move(n))) {
              route->metrics.accepted->inc();
              result = 0;
              ++accepted;
            } else {
              route->metrics.refusedQueueFull->inc();
              spdlog::warn("user {}: {} queue full, push refused", t.user_id(), q->provider().name());
            }
          }
          auto* r = rsp.add_push_result_list();
          r->set_user_token(t.token());
          r->set_result_code(result);
        }
        spdlog::info("msg_server {}: push for {} devices, {} queued", c->name(), req.user_token_list_size(), accepted);
        c->send(bd::SID_OTHER, bd::CID_OTHER_PUSH_TO_USER_RSP, pdu.seqNum(), rsp);
      });
  dispatcher_.setUnknownHandler([](const ImConnPtr& c, const ImPdu& pdu) {
    c->close("command " + std::to_string(pdu.commandId()) + " is not a push request");
  });
}

void PushServer::onReport(const Notification& n, DeliveryQueue::Outcome outcome, const Attempt& a,
                          const std::string& provider) {
  using O = DeliveryQueue::Outcome;
  switch (outcome) {
    case O::kDelivered:
      spdlog::info("push to user {} via {} delivered (token {}, attempt {})", n.userId, provider, shortToken(n.token),
                   n.attempts);
      break;
    case O::kInvalidToken:
      spdlog::warn("push to user {} via {}: token {} is invalid ({} {}), clearing it", n.userId, provider,
                   shortToken(n.token), a.status, a.reason);
      clearToken(n);
      break;
    case O::kRejected:
    case O::kGaveUp:
    case O::kDroppedAtStop:
      spdlog::warn("push to user {} via {} dropped: {} after {} attempts (last: {} {})", n.userId, provider,
                   outcomeName(outcome), n.attempts, a.status, a.reason);
      break;
  }
}

void PushServer::clearToken(const Notification& n) {
  if (!db_) {
    spdlog::warn("user {}: invalid token not cleared (no DBServerIP1 configured)", n.userId);
    return;
  }
  if (pendingClears_.size() >= kMaxPendingClears) {
    spdlog::warn("user {}: invalid token not cleared (too many waiting for db_proxy)", n.userId);
    return;
  }
  pendingClears_.push_back(n);
  flushClears();
}

void PushServer::flushClears() {
  if (!db_ || !db_->connected()) return;
  for (const Notification& n : pendingClears_) {
    IM::Login::IMDeviceTokenReq req;
    req.set_user_id(n.userId);
    req.set_device_token("");
    req.set_client_type(static_cast<bd::ClientType>(n.clientType));
    req.set_attach_data(tt::internal::clearIfTokenAttachData(n.token));
    db_->send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_DEVICETOKEN, 0, req);
  }
  pendingClears_.clear();
}

}  // namespace tt::push
