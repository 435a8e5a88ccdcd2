#pragma once
// An EventDispatch running on its own thread, for tests that drive the client library (which
// runs on a caller's loop) from a gtest thread.
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "base/Time.h"
#include "netlib/EventDispatch.h"

namespace tt::test {

class LoopThread {
 public:
  LoopThread() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      tt::net::EventDispatch loop;
      loop_ = &loop;
      ready.set_value();
      loop.loop();
    });
    ready.get_future().wait();
  }
  ~LoopThread() {
    loop_->quit();
    thread_.join();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  tt::net::EventDispatch* loop() const { return loop_; }

  // Runs f on the loop thread and returns its result.
  template <class F>
  auto call(F f) -> decltype(f()) {
    using R = decltype(f());
    std::packaged_task<R()> task(std::move(f));
    auto fut = task.get_future();
    loop_->post([&task] { task(); });
    return fut.get();
  }
  // Evaluates pred on the loop thread every 20 ms until it holds or timeoutMs pass.
  bool waitUntil(const std::function<bool()>& pred, int64_t timeoutMs) {
    const int64_t deadline = tt::monotonicMs() + timeoutMs;
    for (;;) {
      if (call(pred)) return true;
      if (tt::monotonicMs() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  std::thread thread_;
  tt::net::EventDispatch* loop_ = nullptr;
};

}  // namespace tt::test
