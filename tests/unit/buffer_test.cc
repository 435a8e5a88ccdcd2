#include "netlib/Buffer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

using tt::net::Buffer;

TEST(Buffer, StartsEmptyWithoutAllocating) {
  Buffer b;
  EXPECT_EQ(b.readableBytes(), 0u);
  EXPECT_EQ(b.capacity(), 0u);  // idle connections cost no heap until bytes arrive
}

TEST(Buffer, AppendRetrieveKeepsOrder) {
  Buffer b;
  b.append("hello ");
  b.append("world");
  EXPECT_EQ(b.view(), "hello world");
  b.retrieve(6);
  EXPECT_EQ(b.view(), "world");
  EXPECT_EQ(b.retrieveAllAsString(), "world");
  EXPECT_EQ(b.readableBytes(), 0u);
}

TEST(Buffer, GrowsForLargeAppends) {
  Buffer b;
  std::string big(3 * 1024 * 1024, 'x');
  big[12345] = 'y';
  b.append(big);
  EXPECT_EQ(b.readableBytes(), big.size());
  EXPECT_EQ(b.view(), big);
}

TEST(Buffer, ReusesConsumedSpaceInsteadOfGrowing) {
  Buffer b;
  b.append(std::string(800, 'a'));
  const size_t cap = b.capacity();
  b.retrieve(700);
  b.append(std::string(600, 'b'));  // fits after moving the 100 unread bytes to the front
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.view(), std::string(100, 'a') + std::string(600, 'b'));
}

TEST(Buffer, IntegersAreBigEndian) {
  Buffer b;
  b.appendUint32(0x01020304);
  b.appendUint16(0x0506);
  ASSERT_EQ(b.readableBytes(), 6u);
  EXPECT_EQ(static_cast<unsigned char>(b.peek()[0]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(b.peek()[3]), 0x04);
  EXPECT_EQ(b.peekUint32(), 0x01020304u);
  EXPECT_EQ(b.peekUint16(4), 0x0506u);
}

TEST(Buffer, ShrinksWhenEmptyAfterABurst) {
  Buffer b;
  b.append(std::string(1 << 20, 'z'));
  EXPECT_GE(b.capacity(), 1u << 20);
  b.shrinkIfIdle();  // not empty: keeps memory
  EXPECT_GE(b.capacity(), 1u << 20);
  b.retrieveAll();
  b.shrinkIfIdle();
  EXPECT_LE(b.capacity(), Buffer::kIdleKeepCapacity);
}

TEST(Buffer, ReadFdSpillsLargeReadsIntoTheBuffer) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int size = 1 << 20;
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  std::string payload(100000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  size_t sent = 0;
  while (sent < payload.size()) {
    ssize_t n = ::write(sv[0], payload.data() + sent, payload.size() - sent);
    ASSERT_GT(n, 0);
    sent += static_cast<size_t>(n);
  }
  Buffer b;
  int err = 0;
  std::string got;
  while (got.size() < sent) {
    ssize_t n = b.readFd(sv[1], &err);
    ASSERT_GT(n, 0) << err;
    got += b.retrieveAllAsString();
  }
  EXPECT_EQ(got, payload.substr(0, sent));
  ::close(sv[0]);
  ::close(sv[1]);
}
