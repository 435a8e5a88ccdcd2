#include "db_proxy_server/storage/Storage.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace tt::db {

namespace {

constexpr int64_t kMaxConnsLimit = 1024;

size_t readMaxConns(const tt::Config& c, const std::string& key) {
  const int64_t n = c.getInt(key);
  if (n < 1 || n > kMaxConnsLimit) c.fail(key, "must be between 1 and " + std::to_string(kMaxConnsLimit));
  return static_cast<size_t>(n);
}

MysqlConfig readMysqlInstance(const tt::Config& c, const std::string& name) {
  MysqlConfig m;
  m.host = c.getString(name + "_host");
  m.port = c.getPort(name + "_port");
  m.dbname = c.getString(name + "_dbname");
  m.user = c.getString(name + "_username");
  // Optional: the .conf format cannot tell `x_password=` from a missing key, and an empty
  // password is a valid account setting.
  m.password = c.getString(name + "_password", "");
  m.unixSocket = c.getString(name + "_socket", "");
  m.maxConns = readMaxConns(c, name + "_maxconncnt");
  return m;
}

RedisConfig readRedisInstance(const tt::Config& c, const std::string& name) {
  RedisConfig r;
  r.host = c.getString(name + "_host");
  r.port = c.getPort(name + "_port");
  const std::string dbKey = name + "_db";
  const int64_t db = c.getInt(dbKey);
  if (db < 0 || db > std::numeric_limits<int>::max()) c.fail(dbKey, "must be a database number >= 0");
  r.db = static_cast<int>(db);
  r.password = c.getString(name + "_password", "");
  r.maxConns = readMaxConns(c, name + "_maxconncnt");
  return r;
}

}  // namespace

Storage::Storage() = default;
Storage::Storage(Storage&&) noexcept = default;
Storage& Storage::operator=(Storage&&) noexcept = default;
Storage::~Storage() = default;

Storage Storage::fromConfig(const tt::Config& config) {
  Storage s;

  const std::vector<std::string> dbs = config.getRequiredList("DBInstances", ',');
  if (dbs.size() > 2) {
    config.fail("DBInstances", "names " + std::to_string(dbs.size()) +
                                   " instances; expected <master>[,<slave>]");
  }
  s.master_ = std::make_unique<MysqlPool>(dbs[0], readMysqlInstance(config, dbs[0]));
  if (dbs.size() == 2 && dbs[1] != dbs[0]) {
    s.slave_ = std::make_unique<MysqlPool>(dbs[1], readMysqlInstance(config, dbs[1]));
  }

  const std::vector<std::string> caches = config.getRequiredList("CacheInstances", ',');
  std::string requiredList;
  for (std::string_view required : kRequiredCaches) {
    requiredList += (requiredList.empty() ? "" : ", ") + std::string(required);
  }
  for (std::string_view required : kRequiredCaches) {
    if (std::find(caches.begin(), caches.end(), required) == caches.end()) {
      config.fail("CacheInstances", "must list '" + std::string(required) + "' (required: " + requiredList + ")");
    }
  }
  for (const std::string& name : caches) {
    if (s.caches_.count(name) != 0) continue;
    s.caches_.emplace(name, std::make_unique<RedisPool>(name, readRedisInstance(config, name)));
  }
  return s;
}

RedisPool& Storage::cache(std::string_view name) {
  auto it = caches_.find(name);
  if (it == caches_.end()) throw std::out_of_range("no cache instance '" + std::string(name) + "'");
  return *it->second;
}

std::vector<std::string> Storage::cacheNames() const {
  std::vector<std::string> names;
  names.reserve(caches_.size());
  for (const auto& [name, pool] : caches_) names.push_back(name);
  return names;
}

void Storage::checkConnections(int timeoutMs) {
  auto checkMysql = [timeoutMs](MysqlPool& pool) {
    MysqlLease db = pool.acquire(timeoutMs);
    if (!db->ping()) throw DbError(db->label() + ": no answer to ping", 2006);
  };
  checkMysql(*master_);
  if (slave_) checkMysql(*slave_);
  for (const auto& [name, pool] : caches_) {
    RedisLease r = pool->acquire(timeoutMs);
    if (!r->ping()) throw RedisError(r->label() + ": no answer to PING");
  }
}

}  // namespace tt::db
