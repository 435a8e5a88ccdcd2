#pragma once
// SIGTERM/SIGINT/SIGHUP as ordinary loop events through a signalfd: no work in signal handlers,
// and the daemon's drain-then-stop sequence runs on its own loop thread like everything else.
#include <functional>
#include <memory>

#include "netlib/BaseSocket.h"

namespace tt::net {

class EventDispatch;

class SignalWatcher {
 public:
  // Blocks the signals in this thread (call before starting other threads) and watches them.
  SignalWatcher(EventDispatch* loop, std::function<void(int signo)> onSignal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  EventDispatch* loop_;
  int fd_;
  std::unique_ptr<BaseSocket> socket_;
  std::function<void(int)> onSignal_;
};

}  // namespace tt::net
