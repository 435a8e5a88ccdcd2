#include "db_proxy_server/storage/MysqlConn.h"

#include <mysql.h>
#include <poll.h>

#include <cstring>
#include <mutex>

#include "db_proxy_server/storage/MysqlStatement.h"

namespace tt::db {

namespace {

// Statements are few (the SQL texts are in the code), but each one holds a server-side handle
// counted against max_prepared_stmt_count, so a runaway caller must not grow the cache forever.
constexpr size_t kMaxCachedStatements = 256;

// Errors after which a cached statement cannot be executed again as it is; it is dropped and
// prepared anew on next use (the connection itself is fine).
bool statementInvalidated(unsigned code) {
  switch (code) {
    case 1243:  // ER_UNKNOWN_STMT_HANDLER
    case 1615:  // ER_NEED_REPREPARE
    case 2030:  // CR_NO_PREPARE_STMT
    case 2056:  // CR_STMT_CLOSED
    case 2057:  // CR_NEW_STMT_METADATA
      return true;
    default:
      return false;
  }
}

constexpr unsigned kServerGone = 2006;  // CR_SERVER_GONE_ERROR

}  // namespace

void initMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
      throw DbError("mysql_library_init failed");  // call_once lets a later call retry
    }
  });
}

MysqlThreadScope::MysqlThreadScope() { mysql_thread_init(); }
MysqlThreadScope::~MysqlThreadScope() { mysql_thread_end(); }

void MysqlConn::MysqlCloser::operator()(st_mysql* m) const { mysql_close(m); }

MysqlConn::MysqlConn(std::string label, const MysqlConfig& config) : label_(std::move(label)) {
  initMysqlLibrary();
  mysql_.reset(mysql_init(nullptr));
  if (!mysql_) throw DbError(label_ + ": mysql_init failed (out of memory)", 2008);
  MYSQL* m = mysql_.get();

  unsigned int connectTimeout = config.connectTimeoutSec;
  unsigned int readTimeout = config.readTimeoutSec;
  unsigned int writeTimeout = config.writeTimeoutSec;
  my_bool reconnect = 0;
  unsigned int localInfile = 0;
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &readTimeout);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &writeTimeout);
  mysql_options(m, MYSQL_OPT_RECONNECT, &reconnect);
  mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &localInfile);

  // The library takes the socket only for host "localhost"; a configured socket wins over host.
  const bool viaSocket = !config.unixSocket.empty();
  const std::string where = viaSocket ? config.unixSocket : config.host + ":" + std::to_string(config.port);
  const char* host = viaSocket ? "localhost" : (config.host.empty() ? nullptr : config.host.c_str());
  if (mysql_real_connect(m, host, config.user.c_str(), config.password.c_str(),
                         config.dbname.empty() ? nullptr : config.dbname.c_str(), config.port,
                         viaSocket ? config.unixSocket.c_str() : nullptr, 0) == nullptr) {
    const unsigned code = mysql_errno(m);
    throw DbError(label_ + ": connect to " + where + " as '" + config.user + "' failed: [" +
                      std::to_string(code) + "] " + mysql_error(m),
                  code, mysql_sqlstate(m));
  }
  simpleCommand("autocommit", mysql_autocommit(m, 1));
}

MysqlConn::~MysqlConn() {
  // Close the connection first: the library then detaches the statements, and freeing them sends
  // nothing (the server drops a session's statements with the session).
  mysql_.reset();
  statements_.clear();
}

void MysqlConn::checkUsable() const {
  if (broken_) throw DbError(label_ + ": connection is broken", kServerGone);
}

void MysqlConn::simpleCommand(const char* what, int rc) {
  if (rc == 0) return;
  MYSQL* m = mysql_.get();
  const unsigned code = mysql_errno(m);
  if (DbError::isConnectionError(code)) broken_ = true;
  throw DbError(label_ + ": " + what + " failed: [" + std::to_string(code) + "] " + mysql_error(m), code,
                mysql_sqlstate(m));
}

detail::MysqlStatement& MysqlConn::statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return *it->second;
  auto stmt = std::make_unique<detail::MysqlStatement>(mysql_.get(), sql, label_);
  if (statements_.size() >= kMaxCachedStatements) statements_.erase(statements_.begin());
  return *statements_.emplace(sql, std::move(stmt)).first->second;
}

template <typename Fn>
auto MysqlConn::withStatement(const std::string& sql, Fn&& fn) {
  checkUsable();
  try {
    return fn(statement(sql));
  } catch (const DbError& e) {
    if (e.connectionError()) {
      broken_ = true;
    } else if (statementInvalidated(e.code())) {
      statements_.erase(sql);
    }
    throw;
  }
}

DbRows MysqlConn::query(const std::string& sql, const std::vector<DbValue>& params) {
  return withStatement(sql, [&](detail::MysqlStatement& s) { return s.query(params); });
}

std::optional<DbRow> MysqlConn::queryOne(const std::string& sql, const std::vector<DbValue>& params) {
  DbRows rows = query(sql, params);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

DbExecResult MysqlConn::exec(const std::string& sql, const std::vector<DbValue>& params) {
  return withStatement(sql, [&](detail::MysqlStatement& s) { return s.exec(params); });
}

void MysqlConn::begin() {
  checkUsable();
  if (inTransaction_) throw DbError(label_ + ": begin() inside an open transaction");
  static const char kSql[] = "START TRANSACTION";
  simpleCommand("START TRANSACTION", mysql_real_query(mysql_.get(), kSql, sizeof kSql - 1));
  inTransaction_ = true;
}

void MysqlConn::commit() {
  checkUsable();
  simpleCommand("COMMIT", mysql_commit(mysql_.get()));
  inTransaction_ = false;
}

void MysqlConn::rollback() {
  checkUsable();
  simpleCommand("ROLLBACK", mysql_rollback(mysql_.get()));
  inTransaction_ = false;
}

bool MysqlConn::ping() {
  if (broken_) return false;
  if (mysql_ping(mysql_.get()) != 0) broken_ = true;
  return !broken_;
}

bool MysqlConn::idleSocketLooksDead() const {
  const int fd = static_cast<int>(mysql_get_socket(mysql_.get()));
  if (fd < 0) return true;
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  // Readable (EOF or an unsolicited error packet), POLLHUP, POLLERR or POLLNVAL: all mean dead.
  return ::poll(&p, 1, 0) > 0;
}

void MysqlConn::resetAfterUse() noexcept {
  if (broken_ || !inTransaction_) return;
  try {
    rollback();
  } catch (...) {
    broken_ = true;
  }
}

// --- Transaction ---------------------------------------------------------------------------

Transaction::Transaction(MysqlConn& conn) : conn_(conn) { conn_.begin(); }

Transaction::~Transaction() {
  if (done_) return;
  try {
    conn_.rollback();
  } catch (...) {
    conn_.markBroken();  // state unknown: never hand this connection out again
  }
}

void Transaction::commit() {
  conn_.commit();
  done_ = true;
}

void Transaction::rollback() {
  done_ = true;
  conn_.rollback();
}

}  // namespace tt::db
