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
  return queue_.size();
}

bool DeliveryQueue::submit(Notification n) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= options_.capacity) return false;
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
    }
    Attempt a = provider_->deliver(n);
    ++n.attempts;
    switch (a.result) {
      case Attempt::Result::kDelivered: report_(n, Outcome::kDelivered, a); break;
      case Attempt::Result::kInvalidToken: report_(n, Outcome::kInvalidToken, a); break;
      case Attempt::Result::kRejected: report_(n, Outcome::kRejected, a); break;
      case Attempt::Result::kRetry: {
        if (n.attempts >= options_.maxAttempts) {
          report_(n, Outcome::kGaveUp, a);
          break;
        }
        int64_t delay = options_.retryBaseMs;
        for (int i = 1; i < n.attempts && delay < options_.retryMaxMs; ++i) delay *= 2;
        delay = std::min(delay, options_.retryMaxMs);
        spdlog::info("push to user {} via {}: attempt {} failed ({} {}), retry in {} ms", n.userId, provider_->name(),
                     n.attempts, a.status, a.reason, delay);
        std::lock_guard<std::mutex> lock(mutex_);
        // A retry keeps its place even when new work filled the queue meanwhile: it was accepted.
        queue_.emplace(monoMs() + delay, std::move(n));
        break;
      }
    }
  }
}

}  // namespace tt::push
