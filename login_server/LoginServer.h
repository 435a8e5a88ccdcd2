#pragma once
// login_server: tells clients which msg_server to log in to.
//   msg_server port  msg_servers register (IMMsgServInfo) and report logins/logouts
//                    (IMUserCntUpdate); the entry lives as long as the link.
//   HTTP port        GET/POST /msg_server -> JSON with the least-loaded msg_server that is not full.
//   client port      the legacy TCP path: CID_LOGIN_REQ_MSGSERVER -> IMMsgServRsp, then close.
#include <cstdint>
#include <string>
#include <vector>

#include "IM.Server.pb.h"
#include "base/Metrics.h"
#include "netlib/HttpServer.h"
#include "login_server/MsgServerRegistry.h"
#include "netlib/Dispatcher.h"
#include "netlib/ImServer.h"

namespace tt::login {

struct LoginOptions {
  std::vector<std::string> clientListenIps;
  uint16_t clientPort = 8008;
  std::vector<std::string> httpListenIps;
  uint16_t httpPort = 8080;
  std::vector<std::string> msgServerListenIps;
  uint16_t msgServerPort = 8100;
  std::string msfs;       // msfsPrior / msfsBackup in the JSON answer
  std::string discovery;  // discovery in the JSON answer
  int64_t msgServerTimeoutMs = 30000;
  int64_t clientTimeoutMs = 120000;  // legacy TCP clients, as TeamTalk's CLIENT_TIMEOUT
  int64_t httpIdleTimeoutMs = 60000;
  int backlog = 1024;
};

class LoginServer {
 public:
  LoginServer(net::EventDispatch* loop, const LoginOptions& options);
  ~LoginServer();
  LoginServer(const LoginServer&) = delete;
  LoginServer& operator=(const LoginServer&) = delete;

  // Listens on all three ports; false with *err naming the address that failed.
  bool start(std::string* err);
  // SIGTERM: stop accepting, close every connection, then quit the loop.
  void shutdown();

  const MsgServerRegistry& registry() const { return registry_; }

  // The JSON body of /msg_server for a client at peer (exposed for logging and tests).
  std::string msgServerJson(const net::InetAddress& peer) const;

 private:
  void onMsgServerInfo(const net::ImConnPtr& conn, const IM::Server::IMMsgServInfo& info);
  void onUserCntUpdate(const net::ImConnPtr& conn, const IM::Server::IMUserCntUpdate& update);
  void onMsgServerClosed(const net::ImConnPtr& conn);
  void onClientPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  net::HttpResponse onHttp(const net::HttpRequest& request) const;
  void registerMetrics();

  net::EventDispatch* loop_;
  LoginOptions options_;
  MsgServerRegistry registry_;
  net::Dispatcher msgServerDispatch_;
  net::ImServer msgServers_;
  net::ImServer clients_;
  net::HttpServer http_;
  bool stopping_ = false;
  std::vector<metrics::CallbackHandle> metricHandles_;  // last: unregistered before what they read dies
};

}  // namespace tt::login
