#pragma once
// The internal-only conventions ttsuite's daemons speak to each other on top of TeamTalk's PDUs
// (docs/PROTOCOL.md §4). None is a new command or field: each gives a special meaning to a value
// of an existing field, in a request only a daemon sends. Each says who sends it, who acts on it
// and why no TeamTalk client can send it. Part of ttcommon (proto/CMakeLists.txt).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tt::internal {

// Any-device status query (docs/PROTOCOL.md §4.3). IMUsersStatReq (0x020a) with user_id
// 0xffffffff: route_server answers ONLINE when the user has a client of *any* type connected
// anywhere, instead of TeamTalk's "a PC client is connected".
// Sent by: msg_server's push path (handlers/push.cc), to push only to users with no device up.
// Acted on by: route_server (RouteServer.cc).
// No client can send it: msg_server overwrites user_id of every client request with the
// logged-in user id before relaying it (§1.7), and no IMUser.id is 0xffffffff in practice.
inline constexpr uint32_t kAnyDeviceStatQuery = 0xffffffffu;

// Clear-token prefix (docs/PROTOCOL.md §4.4, §4.6). IMDeviceTokenReq (0x0108) with an empty
// device_token and attach_data "tt-clear-if-token:<token>": db_proxy clears device_<uid> only if
// it still holds exactly <token> (WATCH compare-and-clear), so a token registered meanwhile
// survives.
// Sent by: push_server, when a push provider calls <token> dead (PushServer.cc).
// Acted on by: db_proxy_server (handlers/other.cc).
// No client can send it: msg_server replaces attach_data of everything it sends upstream with its
// own 16-byte request id (msg_server/Attach.h, docs/PROTOCOL.md §1.7), and only msg_servers and
// push_server connect to db_proxy (§1.1).
inline constexpr std::string_view kClearIfTokenPrefix = "tt-clear-if-token:";

// attach_data of a clear-token request for `token`.
inline std::string clearIfTokenAttachData(std::string_view token) {
  std::string out(kClearIfTokenPrefix);
  out += token;
  return out;
}

// The token a clear-token request names, or nullopt when attach_data does not start with the
// prefix (an ordinary IMDeviceTokenReq). The view points into attachData.
inline std::optional<std::string_view> clearIfTokenOf(std::string_view attachData) {
  if (attachData.substr(0, kClearIfTokenPrefix.size()) != kClearIfTokenPrefix) return std::nullopt;
  return attachData.substr(kClearIfTokenPrefix.size());
}

}  // namespace tt::internal
