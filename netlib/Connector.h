#pragma once
// Dials one peer without blocking: non-blocking connect, a connect timeout, and retries with capped
// exponential back-off and jitter (0.5 s doubling to 30 s by default) so a fleet of msg_servers does
// not hammer a restarting db_proxy in lock-step. A self-connect (possible on loopback when nothing
// listens on an ephemeral port) counts as a failure. Owned by shared_ptr; timers hold weak refs.
#include <functional>
#include <memory>

#include "netlib/BaseSocket.h"
#include "netlib/InetAddress.h"
#include "netlib/TimerQueue.h"

namespace tt::net {

class EventDispatch;

class Connector : public std::enable_shared_from_this<Connector> {
 public:
  using NewConnectionCallback = std::function<void(int fd)>;

  Connector(EventDispatch* loop, const InetAddress& server);
  ~Connector();

  void setNewConnectionCallback(NewConnectionCallback cb) { callback_ = std::move(cb); }
  void setRetryDelays(int64_t initialMs, int64_t maxMs);
  void setConnectTimeout(int64_t ms) { connectTimeoutMs_ = ms; }

  // Loop thread. start(): connect now. retryLater(): connect after the current back-off delay and
  // grow it. resetBackoff(): next delay is the initial one. stop(): cancel everything.
  void start();
  void retryLater();
  void resetBackoff() { retryDelayMs_ = initialDelayMs_; }
  void stop();

  const InetAddress& serverAddress() const { return server_; }
  int64_t currentRetryDelayMs() const { return retryDelayMs_; }

 private:
  enum class State { kIdle, kConnecting, kWaitingRetry, kStopped };

  void connect();
  void handleWrite();
  void handleTimeout();
  void fail(const std::string& why);
  int removeSocket();

  EventDispatch* loop_;
  const InetAddress server_;
  State state_ = State::kIdle;
  int fd_ = -1;
  std::unique_ptr<BaseSocket> socket_;
  TimerId timeoutTimer_ = 0;
  TimerId retryTimer_ = 0;
  int64_t initialDelayMs_ = 500;
  int64_t maxDelayMs_ = 30000;
  int64_t retryDelayMs_ = 500;
  int64_t connectTimeoutMs_ = 5000;
  int failures_ = 0;
  NewConnectionCallback callback_;
};

}  // namespace tt::net
