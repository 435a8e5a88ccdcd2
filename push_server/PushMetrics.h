#pragma once
// push_server's series. One provider's are resolved once (Family::with() takes a mutex) into
// plain pointers to registry-owned series, which live as long as the process: the struct is cheap
// to copy and safe to bump from the provider's worker thread (outcomes, attempt latency) and from
// the loop (accepted, refused). Scrape-time gauges (queue depth, connections, db_proxy link) are
// registered by PushServer itself; docs/METRICS.md lists them all.
#include <array>
#include <string>

#include "base/Metrics.h"
#include "push_server/DeliveryQueue.h"

namespace tt::push {

struct ProviderMetrics {
  explicit ProviderMetrics(const std::string& provider);

  metrics::Counter& outcome(DeliveryQueue::Outcome o) const { return *outcomes[static_cast<size_t>(o)]; }

  std::array<metrics::Counter*, 5> outcomes{};  // in DeliveryQueue::Outcome order
  metrics::Counter* accepted = nullptr;
  metrics::Counter* refusedQueueFull = nullptr;
  metrics::Counter* refusedBadToken = nullptr;
  metrics::Histogram* attemptSeconds = nullptr;
};

// Refusals with no provider to name (provider="none"): no provider for the client type, or
// push_server is shutting down.
metrics::Counter& refusedNoProvider();
metrics::Counter& refusedStopping();

}  // namespace tt::push
