#pragma once
// The msg_servers that are registered with this login_server right now, keyed by the link they
// registered on: an entry lives exactly as long as its link, so a msg_server that crashes or goes
// silent stops being handed to clients the moment its link is closed. No sockets here.
#include <cstdint>
#include <map>
#include <string>

#include "netlib/Callbacks.h"

namespace tt::login {

struct MsgServerEntry {
  std::string ip1;  // "telecom" address, handed out first to IPv4 clients
  std::string ip2;  // "netcom" address
  uint16_t port = 0;
  uint32_t maxConnCnt = 0;
  uint32_t curConnCnt = 0;
  std::string hostName;
};

// What a client is told (HTTP /msg_server and the legacy 0x0101 path share it).
struct Assignment {
  enum class Result { kOk, kNoMsgServer, kAllFull };
  Result result = Result::kNoMsgServer;
  const MsgServerEntry* server = nullptr;  // set for kOk; valid until the registry changes
};

class MsgServerRegistry {
 public:
  // IMMsgServInfo: registers the link's msg_server or replaces what it said before.
  void update(net::ConnId link, const MsgServerEntry& entry);
  // IMUserCntUpdate: +1 / -1 on the link's count (never below 0). false if the link never
  // registered (the update is ignored).
  bool userLoggedIn(net::ConnId link);
  bool userLoggedOut(net::ConnId link);
  // The link closed or timed out. false if it had not registered.
  bool remove(net::ConnId link);

  // Among the msg_servers that are not full (cur < max), the one with the fewest users; ties go
  // to the one that registered first (links get increasing ids), so the answer is stable.
  Assignment choose() const;

  const MsgServerEntry* find(net::ConnId link) const;
  size_t size() const { return servers_.size(); }
  // Sums over the registered msg_servers, as they reported them (for the metrics scrape).
  uint64_t totalUsers() const;
  uint64_t totalCapacity() const;

 private:
  std::map<net::ConnId, MsgServerEntry> servers_;  // ordered: ties resolve by registration order
};

}  // namespace tt::login
