#include "base/StringUtil.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tt {
namespace {

using Items = std::vector<std::string>;

TEST(StringUtil, TrimStripsAllWhitespaceKinds) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("\v\fx"), "x");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t \r\n"), "");
}

TEST(StringUtil, SplitKeepsEmptyItemsUnlessAsked) {
  EXPECT_EQ(split("a,,b", ','), (Items{"a", "", "b"}));
  EXPECT_EQ(split("a,,b", ',', true), (Items{"a", "b"}));
  EXPECT_EQ(split(",a,", ','), (Items{"", "a", ""}));
  EXPECT_EQ(split(",a,", ',', true), (Items{"a"}));
  EXPECT_EQ(split("abc", ','), (Items{"abc"}));
  EXPECT_EQ(split("", ','), (Items{""}));
  EXPECT_TRUE(split("", ',', true).empty());
  EXPECT_EQ(split(" a ; b ", ';'), (Items{" a ", " b "}));  // no trimming
}

TEST(StringUtil, StartsAndEndsWith) {
  EXPECT_TRUE(startsWith("DBServerIP1", "DBServerIP"));
  EXPECT_TRUE(startsWith("abc", ""));
  EXPECT_FALSE(startsWith("ab", "abc"));
  EXPECT_FALSE(startsWith("xabc", "abc"));
  EXPECT_TRUE(endsWith("msgserver.conf", ".conf"));
  EXPECT_TRUE(endsWith("abc", ""));
  EXPECT_FALSE(endsWith("bc", "abc"));
  EXPECT_FALSE(endsWith("abcx", "abc"));
}

TEST(StringUtil, ToHexIsLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(toHex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(toHex(""), "");
  const unsigned char raw[] = {0xDE, 0xAD, 0x0F};
  EXPECT_EQ(toHex(raw, sizeof raw), "dead0f");
}

TEST(StringUtil, ParseInt64AcceptsWholeDecimalNumbers) {
  int64_t v = 0;
  ASSERT_TRUE(parseInt64("8000", v));
  EXPECT_EQ(v, 8000);
  ASSERT_TRUE(parseInt64("-42", v));
  EXPECT_EQ(v, -42);
  ASSERT_TRUE(parseInt64("0", v));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(parseInt64("9223372036854775807", v));
  EXPECT_EQ(v, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(parseInt64("-9223372036854775808", v));
  EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
}

TEST(StringUtil, ParseInt64RejectsAnythingElseAndLeavesOutAlone) {
  for (const char* bad : {"", "-", "+5", " 5", "5 ", "12abc", "abc", "0x10", "1.5", "1e3",
                          "9223372036854775808", "-9223372036854775809"}) {
    int64_t v = 77;
    EXPECT_FALSE(parseInt64(bad, v)) << "'" << bad << "'";
    EXPECT_EQ(v, 77) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace tt
