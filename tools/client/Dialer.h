#pragma once
// One non-blocking TCP connect with a deadline, reported exactly once: the connected fd (the
// callback owns it) or an error line. Unlike netlib's Connector it never retries by itself, so the
// caller's state machine decides what a failure means (for a client: re-run the login_server
// lookup with its own back-off). The callback is never run from inside dial() or cancel().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "netlib/InetAddress.h"
#include "netlib/TimerQueue.h"

namespace tt::net {
class BaseSocket;
class EventDispatch;
}  // namespace tt::net

namespace tt::client {

class Dialer : public std::enable_shared_from_this<Dialer> {
 public:
  // fd >= 0 on success (error empty); fd == -1 with a reason otherwise.
  using Callback = std::function<void(int fd, const std::string& error)>;

  // Loop thread. Keep the returned pointer to be able to cancel; dropping it does not cancel.
  // localIp: numeric address to bind before connecting (port chosen at connect time, so each
  // local address has its own ephemeral port range per destination); empty = the kernel's choice.
  static std::shared_ptr<Dialer> dial(net::EventDispatch* loop, const net::InetAddress& server, int64_t timeoutMs,
                                      Callback cb, const std::string& localIp = {});

  Dialer(net::EventDispatch* loop, const net::InetAddress& server, Callback cb);
  ~Dialer();
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  // Loop thread. Closes the half-open socket; the callback will not run.
  void cancel();
  const net::InetAddress& server() const { return server_; }

 private:
  void start(int64_t timeoutMs, const std::string& localIp);
  void handleWritable();
  void finish(int fd, const std::string& error);
  int releaseSocket();

  net::EventDispatch* loop_;
  const net::InetAddress server_;
  Callback callback_;
  int fd_ = -1;
  std::unique_ptr<net::BaseSocket> socket_;
  net::TimerId timer_ = 0;
};

}  // namespace tt::client
