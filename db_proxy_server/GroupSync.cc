#include "db_proxy_server/GroupSync.h"

#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "base/Signals.h"
#include "base/Time.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

GroupSync::GroupSync(DbContext& ctx, int64_t intervalMs) : ctx_(ctx), intervalMs_(intervalMs) {
  TerminationSignalsBlocked blocked;
  thread_ = std::thread([this] { run(); });
}

GroupSync::~GroupSync() { stop(); }

void GroupSync::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GroupSync::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(intervalMs_), [this] { return stopping_; })) return;
    }
    try {
      runOnce();
    } catch (const std::exception& e) {
      spdlog::warn("group session sync skipped: {}", e.what());
    }
  }
}

size_t GroupSync::runOnce() {
  uint64_t watermark = 0;
  {
    auto redis = ctx_.storage.cache(rediskey::kUnreadInstance).acquire(2000);
    auto reply = redis->command({"GET", rediskey::kGroupSyncWatermarkKey});
    if (reply.isString()) watermark = std::stoull(reply.str);
  }
  auto lease = ctx_.storage.master().acquire(2000);
  db::MysqlConn& conn = *lease;
  auto groups = conn.query("SELECT id, lastChated FROM IMGroup WHERE status = 0 AND lastChated > ? ORDER BY lastChated",
                           {watermark});
  uint64_t newest = watermark;
  for (const auto& g : groups) {
    const uint64_t gid = g.u64(0), chatted = g.u64(1);
    conn.exec(
        "INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) "
        "SELECT userId, ?, 2, 0, ?, ? FROM IMGroupMember WHERE groupId = ? AND status = 0 "
        "ON DUPLICATE KEY UPDATE status = 0, updated = GREATEST(IMRecentSession.updated, VALUES(updated))",
        {gid, chatted, chatted, gid});
    newest = std::max(newest, chatted);
  }
  // Never move the mark into the current second: a group chatted later in this same second must
  // still count as newer than the mark on the next pass.
  const uint64_t nowSec = tt::unixSeconds();
  if (newest >= nowSec) newest = nowSec - 1;
  if (newest > watermark) {
    auto redis = ctx_.storage.cache(rediskey::kUnreadInstance).acquire(2000);
    redis->command({"SET", rediskey::kGroupSyncWatermarkKey, std::to_string(newest)});
  }
  return groups.size();
}

}  // namespace tt::dbproxy
