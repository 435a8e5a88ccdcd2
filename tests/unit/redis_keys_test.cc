// ttcommon's Redis layout (proto/RedisKeys.h, docs/PROTOCOL.md §5.2): every key spelled as
// TeamTalk's db_proxy spells it, so a Redis TeamTalk filled keeps its meaning.
#include <string>

#include <gtest/gtest.h>

#include "proto/RedisKeys.h"

using namespace tt::rediskey;

TEST(RedisKeys, InstanceNames) {
  EXPECT_STREQ(kUnreadInstance, "unread");
  EXPECT_STREQ(kGroupSetInstance, "group_set");
  EXPECT_STREQ(kTokenInstance, "token");
  EXPECT_STREQ(kSyncInstance, "sync");
  EXPECT_STREQ(kGroupMemberInstance, "group_member");
}

TEST(RedisKeys, UnreadInstance) {
  EXPECT_EQ(unreadKey(1221), "unread_1221");
  EXPECT_EQ(unreadKey(0), "unread_0");
  EXPECT_EQ(unreadKey(0xffffffffu), "unread_4294967295");
  EXPECT_EQ(groupReadKey(4020, 401), "4020_401_im_user_group");
  EXPECT_STREQ(kGroupReadField, "count");
  EXPECT_STREQ(kGroupSyncWatermarkKey, "last_update_group");
}

TEST(RedisKeys, GroupSetInstance) {
  EXPECT_EQ(groupShieldKey(7), "group_set_7");
  EXPECT_EQ(groupShieldField(3110), "3110_1");
}

TEST(RedisKeys, TokenInstance) {
  EXPECT_EQ(userTokenKey(1120), "device_1120");
  EXPECT_EQ(userTokenKey(std::string("1120")), "device_1120");  // a uid read back as text
  EXPECT_EQ(tokenOwnerKey("fcm:token/1121"), "device_fcm:token/1121");
  EXPECT_EQ(kIosTokenPrefix, "ios:");
  EXPECT_EQ(kAndroidTokenPrefix, "android:");
}
