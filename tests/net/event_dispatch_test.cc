#include "netlib/EventDispatch.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/Time.h"

using tt::net::EventDispatch;
using tt::net::TimerId;

namespace {
// Every test loop stops by itself: a hung reactor fails the test instead of the whole suite.
void watchdog(EventDispatch& loop, int64_t ms = 10000) {
  loop.runAfter(ms, [&loop] {
    ADD_FAILURE() << "watchdog fired";
    loop.quit();
  });
}
}  // namespace

TEST(Timers, FireInDeadlineOrder) {
  EventDispatch loop;
  std::vector<int> order;
  loop.runAfter(30, [&] { order.push_back(30); });
  loop.runAfter(10, [&] { order.push_back(10); });
  loop.runAfter(20, [&] { order.push_back(20); });
  loop.runAfter(0, [&] { order.push_back(0); });
  loop.runAfter(60, [&] { loop.quit(); });
  watchdog(loop);
  const int64_t start = tt::monotonicMs();
  loop.loop();
  EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 30}));
  EXPECT_GE(tt::monotonicMs() - start, 55);
}

TEST(Timers, RepeatingTimerCancelsItselfFromItsCallback) {
  EventDispatch loop;
  int calls = 0;
  TimerId id = 0;
  id = loop.runEvery(5, [&] {
    if (++calls != 3) return;
    loop.cancel(id);
    // Timers fire in deadline order: a fourth call (due 5 ms on) would run before this one.
    loop.runAfter(30, [&] { loop.quit(); });
  });
  watchdog(loop);
  loop.loop();
  EXPECT_EQ(calls, 3);
}

TEST(Timers, CallbackCancelsALaterTimerDueInTheSameBatch) {
  EventDispatch loop;
  bool secondRan = false;
  TimerId second = 0;
  loop.runAfter(20, [&] { loop.cancel(second); });
  second = loop.runAfter(20, [&] { secondRan = true; });
  loop.runAfter(80, [&] { loop.quit(); });
  watchdog(loop);
  // Both are due together: block the loop so they land in one expiry batch.
  loop.runAfter(0, [] { std::this_thread::sleep_for(std::chrono::milliseconds(40)); });
  loop.loop();
  EXPECT_FALSE(secondRan);
}

TEST(Timers, CancelFromAnotherThreadAndUnknownIdsAreHarmless) {
  EventDispatch loop;
  std::atomic<bool> ran{false};
  TimerId id = loop.runAfter(100, [&] { ran = true; });
  loop.cancel(987654321);  // never issued
  std::thread t([&] { loop.cancel(id); });
  t.join();
  loop.runAfter(200, [&] { loop.quit(); });
  watchdog(loop);
  loop.loop();
  EXPECT_FALSE(ran);
  loop.cancel(id);  // already cancelled: no-op
}

TEST(Post, FromFourThreadsDeliversEveryClosureExactlyOnce) {
  EventDispatch loop;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25000;
  std::vector<int> seen(kThreads * kPerThread, 0);  // touched only on the loop thread
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int idx = t * kPerThread + i;
        loop.post([&, idx] {
          EXPECT_TRUE(loop.isInLoopThread());
          ++seen[idx];
        });
      }
      loop.post([&] {
        if (++done == kThreads) loop.quit();
      });
    });
  }
  watchdog(loop, 30000);
  loop.loop();
  for (auto& t : threads) t.join();
  int wrong = 0;
  for (int v : seen) wrong += v != 1;
  EXPECT_EQ(wrong, 0);
}

TEST(Post, WakesAnIdleLoopPromptly) {
  EventDispatch loop;
  int64_t latencyUs = -1;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int64_t sent = tt::monotonicUs();
    loop.post([&, sent] {
      latencyUs = tt::monotonicUs() - sent;
      loop.quit();
    });
  });
  watchdog(loop);
  loop.loop();
  t.join();
  // The original drained its response list after each poll timeout; we must not wait for one:
  // this loop has no timeout but the 10 s watchdog, so without the eventfd wake-up the closure
  // would run only then. A busy machine may take a while to schedule the loop thread.
  EXPECT_GE(latencyUs, 0);
  EXPECT_LT(latencyUs, 2000000);
}

TEST(LoopHooks, RunEachIterationUntilRemoved) {
  EventDispatch loop;
  int hookRuns = 0;
  uint64_t hook = loop.addLoopHook([&] { ++hookRuns; });
  int ticks = 0;
  TimerId t = 0;
  t = loop.runEvery(5, [&] {
    if (++ticks == 5) {
      loop.removeLoopHook(hook);
      loop.cancel(t);
      loop.runAfter(30, [&] { loop.quit(); });
    }
  });
  watchdog(loop);
  loop.loop();
  // Four iterations ran the hook; the fifth removed it before hooks ran. An idle loop adds none.
  EXPECT_GE(hookRuns, 4);
  EXPECT_LE(hookRuns, 6);
}

TEST(EventDispatch, IdleLoopSleeps) {
  EventDispatch loop;
  loop.runAfter(300, [&] { loop.quit(); });
  watchdog(loop);
  loop.loop();
  // One wake-up for the timer (plus slack), not a busy spin.
  EXPECT_LE(loop.iterations(), 5u);
}

TEST(EventDispatch, ExceptionInPostedWorkDoesNotStopTheLoop) {
  EventDispatch loop;
  bool after = false;
  loop.post([] { throw std::runtime_error("boom"); });
  loop.post([&] {
    after = true;
    loop.quit();
  });
  watchdog(loop);
  loop.loop();
  EXPECT_TRUE(after);
}
