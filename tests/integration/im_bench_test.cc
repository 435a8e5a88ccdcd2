// tools/im_bench kept honest: each scenario at a tiny size against the real cluster (ClusterFixture:
// db_proxy, route_server, login_server, two msg_servers; demo users user01..user20 with password
// "ttsuite", group 2 = all 20). Every message sent must be acked and delivered exactly once.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "ClusterFixture.h"
#include "tools/im_bench/ImBench.h"

namespace tt::test {
namespace {

using bench::BenchConfig;
using json = nlohmann::ordered_json;

BenchConfig tinyConfig(const std::string& scenario) {
  auto& cluster = ClusterFixture::instance(2);
  BenchConfig c;
  c.scenario = scenario;
  c.clients = 20;
  c.userFormat = "user%02d";
  c.firstUser = 1;
  c.password = "ttsuite";
  c.loginHost = "127.0.0.1";
  c.loginPort = static_cast<uint16_t>(cluster.loginHttpPort());
  c.threads = 2;
  c.loginTimeoutSec = 30;
  c.drainSec = 10;
  c.durationSec = 2;
  return c;
}

void useBothMsgServers(BenchConfig* c) {
  auto& cluster = ClusterFixture::instance(2);
  for (size_t i = 0; i < 2; ++i) c->msgServers.push_back({"127.0.0.1", static_cast<uint16_t>(cluster.msgServerPort(i))});
}

int64_t num(const json& r, const char* key) {
  EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
  return r.contains(key) ? r[key].get<int64_t>() : -1;
}

double real(const json& r, const char* key) {
  EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
  return r.contains(key) ? r[key].get<double>() : -1;
}

TEST(ImBench, ChatTinyLosesAndDuplicatesNothing) {
  BenchConfig c = tinyConfig("chat");
  useBothMsgServers(&c);
  c.rate = 40;  // 2 msgs/s per client, far below msg_server's 20/s flood limit
  const json r = bench::runBench(c);
  std::printf("%s", bench::formatTable(r).c_str());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(num(r, "logged_in"), 20);
  EXPECT_EQ(num(r, "cross_server_pairs"), 4);  // pairs 2, 3, 6, 7 of 0..9
  const int64_t sent = num(r, "sent");
  EXPECT_GE(sent, 70);  // 80 scheduled; a late timer tick can only lose the last few
  EXPECT_LE(sent, 80);
  EXPECT_EQ(num(r, "send_failed"), 0);
  EXPECT_EQ(num(r, "acked"), sent);
  EXPECT_EQ(num(r, "delivered"), sent);
  EXPECT_EQ(num(r, "lost"), 0);
  EXPECT_EQ(num(r, "duplicated"), 0);
  EXPECT_EQ(num(r, "unexpected"), 0);
  EXPECT_GT(real(r, "deliver_p50_ms"), 0);
  EXPECT_GE(real(r, "deliver_p99_ms"), real(r, "deliver_p50_ms"));
  EXPECT_GE(real(r, "ack_p999_ms"), real(r, "ack_p50_ms"));
}

TEST(ImBench, GroupTinyReachesEveryOtherMemberOnce) {
  BenchConfig c = tinyConfig("group");
  useBothMsgServers(&c);
  c.groupId = 2;  // group-b: user01..user20
  c.rate = 10;
  const json r = bench::runBench(c);
  std::printf("%s", bench::formatTable(r).c_str());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const int64_t sent = num(r, "sent");
  EXPECT_GE(sent, 17);
  EXPECT_LE(sent, 20);
  EXPECT_EQ(num(r, "acked"), sent);
  EXPECT_EQ(num(r, "expected_deliveries"), sent * 19);
  EXPECT_EQ(num(r, "delivered"), sent * 19);
  EXPECT_EQ(num(r, "lost"), 0);
  EXPECT_EQ(num(r, "duplicated"), 0);
  EXPECT_EQ(num(r, "messages_complete"), sent);
  EXPECT_GT(real(r, "last_member_deliver_p99_ms"), 0);
  EXPECT_GT(real(r, "delivered_per_s"), 0);
}

TEST(ImBench, IdleTinyStaysOnlineAndMeasuresRss) {
  auto& cluster = ClusterFixture::instance(2);
  BenchConfig c = tinyConfig("idle");
  c.idleSec = 2;
  c.heartbeatMs = 500;  // several heartbeats within the idle time
  c.rssPids = {static_cast<int>(cluster.msgServer(0).pid()), static_cast<int>(cluster.msgServer(1).pid())};
  const json r = bench::runBench(c);  // through login_server's HTTP /msg_server
  std::printf("%s", bench::formatTable(r).c_str());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(num(r, "logged_in"), 20);
  EXPECT_EQ(num(r, "online_after_idle"), 20);
  EXPECT_EQ(num(r, "disconnects_while_idle"), 0);
  EXPECT_GE(num(r, "heartbeats_sent"), 20 * 2);
  EXPECT_GT(num(r, "server_rss_before_kib"), 0);
  EXPECT_GT(num(r, "server_rss_after_idle_kib"), 0);
  EXPECT_TRUE(r.contains("server_bytes_per_conn"));
}

TEST(ImBench, SourceAddressesAreUsed) {
  auto& cluster = ClusterFixture::instance(2);
  BenchConfig c = tinyConfig("idle");
  c.clients = 4;
  c.idleSec = 0.2;
  c.sourceAddrs = {"127.0.0.2", "127.0.0.3"};
  c.msgServers.push_back({"127.0.0.1", static_cast<uint16_t>(cluster.msgServerPort(0))});
  const json r = bench::runBench(c);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(num(r, "logged_in"), 4);
  EXPECT_EQ(r["source_addrs"].get<std::string>(), "127.0.0.2,127.0.0.3");
  // msg_server logs each login with the peer address ("user N online from #id ip:port").
  std::string log;
  {
    std::ifstream in(cluster.msgServer(0).logPath());
    std::stringstream ss;
    ss << in.rdbuf();
    log = ss.str();
  }
  EXPECT_NE(log.find(" 127.0.0.2:"), std::string::npos);
  EXPECT_NE(log.find(" 127.0.0.3:"), std::string::npos);
}

TEST(ImBench, LoginStormThenEveryoneReconnectsAfterRestart) {
  auto& cluster = ClusterFixture::instance(2);
  BenchConfig c = tinyConfig("login-storm");
  c.restart = [&cluster](std::string*) {
    cluster.restartMsgServer(0);
    cluster.restartMsgServer(1);
    return true;
  };
  const json r = bench::runBench(c);
  std::printf("%s", bench::formatTable(r).c_str());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(num(r, "logged_in"), 20);
  EXPECT_EQ(num(r, "login_refused"), 0);
  EXPECT_GT(real(r, "logins_per_s"), 0);
  EXPECT_GE(real(r, "login_p99_ms"), real(r, "login_p50_ms"));
  EXPECT_GE(num(r, "disconnected"), 20);
  EXPECT_GE(num(r, "reconnected"), num(r, "disconnected"));
  EXPECT_GT(real(r, "relogins_per_s"), 0);
  EXPECT_GE(real(r, "relogin_p50_ms"), 0);
}

TEST(ImBench, BadConfigIsReportedNotRun) {
  BenchConfig c = tinyConfig("chat");
  c.clients = 3;  // pairs need an even count
  c.rate = 1;
  EXPECT_TRUE(bench::runBench(c).contains("error"));
  c.scenario = "nonsense";
  EXPECT_TRUE(bench::runBench(c).contains("error"));
}

}  // namespace
}  // namespace tt::test
