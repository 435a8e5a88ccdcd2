#include "tools/client/LoginHttp.h"

#include <http_parser.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

#include "netlib/BaseSocket.h"
#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"
#include "tools/client/Dialer.h"

namespace tt::client {

// ---- JSON ---------------------------------------------------------------------------------------

namespace {

// login_server sends numbers as JSON strings in places ("port":"8000"); accept both forms.
std::optional<long long> jsonInt(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    long long n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return n;
  }
  return std::nullopt;
}

std::string jsonString(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

std::optional<MsgServerInfo> parseMsgServerJson(std::string_view body, std::string* error) {
  const nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = "login server answer is not a JSON object";
    return std::nullopt;
  }
  MsgServerInfo info;
  auto code = doc.find("code");
  std::optional<long long> c = code == doc.end() ? std::nullopt : jsonInt(*code);
  if (!c) {
    *error = "login server answer has no numeric \"code\"";
    return std::nullopt;
  }
  info.code = static_cast<int>(*c);
  info.msg = jsonString(doc, "msg");
  if (info.code != 0) return info;
  info.priorIP = jsonString(doc, "priorIP");
  info.backupIP = jsonString(doc, "backupIP");
  if (info.backupIP.empty()) info.backupIP = info.priorIP;
  auto port = doc.find("port");
  std::optional<long long> p = port == doc.end() ? std::nullopt : jsonInt(*port);
  if (info.priorIP.empty() || !p || *p <= 0 || *p > 65535) {
    *error = "login server answer lacks priorIP or a valid port";
    return std::nullopt;
  }
  info.port = static_cast<int>(*p);
  return info;
}

// ---- URL and request ----------------------------------------------------------------------------

std::optional<LoginUrl> parseLoginUrl(std::string_view url, std::string* error) {
  LoginUrl out;
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) == kScheme) {
    url.remove_prefix(kScheme.size());
  } else if (url.find("://") != std::string_view::npos) {
    *error = "only http:// login server URLs are supported";
    return std::nullopt;
  }
  const size_t slash = url.find('/');
  std::string_view hostPort = url.substr(0, slash);
  if (slash != std::string_view::npos && url.size() > slash + 1) out.path = std::string(url.substr(slash));
  const size_t colon = hostPort.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view portText = hostPort.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || p != portText.data() + portText.size() || port == 0 || port > 65535) {
      *error = "bad port in login server URL";
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
    hostPort = hostPort.substr(0, colon);
  }
  if (hostPort.empty()) {
    *error = "no host in login server URL";
    return std::nullopt;
  }
  out.host = std::string(hostPort);
  return out;
}

std::string buildMsgServerRequest(std::string_view hostHeader, std::string_view path) {
  std::string r;
  r.reserve(128);
  r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(hostHeader);
  r.append("\r\nUser-Agent: ttsuite-client\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
  return r;
}

// ---- HttpResponseReader -------------------------------------------------------------------------

struct HttpResponseReader::Parser {
  http_parser parser;
  http_parser_settings settings;
};

HttpResponseReader::HttpResponseReader(size_t maxBodyBytes)
    : parser_(std::make_unique<Parser>()), maxBodyBytes_(maxBodyBytes) {
  http_parser_init(&parser_->parser, HTTP_RESPONSE);
  parser_->parser.data = this;
  http_parser_settings_init(&parser_->settings);
  parser_->settings.on_body = [](http_parser* p, const char* at, size_t len) { return onBody(p, at, len); };
  parser_->settings.on_headers_complete = [](http_parser* p) { return onHeadersComplete(p); };
  parser_->settings.on_message_complete = [](http_parser* p) { return onMessageComplete(p); };
}

HttpResponseReader::~HttpResponseReader() = default;

int HttpResponseReader::onBody(void* parser, const char* at, size_t len) {
  auto* self = static_cast<HttpResponseReader*>(static_cast<http_parser*>(parser)->data);
  if (self->body_.size() + len > self->maxBodyBytes_) {
    self->bodyTooLarge_ = true;
    return 1;  // stops the parser with HPE_CB_body
  }
  self->body_.append(at, len);
  return 0;
}

int HttpResponseReader::onHeadersComplete(void* parser) {
  auto* p = static_cast<http_parser*>(parser);
  auto* self = static_cast<HttpResponseReader*>(p->data);
  self->statusCode_ = static_cast<int>(p->status_code);
  self->keepAlive_ = http_should_keep_alive(p) != 0;
  return 0;
}

int HttpResponseReader::onMessageComplete(void* parser) {
  auto* p = static_cast<http_parser*>(parser);
  auto* self = static_cast<HttpResponseReader*>(p->data);
  self->messageComplete_ = true;
  // Pause, so bytes of a following message (keep-alive peers) are not parsed.
  http_parser_pause(p, 1);
  return 0;
}

HttpResponseReader::Status HttpResponseReader::afterExecute(size_t parsed, size_t len) {
  if (messageComplete_) return status_ = Status::kComplete;
  const auto err = HTTP_PARSER_ERRNO(&parser_->parser);
  if (bodyTooLarge_) {
    error_ = "HTTP body larger than " + std::to_string(maxBodyBytes_) + " bytes";
    return status_ = Status::kError;
  }
  if (err != HPE_OK || parsed != len) {
    error_ = std::string("bad HTTP response: ") + http_errno_description(err);
    return status_ = Status::kError;
  }
  return status_ = Status::kNeedMore;
}

HttpResponseReader::Status HttpResponseReader::feed(const char* data, size_t len) {
  if (status_ != Status::kNeedMore) return status_;
  if (len == 0) return status_;
  const size_t parsed = http_parser_execute(&parser_->parser, &parser_->settings, data, len);
  return afterExecute(parsed, len);
}

HttpResponseReader::Status HttpResponseReader::finish() {
  if (status_ != Status::kNeedMore) return status_;
  // A zero-length execute tells http_parser the stream ended (completes an EOF-delimited body).
  http_parser_execute(&parser_->parser, &parser_->settings, nullptr, 0);
  afterExecute(0, 0);
  if (status_ == Status::kNeedMore) {
    error_ = statusCode_ == 0 ? "connection closed before an HTTP response" : "connection closed mid-response";
    status_ = Status::kError;
  }
  return status_;
}

// ---- MsgServerLookup ----------------------------------------------------------------------------

std::shared_ptr<MsgServerLookup> MsgServerLookup::start(net::EventDispatch* loop, const net::InetAddress& server,
                                                        std::string hostHeader, std::string path, int64_t timeoutMs,
                                                        Callback cb) {
  auto lookup = std::make_shared<MsgServerLookup>(loop, server, std::move(cb));
  lookup->begin(std::move(hostHeader), std::move(path), timeoutMs);
  return lookup;
}

MsgServerLookup::MsgServerLookup(net::EventDispatch* loop, const net::InetAddress& server, Callback cb)
    : loop_(loop), server_(server), callback_(std::move(cb)) {}

MsgServerLookup::~MsgServerLookup() {
  if (dialer_) dialer_->cancel();
  loop_->cancel(timer_);
  closeSocket();
}

void MsgServerLookup::begin(std::string hostHeader, std::string path, int64_t timeoutMs) {
  request_ = buildMsgServerRequest(hostHeader, path);
  std::weak_ptr<MsgServerLookup> weak = shared_from_this();
  timer_ = loop_->runAfter(timeoutMs, [weak, timeoutMs] {
    if (auto self = weak.lock()) {
      self->timer_ = 0;
      self->fail("login server " + self->server_.toString() + ": no answer within " + std::to_string(timeoutMs) +
                 " ms");
    }
  });
  // The overall timer above is what reports a slow connect; the dialer's own limit is only a
  // backstop.
  dialer_ = Dialer::dial(loop_, server_, timeoutMs + 1000, [weak](int fd, const std::string& error) {
    auto self = weak.lock();
    if (!self) {
      net::sockets::close(fd);
      return;
    }
    self->dialer_.reset();
    if (fd < 0) {
      self->fail("login server: " + error);
    } else {
      self->onConnected(fd);
    }
  });
}

void MsgServerLookup::onConnected(int fd) {
  fd_ = fd;
  socket_ = std::make_unique<net::BaseSocket>(loop_, fd_);
  std::weak_ptr<MsgServerLookup> weak = shared_from_this();
  socket_->setReadCallback([weak] {
    if (auto self = weak.lock()) self->handleRead();
  });
  socket_->setCloseCallback([weak] {
    if (auto self = weak.lock()) self->handleRead();
  });
  socket_->setWriteCallback([weak] {
    if (auto self = weak.lock()) self->handleWrite();
  });
  socket_->enableReading();
  handleWrite();
}

void MsgServerLookup::handleWrite() {
  if (fd_ < 0) return;
  while (written_ < request_.size()) {
    const ssize_t n = ::write(fd_, request_.data() + written_, request_.size() - written_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!socket_->isWriting()) socket_->enableWriting();
        return;
      }
      fail(std::string("login server: write: ") + std::strerror(errno));
      return;
    }
    written_ += static_cast<size_t>(n);
  }
  if (socket_->isWriting()) socket_->disableWriting();
}

void MsgServerLookup::handleRead() {
  char buf[4096];
  while (fd_ >= 0) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    HttpResponseReader::Status st;
    if (n > 0) {
      st = reader_.feed(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      st = reader_.finish();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      fail(std::string("login server: read: ") + std::strerror(errno));
      return;
    }
    if (st == HttpResponseReader::Status::kError) {
      fail("login server: " + reader_.error());
      return;
    }
    if (st == HttpResponseReader::Status::kComplete) {
      if (reader_.statusCode() != 200) {
        fail("login server: HTTP status " + std::to_string(reader_.statusCode()));
        return;
      }
      Result r;
      std::string error;
      auto info = parseMsgServerJson(reader_.body(), &error);
      if (!info) {
        fail("login server: " + error);
        return;
      }
      r.info = std::move(*info);
      complete(std::move(r));
      return;
    }
  }
}

void MsgServerLookup::closeSocket() {
  if (socket_) {
    socket_->remove();
    // Deferred: we may be inside this BaseSocket's own callback.
    loop_->post([s = std::shared_ptr<net::BaseSocket>(std::move(socket_))] {});
  }
  net::sockets::close(fd_);
  fd_ = -1;
}

void MsgServerLookup::fail(const std::string& why) {
  Result r;
  r.error = why;
  complete(std::move(r));
}

void MsgServerLookup::complete(Result result) {
  if (dialer_) {
    dialer_->cancel();
    dialer_.reset();
  }
  loop_->cancel(timer_);
  timer_ = 0;
  closeSocket();
  Callback cb = std::move(callback_);
  callback_ = nullptr;
  if (cb) cb(result);
}

void MsgServerLookup::cancel() {
  callback_ = nullptr;
  if (dialer_) {
    dialer_->cancel();
    dialer_.reset();
  }
  loop_->cancel(timer_);
  timer_ = 0;
  closeSocket();
}

}  // namespace tt::client
