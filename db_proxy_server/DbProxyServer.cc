#include "db_proxy_server/DbProxyServer.h"

#include <exception>

#include <google/protobuf/io/coded_stream.h>
#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Server.pb.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/storage/Storage.h"

namespace tt::dbproxy {

namespace {
net::ImConnOptions connOptions(const DbProxyOptions& o) {
  net::ImConnOptions c;
  c.maxPduSize = o.maxPduSize;
  c.heartbeatIntervalMs = 5000;  // db_proxy sends its own heartbeat when idle, swallows the peer's
  c.timeoutMs = 30000;
  c.echoHeartbeat = false;
  // Responses to a busy msg_server can pile up briefly; a peer that stops reading is cut at 64 MiB.
  c.maxOutputBytes = 64 * 1024 * 1024;
  c.metrics = &net::PduMetrics::forLink("db_client");
  return c;
}
// Field 1 of every SID_MSG request is the user id (uint32 varint); 0 if the body does not start
// with it. Read without parsing the whole message: the worker parses it anyway.
uint64_t leadingUserId(std::string_view body) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()),
                                             static_cast<int>(body.size()));
  uint32_t value = 0;
  if (in.ReadTag() == ((1u << 3) | 0u) && in.ReadVarint32(&value)) return value;
  return 0;
}
}  // namespace

DbProxyServer::DbProxyServer(net::EventDispatch* loop, const DbProxyOptions& options, DbContext& context,
                             const HandlerTable& handlers)
    : loop_(loop),
      options_(options),
      context_(context),
      handlers_(handlers),
      server_(loop, "db_proxy", connOptions(options)),
      pool_(options.threads, "dbworker"),
      messages_(context, options.messageWriters, options.messageBatch,
                [this](net::ConnId conn, std::vector<std::string> pdus) {
                  const size_t n = pdus.size();
                  loop_->post([this, conn, n, pdus = std::move(pdus)]() mutable {
                    deliver(conn, std::move(pdus), std::string());
                    inflight_.fetch_sub(n);
                  });
                }) {
  server_.setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& pdu) { onPdu(c, pdu); });
  server_.setConnectHandler(
      [](const net::ImConnPtr& c) { spdlog::info("peer {} connected", c->tcp()->peerAddress().toString()); });
  server_.setCloseHandler(
      [](const net::ImConnPtr& c) { spdlog::info("peer {} disconnected", c->tcp()->peerAddress().toString()); });
  registerMetrics();
}

void DbProxyServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  using metrics::Type;
  metricHandles_.push_back(metrics::connectionsGauge("db_proxy_server", [this] {
    return std::vector<std::pair<std::string, double>>{{"peer", double(server_.size())}};
  }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_dbproxy_queue_depth", "Requests queued for a worker, not yet started, by queue.", Type::kGauge, {"queue"},
      [this] {
        return std::vector<Sample>{{{"worker"}, double(pool_.pending())}, {{"message_writer"}, double(messages_.pending())}};
      }));
  metricHandles_.push_back(r.addCallback("ttsuite_dbproxy_inflight_requests",
                                         "Requests accepted and not yet answered (queued or running).", Type::kGauge, {},
                                         [this] { return std::vector<Sample>{{{}, double(inflight_.load())}}; }));
  // The pools' own counters, read when scraped.
  auto pools = [this] {
    std::vector<std::pair<std::pair<std::string, std::string>, db::PoolStats>> out;
    db::Storage& st = context_.storage;
    out.push_back({{"mysql", st.master().name()}, st.master().stats()});
    if (st.hasSeparateSlave()) out.push_back({{"mysql", st.slave().name()}, st.slave().stats()});
    for (const auto& name : st.cacheNames()) out.push_back({{"redis", name}, st.cache(name).stats()});
    return out;
  };
  auto add = [&](const char* name, const char* help, Type type, auto field) {
    metricHandles_.push_back(r.addCallback(name, help, type, {"kind", "pool"}, [pools, field] {
      std::vector<Sample> out;
      for (const auto& [key, stats] : pools()) out.push_back({{key.first, key.second}, double(field(stats))});
      return out;
    }));
  };
  add("ttsuite_dbproxy_pool_leased", "Pooled connections in use.", Type::kGauge, [](const db::PoolStats& s) { return s.leased; });
  add("ttsuite_dbproxy_pool_idle", "Pooled connections open and idle.", Type::kGauge, [](const db::PoolStats& s) { return s.idle; });
  add("ttsuite_dbproxy_pool_waiting", "Threads waiting for a pooled connection now.", Type::kGauge,
      [](const db::PoolStats& s) { return s.waiting; });
  add("ttsuite_dbproxy_pool_timeouts_total", "Takes that found no free connection in time.", Type::kCounter,
      [](const db::PoolStats& s) { return s.timeouts; });
  add("ttsuite_dbproxy_pool_connect_failures_total", "Connection opens that failed (server down, bad credentials).",
      Type::kCounter, [](const db::PoolStats& s) { return s.connectFailures; });
  add("ttsuite_dbproxy_pool_discarded_total", "Connections closed because an I/O error broke them.", Type::kCounter,
      [](const db::PoolStats& s) { return s.discarded + s.replaced; });
}

DbProxyServer::~DbProxyServer() {
  messages_.stop();
  pool_.stop();
  loop_->cancel(drainTimer_);
}

bool DbProxyServer::start(std::string* err) { return server_.listen(options_.listenIps, options_.listenPort, options_.backlog, err); }

void DbProxyServer::onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  if (pdu.commandId() == IM::BaseDefine::CID_MSG_DATA) {
    onMessageData(conn, pdu);
    return;
  }
  const HandlerTable::Entry* entry = handlers_.find(pdu.commandId());
  if (!entry) {
    spdlog::warn("peer {}: no handler for command {:#06x}, dropped", conn->name(), pdu.commandId());
    return;
  }
  Request req;
  req.conn = conn->id();
  req.header = pdu.header;
  req.body.assign(pdu.body.data(), pdu.body.size());
  const HandlerTable::Entry* e = entry;
  // One user's message-service requests (read ack, unread count, history) run in the order they
  // arrived, on one worker: an unread count asked right after a read ack sees that ack.
  const bool keyed = pdu.serviceId() == IM::BaseDefine::SID_MSG;
  const uint64_t key = keyed ? leadingUserId(pdu.body) : 0;
  submit(
      conn->id(), key, keyed,
      [this, e, req = std::move(req)](Response& res) { e->fn(context_, req, res); }, pdu.seqNum());
}

void DbProxyServer::onMessageData(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  // Parsed here, on the loop thread, because the conversation decides which writer stores it.
  MessageStore::Job job;
  if (!pdu.parse(&job.msg)) {
    conn->close("malformed IMMsgData body (" + std::to_string(pdu.body.size()) + " bytes)");
    return;
  }
  job.conn = conn->id();
  job.seq = pdu.seqNum();
  inflight_.fetch_add(1);
  if (!messages_.submit(std::move(job))) {
    inflight_.fetch_sub(1);
    spdlog::warn("message store stopped: message on connection #{} dropped unanswered", conn->id());
  }
}

void DbProxyServer::submit(net::ConnId conn, uint64_t key, bool keyed, std::function<void(Response&)> fn,
                           uint16_t seq) {
  inflight_.fetch_add(1);
  auto task = [this, conn, seq, fn = std::move(fn)] {
    Response res(conn, seq);
    try {
      fn(res);
    } catch (const std::exception& e) {
      // A handler that throws answers nothing; the peer's request times out on its side. Storage
      // errors are caught inside handlers, which answer with the protocol's error codes.
      spdlog::error("handler failed on connection #{}: {}", conn, e.what());
    }
    std::string closeReason = res.closeReason();
    loop_->post([this, conn, pdus = std::move(res.pdus()), closeReason = std::move(closeReason)]() mutable {
      deliver(conn, std::move(pdus), closeReason);
      inflight_.fetch_sub(1);
    });
  };
  const bool queued = keyed ? pool_.submitKeyed(key, std::move(task)) : pool_.submit(std::move(task));
  if (!queued) {
    inflight_.fetch_sub(1);
    spdlog::warn("worker pool stopped: request on connection #{} dropped", conn);
  }
}

void DbProxyServer::deliver(net::ConnId conn, std::vector<std::string> pdus, const std::string& closeReason) {
  net::ImConnPtr c = server_.find(conn);
  if (!c) return;  // the peer went away while its request ran
  for (auto& p : pdus) c->sendRaw(std::move(p));
  if (!closeReason.empty()) c->close(closeReason);
}

void DbProxyServer::beginShutdown() {
  if (draining_) return;
  draining_ = true;
  spdlog::info("shutting down: {} connections, {} requests in flight", server_.size(), inflight_.load());
  server_.stopAccepting();
  IM::Server::IMStopReceivePacket stop;
  stop.set_result(0);
  for (auto& [id, conn] : server_.connections()) {
    conn->send(IM::BaseDefine::SID_OTHER, IM::BaseDefine::CID_OTHER_STOP_RECV_PACKET, 0, stop);
  }
  drainDeadlineMs_ = loop_->nowMs() + options_.shutdownTimeoutMs;
  drainTimer_ = loop_->runEvery(20, [this] { checkDrained(); });
}

void DbProxyServer::checkDrained() {
  bool outputPending = false;
  for (auto& [id, conn] : server_.connections()) {
    if (conn->tcp()->pendingOutputBytes() > 0) outputPending = true;
  }
  const bool done = inflight_.load() == 0 && !outputPending;
  if (!done && loop_->nowMs() < drainDeadlineMs_) return;
  if (!done) {
    spdlog::warn("shutdown deadline reached with {} requests in flight; quitting anyway", inflight_.load());
  }
  loop_->cancel(drainTimer_);
  loop_->quit();
}

void DbProxyServer::stopWorkers() {
  messages_.stop();
  pool_.stop();
}

}  // namespace tt::dbproxy
