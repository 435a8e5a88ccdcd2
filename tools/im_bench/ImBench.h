#pragma once
// im_bench core: one process drives many simulated TeamTalk clients (tools/client ClientSession)
// over the real protocol, on a few EventDispatch threads (not a thread per client), and measures
// one scenario:
//
//   idle N          N clients log in and stay idle (heartbeats only); msg_server RSS per connection
//   login-storm N   N clients log in at once; logins/s and login time percentiles; then, when a
//                   restart hook is given, every client reconnects after the msg_server restart
//   chat N R        N/2 pairs, R messages/s in total (open loop), half the pairs across two
//                   msg_servers; sent / acked / delivered / lost / duplicated, send->ack and
//                   send->deliver percentiles from the *scheduled* send time
//   group M R       one group of M members over two msg_servers, R group messages/s; deliveries/s
//                   and the latency of the last member to receive each message
//
// runBench() returns every figure as one JSON object (the --json output of tools/im_bench);
// formatTable() renders it as the text table. Tests link this library directly.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::bench {

struct ServerAddr {
  std::string host;
  uint16_t port = 0;
};

struct BenchConfig {
  std::string scenario;      // idle | login-storm | chat | group
  int clients = 20;          // N (M for group)
  double rate = 0;           // R: messages per second in total (chat, group)
  double durationSec = 10;   // sending time (chat, group)
  double idleSec = 60;       // idle: how long the clients stay logged in
  double drainSec = 10;      // after sending: longest wait for outstanding deliveries and acks

  // Where to log in: login_server's HTTP /msg_server, unless msgServers is set; then client i goes
  // straight to one of them (chat: pairs alternate same-server / cross-server placement).
  std::string loginHost = "127.0.0.1";
  uint16_t loginPort = 8080;
  std::vector<ServerAddr> msgServers;

  // Client i (0-based) logs in as printf(userFormat, firstUser + i) with password.
  std::string userFormat = "bench_%d";
  int firstUser = 1;
  std::string password = "ttsuite";
  uint32_t groupId = 0;  // group: the group every one of the M users is a member of

  // mac / windows (PC: msg_server sends these every presence change of every user on the server,
  // TeamTalk's broadcast, so N PC logins cost N^2 notifications) or android / ios (mobile: no
  // presence broadcast).
  std::string clientType = "mac";

  int threads = 2;
  // Local addresses to connect from, client i uses sourceAddrs[i % size]. Empty: automatic
  // (127.0.0.2, 127.0.0.3, ... one per 20,000 clients) above 20,000 clients, none below.
  std::vector<std::string> sourceAddrs;
  int64_t heartbeatMs = 30000;
  int loginWindow = 1000;        // logins in flight per thread
  double loginTimeoutSec = 300;  // all N must be online within this
  int payloadBytes = 32;         // text length of chat/group messages (at least the header)
  int maxPerClientRate = 20;     // msg_server's MaxMsgPerSecond: warn when a client must send faster
  int64_t reconnectInitialMs = 50;  // client back-off after a lost connection (login-storm restart)
  int64_t reconnectMaxMs = 400;

  std::vector<int> rssPids;  // msg_server pids whose VmRSS is reported (idle, login-storm)
  // login-storm: restarts the msg_server(s) the clients are on; returns false with *error set.
  std::function<bool(std::string* error)> restart;
  bool verbose = false;  // progress lines on stderr
};

// Runs the scenario. On a setup failure (bad config, fd limit too low, clients not online in
// time) the object has "error" set; otherwise "error" is absent. Always has "scenario".
nlohmann::ordered_json runBench(const BenchConfig& config);

// The result as an aligned two-column text table.
std::string formatTable(const nlohmann::ordered_json& result);

}  // namespace tt::bench
