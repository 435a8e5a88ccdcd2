#pragma once
// Who is online where, as route_server knows it: user id -> per msg_server link, the client types
// of that user's connections there (a multiset: two Windows clients count twice). No sockets, so it
// can be tested on its own; RouteServer feeds it the msg_servers' reports and acts on its answers.
//
// Presence, as route_server reports it (docs/PROTOCOL.md §4.3): a user is "online" iff at least one PC
// client (client type without bit 0x10) is connected on any link. Every mutation returns the
// presence events it implies, computed from the user's counts before and after the change, so an
// individual login/logout, a msg_server's full re-report and the loss of a whole msg_server follow
// the same rules:
//   kStatOnline   (IMUserStatNotify ONLINE)         a PC client was added
//   kStatOffline  (IMUserStatNotify OFFLINE)        the user had PC clients and now has none
//   kPcLoginOn    (IMServerPCLoginStatusNotify 1)   a client (of any type) was added and a PC client
//                                                   is online: msg_servers holding the user's mobile
//                                                   clients learn that a PC is on, also when the
//                                                   mobile client is the one that just arrived
//   kPcLoginOff   (IMServerPCLoginStatusNotify 0)   the last PC client went while other (mobile)
//                                                   clients remain
// For one user the events come in that order. The original re-derived none of this when a
// msg_server went away (it left the counters behind, so users stayed "online" forever) and sent
// nothing when a msg_server re-reported its users.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tt::route {

// A msg_server link, named by its connection id (never 0).
using LinkId = uint64_t;
constexpr LinkId kNoLink = 0;

// TeamTalk's rule, used everywhere: bit 0x10 set means a mobile client.
inline bool isPcClient(uint32_t clientType) { return (clientType & 0x10) == 0; }

// UserStatType values on the wire.
constexpr uint32_t kStatusOnline = 1;
constexpr uint32_t kStatusOffline = 2;

struct ClientEntry {
  uint32_t userId = 0;
  uint32_t clientType = 0;
  uint32_t status = kStatusOnline;  // anything but kStatusOffline counts as a connected client
};

struct PresenceEvent {
  enum class Kind { kStatOnline, kStatOffline, kPcLoginOn, kPcLoginOff };
  uint32_t userId = 0;
  Kind kind = Kind::kStatOnline;
  bool operator==(const PresenceEvent& o) const { return userId == o.userId && kind == o.kind; }
};

struct UpdateResult {
  bool applied = false;  // false: an OFFLINE for a client the link never reported (nothing changed)
  std::vector<PresenceEvent> events;
};

class RouteTable {
 public:
  // IMUserStatusUpdate: status != OFFLINE adds one client of that type on that link; OFFLINE
  // removes one. A user left without clients on a link leaves that link; without links, the table.
  UpdateResult update(LinkId link, uint32_t userId, uint32_t status, uint32_t clientType);
  // IMOnlineUserInfo: the link's whole user set becomes exactly `clients` (entries with status
  // OFFLINE are ignored). Events reflect the difference to what the link had before.
  std::vector<PresenceEvent> replaceLink(LinkId link, const std::vector<ClientEntry>& clients);
  // The msg_server link closed or timed out: every client it reported is gone.
  std::vector<PresenceEvent> removeLink(LinkId link);

  // At least one PC client anywhere (what IMUsersStatReq answers as ONLINE).
  bool pcOnline(uint32_t userId) const;
  // At least one client of any type anywhere.
  bool online(uint32_t userId) const;
  size_t clientCount(uint32_t userId) const;
  size_t pcClientCount(uint32_t userId) const;
  // Client types of userId on link (sorted, with repeats).
  std::vector<uint32_t> clientTypes(uint32_t userId, LinkId link) const;

  // Links holding userId, ascending.
  std::vector<LinkId> linksOf(uint32_t userId) const;
  // Links holding at least one of users, ascending, without `exclude`.
  std::vector<LinkId> linksHoldingAny(const std::vector<uint32_t>& users, LinkId exclude = kNoLink) const;
  // Links holding any user at all, ascending, without `exclude`.
  std::vector<LinkId> linksWithUsers(LinkId exclude = kNoLink) const;
  // Users with at least one client on link, ascending.
  std::vector<uint32_t> usersOn(LinkId link) const;

  size_t userCount() const { return users_.size(); }
  size_t linkCount() const { return linkUsers_.size(); }

 private:
  struct UserRoute {
    std::map<LinkId, std::multiset<uint32_t>> links;  // never holds an empty multiset
    size_t pcClients = 0;
    size_t clients = 0;
  };
  struct Counts {
    size_t pc = 0;
    size_t all = 0;
  };

  Counts countsOf(uint32_t userId) const;
  void addClient(LinkId link, uint32_t userId, uint32_t clientType);
  bool removeClient(LinkId link, uint32_t userId, uint32_t clientType);
  // Drops the user's entry on link and the user if no link is left.
  void dropUserLink(LinkId link, uint32_t userId);
  static void appendEvents(uint32_t userId, Counts before, Counts after, bool addedAny, bool addedPc,
                           std::vector<PresenceEvent>* out);

  std::unordered_map<uint32_t, UserRoute> users_;
  // Reverse index: which users a link holds, so closing or re-reporting a link is O(its users).
  std::unordered_map<LinkId, std::unordered_set<uint32_t>> linkUsers_;
};

}  // namespace tt::route
