#pragma once
// A bounded pool of MySQL connections for the worker threads of db_proxy_server.
//
//   MysqlPool pool("teamtalk_master", config);        // in main(), before the workers start
//   ...
//   MysqlLease db = pool.acquire();                    // on a worker; throws DbError
//   auto rows = db->query("SELECT name FROM IMUser WHERE id = ?", {uid});
//   // the connection goes back to the pool when `db` goes out of scope
//
// Connections are opened on demand, up to config.maxConns. acquire() checks an idle connection
// before handing it out (a cheap socket check always; a ping after 30 s idle) and replaces it
// when the server closed it, so the pool carries on by itself after a MariaDB restart. A
// connection that failed at the connection level during use is closed when its lease ends.
// Thread-safe. See MysqlConn.h for the library set-up each thread needs.

#include <memory>
#include <string>

#include "db_proxy_server/storage/ConnPool.h"
#include "db_proxy_server/storage/MysqlConn.h"

namespace tt::db {

using MysqlLease = detail::Lease<MysqlConn>;

class MysqlPool {
 public:
  static constexpr int kDefaultAcquireTimeoutMs = 5000;

  // Opens nothing yet. Calls initMysqlLibrary(). Throws DbError when config.maxConns is 0.
  MysqlPool(std::string name, MysqlConfig config);

  MysqlPool(const MysqlPool&) = delete;
  MysqlPool& operator=(const MysqlPool&) = delete;

  // Waits up to timeoutMs for a free connection (<= 0: fail at once when all are leased), plus
  // at most the connect timeout when a new connection has to be opened. Throws DbError.
  MysqlLease acquire(int timeoutMs = kDefaultAcquireTimeoutMs);

  PoolStats stats() const { return core_->stats(); }
  const std::string& name() const { return core_->name(); }
  const MysqlConfig& config() const { return core_->config(); }

 private:
  std::shared_ptr<detail::ConnPool<MysqlConn>> core_;
};

}  // namespace tt::db
