#pragma once
// TeamTalk's content encodings (docs/PROTOCOL.md §3.12), exactly as every TeamTalk client does them:
//  - text msg_data: AES-256-ECB over the zero-padded plaintext whose last block ends with the
//    plaintext length (uint32 BE), then Base64 without newlines;
//  - passwords: lowercase md5 hex of the plaintext (what IMLoginReq.password carries).
//
// Part of ttcommon (proto/CMakeLists.txt): msg_server decrypts text for push alerts, db_proxy's
// password hashing uses the Base64, the client library (tools/client) and the tests encrypt,
// decrypt and hash passwords. One implementation for all of them, so a daemon never includes
// anything under tools/.
#include <optional>
#include <string>
#include <string_view>

namespace tt::codec {

// The key every shipped TeamTalk client hard-codes (msgserver.conf aesKey must match it).
inline constexpr std::string_view kDefaultAesKey = "12345678901234567890123456789012";

// Base64 text of the encrypted plaintext. A key that is not exactly 32 bytes yields "" (nothing
// can be encrypted with it; callers treat "" as failure since real output is never empty).
std::string encryptText(std::string_view plain, std::string_view key = kDefaultAesKey);

// The plaintext, or nullopt when the input is not canonical Base64 (see base64Decode), not whole
// AES blocks, or the length trailer is impossible (garbage, a wrong key, or an audio body).
// Never throws.
std::optional<std::string> decryptText(std::string_view base64, std::string_view key = kDefaultAesKey);

// md5 of the bytes as 32 lowercase hex characters: what a TeamTalk client sends for a password
// ("" only if OpenSSL fails). The servers never compute it on the login path; tools, demo data
// and tests do.
std::string md5Hex(std::string_view data);

// RFC 4648 Base64: standard alphabet, '=' padding, no newlines. Decoding is strict: nullopt for
// anything that is not canonical Base64 (length not a multiple of 4, characters outside the
// alphabet, misplaced padding, non-zero bits under the padding).
std::string base64Encode(std::string_view data);
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace tt::codec
