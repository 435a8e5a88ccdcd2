#pragma once
// A bounded pool of Redis connections, with the same semantics as MysqlPool: opened on demand up
// to config.maxConns, RAII leases, idle connections checked before reuse and replaced after a
// Redis restart, quick failure while Redis is down. Thread-safe.
//
//   RedisLease r = storage.cache(rediskey::kUnreadInstance).acquire();     // proto/RedisKeys.h
//   long long n = r->hincrby(rediskey::unreadKey(uid), std::to_string(peer), 1);

#include <memory>
#include <string>

#include "db_proxy_server/storage/ConnPool.h"
#include "db_proxy_server/storage/RedisConn.h"

namespace tt::db {

using RedisLease = detail::Lease<RedisConn>;

class RedisPool {
 public:
  static constexpr int kDefaultAcquireTimeoutMs = 5000;

  // Opens nothing yet. Throws RedisError when config.maxConns is 0.
  RedisPool(std::string name, RedisConfig config);

  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Waits up to timeoutMs for a free connection (<= 0: fail at once when all are leased), plus
  // at most the connect timeout when a new connection has to be opened. Throws RedisError.
  RedisLease acquire(int timeoutMs = kDefaultAcquireTimeoutMs);

  PoolStats stats() const { return core_->stats(); }
  const std::string& name() const { return core_->name(); }
  const RedisConfig& config() const { return core_->config(); }

 private:
  std::shared_ptr<detail::ConnPool<RedisConn>> core_;
};

}  // namespace tt::db
