#include "db_proxy_server/auth/CredentialCache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "base/Time.h"

namespace tt::auth {

size_t CredentialCache::KeyHash::operator()(const Key& k) const {
  size_t h = 0;
  std::memcpy(&h, k.data(), sizeof h);
  return h;
}

CredentialCache::CredentialCache() : CredentialCache(Options{}) {}

CredentialCache::CredentialCache(Options options, Clock clock)
    : options_(options), clock_(std::move(clock)) {
  usable_ = RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) == 1;
}

CredentialCache::~CredentialCache() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

int64_t CredentialCache::now() const { return clock_ ? clock_() : monotonicMs(); }

bool CredentialCache::makeKey(std::string_view user, std::string_view credential, Key* key) const {
  if (!usable_) return false;
  std::string message;
  message.reserve(user.size() + 1 + credential.size());
  message.append(user);
  message.push_back('\0');
  message.append(credential);
  unsigned int len = 0;
  const unsigned char* mac =
      HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), key->data(), &len);
  OPENSSL_cleanse(message.data(), message.size());
  return mac != nullptr && len == key->size();
}

bool CredentialCache::check(std::string_view user, std::string_view credential,
                            std::string_view storedHash) {
  Key key;
  if (!makeKey(user, credential, &key)) return false;
  const int64_t nowMs = now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  if (nowMs - it->second.verifiedAtMs >= options_.ttlMs) {
    eraseLocked(it);
    return false;
  }
  // The user comparison makes the 0x00 separator unambiguous even for names containing 0x00.
  return it->second.user == user && it->second.storedHash == storedHash;
}

void CredentialCache::remember(std::string_view user, std::string_view credential,
                               std::string_view storedHash) {
  if (options_.maxEntries == 0 || options_.ttlMs <= 0) return;
  Key key;
  if (!makeKey(user, credential, &key)) return;
  const int64_t nowMs = now();
  std::lock_guard<std::mutex> lock(mutex_);
  dropExpiredLocked(nowMs);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.user != user) {
    eraseLocked(it);  // would need a separator collision; keep the index honest anyway
    it = entries_.end();
  }
  if (it != entries_.end()) {
    it->second.storedHash.assign(storedHash);
    it->second.verifiedAtMs = nowMs;
    byAge_.splice(byAge_.end(), byAge_, it->second.age);  // now the youngest
    return;
  }
  while (entries_.size() >= options_.maxEntries && !byAge_.empty()) {
    eraseLocked(entries_.find(byAge_.front()));
  }
  byAge_.push_back(key);
  Entry entry;
  entry.user.assign(user);
  entry.storedHash.assign(storedHash);
  entry.verifiedAtMs = nowMs;
  entry.age = std::prev(byAge_.end());
  entries_.emplace(key, std::move(entry));
  keysByUser_.emplace(std::string(user), key);
}

void CredentialCache::forget(std::string_view user) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string name(user);
  // Collect first: eraseLocked edits keysByUser_.
  std::vector<Key> keys;
  auto range = keysByUser_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) keys.push_back(it->second);
  for (const Key& key : keys) {
    auto it = entries_.find(key);
    if (it != entries_.end()) eraseLocked(it);
  }
}

void CredentialCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  byAge_.clear();
  keysByUser_.clear();
}

size_t CredentialCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::vector<CredentialCache::EntryView> CredentialCache::entriesForTesting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EntryView> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) {
    EntryView view;
    view.key.assign(reinterpret_cast<const char*>(key.data()), key.size());
    view.user = entry.user;
    view.storedHash = entry.storedHash;
    view.verifiedAtMs = entry.verifiedAtMs;
    out.push_back(std::move(view));
  }
  return out;
}

void CredentialCache::eraseLocked(std::unordered_map<Key, Entry, KeyHash>::iterator it) {
  auto range = keysByUser_.equal_range(it->second.user);
  for (auto u = range.first; u != range.second; ++u) {
    if (u->second == it->first) {
      keysByUser_.erase(u);
      break;
    }
  }
  byAge_.erase(it->second.age);
  entries_.erase(it);
}

// byAge_ is ordered by verifiedAtMs (remember() always moves an entry to the back with the
// current monotonic time), so the expired entries are a prefix of it.
void CredentialCache::dropExpiredLocked(int64_t nowMs) {
  while (!byAge_.empty()) {
    auto it = entries_.find(byAge_.front());
    if (nowMs - it->second.verifiedAtMs < options_.ttlMs) break;
    eraseLocked(it);
  }
}

}  // namespace tt::auth
