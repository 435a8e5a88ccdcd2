#include "proto/RedisKeys.h"

namespace tt::rediskey {

namespace {
constexpr std::string_view kUnreadPrefix = "unread_";
constexpr std::string_view kGroupReadSuffix = "_im_user_group";
constexpr std::string_view kGroupShieldPrefix = "group_set_";
constexpr std::string_view kGroupShieldFieldSuffix = "_1";
constexpr std::string_view kDevicePrefix = "device_";

std::string join(std::string_view prefix, std::string_view rest) {
  std::string out(prefix);
  out += rest;
  return out;
}
}  // namespace

std::string unreadKey(uint32_t uid) { return join(kUnreadPrefix, std::to_string(uid)); }

std::string groupReadKey(uint32_t uid, uint32_t gid) {
  return std::to_string(uid) + "_" + std::to_string(gid) + std::string(kGroupReadSuffix);
}

std::string groupShieldKey(uint32_t gid) { return join(kGroupShieldPrefix, std::to_string(gid)); }

std::string groupShieldField(uint32_t uid) { return std::to_string(uid) + std::string(kGroupShieldFieldSuffix); }

std::string userTokenKey(uint32_t uid) { return join(kDevicePrefix, std::to_string(uid)); }

std::string userTokenKey(std::string_view uidText) { return join(kDevicePrefix, uidText); }

std::string tokenOwnerKey(std::string_view token) { return join(kDevicePrefix, token); }

}  // namespace tt::rediskey
