#include "msg_server/PendingRequests.h"

namespace tt::msg {

uint64_t PendingRequests::add(Pending p) {
  const uint64_t id = nextId_++;
  pending_.emplace(id, std::move(p));
  return id;
}

std::optional<Pending> PendingRequests::take(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  Pending p = std::move(it->second);
  pending_.erase(it);
  return p;
}

std::vector<Pending> PendingRequests::takeAllOnLink(net::ConnId link) {
  std::vector<Pending> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.link == link) {
      out.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<Pending> PendingRequests::takeExpired(int64_t nowMs) {
  std::vector<Pending> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadlineMs <= nowMs) {
      out.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace tt::msg
