#include "proto/ContentCodec.h"

#include <openssl/evp.h>

#include <cstdint>
#include <memory>

namespace tt::codec {

namespace {

constexpr size_t kBlock = 16;
constexpr size_t kKeyLen = 32;

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// One pass of AES-256-ECB without OpenSSL's padding: in.size() must be a multiple of 16.
bool aesEcb(bool encrypt, std::string_view key, std::string_view in, std::string* out) {
  if (key.size() != kKeyLen || in.size() % kBlock != 0) return false;
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, k, nullptr, encrypt ? 1 : 0) != 1) return false;
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  out->assign(in.size(), '\0');
  int n = 0;
  int tail = 0;
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  if (EVP_CipherUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1)
    return false;
  if (EVP_CipherFinal_ex(ctx.get(), o + n, &tail) != 1) return false;
  return static_cast<size_t>(n + tail) == in.size();
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

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    int v[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = base64Value(text[i + k]);
      if (v[k] < 0) return std::nullopt;  // outside the alphabet, or '=' before the last group's end
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += char((n >> 16) & 0xff);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
    // Canonical form only: the bits that padding drops must be zero.
    if (pad == 2 && (n & 0xffff) != 0) return std::nullopt;
    if (pad == 1 && (n & 0xff) != 0) return std::nullopt;
  }
  return out;
}

std::string encryptText(std::string_view plain, std::string_view key) {
  if (key.size() != kKeyLen || plain.size() > UINT32_MAX) return {};
  // ceil(len/16) blocks, plus one when the length trailer would not fit behind the text
  // (len % 16 > 12) or the text fills its last block exactly (len % 16 == 0, including len 0).
  const size_t remain = plain.size() % kBlock;
  size_t blocks = (plain.size() + kBlock - 1) / kBlock;
  if (remain == 0 || remain > 12) ++blocks;
  std::string padded(blocks * kBlock, '\0');
  padded.replace(0, plain.size(), plain);
  const auto len = static_cast<uint32_t>(plain.size());
  const size_t t = padded.size() - 4;
  padded[t] = static_cast<char>(len >> 24);
  padded[t + 1] = static_cast<char>(len >> 16);
  padded[t + 2] = static_cast<char>(len >> 8);
  padded[t + 3] = static_cast<char>(len);
  std::string cipher;
  if (!aesEcb(true, key, padded, &cipher)) return {};
  return base64Encode(cipher);
}

std::optional<std::string> decryptText(std::string_view base64, std::string_view key) {
  auto cipher = base64Decode(base64);
  if (!cipher || cipher->empty() || cipher->size() % kBlock != 0) return std::nullopt;
  std::string plain;
  if (!aesEcb(false, key, *cipher, &plain)) return std::nullopt;
  const size_t t = plain.size() - 4;
  const uint32_t len = (uint32_t{static_cast<unsigned char>(plain[t])} << 24) |
                       (uint32_t{static_cast<unsigned char>(plain[t + 1])} << 16) |
                       (uint32_t{static_cast<unsigned char>(plain[t + 2])} << 8) |
                       uint32_t{static_cast<unsigned char>(plain[t + 3])};
  // A correct encoder never lets the text reach the trailer.
  if (len > t) return std::nullopt;
  plain.resize(len);
  return plain;
}

std::string md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &n, EVP_md5(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

}  // namespace tt::codec
