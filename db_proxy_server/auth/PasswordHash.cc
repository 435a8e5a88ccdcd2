#include "db_proxy_server/auth/PasswordHash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <optional>

#include "proto/ContentCodec.h"

namespace tt::auth {
namespace {

constexpr size_t kMaxSaltBytes = 64;

// PBKDF2 into `key`; false if OpenSSL refuses (it takes int lengths, so guard the casts).
bool deriveKey(std::string_view credential, std::string_view salt, uint32_t iterations,
               std::array<unsigned char, kHashBytes>* key) {
  if (iterations == 0 || iterations > kMaxIterations) return false;
  if (salt.empty() || salt.size() > kMaxSaltBytes) return false;
  if (credential.size() > 4096) return false;  // a credential is 32 hex chars; refuse abuse
  return PKCS5_PBKDF2_HMAC(credential.data(), static_cast<int>(credential.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), static_cast<int>(iterations),
                           EVP_sha256(), static_cast<int>(key->size()), key->data()) == 1;
}

// Splits "a$b$c$d" into exactly four fields.
bool splitFields(std::string_view s, std::string_view (&fields)[4]) {
  for (int i = 0; i < 3; ++i) {
    const size_t pos = s.find('$');
    if (pos == std::string_view::npos) return false;
    fields[i] = s.substr(0, pos);
    s.remove_prefix(pos + 1);
  }
  if (s.find('$') != std::string_view::npos) return false;
  fields[3] = s;
  return true;
}

// Decimal digits only (no sign, no spaces, no leading zero), within 1..kMaxIterations.
bool parseIterations(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 10 || text[0] == '0') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (value == 0 || value > kMaxIterations) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

}  // namespace

std::string hashCredentialWithSalt(std::string_view credential, std::string_view salt,
                                   uint32_t iterations) {
  std::array<unsigned char, kHashBytes> key{};
  if (!deriveKey(credential, salt, iterations, &key)) return {};
  std::string out(kSchemeTag);
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += codec::base64Encode(salt);
  out += '$';
  out += codec::base64Encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

std::string hashCredential(std::string_view credential, uint32_t iterations) {
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return {};
  return hashCredentialWithSalt(
      credential, std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()),
      iterations);
}

bool verifyCredential(std::string_view credential, std::string_view stored) {
  // Our strings are ~100 bytes; anything much longer is not one of them.
  if (stored.size() > 512) return false;
  std::string_view fields[4];
  if (!splitFields(stored, fields)) return false;
  if (fields[0] != kSchemeTag) return false;
  uint32_t iterations = 0;
  if (!parseIterations(fields[1], &iterations)) return false;
  const std::optional<std::string> salt = codec::base64Decode(fields[2]);
  const std::optional<std::string> expected = codec::base64Decode(fields[3]);
  if (!salt || !expected) return false;
  if (expected->size() != kHashBytes) return false;

  std::array<unsigned char, kHashBytes> key{};
  if (!deriveKey(credential, *salt, iterations, &key)) return false;
  const bool same = CRYPTO_memcmp(key.data(), expected->data(), kHashBytes) == 0;
  OPENSSL_cleanse(key.data(), key.size());
  return same;
}

}  // namespace tt::auth
