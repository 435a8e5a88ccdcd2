// Every daemon's /metrics, scraped by a real Prometheus (Debian's `prometheus`): a private
// cluster (MariaDB, Redis, db_proxy, route, login, two msg_servers, file_server, push_server, each
// with MetricsPort), a chat between two msg_servers over the real protocol, then Prometheus'
// HTTP API must show every target up, message counters equal to what the test sent and acked,
// and store->ack latency observations; `promtool check metrics` must accept every endpoint.
// Nothing here sleeps and hopes: each wait is a condition with a deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "DaemonProcess.h"
#include "DbProxyFixture.h"
#include "IM.BaseDefine.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"
#include "proto/ContentCodec.h"

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace bd = IM::BaseDefine;
using json = nlohmann::json;
using tt::test::DaemonProcess;
using tt::test::PduClient;
using tt::test::pickFreeLoopbackPort;

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Polls cond every 50 ms until it holds or deadlineMs pass.
bool waitFor(const std::function<bool()>& cond, int64_t deadlineMs = 60000) {
  const int64_t end = nowMs() + deadlineMs;
  while (true) {
    if (cond()) return true;
    if (nowMs() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

struct HttpResult {
  int status = 0;
  std::string body;
};

// One HTTP/1.0 GET (the server closes after the answer, so the body runs to EOF).
std::optional<HttpResult> httpGet(int port, const std::string& target, int timeoutMs = 5000) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string all;
  const int64_t end = nowMs() + timeoutMs;
  char buf[65536];
  while (nowMs() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, end - nowMs()))) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t headEnd = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.", 0) != 0 || headEnd == std::string::npos) return std::nullopt;
  HttpResult r;
  r.status = std::atoi(all.c_str() + 9);
  r.body = all.substr(headEnd + 4);
  return r;
}

std::string urlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

// A real Prometheus scraping the given targets every second, on a free port.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& dir, const std::map<std::string, int>& targets) {
    port_ = pickFreeLoopbackPort();
    std::ofstream conf(dir + "/prometheus.yml");
    conf << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n";
    for (const auto& [job, port] : targets) {
      conf << "  - job_name: " << job << "\n    static_configs:\n      - targets: ['127.0.0.1:" << port << "']\n";
    }
    conf.close();
    const std::string log = dir + "/prometheus.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string cfg = "--config.file=" + dir + "/prometheus.yml";
      const std::string data = "--storage.tsdb.path=" + dir + "/prometheus-data";
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      ::execlp("prometheus", "prometheus", cfg.c_str(), data.c_str(), listen.c_str(), "--log.level=warn",
               static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      const int64_t end = nowMs() + 15000;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (nowMs() > end) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  int port() const { return port_; }
  bool ready() const {
    auto r = httpGet(port_, "/-/ready", 2000);
    return r && r->status == 200;
  }
  // The instant vector of an expression: (labels, value) per series; nullopt if the query failed.
  std::optional<std::vector<std::pair<json, double>>> query(const std::string& expr) const {
    auto r = httpGet(port_, "/api/v1/query?query=" + urlEncode(expr));
    if (!r || r->status != 200) return std::nullopt;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
    std::vector<std::pair<json, double>> out;
    for (const auto& s : j["data"]["result"]) out.emplace_back(s["metric"], std::stod(s["value"][1].get<std::string>()));
    return out;
  }
  // The single value of a scalar-like expression (e.g. sum(...)), nullopt when empty.
  std::optional<double> value(const std::string& expr) const {
    auto v = query(expr);
    if (!v || v->size() != 1) return std::nullopt;
    return (*v)[0].second;
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

// Runs `promtool check metrics` on text; returns its exit status and output.
std::pair<int, std::string> promtoolCheck(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string in = dir + "/" + name + ".prom";
  const std::string out = dir + "/" + name + ".promtool";
  std::ofstream(in) << text;
  const std::string cmd = "promtool check metrics < " + in + " > " + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream f(out);
  std::string output((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

IM::Login::IMLoginRes login(PduClient& c, int port, const std::string& name, const std::string& password) {
  EXPECT_TRUE(c.connect(port));
  IM::Login::IMLoginReq req;
  req.set_user_name(name);
  req.set_password(tt::codec::md5Hex(password));
  req.set_online_status(bd::USER_STATUS_ONLINE);
  req.set_client_type(bd::CLIENT_TYPE_ANDROID);
  req.set_client_version("metrics_test");
  EXPECT_TRUE(c.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, 1, req));
  auto pdu = c.receiveCommand(bd::CID_LOGIN_RES_USERLOGIN, 20000);
  if (!pdu) {
    ADD_FAILURE() << "no login answer for " << name;
    return {};
  }
  return pdu->as<IM::Login::IMLoginRes>();
}

// A single-chat text message as a client sends it (the server fills in id and time).
IM::Message::IMMsgData textMessage(uint32_t from, uint32_t to, const std::string& text) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(from);
  msg.set_to_session_id(to);
  msg.set_msg_id(0);
  msg.set_create_time(0);
  msg.set_msg_type(bd::MSG_TYPE_SINGLE_TEXT);
  msg.set_msg_data(tt::codec::encryptText(text));
  return msg;
}

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new Cluster; }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  struct Daemon {
    std::unique_ptr<DaemonProcess> process;
    int metricsPort = 0;
  };

  // The cluster this binary owns, every daemon with a metrics endpoint.
  struct Cluster {
    std::string dir = tt::test::makeTempDir("ttmetrics-");
    std::map<std::string, Daemon> daemons;  // job name -> daemon
    int dbPort = pickFreeLoopbackPort(), routePort = pickFreeLoopbackPort(), loginHttpPort = pickFreeLoopbackPort(),
        loginMsgPort = pickFreeLoopbackPort(), loginClientPort = pickFreeLoopbackPort(),
        fileClientPort = pickFreeLoopbackPort(), fileMsgPort = pickFreeLoopbackPort(),
        pushPort = pickFreeLoopbackPort();
    std::vector<int> msgPorts{pickFreeLoopbackPort(), pickFreeLoopbackPort()};

    Cluster() {
      auto& storage = tt::test::StorageEnvironment::storage();
      start("db_proxy_server", "db_proxy_server", tt::test::dbProxyConf(storage, dbPort, metricsConf("db_proxy_server")),
            dbPort);
      start("route_server", "route_server",
            "ListenIP=127.0.0.1\nListenMsgPort=" + std::to_string(routePort) + "\n" + metricsConf("route_server"),
            routePort);
      start("login_server", "login_server",
            "ClientListenIP=127.0.0.1\nClientPort=" + std::to_string(loginClientPort) +
                "\nHttpListenIP=127.0.0.1\nHttpPort=" + std::to_string(loginHttpPort) +
                "\nMsgServerListenIP=127.0.0.1\nMsgServerPort=" + std::to_string(loginMsgPort) +
                "\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\n" +
                metricsConf("login_server"),
            loginHttpPort);
      start("file_server", "file_server",
            "ClientListenIP=127.0.0.1\nClientListenPort=" + std::to_string(fileClientPort) +
                "\nMsgServerListenIP=127.0.0.1\nMsgServerListenPort=" + std::to_string(fileMsgPort) +
                "\nStorageDir=" + dir + "/files\n" + metricsConf("file_server"),
            fileMsgPort);
      start("push_server", "push_server",
            "ListenIP=127.0.0.1\nListenPort=" + std::to_string(pushPort) + "\nDBServerIP1=127.0.0.1\nDBServerPort1=" +
                std::to_string(dbPort) + "\nIosProvider=none\nAndroidProvider=none\n" + metricsConf("push_server"),
            pushPort);
      for (size_t i = 0; i < msgPorts.size(); ++i) {
        const std::string job = "msg_server" + std::to_string(i);
        start(job, "msg_server",
              "ListenIP=127.0.0.1\nListenPort=" + std::to_string(msgPorts[i]) +
                  "\nIpAddr1=127.0.0.1\nIpAddr2=127.0.0.1\nConcurrentDBConnCnt=2\nDBServerIP1=127.0.0.1\nDBServerPort1=" +
                  std::to_string(dbPort) + "\nLoginServerIP1=127.0.0.1\nLoginServerPort1=" +
                  std::to_string(loginMsgPort) + "\nRouteServerIP1=127.0.0.1\nRouteServerPort1=" +
                  std::to_string(routePort) + "\nPushServerIP1=127.0.0.1\nPushServerPort1=" + std::to_string(pushPort) +
                  "\nFileServerIP1=127.0.0.1\nFileServerPort1=" + std::to_string(fileMsgPort) +
                  "\naesKey=" + std::string(tt::codec::kDefaultAesKey) + "\n" + metricsConf(job),
              msgPorts[i]);
      }
    }
    ~Cluster() {
      // msg_servers first (they hold links to the others), then the rest; each must exit 0.
      for (const char* job : {"msg_server0", "msg_server1", "push_server", "file_server", "login_server", "route_server",
                              "db_proxy_server"}) {
        auto& d = daemons.at(job);
        if (d.process->running()) {
          EXPECT_EQ(d.process->stop(), 0) << job << "\n" << d.process->logTail();
        }
      }
      tt::test::removeTree(dir);
    }
    std::string metricsConf(const std::string& job) {
      daemons[job].metricsPort = pickFreeLoopbackPort();
      return "MetricsListenIP=127.0.0.1\nMetricsPort=" + std::to_string(daemons[job].metricsPort) + "\n";
    }
    void start(const std::string& job, const std::string& binary, const std::string& conf, int port) {
      const std::string sub = dir + "/" + job;
      ::mkdir(sub.c_str(), 0755);
      auto& d = daemons[job];
      d.process = std::make_unique<DaemonProcess>(tt::test::daemonBinary(binary), job);
      d.process->start(sub, conf, port);
      ASSERT_TRUE(tt::test::waitForPort(d.metricsPort, 15000)) << job << " metrics port\n" << d.process->logTail();
    }
    std::map<std::string, int> targets() const {
      std::map<std::string, int> t;
      for (const auto& [job, d] : daemons) t[job] = d.metricsPort;
      return t;
    }
    std::string scrape(const std::string& job) const {
      auto r = httpGet(daemons.at(job).metricsPort, "/metrics");
      return r && r->status == 200 ? r->body : std::string();
    }
  };

  static Cluster* cluster_;
};

MetricsTest::Cluster* MetricsTest::cluster_ = nullptr;

// The first sample line "name{labels} value" or "name value" whose name+labels start with prefix.
std::optional<double> sampleValue(const std::string& text, const std::string& prefix) {
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      const size_t eol = text.find('\n', at);
      const std::string line = text.substr(at, eol - at);
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
    at += prefix.size();
  }
  return std::nullopt;
}

TEST_F(MetricsTest, PrometheusScrapesEveryDaemonAndCountsTheChat) {
  Cluster& c = *cluster_;
  // A msg_server is handed to clients only once its db_proxy and route links are up; both say so.
  for (const char* job : {"msg_server0", "msg_server1"}) {
    ASSERT_TRUE(waitFor([&] { return sampleValue(c.scrape(job), "ttsuite_msg_registered ") == 1.0; }))
        << job << "\n" << c.scrape(job);
  }

  PduClient alice, bob, mallory;
  auto a = login(alice, c.msgPorts[0], "user01", "ttsuite");
  ASSERT_EQ(a.result_code(), 0u) << a.result_string();
  auto b = login(bob, c.msgPorts[1], "user02", "ttsuite");
  ASSERT_EQ(b.result_code(), 0u) << b.result_string();
  auto m = login(mallory, c.msgPorts[0], "user03", "wrong password");
  ASSERT_NE(m.result_code(), 0u);
  const uint32_t aliceId = a.user_info().user_id(), bobId = b.user_info().user_id();

  // Bob's presence reaches msg_server0 through route_server before the first message would be
  // routed; a message sent earlier is still delivered (route forwards by user), so no wait here.
  // Under MaxMsgPerSecond (20): every one of them is stored and acked.
  constexpr int kMessages = 15;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(alice.send(bd::SID_MSG, bd::CID_MSG_DATA, static_cast<uint16_t>(100 + i),
                           textMessage(aliceId, bobId, "metrics " + std::to_string(i))));
    auto ack = alice.receiveCommand(bd::CID_MSG_DATA_ACK, 20000);
    ASSERT_TRUE(ack) << "message " << i << " not acked";
    EXPECT_EQ(ack->seq(), 100 + i);
  }
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(bob.receiveCommand(bd::CID_MSG_DATA, 20000)) << "delivery " << i;
  // One message to herself: refused before storing, never acked, counted as rejected.
  ASSERT_TRUE(alice.send(bd::SID_MSG, bd::CID_MSG_DATA, 999, textMessage(aliceId, aliceId, "to me")));

  PrometheusProcess prom(c.dir, c.targets());
  ASSERT_TRUE(waitFor([&] { return prom.ready(); })) << "prometheus did not become ready";
  const double targets = static_cast<double>(c.daemons.size());
  ASSERT_TRUE(waitFor([&] { return prom.value("count(up == 1)") == targets; }))
      << "up: " << (prom.query("up") ? json(prom.query("up")->size()).dump() : "query failed");
  auto up = prom.query("up");
  ASSERT_TRUE(up);
  ASSERT_EQ(up->size(), c.daemons.size());
  for (const auto& [labels, v] : *up) EXPECT_EQ(v, 1.0) << labels.dump();

  // What the test sent and saw acked and delivered, as Prometheus has it.
  const double n = kMessages;
  auto expectSum = [&](const std::string& expr, double want) {
    EXPECT_TRUE(waitFor([&] { return prom.value(expr) == want; }, 30000))
        << expr << " = " << prom.value(expr).value_or(-1) << ", want " << want;
  };
  expectSum("sum(ttsuite_msg_messages_acked_total)", n);
  expectSum("sum(ttsuite_msg_messages_acked_total{session_type=\"single\"})", n);
  expectSum("sum(ttsuite_dbproxy_messages_stored_total)", n);
  expectSum("sum(ttsuite_msg_messages_delivered_total)", n);
  expectSum("sum(ttsuite_pdus_sent_total{job=\"msg_server0\",link=\"client\",command=\"CID_MSG_DATA_ACK\"})", n);
  expectSum("sum(ttsuite_msg_logins_total{result=\"ok\"})", 2);
  expectSum("sum(ttsuite_msg_logins_total{result=\"failed\"})", 1);
  expectSum("sum(ttsuite_msg_online_users)", 2);
  expectSum("sum(ttsuite_msg_messages_rejected_total{reason=\"to_self\"})", 1);
  expectSum("sum(ttsuite_pdus_received_total{job=\"msg_server0\",link=\"client\",command=\"CID_MSG_DATA\"})", n + 1);
  // Every ack was timed: the histogram holds one observation per message, all under +Inf, with
  // a positive total and a p99 Prometheus can compute.
  expectSum("sum(ttsuite_msg_store_ack_seconds_count)", n);
  expectSum("sum(ttsuite_msg_store_ack_seconds_bucket{le=\"+Inf\"})", n);
  EXPECT_GT(prom.value("sum(ttsuite_msg_store_ack_seconds_sum)").value_or(0), 0.0);
  EXPECT_GT(prom.value("histogram_quantile(0.99, sum by (le) (ttsuite_msg_store_ack_seconds_bucket))").value_or(0), 0.0);
  expectSum("sum(ttsuite_dbproxy_message_batch_size_sum)", n);
  EXPECT_GT(prom.value("sum(ttsuite_dbproxy_message_commit_seconds_count)").value_or(0), 0.0);
  // Links and processes.
  expectSum("sum(ttsuite_upstream_link_up{job=\"msg_server0\",kind=\"db_proxy\"})", 2);
  expectSum("min(ttsuite_upstream_link_up{job=~\"msg_server.\"})", 1);
  EXPECT_TRUE(waitFor([&] { return prom.value("count(process_resident_memory_bytes > 0)") == targets; }, 30000));
  EXPECT_TRUE(waitFor([&] { return prom.value("count(process_open_fds > 0)") == targets; }, 30000));
  EXPECT_TRUE(waitFor([&] { return prom.value("count(ttsuite_build_info)") == targets; }, 30000));

  // The exposition itself passes promtool's parser and linter, endpoint by endpoint.
  for (const auto& [job, d] : c.daemons) {
    const std::string text = c.scrape(job);
    ASSERT_FALSE(text.empty()) << job;
    auto [status, output] = promtoolCheck(c.dir, job, text);
    EXPECT_EQ(status, 0) << job << ": " << output;
    EXPECT_EQ(output, "") << job;
  }
}

TEST_F(MetricsTest, EndpointAnswersOnlyGetMetrics) {
  const int port = cluster_->daemons.at("route_server").metricsPort;
  auto r = httpGet(port, "/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = httpGet(port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("# TYPE ttsuite_build_info gauge"), std::string::npos);
  EXPECT_NE(r->body.find("ttsuite_build_info{daemon=\"route_server\",version=\""), std::string::npos) << r->body;
}

// MetricsPort is checked like every other key: a bad value stops start-up naming key and file.
TEST_F(MetricsTest, BadMetricsKeyStopsStartup) {
  const std::string sub = cluster_->dir + "/badconf";
  ::mkdir(sub.c_str(), 0755);
  const std::string conf = sub + "/routeserver.conf";
  for (const std::string bad : {"MetricsPort=http\n", "MetricsPort=70000\n", "MetricsListenIP=127.0.0.1\n"}) {
    std::ofstream(conf) << "ListenIP=127.0.0.1\nListenMsgPort=" << pickFreeLoopbackPort() << "\n" << bad;
    const std::string cmd = tt::test::daemonBinary("route_server") + " -c " + conf + " >" + sub + "/out.txt 2>&1";
    const int status = std::system(cmd.c_str());
    std::ifstream f(sub + "/out.txt");
    std::string out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(WEXITSTATUS(status), 2) << bad << out;
    EXPECT_NE(out.find(bad.substr(0, bad.find('='))), std::string::npos) << out;
    EXPECT_NE(out.find("routeserver.conf"), std::string::npos) << out;
  }
}

}  // namespace
