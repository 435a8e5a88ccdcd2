#include "db_proxy_server/auth/LoginThrottle.h"

#include "base/Time.h"

namespace tt::auth {

LoginThrottle::LoginThrottle() : LoginThrottle(Options{}) {}

LoginThrottle::LoginThrottle(Options options, Clock clock)
    : options_(options), clock_(std::move(clock)) {}

int64_t LoginThrottle::now() const { return clock_ ? clock_() : monotonicMs(); }

// The original drops a failure when now - t > 30 min, so one exactly 30 min old still counts.
bool LoginThrottle::expired(int64_t failureMs, int64_t nowMs) const {
  return nowMs - failureMs > options_.windowMs;
}

void LoginThrottle::pruneLocked(State& state, int64_t nowMs) const {
  while (!state.failures.empty() && expired(state.failures.front(), nowMs)) {
    state.failures.pop_front();
  }
}

void LoginThrottle::eraseLocked(Map::iterator it) {
  byLastFailure_.erase(it->second.age);
  names_.erase(it);
}

// byLastFailure_ is ordered by each name's newest failure (recordFailure moves the name to the
// back), so the names with nothing left in the window are a prefix of it.
void LoginThrottle::dropStaleLocked(int64_t nowMs) {
  while (!byLastFailure_.empty()) {
    auto it = names_.find(byLastFailure_.front());
    if (!it->second.failures.empty() && !expired(it->second.failures.back(), nowMs)) break;
    eraseLocked(it);
  }
}

bool LoginThrottle::allowed(std::string_view user) {
  const int64_t nowMs = now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = names_.find(std::string(user));
  if (it == names_.end()) return true;
  pruneLocked(it->second, nowMs);
  if (it->second.failures.empty()) {
    eraseLocked(it);
    return true;
  }
  return it->second.failures.size() <= options_.maxFailures;
}

void LoginThrottle::recordFailure(std::string_view user) {
  const int64_t nowMs = now();
  std::lock_guard<std::mutex> lock(mutex_);
  dropStaleLocked(nowMs);
  std::string name(user);
  auto it = names_.find(name);
  if (it == names_.end()) {
    while (names_.size() >= options_.maxNames && !byLastFailure_.empty()) {
      eraseLocked(names_.find(byLastFailure_.front()));
    }
    if (options_.maxNames == 0) return;
    byLastFailure_.push_back(name);
    State state;
    state.age = std::prev(byLastFailure_.end());
    it = names_.emplace(std::move(name), std::move(state)).first;
  } else {
    byLastFailure_.splice(byLastFailure_.end(), byLastFailure_, it->second.age);
  }
  State& state = it->second;
  pruneLocked(state, nowMs);
  state.failures.push_back(nowMs);
  // Only "more than maxFailures within the window" matters, so the newest maxFailures + 1 are
  // all we need to keep.
  while (state.failures.size() > options_.maxFailures + 1) state.failures.pop_front();
}

void LoginThrottle::recordSuccess(std::string_view user) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = names_.find(std::string(user));
  if (it != names_.end()) eraseLocked(it);
}

size_t LoginThrottle::failures(std::string_view user) {
  const int64_t nowMs = now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = names_.find(std::string(user));
  if (it == names_.end()) return 0;
  pruneLocked(it->second, nowMs);
  return it->second.failures.size();
}

size_t LoginThrottle::trackedNames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return names_.size();
}

}  // namespace tt::auth
