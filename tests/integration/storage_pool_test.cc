// ttstorage against real servers (the shared private MariaDB + Redis, and a second private pair
// that this file stops and restarts): prepared-statement round trips byte for byte, NULLs,
// injection-looking values, transactions, pool bounds and concurrency, Redis commands and
// pipelines, recovery after a server restart, and Storage built from dbproxyserver.conf text.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "base/Config.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/RedisKeys.h"
#include "tests/integration/StorageFixture.h"

namespace rk = tt::rediskey;  // the Redis layout (the spellings are pinned in tests/unit/redis_keys_test.cc)

namespace tt::db {
namespace {

using tt::test::StorageEnvironment;
using tt::test::StorageFixture;
using Clock = std::chrono::steady_clock;

static auto* const kStorageEnv = StorageEnvironment::registerOnce();

// As in the daemons (tt::openSignalFd): a write to a socket whose server went away must be an
// error, not SIGPIPE. The restart test does exactly that.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int64_t msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

MysqlConfig mysqlConfig(const StorageFixture& s, size_t maxConns = 4) {
  MysqlConfig c;
  c.host = s.mysqlHost;
  c.port = static_cast<uint16_t>(s.mysqlPort);
  c.user = s.mysqlUser;
  c.password = s.mysqlPassword;
  c.dbname = s.mysqlDb;
  c.maxConns = maxConns;
  return c;
}

RedisConfig redisConfig(const StorageFixture& s, int db = 0, size_t maxConns = 4) {
  RedisConfig c;
  c.host = s.redisHost;
  c.port = static_cast<uint16_t>(s.redisPort);
  c.db = db;
  c.maxConns = maxConns;
  return c;
}

std::string toHex(const std::string& bytes) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string randomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// --- MySQL -----------------------------------------------------------------------------------

TEST(MysqlPool, RoundTripsBytesExactly) {
  MysqlPool pool("bytes", mysqlConfig(StorageEnvironment::storage()));
  MysqlLease db = pool.acquire();
  db->exec("DROP TABLE IF EXISTS sp_bytes");
  db->exec(
      "CREATE TABLE sp_bytes (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, txt VARCHAR(255) NULL, "
      "data LONGBLOB NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");

  struct Case {
    std::string txt;
    std::string data;
  };
  const std::vector<Case> cases = {
      {"it's a 'quoted' \"string\"", "'"},
      {"back\\slash \\n \\0 \\\\ \\'", "\\"},
      {std::string("nul\0inside\0", 11), std::string("\0\0\x01\xff\0", 5)},
      {"emoji \xF0\x9F\x98\x80 and \xC3\xB1 and \xE4\xB8\xAD", ""},
      {"4 KiB", std::string(4096, 'k')},
      {"60 KiB blob", randomBytes(60 * 1024, 1)},
      {"2 MiB blob", randomBytes(2 * 1024 * 1024, 2)},  // past the preallocated buffer: fetch_column
  };

  std::vector<uint64_t> ids;
  for (const Case& c : cases) {
    DbExecResult r = db->exec("INSERT INTO sp_bytes (txt, data) VALUES (?, ?)", {c.txt, c.data});
    EXPECT_EQ(r.affectedRows, 1u);
    EXPECT_GT(r.insertId, 0u);
    ids.push_back(r.insertId);
  }

  for (size_t i = 0; i < cases.size(); ++i) {
    auto row = db->queryOne("SELECT txt, data, LENGTH(data), HEX(txt) FROM sp_bytes WHERE id = ?", {ids[i]});
    ASSERT_TRUE(row.has_value());
    EXPECT_TRUE(row->str(0) == cases[i].txt) << "case " << i << ": txt differs";
    EXPECT_TRUE(row->str(1) == cases[i].data) << "case " << i << ": data differs (" << row->str(1).size()
                                              << " vs " << cases[i].data.size() << " bytes)";
    EXPECT_EQ(row->u64(2), cases[i].data.size());
    // The server holds the very bytes we sent (no double encoding that merely round-trips).
    EXPECT_EQ(row->str(3), toHex(cases[i].txt)) << "case " << i;
  }

  // All rows in one result: cells of very different sizes share the column buffers.
  DbRows all = db->query("SELECT id, txt, data FROM sp_bytes ORDER BY id");
  ASSERT_EQ(all.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(all[i].u64(0), ids[i]);
    EXPECT_TRUE(all[i].str(1) == cases[i].txt) << "row " << i;
    EXPECT_TRUE(all[i].str(2) == cases[i].data) << "row " << i;
  }

  auto emoji = db->queryOne("SELECT CHAR_LENGTH(txt) FROM sp_bytes WHERE id = ?", {ids[3]});
  ASSERT_TRUE(emoji);
  // "emoji " + 1 + " and " + 1 + " and " + 1: with utf8mb4 the emoji is one character (22 would
  // mean it was stored as four latin1 bytes).
  EXPECT_EQ(emoji->u32(0), 19u);
  EXPECT_GE(db->cachedStatements(), 4u);
}

TEST(MysqlPool, NullsAndEmptyStrings) {
  MysqlPool pool("nulls", mysqlConfig(StorageEnvironment::storage()));
  MysqlLease db = pool.acquire();
  db->exec("DROP TABLE IF EXISTS sp_nulls");
  db->exec("CREATE TABLE sp_nulls (id INT PRIMARY KEY, s VARCHAR(16) NULL, n INT NULL)");
  db->exec("INSERT INTO sp_nulls VALUES (?, ?, ?)", {1, nullptr, std::optional<int>{}});
  db->exec("INSERT INTO sp_nulls VALUES (?, ?, ?)", {2, "", 0});
  db->exec("INSERT INTO sp_nulls VALUES (?, ?, ?)", {3, std::optional<std::string>("x"), std::optional<int>(7)});

  DbRows rows = db->query("SELECT s, n FROM sp_nulls ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].isNull(0));
  EXPECT_TRUE(rows[0].isNull(1));
  EXPECT_EQ(rows[0].str(0), "");  // NULL reads as "" / 0
  EXPECT_EQ(rows[0].u32(1), 0u);
  EXPECT_FALSE(rows[1].isNull(0));
  EXPECT_FALSE(rows[1].isNull(1));
  EXPECT_EQ(rows[1].str(0), "");
  EXPECT_EQ(rows[2].str(0), "x");
  EXPECT_EQ(rows[2].i32(1), 7);

  EXPECT_EQ(db->query("SELECT id FROM sp_nulls WHERE s IS NULL").size(), 1u);
  // `= NULL` matches nothing, as in SQL: a NULL parameter is a NULL value, not a keyword.
  EXPECT_TRUE(db->query("SELECT id FROM sp_nulls WHERE s = ?", {nullptr}).empty());
  EXPECT_EQ(db->queryOne("SELECT ? IS NULL", {nullptr})->u32(0), 1u);
}

TEST(MysqlPool, InjectionLookingValuesAreJustData) {
  MysqlPool pool("injection", mysqlConfig(StorageEnvironment::storage()));
  MysqlLease db = pool.acquire();
  db->exec("DROP TABLE IF EXISTS sp_users");
  db->exec("CREATE TABLE sp_users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL)");
  const std::string evil = "x' OR '1'='1";
  const std::string dropper = "'; DROP TABLE sp_users; --";
  for (const std::string& name : {std::string("alice"), std::string("bob"), evil, dropper}) {
    db->exec("INSERT INTO sp_users (name) VALUES (?)", {name});
  }

  DbRows hit = db->query("SELECT name FROM sp_users WHERE name = ?", {evil});
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].str(0), evil);
  EXPECT_TRUE(db->query("SELECT name FROM sp_users WHERE name = ?", {"nobody' OR '1'='1"}).empty());
  EXPECT_EQ(db->query("SELECT name FROM sp_users WHERE name = ?", {dropper}).size(), 1u);
  EXPECT_EQ(db->queryOne("SELECT COUNT(*) FROM sp_users")->u64(0), 4u);
}

TEST(MysqlPool, TypedGettersAndParameterTypes) {
  MysqlPool pool("types", mysqlConfig(StorageEnvironment::storage()));
  MysqlLease db = pool.acquire();
  const uint32_t uid = 4000000000u;
  auto row = db->queryOne("SELECT ?, ?, ?, ?, ?, ?, ?",
                          {UINT64_MAX, INT64_MIN, uid, -5, true, std::string_view("sv"), "abc"});
  ASSERT_TRUE(row);
  EXPECT_EQ(row->u64(0), UINT64_MAX);
  EXPECT_EQ(row->i64(1), INT64_MIN);
  EXPECT_EQ(row->u32(2), uid);
  EXPECT_EQ(row->i32(3), -5);
  EXPECT_EQ(row->u32(4), 1u);
  EXPECT_EQ(row->str(5), "sv");
  EXPECT_THROW(row->u32(0), DbError);  // overflow
  EXPECT_THROW(row->u32(3), DbError);  // negative
  EXPECT_THROW(row->u32(6), DbError);  // not a number
  EXPECT_THROW(row->str(7), DbError);  // no such column
}

TEST(MysqlPool, StatementErrorsThrowAndKeepTheConnection) {
  MysqlPool pool("errors", mysqlConfig(StorageEnvironment::storage(), 1));
  MysqlLease db = pool.acquire();
  try {
    db->query("SELEC 1");
    ADD_FAILURE() << "no error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.code(), 1064u) << e.what();
    EXPECT_FALSE(e.connectionError());
    EXPECT_NE(std::string(e.what()).find("mysql errors"), std::string::npos) << e.what();
  }
  db->exec("DROP TABLE IF EXISTS sp_dup");
  db->exec("CREATE TABLE sp_dup (id INT PRIMARY KEY)");
  db->exec("INSERT INTO sp_dup VALUES (?)", {1});
  try {
    db->exec("INSERT INTO sp_dup VALUES (?)", {1});
    ADD_FAILURE() << "no error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.code(), 1062u) << e.what();
  }
  EXPECT_THROW(db->exec("INSERT INTO sp_dup VALUES (?)", {}), DbError);  // parameter count
  EXPECT_FALSE(db->broken());
  EXPECT_EQ(db->queryOne("SELECT COUNT(*) FROM sp_dup")->u32(0), 1u);
}

TEST(MysqlPool, TransactionRollsBackUnlessCommitted) {
  MysqlPool pool("tx", mysqlConfig(StorageEnvironment::storage(), 2));
  MysqlLease db = pool.acquire();
  db->exec("DROP TABLE IF EXISTS sp_tx");
  db->exec("CREATE TABLE sp_tx (id INT PRIMARY KEY) ENGINE=InnoDB");
  auto count = [&] { return db->queryOne("SELECT COUNT(*) FROM sp_tx")->u32(0); };

  {
    Transaction tx(*db);
    db->exec("INSERT INTO sp_tx VALUES (?)", {1});
    EXPECT_TRUE(db->inTransaction());
    {
      MysqlLease other = pool.acquire();  // another session does not see uncommitted rows
      EXPECT_EQ(other->queryOne("SELECT COUNT(*) FROM sp_tx")->u32(0), 0u);
    }
  }
  EXPECT_FALSE(db->inTransaction());
  EXPECT_EQ(count(), 0u);

  try {
    Transaction tx(*db);
    db->exec("INSERT INTO sp_tx VALUES (?)", {2});
    throw std::runtime_error("handler failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(count(), 0u);

  {
    Transaction tx(*db);
    db->exec("INSERT INTO sp_tx VALUES (?)", {3});
    db->exec("INSERT INTO sp_tx VALUES (?)", {4});
    tx.commit();
  }
  EXPECT_EQ(count(), 2u);
  EXPECT_THROW(
      {
        db->begin();
        db->begin();
      },
      DbError);
  db->rollback();

  // A transaction left open when the lease ends is rolled back by the pool.
  db.release();
  {
    MysqlLease a = pool.acquire();
    a->begin();
    a->exec("INSERT INTO sp_tx VALUES (?)", {5});
  }
  MysqlLease b = pool.acquire();
  EXPECT_FALSE(b->inTransaction());
  EXPECT_EQ(b->queryOne("SELECT COUNT(*) FROM sp_tx")->u32(0), 2u);
}

TEST(MysqlPool, IsBoundedAndWakesWaiters) {
  MysqlPool pool("bounded", mysqlConfig(StorageEnvironment::storage(), 2));
  MysqlLease a = pool.acquire();
  MysqlLease b = pool.acquire();
  EXPECT_EQ(pool.stats().open, 2u);

  auto t0 = Clock::now();
  EXPECT_THROW(pool.acquire(300), DbError);
  const int64_t waited = msSince(t0);
  EXPECT_GE(waited, 280);
  EXPECT_LT(waited, 2000);
  t0 = Clock::now();
  EXPECT_THROW(pool.acquire(0), DbError);
  EXPECT_LT(msSince(t0), 1000) << "acquire(0) must not wait (the default wait is far longer)";
  EXPECT_EQ(pool.stats().timeouts, 2u);

  // A waiter gets the connection as soon as a lease ends: released once the pool counts it as
  // blocked in acquire() (not after a sleep that hopes it got there), and served long before its
  // own 20 s timeout.
  int64_t waiterMs = -1;
  std::thread waiter([&] {
    MysqlThreadScope mysqlThread;
    auto start = Clock::now();
    MysqlLease c = pool.acquire(20000);
    waiterMs = msSince(start);
    c->query("SELECT 1");
  });
  const auto blockedBy = Clock::now() + std::chrono::seconds(20);
  while (pool.stats().waiting == 0 && Clock::now() < blockedBy) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pool.stats().waiting, 1u) << "the waiter never blocked in acquire()";
  const auto releasedAt = Clock::now();
  a.release();
  waiter.join();
  EXPECT_GE(waiterMs, 0);
  EXPECT_LT(msSince(releasedAt), 4000) << "the waiter was not woken when the lease ended";
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.open, 2u);
  EXPECT_EQ(s.leased, 1u);
  EXPECT_EQ(s.idle, 1u);
}

TEST(MysqlPool, ConcurrentIncrementsAreAllCounted) {
  MysqlPool pool("counter", mysqlConfig(StorageEnvironment::storage(), 4));
  {
    MysqlLease db = pool.acquire();
    db->exec("DROP TABLE IF EXISTS sp_counter");
    db->exec("CREATE TABLE sp_counter (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB");
    db->exec("INSERT INTO sp_counter VALUES (?, ?)", {1, 0});
  }
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::atomic<int> failures{0};
  std::atomic<int> updated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      MysqlThreadScope mysqlThread;
      for (int i = 0; i < kPerThread; ++i) {
        try {
          MysqlLease db = pool.acquire(10000);  // 8 threads, 4 connections: they take turns
          updated += static_cast<int>(db->exec("UPDATE sp_counter SET n = n + 1 WHERE id = ?", {1}).affectedRows);
        } catch (const std::exception& e) {
          if (failures++ == 0) ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(updated.load(), kThreads * kPerThread);
  MysqlLease db = pool.acquire();
  EXPECT_EQ(db->queryOne("SELECT n FROM sp_counter WHERE id = ?", {1})->u64(0),
            static_cast<uint64_t>(kThreads * kPerThread));
  const PoolStats s = pool.stats();
  EXPECT_LE(s.open, 4u);
  EXPECT_GE(s.acquired, static_cast<uint64_t>(kThreads * kPerThread));
}

// --- Redis -----------------------------------------------------------------------------------

TEST(RedisPool, BinarySafeSetGet) {
  RedisPool pool("binary", redisConfig(StorageEnvironment::storage()));
  RedisLease r = pool.acquire();
  const std::string key("bin\0key\r\n", 9);
  const std::string value = std::string("\0\r\n$3\r\n*1\0", 10) + "\xF0\x9F\x98\x80" + randomBytes(1 << 20, 3);
  r->set(key, value);
  auto got = r->get(key);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == value) << got->size() << " vs " << value.size() << " bytes";
  RedisReply len = r->command({"STRLEN", key});
  ASSERT_TRUE(len.isInteger());
  EXPECT_EQ(len.integer, static_cast<long long>(value.size()));
  EXPECT_FALSE(r->get("no such key").has_value());
  EXPECT_TRUE(r->command({"GET", "no such key"}).isNil());
  EXPECT_EQ(r->del(key), 1);
}

TEST(RedisPool, PipelineOfAThousandIncrs) {
  RedisPool pool("pipeline", redisConfig(StorageEnvironment::storage()));
  RedisLease r = pool.acquire();
  r->del("sp_pipeline");
  std::vector<std::vector<std::string>> cmds(1000, {"INCR", "sp_pipeline"});
  std::vector<RedisReply> replies = r->pipeline(cmds);
  ASSERT_EQ(replies.size(), 1000u);
  for (size_t i = 0; i < replies.size(); ++i) {
    ASSERT_TRUE(replies[i].isInteger()) << i;
    EXPECT_EQ(replies[i].integer, static_cast<long long>(i + 1));
  }
  EXPECT_EQ(r->get("sp_pipeline"), "1000");

  // An error reply in the middle is one value among the others.
  std::vector<RedisReply> mixed =
      r->pipeline({{"SET", "sp_mixed", "text"}, {"INCR", "sp_mixed"}, {"GET", "sp_mixed"}});
  ASSERT_EQ(mixed.size(), 3u);
  EXPECT_TRUE(mixed[0].isStatus());
  EXPECT_EQ(mixed[0].str, "OK");
  EXPECT_TRUE(mixed[1].isError());
  EXPECT_TRUE(mixed[2].isString());
  EXPECT_EQ(mixed[2].str, "text");
  EXPECT_TRUE(r->pipeline({}).empty());
}

TEST(RedisPool, HashHelpers) {
  RedisPool pool("hash", redisConfig(StorageEnvironment::storage()));
  RedisLease r = pool.acquire();
  const std::string key = rk::unreadKey(1001);
  r->del(key);
  EXPECT_FALSE(r->exists(key));
  EXPECT_TRUE(r->hset(key, "2002", "5"));
  EXPECT_FALSE(r->hset(key, "2002", "6"));
  EXPECT_EQ(r->hincrby(key, "2002", 4), 10);
  EXPECT_EQ(r->hincrby(key, "3003", 1), 1);
  EXPECT_EQ(r->hget(key, "3003"), "1");
  EXPECT_FALSE(r->hget(key, "4004").has_value());
  auto all = r->hgetall(key);
  std::sort(all.begin(), all.end());
  std::vector<std::pair<std::string, std::string>> expected{{"2002", "10"}, {"3003", "1"}};
  EXPECT_EQ(all, expected);
  EXPECT_TRUE(r->exists(key));
  EXPECT_EQ(r->hdel(key, {"2002", "9999"}), 1);
  EXPECT_EQ(r->hgetall(key).size(), 1u);
  EXPECT_EQ(r->del(key), 1);
  EXPECT_TRUE(r->hgetall(key).empty());
  r->del("sp_incr_helper");
  EXPECT_EQ(r->incr("sp_incr_helper"), 1);
  EXPECT_EQ(r->incrby("sp_incr_helper", 41), 42);
}

TEST(RedisPool, ErrorReplyIsAValue) {
  RedisPool pool("errors", redisConfig(StorageEnvironment::storage(), 0, 1));
  RedisLease r = pool.acquire();
  r->set("sp_text", "not a number");
  RedisReply e = r->command({"INCR", "sp_text"});
  ASSERT_TRUE(e.isError());
  EXPECT_EQ(e.str.rfind("ERR", 0), 0u) << e.str;
  EXPECT_TRUE(r->command({"NO_SUCH_COMMAND", "x"}).isError());
  // The typed helpers turn an error reply into RedisError, but the connection stays usable.
  EXPECT_THROW(r->incr("sp_text"), RedisError);
  EXPECT_THROW(r->hgetall("sp_text"), RedisError);  // WRONGTYPE
  EXPECT_FALSE(r->broken());
  EXPECT_TRUE(r->ping());
  RedisReply pong = r->command({"PING"});
  EXPECT_TRUE(pong.isStatus());
  EXPECT_EQ(pong.str, "PONG");
}

TEST(RedisPool, SelectsItsDatabaseAndIsBounded) {
  const StorageFixture& s = StorageEnvironment::storage();
  RedisPool db3("db3", redisConfig(s, 3, 1));
  RedisPool db4("db4", redisConfig(s, 4, 1));
  RedisLease a = db3.acquire();
  RedisLease b = db4.acquire();
  a->set("sp_where", "three");
  b->del("sp_where");
  EXPECT_EQ(a->get("sp_where"), "three");
  EXPECT_FALSE(b->get("sp_where").has_value());

  auto t0 = Clock::now();
  EXPECT_THROW(db3.acquire(200), RedisError);
  EXPECT_GE(msSince(t0), 180);
  EXPECT_LT(msSince(t0), 2000);
}

// --- restart --------------------------------------------------------------------------------

// Runs storage.sh start like StorageFixture::start, with the same crash watchdog.
int restartServers(const StorageFixture& f) {
  ::setenv("TT_STORAGE_OWNER_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("TT_STORAGE_OWNER_CLEANUP", "1", 1);
  int rc = StorageFixture::runScript(
      {"start", f.dir(), std::to_string(f.mysqlPort), std::to_string(f.redisPort)});
  ::unsetenv("TT_STORAGE_OWNER_PID");
  ::unsetenv("TT_STORAGE_OWNER_CLEANUP");
  return rc;
}

TEST(StorageRestart, SamePoolsWorkAgainAfterServersRestart) {
  StorageFixture f;
  f.start();
  MysqlConfig mc = mysqlConfig(f, 2);
  mc.connectTimeoutSec = 2;
  MysqlPool mysql("restart", mc);
  RedisConfig rc = redisConfig(f, 2, 2);
  rc.connectTimeoutMs = 1000;
  RedisPool redis("restart", rc);

  // Two connections each: one stays leased across the restart, one waits idle in the pool.
  MysqlLease heldDb = mysql.acquire();
  heldDb->exec("CREATE TABLE sp_restart (id INT PRIMARY KEY)");
  {
    MysqlLease idle = mysql.acquire();
    EXPECT_EQ(idle->queryOne("SELECT COUNT(*) FROM sp_restart")->u32(0), 0u);
  }
  RedisLease heldRedis = redis.acquire();
  heldRedis->set("sp_restart", "before");
  {
    RedisLease idle = redis.acquire();
    EXPECT_EQ(idle->get("sp_restart"), "before");
  }
  ASSERT_EQ(mysql.stats().idle, 1u);
  ASSERT_EQ(redis.stats().idle, 1u);

  ASSERT_EQ(StorageFixture::runScript({"stop", f.dir()}), 0);

  // The leased connections fail at once with a connection error and are marked broken...
  auto t0 = Clock::now();
  try {
    heldDb->queryOne("SELECT COUNT(*) FROM sp_restart");
    ADD_FAILURE() << "query on a stopped server succeeded";
  } catch (const DbError& e) {
    EXPECT_TRUE(e.connectionError()) << e.what();
  }
  EXPECT_TRUE(heldDb->broken());
  EXPECT_THROW(heldRedis->get("sp_restart"), RedisError);
  EXPECT_TRUE(heldRedis->broken());
  EXPECT_LT(msSince(t0), 5000);
  // ...and are closed, not pooled, when their leases end.
  heldDb.release();
  heldRedis.release();
  EXPECT_EQ(mysql.stats().discarded, 1u);
  EXPECT_EQ(redis.stats().discarded, 1u);

  // acquire() notices the dead idle connection, cannot open a new one, and says so quickly;
  // the second time there is nothing idle left and the connect is refused outright.
  for (int attempt = 0; attempt < 2; ++attempt) {
    t0 = Clock::now();
    EXPECT_THROW(mysql.acquire(1000)->query("SELECT 1"), DbError);
    EXPECT_LT(msSince(t0), 5000) << "attempt " << attempt;
    t0 = Clock::now();
    EXPECT_THROW(redis.acquire(1000)->get("sp_restart"), RedisError);
    EXPECT_LT(msSince(t0), 5000) << "attempt " << attempt;
  }
  EXPECT_EQ(mysql.stats().open, 0u);
  EXPECT_EQ(redis.stats().open, 0u);
  EXPECT_EQ(mysql.stats().replaced, 1u);  // the idle one was seen dead before use
  EXPECT_EQ(redis.stats().replaced, 1u);
  EXPECT_GE(mysql.stats().connectFailures, 2u);
  EXPECT_GE(redis.stats().connectFailures, 2u);

  ASSERT_EQ(restartServers(f), 0);

  // The same pool objects work again; the statements prepared before the restart (same SQL) are
  // prepared anew on the new session.
  {
    MysqlLease db = mysql.acquire();
    EXPECT_EQ(db->queryOne("SELECT COUNT(*) FROM sp_restart")->u32(0), 0u);
    db->exec("INSERT INTO sp_restart VALUES (?)", {1});
    EXPECT_EQ(db->queryOne("SELECT COUNT(*) FROM sp_restart")->u32(0), 1u);
  }
  {
    RedisLease r = redis.acquire();
    r->set("sp_restart", "after");
    EXPECT_EQ(r->get("sp_restart"), "after");
  }
  EXPECT_EQ(mysql.stats().leased, 0u);
  f.stop();
}

// --- Storage from dbproxyserver.conf ---------------------------------------------------------

// dbproxyserver.conf text for the fixture. `changes` replaces values by key; a nullopt value
// leaves the key out.
using ConfChanges = std::map<std::string, std::optional<std::string>>;

std::string confText(const StorageFixture& s, const ConfChanges& changes = {}) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"ListenIP", "127.0.0.1"},
      {"ListenPort", "10600"},
      {"DBInstances", "teamtalk_master,teamtalk_slave"},
      // The master over TCP, the slave over the unix socket (its port is wrong on purpose: the
      // socket is used instead of host:port).
      {"teamtalk_master_host", s.mysqlHost},
      {"teamtalk_master_port", std::to_string(s.mysqlPort)},
      {"teamtalk_master_dbname", s.mysqlDb},
      {"teamtalk_master_username", s.mysqlUser},
      {"teamtalk_master_password", s.mysqlPassword},
      {"teamtalk_master_maxconncnt", "4"},
      {"teamtalk_slave_host", "127.0.0.1"},
      {"teamtalk_slave_port", "1"},
      {"teamtalk_slave_socket", s.mysqlSocket},
      {"teamtalk_slave_dbname", s.mysqlDb},
      {"teamtalk_slave_username", s.mysqlUser},
      {"teamtalk_slave_password", s.mysqlPassword},
      {"teamtalk_slave_maxconncnt", "4"},
      {"CacheInstances", "unread,group_set,token,sync,group_member"},
  };
  int db = 1;
  for (const char* name : {"unread", "group_set", "token", "sync", "group_member"}) {
    const std::string n = name;
    kv.push_back({n + "_host", s.redisHost});
    kv.push_back({n + "_port", std::to_string(s.redisPort)});
    kv.push_back({n + "_db", std::to_string(db++)});
    kv.push_back({n + "_maxconncnt", n == "sync" ? "1" : "8"});
  }
  std::ostringstream out;
  out << "# generated by storage_pool_test\n";
  for (const auto& [k, v] : kv) {
    auto change = changes.find(k);
    if (change == changes.end()) {
      out << k << " = " << v << "\n";
    } else if (change->second) {
      out << k << " = " << *change->second << "\n";
    }
  }
  return out.str();
}

TEST(Storage, FromConfigBuildsWorkingPools) {
  const StorageFixture& s = StorageEnvironment::storage();
  Storage built = Storage::fromConfig(tt::Config::parse(confText(s), "dbproxyserver.conf"));
  Storage storage = std::move(built);
  EXPECT_TRUE(storage.hasSeparateSlave());
  EXPECT_NE(&storage.master(), &storage.slave());
  EXPECT_EQ(storage.master().name(), "teamtalk_master");
  EXPECT_EQ(storage.master().config().maxConns, 4u);
  EXPECT_EQ(storage.slave().config().unixSocket, s.mysqlSocket);
  storage.checkConnections(3000);

  {
    MysqlLease w = storage.master().acquire();
    w->exec("DROP TABLE IF EXISTS sp_conf");
    w->exec("CREATE TABLE sp_conf (id INT PRIMARY KEY, v VARCHAR(16))");
    w->exec("INSERT INTO sp_conf VALUES (?, ?)", {1, "written"});
  }
  {
    MysqlLease r = storage.slave().acquire();  // same server here, reached over the socket
    EXPECT_EQ(r->queryOne("SELECT v FROM sp_conf WHERE id = ?", {1})->str(0), "written");
  }

  std::vector<std::string> names = storage.cacheNames();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"group_member", "group_set", "sync", "token", "unread"}));
  EXPECT_EQ(storage.cache("sync").config().maxConns, 1u);
  EXPECT_EQ(storage.cache("token").config().db, 3);
  {
    RedisLease token = storage.cache("token").acquire();
    RedisLease unread = storage.cache("unread").acquire();
    token->set(rk::userTokenKey(42), std::string(rk::kIosTokenPrefix) + "abc");
    unread->del(rk::userTokenKey(42));
    EXPECT_EQ(token->get(rk::userTokenKey(42)), std::string(rk::kIosTokenPrefix) + "abc");
    EXPECT_FALSE(unread->get(rk::userTokenKey(42)).has_value());  // db 1, not db 3
  }
  EXPECT_THROW(storage.cache("nope"), std::out_of_range);

  Storage masterOnly = Storage::fromConfig(
      tt::Config::parse(confText(s, {{"DBInstances", "teamtalk_master"}}), "dbproxyserver.conf"));
  EXPECT_FALSE(masterOnly.hasSeparateSlave());
  EXPECT_EQ(&masterOnly.master(), &masterOnly.slave());
}

// The ConfigError message names the key and the file.
void expectConfigError(const std::string& text, const std::string& key) {
  try {
    Storage::fromConfig(tt::Config::parse(text, "dbproxyserver.conf"));
    ADD_FAILURE() << "no ConfigError for " << key;
  } catch (const tt::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(key), std::string::npos) << what;
    EXPECT_NE(what.find("dbproxyserver.conf"), std::string::npos) << what;
  }
}

TEST(Storage, MissingOrBadKeysNameTheKey) {
  const StorageFixture& s = StorageEnvironment::storage();
  for (const char* key : {"teamtalk_master_port", "teamtalk_slave_dbname", "teamtalk_master_username",
                          "DBInstances", "CacheInstances", "unread_db", "token_host",
                          "group_member_maxconncnt"}) {
    expectConfigError(confText(s, {{key, std::nullopt}}), key);
  }
  expectConfigError(confText(s, {{"teamtalk_master_maxconncnt", "abc"}}), "teamtalk_master_maxconncnt");
  expectConfigError(confText(s, {{"token_maxconncnt", "0"}}), "token_maxconncnt");
  expectConfigError(confText(s, {{"unread_port", "70000"}}), "unread_port");
  expectConfigError(confText(s, {{"sync_db", "-1"}}), "sync_db");
  expectConfigError(confText(s, {{"DBInstances", "a,b,c"}}), "DBInstances");
  expectConfigError(confText(s, {{"CacheInstances", "unread,group_set,sync,group_member"}}),
                    "CacheInstances");
}

}  // namespace
}  // namespace tt::db
