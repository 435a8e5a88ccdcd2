#include "netlib/TimerQueue.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/Time.h"
#include "netlib/EventDispatch.h"

namespace tt::net {

namespace {
int createTimerfd() {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("timerfd_create: ") + std::strerror(errno));
  return fd;
}
}  // namespace

TimerQueue::TimerQueue(EventDispatch* loop) : loop_(loop), timerfd_(createTimerfd()), socket_(loop, timerfd_) {
  socket_.setReadCallback([this] { handleRead(); });
  socket_.enableReading();
}

TimerQueue::~TimerQueue() {
  socket_.remove();
  ::close(timerfd_);
}

void TimerQueue::add(TimerId id, int64_t whenMs, int64_t intervalMs, std::function<void()> cb) {
  timers_[id] = Timer{whenMs, intervalMs, std::move(cb)};
  deadlines_.emplace(whenMs, id);
  rearm();
}

void TimerQueue::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  deadlines_.erase({it->second.when, id});
  timers_.erase(it);
  rearm();
}

void TimerQueue::rearm() {
  if (deadlines_.empty()) {
    if (armedFor_ != -1) {
      itimerspec off{};
      ::timerfd_settime(timerfd_, 0, &off, nullptr);
      armedFor_ = -1;
    }
    return;
  }
  const int64_t next = deadlines_.begin()->first;
  if (next == armedFor_) return;
  // Absolute deadline on CLOCK_MONOTONIC: no drift from the time spent getting here.
  itimerspec spec{};
  int64_t when = next < 1 ? 1 : next;
  spec.it_value.tv_sec = when / 1000;
  spec.it_value.tv_nsec = (when % 1000) * 1000000;
  if (::timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    spdlog::error("timerfd_settime: {}", std::strerror(errno));
  }
  armedFor_ = next;
}

void TimerQueue::handleRead() {
  uint64_t expirations;
  (void)!::read(timerfd_, &expirations, sizeof expirations);
  armedFor_ = -1;
  const int64_t now = tt::monotonicMs();
  // Collect first: callbacks may add or cancel timers while we run them.
  std::vector<TimerId> due;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    due.push_back(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback in this batch
    // Move the callback out so the timer may cancel itself (erasing its entry) while running.
    std::function<void()> cb = std::move(it->second.callback);
    const bool repeating = it->second.interval > 0;
    if (!repeating) timers_.erase(it);
    cb();
    if (repeating) {
      auto again = timers_.find(id);
      if (again != timers_.end()) {
        again->second.callback = std::move(cb);
        again->second.when = now + again->second.interval;
        deadlines_.emplace(again->second.when, id);
      }
    }
  }
  rearm();
}

}  // namespace tt::net
