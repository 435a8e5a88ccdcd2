#include "db_proxy_server/auth/PasswordHash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>

namespace tt::auth {
namespace {

constexpr size_t kMaxSaltBytes = 64;
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

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

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                       uint32_t(uint8_t(bytes[i + 2]));
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64Decode(std::string_view text, std::string* bytes) {
  if (text.size() % 4 != 0) return false;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    int v[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = base64Value(text[i + k]);
      if (v[k] < 0) return false;
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                       uint32_t(v[3]);
    out += char((n >> 16) & 0xff);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
    // Canonical form only: the bits that padding drops must be zero.
    if (pad == 2 && (n & 0xffff) != 0) return false;
    if (pad == 1 && (n & 0xff) != 0) return false;
  }
  *bytes = std::move(out);
  return true;
}

std::string hashCredentialWithSalt(std::string_view credential, std::string_view salt,
                                   uint32_t iterations) {
  std::array<unsigned char, kHashBytes> key{};
  if (!deriveKey(credential, salt, iterations, &key)) return {};
  std::string out(kSchemeTag);
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += base64Encode(salt);
  out += '$';
  out += base64Encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
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
  std::string salt;
  std::string expected;
  if (!base64Decode(fields[2], &salt) || !base64Decode(fields[3], &expected)) return false;
  if (expected.size() != kHashBytes) return false;

  std::array<unsigned char, kHashBytes> key{};
  if (!deriveKey(credential, salt, iterations, &key)) return false;
  const bool same = CRYPTO_memcmp(key.data(), expected.data(), kHashBytes) == 0;
  OPENSSL_cleanse(key.data(), key.size());
  return same;
}

std::string md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace tt::auth
