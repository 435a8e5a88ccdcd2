#pragma once
// One provider's outbox: a bounded queue and a worker thread that delivers one notification at a
// time through the provider (which may block up to its timeout), retrying with exponential
// back-off (retryBaseMs, x2 each time, capped at retryMaxMs) on 5xx / 429 / connect failure /
// timeout, up to maxAttempts. Each notification's outcome (delivered, invalid token, rejected, or
// given up) is reported through the callback, on the worker thread: the owner posts it to its loop.
// Retries wait in the same bounded queue, so a dead endpoint cannot make it grow without limit;
// the one being delivered counts against the capacity too.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "base/Metrics.h"
#include "push_server/Provider.h"

namespace tt::push {

struct QueueOptions {
  size_t capacity = 10000;  // queued + waiting for a retry
  int maxAttempts = 4;      // first try included
  int64_t retryBaseMs = 1000;
  int64_t retryMaxMs = 60000;
  metrics::Histogram* attemptSeconds = nullptr;  // each deliver() call's duration; null: not measured
};

class DeliveryQueue {
 public:
  enum class Outcome { kDelivered, kInvalidToken, kRejected, kGaveUp, kDroppedAtStop };
  using Report = std::function<void(const Notification&, Outcome, const Attempt&)>;

  DeliveryQueue(std::unique_ptr<Provider> provider, QueueOptions options, Report report);
  ~DeliveryQueue();  // stop(0)
  DeliveryQueue(const DeliveryQueue&) = delete;
  DeliveryQueue& operator=(const DeliveryQueue&) = delete;

  // false when full or stopping (the caller answers result 1).
  bool submit(Notification n);
  // Refuses new work, delivers what is due until drainMs has passed, reports the rest as
  // kDroppedAtStop, joins the worker. Idempotent.
  void stop(int64_t drainMs);

  Provider& provider() { return *provider_; }
  size_t size() const;

 private:
  void run();

  std::unique_ptr<Provider> provider_;
  QueueOptions options_;
  Report report_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<int64_t, Notification> queue_;  // due time (monotonic ms) -> notification; guarded by mutex_
  size_t inFlight_ = 0;                          // 0 or 1: being delivered by the worker; guarded by mutex_
  bool stopping_ = false;                        // guarded by mutex_
  int64_t drainDeadlineMs_ = 0;                  // guarded by mutex_
  std::thread worker_;
};

}  // namespace tt::push
