#include "netlib/HttpServer.h"

#include <http_parser.h>

#include <algorithm>
#include <any>
#include <memory>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"
#include "netlib/TcpConnection.h"

namespace tt::net {

namespace {

// One connection's parser state. http_parser calls back into it; on_message_complete pauses the
// parser so that each http_parser_execute() call ends at a request boundary: the bytes of every
// request are then counted on their own, and the answer to request N is queued before request
// N+1 is even looked at (pipelined responses stay in order, and nothing after a "Connection: close"
// request is parsed).
class HttpSession {
 public:
  HttpSession(const HttpServer* server, InetAddress peer) : server_(server), peer_(std::move(peer)) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  bool finished() const { return finished_; }
  int64_t finishedAtMs() const { return finishedAtMs_; }

  void onData(const TcpConnectionPtr& conn, Buffer* buf) {
    const size_t limit = server_->options().maxRequestBytes;
    while (!finished_ && buf->readableBytes() > 0) {
      // Never hand the parser more than one byte beyond the limit: an oversize request is refused
      // as soon as it is known to be too large, however much the peer has sent.
      const size_t room = limit + 1 - requestBytes_;
      const size_t len = std::min(buf->readableBytes(), room);
      const size_t n = http_parser_execute(&parser_, &settings(), buf->peek(), len);
      requestBytes_ += n;
      buf->retrieve(n);
      if (messageComplete_) {
        messageComplete_ = false;
        http_parser_pause(&parser_, 0);
        if (requestBytes_ > limit) {
          fail(conn, "request of " + std::to_string(requestBytes_) + " bytes exceeds the limit of " +
                         std::to_string(limit));
          return;
        }
        answer(conn);
        requestBytes_ = 0;
        url_.clear();
        continue;
      }
      const http_errno err = HTTP_PARSER_ERRNO(&parser_);
      if (err != HPE_OK) {
        fail(conn, std::string("unparsable request: ") + http_errno_description(err));
        return;
      }
      if (requestBytes_ > limit) {
        fail(conn, "request exceeds the limit of " + std::to_string(limit) + " bytes");
        return;
      }
      if (n < len) {  // not expected without an error; never spin on it
        fail(conn, "parser stopped early");
        return;
      }
    }
    // After the last response: whatever the peer still sends is read and dropped, so that closing
    // does not turn into a reset that could destroy the response in flight.
    if (finished_) buf->retrieveAll();
  }

 private:
  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings x{};
      x.on_url = &HttpSession::onUrl;
      x.on_message_complete = &HttpSession::onMessageComplete;
      return x;
    }();
    return s;
  }

  static int onUrl(http_parser* p, const char* at, size_t len) {
    static_cast<HttpSession*>(p->data)->url_.append(at, len);
    return 0;
  }

  static int onMessageComplete(http_parser* p) {
    auto* self = static_cast<HttpSession*>(p->data);
    self->messageComplete_ = true;
    // An upgrade (or CONNECT) would switch protocols after this request; we do not, so the
    // connection ends with its answer.
    self->keepAlive_ = http_should_keep_alive(p) != 0 && p->upgrade == 0;
    self->method_ = http_method_str(static_cast<http_method>(p->method));
    self->httpMajor_ = p->http_major;
    self->httpMinor_ = p->http_minor;
    http_parser_pause(p, 1);
    return 0;
  }

  void answer(const TcpConnectionPtr& conn) {
    HttpRequest req;
    req.method = method_;
    req.url = url_;
    req.httpMajor = httpMajor_;
    req.httpMinor = httpMinor_;
    req.peer = peer_;
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url_.data(), url_.size(), 0, &u) != 0) {
      fail(conn, "bad request target '" + url_ + "'");
      return;
    }
    if (u.field_set & (1 << UF_PATH)) req.path = url_.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    HttpResponse res = server_->handle(req);
    spdlog::debug("http {}: {} {} -> {}", conn->name(), req.method, req.url, res.status);
    conn->send(HttpServer::render(res, keepAlive_));
    if (!keepAlive_) finish(conn);
  }

  void fail(const TcpConnectionPtr& conn, const std::string& why) {
    spdlog::info("http {}: {}: 400 and closing", conn->name(), why);
    HttpResponse res;
    res.status = 400;
    res.contentType = "text/plain;charset=utf-8";
    res.body = "Bad Request\n";
    conn->send(HttpServer::render(res, false));
    finish(conn);
  }

  void finish(const TcpConnectionPtr& conn) {
    finished_ = true;
    finishedAtMs_ = conn->loop()->nowMs();
    conn->shutdown();  // FIN once the response is written; the peer then closes
  }

  const HttpServer* server_;
  const InetAddress peer_;
  http_parser parser_;
  std::string url_;
  std::string method_;
  int httpMajor_ = 1;
  int httpMinor_ = 1;
  size_t requestBytes_ = 0;
  bool messageComplete_ = false;
  bool keepAlive_ = true;
  bool finished_ = false;
  int64_t finishedAtMs_ = 0;
};

using HttpSessionPtr = std::shared_ptr<HttpSession>;

HttpSessionPtr sessionOf(const TcpConnectionPtr& conn) {
  if (auto* p = std::any_cast<HttpSessionPtr>(&conn->context())) return *p;
  return nullptr;
}

}  // namespace

HttpServer::HttpServer(EventDispatch* loop, std::string name, const HttpServerOptions& options,
                       Handler handler)
    : loop_(loop), options_(options), handler_(std::move(handler)), tcp_(loop, std::move(name)) {
  tcp_.setMaxOutputBytes(options_.maxOutputBytes);
  tcp_.setConnectionCallback([this](const TcpConnectionPtr& c) { onConnection(c); });
  tcp_.setMessageCallback([](const TcpConnectionPtr& c, Buffer* buf) {
    if (HttpSessionPtr session = sessionOf(c)) {
      session->onData(c, buf);
    } else {
      buf->retrieveAll();
    }
  });
}

HttpServer::~HttpServer() {
  loop_->cancel(sweepTimer_);
  // The TcpServer tears its connections down after us; their callbacks must not come back here.
  tcp_.setConnectionCallback(nullptr);
  for (auto& [id, conn] : tcp_.connections()) {
    conn->setConnectionCallback(nullptr);
    conn->context().reset();
  }
}

bool HttpServer::listen(const std::vector<std::string>& ips, uint16_t port, int backlog, std::string* err) {
  for (const auto& ip : ips) {
    if (!tcp_.listen(ip, port, backlog, err)) return false;
  }
  if (sweepTimer_ == 0) sweepTimer_ = loop_->runEvery(1000, [this] { sweep(); });
  return true;
}

void HttpServer::onConnection(const TcpConnectionPtr& conn) {
  if (conn->connected()) {
    conn->context() = std::make_shared<HttpSession>(this, conn->peerAddress());
  } else {
    conn->context().reset();
  }
}

void HttpServer::sweep() {
  const int64_t now = loop_->nowMs();
  // forceClose() defers the close to a later turn of the loop, so the map does not change here.
  for (auto& [id, conn] : tcp_.connections()) {
    HttpSessionPtr session = sessionOf(conn);
    if (session && session->finished()) {
      if (now - session->finishedAtMs() >= options_.lingerMs) conn->forceClose("peer kept the connection open after the last response");
    } else if (now - conn->lastReceiveMs() >= options_.idleTimeoutMs) {
      conn->forceClose("idle for " + std::to_string(now - conn->lastReceiveMs()) + " ms");
    }
  }
}

std::string HttpServer::statusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string HttpServer::render(const HttpResponse& response, bool keepAlive) {
  std::string out;
  out.reserve(160 + response.body.size());
  out += "HTTP/1.1 " + std::to_string(response.status) + " " + statusText(response.status) + "\r\n";
  out += "Content-Type: " + response.contentType + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

}  // namespace tt::net
