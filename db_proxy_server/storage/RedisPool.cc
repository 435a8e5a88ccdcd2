#include "db_proxy_server/storage/RedisPool.h"

namespace tt::db {

RedisPool::RedisPool(std::string name, RedisConfig config)
    : core_(std::make_shared<detail::ConnPool<RedisConn>>(std::move(name), std::move(config))) {}

RedisLease RedisPool::acquire(int timeoutMs) { return RedisLease(core_, core_->take(timeoutMs)); }

}  // namespace tt::db
