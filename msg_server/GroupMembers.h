#pragma once
// Group membership as msg_server needs it for fan-out: gid -> active member ids, fetched from
// db_proxy (IMGroupInfoListReq) on first use and kept until a member change is seen or it ages out.
// Messages that arrive while a fetch is under way wait for it; one fetch serves them all.
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace tt::msg {

class MsgServer;

class GroupMembers {
 public:
  // members is null when the group could not be fetched (db_proxy down, unknown group).
  using Callback = std::function<void(const std::vector<uint32_t>* members)>;

  GroupMembers(MsgServer& server, int64_t ttlMs) : server_(server), ttlMs_(ttlMs) {}

  // requester: a user id allowed to read the group (db_proxy answers members only to members).
  void withMembers(uint32_t groupId, uint32_t requester, Callback cb);
  void invalidate(uint32_t groupId) { groups_.erase(groupId); }
  // Apply a member change seen in a notify, without a round trip.
  void set(uint32_t groupId, std::vector<uint32_t> members);

 private:
  struct Entry {
    std::vector<uint32_t> members;
    int64_t fetchedAtMs = 0;
    bool loading = false;
    bool valid = false;
    std::vector<Callback> waiting;
  };
  void fetch(uint32_t groupId, uint32_t requester);

  MsgServer& server_;
  const int64_t ttlMs_;
  std::unordered_map<uint32_t, Entry> groups_;
};

}  // namespace tt::msg
