#include "route_server/RouteTable.h"

#include <algorithm>

namespace tt::route {

namespace {
// Per client type: how many more `after` has than `before`, looking only at types that grew.
void growth(const std::multiset<uint32_t>& before, const std::multiset<uint32_t>& after, bool* any, bool* pc) {
  *any = false;
  *pc = false;
  for (auto it = after.begin(); it != after.end(); it = after.upper_bound(*it)) {
    if (after.count(*it) > before.count(*it)) {
      *any = true;
      if (isPcClient(*it)) *pc = true;
    }
  }
}
}  // namespace

RouteTable::Counts RouteTable::countsOf(uint32_t userId) const {
  auto it = users_.find(userId);
  if (it == users_.end()) return {};
  return {it->second.pcClients, it->second.clients};
}

void RouteTable::addClient(LinkId link, uint32_t userId, uint32_t clientType) {
  UserRoute& user = users_[userId];
  user.links[link].insert(clientType);
  ++user.clients;
  if (isPcClient(clientType)) ++user.pcClients;
  linkUsers_[link].insert(userId);
}

bool RouteTable::removeClient(LinkId link, uint32_t userId, uint32_t clientType) {
  auto uit = users_.find(userId);
  if (uit == users_.end()) return false;
  UserRoute& user = uit->second;
  auto lit = user.links.find(link);
  if (lit == user.links.end()) return false;
  auto cit = lit->second.find(clientType);
  if (cit == lit->second.end()) return false;
  lit->second.erase(cit);  // one client, not every client of that type
  --user.clients;
  if (isPcClient(clientType)) --user.pcClients;
  if (lit->second.empty()) dropUserLink(link, userId);
  return true;
}

void RouteTable::dropUserLink(LinkId link, uint32_t userId) {
  auto uit = users_.find(userId);
  if (uit != users_.end()) {
    UserRoute& user = uit->second;
    auto lit = user.links.find(link);
    if (lit != user.links.end()) {
      for (uint32_t type : lit->second) {
        --user.clients;
        if (isPcClient(type)) --user.pcClients;
      }
      user.links.erase(lit);
    }
    if (user.links.empty()) users_.erase(uit);
  }
  auto rit = linkUsers_.find(link);
  if (rit != linkUsers_.end()) {
    rit->second.erase(userId);
    if (rit->second.empty()) linkUsers_.erase(rit);
  }
}

void RouteTable::appendEvents(uint32_t userId, Counts before, Counts after, bool addedAny, bool addedPc,
                              std::vector<PresenceEvent>* out) {
  using Kind = PresenceEvent::Kind;
  const bool lostLastPc = before.pc > 0 && after.pc == 0;
  if (addedPc) out->push_back({userId, Kind::kStatOnline});
  if (lostLastPc) out->push_back({userId, Kind::kStatOffline});
  if (addedAny && after.pc > 0) out->push_back({userId, Kind::kPcLoginOn});
  if (lostLastPc && after.all > 0) out->push_back({userId, Kind::kPcLoginOff});
}

UpdateResult RouteTable::update(LinkId link, uint32_t userId, uint32_t status, uint32_t clientType) {
  UpdateResult result;
  const Counts before = countsOf(userId);
  if (status != kStatusOffline) {
    addClient(link, userId, clientType);
    result.applied = true;
    appendEvents(userId, before, countsOf(userId), true, isPcClient(clientType), &result.events);
  } else {
    result.applied = removeClient(link, userId, clientType);
    if (result.applied) appendEvents(userId, before, countsOf(userId), false, false, &result.events);
  }
  return result;
}

std::vector<PresenceEvent> RouteTable::replaceLink(LinkId link, const std::vector<ClientEntry>& clients) {
  std::map<uint32_t, std::multiset<uint32_t>> next;  // ordered: events come out by user id
  for (const ClientEntry& c : clients) {
    if (c.status != kStatusOffline) next[c.userId].insert(c.clientType);
  }
  // Every user the link held before and every user it holds now.
  std::set<uint32_t> affected;
  for (const auto& [userId, types] : next) affected.insert(userId);
  if (auto rit = linkUsers_.find(link); rit != linkUsers_.end()) affected.insert(rit->second.begin(), rit->second.end());

  std::vector<PresenceEvent> events;
  static const std::multiset<uint32_t> kNone;
  for (uint32_t userId : affected) {
    const Counts before = countsOf(userId);
    std::multiset<uint32_t> previous;
    if (auto uit = users_.find(userId); uit != users_.end()) {
      if (auto lit = uit->second.links.find(link); lit != uit->second.links.end()) previous = lit->second;
    }
    auto nit = next.find(userId);
    const std::multiset<uint32_t>& now = nit == next.end() ? kNone : nit->second;
    if (previous == now) continue;
    bool addedAny = false;
    bool addedPc = false;
    growth(previous, now, &addedAny, &addedPc);
    dropUserLink(link, userId);
    for (uint32_t type : now) addClient(link, userId, type);
    appendEvents(userId, before, countsOf(userId), addedAny, addedPc, &events);
  }
  return events;
}

std::vector<PresenceEvent> RouteTable::removeLink(LinkId link) {
  std::vector<PresenceEvent> events;
  const std::vector<uint32_t> users = usersOn(link);
  for (uint32_t userId : users) {
    const Counts before = countsOf(userId);
    dropUserLink(link, userId);
    appendEvents(userId, before, countsOf(userId), false, false, &events);
  }
  return events;
}

bool RouteTable::pcOnline(uint32_t userId) const { return countsOf(userId).pc > 0; }

bool RouteTable::online(uint32_t userId) const { return users_.count(userId) != 0; }

size_t RouteTable::clientCount(uint32_t userId) const { return countsOf(userId).all; }

size_t RouteTable::pcClientCount(uint32_t userId) const { return countsOf(userId).pc; }

std::vector<uint32_t> RouteTable::clientTypes(uint32_t userId, LinkId link) const {
  auto uit = users_.find(userId);
  if (uit == users_.end()) return {};
  auto lit = uit->second.links.find(link);
  if (lit == uit->second.links.end()) return {};
  return {lit->second.begin(), lit->second.end()};
}

std::vector<LinkId> RouteTable::linksOf(uint32_t userId) const {
  std::vector<LinkId> out;
  auto it = users_.find(userId);
  if (it == users_.end()) return out;
  for (const auto& [link, types] : it->second.links) out.push_back(link);
  return out;  // std::map: already ascending
}

std::vector<LinkId> RouteTable::linksHoldingAny(const std::vector<uint32_t>& users, LinkId exclude) const {
  std::vector<LinkId> out;
  for (uint32_t userId : users) {
    auto it = users_.find(userId);
    if (it == users_.end()) continue;
    for (const auto& [link, types] : it->second.links) {
      if (link != exclude) out.push_back(link);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<LinkId> RouteTable::linksWithUsers(LinkId exclude) const {
  std::vector<LinkId> out;
  for (const auto& [link, users] : linkUsers_) {
    if (link != exclude) out.push_back(link);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> RouteTable::usersOn(LinkId link) const {
  std::vector<uint32_t> out;
  auto it = linkUsers_.find(link);
  if (it == linkUsers_.end()) return out;
  out.assign(it->second.begin(), it->second.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tt::route
