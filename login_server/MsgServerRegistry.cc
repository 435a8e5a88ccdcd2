#include "login_server/MsgServerRegistry.h"

namespace tt::login {

void MsgServerRegistry::update(net::ConnId link, const MsgServerEntry& entry) { servers_[link] = entry; }

bool MsgServerRegistry::userLoggedIn(net::ConnId link) {
  auto it = servers_.find(link);
  if (it == servers_.end()) return false;
  ++it->second.curConnCnt;
  return true;
}

bool MsgServerRegistry::userLoggedOut(net::ConnId link) {
  auto it = servers_.find(link);
  if (it == servers_.end()) return false;
  // A decrement for a login that happened before the msg_server (re)registered would wrap the
  // unsigned count to 4 billion and mark the server full forever.
  if (it->second.curConnCnt > 0) --it->second.curConnCnt;
  return true;
}

bool MsgServerRegistry::remove(net::ConnId link) { return servers_.erase(link) != 0; }

Assignment MsgServerRegistry::choose() const {
  Assignment a;
  if (servers_.empty()) return a;
  a.result = Assignment::Result::kAllFull;
  for (const auto& [link, s] : servers_) {
    if (s.curConnCnt >= s.maxConnCnt) continue;
    if (!a.server || s.curConnCnt < a.server->curConnCnt) a.server = &s;
  }
  if (a.server) a.result = Assignment::Result::kOk;
  return a;
}

const MsgServerEntry* MsgServerRegistry::find(net::ConnId link) const {
  auto it = servers_.find(link);
  return it == servers_.end() ? nullptr : &it->second;
}

uint64_t MsgServerRegistry::totalUsers() const {
  uint64_t n = 0;
  for (const auto& [link, s] : servers_) n += s.curConnCnt;
  return n;
}

uint64_t MsgServerRegistry::totalCapacity() const {
  uint64_t n = 0;
  for (const auto& [link, s] : servers_) n += s.maxConnCnt;
  return n;
}

}  // namespace tt::login
