#include "msg_server/ClientSession.h"

#include <any>

namespace tt::msg {

ClientSession* sessionOf(const net::ImConnPtr& conn) {
  return std::any_cast<ClientSession>(&conn->context());
}

void UserRegistry::add(uint32_t userId, const net::ImConnPtr& conn) {
  if (users_[userId].emplace(conn->id(), conn).second) ++connections_;
}

void UserRegistry::remove(uint32_t userId, net::ConnId conn) {
  auto it = users_.find(userId);
  if (it == users_.end()) return;
  if (it->second.erase(conn)) --connections_;
  if (it->second.empty()) users_.erase(it);
}

std::vector<net::ImConnPtr> UserRegistry::connections(uint32_t userId) const {
  std::vector<net::ImConnPtr> out;
  auto it = users_.find(userId);
  if (it == users_.end()) return out;
  for (const auto& [id, weak] : it->second) {
    if (auto c = weak.lock()) out.push_back(c);
  }
  return out;
}

}  // namespace tt::msg
