#pragma once
// What msg_server knows about one client connection (kept in ImConn::context()).
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "netlib/ImConn.h"

namespace tt::msg {

inline bool isMobile(uint32_t clientType) { return (clientType & 0x10) != 0; }

struct ClientSession {
  enum class State { kConnected, kValidating, kOnline, kClosing };
  State state = State::kConnected;
  uint32_t userId = 0;
  uint32_t clientType = 0;
  uint32_t onlineStatus = 1;
  uint16_t loginSeq = 0;
  int64_t connectedAtMs = 0;
  // route_server says a PC client of this user is online somewhere (silent push, file mode).
  bool pcOnlineElsewhere = false;
  // Messages sent in the current one-second window (anti-flood, as the original's 20/s).
  int64_t rateWindowStartMs = 0;
  uint32_t rateCount = 0;
};

ClientSession* sessionOf(const net::ImConnPtr& conn);

// user id -> that user's validated connections on this msg_server.
class UserRegistry {
 public:
  void add(uint32_t userId, const net::ImConnPtr& conn);
  void remove(uint32_t userId, net::ConnId conn);
  // All live connections of a user (empty vector if none).
  std::vector<net::ImConnPtr> connections(uint32_t userId) const;
  bool online(uint32_t userId) const { return users_.count(userId) != 0; }
  size_t userCount() const { return users_.size(); }
  size_t connectionCount() const { return connections_; }
  template <class F>
  void forEach(F f) const {
    for (const auto& [uid, conns] : users_) {
      for (const auto& [id, weak] : conns) {
        if (auto c = weak.lock()) f(uid, c);
      }
    }
  }

 private:
  std::unordered_map<uint32_t, std::unordered_map<net::ConnId, std::weak_ptr<net::ImConn>>> users_;
  size_t connections_ = 0;
};

}  // namespace tt::msg
