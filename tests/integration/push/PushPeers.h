#pragma once
// Real peers for push_server tests (header only, shared by push_server_test and push_flow_test):
// the Node stand-ins for APNs (HTTP/2 + TLS) and for a webhook (plain HTTP) from this directory,
// a self-signed certificate and an APNs .p8 key made with the openssl CLI, and helpers that wait
// for the JSON lines the Node servers record. Node v20 (/usr/bin/node) runs the servers.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../DaemonProcess.h"

namespace tt::test::push {

inline int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::string scriptDir() { return std::string(TT_SOURCE_DIR) + "/tests/integration/push"; }

// cert.pem/key.pem: self-signed for localhost; apns.p8: an EC P-256 PKCS#8 key like Apple's.
inline void makeKeys(const std::string& dir) {
  const std::string cmd =
      "cd '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem "
      "-out cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >openssl.log 2>&1 "
      "&& openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out apns.p8 >>openssl.log 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed, see " + dir + "/openssl.log");
}

// A child process (node) killed with SIGTERM when destroyed.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, const std::string& logPath) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* log = std::fopen(logPath.c_str(), "a");
      if (log) {
        ::dup2(fileno(log), 1);
        ::dup2(fileno(log), 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

 private:
  pid_t pid_ = -1;
};

// The JSON lines of a record file (a half-written last line is skipped).
inline std::vector<nlohmann::json> readRecords(const std::string& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Records matching pred, once at least n of them are there (or what there is after timeoutMs).
inline std::vector<nlohmann::json> waitRecords(const std::string& file, size_t n,
                                               const std::function<bool(const nlohmann::json&)>& pred,
                                               int timeoutMs = 20000) {
  const int64_t deadline = nowMs() + timeoutMs;
  std::vector<nlohmann::json> found;
  while (true) {
    found.clear();
    for (auto& r : readRecords(file)) {
      if (pred(r)) found.push_back(std::move(r));
    }
    if (found.size() >= n || nowMs() >= deadline) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// true once the file contains text (polled every 20 ms).
inline bool waitForText(const std::string& path, const std::string& text, int timeoutMs = 20000) {
  const int64_t deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    if (readFile(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The Node APNs stand-in and webhook receiver, on free ports, recording into dir.
struct NodePeers {
  std::string dir;
  int apnsPort = 0, webhookPort = 0;
  std::string apnsRecords, webhookRecords;
  std::unique_ptr<ChildProcess> apns, webhook;

  NodePeers(const std::string& d, int apnsPortIn, int webhookPortIn) : dir(d), apnsPort(apnsPortIn), webhookPort(webhookPortIn) {
    makeKeys(dir);
    apnsRecords = dir + "/apns.jsonl";
    webhookRecords = dir + "/webhook.jsonl";
    apns = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/node", scriptDir() + "/apns_server.js", std::to_string(apnsPort),
                                 dir + "/cert.pem", dir + "/key.pem", dir + "/apns.p8", apnsRecords},
        dir + "/apns_node.log");
    webhook = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/node", scriptDir() + "/webhook_server.js", std::to_string(webhookPort),
                                 webhookRecords},
        dir + "/webhook_node.log");
    if (!waitForPort(apnsPort, 30000) || !waitForPort(webhookPort, 30000)) {
      throw std::runtime_error("node peers did not start: " + readFile(dir + "/apns_node.log") +
                               readFile(dir + "/webhook_node.log"));
    }
  }

  // pushserver.conf lines for the APNs provider pointed at the stand-in.
  std::string apnsConf() const {
    return "ApnsHost=localhost\nApnsPort=" + std::to_string(apnsPort) + "\nApnsKeyFile=" + dir +
           "/apns.p8\nApnsKeyId=KEY1234567\nApnsTeamId=TEAM123456\nApnsTopic=com.example.tt\nApnsCaFile=" + dir +
           "/cert.pem\nApnsTimeoutMs=15000\n";
  }
  std::string webhookConf() const {
    return "WebhookUrl=http://127.0.0.1:" + std::to_string(webhookPort) + "/hook\nWebhookTimeoutMs=15000\n";
  }
};

}  // namespace tt::test::push
