#include "push_server/WebhookProvider.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace tt::push {

std::optional<Url> Url::parse(const std::string& text) {
  Url u;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
    u.port = 80;
  } else if (text.rfind("https://", 0) == 0) {
    rest = text.substr(8);
    u.tls = true;
    u.port = 443;
  } else {
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string hostPort = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  const size_t colon = hostPort.rfind(':');
  if (colon != std::string::npos && hostPort.find(']') == std::string::npos) {
    const std::string port = hostPort.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) return std::nullopt;
    u.port = static_cast<uint16_t>(p);
    hostPort = hostPort.substr(0, colon);
  }
  if (hostPort.empty()) return std::nullopt;
  for (char c : hostPort + u.path) {
    if (static_cast<unsigned char>(c) <= ' ') return std::nullopt;  // no header injection
  }
  u.host = hostPort;
  return u;
}

std::string webhookPayload(const Notification& n) {
  nlohmann::json data = nlohmann::json::object();
  if (!n.data.empty()) {
    data = nlohmann::json::parse(n.data, nullptr, false);
    if (data.is_discarded()) data = n.data;
  }
  nlohmann::json j{{"user_id", n.userId}, {"client_type", n.clientType}, {"token", n.token},
                   {"title", n.title},    {"body", n.body},               {"badge", n.badge},
                   {"silent", n.silent},  {"data", data}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int parseStatusLine(const std::string& r) {
  // "HTTP/1.1 200 OK"
  if (r.rfind("HTTP/1.", 0) != 0 || r.size() < 12 || r[8] != ' ') return 0;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (r[i] < '0' || r[i] > '9') return 0;
    code = code * 10 + (r[i] - '0');
  }
  return (r.size() == 12 || r[12] == ' ' || r[12] == '\r') ? code : 0;
}

WebhookProvider::WebhookProvider(WebhookOptions options) : options_(std::move(options)) {
  if (options_.url.tls) tls_ = std::make_unique<TlsContext>(options_.caFile, std::string());
}

Attempt WebhookProvider::deliver(const Notification& n) {
  const int64_t deadline = monoMs() + options_.timeoutMs;
  Attempt a;
  a.result = Attempt::Result::kRetry;
  auto t = Transport::connect(options_.url.host, options_.url.port, tls_.get(), deadline, &a.reason);
  if (!t) return a;
  const std::string body = webhookPayload(n);
  const bool defaultPort = options_.url.port == (options_.url.tls ? 443 : 80);
  std::string req = "POST " + options_.url.path + " HTTP/1.1\r\nHost: " + options_.url.host +
                    (defaultPort ? "" : ":" + std::to_string(options_.url.port)) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nUser-Agent: ttsuite-push_server\r\nConnection: close\r\n\r\n" + body;
  if (!t->writeAll(req.data(), req.size(), deadline, &a.reason)) return a;
  // Only the status line matters: read until it is complete (or the peer closes).
  std::string response;
  char buf[4096];
  while (response.find("\r\n") == std::string::npos && response.size() < 8192) {
    std::string err;
    const ssize_t got = t->readSome(buf, sizeof buf, deadline, &err);
    if (got < 0) {
      a.reason = err;
      return a;
    }
    if (got == 0) break;
    response.append(buf, static_cast<size_t>(got));
  }
  a.status = parseStatusLine(response);
  if (a.status == 0) {
    a.reason = response.empty() ? "connection closed without an answer" : "malformed HTTP answer";
    return a;
  }
  const size_t eol = response.find("\r\n");
  a.reason = response.substr(0, eol == std::string::npos ? response.size() : eol);
  if (a.status >= 200 && a.status < 300) {
    a.result = Attempt::Result::kDelivered;
  } else if (a.status == 410) {
    a.result = Attempt::Result::kInvalidToken;
  } else if (a.status == 429 || a.status >= 500) {
    a.result = Attempt::Result::kRetry;
  } else {
    a.result = Attempt::Result::kRejected;
  }
  return a;
}

}  // namespace tt::push
