#include "push_server/PushMetrics.h"

namespace tt::push {

namespace {
metrics::Family<metrics::Counter>& refused() {
  return metrics::Registry::global().counterFamily(
      "ttsuite_push_refused_total",
      "Device pushes refused at submit (answered result 1), by provider and reason: no_provider, stopping, "
      "bad_token, queue_full.",
      {"provider", "reason"});
}
}  // namespace

ProviderMetrics::ProviderMetrics(const std::string& provider) {
  auto& r = metrics::Registry::global();
  auto& out = r.counterFamily("ttsuite_push_outcomes_total",
                              "Accepted pushes that reached their end, by provider and outcome.",
                              {"provider", "outcome"});
  using O = DeliveryQueue::Outcome;
  outcomes[static_cast<size_t>(O::kDelivered)] = &out.with({provider, "delivered"});
  outcomes[static_cast<size_t>(O::kInvalidToken)] = &out.with({provider, "invalid_token"});
  outcomes[static_cast<size_t>(O::kRejected)] = &out.with({provider, "rejected"});
  outcomes[static_cast<size_t>(O::kGaveUp)] = &out.with({provider, "gave_up"});
  outcomes[static_cast<size_t>(O::kDroppedAtStop)] = &out.with({provider, "dropped_at_stop"});
  accepted = &r.counterFamily("ttsuite_push_accepted_total", "Device pushes accepted into a provider's queue.",
                              {"provider"})
                  .with({provider});
  refusedQueueFull = &refused().with({provider, "queue_full"});
  refusedBadToken = &refused().with({provider, "bad_token"});
  attemptSeconds = &r.histogramFamily("ttsuite_push_attempt_seconds",
                                      "Duration of one delivery attempt through the provider (retries each count).",
                                      {"provider"}, metrics::latencyBuckets())
                        .with({provider});
}

metrics::Counter& refusedNoProvider() {
  static metrics::Counter& c = refused().with({"none", "no_provider"});
  return c;
}

metrics::Counter& refusedStopping() {
  static metrics::Counter& c = refused().with({"none", "stopping"});
  return c;
}

}  // namespace tt::push
