#include "netlib/SignalWatcher.h"

#include <unistd.h>

#include "base/Signals.h"
#include "netlib/EventDispatch.h"

namespace tt::net {

SignalWatcher::SignalWatcher(EventDispatch* loop, std::function<void(int)> onSignal)
    : loop_(loop), fd_(tt::openSignalFd()), onSignal_(std::move(onSignal)) {
  socket_ = std::make_unique<BaseSocket>(loop_, fd_);
  socket_->setReadCallback([this] {
    for (int signo = tt::readSignal(fd_); signo > 0; signo = tt::readSignal(fd_)) onSignal_(signo);
  });
  socket_->enableReading();
}

SignalWatcher::~SignalWatcher() {
  socket_->remove();
  ::close(fd_);
}

}  // namespace tt::net
