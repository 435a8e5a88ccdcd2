#pragma once
// Apple Push Notification service over HTTP/2 (RFC 7540, ALPN "h2") with token authentication:
//   POST /3/device/<hex token>   authorization: bearer <ES256 JWT>   apns-topic, apns-push-type,
//   apns-priority, apns-expiration;  body {"aps":{...},"custom":<data>}
// One HTTP/2 connection is kept open and reused for every notification (one stream each), as
// Apple asks; it is re-made after an error, a GOAWAY or an idle close by the server.
// Answers: 200 delivered; 410, or 400 BadDeviceToken / Unregistered / DeviceTokenNotForTopic
// -> invalid token; 403 ExpiredProviderToken -> new JWT and retry; 429 / 5xx / no answer -> retry;
// other 4xx -> rejected.
#include <nghttp2/nghttp2.h>

#include <memory>
#include <string>

#include "push_server/Jwt.h"
#include "push_server/Provider.h"
#include "push_server/Transport.h"

namespace tt::push {

struct ApnsOptions {
  std::string host = "api.push.apple.com";  // sandbox: api.sandbox.push.apple.com
  uint16_t port = 443;
  std::string keyFile, keyId, teamId, topic;
  std::string caFile;  // empty = system trust store
  int64_t timeoutMs = 10000;
  int64_t expirationSeconds = 3600;  // apns-expiration = now + this (0 = deliver now or never)
};

// The APNs JSON body for a notification (exposed for tests).
std::string apnsPayload(const Notification& n);

class ApnsProvider : public Provider {
 public:
  explicit ApnsProvider(ApnsOptions options);  // throws std::runtime_error (key, CA file)
  ~ApnsProvider() override;

  const std::string& name() const override { return name_; }
  Attempt deliver(const Notification& n) override;
  bool acceptsToken(const std::string& token) const override;

  struct StreamState {
    int32_t id = -1;
    int status = 0;
    std::string body;  // first 4 KiB of the answer (APNs sends {"reason":...})
    bool closed = false;
  };

 private:
  friend struct ApnsCallbacks;
  bool ensureSession(int64_t deadlineMs, std::string* err);
  void dropSession();
  Attempt attemptOnce(const Notification& n, const std::string& jwt, int64_t deadlineMs, bool* connectionFailed);

  std::string name_ = "apns";
  ApnsOptions options_;
  JwtSigner jwt_;
  TlsContext tls_;
  std::unique_ptr<Transport> transport_;
  nghttp2_session* session_ = nullptr;
  // What the nghttp2 callbacks work with during one attempt (worker thread only).
  int64_t ioDeadlineMs_ = 0;
  std::string ioError_;
  StreamState* current_ = nullptr;
};

}  // namespace tt::push
