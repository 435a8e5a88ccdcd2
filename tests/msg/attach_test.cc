// msg_server/Attach.h: field 20 found and removed in serialized bodies of any message type, and the
// request id that travels in it.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "msg_server/Attach.h"

namespace tt::msg {
namespace {

IM::Buddy::IMUsersInfoRsp usersInfo() {
  IM::Buddy::IMUsersInfoRsp rsp;
  rsp.set_user_id(7);
  auto* u = rsp.add_user_info_list();
  u->set_user_id(42);
  u->set_user_gender(2);
  u->set_user_nick_name("nick \xF0\x9F\x98\x80 \xE5\xB0\x8F");  // U+1F600 (4 bytes in UTF-8) and 小
  u->set_avatar_url("http://a/b.png");
  u->set_department_id(3);
  u->set_email("n@example.com");
  u->set_user_real_name("real");
  u->set_user_tel("123");
  u->set_user_domain("nick");
  u->set_status(0);
  return rsp;
}

TEST(Attach, FindsAndStripsField20OfARealMessage) {
  IM::Buddy::IMUsersInfoRsp rsp = usersInfo();
  const std::string attach = encodeRequestId(12345);
  rsp.set_attach_data(attach);
  const std::string body = rsp.SerializeAsString();

  std::optional<std::string> found = findAttach(body);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, attach);

  std::string stripped;
  ASSERT_TRUE(stripAttach(body, &stripped));
  EXPECT_LT(stripped.size(), body.size());
  EXPECT_FALSE(findAttach(stripped).has_value());
  // What is left is the same message without attach_data, every other field intact.
  IM::Buddy::IMUsersInfoRsp parsed;
  ASSERT_TRUE(parsed.ParseFromString(stripped));
  EXPECT_FALSE(parsed.has_attach_data());
  ASSERT_EQ(parsed.user_info_list_size(), 1);
  EXPECT_EQ(parsed.user_info_list(0).user_nick_name(), "nick \xF0\x9F\x98\x80 \xE5\xB0\x8F");
  IM::Buddy::IMUsersInfoRsp expected = rsp;
  expected.clear_attach_data();
  EXPECT_EQ(stripped, expected.SerializeAsString());
}

TEST(Attach, MessageWithoutField20IsLeftAsIs) {
  const std::string body = usersInfo().SerializeAsString();
  EXPECT_FALSE(findAttach(body).has_value());
  std::string stripped;
  ASSERT_TRUE(stripAttach(body, &stripped));
  EXPECT_EQ(stripped, body);
}

TEST(Attach, EmptyBodyIsWellFormed) {
  EXPECT_FALSE(findAttach("").has_value());
  std::string stripped = "old";
  ASSERT_TRUE(stripAttach("", &stripped));
  EXPECT_TRUE(stripped.empty());
}

TEST(Attach, OtherMessageTypesToo) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(1);
  msg.set_to_session_id(2);
  msg.set_msg_id(3);
  msg.set_create_time(4);
  msg.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
  msg.set_msg_data(std::string("bin\0ary", 7));
  msg.set_attach_data(std::string("\x00\x01\x02", 3));
  const std::string body = msg.SerializeAsString();
  EXPECT_EQ(findAttach(body), std::string("\x00\x01\x02", 3));
  std::string stripped;
  ASSERT_TRUE(stripAttach(body, &stripped));
  IM::Message::IMMsgData parsed;
  ASSERT_TRUE(parsed.ParseFromString(stripped));
  EXPECT_FALSE(parsed.has_attach_data());
  EXPECT_EQ(parsed.msg_data(), std::string("bin\0ary", 7));
}

TEST(Attach, MalformedBodiesAreRejected) {
  const std::string good = usersInfo().SerializeAsString();
  const std::string bad[] = {
      std::string("\x0a\x05" "ab", 4),           // length-delimited field longer than the body
      std::string("\x08\x80", 2),                // varint cut short
      std::string("\x0f", 1),                    // wire type 7 does not exist
      std::string("\x00\x08\x01", 3),            // tag 0 before more fields
      good.substr(0, good.size() - 3),           // a real message cut short
      good + std::string("\xa2\x01\x10", 3),     // field 20 announcing 16 bytes that are not there
  };
  for (const std::string& body : bad) {
    EXPECT_FALSE(findAttach(body).has_value()) << testing::PrintToString(body);
    std::string stripped;
    EXPECT_FALSE(stripAttach(body, &stripped)) << testing::PrintToString(body);
  }
}

TEST(Attach, Field20OfAnotherWireTypeIsNoAttachButStillStripped) {
  // A varint field 20 (tag 0xa0 0x01) carries no attach bytes, and strip removes field 20 whatever
  // its wire type: nothing in field 20 ever reaches a client.
  const std::string clean = usersInfo().SerializeAsString();
  const std::string body = clean + std::string("\xa0\x01\x05", 3);
  EXPECT_FALSE(findAttach(body).has_value());
  std::string stripped;
  ASSERT_TRUE(stripAttach(body, &stripped));
  EXPECT_EQ(stripped, clean);
}

TEST(RequestId, RoundTrips) {
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708}, UINT64_MAX}) {
    const std::string attach = encodeRequestId(id);
    EXPECT_EQ(attach.size(), 16u);
    EXPECT_EQ(decodeRequestId(attach), id);
  }
}

TEST(RequestId, ForeignTagOrSizeIsRejected) {
  std::string attach = encodeRequestId(99);
  std::string foreign = attach;
  foreign[0] = static_cast<char>(foreign[0] ^ 0x5a);  // another msg_server's instance tag
  EXPECT_FALSE(decodeRequestId(foreign).has_value());
  EXPECT_FALSE(decodeRequestId(attach.substr(0, 15)).has_value());
  EXPECT_FALSE(decodeRequestId(attach + "x").has_value());
  EXPECT_FALSE(decodeRequestId("").has_value());
  // The original's 12-byte DbAttachData {type, handle, service_type} is not ours either.
  EXPECT_FALSE(decodeRequestId(std::string("\0\0\0\1\0\0\0\7\0\0\0\0", 12)).has_value());
}

}  // namespace
}  // namespace tt::msg
