#pragma once

// A private MariaDB + Redis for integration tests, started with scripts/lib/storage.sh on free
// loopback ports in a fresh temp dir, and stopped (dir removed) by stop() or the destructor.
//
// Most tests share one instance per test process through StorageEnvironment::storage(), which
// starts it on first use and stops it when gtest tears the environment down:
//
//   static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();
//   TEST(Foo, Bar) {
//     const tt::test::StorageFixture& s = tt::test::StorageEnvironment::storage();
//     mysql_real_connect(db, s.mysqlHost.c_str(), s.mysqlUser.c_str(), ...);
//   }

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace tt::test {

class StorageFixture {
 public:
  StorageFixture() = default;
  ~StorageFixture();
  StorageFixture(const StorageFixture&) = delete;
  StorageFixture& operator=(const StorageFixture&) = delete;

  // Picks two free ports, creates the temp dir, runs `storage.sh start` and reads storage.env.
  // Throws std::runtime_error with the script's exit status on failure (the script itself has
  // printed the reason and the tail of the server log to stderr).
  void start(bool demo = false);

  // Runs `storage.sh stop` on the dir but keeps it (logs stay readable). Safe to call twice.
  void stopServers();

  // stopServers() and remove the temp dir. Safe to call twice; the destructor calls it.
  void stop();

  bool started() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  // Runs scripts/lib/storage.sh with the given arguments; returns its exit status (-1 if it could
  // not be run or was killed by a signal).
  static int runScript(const std::vector<std::string>& args);
  static std::string scriptPath();

  std::string mysqlHost;
  int mysqlPort = 0;
  std::string mysqlUser;
  std::string mysqlPassword;
  std::string mysqlDb;
  std::string mysqlSocket;
  std::string redisHost;
  int redisPort = 0;

 private:
  void readEnvFile();

  std::string dir_;
};

// A free TCP port on 127.0.0.1 right now (bind to port 0 and read it back). Another process may
// take it before it is used; tests accept that small race.
int pickFreeLoopbackPort();

// One shared storage per test process. Register it with registerOnce() at namespace scope (so
// its TearDown stops the servers); storage() starts it on first use, so tests that never ask
// for it do not pay for MariaDB start-up.
class StorageEnvironment : public ::testing::Environment {
 public:
  void TearDown() override;

  // Adds the environment to gtest once; returns it.
  static StorageEnvironment* registerOnce();

  // The shared instance (schema and demo data loaded), started on first call. If starting fails, every call throws the same
  // error (gtest reports an exception in a test body as that test's failure).
  static StorageFixture& storage();
};

}  // namespace tt::test
