#pragma once
// One file descriptor's registration with an EventDispatch: which events we want and what to call
// when they arrive (muduo's Channel; TeamTalk's CBaseSocket without the ownership). It does not own
// the fd. Interest changes are applied to epoll at once; EPOLLOUT is asked for only while a writer
// has output pending, so an idle connection never wakes the loop.
#include <cstdint>
#include <functional>
#include <memory>

namespace tt::net {

class EventDispatch;

class BaseSocket {
 public:
  using EventCallback = std::function<void()>;

  BaseSocket(EventDispatch* loop, int fd);
  ~BaseSocket();
  BaseSocket(const BaseSocket&) = delete;
  BaseSocket& operator=(const BaseSocket&) = delete;

  void setReadCallback(EventCallback cb) { readCallback_ = std::move(cb); }
  void setWriteCallback(EventCallback cb) { writeCallback_ = std::move(cb); }
  void setCloseCallback(EventCallback cb) { closeCallback_ = std::move(cb); }
  void setErrorCallback(EventCallback cb) { errorCallback_ = std::move(cb); }

  // Keeps the owner (a connection) alive while one of its callbacks runs, so the owner may be
  // closed and released from inside that callback.
  void tie(const std::shared_ptr<void>& owner);

  int fd() const { return fd_; }
  uint32_t events() const { return events_; }
  bool isWriting() const { return events_ & kWriteEvents; }
  bool isReading() const { return events_ & kReadEvents; }
  bool isNoneEvent() const { return events_ == 0; }

  void enableReading() { events_ |= kReadEvents; update(); }
  void disableReading() { events_ &= ~kReadEvents; update(); }
  void enableWriting() { events_ |= kWriteEvents; update(); }
  void disableWriting() { events_ &= ~kWriteEvents; update(); }
  void disableAll() { events_ = 0; update(); }
  // Unregisters from the loop; must be called before destruction if ever registered. Once it is
  // unregistered (here or by disableAll()) no event of the batch being dispatched reaches it, so
  // another socket's callback may destroy it; its own callback must defer that (post()).
  void remove();

  void handleEvent(uint32_t revents);
  EventDispatch* loop() const { return loop_; }

  // Bookkeeping for EventDispatch only.
  bool registered() const { return registered_; }
  void setRegistered(bool r) { registered_ = r; }

 private:
  static constexpr uint32_t kReadEvents = 0x001 | 0x002;  // EPOLLIN | EPOLLPRI
  static constexpr uint32_t kWriteEvents = 0x004;         // EPOLLOUT

  void update();
  void handleEventGuarded(uint32_t revents);

  EventDispatch* loop_;
  const int fd_;
  uint32_t events_ = 0;
  bool registered_ = false;
  bool handlingEvent_ = false;
  bool tied_ = false;
  std::weak_ptr<void> tie_;
  EventCallback readCallback_;
  EventCallback writeCallback_;
  EventCallback closeCallback_;
  EventCallback errorCallback_;
};

}  // namespace tt::net
