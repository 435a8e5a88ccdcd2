#pragma once
// Timers of one EventDispatch, driven by a single timerfd armed for the earliest deadline.
// Ids are never reused, so cancel(id) is safe at any time: from inside the timer's own callback
// (a repeating timer then stops), from another timer's callback, or after the timer has fired.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

#include "netlib/BaseSocket.h"

namespace tt::net {

using TimerId = uint64_t;

class TimerQueue {
 public:
  explicit TimerQueue(EventDispatch* loop);
  ~TimerQueue();

  // Loop thread only. whenMs is on the monotonic clock (EventDispatch::nowMs()).
  void add(TimerId id, int64_t whenMs, int64_t intervalMs, std::function<void()> cb);
  void cancel(TimerId id);
  size_t size() const { return timers_.size(); }

 private:
  struct Timer {
    int64_t when;
    int64_t interval;  // 0 = one-shot
    std::function<void()> callback;
  };

  void handleRead();
  void rearm();

  EventDispatch* loop_;
  const int timerfd_;
  BaseSocket socket_;
  std::unordered_map<TimerId, Timer> timers_;
  std::set<std::pair<int64_t, TimerId>> deadlines_;
  int64_t armedFor_ = -1;
};

}  // namespace tt::net
