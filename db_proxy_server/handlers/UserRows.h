#pragma once
// Helpers the login, buddy and "other" handlers share: IMUser rows as UserInfo (docs/PROTOCOL.md §2.10)
// and id lists for `IN (...)` queries.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "db_proxy_server/storage/DbTypes.h"

namespace tt::dbproxy {

// Every handler acquires a pooled connection with this bound: a saturated pool answers with the
// protocol's failure form instead of holding a worker (and the peer) indefinitely.
inline constexpr int kAcquireTimeoutMs = 2000;

// The IMUser columns fillUserInfo reads, in its order. Prefix a query with them:
//   "SELECT " + std::string(kUserInfoColumns) + " FROM IMUser WHERE ..."
inline constexpr const char* kUserInfoColumns =
    "id, sex, nick, avatar, departId, email, name, phone, domain, status, sign_info";
inline constexpr size_t kUserInfoColumnCount = 11;
inline constexpr size_t kUserNameColumn = 6;  // IMUser.name, the login name

// Fills every required UserInfo field (clients reject a UserInfo missing one) from a row that
// starts with kUserInfoColumns. Strings are copied byte for byte.
inline void fillUserInfo(const db::DbRow& row, IM::BaseDefine::UserInfo* info) {
  info->set_user_id(row.u32(0));
  info->set_user_gender(row.u32(1));
  info->set_user_nick_name(row.str(2));
  info->set_avatar_url(row.str(3));
  info->set_department_id(row.u32(4));
  info->set_email(row.str(5));
  info->set_user_real_name(row.str(kUserNameColumn));
  info->set_user_tel(row.str(7));
  info->set_user_domain(row.str(8));
  info->set_status(row.u32(9));
  info->set_sign_info(row.str(10));
}

// The ids without repeats, first occurrence kept (a client that lists an id twice gets it once).
inline std::vector<uint32_t> uniqueIds(const std::vector<uint32_t>& ids) {
  std::vector<uint32_t> out;
  std::unordered_set<uint32_t> seen;
  out.reserve(ids.size());
  for (uint32_t id : ids) {
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

// Calls fn(placeholders, params) for chunks of at most 128 ids, where placeholders is "?, ?, ..."
// for `IN (...)`. Each chunk is padded to a power of two by repeating its last id (IN ignores the
// repeat): a connection caches one prepared statement per SQL text, so a handler uses at most
// eight texts instead of one per list length.
template <class Fn>
void forEachIdChunk(const std::vector<uint32_t>& ids, Fn&& fn) {
  constexpr size_t kMaxChunk = 128;
  for (size_t off = 0; off < ids.size(); off += kMaxChunk) {
    const size_t n = std::min(kMaxChunk, ids.size() - off);
    size_t padded = 1;
    while (padded < n) padded *= 2;
    std::string placeholders;
    std::vector<db::DbValue> params;
    params.reserve(padded);
    for (size_t i = 0; i < padded; ++i) {
      if (i) placeholders += ", ";
      placeholders += "?";
      params.emplace_back(uint64_t{ids[off + std::min(i, n - 1)]});
    }
    fn(placeholders, std::move(params));
  }
}

}  // namespace tt::dbproxy
