#include "ClusterFixture.h"

#include <stdexcept>

#include <gtest/gtest.h>

#include "proto/ContentCodec.h"

namespace tt::test {

namespace {
ClusterFixture* gCluster = nullptr;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!gCluster) return;
    const auto failed = gCluster->stopAll();
    EXPECT_TRUE(failed.empty()) << "daemons that did not exit 0 on SIGTERM: " << failed.size();
    for (const auto& name : failed) ADD_FAILURE() << name << " did not exit cleanly";
  }
};
}  // namespace

ClusterFixture& ClusterFixture::instance(int msgServers) {
  if (!gCluster) {
    gCluster = new ClusterFixture(msgServers);
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);
  }
  return *gCluster;
}

std::string ClusterFixture::routeConf() const {
  return "ListenIP=127.0.0.1\nListenMsgPort=" + std::to_string(routePort_) + "\nLogLevel=debug\n";
}

std::string ClusterFixture::loginConf() const {
  return "ClientListenIP=127.0.0.1\nClientPort=" + std::to_string(loginClientPort_) +
         "\nHttpListenIP=127.0.0.1\nHttpPort=" + std::to_string(loginHttpPort_) +
         "\nMsgServerListenIP=127.0.0.1\nMsgServerPort=" + std::to_string(loginMsgPort_) +
         "\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\nLogLevel=debug\n";
}

std::string ClusterFixture::msgServerConf(size_t i, const std::string& extra) const {
  std::string c;
  c += "ListenIP=127.0.0.1\nListenPort=" + std::to_string(msgServers_.at(i).port) + "\n";
  c += "IpAddr1=127.0.0.1\nIpAddr2=127.0.0.1\nMaxConnCnt=100000\nConcurrentDBConnCnt=2\n";
  c += "DBServerIP1=127.0.0.1\nDBServerPort1=" + std::to_string(dbProxy_.port()) + "\n";
  c += "LoginServerIP1=127.0.0.1\nLoginServerPort1=" + std::to_string(loginMsgPort_) + "\n";
  c += "RouteServerIP1=127.0.0.1\nRouteServerPort1=" + std::to_string(routePort_) + "\n";
  c += "aesKey=" + std::string(tt::codec::kDefaultAesKey) + "\nLogLevel=debug\n";
  return c + extra;
}

ClusterFixture::ClusterFixture(int msgServers) : dbProxy_(DbProxyFixture::instance()) {
  dir_ = makeTempDir("ttcluster-");
  routePort_ = pickFreeLoopbackPort();
  loginHttpPort_ = pickFreeLoopbackPort();
  loginMsgPort_ = pickFreeLoopbackPort();
  loginClientPort_ = pickFreeLoopbackPort();
  route_ = std::make_unique<DaemonProcess>(daemonBinary("route_server"), "route_server");
  route_->start(dir_, routeConf(), routePort_);
  login_ = std::make_unique<DaemonProcess>(daemonBinary("login_server"), "login_server");
  login_->start(dir_, loginConf(), loginHttpPort_);
  for (int i = 0; i < msgServers; ++i) {
    MsgServerProcess m;
    m.port = pickFreeLoopbackPort();
    m.daemon = std::make_unique<DaemonProcess>(daemonBinary("msg_server"), "msg_server" + std::to_string(i));
    msgServers_.push_back(std::move(m));
  }
  for (size_t i = 0; i < msgServers_.size(); ++i) startMsgServer(i, "");
}

ClusterFixture::LinkMarks ClusterFixture::linkMarks(size_t i) const {
  const DaemonProcess& m = *msgServers_.at(i).daemon;
  LinkMarks k;
  if (!m.logPath().empty()) {
    k.db = m.logCount("db_proxy@127.0.0.1:" + std::to_string(dbProxy_.port()) + ": connected to");
    k.route = m.logCount("route_server@127.0.0.1:" + std::to_string(routePort_) + ": connected to");
  }
  k.registered =
      login_->logLines({"127.0.0.1/127.0.0.1:" + std::to_string(msgServers_.at(i).port) + " (", ") registered on link"});
  return k;
}

// msg_servers dial db_proxy, route and login with back-off once they listen: wait until those
// links are up and login_server hands the server out, so neither the first login ("no route
// server") nor the first HTTP lookup (one msg_server registered, not both) races them.
void ClusterFixture::startMsgServer(size_t i, const std::string& extra) {
  const LinkMarks before = linkMarks(i);
  DaemonProcess& m = *msgServers_.at(i).daemon;
  m.start(dir_, msgServerConf(i, extra), msgServers_.at(i).port);
  const std::string port = std::to_string(msgServers_.at(i).port);
  const bool up =
      m.waitForLog("db_proxy@127.0.0.1:" + std::to_string(dbProxy_.port()) + ": connected to", before.db + 1) &&
      m.waitForLog("route_server@127.0.0.1:" + std::to_string(routePort_) + ": connected to", before.route + 1) &&
      login_->waitForLogLines({"127.0.0.1/127.0.0.1:" + port + " (", ") registered on link"}, before.registered + 1);
  if (!up) {
    throw std::runtime_error("msg_server" + std::to_string(i) + " links did not come up:\n" + m.logTail() +
                             "login_server:\n" + login_->logTail());
  }
}

void ClusterFixture::restartRoute() {
  route_->stop();
  route_->start(dir_, routeConf(), routePort_);
}

void ClusterFixture::restartMsgServer(size_t i) {
  msgServers_.at(i).daemon->stop();
  startMsgServer(i, "");
}

size_t ClusterFixture::addMsgServer(const std::string& extra) {
  MsgServerProcess m;
  m.port = pickFreeLoopbackPort();
  const size_t i = msgServers_.size();
  m.daemon = std::make_unique<DaemonProcess>(daemonBinary("msg_server"), "msg_server" + std::to_string(i));
  msgServers_.push_back(std::move(m));
  startMsgServer(i, extra);
  return i;
}

std::vector<std::string> ClusterFixture::stopAll() {
  std::vector<std::string> failed;
  for (size_t i = 0; i < msgServers_.size(); ++i) {
    if (msgServers_[i].daemon->running() && msgServers_[i].daemon->stop() != 0) {
      failed.push_back("msg_server" + std::to_string(i) + "\n" + msgServers_[i].daemon->logTail());
    }
  }
  if (login_->running() && login_->stop() != 0) failed.push_back("login_server\n" + login_->logTail());
  if (route_->running() && route_->stop() != 0) failed.push_back("route_server\n" + route_->logTail());
  return failed;
}

}  // namespace tt::test
