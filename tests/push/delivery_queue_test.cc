// push_server/DeliveryQueue with a provider whose attempts the test holds and releases: the slot a
// notification holds while it is being delivered (and between a failed attempt and its retry) is
// not free for another push, so a full queue refuses deterministically.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "push_server/DeliveryQueue.h"

namespace {

using tt::push::Attempt;
using tt::push::DeliveryQueue;
using tt::push::Notification;

// Each deliver() waits until the test releases it with a chosen result.
class HeldProvider : public tt::push::Provider {
 public:
  const std::string& name() const override { return name_; }
  bool acceptsToken(const std::string&) const override { return true; }
  Attempt deliver(const Notification& n) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ > 0; });
    --released_;
    Attempt a;
    a.result = next_;
    return a;
  }
  bool waitEntered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= n; });
  }
  void release(Attempt::Result r) {
    std::lock_guard<std::mutex> lock(mutex_);
    next_ = r;
    ++released_;
    cv_.notify_all();
  }

 private:
  std::string name_ = "held";
  std::mutex mutex_;
  std::condition_variable cv_;
  int entered_ = 0;
  int released_ = 0;
  Attempt::Result next_ = Attempt::Result::kDelivered;
};

struct Reports {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<uint32_t, DeliveryQueue::Outcome>> seen;
  bool waitCount(size_t n) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen.size() >= n; });
  }
};

// The default logger for one test: keeps what is logged so the test can wait for a line (the
// queue tells that a failed attempt's retry is queued only in its log).
class CapturedLog : public spdlog::sinks::base_sink<std::mutex> {
 public:
  CapturedLog() = default;
  static std::shared_ptr<CapturedLog> install() {
    auto sink = std::make_shared<CapturedLog>();
    sink->previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
    return sink;
  }
  ~CapturedLog() override = default;
  void uninstall() { spdlog::set_default_logger(previous_); }
  bool waitFor(const std::string& text) {
    std::unique_lock<std::mutex> lock(textMutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return text_.find(text) != std::string::npos; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    {
      std::lock_guard<std::mutex> lock(textMutex_);
      text_.append(msg.payload.data(), msg.payload.size());
      text_ += '\n';
    }
    cv_.notify_all();
  }
  void flush_() override {}

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::mutex textMutex_;
  std::condition_variable cv_;
  std::string text_;
};

Notification note(uint32_t user) {
  Notification n;
  n.userId = user;
  n.token = "t" + std::to_string(user);
  return n;
}

TEST(DeliveryQueue, SlotHeldWhileDeliveringAndUntilTheRetryIsQueued) {
  auto log = CapturedLog::install();
  auto provider = std::make_unique<HeldProvider>();
  HeldProvider* held = provider.get();
  Reports reports;
  tt::push::QueueOptions o;
  o.capacity = 1;
  o.maxAttempts = 3;
  o.retryBaseMs = 60000;  // the retry waits far longer than the test
  DeliveryQueue q(std::move(provider), o, [&](const Notification& n, DeliveryQueue::Outcome out, const Attempt&) {
    std::lock_guard<std::mutex> lock(reports.mutex);
    reports.seen.emplace_back(n.userId, out);
    reports.cv.notify_all();
  });
  ASSERT_TRUE(q.submit(note(1)));
  ASSERT_TRUE(held->waitEntered(1));
  // Being delivered: the only slot is taken.
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.submit(note(2)));
  // The attempt fails; the notification waits a minute for its retry, still in its slot. Checked
  // once the queue has logged the retry (it re-queues before the line), not right after the
  // release, when the worker may not even have seen the failure yet.
  held->release(Attempt::Result::kRetry);
  ASSERT_TRUE(log->waitFor("push to user 1 via held: attempt 1 failed"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.submit(note(3)));
  // Stop reports the waiting retry as dropped, nothing else.
  q.stop(0);
  ASSERT_TRUE(reports.waitCount(1));
  ASSERT_EQ(reports.seen.size(), 1u);
  EXPECT_EQ(reports.seen[0].first, 1u);
  EXPECT_EQ(reports.seen[0].second, DeliveryQueue::Outcome::kDroppedAtStop);
  log->uninstall();
}

TEST(DeliveryQueue, SlotFreedOnceTheOutcomeIsFinal) {
  auto provider = std::make_unique<HeldProvider>();
  HeldProvider* held = provider.get();
  Reports reports;
  tt::push::QueueOptions o;
  o.capacity = 1;
  DeliveryQueue q(std::move(provider), o, [&](const Notification& n, DeliveryQueue::Outcome out, const Attempt&) {
    std::lock_guard<std::mutex> lock(reports.mutex);
    reports.seen.emplace_back(n.userId, out);
    reports.cv.notify_all();
  });
  ASSERT_TRUE(q.submit(note(1)));
  ASSERT_TRUE(held->waitEntered(1));
  held->release(Attempt::Result::kDelivered);
  ASSERT_TRUE(reports.waitCount(1));
  EXPECT_EQ(reports.seen[0].second, DeliveryQueue::Outcome::kDelivered);
  // The report is made after the slot was given back.
  EXPECT_EQ(q.size(), 0u);
  EXPECT_TRUE(q.submit(note(2)));
  ASSERT_TRUE(held->waitEntered(2));
  held->release(Attempt::Result::kDelivered);
  ASSERT_TRUE(reports.waitCount(2));
}

}  // namespace
