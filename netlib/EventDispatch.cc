#include "netlib/EventDispatch.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "base/Time.h"

namespace tt::net {

std::atomic<TimerId> EventDispatch::nextTimerId_{1};

namespace {
int createEpoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  return fd;
}
int createEventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  return fd;
}
// Work handed to the loop must not unwind through it: log and carry on with the next item.
void runGuarded(const std::function<void()>& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("exception escaped {}: {}", what, e.what());
  } catch (...) {
    spdlog::error("unknown exception escaped {}", what);
  }
}
}  // namespace

EventDispatch::EventDispatch()
    : threadId_(std::this_thread::get_id()),
      epollFd_(createEpoll()),
      wakeupFd_(createEventfd()),
      now_(tt::monotonicMs()) {
  wakeupSocket_ = std::make_unique<BaseSocket>(this, wakeupFd_);
  wakeupSocket_->setReadCallback([this] { handleWakeup(); });
  wakeupSocket_->enableReading();
  timers_ = std::make_unique<TimerQueue>(this);
}

EventDispatch::~EventDispatch() {
  timers_.reset();
  wakeupSocket_->remove();
  wakeupSocket_.reset();
  ::close(wakeupFd_);
  ::close(epollFd_);
}

void EventDispatch::assertInLoopThread() const {
  if (!isInLoopThread()) {
    spdlog::critical("EventDispatch used from a foreign thread");
    std::abort();
  }
}

void EventDispatch::loop() {
  assertInLoopThread();
  looping_ = true;
  std::vector<epoll_event> events(256);
  while (!quit_.load(std::memory_order_acquire)) {
    const int n = ::epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()), -1);
    now_ = tt::monotonicMs();
    ++iterations_;
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("epoll_wait: {}", std::strerror(errno));
      break;
    }
    batch_ = events.data();
    batchEnd_ = n;
    for (batchNext_ = 0; batchNext_ < batchEnd_;) {
      const epoll_event ev = events[batchNext_++];
      if (ev.data.ptr) static_cast<BaseSocket*>(ev.data.ptr)->handleEvent(ev.events);
    }
    batch_ = nullptr;
    batchEnd_ = batchNext_ = 0;
    if (static_cast<size_t>(n) == events.size()) events.resize(events.size() * 2);
    runPosted();
    if (!hooks_.empty()) runHooks();
  }
  runPosted();
  looping_ = false;
}

void EventDispatch::runHooks() {
  // A hook may add or remove hooks (itself included): run over a snapshot of ids, each hook from a
  // copy so removing it while it runs is safe.
  std::vector<uint64_t> ids;
  ids.reserve(hooks_.size());
  for (const Hook& h : hooks_) ids.push_back(h.id);
  for (uint64_t id : ids) {
    for (const Hook& h : hooks_) {
      if (h.id == id) {
        Functor fn = h.fn;
        runGuarded(fn, "loop hook");
        break;
      }
    }
  }
}

void EventDispatch::quit() {
  quit_.store(true, std::memory_order_release);
  if (!isInLoopThread()) wakeup();
}

void EventDispatch::post(Functor fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  // One eventfd write per batch: skip it if a wake-up is already on its way. runPosted() clears the
  // flag before it takes the queue, so work queued after that always causes a new wake-up.
  if (!wakePending_.exchange(true, std::memory_order_acq_rel)) wakeup();
}

void EventDispatch::runInLoop(Functor fn) {
  if (isInLoopThread()) {
    fn();
  } else {
    post(std::move(fn));
  }
}

void EventDispatch::wakeup() {
  uint64_t one = 1;
  const ssize_t n = ::write(wakeupFd_, &one, sizeof one);
  if (n != sizeof one && errno != EAGAIN) spdlog::error("eventfd write: {}", std::strerror(errno));
}

void EventDispatch::handleWakeup() {
  uint64_t count;
  (void)!::read(wakeupFd_, &count, sizeof count);
}

void EventDispatch::runPosted() {
  std::vector<Functor> work;
  wakePending_.store(false, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work.swap(posted_);
  }
  for (Functor& fn : work) runGuarded(fn, "posted work");
}

TimerId EventDispatch::addTimer(int64_t delayMs, int64_t intervalMs, Functor fn) {
  const TimerId id = nextTimerId_.fetch_add(1, std::memory_order_relaxed);
  if (delayMs < 0) delayMs = 0;
  if (isInLoopThread()) {
    timers_->add(id, tt::monotonicMs() + delayMs, intervalMs, std::move(fn));
  } else {
    const int64_t when = tt::monotonicMs() + delayMs;
    post([this, id, when, intervalMs, fn = std::move(fn)]() mutable { timers_->add(id, when, intervalMs, std::move(fn)); });
  }
  return id;
}

TimerId EventDispatch::runAfter(int64_t delayMs, Functor fn) { return addTimer(delayMs, 0, std::move(fn)); }

TimerId EventDispatch::runEvery(int64_t intervalMs, Functor fn) {
  if (intervalMs < 1) intervalMs = 1;
  return addTimer(intervalMs, intervalMs, std::move(fn));
}

void EventDispatch::cancel(TimerId id) {
  if (isInLoopThread()) {
    timers_->cancel(id);
  } else {
    post([this, id] { timers_->cancel(id); });
  }
}

uint64_t EventDispatch::addLoopHook(Functor fn) {
  assertInLoopThread();
  const uint64_t id = nextHookId_++;
  hooks_.push_back(Hook{id, std::move(fn)});
  return id;
}

void EventDispatch::removeLoopHook(uint64_t id) {
  assertInLoopThread();
  for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
    if (it->id == id) {
      hooks_.erase(it);
      return;
    }
  }
}

void EventDispatch::updateSocket(BaseSocket* s) {
  assertInLoopThread();
  epoll_event ev{};
  ev.events = s->events();
  ev.data.ptr = s;
  if (!s->registered()) {
    if (s->isNoneEvent()) return;
    if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, s->fd(), &ev) != 0) {
      spdlog::error("epoll_ctl ADD fd {}: {}", s->fd(), std::strerror(errno));
      return;
    }
    s->setRegistered(true);
  } else if (s->isNoneEvent()) {
    if (::epoll_ctl(epollFd_, EPOLL_CTL_DEL, s->fd(), &ev) != 0) {
      spdlog::error("epoll_ctl DEL fd {}: {}", s->fd(), std::strerror(errno));
    }
    s->setRegistered(false);
    dropPendingEvents(s);
  } else if (::epoll_ctl(epollFd_, EPOLL_CTL_MOD, s->fd(), &ev) != 0) {
    spdlog::error("epoll_ctl MOD fd {}: {}", s->fd(), std::strerror(errno));
  }
}

void EventDispatch::removeSocket(BaseSocket* s) {
  assertInLoopThread();
  if (s->registered()) {
    epoll_event ev{};
    ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, s->fd(), &ev);
    s->setRegistered(false);
    dropPendingEvents(s);
  }
}

void EventDispatch::dropPendingEvents(BaseSocket* s) {
  // s left epoll while a batch is being dispatched, maybe from another socket's callback that is
  // about to destroy it (SIGTERM stopping the listeners, a timer dropping a client). Its entry later
  // in this batch would call into freed memory, or into a new socket at the same address: clear it.
  // epoll is level-triggered, so a socket registered again still hears of it on the next wait.
  for (int i = batchNext_; i < batchEnd_; ++i) {
    if (batch_[i].data.ptr == s) batch_[i].data.ptr = nullptr;
  }
}

}  // namespace tt::net
