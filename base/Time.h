#pragma once

#include <chrono>
#include <cstdint>

namespace tt {

// Monotonic clocks are for timeouts and durations: they never jump when NTP or an operator sets
// the wall clock. unixSeconds() is only for values that leave the process (timestamps in PDUs and
// DB rows), which TeamTalk stores as 32-bit seconds.

inline int64_t monotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t monotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline uint32_t unixSeconds() {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace tt
