#pragma once
// db_proxy_server's storage as dbproxyserver.conf describes it (docs/PROTOCOL.md §6.5):
//
//   DBInstances=teamtalk_master,teamtalk_slave      first: writes; second (optional): reads
//   teamtalk_master_host / _port / _dbname / _username / _maxconncnt   required
//   teamtalk_master_password                                          optional (empty = none)
//   teamtalk_master_socket                                            optional unix socket (used
//                                                                     instead of host:port)
//   CacheInstances=unread,group_set,token,sync,group_member            all five required
//   unread_host / _port / _db / _maxconncnt                            required
//   unread_password                                                   optional (AUTH)
//
// Building it connects nothing (pools open connections on demand); call checkConnections() at
// start-up to fail early. master(), slave() and cache() are thread-safe (the pools are).

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/Config.h"
#include "db_proxy_server/storage/MysqlPool.h"
#include "db_proxy_server/storage/RedisPool.h"
#include "proto/RedisKeys.h"

namespace tt::db {

class Storage {
 public:
  // The cache instances db_proxy_server's handlers use (docs/PROTOCOL.md §5.2, proto/RedisKeys.h).
  static constexpr std::array<std::string_view, 5> kRequiredCaches{
      rediskey::kUnreadInstance, rediskey::kGroupSetInstance, rediskey::kTokenInstance, rediskey::kSyncInstance,
      rediskey::kGroupMemberInstance};

  // Throws tt::ConfigError naming the file and the key that is missing or bad.
  static Storage fromConfig(const tt::Config& config);

  Storage(Storage&&) noexcept;
  Storage& operator=(Storage&&) noexcept;
  ~Storage();

  MysqlPool& master() { return *master_; }                     // writes
  MysqlPool& slave() { return slave_ ? *slave_ : *master_; }  // reads
  bool hasSeparateSlave() const { return slave_ != nullptr; }

  // Throws std::out_of_range for a name CacheInstances does not list.
  RedisPool& cache(std::string_view name);
  std::vector<std::string> cacheNames() const;

  // Acquires and pings one connection of every pool. Throws DbError / RedisError naming the pool,
  // so a wrong port or password is one clear line at start-up instead of failed requests later.
  void checkConnections(int timeoutMs = 5000);

 private:
  Storage();

  std::unique_ptr<MysqlPool> master_;
  std::unique_ptr<MysqlPool> slave_;  // null when the master serves reads too
  std::map<std::string, std::unique_ptr<RedisPool>, std::less<>> caches_;
};

}  // namespace tt::db
