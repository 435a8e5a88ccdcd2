#pragma once

// Remembers, for a few minutes, that a (user name, credential) pair verified against a given
// stored hash, so a reconnect storm (a msg_server restart sends every client back to login at
// once) costs one map lookup per login instead of ~30 ms of PBKDF2 each.
//
// Entries are keyed by HMAC-SHA256(secret, user_name || 0x00 || credential), where the secret is
// 32 random bytes made at construction and kept only in process memory: a heap dump or core file
// reveals neither the credential (a password equivalent) nor a value that can be checked offline
// faster than the stored PBKDF2 hash. The stored hash string is part of the entry, so a password
// change (new stored string) misses the cache at once, with no invalidation message needed.
//
// Intended use in the login handler (after LoginThrottle::allowed and the IMUser lookup):
//
//   if (cache.check(name, credential, row.password) || verifyCredential(credential, row.password)) {
//     cache.remember(name, credential, row.password);   // ok
//   }
//
// Thread-safe: one mutex around the maps; the HMAC is computed outside it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tt::auth {

class CredentialCache {
 public:
  struct Options {
    int64_t ttlMs = 10 * 60 * 1000;  // how long a successful verify is trusted
    size_t maxEntries = 200000;      // oldest verified entries are evicted beyond this
  };
  using Clock = std::function<int64_t()>;  // monotonic milliseconds

  CredentialCache();
  explicit CredentialCache(Options options, Clock clock = {});  // empty clock = steady clock
  ~CredentialCache();

  CredentialCache(const CredentialCache&) = delete;
  CredentialCache& operator=(const CredentialCache&) = delete;

  // True when this (user, credential) verified against exactly `storedHash` less than ttlMs ago.
  // Does not extend the entry's life: trust expires ttlMs after the real verify.
  bool check(std::string_view user, std::string_view credential, std::string_view storedHash);

  // Records a successful verifyCredential(credential, storedHash) for user.
  void remember(std::string_view user, std::string_view credential, std::string_view storedHash);

  // Drops every entry of the user (account disabled, password reset, ...).
  void forget(std::string_view user);

  void clear();
  size_t size() const;

  // What one entry holds, for tests that check no field carries the credential.
  struct EntryView {
    std::string key;  // the 32-byte HMAC
    std::string user;
    std::string storedHash;
    int64_t verifiedAtMs = 0;
  };
  std::vector<EntryView> entriesForTesting() const;

 private:
  using Key = std::array<unsigned char, 32>;
  struct KeyHash {
    size_t operator()(const Key& k) const;  // the HMAC is uniform: its first bytes suffice
  };
  struct Entry {
    std::string user;
    std::string storedHash;
    int64_t verifiedAtMs = 0;
    std::list<Key>::iterator age;  // position in byAge_
  };

  bool makeKey(std::string_view user, std::string_view credential, Key* key) const;
  int64_t now() const;
  void eraseLocked(std::unordered_map<Key, Entry, KeyHash>::iterator it);
  void dropExpiredLocked(int64_t nowMs);

  const Options options_;
  const Clock clock_;
  std::array<unsigned char, 32> secret_{};  // fixed after construction
  bool usable_ = false;                     // false if the RNG failed: then nothing is cached

  mutable std::mutex mutex_;
  std::unordered_map<Key, Entry, KeyHash> entries_;            // guarded by mutex_
  std::list<Key> byAge_;                                       // guarded by mutex_; oldest first
  std::unordered_multimap<std::string, Key> keysByUser_;       // guarded by mutex_; for forget()
};

}  // namespace tt::auth
