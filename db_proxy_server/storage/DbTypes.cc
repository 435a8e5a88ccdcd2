#include "db_proxy_server/storage/DbTypes.h"

#include <charconv>

namespace tt::db {

namespace {

// Client error numbers (errmsg.h) and server ones (mysqld_error.h) that mean the connection is
// no longer in a known state. Spelled as numbers so this file does not need libmariadb headers.
bool isClientConnectionError(unsigned code) {
  switch (code) {
    case 2000:  // CR_UNKNOWN_ERROR: state unknown, do not reuse
    case 2001:  // CR_SOCKET_CREATE_ERROR
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2004:  // CR_IPSOCK_ERROR
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2008:  // CR_OUT_OF_MEMORY (mid-packet)
    case 2011:  // CR_TCP_CONNECTION
    case 2012:  // CR_SERVER_HANDSHAKE_ERR
    case 2013:  // CR_SERVER_LOST
    case 2014:  // CR_COMMANDS_OUT_OF_SYNC
    case 2020:  // CR_NET_PACKET_TOO_LARGE
    case 2026:  // CR_SSL_CONNECTION_ERROR
    case 2027:  // CR_MALFORMED_PACKET
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 5013:  // CR_ERR_NET_READ
    case 5014:  // CR_ERR_NET_WRITE
    case 5015:  // CR_ERR_NET_UNCOMPRESS
      return true;
    default:
      return false;
  }
}

bool isServerConnectionError(unsigned code) {
  switch (code) {
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION
    case 1153:  // ER_NET_PACKET_TOO_LARGE (the server drops the connection after it)
    case 1154:  // ER_NET_READ_ERROR_FROM_PIPE
    case 1156:  // ER_NET_PACKETS_OUT_OF_ORDER
    case 1157:  // ER_NET_UNCOMPRESS_ERROR
    case 1158:  // ER_NET_READ_ERROR
    case 1159:  // ER_NET_READ_INTERRUPTED
    case 1160:  // ER_NET_ERROR_ON_WRITE
    case 1161:  // ER_NET_WRITE_INTERRUPTED
    case 1184:  // ER_NEW_ABORTING_CONNECTION
    case 1927:  // ER_CONNECTION_KILLED
      return true;
    default:
      return false;
  }
}

template <typename T>
T parseNumber(const std::optional<std::string>& cell, size_t col, const char* typeName) {
  if (!cell) return 0;
  const std::string& s = *cell;
  T value{};
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || s.empty()) {
    std::string shown = s.size() > 40 ? s.substr(0, 40) + "..." : s;
    throw DbError("column " + std::to_string(col) + ": '" + shown + "' is not a " + typeName);
  }
  return value;
}

}  // namespace

DbError::DbError(const std::string& what, unsigned code, std::string sqlState)
    : std::runtime_error(what), code_(code), sqlState_(std::move(sqlState)) {}

bool DbError::isConnectionError(unsigned code) {
  return isClientConnectionError(code) || isServerConnectionError(code);
}

const DbRow::Cell& DbRow::cell(size_t col) const {
  if (col >= cells_.size()) {
    throw DbError("column " + std::to_string(col) + " out of range (row has " +
                  std::to_string(cells_.size()) + " columns)");
  }
  return cells_[col];
}

const std::string& DbRow::str(size_t col) const {
  static const std::string kEmpty;
  const Cell& c = cell(col);
  return c ? *c : kEmpty;
}

uint32_t DbRow::u32(size_t col) const { return parseNumber<uint32_t>(cell(col), col, "uint32"); }
uint64_t DbRow::u64(size_t col) const { return parseNumber<uint64_t>(cell(col), col, "uint64"); }
int32_t DbRow::i32(size_t col) const { return parseNumber<int32_t>(cell(col), col, "int32"); }
int64_t DbRow::i64(size_t col) const { return parseNumber<int64_t>(cell(col), col, "int64"); }

}  // namespace tt::db
