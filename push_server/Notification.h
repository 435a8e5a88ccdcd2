#pragma once
// One push to one device, as push_server's providers see it, and what one delivery attempt gave.
#include <cstdint>
#include <string>

namespace tt::push {

struct Notification {
  uint32_t userId = 0;
  uint32_t clientType = 0;  // IM::BaseDefine::ClientType value
  std::string token;        // APNs: hex device token; webhook: whatever the app registered
  std::string title;        // may be empty
  std::string body;         // alert text (plain UTF-8); unused for silent pushes
  uint32_t badge = 0;       // total unread (UserTokenInfo.push_count)
  bool silent = false;      // UserTokenInfo.push_type 2: badge only, no alert
  std::string data;         // IMPushToUserReq.data: JSON text chosen by msg_server
  int attempts = 0;         // attempts made so far (the queue counts)
};

struct Attempt {
  enum class Result {
    kDelivered,     // the provider accepted it
    kRetry,         // 5xx, 429, connect failure, timeout: try again later
    kInvalidToken,  // the device token is dead (APNs 410 / BadDeviceToken / Unregistered, webhook 410)
    kRejected,      // any other 4xx: retrying would not help
  };
  Result result = Result::kRetry;
  int status = 0;      // HTTP status, 0 when there was no answer
  std::string reason;  // provider's reason or our error text, for the log
};

}  // namespace tt::push
