#pragma once
// The APNs provider token: a JWT signed ES256 with the team's .p8 key (EC P-256, PKCS#8 PEM).
//   header {"alg":"ES256","kid":<key id>}   claims {"iss":<team id>,"iat":<unix seconds>}
// The ECDSA signature OpenSSL makes is DER; JWS wants the raw r||s (32 + 32 bytes), base64url.
// Apple refuses tokens older than an hour and also ones refreshed more than every 20 minutes, so
// the token is cached and renewed after refreshSeconds (50 minutes by default).
#include <openssl/evp.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace tt::push {

std::string base64Url(std::string_view bytes);

class JwtSigner {
 public:
  // Throws std::runtime_error naming the file if it cannot be read or is not an EC P-256 key.
  JwtSigner(const std::string& keyFile, std::string keyId, std::string teamId, int64_t refreshSeconds = 3000);
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  // The cached token, renewed when older than refreshSeconds (or when force is set, e.g. after
  // APNs answered ExpiredProviderToken). Thread-safe.
  std::string token(int64_t nowUnix, bool force = false);
  // A fresh signed token for iat (no caching); exposed for tests.
  std::string sign(int64_t iat) const;

 private:
  EVP_PKEY* key_ = nullptr;
  std::string keyId_, teamId_;
  int64_t refreshSeconds_;
  std::mutex mutex_;
  std::string cached_;     // guarded by mutex_
  int64_t cachedIat_ = 0;  // guarded by mutex_
};

}  // namespace tt::push
