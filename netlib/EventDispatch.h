#pragma once
// The reactor: one per thread. epoll for sockets, a timerfd for timers, an eventfd so other threads
// can hand work in with post() and wake the loop at once (no polling interval, unlike the original's
// response list drained after each epoll_wait), and loop hooks that run once per iteration
// (TeamTalk's AddLoop). Everything except post(), runInLoop(), quit(), runAfter/runEvery/cancel
// must be called on the loop's own thread.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "netlib/BaseSocket.h"
#include "netlib/TimerQueue.h"

struct epoll_event;

namespace tt::net {

class EventDispatch {
 public:
  using Functor = std::function<void()>;

  EventDispatch();
  ~EventDispatch();
  EventDispatch(const EventDispatch&) = delete;
  EventDispatch& operator=(const EventDispatch&) = delete;

  // Runs until quit(). Must be called on the thread that created the loop.
  void loop();
  // Thread-safe. The current iteration finishes (including posted work), then loop() returns.
  void quit();

  // Thread-safe: queue fn to run on the loop thread after the current events, and wake the loop.
  void post(Functor fn);
  // Run now when called on the loop thread, otherwise post.
  void runInLoop(Functor fn);

  // Thread-safe. Millisecond resolution on the monotonic clock. Ids are unique for the process
  // lifetime; cancel() of a fired or unknown id is a no-op, and a timer may cancel itself.
  TimerId runAfter(int64_t delayMs, Functor fn);
  TimerId runEvery(int64_t intervalMs, Functor fn);
  void cancel(TimerId id);

  // Loop thread only. Runs fn once per loop iteration, after events and posted work.
  uint64_t addLoopHook(Functor fn);
  void removeLoopHook(uint64_t id);

  bool isInLoopThread() const { return threadId_ == std::this_thread::get_id(); }
  void assertInLoopThread() const;

  // Monotonic milliseconds, refreshed when epoll_wait returns (cheap for per-event bookkeeping).
  int64_t nowMs() const { return now_; }
  uint64_t iterations() const { return iterations_; }

  // For BaseSocket.
  void updateSocket(BaseSocket* s);
  void removeSocket(BaseSocket* s);

 private:
  void wakeup();
  void handleWakeup();
  void runPosted();
  void runHooks();
  void dropPendingEvents(BaseSocket* s);
  TimerId addTimer(int64_t delayMs, int64_t intervalMs, Functor fn);

  const std::thread::id threadId_;
  const int epollFd_;
  const int wakeupFd_;
  std::atomic<bool> quit_{false};
  bool looping_ = false;
  int64_t now_;
  uint64_t iterations_ = 0;
  // The batch loop() is dispatching, and the index of the next entry: see dropPendingEvents().
  epoll_event* batch_ = nullptr;
  int batchEnd_ = 0;
  int batchNext_ = 0;
  std::unique_ptr<BaseSocket> wakeupSocket_;
  std::unique_ptr<TimerQueue> timers_;

  std::mutex mutex_;
  std::vector<Functor> posted_;  // guarded by mutex_
  std::atomic<bool> wakePending_{false};

  struct Hook {
    uint64_t id;
    Functor fn;
  };
  std::vector<Hook> hooks_;
  uint64_t nextHookId_ = 1;
  static std::atomic<TimerId> nextTimerId_;
};

}  // namespace tt::net
