#include "push_server/Jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tt::push {

std::string base64Url(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;  // no padding in JWS
}

JwtSigner::JwtSigner(const std::string& keyFile, std::string keyId, std::string teamId, int64_t refreshSeconds)
    : keyId_(std::move(keyId)), teamId_(std::move(teamId)), refreshSeconds_(refreshSeconds) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(keyFile.c_str(), "r"), &std::fclose);
  if (!f) throw std::runtime_error("cannot read APNs key file " + keyFile);
  key_ = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
  if (!key_) throw std::runtime_error("APNs key file " + keyFile + " is not a PEM (PKCS#8 .p8) private key");
  if (EVP_PKEY_get_base_id(key_) != EVP_PKEY_EC || EVP_PKEY_get_bits(key_) != 256) {
    EVP_PKEY_free(key_);
    key_ = nullptr;
    throw std::runtime_error("APNs key file " + keyFile + " is not an EC P-256 key (ES256 needs one)");
  }
}

JwtSigner::~JwtSigner() { EVP_PKEY_free(key_); }

std::string JwtSigner::sign(int64_t iat) const {
  const std::string header = nlohmann::json{{"alg", "ES256"}, {"kid", keyId_}}.dump();
  const std::string claims = nlohmann::json{{"iss", teamId_}, {"iat", iat}}.dump();
  const std::string input = base64Url(header) + "." + base64Url(claims);

  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t derLen = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &derLen, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    throw std::runtime_error("ES256 signing failed");
  }
  std::string der(derLen, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &derLen,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("ES256 signing failed");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, void (*)(ECDSA_SIG*)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(derLen)),
                                                       &ECDSA_SIG_free);
  if (!sig) throw std::runtime_error("ES256 signature is not DER");
  unsigned char raw[64];
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + 32, 32) != 32) {
    throw std::runtime_error("ES256 signature component too long");
  }
  return input + "." + base64Url(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string JwtSigner::token(int64_t nowUnix, bool force) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (force || cached_.empty() || nowUnix - cachedIat_ >= refreshSeconds_ || nowUnix < cachedIat_) {
    cached_ = sign(nowUnix);
    cachedIat_ = nowUnix;
  }
  return cached_;
}

}  // namespace tt::push
