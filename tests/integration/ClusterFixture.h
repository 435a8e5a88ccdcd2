#pragma once
// The whole message path for integration tests, every part a real binary on free loopback ports:
// MariaDB + Redis (shared, with demo data), db_proxy_server, route_server, login_server and N
// msg_servers. Started once per test binary (first use), stopped with SIGTERM at the end (each
// must exit 0).
#include <memory>
#include <string>
#include <vector>

#include "DaemonProcess.h"
#include "DbProxyFixture.h"
#include "StorageFixture.h"

namespace tt::test {

struct MsgServerProcess {
  std::unique_ptr<DaemonProcess> daemon;
  int port = 0;
};

class ClusterFixture {
 public:
  // Number of msg_servers on first call (later calls return the same cluster).
  static ClusterFixture& instance(int msgServers = 2);

  int loginHttpPort() const { return loginHttpPort_; }
  int loginMsgPort() const { return loginMsgPort_; }
  int routePort() const { return routePort_; }
  int dbProxyPort() const { return dbProxy_.port(); }
  int msgServerPort(size_t i) const { return msgServers_.at(i).port; }
  size_t msgServerCount() const { return msgServers_.size(); }
  DaemonProcess& route() { return *route_; }
  DaemonProcess& login() { return *login_; }
  DaemonProcess& msgServer(size_t i) { return *msgServers_.at(i).daemon; }
  DbProxyFixture& dbProxy() { return dbProxy_; }
  const std::string& dir() const { return dir_; }

  // The conf texts (tests that restart a daemon reuse them).
  std::string routeConf() const;
  std::string loginConf() const;
  std::string msgServerConf(size_t i, const std::string& extra = "") const;
  // Restart one daemon with the same conf and port.
  void restartRoute();
  void restartMsgServer(size_t i);
  // Starts one more msg_server (same links, conf extended by extra lines, e.g. a short
  // PcClientTimeout); returns its index. It is stopped and checked by stopAll like the others.
  size_t addMsgServer(const std::string& extra);

  // Stops every daemon with SIGTERM; returns the names of those that did not exit 0.
  std::vector<std::string> stopAll();

 private:
  explicit ClusterFixture(int msgServers);
  // Link-up lines logged so far for msg_server i (its db_proxy and route_server links, its
  // registration at login_server): a (re)start waits until each count has grown.
  struct LinkMarks {
    size_t db = 0, route = 0, registered = 0;
  };
  LinkMarks linkMarks(size_t i) const;
  void startMsgServer(size_t i, const std::string& extra);
  DbProxyFixture& dbProxy_;
  std::string dir_;
  int routePort_ = 0, loginHttpPort_ = 0, loginMsgPort_ = 0, loginClientPort_ = 0;
  std::unique_ptr<DaemonProcess> route_, login_;
  std::vector<MsgServerProcess> msgServers_;
};

}  // namespace tt::test
