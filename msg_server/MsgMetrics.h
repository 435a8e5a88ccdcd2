#pragma once
// msg_server's counters, found once (base/Metrics families) and then bumped on the loop thread
// with one relaxed atomic each. Scrape-time gauges (connections, online users, link state,
// pending upstream requests) are registered by MsgServer itself; docs/METRICS.md lists them all.
#include "base/Metrics.h"

namespace tt::msg {

struct MsgMetrics {
  static MsgMetrics& get();

  metrics::Counter& loginOk;
  metrics::Counter& loginFailed;     // bad name or password, or the account is gone
  metrics::Counter& loginThrottled;  // too many failures for the name (result 6)
  metrics::Counter& loginNoServer;   // no db_proxy link, db_proxy error or timeout
  metrics::Counter& messagesAckedSingle;
  metrics::Counter& messagesAckedGroup;
  metrics::Counter& messagesNotStored;  // db_proxy failed, timed out, or no link: not acked
  metrics::Counter& messagesDelivered;  // copies written to local client connections
  metrics::Family<metrics::Counter>& messagesRejected;  // {reason}
  metrics::Histogram& storeAckSeconds;  // client's IMMsgData read -> its ack written
  metrics::Counter& upstreamFailures;   // requests answered by failure (link lost, deadline)
};

}  // namespace tt::msg
