#include "msg_server/MsgMetrics.h"

namespace tt::msg {

namespace {
metrics::Family<metrics::Counter>& logins() {
  return metrics::Registry::global().counterFamily("ttsuite_msg_logins_total",
                                                   "Client logins answered by msg_server, by result.", {"result"});
}
metrics::Family<metrics::Counter>& acked() {
  return metrics::Registry::global().counterFamily(
      "ttsuite_msg_messages_acked_total", "Messages acked to their sender after db_proxy committed them.",
      {"session_type"});
}
}  // namespace

MsgMetrics& MsgMetrics::get() {
  auto& r = metrics::Registry::global();
  static MsgMetrics m{
      logins().with({"ok"}),
      logins().with({"failed"}),
      logins().with({"throttled"}),
      logins().with({"no_server"}),
      acked().with({"single"}),
      acked().with({"group"}),
      r.counter("ttsuite_msg_messages_not_stored_total",
                "Messages db_proxy did not store (failure, timeout or no link): never acked."),
      r.counter("ttsuite_msg_messages_delivered_total", "Message copies written to local client connections."),
      r.counterFamily("ttsuite_msg_messages_rejected_total",
                      "Messages refused before storing (empty, unknown type, to self, over the rate), by reason.",
                      {"reason"}),
      r.histogram("ttsuite_msg_store_ack_seconds",
                  "From a client's message read to its ack written (db_proxy store and commit included).",
                  metrics::latencyBuckets()),
      r.counter("ttsuite_msg_upstream_failures_total",
                "Upstream requests that ended in failure: link lost or no answer within UpstreamTimeout."),
  };
  return m;
}

}  // namespace tt::msg
