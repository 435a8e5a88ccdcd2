#pragma once
// The reactor side of db_proxy: accepts msg_server/file_server links, hands each request to the
// worker pool and delivers the responses back on the loop thread (through EventDispatch::post, so a
// finished request wakes the loop at once). On SIGTERM it stops accepting, tells every peer
// CID_OTHER_STOP_RECV_PACKET, lets queued work finish, flushes responses and quits, within a bound.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/Metrics.h"
#include "base/ThreadPool.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/MessageStore.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImServer.h"

namespace tt::dbproxy {

struct DbProxyOptions {
  std::vector<std::string> listenIps{"127.0.0.1"};
  uint16_t listenPort = 10600;
  int backlog = 1024;
  size_t threads = 8;
  size_t messageWriters = 2;     // MessageStore writer threads (group commit)
  size_t messageBatch = 256;     // messages per transaction at most
  uint32_t maxPduSize = net::kDefaultMaxPduSize;
  int64_t shutdownTimeoutMs = 10000;
};

class DbProxyServer {
 public:
  DbProxyServer(net::EventDispatch* loop, const DbProxyOptions& options, DbContext& context,
                const HandlerTable& handlers);
  ~DbProxyServer();
  DbProxyServer(const DbProxyServer&) = delete;
  DbProxyServer& operator=(const DbProxyServer&) = delete;

  bool start(std::string* err);
  // Drain, then quit the loop (SIGTERM).
  void beginShutdown();
  // After the loop has returned: stop the workers (running handlers finish).
  void stopWorkers();

  std::vector<net::InetAddress> listenAddresses() const { return server_.listenAddresses(); }
  size_t connectionCount() const { return server_.size(); }
  size_t inflight() const { return inflight_.load(); }

  // Runs fn on a worker and delivers its Response to conn (used by the message store too).
  void submit(net::ConnId conn, uint64_t key, bool keyed, std::function<void(Response&)> fn, uint16_t seq);
  // Loop thread: send what a worker produced, if the connection is still there.
  void deliver(net::ConnId conn, std::vector<std::string> pdus, const std::string& closeReason);

 private:
  void onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onMessageData(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void checkDrained();
  void registerMetrics();

  net::EventDispatch* loop_;
  DbProxyOptions options_;
  DbContext& context_;
  const HandlerTable& handlers_;
  net::ImServer server_;
  ThreadPool pool_;
  MessageStore messages_;
  std::atomic<size_t> inflight_{0};
  bool draining_ = false;
  int64_t drainDeadlineMs_ = 0;
  net::TimerId drainTimer_ = 0;
  std::vector<metrics::CallbackHandle> metricHandles_;  // scrape-time gauges reading the above
};

}  // namespace tt::dbproxy
