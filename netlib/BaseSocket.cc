#include "netlib/BaseSocket.h"

#include <sys/epoll.h>

#include <cassert>

#include "netlib/EventDispatch.h"

namespace tt::net {

static_assert(EPOLLIN == 0x001 && EPOLLPRI == 0x002 && EPOLLOUT == 0x004, "epoll bit values");

BaseSocket::BaseSocket(EventDispatch* loop, int fd) : loop_(loop), fd_(fd) {}

BaseSocket::~BaseSocket() {
  assert(!handlingEvent_);
  assert(!registered_);
}

void BaseSocket::tie(const std::shared_ptr<void>& owner) {
  tie_ = owner;
  tied_ = true;
}

void BaseSocket::update() { loop_->updateSocket(this); }

void BaseSocket::remove() {
  events_ = 0;
  loop_->removeSocket(this);
}

void BaseSocket::handleEvent(uint32_t revents) {
  if (tied_) {
    std::shared_ptr<void> guard = tie_.lock();
    if (guard) handleEventGuarded(revents);
    return;
  }
  handleEventGuarded(revents);
}

void BaseSocket::handleEventGuarded(uint32_t revents) {
  handlingEvent_ = true;
  // Hang-up with nothing left to read: the peer is gone.
  if ((revents & EPOLLHUP) && !(revents & EPOLLIN)) {
    if (closeCallback_) closeCallback_();
  }
  if (revents & EPOLLERR) {
    if (errorCallback_) errorCallback_();
  }
  if (revents & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) {
    if (readCallback_) readCallback_();
  }
  if (revents & EPOLLOUT) {
    if (writeCallback_) writeCallback_();
  }
  handlingEvent_ = false;
}

}  // namespace tt::net
