#pragma once
// The Redis layout (docs/PROTOCOL.md §5.2): the cache instance names of dbproxyserver.conf's
// CacheInstances and every key, field and value format stored in them. TeamTalk's names, so a
// Redis filled by TeamTalk's db_proxy keeps its meaning. db_proxy_server is the only daemon that
// reads or writes them; tools/im_admin and the tests use the same builders. Part of ttcommon
// (proto/CMakeLists.txt).
#include <cstdint>
#include <string>
#include <string_view>

namespace tt::rediskey {

// Names and fields are char arrays (they convert to the std::string RedisConn takes); the token
// prefixes are string_views (they are matched and stripped).

// ---- instances (CacheInstances; each its own server or database) ---------------------------

inline constexpr char kUnreadInstance[] = "unread";            // unread counters, read positions
inline constexpr char kGroupSetInstance[] = "group_set";       // group shield flags
inline constexpr char kTokenInstance[] = "token";              // device tokens
inline constexpr char kSyncInstance[] = "sync";                // configured, unused
inline constexpr char kGroupMemberInstance[] = "group_member"; // configured, unused

// ---- instance "unread" ---------------------------------------------------------------------

// "unread_<uid>": hash, field "<peer uid>" -> unread count of that single conversation.
std::string unreadKey(uint32_t uid);

// "<uid>_<gid>_im_user_group": hash, field kGroupReadField -> the user's read position in the
// group, a msg id (unread = IMGroup.msgSeq - position).
std::string groupReadKey(uint32_t uid, uint32_t gid);
inline constexpr char kGroupReadField[] = "count";

// String: GroupSync's watermark (an IMGroup.lastChated time).
inline constexpr char kGroupSyncWatermarkKey[] = "last_update_group";

// ---- instance "group_set" ------------------------------------------------------------------

// "group_set_<gid>": hash, field groupShieldField(uid) -> "1" shielded / "0" not.
std::string groupShieldKey(uint32_t gid);
// "<uid>_1"
std::string groupShieldField(uint32_t uid);

// ---- instance "token" ----------------------------------------------------------------------

// "device_<uid>": string, kIosTokenPrefix + token, kAndroidTokenPrefix + token, or a bare token
// (other client types, never pushed).
std::string userTokenKey(uint32_t uid);
// The same key for a uid read back as text (the value of a device_<token>), spelled as stored.
std::string userTokenKey(std::string_view uidText);
inline constexpr std::string_view kIosTokenPrefix = "ios:";
inline constexpr std::string_view kAndroidTokenPrefix = "android:";

// "device_<token>": string, the owning uid (the reverse map).
std::string tokenOwnerKey(std::string_view token);

}  // namespace tt::rediskey
