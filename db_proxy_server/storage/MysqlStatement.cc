#include "db_proxy_server/storage/MysqlStatement.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace tt::db::detail {

namespace {

std::string shortSql(const std::string& sql) {
  constexpr size_t kMax = 300;
  return sql.size() > kMax ? sql.substr(0, kMax) + "..." : sql;
}

// Result columns are fetched into buffers sized from the column's longest value in this result
// (STMT_ATTR_UPDATE_MAX_LENGTH makes store_result compute it). Above this size the buffer stays
// small and the value is read with mysql_stmt_fetch_column instead, so one huge cell does not
// make every row's buffer huge.
constexpr unsigned long kMaxPreallocated = 1 << 20;
constexpr unsigned long kFallbackBuffer = 4096;

struct FreeResult {
  MYSQL_STMT* stmt;
  ~FreeResult() { mysql_stmt_free_result(stmt); }
};

struct ResFree {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

}  // namespace

MysqlStatement::MysqlStatement(MYSQL* mysql, std::string sql, const std::string& label)
    : sql_(std::move(sql)), label_(label) {
  stmt_ = mysql_stmt_init(mysql);
  if (stmt_ == nullptr) {
    throw DbError(label_ + ": mysql_stmt_init failed: [" + std::to_string(mysql_errno(mysql)) +
                      "] " + mysql_error(mysql),
                  mysql_errno(mysql), mysql_sqlstate(mysql));
  }
  try {
    if (mysql_stmt_prepare(stmt_, sql_.data(), sql_.size()) != 0) fail("prepare");
    my_bool on = 1;
    if (mysql_stmt_attr_set(stmt_, STMT_ATTR_UPDATE_MAX_LENGTH, &on) != 0) fail("attr_set");
  } catch (...) {
    mysql_stmt_close(stmt_);
    throw;
  }
  paramCount_ = mysql_stmt_param_count(stmt_);
}

MysqlStatement::~MysqlStatement() { mysql_stmt_close(stmt_); }

void MysqlStatement::fail(const char* step) const {
  const unsigned code = mysql_stmt_errno(stmt_);
  throw DbError(label_ + ": " + step + " failed for `" + shortSql(sql_) + "`: [" +
                    std::to_string(code) + "] " + mysql_stmt_error(stmt_),
                code, mysql_stmt_sqlstate(stmt_));
}

void MysqlStatement::bindAndExecute(const std::vector<DbValue>& params) {
  if (params.size() != paramCount_) {
    throw DbError(label_ + ": `" + shortSql(sql_) + "` takes " + std::to_string(paramCount_) +
                  " parameters, got " + std::to_string(params.size()));
  }
  // The library reads through these pointers during execute, so they live until then.
  std::vector<MYSQL_BIND> binds(paramCount_);
  std::vector<long long> signedValues(paramCount_);
  std::vector<unsigned long long> unsignedValues(paramCount_);
  std::vector<unsigned long> lengths(paramCount_);
  if (paramCount_ > 0) std::memset(binds.data(), 0, binds.size() * sizeof(MYSQL_BIND));
  for (size_t i = 0; i < paramCount_; ++i) {
    MYSQL_BIND& b = binds[i];
    const DbValue::Variant& v = params[i].variant();
    if (std::holds_alternative<std::nullptr_t>(v)) {
      b.buffer_type = MYSQL_TYPE_NULL;
    } else if (const auto* s = std::get_if<int64_t>(&v)) {
      signedValues[i] = *s;
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &signedValues[i];
    } else if (const auto* u = std::get_if<uint64_t>(&v)) {
      unsignedValues[i] = *u;
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &unsignedValues[i];
      b.is_unsigned = 1;
    } else {
      // MYSQL_TYPE_STRING, not BLOB: the server then takes the bytes in the connection charset
      // (utf8mb4), so comparisons with text columns keep their collation; stored into a BLOB
      // column the bytes are kept as they are. The explicit length carries NULs.
      const std::string& str = std::get<std::string>(v);
      lengths[i] = str.size();
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = const_cast<char*>(str.data());
      b.buffer_length = str.size();
      b.length = &lengths[i];
    }
  }
  if (paramCount_ > 0 && mysql_stmt_bind_param(stmt_, binds.data()) != 0) fail("bind_param");
  if (mysql_stmt_execute(stmt_) != 0) fail("execute");
}

DbRows MysqlStatement::query(const std::vector<DbValue>& params) {
  bindAndExecute(params);
  if (mysql_stmt_field_count(stmt_) == 0) return {};
  return fetchAll();
}

DbExecResult MysqlStatement::exec(const std::vector<DbValue>& params) {
  bindAndExecute(params);
  if (mysql_stmt_field_count(stmt_) > 0) {
    // A result nobody asked for still has to be read off the wire before the next command.
    FreeResult guard{stmt_};
    if (mysql_stmt_store_result(stmt_) != 0) fail("store_result");
  }
  return DbExecResult{mysql_stmt_affected_rows(stmt_), mysql_stmt_insert_id(stmt_)};
}

DbRows MysqlStatement::fetchAll() {
  FreeResult guard{stmt_};
  if (mysql_stmt_store_result(stmt_) != 0) fail("store_result");

  std::unique_ptr<MYSQL_RES, ResFree> meta(mysql_stmt_result_metadata(stmt_));
  if (!meta) fail("result_metadata");
  const unsigned columns = mysql_num_fields(meta.get());
  MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());

  struct Column {
    std::vector<char> buffer;
    unsigned long length = 0;
    my_bool isNull = 0;
    my_bool error = 0;
  };
  std::vector<Column> cols(columns);
  std::vector<MYSQL_BIND> binds(columns);
  std::memset(binds.data(), 0, binds.size() * sizeof(MYSQL_BIND));
  for (unsigned i = 0; i < columns; ++i) {
    const unsigned long longest = fields[i].max_length;
    const unsigned long size = longest <= kMaxPreallocated ? std::max(longest + 1, 32ul) : kFallbackBuffer;
    cols[i].buffer.resize(size);
    // Every column is fetched as a string: the library formats numbers and dates as text and
    // copies string/BLOB bytes unchanged; DbRow parses what the caller asks for.
    binds[i].buffer_type = MYSQL_TYPE_STRING;
    binds[i].buffer = cols[i].buffer.data();
    binds[i].buffer_length = size;
    binds[i].length = &cols[i].length;
    binds[i].is_null = &cols[i].isNull;
    binds[i].error = &cols[i].error;
  }
  if (mysql_stmt_bind_result(stmt_, binds.data()) != 0) fail("bind_result");

  DbRows rows;
  rows.reserve(static_cast<size_t>(mysql_stmt_num_rows(stmt_)));
  for (;;) {
    const int rc = mysql_stmt_fetch(stmt_);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) fail("fetch");
    // rc is 0 or MYSQL_DATA_TRUNCATED; a cell longer than its buffer is read again in full.
    std::vector<DbRow::Cell> cells(columns);
    for (unsigned i = 0; i < columns; ++i) {
      Column& c = cols[i];
      if (c.isNull) continue;
      if (c.length <= c.buffer.size()) {
        cells[i].emplace(c.buffer.data(), c.length);
        continue;
      }
      std::string whole(c.length + 1, '\0');
      unsigned long got = 0;
      my_bool isNull = 0;
      my_bool error = 0;
      MYSQL_BIND b;
      std::memset(&b, 0, sizeof b);
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = whole.data();
      b.buffer_length = whole.size();
      b.length = &got;
      b.is_null = &isNull;
      b.error = &error;
      if (mysql_stmt_fetch_column(stmt_, &b, i, 0) != 0) fail("fetch_column");
      whole.resize(std::min<size_t>(got, c.length));
      cells[i].emplace(std::move(whole));
    }
    rows.emplace_back(std::move(cells));
  }
  return rows;
}

}  // namespace tt::db::detail
