#pragma once

// Stored password hashes for IMUser.password.
//
// The TeamTalk client never sends the password itself: it sends md5hex(plaintext), 32 lowercase
// hex characters (docs/PROTOCOL.md §3.12). That value is a password *equivalent* (anyone who has it can
// log in), so we treat it as the credential and never store it or anything fast to invert: the
// original stored md5hex(credential + 4-digit salt), which a GPU reverses in moments. We store a
// salted, slow PBKDF2-HMAC-SHA256 of the credential in a self-describing string
//
//   pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>
//
// (standard RFC 4648 Base64 with '=' padding, tt::codec::base64Encode in proto/ContentCodec.h,
// where md5Hex is too; 16-byte salt, 32-byte key). Because the iteration count travels with each
// hash, raising kDefaultIterations later only affects new hashes; old ones keep verifying. One
// verify costs ~32 ms of CPU (see kDefaultIterations), which is why the login path puts
// CredentialCache in front of it for reconnect storms.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tt::auth {

// 150,000 iterations. Measured on the development machine (2 vCPU, Debian 12, OpenSSL 3.0.19):
// one verify (32-byte credential, 16-byte salt) costs ~32 ms (0.22 us per iteration; 100,000
// took ~22 ms, 200,000 ~44 ms). PasswordHash.VerifyCost in tests/auth/password_hash_test.cc
// prints the figure for the machine it runs on. That keeps an offline attack on a leaked row
// slow while one db_proxy worker still manages ~30 cold logins/s; CredentialCache absorbs storms.
constexpr uint32_t kDefaultIterations = 150000;

// verifyCredential refuses stored strings with more iterations than this: a corrupted or hostile
// row must not be able to pin a worker thread for minutes.
constexpr uint32_t kMaxIterations = 10000000;

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

// The scheme tag that starts every stored string we produce.
inline constexpr std::string_view kSchemeTag = "pbkdf2-sha256";

// Hashes a credential (what the client sends: md5hex(plaintext)) with a fresh random salt.
// Returns "" only if the OpenSSL RNG or KDF fails, or iterations is 0 or above kMaxIterations;
// an empty stored value never verifies, so storing it by mistake locks the account rather than
// opening it.
std::string hashCredential(std::string_view credential, uint32_t iterations = kDefaultIterations);

// Same with a caller-chosen salt (raw bytes, 1..64 of them): for the demo data generator and for
// tests that compare against an independently computed value. Returns "" on the same failures
// and for an empty or over-long salt.
std::string hashCredentialWithSalt(std::string_view credential, std::string_view salt,
                                   uint32_t iterations = kDefaultIterations);

// True when `stored` is one of our strings and was made from `credential`. Compares the derived
// key in constant time. Never throws: malformed strings, unknown schemes, iteration counts of 0 or
// above kMaxIterations, bad Base64 and wrong key lengths all return false.
bool verifyCredential(std::string_view credential, std::string_view stored);

}  // namespace tt::auth
