#pragma once
// Requests msg_server has sent upstream (to db_proxy, route or file servers) and not yet seen
// answered. The id travels in attach_data; the answer finds its client connection and seq here.
// When the upstream link dies, or an answer takes too long, the waiting entries are failed at once
// so clients hear an error instead of waiting forever.
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "netlib/Callbacks.h"
#include "netlib/ImPdu.h"

namespace tt::msg {

struct Pending {
  net::ConnId client = 0;  // the client connection that asked (0 for internal requests)
  uint16_t seq = 0;        // the client's seq_num, echoed in its answer
  uint16_t commandId = 0;  // what was asked
  net::ConnId link = 0;    // the upstream connection it went out on
  int64_t deadlineMs = 0;
  // Internal continuation: called with the answer, or with nullptr when the request failed
  // (link lost, timeout). When empty, the answer is forwarded to the client as is.
  std::function<void(const net::ImPdu*)> onReply;
};

class PendingRequests {
 public:
  uint64_t add(Pending p);
  std::optional<Pending> take(uint64_t id);
  // Everything sent on a link that just died.
  std::vector<Pending> takeAllOnLink(net::ConnId link);
  // Everything whose deadline has passed.
  std::vector<Pending> takeExpired(int64_t nowMs);
  size_t size() const { return pending_.size(); }

 private:
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
};

}  // namespace tt::msg
