#pragma once
// db_proxy_server for integration tests: the real binary, started once per test process against
// the shared MariaDB/Redis (schema + demo data: user01..user20 with password "ttsuite", ids 1..20;
// group 1 = group-a with users 1-10, group 2 = group-b with users 1-20), on a free port.
//
//   static auto* const kEnv = tt::test::StorageEnvironment::registerOnce();
//   TEST(Login, Works) {
//     auto& proxy = tt::test::DbProxyFixture::instance();
//     tt::test::PduClient c;
//     ASSERT_TRUE(c.connect(proxy.port()));
//     ...
//   }
#include <mysql.h>

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "DaemonProcess.h"
#include "PduClient.h"
#include "StorageFixture.h"

namespace tt::test {

// The dbproxyserver.conf text for a db_proxy on `port` using storage s. extra lines are appended.
std::string dbProxyConf(const StorageFixture& s, int port, const std::string& extra = "");

class DbProxyFixture {
 public:
  static DbProxyFixture& instance();

  int port() const { return port_; }
  StorageFixture& storage() { return storage_; }
  DaemonProcess& daemon() { return *daemon_; }
  const std::string& dir() const { return dir_; }
  // Stops and starts the daemon again (same port); true if it exited 0 on SIGTERM.
  bool restart();

  // Direct access for assertions (new connections each call; the caller frees them).
  MYSQL* mysql() const;
  redisContext* redis(int db) const;  // Redis db numbers as in dbProxyConf: unread=1 ... group_member=5

 private:
  DbProxyFixture();
  StorageFixture& storage_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<DaemonProcess> daemon_;
};

// Small SQL helpers for assertions (prepared statements are overkill in tests; values are ours).
std::vector<std::vector<std::string>> sqlRows(MYSQL* db, const std::string& sql);
std::string sqlValue(MYSQL* db, const std::string& sql);  // first column of the first row, "" if none

}  // namespace tt::test
