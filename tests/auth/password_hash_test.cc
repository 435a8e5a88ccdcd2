// ttauth: stored password hashes, the verified-credential cache and the login failure throttle.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db_proxy_server/auth/CredentialCache.h"
#include "db_proxy_server/auth/LoginThrottle.h"
#include "db_proxy_server/auth/PasswordHash.h"
#include "proto/ContentCodec.h"

namespace tt::auth {
namespace {

using codec::md5Hex;  // what a TeamTalk client sends (proto/ContentCodec.h; tested in tests/unit)

// md5hex("ttsuite"): what a TeamTalk client sends for the demo password.
//   python3 -c 'import hashlib; print(hashlib.md5(b"ttsuite").hexdigest())'
constexpr char kDemoCredential[] = "ce610a8a8a0c5e8ed0b26b38b8b8733d";

// Test iterations: enough to exercise the KDF, cheap enough to run many times.
constexpr uint32_t kFast = 1000;

TEST(PasswordHash, RightAndWrongCredential) {
  const std::string stored = hashCredential(kDemoCredential, kFast);
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.rfind("pbkdf2-sha256$1000$", 0), 0u) << stored;
  EXPECT_TRUE(verifyCredential(kDemoCredential, stored));
  EXPECT_FALSE(verifyCredential(md5Hex("ttsuitf"), stored));
  EXPECT_FALSE(verifyCredential("", stored));
  EXPECT_FALSE(verifyCredential("ttsuite", stored));  // the plaintext is not the credential
  EXPECT_FALSE(verifyCredential("CE610A8A8A0C5E8ED0B26B38B8B8733D", stored));  // byte-exact
}

TEST(PasswordHash, DefaultIterationsAreUsedAndVerify) {
  const std::string stored = hashCredential(kDemoCredential);
  EXPECT_EQ(stored.rfind("pbkdf2-sha256$" + std::to_string(kDefaultIterations) + "$", 0), 0u);
  EXPECT_TRUE(verifyCredential(kDemoCredential, stored));
}

TEST(PasswordHash, SaltMakesEveryHashDifferent) {
  const std::string a = hashCredential(kDemoCredential, kFast);
  const std::string b = hashCredential(kDemoCredential, kFast);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verifyCredential(kDemoCredential, a));
  EXPECT_TRUE(verifyCredential(kDemoCredential, b));
}

// Expected values computed independently of this code, with Python's hashlib:
//   python3 -c 'import hashlib,base64; c=b"ce610a8a8a0c5e8ed0b26b38b8b8733d"; s=b"ttsuite-demo-u07";
//     print(base64.b64encode(hashlib.pbkdf2_hmac("sha256", c, s, 1000)).decode())'
// and cross-checked with OpenSSL's command line:
//   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:ce610a8a8a0c5e8ed0b26b38b8b8733d
//     -kdfopt salt:ttsuite-demo-u07 -kdfopt iter:1000 PBKDF2 | tr -d : | xxd -r -p | base64
//   (one command line)
TEST(PasswordHash, KnownSaltGivesKnownValue) {
  EXPECT_EQ(hashCredentialWithSalt(kDemoCredential, "ttsuite-demo-u07", 1000),
            "pbkdf2-sha256$1000$dHRzdWl0ZS1kZW1vLXUwNw==$"
            "zmOfooa+fqB5Pmue5UzPFB56D3ngLDyjgejIV22T9QU=");
  // Same tool, salt bytes 00..0f, one iteration.
  std::string salt;
  for (int i = 0; i < 16; ++i) salt.push_back(static_cast<char>(i));
  EXPECT_EQ(hashCredentialWithSalt(kDemoCredential, salt, 1),
            "pbkdf2-sha256$1$AAECAwQFBgcICQoLDA0ODw==$"
            "occvqqqiLj8gYXThXEaPvCy3Ii0ap7krBoX47jrnCWo=");
  // user07's row in db_proxy_server/sql/demo/001_demo.sql (150000 iterations, same salt;
  // the Python line above with 150000 prints the key part).
  EXPECT_TRUE(verifyCredential(kDemoCredential,
                               "pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwNw==$"
                               "nFlZxe+o+QPw/iTITQaa7mM9oyaBPgF60Emx+1I1EG8="));
}

TEST(PasswordHash, RefusesBadInputsWhenHashing) {
  EXPECT_EQ(hashCredential(kDemoCredential, 0), "");
  EXPECT_EQ(hashCredential(kDemoCredential, kMaxIterations + 1), "");
  EXPECT_EQ(hashCredentialWithSalt(kDemoCredential, "", kFast), "");
  EXPECT_EQ(hashCredentialWithSalt(kDemoCredential, std::string(65, 's'), kFast), "");
}

TEST(PasswordHash, MalformedStoredStringsNeverVerify) {
  const std::string good = hashCredentialWithSalt(kDemoCredential, "ttsuite-demo-u07", 1000);
  ASSERT_TRUE(verifyCredential(kDemoCredential, good));
  const std::string salt = "dHRzdWl0ZS1kZW1vLXUwNw==";
  const std::string key = "zmOfooa+fqB5Pmue5UzPFB56D3ngLDyjgejIV22T9QU=";
  const std::vector<std::string> bad = {
      "",
      "$$$",
      "pbkdf2-sha256",
      "pbkdf2-sha256$1000$" + salt,                          // three fields
      good + "$",                                            // five fields
      good + "$extra",
      "pbkdf2-sha1$1000$" + salt + "$" + key,                // unknown scheme
      "PBKDF2-SHA256$1000$" + salt + "$" + key,              // scheme is case-sensitive
      "bcrypt$1000$" + salt + "$" + key,
      "pbkdf2-sha256$0$" + salt + "$" + key,                 // zero iterations
      "pbkdf2-sha256$-1000$" + salt + "$" + key,
      "pbkdf2-sha256$+1000$" + salt + "$" + key,
      "pbkdf2-sha256$ 1000$" + salt + "$" + key,
      "pbkdf2-sha256$01000$" + salt + "$" + key,
      "pbkdf2-sha256$1000x$" + salt + "$" + key,
      "pbkdf2-sha256$$" + salt + "$" + key,
      "pbkdf2-sha256$10000001$" + salt + "$" + key,          // absurd: would pin a worker
      "pbkdf2-sha256$4294967295$" + salt + "$" + key,
      "pbkdf2-sha256$99999999999999999999$" + salt + "$" + key,
      "pbkdf2-sha256$1000$$" + key,                          // empty salt
      "pbkdf2-sha256$1000$dHRzdWl0ZS1kZW1vLXUwNw=$" + key,   // bad Base64 length
      "pbkdf2-sha256$1000$dHRzdWl0ZS1kZW1vLXUwN!==$" + key,  // outside the alphabet
      "pbkdf2-sha256$1000$" + salt + "$",                    // empty key
      "pbkdf2-sha256$1000$" + salt + "$" + key.substr(0, 40),
      "pbkdf2-sha256$1000$" + salt + "$zmOfooa+fqB5Pmue5UzPFB56D3ngLDyjgejIV22T9Q==",  // 31 bytes
      "pbkdf2-sha256$1000$" + salt + "$" + key + "AAAA",     // 35 bytes
      "pbkdf2-sha256$1000$" + salt + "$" + "ZmOfooa+fqB5Pmue5UzPFB56D3ngLDyjgejIV22T9QU=",  // 1 bit
      "ce610a8a8a0c5e8ed0b26b38b8b8733d",                    // a bare credential
      "8c3e2f0d6d8b5f1e2a4c7b9d0e1f2a3b",                    // the original's md5(md5+salt)
      good + std::string(600, 'A'),                          // over-long
      std::string("pbkdf2-sha256\0$1000$", 20) + salt + "$" + key,
  };
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& s : bad) {
    EXPECT_FALSE(verifyCredential(kDemoCredential, s)) << s;
  }
  // None of them may have run a big KDF.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// Prints what one verify at kDefaultIterations costs here; fails if it became suspiciously cheap
// (someone cut the iteration count) or absurdly slow.
TEST(PasswordHash, VerifyCost) {
  const std::string stored = hashCredential(kDemoCredential);
  ASSERT_FALSE(stored.empty());
  constexpr int kRounds = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) ASSERT_TRUE(verifyCredential(kDemoCredential, stored));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      kRounds;
  std::printf("verifyCredential at %u iterations: %.1f ms\n", kDefaultIterations, ms);
  RecordProperty("verify_ms", std::to_string(ms));
  EXPECT_GT(ms, 5.0);
  EXPECT_LT(ms, 1000.0);
}

// Every demo user's stored hash must verify for the demo password, or `run.sh --demo` logins fail.
TEST(DemoData, EveryDemoUserVerifies) {
  std::ifstream in(std::string(TT_SOURCE_DIR) + "/db_proxy_server/sql/demo/001_demo.sql");
  ASSERT_TRUE(in) << "cannot open the demo SQL";
  std::stringstream text;
  text << in.rdbuf();
  const std::string sql = text.str();
  const std::regex row(R"('(user\d\d)',[^\n]*'(pbkdf2-sha256\$[^']+)')");
  int users = 0;
  for (std::sregex_iterator it(sql.begin(), sql.end(), row), end; it != end; ++it) {
    ++users;
    EXPECT_TRUE(verifyCredential(md5Hex("ttsuite"), (*it)[2].str())) << (*it)[1].str();
    EXPECT_FALSE(verifyCredential(md5Hex("wrong"), (*it)[2].str())) << (*it)[1].str();
  }
  EXPECT_EQ(users, 20);
}

// --- CredentialCache ---------------------------------------------------------------------------

class CredentialCacheTest : public ::testing::Test {
 protected:
  CredentialCache::Options options() {
    CredentialCache::Options o;
    o.ttlMs = 10 * 60 * 1000;
    o.maxEntries = 100;
    return o;
  }
  int64_t now_ = 1000000;
  CredentialCache::Clock clock() {
    return [this] { return now_; };
  }
};

TEST_F(CredentialCacheTest, HitAfterRememberMissOtherwise) {
  CredentialCache cache(options(), clock());
  const std::string stored = "pbkdf2-sha256$1$AAAA$BBBB";
  EXPECT_FALSE(cache.check("user01", kDemoCredential, stored));
  cache.remember("user01", kDemoCredential, stored);
  EXPECT_TRUE(cache.check("user01", kDemoCredential, stored));
  EXPECT_FALSE(cache.check("user01", md5Hex("other"), stored));  // wrong credential
  EXPECT_FALSE(cache.check("user02", kDemoCredential, stored));  // same credential, other user
  EXPECT_FALSE(cache.check("User01", kDemoCredential, stored));  // names are byte-exact
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(CredentialCacheTest, MissAfterTtl) {
  CredentialCache cache(options(), clock());
  cache.remember("user01", kDemoCredential, "h");
  now_ += 10 * 60 * 1000 - 1;
  EXPECT_TRUE(cache.check("user01", kDemoCredential, "h"));
  // check() does not extend the entry.
  now_ += 1;
  EXPECT_FALSE(cache.check("user01", kDemoCredential, "h"));
  EXPECT_EQ(cache.size(), 0u);  // the expired entry went away on the miss
  // A new verify starts a new period.
  cache.remember("user01", kDemoCredential, "h");
  EXPECT_TRUE(cache.check("user01", kDemoCredential, "h"));
}

TEST_F(CredentialCacheTest, MissAfterStoredHashChanges) {
  CredentialCache cache(options(), clock());
  const std::string oldHash = hashCredential(kDemoCredential, kFast);
  cache.remember("user01", kDemoCredential, oldHash);
  ASSERT_TRUE(cache.check("user01", kDemoCredential, oldHash));
  // The password was changed (or reset to the same password: new salt, new string).
  const std::string newHash = hashCredential(kDemoCredential, kFast);
  EXPECT_FALSE(cache.check("user01", kDemoCredential, newHash));
  cache.remember("user01", kDemoCredential, newHash);
  EXPECT_TRUE(cache.check("user01", kDemoCredential, newHash));
  EXPECT_FALSE(cache.check("user01", kDemoCredential, oldHash));
  EXPECT_EQ(cache.size(), 1u);  // same key: the entry was replaced, not added
}

TEST_F(CredentialCacheTest, KeyIsNotTheCredential) {
  CredentialCache cache(options(), clock());
  CredentialCache other(options(), clock());
  const std::string stored = hashCredential(kDemoCredential, kFast);
  cache.remember("user07", kDemoCredential, stored);
  other.remember("user07", kDemoCredential, stored);
  const auto entries = cache.entriesForTesting();
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.key.size(), 32u);
  const std::string credential = kDemoCredential;
  const std::string rawMd5 = [&] {  // the credential's 16 raw bytes
    std::string raw;
    for (size_t i = 0; i < credential.size(); i += 2) {
      raw.push_back(static_cast<char>(std::stoi(credential.substr(i, 2), nullptr, 16)));
    }
    return raw;
  }();
  for (const std::string* field : {&e.key, &e.user, &e.storedHash}) {
    EXPECT_EQ(field->find(credential), std::string::npos);
    EXPECT_EQ(field->find(rawMd5), std::string::npos);
  }
  EXPECT_NE(e.key, md5Hex("user07" + std::string(1, '\0') + credential));
  // The HMAC secret is per process (per cache): the same input gives another key elsewhere.
  const auto otherEntries = other.entriesForTesting();
  ASSERT_EQ(otherEntries.size(), 1u);
  EXPECT_NE(otherEntries[0].key, e.key);
}

TEST_F(CredentialCacheTest, ForgetDropsOnlyThatUser) {
  CredentialCache cache(options(), clock());
  cache.remember("user01", kDemoCredential, "h1");
  cache.remember("user01", md5Hex("second"), "h1");
  cache.remember("user02", kDemoCredential, "h2");
  cache.forget("user01");
  EXPECT_FALSE(cache.check("user01", kDemoCredential, "h1"));
  EXPECT_FALSE(cache.check("user01", md5Hex("second"), "h1"));
  EXPECT_TRUE(cache.check("user02", kDemoCredential, "h2"));
  EXPECT_EQ(cache.size(), 1u);
  cache.forget("nobody");
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(CredentialCacheTest, BoundedSizeEvictsOldest) {
  auto o = options();
  o.maxEntries = 3;
  CredentialCache cache(o, clock());
  for (int i = 1; i <= 4; ++i) {
    cache.remember("user0" + std::to_string(i), kDemoCredential, "h");
    now_ += 1000;
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.check("user01", kDemoCredential, "h"));
  EXPECT_TRUE(cache.check("user02", kDemoCredential, "h"));
  EXPECT_TRUE(cache.check("user04", kDemoCredential, "h"));
  // Re-verifying makes an entry the youngest again.
  cache.remember("user02", kDemoCredential, "h");
  cache.remember("user05", kDemoCredential, "h");
  EXPECT_TRUE(cache.check("user02", kDemoCredential, "h"));
  EXPECT_FALSE(cache.check("user03", kDemoCredential, "h"));
}

TEST_F(CredentialCacheTest, ExpiredEntriesAreReclaimedWithoutBeingChecked) {
  CredentialCache cache(options(), clock());
  for (int i = 0; i < 50; ++i) cache.remember("u" + std::to_string(i), kDemoCredential, "h");
  EXPECT_EQ(cache.size(), 50u);
  now_ += 10 * 60 * 1000;
  cache.remember("late", kDemoCredential, "h");
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(CredentialCacheTest, ConcurrentUseIsSafe) {
  CredentialCache cache;  // real clock, default options
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string user = "user" + std::to_string((i + t) % 50);
        if (cache.check(user, kDemoCredential, "h")) ++hits;
        cache.remember(user, kDemoCredential, "h");
        if (i % 97 == 0) cache.forget(user);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.size(), 50u);
}

// --- LoginThrottle -----------------------------------------------------------------------------

class LoginThrottleTest : public ::testing::Test {
 protected:
  static constexpr int64_t kMinute = 60 * 1000;
  int64_t now_ = 5000000;
  LoginThrottle::Clock clock() {
    return [this] { return now_; };
  }
};

TEST_F(LoginThrottleTest, TenFailuresAllowedEleventhRefuses) {
  LoginThrottle throttle(LoginThrottle::Options{}, clock());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(throttle.allowed("user01")) << i;
    throttle.recordFailure("user01");
    now_ += 1000;
  }
  EXPECT_TRUE(throttle.allowed("user01"));  // 10 failures: still "not more than 10"
  throttle.recordFailure("user01");         // the 11th failure
  EXPECT_FALSE(throttle.allowed("user01"));
  EXPECT_EQ(throttle.failures("user01"), 11u);
  EXPECT_TRUE(throttle.allowed("user02"));  // per name
  EXPECT_TRUE(throttle.allowed("User01"));  // byte-exact, like IMUser.name
}

TEST_F(LoginThrottleTest, SuccessClearsFailures) {
  LoginThrottle throttle(LoginThrottle::Options{}, clock());
  for (int i = 0; i < 10; ++i) throttle.recordFailure("user01");
  throttle.recordSuccess("user01");
  EXPECT_EQ(throttle.failures("user01"), 0u);
  EXPECT_EQ(throttle.trackedNames(), 0u);
  for (int i = 0; i < 10; ++i) throttle.recordFailure("user01");
  EXPECT_TRUE(throttle.allowed("user01"));  // counting started again
}

TEST_F(LoginThrottleTest, WindowExpiry) {
  LoginThrottle throttle(LoginThrottle::Options{}, clock());
  const int64_t first = now_;
  throttle.recordFailure("user01");          // t = 0
  now_ += 10 * kMinute;
  for (int i = 0; i < 10; ++i) throttle.recordFailure("user01");  // t = 10 min
  EXPECT_FALSE(throttle.allowed("user01"));
  // A failure exactly 30 minutes old still counts (the original drops only older ones).
  now_ = first + 30 * kMinute;
  EXPECT_FALSE(throttle.allowed("user01"));
  // Once the first failure leaves the window only 10 remain: attempts are allowed again.
  now_ = first + 30 * kMinute + 1;
  EXPECT_TRUE(throttle.allowed("user01"));
  EXPECT_EQ(throttle.failures("user01"), 10u);
  // And once all of them are older than 30 minutes the name is forgotten.
  now_ = first + 40 * kMinute + 1;
  EXPECT_TRUE(throttle.allowed("user01"));
  EXPECT_EQ(throttle.trackedNames(), 0u);
}

TEST_F(LoginThrottleTest, RefusedWhileFailuresKeepComing) {
  LoginThrottle throttle(LoginThrottle::Options{}, clock());
  // A steady guesser: one failure a minute keeps 30 in the window, so it stays refused; only
  // maxFailures + 1 timestamps are kept per name.
  for (int i = 0; i < 100; ++i) {
    throttle.recordFailure("victim");
    now_ += kMinute;
  }
  EXPECT_FALSE(throttle.allowed("victim"));
  EXPECT_EQ(throttle.failures("victim"), 11u);
}

TEST_F(LoginThrottleTest, MemoryIsBounded) {
  LoginThrottle::Options o;
  o.maxNames = 100;
  LoginThrottle throttle(o, clock());
  for (int i = 0; i < 1000; ++i) throttle.recordFailure("name" + std::to_string(i));
  EXPECT_EQ(throttle.trackedNames(), 100u);
  EXPECT_EQ(throttle.failures("name999"), 1u);  // the newest survive
  EXPECT_EQ(throttle.failures("name0"), 0u);
  // Names whose failures left the window are dropped on the next failure anywhere.
  now_ += 31 * kMinute;
  throttle.recordFailure("fresh");
  EXPECT_EQ(throttle.trackedNames(), 1u);
}

TEST_F(LoginThrottleTest, ConcurrentUseIsSafe) {
  LoginThrottle throttle;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::string user = "user" + std::to_string((i * 7 + t) % 20);
        if (throttle.allowed(user)) throttle.recordFailure(user);
        if (i % 50 == 0) throttle.recordSuccess(user);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(throttle.trackedNames(), 20u);
}

}  // namespace
}  // namespace tt::auth
