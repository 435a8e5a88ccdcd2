#pragma once
// A small HTTP/1.1 server on TcpServer: login_server's GET /msg_server, every daemon's /metrics
// (and msfs later). Requests are parsed incrementally by Joyent's http_parser (Debian
// libhttp-parser), so a request may arrive byte by byte, several may be pipelined in one read, and
// a keep-alive connection may carry any number of them; each is answered in order.
//
// Limits, all closing only the offending connection: a request larger than maxRequestBytes
// (request line, headers and body together) or one that does not parse is answered
// 400 Bad Request and the connection is closed; a connection idle for idleTimeoutMs is closed; a
// peer that does not read its responses is cut at maxOutputBytes. The original login_server closed
// after every response and truncated bodies at 1024 bytes; here nothing is truncated.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "netlib/InetAddress.h"
#include "netlib/TcpServer.h"
#include "netlib/TimerQueue.h"

namespace tt::net {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as http_parser names it
  std::string url;     // as sent (origin form "/msg_server?x" or absolute "http://h/msg_server")
  std::string path;    // the URL's path ("/msg_server"), "" when the URL has none
  int httpMajor = 1;
  int httpMinor = 1;
  InetAddress peer;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "text/html;charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

struct HttpServerOptions {
  size_t maxRequestBytes = 1024;
  int64_t idleTimeoutMs = 60000;
  // After the last response of a connection the write side is shut down; a peer that then neither
  // closes nor goes quiet is cut after this long.
  int64_t lingerMs = 5000;
  size_t maxOutputBytes = 256 * 1024;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(EventDispatch* loop, std::string name, const HttpServerOptions& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  bool listen(const std::vector<std::string>& ips, uint16_t port, int backlog, std::string* err);
  std::vector<InetAddress> listenAddresses() const { return tcp_.listenAddresses(); }
  size_t connectionCount() const { return tcp_.connectionCount(); }

  void stopAccepting() { tcp_.stopAccepting(); }
  void closeAll() { tcp_.closeAll(); }

  const HttpServerOptions& options() const { return options_; }
  // Loop thread; used by the per-connection parser.
  HttpResponse handle(const HttpRequest& request) const { return handler_(request); }

  static std::string statusText(int status);
  // The bytes of one response: status line, Content-Type, Content-Length, Connection, extras.
  static std::string render(const HttpResponse& response, bool keepAlive);

 private:
  void onConnection(const TcpConnectionPtr& conn);
  void sweep();

  EventDispatch* loop_;
  HttpServerOptions options_;
  Handler handler_;
  TcpServer tcp_;
  TimerId sweepTimer_ = 0;
};

}  // namespace tt::net
