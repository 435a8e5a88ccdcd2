// msg_server/handlers/push.cc: the alert text (docs/PROTOCOL.md §3.10.2) and its UTF-8-safe truncation.
#include <gtest/gtest.h>

#include <string>

#include "IM.BaseDefine.pb.h"
#include "msg_server/MsgServer.h"

namespace tt::msg {
namespace {

using namespace IM::BaseDefine;

bool validUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

TEST(PushText, ShortTextIsNickColonText) {
  EXPECT_EQ(pushAlertText("alice", MSG_TYPE_SINGLE_TEXT, "hi", true), "alice:hi");
  EXPECT_EQ(pushAlertText("alice", MSG_TYPE_GROUP_TEXT, "hi", true), "alice:hi");
}

TEST(PushText, LongAsciiIsCutAt37BytesPlusDots) {
  const std::string text(100, 'x');
  const std::string flash = pushAlertText("bob", MSG_TYPE_SINGLE_TEXT, text, true);
  EXPECT_EQ(flash, "bob:" + std::string(33, 'x') + "...");
  EXPECT_EQ(flash.size(), 40u);
}

TEST(PushText, CutNeverSplitsAUtf8Character) {
  // Every cut position inside 3- and 4-byte characters.
  for (size_t pad = 0; pad < 4; ++pad) {
    const std::string text = std::string(pad, 'a') + "你好世界你好世界你好世界你好世界😀😀😀";
    const std::string flash = pushAlertText("n", MSG_TYPE_SINGLE_TEXT, text, true);
    EXPECT_TRUE(validUtf8(flash)) << "pad " << pad;
    EXPECT_LE(flash.size(), 37u + 3u);
    EXPECT_EQ(flash.substr(flash.size() - 3), "...");
    EXPECT_EQ(("n:" + text).compare(0, flash.size() - 3, flash, 0, flash.size() - 3), 0);
  }
  EXPECT_EQ(truncateUtf8("abc", 37), "abc");
  EXPECT_EQ(truncateUtf8(std::string(37, 'a'), 37), std::string(37, 'a'));
  EXPECT_EQ(truncateUtf8("", 37), "");
}

TEST(PushText, ImagesAudioAndUnknownSendersGetFixedTexts) {
  EXPECT_EQ(pushAlertText("alice", MSG_TYPE_SINGLE_TEXT, "look &$#@~^@[{:http://x/y.png:}]&$~@#@", true),
            "您收到了一条消息");
  EXPECT_EQ(pushAlertText("al", MSG_TYPE_SINGLE_AUDIO, "", false), "al给您发送了一条语音消息");  // 35 bytes
  EXPECT_EQ(pushAlertText("alice", MSG_TYPE_SINGLE_AUDIO, "", false), "alice给您发送了一条语音消...");  // 38 > 37
  // 5 + 36 bytes: cut back to a character boundary at or below 37 bytes.
  const std::string group = pushAlertText("alice", MSG_TYPE_GROUP_AUDIO, "", false);
  EXPECT_TRUE(validUtf8(group));
  EXPECT_EQ(group.rfind("alice在群聊中", 0), 0u);
  EXPECT_EQ(pushAlertText("", MSG_TYPE_SINGLE_TEXT, "hi", true), "您收到了一条消息");
  EXPECT_EQ(pushAlertText("alice", MSG_TYPE_SINGLE_TEXT, "", false), "您收到了一条消息");  // did not decrypt
}

}  // namespace
}  // namespace tt::msg
