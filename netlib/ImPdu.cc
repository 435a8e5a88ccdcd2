#include "netlib/ImPdu.h"

#include <arpa/inet.h>

#include <cstring>

#include <google/protobuf/message_lite.h>

#include "netlib/Buffer.h"

namespace tt::net {

namespace {
inline void put16(char* p, uint16_t v) {
  v = htons(v);
  std::memcpy(p, &v, 2);
}
inline void put32(char* p, uint32_t v) {
  v = htonl(v);
  std::memcpy(p, &v, 4);
}
inline uint16_t get16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return ntohs(v);
}
inline uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}
}  // namespace

void encodeHeader(const PduHeader& h, char* out) {
  put32(out, h.length);
  put16(out + 4, h.version);
  put16(out + 6, h.flag);
  put16(out + 8, h.serviceId);
  put16(out + 10, h.commandId);
  put16(out + 12, h.seqNum);
  put16(out + 14, h.reserved);
}

PduHeader decodeHeader(const char* in) {
  PduHeader h;
  h.length = get32(in);
  h.version = get16(in + 4);
  h.flag = get16(in + 6);
  h.serviceId = get16(in + 8);
  h.commandId = get16(in + 10);
  h.seqNum = get16(in + 12);
  h.reserved = get16(in + 14);
  return h;
}

FrameStatus checkFrame(const char* data, size_t len, uint32_t maxPduSize, PduHeader* header, std::string* error) {
  // The length field alone is enough to reject garbage early, before the rest of the header.
  if (len < 4) return FrameStatus::kNeedMore;
  const uint32_t length = get32(data);
  if (length < kPduHeaderSize) {
    if (error) *error = "PDU length " + std::to_string(length) + " is below the 16-byte header";
    return FrameStatus::kInvalid;
  }
  if (length > maxPduSize) {
    if (error) *error = "PDU length " + std::to_string(length) + " exceeds the maximum of " + std::to_string(maxPduSize);
    return FrameStatus::kInvalid;
  }
  if (len < length) return FrameStatus::kNeedMore;
  if (header) *header = decodeHeader(data);
  return FrameStatus::kComplete;
}

bool ImPdu::parse(google::protobuf::MessageLite* msg) const {
  return msg->ParseFromArray(body.data(), static_cast<int>(body.size()));
}

std::string ImPdu::serialize() const {
  std::string out(kPduHeaderSize + body.size(), '\0');
  PduHeader h = header;
  h.length = static_cast<uint32_t>(out.size());
  encodeHeader(h, out.data());
  if (!body.empty()) std::memcpy(out.data() + kPduHeaderSize, body.data(), body.size());
  return out;
}

std::string encodePdu(uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
                      const google::protobuf::MessageLite& msg) {
  const size_t bodySize = msg.ByteSizeLong();
  std::string out(kPduHeaderSize + bodySize, '\0');
  PduHeader h;
  h.length = static_cast<uint32_t>(out.size());
  h.serviceId = serviceId;
  h.commandId = commandId;
  h.seqNum = seqNum;
  encodeHeader(h, out.data());
  msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + kPduHeaderSize));
  return out;
}

std::string encodePdu(uint16_t serviceId, uint16_t commandId, uint16_t seqNum, std::string_view body) {
  std::string out(kPduHeaderSize + body.size(), '\0');
  PduHeader h;
  h.length = static_cast<uint32_t>(out.size());
  h.serviceId = serviceId;
  h.commandId = commandId;
  h.seqNum = seqNum;
  encodeHeader(h, out.data());
  if (!body.empty()) std::memcpy(out.data() + kPduHeaderSize, body.data(), body.size());
  return out;
}

void appendPdu(Buffer* buf, uint16_t serviceId, uint16_t commandId, uint16_t seqNum,
               const google::protobuf::MessageLite& msg) {
  const size_t bodySize = msg.ByteSizeLong();
  char* p = buf->beginWrite(kPduHeaderSize + bodySize);
  PduHeader h;
  h.length = static_cast<uint32_t>(kPduHeaderSize + bodySize);
  h.serviceId = serviceId;
  h.commandId = commandId;
  h.seqNum = seqNum;
  encodeHeader(h, p);
  msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p + kPduHeaderSize));
  buf->hasWritten(kPduHeaderSize + bodySize);
}

}  // namespace tt::net
