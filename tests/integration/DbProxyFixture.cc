#include "DbProxyFixture.h"

#include <stdexcept>

namespace tt::test {

std::string dbProxyConf(const StorageFixture& s, int port, const std::string& extra) {
  std::string c;
  c += "ListenIP=127.0.0.1\nListenPort=" + std::to_string(port) + "\n";
  c += "ThreadNum=4\nShutdownTimeout=5\nLogLevel=debug\nGroupSyncIntervalMs=200\n";
  c += "DBInstances=teamtalk_master,teamtalk_slave\n";
  for (const char* inst : {"teamtalk_master", "teamtalk_slave"}) {
    const std::string p = inst;
    c += p + "_host=" + s.mysqlHost + "\n" + p + "_port=" + std::to_string(s.mysqlPort) + "\n";
    c += p + "_dbname=" + s.mysqlDb + "\n" + p + "_username=" + s.mysqlUser + "\n";
    c += p + "_password=" + s.mysqlPassword + "\n" + p + "_maxconncnt=8\n";
  }
  c += "CacheInstances=unread,group_set,token,sync,group_member\n";
  int db = 1;
  for (const char* inst : {"unread", "group_set", "token", "sync", "group_member"}) {
    const std::string p = inst;
    c += p + "_host=" + s.redisHost + "\n" + p + "_port=" + std::to_string(s.redisPort) + "\n";
    c += p + "_db=" + std::to_string(db++) + "\n" + p + "_maxconncnt=8\n";
  }
  return c + extra;
}

namespace {
DbProxyFixture* gFixture = nullptr;

// Stops the daemon when the test program ends (before the shared storage goes away: gtest tears
// environments down in reverse order of registration, and storage registered first).
class DbProxyEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!gFixture) return;
    const int rc = gFixture->daemon().stop();
    EXPECT_EQ(rc, 0) << "db_proxy_server did not exit cleanly on SIGTERM:\n" << gFixture->daemon().logTail();
  }
};
}  // namespace

DbProxyFixture& DbProxyFixture::instance() {
  if (!gFixture) {
    gFixture = new DbProxyFixture();  // the process ends right after the tests; the OS reclaims it
    ::testing::AddGlobalTestEnvironment(new DbProxyEnvironment);
  }
  return *gFixture;
}

DbProxyFixture::DbProxyFixture() : storage_(StorageEnvironment::storage()) {
  dir_ = makeTempDir("ttdbproxy-");
  port_ = pickFreeLoopbackPort();
  daemon_ = std::make_unique<DaemonProcess>(daemonBinary("db_proxy_server"), "db_proxy_server");
  daemon_->start(dir_, dbProxyConf(storage_, port_), port_);
}

bool DbProxyFixture::restart() {
  const int rc = daemon_->stop();
  daemon_->start(dir_, dbProxyConf(storage_, port_), port_);
  return rc == 0;
}

MYSQL* DbProxyFixture::mysql() const {
  MYSQL* db = mysql_init(nullptr);
  mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(db, storage_.mysqlHost.c_str(), storage_.mysqlUser.c_str(), storage_.mysqlPassword.c_str(),
                          storage_.mysqlDb.c_str(), static_cast<unsigned>(storage_.mysqlPort), nullptr, 0)) {
    std::string err = mysql_error(db);
    mysql_close(db);
    throw std::runtime_error("mysql connect: " + err);
  }
  return db;
}

redisContext* DbProxyFixture::redis(int db) const {
  redisContext* r = redisConnect(storage_.redisHost.c_str(), storage_.redisPort);
  if (!r || r->err) throw std::runtime_error("redis connect failed");
  freeReplyObject(redisCommand(r, "SELECT %d", db));
  return r;
}

std::vector<std::vector<std::string>> sqlRows(MYSQL* db, const std::string& sql) {
  if (mysql_real_query(db, sql.data(), sql.size()) != 0) throw std::runtime_error(sql + ": " + mysql_error(db));
  std::vector<std::vector<std::string>> out;
  MYSQL_RES* res = mysql_store_result(db);
  if (!res) return out;
  const unsigned n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    std::vector<std::string> r;
    for (unsigned i = 0; i < n; ++i) r.emplace_back(row[i] ? std::string(row[i], lengths[i]) : std::string());
    out.push_back(std::move(r));
  }
  mysql_free_result(res);
  return out;
}

std::string sqlValue(MYSQL* db, const std::string& sql) {
  auto rows = sqlRows(db, sql);
  return rows.empty() || rows[0].empty() ? std::string() : rows[0][0];
}

}  // namespace tt::test
