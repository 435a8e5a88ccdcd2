#include "netlib/ImPdu.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.Message.pb.h"
#include "netlib/Buffer.h"

using namespace tt::net;

namespace {
IM::Message::IMMsgData sampleMessage(uint32_t i) {
  IM::Message::IMMsgData m;
  m.set_from_user_id(1000 + i);
  m.set_to_session_id(2000 + i);
  m.set_msg_id(i);
  m.set_create_time(1700000000 + i);
  m.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  static const char kBody[] = "body\0with nul \xF0\x9F\x98\x80 #";
  m.set_msg_data(std::string(kBody, sizeof kBody - 1) + std::to_string(i));
  return m;
}

// Frames every whole PDU at the front of buf, like ImConn does.
std::vector<std::string> drain(Buffer* buf, std::string* error) {
  std::vector<std::string> out;
  for (;;) {
    PduHeader h;
    FrameStatus st = checkFrame(buf->peek(), buf->readableBytes(), kDefaultMaxPduSize, &h, error);
    if (st != FrameStatus::kComplete) {
      if (st == FrameStatus::kInvalid) out.push_back("<invalid>");
      return out;
    }
    out.emplace_back(buf->peek(), h.length);
    buf->retrieve(h.length);
  }
}
}  // namespace

TEST(PduHeader, RoundTripsEveryField) {
  PduHeader h;
  h.length = 0x01020304;
  h.version = 1;
  h.flag = 0xABCD;
  h.serviceId = 0x0003;
  h.commandId = 0x0301;
  h.seqNum = 0xFFFE;
  h.reserved = 0x1234;
  char raw[kPduHeaderSize];
  encodeHeader(h, raw);
  // Big-endian on the wire.
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(raw[3]), 0x04);
  EXPECT_EQ(static_cast<unsigned char>(raw[10]), 0x03);
  EXPECT_EQ(static_cast<unsigned char>(raw[11]), 0x01);
  PduHeader d = decodeHeader(raw);
  EXPECT_EQ(d.length, h.length);
  EXPECT_EQ(d.version, h.version);
  EXPECT_EQ(d.flag, h.flag);
  EXPECT_EQ(d.serviceId, h.serviceId);
  EXPECT_EQ(d.commandId, h.commandId);
  EXPECT_EQ(d.seqNum, h.seqNum);
  EXPECT_EQ(d.reserved, h.reserved);
}

TEST(PduCodec, EncodesHeaderAndBody) {
  auto msg = sampleMessage(7);
  std::string pdu = encodePdu(0x0003, 0x0301, 42, msg);
  ASSERT_EQ(pdu.size(), kPduHeaderSize + msg.ByteSizeLong());
  PduHeader h = decodeHeader(pdu.data());
  EXPECT_EQ(h.length, pdu.size());
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.serviceId, 0x0003);
  EXPECT_EQ(h.commandId, 0x0301);
  EXPECT_EQ(h.seqNum, 42);
  ImPdu view{h, std::string_view(pdu).substr(kPduHeaderSize)};
  IM::Message::IMMsgData back;
  ASSERT_TRUE(view.parse(&back));
  EXPECT_EQ(back.msg_data(), msg.msg_data());
  EXPECT_EQ(view.serialize(), pdu);
}

TEST(PduCodec, EmptyBodyIsSixteenBytes) {
  std::string hb = encodePdu(kSidOther, kCidHeartbeat, 0, std::string_view());
  EXPECT_EQ(hb.size(), 16u);
  PduHeader h;
  EXPECT_EQ(checkFrame(hb.data(), hb.size(), kDefaultMaxPduSize, &h, nullptr), FrameStatus::kComplete);
  EXPECT_EQ(h.commandId, kCidHeartbeat);
}

TEST(PduCodec, AppendPduMatchesEncodePdu) {
  auto msg = sampleMessage(3);
  Buffer b;
  appendPdu(&b, 3, 0x0301, 9, msg);
  EXPECT_EQ(b.view(), encodePdu(3, 0x0301, 9, msg));
}

TEST(PduFraming, SplitByteByByte) {
  std::string stream;
  for (uint32_t i = 0; i < 20; ++i) stream += encodePdu(3, 0x0301, static_cast<uint16_t>(i), sampleMessage(i));
  Buffer b;
  std::vector<std::string> got;
  std::string err;
  for (char c : stream) {
    b.append(&c, 1);
    for (auto& p : drain(&b, &err)) got.push_back(p);
  }
  ASSERT_EQ(got.size(), 20u);
  std::string joined;
  for (auto& p : got) joined += p;
  EXPECT_EQ(joined, stream);
  EXPECT_EQ(b.readableBytes(), 0u);
}

TEST(PduFraming, ManyGluedInOneRead) {
  std::string stream;
  for (uint32_t i = 0; i < 1000; ++i) stream += encodePdu(3, 0x0301, static_cast<uint16_t>(i), sampleMessage(i));
  Buffer b;
  b.append(stream);
  std::string err;
  auto got = drain(&b, &err);
  ASSERT_EQ(got.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(decodeHeader(got[i].data()).seqNum, i);
}

TEST(PduFraming, LengthBelowHeaderIsInvalid) {
  for (uint32_t len : {0u, 1u, 15u}) {
    char raw[kPduHeaderSize] = {};
    PduHeader h;
    h.length = len;
    encodeHeader(h, raw);
    std::string err;
    EXPECT_EQ(checkFrame(raw, sizeof raw, kDefaultMaxPduSize, nullptr, &err), FrameStatus::kInvalid) << len;
    EXPECT_NE(err.find("below"), std::string::npos) << err;
  }
}

TEST(PduFraming, OversizeIsRejectedFromTheLengthAlone) {
  char raw[4];
  PduHeader h;
  h.length = kDefaultMaxPduSize + 1;
  char full[kPduHeaderSize];
  encodeHeader(h, full);
  std::memcpy(raw, full, 4);
  std::string err;
  // Only 4 bytes received: still rejected, the server never waits for 2 MiB of garbage.
  EXPECT_EQ(checkFrame(raw, 4, kDefaultMaxPduSize, nullptr, &err), FrameStatus::kInvalid);
  EXPECT_NE(err.find("exceeds"), std::string::npos);
  // Exactly the maximum is fine (waits for more bytes).
  h.length = kDefaultMaxPduSize;
  encodeHeader(h, full);
  EXPECT_EQ(checkFrame(full, sizeof full, kDefaultMaxPduSize, nullptr, &err), FrameStatus::kNeedMore);
  // A configured lower maximum applies.
  h.length = 1000;
  encodeHeader(h, full);
  EXPECT_EQ(checkFrame(full, sizeof full, 999, nullptr, &err), FrameStatus::kInvalid);
}

TEST(PduFraming, NeedsFourBytesForTheLength) {
  std::string hb = encodePdu(7, 0x0701, 0, std::string_view());
  for (size_t n = 0; n < hb.size(); ++n) {
    EXPECT_EQ(checkFrame(hb.data(), n, kDefaultMaxPduSize, nullptr, nullptr), FrameStatus::kNeedMore) << n;
  }
}

TEST(PduCodec, BodyThatDoesNotParseIsReported) {
  // Field 1 as a varint that never ends.
  std::string bogus = "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  std::string pdu = encodePdu(3, 0x0301, 1, bogus);
  ImPdu view{decodeHeader(pdu.data()), std::string_view(pdu).substr(kPduHeaderSize)};
  IM::Message::IMMsgData m;
  EXPECT_FALSE(view.parse(&m));
  // A well-formed body missing required fields is not accepted either.
  IM::Message::IMMsgData partial;
  partial.set_from_user_id(1);
  std::string partialBody = partial.SerializePartialAsString();
  ImPdu view2{decodeHeader(pdu.data()), partialBody};
  EXPECT_FALSE(view2.parse(&m));
}
