#pragma once
// Asking login_server where to log in (docs/PROTOCOL.md §3.1): `GET /msg_server` over HTTP/1.1, answer
// a JSON object {"code":0,"msg":"","priorIP":..,"backupIP":..,"port":"8000",...}. The pieces that
// need no socket (URL, request text, response reader, JSON) are separate so tests can feed them
// bytes directly; MsgServerLookup runs one request on an EventDispatch without blocking.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "netlib/InetAddress.h"
#include "netlib/TimerQueue.h"

namespace tt::net {
class BaseSocket;
class EventDispatch;
}  // namespace tt::net

namespace tt::client {

class Dialer;

// login_server's answer. code 0 = use priorIP (or backupIP):port; 1 = no msg_server; 2 = all full.
struct MsgServerInfo {
  int code = -1;
  std::string msg;
  std::string priorIP;
  std::string backupIP;
  int port = 0;  // sent as a JSON string ("8000"); a number is accepted too
};

// nullopt with *error set when the body is not JSON, lacks "code", or a code-0 answer lacks
// priorIP or a valid port. backupIP defaults to priorIP.
std::optional<MsgServerInfo> parseMsgServerJson(std::string_view body, std::string* error);

// "http://host:port/path", "http://host:port", "host:port" or "host" (port 8080, path /msg_server).
struct LoginUrl {
  std::string host;
  uint16_t port = 8080;
  std::string path = "/msg_server";
};
std::optional<LoginUrl> parseLoginUrl(std::string_view url, std::string* error);

// The request bytes, one request per connection (login_server closes after answering anyway).
std::string buildMsgServerRequest(std::string_view hostHeader, std::string_view path = "/msg_server");

// Reads one HTTP/1.x response fed in pieces of any size (Content-Length, chunked, or delimited by
// the peer closing). Bodies above maxBodyBytes are an error.
class HttpResponseReader {
 public:
  enum class Status { kNeedMore, kComplete, kError };

  explicit HttpResponseReader(size_t maxBodyBytes = 64 * 1024);
  ~HttpResponseReader();
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;

  // Bytes after a complete response are ignored.
  Status feed(const char* data, size_t len);
  Status feed(std::string_view data) { return feed(data.data(), data.size()); }
  // The peer closed: completes a body delimited by EOF; an unfinished response becomes an error.
  Status finish();

  Status status() const { return status_; }
  int statusCode() const { return statusCode_; }
  bool keepAlive() const { return keepAlive_; }
  const std::string& body() const { return body_; }
  const std::string& error() const { return error_; }

 private:
  struct Parser;
  static int onBody(void* parser, const char* at, size_t len);
  static int onHeadersComplete(void* parser);
  static int onMessageComplete(void* parser);
  Status afterExecute(size_t parsed, size_t len);

  std::unique_ptr<Parser> parser_;  // keeps http_parser.h out of this header
  size_t maxBodyBytes_;
  Status status_ = Status::kNeedMore;
  int statusCode_ = 0;
  bool keepAlive_ = false;
  bool messageComplete_ = false;
  bool bodyTooLarge_ = false;
  std::string body_;
  std::string error_;
};

// One GET /msg_server on the loop. The callback runs exactly once (unless cancelled), never from
// inside start(): with error empty and info filled (info.code may still be non-zero: that is
// login_server's own refusal), or with an error line (connect failure, timeout, bad HTTP or JSON).
class MsgServerLookup : public std::enable_shared_from_this<MsgServerLookup> {
 public:
  struct Result {
    std::string error;
    MsgServerInfo info;
    bool ok() const { return error.empty(); }
  };
  using Callback = std::function<void(const Result&)>;

  // Loop thread. timeoutMs bounds the whole exchange (connect, request, response).
  static std::shared_ptr<MsgServerLookup> start(net::EventDispatch* loop, const net::InetAddress& server,
                                                std::string hostHeader, std::string path, int64_t timeoutMs,
                                                Callback cb);

  MsgServerLookup(net::EventDispatch* loop, const net::InetAddress& server, Callback cb);
  ~MsgServerLookup();
  MsgServerLookup(const MsgServerLookup&) = delete;
  MsgServerLookup& operator=(const MsgServerLookup&) = delete;

  // Loop thread: abandon the request; the callback will not run.
  void cancel();

 private:
  void begin(std::string hostHeader, std::string path, int64_t timeoutMs);
  void onConnected(int fd);
  void handleRead();
  void handleWrite();
  void complete(Result result);
  void fail(const std::string& why);
  void closeSocket();

  net::EventDispatch* loop_;
  const net::InetAddress server_;
  Callback callback_;
  std::shared_ptr<Dialer> dialer_;
  int fd_ = -1;
  std::unique_ptr<net::BaseSocket> socket_;
  std::string request_;
  size_t written_ = 0;
  HttpResponseReader reader_;
  net::TimerId timer_ = 0;
};

}  // namespace tt::client
