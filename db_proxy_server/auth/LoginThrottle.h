#pragma once

// The original db_proxy's brute-force brake (docs/PROTOCOL.md §3.2.2): once a user name has
// collected more than 10 failed logins within the last 30 minutes, further attempts are refused
// (the caller answers IMValidateRsp result_code 6, "用户名/密码错误次数太多") without looking at
// the password, until the oldest of those failures leaves the window. A success clears the name.
//
//   if (!throttle.allowed(name)) → result 6
//   else verify → ok ? throttle.recordSuccess(name) : throttle.recordFailure(name)
//
// Like the original the state is per process and keyed by the name as sent (byte-exact, which
// matches IMUser.name's utf8mb4_bin collation). Unlike the original, memory is bounded: each name
// keeps at most maxFailures + 1 timestamps, names whose newest failure has left the window are
// dropped, and beyond maxNames the name with the oldest newest-failure is forgotten.
//
// Thread-safe (one mutex); time comes from an injectable monotonic millisecond clock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tt::auth {

class LoginThrottle {
 public:
  struct Options {
    size_t maxFailures = 10;            // refused once failures in the window exceed this
    int64_t windowMs = 30 * 60 * 1000;  // a failure counts for this long
    size_t maxNames = 1000000;          // names tracked at once (~200 bytes each)
  };
  using Clock = std::function<int64_t()>;  // monotonic milliseconds

  LoginThrottle();
  explicit LoginThrottle(Options options, Clock clock = {});  // empty clock = steady clock

  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // False while the name has more than maxFailures failures within the window.
  bool allowed(std::string_view user);

  void recordFailure(std::string_view user);
  void recordSuccess(std::string_view user);  // forgets the name's failures

  // Failures of the name still inside the window (capped at maxFailures + 1).
  size_t failures(std::string_view user);
  size_t trackedNames() const;

 private:
  struct State {
    std::deque<int64_t> failures;  // oldest first, at most maxFailures + 1
    std::list<std::string>::iterator age;  // position in byLastFailure_
  };
  using Map = std::unordered_map<std::string, State>;

  int64_t now() const;
  bool expired(int64_t failureMs, int64_t nowMs) const;
  void pruneLocked(State& state, int64_t nowMs) const;
  void eraseLocked(Map::iterator it);
  void dropStaleLocked(int64_t nowMs);

  const Options options_;
  const Clock clock_;

  mutable std::mutex mutex_;
  Map names_;                             // guarded by mutex_
  std::list<std::string> byLastFailure_;  // guarded by mutex_; names, oldest last failure first
};

}  // namespace tt::auth
