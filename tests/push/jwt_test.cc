// push_server/Jwt: the APNs provider token (ES256). Checked against OpenSSL's own verification of
// the signature, not against our signer's output.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "push_server/Jwt.h"

namespace tt::push {
namespace {

std::string base64UrlDecode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    throw std::invalid_argument("not base64url");
  };
  std::string out;
  int bits = 0;
  uint32_t acc = 0;  // only the low bits not yet emitted matter
  for (char c : in) {
    acc = ((acc << 6) | static_cast<uint32_t>(val(c))) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_.reset(EVP_EC_gen("P-256"));
    ASSERT_TRUE(key_);
    path_ = writeKey(key_.get(), "p256");
  }
  void TearDown() override {
    for (const auto& p : files_) ::unlink(p.c_str());
  }
  std::string writeKey(EVP_PKEY* key, const std::string& tag) {
    std::string path = ::testing::TempDir() + "jwt_test_" + tag + "_" + std::to_string(::getpid()) + ".p8";
    FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(PEM_write_PKCS8PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    std::fclose(f);
    files_.push_back(path);
    return path;
  }
  // Verifies the JWS signature (raw r||s) over "header.claims" with the public half of key_.
  bool verifies(const std::string& jwt) {
    const auto parts = split(jwt, '.');
    if (parts.size() != 3) return false;
    const std::string input = parts[0] + "." + parts[1];
    const std::string raw = base64UrlDecode(parts[2]);
    if (raw.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int derLen = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
                    EVP_DigestVerify(ctx, der, static_cast<size_t>(derLen),
                                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
  }

  Pkey key_;
  std::string path_;
  std::vector<std::string> files_;
};

TEST(Base64Url, KnownVectorsWithoutPadding) {
  EXPECT_EQ(base64Url(""), "");
  EXPECT_EQ(base64Url("f"), "Zg");
  EXPECT_EQ(base64Url("fo"), "Zm8");
  EXPECT_EQ(base64Url("foo"), "Zm9v");
  EXPECT_EQ(base64Url("foob"), "Zm9vYg");
  EXPECT_EQ(base64Url(std::string("\xfb\xff", 2)), "-_8");  // '+' and '/' are replaced
}

TEST_F(JwtTest, HeaderClaimsAndSignatureAreWhatApnsExpects) {
  JwtSigner signer(path_, "ABC123DEFG", "DEF123GHIJ");
  const std::string jwt = signer.sign(1700000000);
  const auto parts = split(jwt, '.');
  ASSERT_EQ(parts.size(), 3u);
  const auto header = nlohmann::json::parse(base64UrlDecode(parts[0]));
  EXPECT_EQ(header.at("alg"), "ES256");
  EXPECT_EQ(header.at("kid"), "ABC123DEFG");
  const auto claims = nlohmann::json::parse(base64UrlDecode(parts[1]));
  EXPECT_EQ(claims.at("iss"), "DEF123GHIJ");
  EXPECT_EQ(claims.at("iat"), 1700000000);
  EXPECT_TRUE(verifies(jwt));
  // A changed claim no longer verifies (the check can fail).
  std::string forged = base64Url(R"({"iss":"DEF123GHIJ","iat":1700000001})");
  EXPECT_FALSE(verifies(parts[0] + "." + forged + "." + parts[2]));
}

TEST_F(JwtTest, TokenIsCachedThenRenewed) {
  JwtSigner signer(path_, "K", "T", 3000);
  const std::string first = signer.token(1000);
  EXPECT_EQ(signer.token(1000 + 2999), first);
  const std::string renewed = signer.token(1000 + 3000);
  EXPECT_NE(renewed, first);
  EXPECT_EQ(nlohmann::json::parse(base64UrlDecode(split(renewed, '.')[1])).at("iat"), 4000);
  EXPECT_NE(signer.token(4001, /*force=*/true), renewed);
  EXPECT_TRUE(verifies(signer.token(4002)));
}

TEST_F(JwtTest, BadKeysAreRefusedNamingTheFile) {
  const std::string missing = ::testing::TempDir() + "no_such_key.p8";
  try {
    JwtSigner signer(missing, "K", "T");
    FAIL() << "a missing key file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  Pkey p384(EVP_EC_gen("P-384"));
  ASSERT_TRUE(p384);
  const std::string wrongCurve = writeKey(p384.get(), "p384");
  EXPECT_THROW(JwtSigner(wrongCurve, "K", "T"), std::runtime_error);
}

}  // namespace
}  // namespace tt::push
