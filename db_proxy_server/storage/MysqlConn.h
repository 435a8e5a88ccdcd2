#pragma once
// One MariaDB/MySQL connection (libmariadb's C API) that speaks prepared statements only: SQL
// text is code, values always travel as bound parameters, so nothing a client sends can change
// a statement. Statements are prepared on first use and cached by SQL text.
//
// A connection belongs to one thread at a time (the pool's lease guarantees it); it has no lock.
//
// Library set-up, the caller's job:
//   - mysql_library_init is not thread-safe. MysqlPool's constructor calls initMysqlLibrary()
//     (once per process), so build the pools in main() before starting worker threads, or call
//     initMysqlLibrary() there yourself.
//   - every thread that uses a connection calls mysql_thread_init() before and mysql_thread_end()
//     after (a MysqlThreadScope at the top of the thread function does both). Connector/C 3
//     keeps little per-thread state, but the C API asks for the pair, and other client
//     libraries (libmysqlclient) leak or assert without it.
//   - the process ignores SIGPIPE (tt::openSignalFd() does), so a write to a server that went
//     away is an error, not the end of the process.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "db_proxy_server/storage/DbTypes.h"

struct st_mysql;  // MYSQL, from <mysql.h>: kept out of this header

namespace tt::db {

namespace detail {
class MysqlStatement;
}

struct MysqlConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string dbname;
  std::string unixSocket;  // when set, connect through this socket instead of host:port
  size_t maxConns = 8;
  unsigned connectTimeoutSec = 3;
  unsigned readTimeoutSec = 10;
  unsigned writeTimeoutSec = 10;
};

// mysql_library_init, once per process (later calls do nothing). Throws DbError on failure.
void initMysqlLibrary();

// mysql_thread_init() now, mysql_thread_end() at scope exit: put one at the top of each worker
// thread that touches MySQL.
class MysqlThreadScope {
 public:
  MysqlThreadScope();
  ~MysqlThreadScope();
  MysqlThreadScope(const MysqlThreadScope&) = delete;
  MysqlThreadScope& operator=(const MysqlThreadScope&) = delete;
};

class MysqlConn {
 public:
  using Config = MysqlConfig;
  using Error = DbError;
  static constexpr const char* kKind = "mysql";

  // Connects (charset utf8mb4, autocommit on, no auto-reconnect: a reconnect behind our back would
  // silently drop the prepared statements and any open transaction). `label` (the pool's
  // "mysql <name>") prefixes every error message. Throws DbError.
  MysqlConn(std::string label, const MysqlConfig& config);
  ~MysqlConn();

  MysqlConn(const MysqlConn&) = delete;
  MysqlConn& operator=(const MysqlConn&) = delete;

  // Runs a statement and returns every row (an empty vector for statements without a result).
  DbRows query(const std::string& sql, const std::vector<DbValue>& params = {});
  // The first row, or nullopt when there is none.
  std::optional<DbRow> queryOne(const std::string& sql, const std::vector<DbValue>& params = {});
  // Runs a statement for its effect.
  DbExecResult exec(const std::string& sql, const std::vector<DbValue>& params = {});

  // Explicit transactions (prefer the Transaction guard). begin() inside a transaction throws:
  // MySQL would silently commit the open one.
  void begin();
  void commit();
  void rollback();
  bool inTransaction() const { return inTransaction_; }

  // A broken connection refuses further use; its lease closes it instead of pooling it.
  bool broken() const { return broken_; }
  void markBroken() { broken_ = true; }

  // Round trip to the server; false (and broken) when it does not answer.
  bool ping();
  // Without a round trip: true when the idle socket is readable, which between commands can only
  // mean the server closed it (restart, wait_timeout, KILL). Used by the pool before reuse.
  bool idleSocketLooksDead() const;
  // Called by the pool when a lease ends: rolls back a transaction left open (marking the
  // connection broken if that fails). Never throws.
  void resetAfterUse() noexcept;

  const std::string& label() const { return label_; }
  size_t cachedStatements() const { return statements_.size(); }

 private:
  struct MysqlCloser {
    void operator()(st_mysql* m) const;
  };

  detail::MysqlStatement& statement(const std::string& sql);
  template <typename Fn>
  auto withStatement(const std::string& sql, Fn&& fn);
  void simpleCommand(const char* what, int rc);
  void checkUsable() const;

  std::string label_;
  bool broken_ = false;
  bool inTransaction_ = false;
  // Declared before mysql_ so they are destroyed after it: once mysql_close has detached them,
  // closing a statement frees memory only (no COM_STMT_CLOSE to a server that may be gone).
  std::unordered_map<std::string, std::unique_ptr<detail::MysqlStatement>> statements_;
  std::unique_ptr<st_mysql, MysqlCloser> mysql_;
};

// Begins a transaction on construction; rolls it back on destruction unless commit() was called.
// A rollback that fails marks the connection broken (it is then closed, not reused).
//
//   Transaction tx(*lease);
//   lease->exec(...); lease->exec(...);
//   tx.commit();
class Transaction {
 public:
  explicit Transaction(MysqlConn& conn);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();
  void rollback();

 private:
  MysqlConn& conn_;
  bool done_ = false;
};

}  // namespace tt::db
