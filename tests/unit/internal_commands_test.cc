// ttcommon's internal-only conventions between the daemons (proto/InternalCommands.h,
// docs/PROTOCOL.md §4.3, §4.4, §4.6): the values on the wire must not change.
#include <string>

#include <gtest/gtest.h>

#include "proto/InternalCommands.h"

using namespace tt::internal;

TEST(InternalCommands, AnyDeviceStatQueryIsAllOnes) { EXPECT_EQ(kAnyDeviceStatQuery, 0xffffffffu); }

TEST(InternalCommands, ClearIfTokenRoundTrip) {
  EXPECT_EQ(kClearIfTokenPrefix, "tt-clear-if-token:");
  EXPECT_EQ(clearIfTokenAttachData("abc"), "tt-clear-if-token:abc");
  EXPECT_EQ(clearIfTokenOf(clearIfTokenAttachData("fcm:x/1")).value_or("?"), "fcm:x/1");
  EXPECT_EQ(clearIfTokenOf("tt-clear-if-token:").value_or("?"), "");  // an empty token
  EXPECT_FALSE(clearIfTokenOf(""));
  EXPECT_FALSE(clearIfTokenOf("tt-clear-if-token"));  // the prefix needs its colon
  EXPECT_FALSE(clearIfTokenOf(std::string(16, '\x01')));  // msg_server's 16-byte request id
  EXPECT_FALSE(clearIfTokenOf("x tt-clear-if-token:abc"));
}
