#include "push_server/DeliveryQueue.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "push_server/Transport.h"

namespace tt::push {

DeliveryQueue::DeliveryQueue(std::unique_ptr<Provider> provider, QueueOptions options, Report report)
    : provider_(std::move(provider)), options_(options), report_(std::move(report)) {
  worker_ = std::thread([this] { run(); });
}

DeliveryQueue::~DeliveryQueue() { stop(0); }

size_t DeliveryQueue::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + inFlight_;
}

bool DeliveryQueue::submit(Notification n) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The notification being delivered still holds its slot: between a failed attempt and its
    // retry being queued again the slot is not free for someone else's push.
    if (stopping_ || queue_.size() + inFlight_ >= options_.capacity) return false;
    queue_.emplace(monoMs(), std::move(n));
  }
  wake_.notify_one();
  return true;
}

void DeliveryQueue::stop(int64_t drainMs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      drainDeadlineMs_ = monoMs() + drainMs;
    }
  }
  wake_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void DeliveryQueue::run() {
  while (true) {
    Notification n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while (true) {
        const int64_t now = monoMs();
        if (stopping_ && (queue_.empty() || now >= drainDeadlineMs_)) {
          // Whatever is left (waiting for a retry, or not reached in time) is reported, not lost silently.
          auto left = std::move(queue_);
          queue_.clear();
          lock.unlock();
          for (auto& [due, item] : left) report_(item, Outcome::kDroppedAtStop, Attempt{});
          return;
        }
        if (!queue_.empty() && queue_.begin()->first <= now) break;
        int64_t wait = queue_.empty() ? 60000 : queue_.begin()->first - now;
        if (stopping_) wait = std::min(wait, drainDeadlineMs_ - now);
        wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait, 1)));
      }
      auto first = queue_.begin();
      n = std::move(first->second);
      queue_.erase(first);
      inFlight_ = 1;
    }
    const auto started = std::chrono::steady_clock::now();
    Attempt a = provider_->deliver(n);
    if (options_.attemptSeconds) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      options_.attemptSeconds->observe(took.count());
    }
    ++n.attempts;
    Outcome outcome = Outcome::kDelivered;
    bool final = true;
    switch (a.result) {
      case Attempt::Result::kDelivered: outcome = Outcome::kDelivered; break;
      case Attempt::Result::kInvalidToken: outcome = Outcome::kInvalidToken; break;
      case Attempt::Result::kRejected: outcome = Outcome::kRejected; break;
      case Attempt::Result::kRetry: outcome = Outcome::kGaveUp; final = n.attempts >= options_.maxAttempts; break;
    }
    if (final) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        inFlight_ = 0;
      }
      report_(n, outcome, a);
      continue;
    }
    int64_t delay = options_.retryBaseMs;
    for (int i = 1; i < n.attempts && delay < options_.retryMaxMs; ++i) delay *= 2;
    delay = std::min(delay, options_.retryMaxMs);
    const uint32_t userId = n.userId;
    const int attempts = n.attempts;
    {
      // Back in the queue (its slot was never given up: it was accepted) before the log line, so
      // whoever reads the line sees the slot taken.
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.emplace(monoMs() + delay, std::move(n));
      inFlight_ = 0;
    }
    spdlog::info("push to user {} via {}: attempt {} failed ({} {}), retry in {} ms", userId, provider_->name(),
                 attempts, a.status, a.reason, delay);
  }
}

}  // namespace tt::push
