#include "push_server/ApnsProvider.h"

#include <cctype>
#include <cstring>
#include <ctime>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace tt::push {

namespace {
// Alert title/body and "custom" as TeamTalk's iOS client reads them; data is msg_server's JSON text
// ({"msg_type":..,"from_id":..[,"group_id":..]}), embedded as JSON (as a string if it is not JSON).
nlohmann::json customData(const std::string& data) {
  if (data.empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(data, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(data) : parsed;
}

struct BodySource {
  std::string data;
  size_t offset = 0;
};

ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags, nghttp2_data_source* source,
                 void*) {
  auto* src = static_cast<BodySource*>(source->ptr);
  const size_t n = std::min(length, src->data.size() - src->offset);
  std::memcpy(buf, src->data.data() + src->offset, n);
  src->offset += n;
  if (src->offset == src->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

nghttp2_nv header(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

std::string reasonOf(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("reason") && j["reason"].is_string()) return j["reason"].get<std::string>();
  return {};
}
}  // namespace

std::string apnsPayload(const Notification& n) {
  nlohmann::json aps;
  if (n.silent) {
    aps["content-available"] = 1;
    aps["badge"] = n.badge;
    return nlohmann::json{{"aps", aps}}.dump();
  }
  nlohmann::json alert{{"body", n.body}};
  if (!n.title.empty()) alert["title"] = n.title;
  aps["alert"] = alert;
  aps["badge"] = n.badge;
  aps["sound"] = "default";
  // dump() with replacement: a cut-off UTF-8 sequence from an old client must not throw here.
  return nlohmann::json{{"aps", aps}, {"custom", customData(n.data)}}.dump(-1, ' ', false,
                                                                         nlohmann::json::error_handler_t::replace);
}

// nghttp2 callbacks; user_data is the ApnsProvider.
struct ApnsCallbacks {
  static ssize_t send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
    auto* self = static_cast<ApnsProvider*>(user);
    if (!self->transport_->writeAll(data, length, self->ioDeadlineMs_, &self->ioError_)) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(length);
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<ApnsProvider*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS && self->current_ && frame->hd.stream_id == self->current_->id &&
        std::string_view(reinterpret_cast<const char*>(name), namelen) == ":status") {
      self->current_->status = std::atoi(std::string(reinterpret_cast<const char*>(value), valuelen).c_str());
    }
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t streamId, const uint8_t* data, size_t len, void* user) {
    auto* self = static_cast<ApnsProvider*>(user);
    if (self->current_ && streamId == self->current_->id && self->current_->body.size() < 4096) {
      self->current_->body.append(reinterpret_cast<const char*>(data), std::min<size_t>(len, 4096));
    }
    return 0;
  }
  static int onClose(nghttp2_session*, int32_t streamId, uint32_t errorCode, void* user) {
    auto* self = static_cast<ApnsProvider*>(user);
    if (self->current_ && streamId == self->current_->id) {
      self->current_->closed = true;
      if (errorCode != NGHTTP2_NO_ERROR && self->ioError_.empty()) {
        self->ioError_ = std::string("stream reset: ") + nghttp2_http2_strerror(errorCode);
      }
    }
    return 0;
  }
};

ApnsProvider::ApnsProvider(ApnsOptions options)
    : options_(std::move(options)),
      jwt_(options_.keyFile, options_.keyId, options_.teamId),
      tls_(options_.caFile, std::string("\x02h2", 3)) {}

ApnsProvider::~ApnsProvider() { dropSession(); }

bool ApnsProvider::acceptsToken(const std::string& token) const {
  // APNs device tokens are hex (64 characters today; Apple says they may grow).
  if (token.size() < 16 || token.size() > 200 || token.size() % 2 != 0) return false;
  for (char c : token) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void ApnsProvider::dropSession() {
  current_ = nullptr;
  if (session_) {
    nghttp2_session_del(session_);
    session_ = nullptr;
  }
  transport_.reset();
}

bool ApnsProvider::ensureSession(int64_t deadlineMs, std::string* err) {
  if (session_ && (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_))) return true;
  dropSession();
  transport_ = Transport::connect(options_.host, options_.port, &tls_, deadlineMs, err);
  if (!transport_) return false;
  if (transport_->alpn() != "h2") {
    *err = options_.host + " did not agree to HTTP/2 (ALPN '" + transport_->alpn() + "')";
    transport_.reset();
    return false;
  }
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, &ApnsCallbacks::send);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &ApnsCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &ApnsCallbacks::onData);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &ApnsCallbacks::onClose);
  const int rv = nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    *err = std::string("nghttp2 session: ") + nghttp2_strerror(rv);
    session_ = nullptr;
    transport_.reset();
    return false;
  }
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  spdlog::info("apns: connected to {}:{} (HTTP/2)", options_.host, options_.port);
  return true;
}

Attempt ApnsProvider::attemptOnce(const Notification& n, const std::string& jwt, int64_t deadlineMs,
                                  bool* connectionFailed) {
  *connectionFailed = false;
  ioDeadlineMs_ = deadlineMs;
  ioError_.clear();
  Attempt a;
  a.result = Attempt::Result::kRetry;
  if (!ensureSession(deadlineMs, &a.reason)) return a;

  const std::string authority =
      options_.port == 443 ? options_.host : options_.host + ":" + std::to_string(options_.port);
  const std::string path = "/3/device/" + n.token;
  const std::string auth = "bearer " + jwt;
  const std::string expiration =
      std::to_string(options_.expirationSeconds > 0 ? static_cast<int64_t>(std::time(nullptr)) + options_.expirationSeconds
                                                    : 0);
  BodySource body{apnsPayload(n), 0};
  const std::string length = std::to_string(body.data.size());
  const std::string method = ":method", post = "POST", scheme = ":scheme", https = "https", authorityKey = ":authority",
                    pathKey = ":path", authKey = "authorization", topicKey = "apns-topic",
                    typeKey = "apns-push-type", type = n.silent ? "background" : "alert",
                    prioKey = "apns-priority", prio = n.silent ? "5" : "10", expKey = "apns-expiration",
                    ctKey = "content-type", ct = "application/json", clKey = "content-length";
  std::vector<nghttp2_nv> nva{header(method, post),        header(scheme, https),     header(authorityKey, authority),
                              header(pathKey, path),       header(authKey, auth),     header(topicKey, options_.topic),
                              header(typeKey, type),       header(prioKey, prio),     header(expKey, expiration),
                              header(ctKey, ct),           header(clKey, length)};
  nghttp2_data_provider provider{};
  provider.source.ptr = &body;
  provider.read_callback = &readBody;

  StreamState st;
  current_ = &st;
  st.id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
  if (st.id < 0) {
    a.reason = std::string("submit: ") + nghttp2_strerror(st.id);
    dropSession();
    return a;
  }
  uint8_t buf[16384];
  while (true) {
    if (int rv = nghttp2_session_send(session_); rv != 0) {
      a.reason = ioError_.empty() ? std::string("send: ") + nghttp2_strerror(rv) : ioError_;
      *connectionFailed = st.status == 0;
      dropSession();
      return a;
    }
    if (st.closed) break;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      a.reason = "connection closed by the server (GOAWAY)";
      *connectionFailed = st.status == 0;
      dropSession();
      return a;
    }
    std::string err;
    const ssize_t got = transport_->readSome(buf, sizeof buf, deadlineMs, &err);
    if (got <= 0) {
      a.reason = got == 0 ? "connection closed by the server" : err;
      *connectionFailed = got == 0 && st.status == 0;
      dropSession();
      return a;
    }
    if (ssize_t rv = nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(got)); rv < 0) {
      a.reason = std::string("HTTP/2 protocol error: ") + nghttp2_strerror(static_cast<int>(rv));
      dropSession();
      return a;
    }
  }
  current_ = nullptr;
  a.status = st.status;
  a.reason = reasonOf(st.body);
  if (st.status == 0) {
    a.reason = ioError_.empty() ? "stream closed without an answer" : ioError_;
  } else if (st.status == 200) {
    a.result = Attempt::Result::kDelivered;
  } else if (st.status == 410 || (st.status == 400 && (a.reason == "BadDeviceToken" || a.reason == "Unregistered" ||
                                                       a.reason == "DeviceTokenNotForTopic"))) {
    a.result = Attempt::Result::kInvalidToken;
  } else if (st.status == 429 || st.status >= 500) {
    a.result = Attempt::Result::kRetry;
  } else {
    a.result = Attempt::Result::kRejected;
  }
  return a;
}

Attempt ApnsProvider::deliver(const Notification& n) {
  const int64_t deadline = monoMs() + options_.timeoutMs;
  const bool reused = session_ != nullptr;
  bool connectionFailed = false;
  Attempt a = attemptOnce(n, jwt_.token(std::time(nullptr)), deadline, &connectionFailed);
  if (a.result == Attempt::Result::kRetry && reused && connectionFailed) {
    // The kept connection had gone stale (idle close, GOAWAY): once more on a fresh one.
    spdlog::debug("apns: kept connection unusable ({}), reconnecting", a.reason);
    a = attemptOnce(n, jwt_.token(std::time(nullptr)), deadline, &connectionFailed);
  }
  if (a.status == 403 && a.reason == "ExpiredProviderToken") {
    a = attemptOnce(n, jwt_.token(std::time(nullptr), true), deadline, &connectionFailed);
  }
  return a;
}

}  // namespace tt::push
