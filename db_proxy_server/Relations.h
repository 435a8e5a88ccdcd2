#pragma once
// One-to-one conversations are "relations" (IMRelationShip, one row per user pair, smallId <
// bigId); their messages live in IMMessage_<relateId % 8>, group messages in
// IMGroupMessage_<groupId % 8>, as in TeamTalk. A pair's relation id never changes, so it is
// cached in process after the first lookup.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tt::db {
class MysqlConn;
}

namespace tt::dbproxy {

inline std::string messageTable(uint32_t relateId) { return "IMMessage_" + std::to_string(relateId % 8); }
inline std::string groupMessageTable(uint32_t groupId) { return "IMGroupMessage_" + std::to_string(groupId % 8); }

class RelationCache {
 public:
  // The relation of users a and b (any order); created when create is true and it does not exist.
  // 0 when it does not exist and create is false. Throws db::DbError on storage failure.
  uint32_t get(db::MysqlConn& conn, uint32_t a, uint32_t b, bool create);

 private:
  static uint64_t key(uint32_t a, uint32_t b) {
    const uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    return (uint64_t{lo} << 32) | hi;
  }
  std::mutex mutex_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // guarded by mutex_
};

}  // namespace tt::dbproxy
