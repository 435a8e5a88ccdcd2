#pragma once
// attach_data (field 20 of most server-bound messages) is msg_server's private context: db_proxy and
// route_server echo it verbatim. We put an 8-byte request id there and find the waiting client
// from it when the answer comes back. These helpers read and remove field 20 from a serialized
// body without knowing its message type, so one generic path forwards every db_proxy answer.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tt::msg {

// 16 bytes: this process's random instance tag, then the id. A PDU another msg_server sent (e.g. a
// message relayed by route_server with that server's attach_data) never matches our requests.
std::string encodeRequestId(uint64_t id);
std::optional<uint64_t> decodeRequestId(std::string_view attach);

// The bytes of field 20 (length-delimited) in a serialized protobuf body, if present.
std::optional<std::string> findAttach(std::string_view body);
// body without field 20. Returns false if body is not a well-formed protobuf encoding.
bool stripAttach(std::string_view body, std::string* out);

}  // namespace tt::msg
