#pragma once
// The TeamTalk PDU: a 16-byte big-endian header and a protobuf body.
//   0 length (uint32, whole PDU incl. header)  4 version (1)  6 flag (0)  8 service_id
//  10 command_id  12 seq_num  14 reserved (0)
// checkFrame() is the one place that decides whether bytes in a buffer are a whole PDU, need more
// bytes, or are garbage (length < 16 or over the configured maximum). The original accepted any
// length, underflowed on length < 16 and let a peer make it allocate without limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace google::protobuf {
class MessageLite;
}

namespace tt::net {

class Buffer;

constexpr size_t kPduHeaderSize = 16;
constexpr uint32_t kDefaultMaxPduSize = 2 * 1024 * 1024;
constexpr uint16_t kPduVersion = 1;

struct PduHeader {
  uint32_t length = 0;
  uint16_t version = kPduVersion;
  uint16_t flag = 0;
  uint16_t serviceId = 0;
  uint16_t commandId = 0;
  uint16_t seqNum = 0;
  uint16_t reserved = 0;
};

void encodeHeader(const PduHeader& h, char* out);  // writes kPduHeaderSize bytes
PduHeader decodeHeader(const char* in);           // reads kPduHeaderSize bytes

enum class FrameStatus { kNeedMore, kComplete, kInvalid };

// Looks at the first bytes of data. kComplete: a whole PDU of header->length bytes is there.
// kInvalid: *error says why (the connection must be closed). Never reads past len.
FrameStatus checkFrame(const char* data, size_t len, uint32_t maxPduSize, PduHeader* header, std::string* error);

// A received PDU. The body is a view into the connection's input buffer, valid only during the
// handler call; copy it (toString) to keep it.
struct ImPdu {
  PduHeader header;
  std::string_view body;

  uint16_t serviceId() const { return header.serviceId; }
  uint16_t commandId() const { return header.commandId; }
  uint16_t seqNum() const { return header.seqNum; }
  // Parses the body; false if it is not a valid, complete message of that type (missing required
  // fields count as invalid, as they do for TeamTalk clients).
  bool parse(google::protobuf::MessageLite* msg) const;
  // The whole PDU (header + body) as bytes, for forwarding unchanged.
  std::string serialize() const;
};

// Builds a PDU in one allocation: header + serialized message.
std::string encodePdu(uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
                      const google::protobuf::MessageLite& msg);
// Same with a ready body (e.g. an empty heartbeat or a body forwarded verbatim).
std::string encodePdu(uint16_t serviceId, uint16_t commandId, uint16_t seqNum, std::string_view body);
// Appends the encoded PDU to buf (no intermediate string).
void appendPdu(Buffer* buf, uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
               const google::protobuf::MessageLite& msg);

// Service and command ids the reactor itself needs (the full tables are in IM.BaseDefine.proto).
constexpr uint16_t kSidOther = 0x0007;
constexpr uint16_t kCidHeartbeat = 0x0701;

}  // namespace tt::net
