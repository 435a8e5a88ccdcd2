#pragma once
// The values that cross the MySQL layer: statement parameters (DbValue), result rows (DbRow) and
// the error type. Nothing here touches libmariadb, so handlers can include it cheaply.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace tt::db {

// Every MySQL failure: the server's or client library's error number (0 for errors raised by this
// layer itself, such as a pool timeout or a bad column index) and SQLSTATE. The message names the
// pool and the SQL text (never parameter values).
class DbError : public std::runtime_error {
 public:
  explicit DbError(const std::string& what, unsigned code = 0, std::string sqlState = {});

  unsigned code() const { return code_; }
  const std::string& sqlState() const { return sqlState_; }

  // True when the error means the connection is gone or out of step (server gone/lost, killed,
  // shut down, network errors). Such a connection is marked broken and never reused.
  bool connectionError() const { return isConnectionError(code_); }
  static bool isConnectionError(unsigned code);

 private:
  unsigned code_;
  std::string sqlState_;
};

// A statement parameter: NULL, a signed or unsigned 64-bit integer, or a byte string (any bytes,
// NULs included; sent with its explicit length). Any integer type converts implicitly, keeping its
// signedness, so `{uid, peerId, "text"}` works without casts; bool becomes 0/1.
class DbValue {
 public:
  using Variant = std::variant<std::nullptr_t, int64_t, uint64_t, std::string>;

  DbValue() : value_(nullptr) {}
  DbValue(std::nullptr_t) : value_(nullptr) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, char> &&
                                 !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char16_t> &&
                                 !std::is_same_v<T, char32_t>,
                             int> = 0>
  DbValue(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      value_ = int64_t{v ? 1 : 0};
    } else if constexpr (std::is_signed_v<T>) {
      value_ = static_cast<int64_t>(v);
    } else {
      value_ = static_cast<uint64_t>(v);
    }
  }
  DbValue(std::string v) : value_(std::move(v)) {}
  DbValue(std::string_view v) : value_(std::string(v)) {}
  DbValue(const char* v) : value_(std::string(v)) {}  // must not be null; use nullptr for NULL
  // An empty optional is NULL.
  template <typename T>
  DbValue(const std::optional<T>& v) : DbValue(v ? DbValue(*v) : DbValue()) {}

  bool isNull() const { return std::holds_alternative<std::nullptr_t>(value_); }
  const Variant& variant() const { return value_; }

 private:
  Variant value_;
};

// One result row. Every cell arrives as text (numbers in decimal, as the server formats them) or
// as raw bytes for BLOB columns; std::nullopt is SQL NULL.
//
// The typed getters read NULL as 0 / "" — TeamTalk's columns are NOT NULL nearly everywhere; call
// isNull() where the difference matters. A value that is not a number of the asked type (wrong
// column, overflow) and a column index past the end throw DbError: both are bugs in the caller.
class DbRow {
 public:
  using Cell = std::optional<std::string>;

  DbRow() = default;
  explicit DbRow(std::vector<Cell> cells) : cells_(std::move(cells)) {}

  size_t size() const { return cells_.size(); }
  const Cell& cell(size_t col) const;
  bool isNull(size_t col) const { return !cell(col).has_value(); }

  const std::string& str(size_t col) const;
  uint32_t u32(size_t col) const;
  uint64_t u64(size_t col) const;
  int32_t i32(size_t col) const;
  int64_t i64(size_t col) const;

 private:
  std::vector<Cell> cells_;
};

using DbRows = std::vector<DbRow>;

struct DbExecResult {
  uint64_t affectedRows = 0;
  uint64_t insertId = 0;  // the AUTO_INCREMENT value of an INSERT (or LAST_INSERT_ID(expr)), else 0
};

}  // namespace tt::db
