// Wire compatibility of proto/ with the original TeamTalk .proto files.
//
// WireSpec.*: the descriptor set protoc built from proto/*.proto (TT_PROTO_DESCRIPTOR_PATH) is loaded
// into a DescriptorPool (full runtime) and compared, line by line, with the spec's
// shared/protocol/teamtalk_wire.tsv (TT_WIRE_TSV). Every mismatch is reported, not just the first.
// LiteRoundTrip.* / RequiredFields.*: the generated lite classes from ttproto keep bytes intact and
// reject bodies with a missing required field, as the original clients do.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Group.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "IM.Other.pb.h"

namespace {

namespace pb = google::protobuf;

bool readFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  for (;;) {
    auto tab = line.find('\t', start);
    parts.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return parts;
    start = tab + 1;
  }
}

bool parseInt(const std::string& s, int* out) {
  if (s.empty()) return false;
  std::size_t used = 0;
  try {
    *out = std::stoi(s, &used);
  } catch (...) {
    return false;
  }
  return used == s.size();
}

std::string packageOf(const std::string& fullName) {
  auto dot = fullName.rfind('.');
  return dot == std::string::npos ? std::string() : fullName.substr(0, dot);
}

// The pool built from ttsuite.desc; files must arrive dependencies first (--include_imports does so).
class WireSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string raw;
    ASSERT_TRUE(readFile(TT_PROTO_DESCRIPTOR_PATH, &raw))
        << "cannot read descriptor set " << TT_PROTO_DESCRIPTOR_PATH
        << " (built by target ttproto_descriptor)";
    ASSERT_TRUE(set_.ParseFromString(raw)) << "corrupt descriptor set " << TT_PROTO_DESCRIPTOR_PATH;
    for (const auto& file : set_.file()) {
      ASSERT_NE(pool_.BuildFile(file), nullptr) << "cannot build " << file.name();
    }
  }

  pb::FileDescriptorSet set_;
  pb::DescriptorPool pool_;
};

std::string labelName(const pb::FieldDescriptor* f) {
  return pb::FieldDescriptorProto::Label_Name(static_cast<pb::FieldDescriptorProto::Label>(f->label()));
}

std::string typeName(const pb::FieldDescriptor* f) {
  return pb::FieldDescriptorProto::Type_Name(static_cast<pb::FieldDescriptorProto::Type>(f->type()));
}

std::string referencedType(const pb::FieldDescriptor* f) {
  if (f->message_type() != nullptr) return f->message_type()->full_name();
  if (f->enum_type() != nullptr) return f->enum_type()->full_name();
  return "";
}

TEST_F(WireSpec, EveryTsvFactIsInTheDescriptors) {
  std::ifstream tsv(TT_WIRE_TSV);
  if (!tsv) {
    GTEST_SKIP() << "wire spec " << TT_WIRE_TSV
                 << " not found (shared/ is not checked out next to the source tree); "
                    "cannot compare proto/ with the original TeamTalk protocol";
  }

  std::vector<std::string> problems;
  std::set<std::string> specMessages;
  std::set<std::pair<std::string, int>> specFields;
  int fieldLines = 0;
  int enumLines = 0;
  int lineNo = 0;
  std::string line;
  while (std::getline(tsv, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = "tsv:" + std::to_string(lineNo) + ": ";
    auto col = splitTabs(line);

    if (col[0] == "M") {
      int number = 0;
      if (col.size() != 7 || !parseInt(col[2], &number)) {
        problems.push_back(where + "malformed field line: " + line);
        continue;
      }
      ++fieldLines;
      const std::string& msgName = col[1];
      const std::string& label = col[3];
      const std::string& type = col[4];
      const std::string& refType = col[5];
      const std::string& name = col[6];
      specMessages.insert(msgName);
      specFields.insert({msgName, number});

      const pb::Descriptor* msg = pool_.FindMessageTypeByName(msgName);
      if (msg == nullptr) {
        problems.push_back(where + "message " + msgName + " is missing");
        continue;
      }
      const pb::FieldDescriptor* f = msg->FindFieldByNumber(number);
      if (f == nullptr) {
        problems.push_back(where + msgName + ": no field number " + std::to_string(number) + " (" +
                           name + ")");
        continue;
      }
      const std::string field = msgName + "." + name + " (#" + std::to_string(number) + ")";
      if (f->name() != name) problems.push_back(where + field + ": name is " + f->name());
      if (labelName(f) != label) problems.push_back(where + field + ": label is " + labelName(f) + ", spec " + label);
      if (typeName(f) != type) problems.push_back(where + field + ": type is " + typeName(f) + ", spec " + type);
      if (referencedType(f) != refType) {
        problems.push_back(where + field + ": type name is '" + referencedType(f) + "', spec '" + refType + "'");
      }
    } else if (col[0] == "E") {
      int number = 0;
      if (col.size() != 4 || !parseInt(col[2], &number)) {
        problems.push_back(where + "malformed enum line: " + line);
        continue;
      }
      ++enumLines;
      const std::string& enumName = col[1];
      const std::string& valueName = col[3];
      const pb::EnumDescriptor* en = pool_.FindEnumTypeByName(enumName);
      if (en == nullptr) {
        problems.push_back(where + "enum " + enumName + " is missing");
        continue;
      }
      const pb::EnumValueDescriptor* v = en->FindValueByName(valueName);
      if (v == nullptr) {
        problems.push_back(where + enumName + ": value " + valueName + " is missing");
      } else if (v->number() != number) {
        problems.push_back(where + enumName + "." + valueName + " is " + std::to_string(v->number()) +
                           ", spec " + std::to_string(number));
      }
    } else {
      problems.push_back(where + "unknown record kind: " + line);
    }
  }

  // Guard against a vacuous pass on an empty or mis-read spec.
  EXPECT_GT(fieldLines, 0) << "no field lines read from " << TT_WIRE_TSV;
  EXPECT_GT(enumLines, 0) << "no enum lines read from " << TT_WIRE_TSV;

  // Additions are allowed, but only optional ones: a new required field would make every original
  // client's message fail to parse on our side (and ours on theirs).
  for (const auto& msgName : specMessages) {
    const pb::Descriptor* msg = pool_.FindMessageTypeByName(msgName);
    if (msg == nullptr) continue;
    if (msg->file()->package() != packageOf(msgName) || msg->containing_type() != nullptr) {
      problems.push_back(msgName + ": must be a top-level message of package " + packageOf(msgName));
    }
    for (int i = 0; i < msg->field_count(); ++i) {
      const pb::FieldDescriptor* f = msg->field(i);
      if (specFields.count({msgName, f->number()}) == 0 && f->is_required()) {
        problems.push_back(msgName + "." + f->name() + ": required field not in the spec");
      }
    }
  }

  std::ostringstream report;
  for (const auto& p : problems) report << "\n  " << p;
  EXPECT_TRUE(problems.empty()) << problems.size() << " mismatch(es) between proto/ and "
                                << TT_WIRE_TSV << ":" << report.str();
}

// Messages without fields do not appear in the TSV but have command ids (docs/PROTOCOL.md §1.3).
TEST_F(WireSpec, EmptyBodyMessagesExist) {
  const char* const kEmpty[] = {"IM.Other.IMHeartBeat", "IM.Login.IMMsgServReq", "IM.Login.IMLogoutReq",
                                "IM.Message.IMClientTimeReq", "IM.Server.IMFileServerIPReq"};
  for (const char* name : kEmpty) {
    const pb::Descriptor* msg = pool_.FindMessageTypeByName(name);
    if (msg == nullptr) {
      ADD_FAILURE() << name << " is missing";
      continue;
    }
    for (int i = 0; i < msg->field_count(); ++i) {
      EXPECT_FALSE(msg->field(i)->is_required()) << name << "." << msg->field(i)->name();
    }
  }
}

TEST_F(WireSpec, FileOptionsMatchTheOriginal) {
  int imFiles = 0;
  for (const auto& fdp : set_.file()) {
    const pb::FileDescriptor* file = pool_.FindFileByName(fdp.name());
    ASSERT_NE(file, nullptr) << fdp.name();
    if (file->package().rfind("IM.", 0) != 0) continue;
    ++imFiles;
    EXPECT_EQ(file->name(), file->package() + ".proto");
    EXPECT_EQ(file->syntax(), pb::FileDescriptor::SYNTAX_PROTO2) << file->name();
    EXPECT_EQ(file->options().optimize_for(), pb::FileOptions::LITE_RUNTIME) << file->name();
    EXPECT_EQ(file->options().java_package(), "com.mogujie.tt.protobuf") << file->name();
  }
  EXPECT_EQ(imFiles, 9);
}

TEST_F(WireSpec, GroupCreateDefaultsToTemporaryGroup) {
  const pb::Descriptor* msg = pool_.FindMessageTypeByName("IM.Group.IMGroupCreateReq");
  ASSERT_NE(msg, nullptr);
  const pb::FieldDescriptor* f = msg->FindFieldByName("group_type");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->has_default_value());
  EXPECT_EQ(f->default_value_enum()->name(), "GROUP_TYPE_TMP");
}

// ---- generated lite classes (ttproto) ----

// "a\0b", U+1F600 (4 bytes of UTF-8), and bytes that are not UTF-8 at all.
const std::string kAwkwardBytes = std::string("a\0b", 3) + "\xF0\x9F\x98\x80" + std::string("\0\xFF\xFE\0", 4);

TEST(LiteRoundTrip, LoginReq) {
  IM::Login::IMLoginReq req;
  req.set_user_name("\xE5\xBC\xA0\xE4\xB8\x89\xF0\x9F\x98\x80");  // "张三😀"
  req.set_password("e10adc3949ba59abbe56e057f20f883e");
  req.set_online_status(IM::BaseDefine::USER_STATUS_ONLINE);
  req.set_client_type(IM::BaseDefine::CLIENT_TYPE_ANDROID);
  req.set_client_version("ANDROID/2.2");
  ASSERT_TRUE(req.IsInitialized());

  std::string wire;
  ASSERT_TRUE(req.SerializeToString(&wire));
  IM::Login::IMLoginReq back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.user_name(), req.user_name());
  EXPECT_EQ(back.password(), req.password());
  EXPECT_EQ(back.online_status(), IM::BaseDefine::USER_STATUS_ONLINE);
  EXPECT_EQ(back.client_type(), IM::BaseDefine::CLIENT_TYPE_ANDROID);
  EXPECT_EQ(back.client_version(), "ANDROID/2.2");
  EXPECT_EQ(back.SerializeAsString(), wire);
}

TEST(LiteRoundTrip, MsgDataKeepsNulsAndFourByteUtf8) {
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(1001);
  msg.set_to_session_id(0xFFFFFFFFu);
  msg.set_msg_id(0);
  msg.set_create_time(1440547200u);
  msg.set_msg_type(IM::BaseDefine::MSG_TYPE_GROUP_AUDIO);
  msg.set_msg_data(kAwkwardBytes);
  msg.set_attach_data(std::string("\0\x01", 2));
  ASSERT_EQ(msg.msg_data().size(), 11u);

  std::string wire;
  ASSERT_TRUE(msg.SerializeToString(&wire));
  IM::Message::IMMsgData back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.from_user_id(), 1001u);
  EXPECT_EQ(back.to_session_id(), 0xFFFFFFFFu);
  EXPECT_EQ(back.msg_id(), 0u);
  EXPECT_EQ(back.create_time(), 1440547200u);
  EXPECT_EQ(back.msg_type(), IM::BaseDefine::MSG_TYPE_GROUP_AUDIO);
  EXPECT_EQ(back.msg_data(), kAwkwardBytes);
  EXPECT_EQ(back.attach_data(), std::string("\0\x01", 2));
}

TEST(LiteRoundTrip, NestedRepeatedMessages) {
  IM::Message::IMGetMsgListRsp rsp;
  rsp.set_user_id(7);
  rsp.set_session_type(IM::BaseDefine::SESSION_TYPE_GROUP);
  rsp.set_session_id(42);
  rsp.set_msg_id_begin(0);
  for (uint32_t id = 3; id >= 1; --id) {
    IM::BaseDefine::MsgInfo* info = rsp.add_msg_list();
    info->set_msg_id(id);
    info->set_from_session_id(7);
    info->set_create_time(1000 + id);
    info->set_msg_type(IM::BaseDefine::MSG_TYPE_GROUP_TEXT);
    info->set_msg_data(kAwkwardBytes + std::to_string(id));
  }
  IM::Message::IMGetMsgListRsp back;
  ASSERT_TRUE(back.ParseFromString(rsp.SerializeAsString()));
  ASSERT_EQ(back.msg_list_size(), 3);
  EXPECT_EQ(back.msg_list(0).msg_id(), 3u);
  EXPECT_EQ(back.msg_list(2).msg_data(), kAwkwardBytes + "1");
}

// Exact bytes: a change of field number or type would show up here even without the TSV.
TEST(LiteRoundTrip, KnownWireBytes) {
  IM::Message::IMMsgDataAck ack;
  ack.set_user_id(1);
  ack.set_session_id(2);
  ack.set_msg_id(300);
  ack.set_session_type(IM::BaseDefine::SESSION_TYPE_SINGLE);
  EXPECT_EQ(ack.SerializeAsString(), std::string("\x08\x01\x10\x02\x18\xAC\x02\x20\x01", 9));
}

TEST(LiteRoundTrip, EmptyBodyMessages) {
  IM::Other::IMHeartBeat heartbeat;
  EXPECT_EQ(heartbeat.ByteSizeLong(), 0u);
  EXPECT_TRUE(heartbeat.SerializeAsString().empty());
  EXPECT_TRUE(heartbeat.ParseFromString(""));
  IM::Login::IMLogoutReq logout;
  EXPECT_TRUE(logout.ParseFromString(""));
}

TEST(LiteRoundTrip, GroupCreateDefaultsToTemporaryGroup) {
  IM::Group::IMGroupCreateReq req;
  EXPECT_FALSE(req.has_group_type());
  EXPECT_EQ(req.group_type(), IM::BaseDefine::GROUP_TYPE_TMP);
}

TEST(RequiredFields, MissingRequiredFieldIsNotInitialized) {
  IM::Login::IMLoginReq req;
  req.set_user_name("alice");
  req.set_online_status(IM::BaseDefine::USER_STATUS_ONLINE);
  req.set_client_type(IM::BaseDefine::CLIENT_TYPE_WINDOWS);
  // password (2) is required and missing.
  EXPECT_FALSE(req.IsInitialized());

  std::string wire;
  ASSERT_TRUE(req.SerializePartialToString(&wire));
  IM::Login::IMLoginReq parsed;
  EXPECT_FALSE(parsed.ParseFromString(wire)) << "a body without a required field must be rejected";
  EXPECT_TRUE(parsed.ParsePartialFromString(wire));
  EXPECT_FALSE(parsed.IsInitialized());

  req.set_password("e10adc3949ba59abbe56e057f20f883e");
  EXPECT_TRUE(req.IsInitialized());
}

TEST(RequiredFields, MissingRequiredFieldInNestedMessage) {
  IM::Login::IMLoginRes res;
  res.set_server_time(1);
  res.set_result_code(IM::BaseDefine::REFUSE_REASON_NONE);
  res.mutable_user_info()->set_user_id(5);  // the other required UserInfo fields are missing
  EXPECT_FALSE(res.IsInitialized());
}

// docs/PROTOCOL.md §1.3: an enum value the receiver does not know, in a required field, counts as missing.
TEST(RequiredFields, UnknownEnumValueInRequiredFieldFailsParse) {
  IM::Message::IMMsgDataAck ack;
  ack.set_user_id(1);
  ack.set_session_id(2);
  ack.set_msg_id(3);
  ack.set_session_type(IM::BaseDefine::SESSION_TYPE_GROUP);
  std::string wire = ack.SerializeAsString();
  ASSERT_EQ(wire.back(), '\x02');
  wire.back() = '\x63';  // session_type = 99
  IM::Message::IMMsgDataAck parsed;
  EXPECT_FALSE(parsed.ParseFromString(wire));
}

}  // namespace
