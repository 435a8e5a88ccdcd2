#include "msg_server/GroupMembers.h"

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "msg_server/MsgServer.h"

namespace tt::msg {

using namespace IM::BaseDefine;

void GroupMembers::withMembers(uint32_t groupId, uint32_t requester, Callback cb) {
  Entry& e = groups_[groupId];
  const int64_t now = server_.loop()->nowMs();
  if (e.valid && now - e.fetchedAtMs < ttlMs_) {
    cb(&e.members);
    return;
  }
  e.waiting.push_back(std::move(cb));
  if (!e.loading) fetch(groupId, requester);
}

void GroupMembers::set(uint32_t groupId, std::vector<uint32_t> members) {
  Entry& e = groups_[groupId];
  e.members = std::move(members);
  e.valid = true;
  e.fetchedAtMs = server_.loop()->nowMs();
}

void GroupMembers::fetch(uint32_t groupId, uint32_t requester) {
  Entry& e = groups_[groupId];
  e.loading = true;
  IM::Group::IMGroupInfoListReq req;
  req.set_user_id(requester);
  auto* v = req.add_group_version_list();
  v->set_group_id(groupId);
  v->set_version(0);  // 0 forces the full info
  Pending p;
  p.onReply = [this, groupId](const net::ImPdu* answer) {
    auto it = groups_.find(groupId);
    if (it == groups_.end()) return;
    Entry& entry = it->second;
    entry.loading = false;
    IM::Group::IMGroupInfoListRsp rsp;
    bool ok = false;
    if (answer && answer->parse(&rsp)) {
      for (const auto& info : rsp.group_info_list()) {
        if (info.group_id() != groupId) continue;
        entry.members.assign(info.group_member_list().begin(), info.group_member_list().end());
        entry.valid = true;
        entry.fetchedAtMs = server_.loop()->nowMs();
        ok = true;
      }
    }
    if (!ok) spdlog::warn("members of group {} not available", groupId);
    // Copies: a callback may look up groups again and rehash the map under `entry`.
    std::vector<Callback> waiting;
    waiting.swap(entry.waiting);
    const std::vector<uint32_t> members = entry.members;
    if (!ok) groups_.erase(groupId);
    for (auto& cb : waiting) cb(ok ? &members : nullptr);
  };
  if (!server_.request(server_.dbFor(requester), SID_GROUP, CID_GROUP_INFO_REQUEST, req, std::move(p))) {
    e.loading = false;
    std::vector<Callback> waiting;
    waiting.swap(e.waiting);
    groups_.erase(groupId);
    for (auto& cb : waiting) cb(nullptr);
  }
}

}  // namespace tt::msg
