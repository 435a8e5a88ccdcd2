#pragma once
// Internal to ttstorage: one prepared statement of one connection. MysqlConn owns and caches
// these; nothing else should create them.

#include <mysql.h>

#include <string>
#include <vector>

#include "db_proxy_server/storage/DbTypes.h"

namespace tt::db::detail {

class MysqlStatement {
 public:
  // Prepares `sql` on `mysql`; throws DbError (message prefixed with `label`) on failure.
  MysqlStatement(MYSQL* mysql, std::string sql, const std::string& label);
  // Frees the handle. If the connection was closed first (MysqlConn does that), the library has
  // already detached the statement and this only frees client memory, with no round trip.
  ~MysqlStatement();

  MysqlStatement(const MysqlStatement&) = delete;
  MysqlStatement& operator=(const MysqlStatement&) = delete;

  // Both throw DbError carrying the MySQL error number.
  DbRows query(const std::vector<DbValue>& params);
  DbExecResult exec(const std::vector<DbValue>& params);

 private:
  void bindAndExecute(const std::vector<DbValue>& params);
  DbRows fetchAll();
  [[noreturn]] void fail(const char* step) const;

  MYSQL_STMT* stmt_ = nullptr;
  std::string sql_;
  std::string label_;
  unsigned paramCount_ = 0;
};

}  // namespace tt::db::detail
