#include "db_proxy_server/Relations.h"

#include "base/Time.h"
#include "db_proxy_server/storage/Mysql.h"

namespace tt::dbproxy {

uint32_t RelationCache::get(db::MysqlConn& conn, uint32_t a, uint32_t b, bool create) {
  const uint64_t k = key(a, b);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = ids_.find(k);
    if (it != ids_.end()) return it->second;
  }
  const uint32_t lo = static_cast<uint32_t>(k >> 32), hi = static_cast<uint32_t>(k);
  uint32_t id = 0;
  if (create) {
    // One statement for "find or create": the unique (smallId, bigId) key makes concurrent first
    // messages agree on one row, and LAST_INSERT_ID(id) hands back the existing row's id.
    const uint32_t now = tt::unixSeconds();
    auto r = conn.exec(
        "INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES (?, ?, 0, ?, ?) "
        "ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
        {uint64_t{lo}, uint64_t{hi}, uint64_t{now}, uint64_t{now}});
    id = static_cast<uint32_t>(r.insertId);
  } else {
    auto rows = conn.query("SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ?", {uint64_t{lo}, uint64_t{hi}});
    if (rows.empty()) return 0;
    id = rows[0].u32(0);
  }
  if (id != 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    ids_.emplace(k, id);
  }
  return id;
}

}  // namespace tt::dbproxy
