#pragma once
// A generic webhook: each notification is one HTTP/1.1 POST (http:// plain, https:// through
// OpenSSL with the peer verified) of a JSON body
//   {"user_id":..,"client_type":..,"token":"..","title":"..","body":"..","badge":..,"silent":..,"data":{..}}
// to a fixed URL, for a gateway of the operator's choice (FCM relay, an Android push service, a
// bot). 2xx delivered; 410 invalid token; 429 / 5xx / no answer retried; other answers rejected.
// One connection per request ("Connection: close"): webhooks are low volume and this keeps a
// half-broken gateway from poisoning later requests.
#include <memory>
#include <optional>
#include <string>

#include "push_server/Provider.h"
#include "push_server/Transport.h"

namespace tt::push {

struct Url {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string path = "/";
  // http://host[:port][/path] or https://...; nullopt if it is not such a URL.
  static std::optional<Url> parse(const std::string& text);
};

struct WebhookOptions {
  Url url;
  std::string caFile;  // https only; empty = system trust store
  int64_t timeoutMs = 10000;
};

std::string webhookPayload(const Notification& n);

// The status code of an HTTP/1.x response head ("HTTP/1.1 410 Gone"), 0 if malformed.
int parseStatusLine(const std::string& response);

class WebhookProvider : public Provider {
 public:
  explicit WebhookProvider(WebhookOptions options);  // throws std::runtime_error (CA file)
  const std::string& name() const override { return name_; }
  Attempt deliver(const Notification& n) override;
  bool acceptsToken(const std::string& token) const override { return !token.empty() && token.size() <= 4096; }

 private:
  std::string name_ = "webhook";
  WebhookOptions options_;
  std::unique_ptr<TlsContext> tls_;
};

}  // namespace tt::push
