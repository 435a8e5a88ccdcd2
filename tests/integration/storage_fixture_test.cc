// Proves scripts/lib/storage.sh and StorageFixture against the real servers: a utf8mb4 round
// trip through a MariaDB prepared statement, Redis SET/GET/INCR, and a stop that really stops.

#include "tests/integration/StorageFixture.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <mysql.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

namespace tt::test {
namespace {

static auto* const kStorageEnv = StorageEnvironment::registerOnce();

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct StmtCloser {
  void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
};
struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using StmtPtr = std::unique_ptr<MYSQL_STMT, StmtCloser>;
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// Connects over TCP, or over the unix socket when `viaSocket`.
MysqlPtr connectMysql(const StorageFixture& s, bool viaSocket = false) {
  MysqlPtr db(mysql_init(nullptr));
  if (!db) return nullptr;
  mysql_options(db.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  unsigned int timeout = 5;
  mysql_options(db.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  const char* host = viaSocket ? "localhost" : s.mysqlHost.c_str();
  const char* socket = viaSocket ? s.mysqlSocket.c_str() : nullptr;
  if (!mysql_real_connect(db.get(), host, s.mysqlUser.c_str(), s.mysqlPassword.c_str(),
                          s.mysqlDb.c_str(), viaSocket ? 0 : s.mysqlPort, socket, 0)) {
    ADD_FAILURE() << "mysql_real_connect: " << mysql_error(db.get());
    return nullptr;
  }
  return db;
}

void exec(MYSQL* db, const std::string& sql) {
  ASSERT_EQ(mysql_query(db, sql.c_str()), 0) << sql << ": " << mysql_error(db);
}

// True when a TCP connect to 127.0.0.1:port is refused.
bool connectRefused(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  return rc != 0 && err == ECONNREFUSED;
}

TEST(StorageFixture, EnvFileIsParsed) {
  const StorageFixture& s = StorageEnvironment::storage();
  EXPECT_EQ(s.mysqlHost, "127.0.0.1");
  EXPECT_EQ(s.redisHost, "127.0.0.1");
  EXPECT_GT(s.mysqlPort, 0);
  EXPECT_GT(s.redisPort, 0);
  EXPECT_NE(s.mysqlPort, s.redisPort);
  EXPECT_EQ(s.mysqlUser, "ttsuite");
  EXPECT_EQ(s.mysqlDb, "teamtalk");
  EXPECT_FALSE(s.mysqlPassword.empty());
  EXPECT_EQ(s.mysqlSocket, s.dir() + "/mysql.sock");
}

TEST(StorageFixture, MariaDbPreparedStatementRoundTripsUtf8mb4) {
  const StorageFixture& s = StorageEnvironment::storage();
  MysqlPtr db = connectMysql(s);
  ASSERT_TRUE(db);

  exec(db.get(),
       "CREATE TABLE IF NOT EXISTS fixture_roundtrip ("
       " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
       " body VARCHAR(255) NOT NULL"
       ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci");

  // Single and double quotes, a backslash, a NUL-free 4-byte emoji (U+1F600) and CJK text.
  const std::string value = "it's \"quoted\" \\ back\\slash \xF0\x9F\x98\x80 \xE4\xBD\xA0\xE5\xA5\xBD";

  StmtPtr insert(mysql_stmt_init(db.get()));
  ASSERT_TRUE(insert);
  const std::string insertSql = "INSERT INTO fixture_roundtrip (body) VALUES (?)";
  ASSERT_EQ(mysql_stmt_prepare(insert.get(), insertSql.c_str(), insertSql.size()), 0)
      << mysql_stmt_error(insert.get());
  ASSERT_EQ(mysql_stmt_param_count(insert.get()), 1u);
  MYSQL_BIND param{};
  unsigned long valueLength = value.size();
  param.buffer_type = MYSQL_TYPE_STRING;
  param.buffer = const_cast<char*>(value.data());
  param.buffer_length = value.size();
  param.length = &valueLength;
  ASSERT_EQ(mysql_stmt_bind_param(insert.get(), &param), 0) << mysql_stmt_error(insert.get());
  ASSERT_EQ(mysql_stmt_execute(insert.get()), 0) << mysql_stmt_error(insert.get());
  ASSERT_EQ(mysql_stmt_affected_rows(insert.get()), 1u);
  unsigned long long id = mysql_stmt_insert_id(insert.get());
  ASSERT_GT(id, 0u);

  StmtPtr select(mysql_stmt_init(db.get()));
  ASSERT_TRUE(select);
  const std::string selectSql = "SELECT body, CHAR_LENGTH(body) FROM fixture_roundtrip WHERE id = ?";
  ASSERT_EQ(mysql_stmt_prepare(select.get(), selectSql.c_str(), selectSql.size()), 0)
      << mysql_stmt_error(select.get());
  MYSQL_BIND key{};
  key.buffer_type = MYSQL_TYPE_LONGLONG;
  key.buffer = &id;
  key.is_unsigned = 1;
  ASSERT_EQ(mysql_stmt_bind_param(select.get(), &key), 0) << mysql_stmt_error(select.get());
  ASSERT_EQ(mysql_stmt_execute(select.get()), 0) << mysql_stmt_error(select.get());

  char body[1024] = {};
  unsigned long bodyLength = 0;
  long long charLength = 0;
  my_bool bodyNull = 0;
  MYSQL_BIND result[2] = {};
  result[0].buffer_type = MYSQL_TYPE_STRING;
  result[0].buffer = body;
  result[0].buffer_length = sizeof body;
  result[0].length = &bodyLength;
  result[0].is_null = &bodyNull;
  result[1].buffer_type = MYSQL_TYPE_LONGLONG;
  result[1].buffer = &charLength;
  ASSERT_EQ(mysql_stmt_bind_result(select.get(), result), 0) << mysql_stmt_error(select.get());
  ASSERT_EQ(mysql_stmt_store_result(select.get()), 0) << mysql_stmt_error(select.get());
  ASSERT_EQ(mysql_stmt_fetch(select.get()), 0) << mysql_stmt_error(select.get());
  ASSERT_FALSE(bodyNull);
  EXPECT_EQ(std::string(body, bodyLength), value);
  // The server counted the emoji as one character, so it stored utf8mb4, not mangled bytes.
  long long codePoints = 0;
  for (unsigned char c : value) codePoints += (c & 0xC0) != 0x80;
  EXPECT_EQ(charLength, codePoints);
  EXPECT_EQ(mysql_stmt_fetch(select.get()), MYSQL_NO_DATA);
}

TEST(StorageFixture, MariaDbUnixSocketAndSchemaMigrations) {
  const StorageFixture& s = StorageEnvironment::storage();
  MysqlPtr db = connectMysql(s, /*viaSocket=*/true);
  ASSERT_TRUE(db);
  ASSERT_EQ(mysql_query(db.get(), "SELECT COUNT(*) FROM schema_migrations"), 0) << mysql_error(db.get());
  MYSQL_RES* res = mysql_store_result(db.get());
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(mysql_num_rows(res), 1u);
  mysql_free_result(res);
  ASSERT_EQ(mysql_query(db.get(), "SELECT @@character_set_database"), 0) << mysql_error(db.get());
  res = mysql_store_result(db.get());
  ASSERT_NE(res, nullptr);
  MYSQL_ROW row = mysql_fetch_row(res);
  ASSERT_NE(row, nullptr);
  EXPECT_STREQ(row[0], "utf8mb4");
  mysql_free_result(res);
}

TEST(StorageFixture, RedisSetGetIncr) {
  const StorageFixture& s = StorageEnvironment::storage();
  timeval timeout{5, 0};
  RedisPtr redis(redisConnectWithTimeout(s.redisHost.c_str(), s.redisPort, timeout));
  ASSERT_TRUE(redis);
  ASSERT_EQ(redis->err, 0) << redis->errstr;

  const std::string key = "fixture:greeting";
  const std::string value = std::string("binary\0safe \xF0\x9F\x98\x80 'q' \\", 22);
  ReplyPtr r(static_cast<redisReply*>(
      redisCommand(redis.get(), "SET %b %b", key.data(), key.size(), value.data(), value.size())));
  ASSERT_TRUE(r) << redis->errstr;
  ASSERT_EQ(r->type, REDIS_REPLY_STATUS);
  EXPECT_STREQ(r->str, "OK");

  r.reset(static_cast<redisReply*>(redisCommand(redis.get(), "GET %b", key.data(), key.size())));
  ASSERT_TRUE(r) << redis->errstr;
  ASSERT_EQ(r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(r->str, r->len), value);

  r.reset(static_cast<redisReply*>(redisCommand(redis.get(), "DEL fixture:counter")));
  ASSERT_TRUE(r);
  for (long long expected = 1; expected <= 3; ++expected) {
    r.reset(static_cast<redisReply*>(redisCommand(redis.get(), "INCR fixture:counter")));
    ASSERT_TRUE(r) << redis->errstr;
    ASSERT_EQ(r->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(r->integer, expected);
  }
}

// Uses its own instance so stopping it leaves the shared one alone.
TEST(StorageFixture, StopReallyStopsBothServers) {
  StorageFixture own;
  own.start();
  ASSERT_TRUE(own.started());
  const std::string dir = own.dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/mysql.pid"));
  ASSERT_TRUE(std::filesystem::exists(dir + "/redis.pid"));
  EXPECT_FALSE(connectRefused(own.mysqlPort));
  EXPECT_FALSE(connectRefused(own.redisPort));
  {
    MysqlPtr db = connectMysql(own);
    ASSERT_TRUE(db);
  }
  EXPECT_EQ(StorageFixture::runScript({"status", dir}), 0);

  own.stopServers();
  EXPECT_TRUE(connectRefused(own.mysqlPort)) << "MariaDB still accepts on " << own.mysqlPort;
  EXPECT_TRUE(connectRefused(own.redisPort)) << "Redis still accepts on " << own.redisPort;
  EXPECT_FALSE(std::filesystem::exists(dir + "/mysql.pid"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/redis.pid"));
  EXPECT_NE(StorageFixture::runScript({"status", dir}), 0);

  // A second stop is harmless.
  EXPECT_EQ(StorageFixture::runScript({"stop", dir}), 0);

  own.stop();
  EXPECT_FALSE(own.started());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace tt::test
