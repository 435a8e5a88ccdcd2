// ttcommon's content codec (proto/ContentCodec.h, docs/PROTOCOL.md §3.12): AES-256-ECB, zero padding
// with the length in the last 4 bytes, Base64; and md5hex passwords.
#include <string>

#include <gtest/gtest.h>

#include "proto/ContentCodec.h"

using namespace tt::codec;

namespace {
// Blocks of ciphertext = ceil(len/16), plus one if len % 16 == 0 or len % 16 > 12.
size_t expectedBlocks(size_t len) {
  size_t blocks = (len + 15) / 16;
  if (len % 16 == 0 || len % 16 > 12) ++blocks;
  return blocks;
}
}  // namespace

TEST(ContentCodec, RoundTripsEveryLengthFrom0To40WithTheExtraBlockRule) {
  for (size_t len = 0; len <= 40; ++len) {
    std::string plain;
    for (size_t i = 0; i < len; ++i) plain.push_back(static_cast<char>('a' + i % 26));
    const std::string enc = encryptText(plain);
    ASSERT_FALSE(enc.empty()) << len;
    auto raw = base64Decode(enc);
    ASSERT_TRUE(raw) << len;
    EXPECT_EQ(raw->size(), expectedBlocks(len) * 16) << "len " << len;
    auto dec = decryptText(enc);
    ASSERT_TRUE(dec) << len;
    EXPECT_EQ(*dec, plain) << len;
  }
}

TEST(ContentCodec, BlockCountsAtTheBoundaries) {
  // 0 -> 1 block (only the length), 12 -> 1, 13 -> 2, 16 -> 2, 17 -> 2, 28 -> 2, 29 -> 3, 32 -> 3.
  const std::pair<size_t, size_t> cases[] = {{0, 1}, {12, 1}, {13, 2}, {16, 2}, {17, 2}, {28, 2}, {29, 3}, {32, 3}};
  for (auto [len, blocks] : cases) {
    auto raw = base64Decode(encryptText(std::string(len, 'x')));
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), blocks * 16) << "len " << len;
  }
}

// Vectors computed independently of this code:
//   KEY=$(printf 12345678901234567890123456789012 | xxd -p | tr -d '\n')
//   python3 -c 'import sys,struct; p=b"hello"; b=bytearray(16); b[:5]=p; b[-4:]=struct.pack(">I",5);
//               sys.stdout.buffer.write(b)' | openssl enc -aes-256-ecb -nopad -K $KEY | base64 -w0
// (the same with the padding rule applied for the other two plaintexts).
TEST(ContentCodec, KnownVectors) {
  EXPECT_EQ(encryptText("hello"), "nnZSBwfPCz60q69ddmfIJA==");
  EXPECT_EQ(encryptText("0123456789abcdef"), "BY1wZOT9JPljcE5qNjw9cQfU6OB7fpsvZh6GP3dYB9g=");
  // The placeholder servers store for audio: 8 UTF-8 bytes, one block.
  EXPECT_EQ(encryptText("[语音]"), "QhGXlpFjvMFUNrtl1aaPzA==");
  EXPECT_EQ(decryptText("nnZSBwfPCz60q69ddmfIJA==").value_or("?"), "hello");
  EXPECT_EQ(decryptText("QhGXlpFjvMFUNrtl1aaPzA==").value_or("?"), "[语音]");
}

TEST(ContentCodec, Utf8AndBinaryRoundTrip) {
  for (std::string s : {std::string("[语音]"), std::string("你好，世界 hello"), std::string("a\0b\0c", 5),
                        std::string("&$#@~^@[{:http://x/y.png:}]&$~@#@")}) {
    EXPECT_EQ(decryptText(encryptText(s)).value_or("?"), s);
  }
}

TEST(ContentCodec, OutputIsPlainBase64WithoutNewlines) {
  const std::string enc = encryptText(std::string(300, 'z'));
  EXPECT_EQ(enc.find('\n'), std::string::npos);
  EXPECT_EQ(enc.size() % 4, 0u);
}

TEST(ContentCodec, GarbageNeverDecrypts) {
  EXPECT_FALSE(decryptText(""));
  EXPECT_FALSE(decryptText("not base64 at all!"));
  EXPECT_FALSE(decryptText("YWJj"));                       // valid Base64, 3 bytes: not whole blocks
  EXPECT_FALSE(decryptText("nnZSBwfPCz60q69ddmfIJA="));    // bad length
  EXPECT_FALSE(decryptText("nnZSBwfPCz60q69ddmfIJA==\n"));  // trailing junk
  EXPECT_FALSE(decryptText("nnZSBw=PCz60q69ddmfIJA=="));   // '=' in the middle
  EXPECT_FALSE(decryptText("nnZSBwfPCz60q69ddmfIJB=="));   // not canonical: bits under the padding
  // 16 random-looking bytes decrypt to a block whose trailer is almost surely > 12.
  EXPECT_FALSE(decryptText(base64Encode("0123456789ABCDEF")));
  // A different key: the trailer comes out as garbage.
  EXPECT_FALSE(decryptText(encryptText("hello"), "abcdefghijabcdefghijabcdefghij12"));
  // Random inputs of many shapes: must not crash.
  std::string s;
  for (int i = 0; i < 2000; ++i) {
    s.push_back(static_cast<char>((i * 7919) % 256));
    (void)decryptText(s);
    (void)decryptText(base64Encode(s));
  }
}

TEST(ContentCodec, WrongKeyLengthFailsCleanly) {
  EXPECT_EQ(encryptText("hello", "short"), "");
  EXPECT_FALSE(decryptText("nnZSBwfPCz60q69ddmfIJA==", "short"));
}

TEST(ContentCodec, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Decode("Zg==").value_or("?"), "f");
  EXPECT_EQ(base64Decode("Zm8=").value_or("?"), "fo");
  EXPECT_EQ(base64Decode("Zm9vYmFy").value_or("?"), "foobar");
}

TEST(ContentCodec, Base64RoundTripsAndRejectsNonCanonical) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("foob"), std::string("\0\xff\x10", 3)}) {
    auto back = base64Decode(base64Encode(s));
    ASSERT_TRUE(back) << base64Encode(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(base64Decode("Zm9vYg="));    // length not a multiple of 4
  EXPECT_FALSE(base64Decode("Zm9vYh=="));   // non-zero bits under the padding
  EXPECT_FALSE(base64Decode("Zm9vYmF="));   // ... and under one '=' ("Zm9vYmE=" is "fooba")
  EXPECT_EQ(base64Decode("Zm9vYmE=").value_or("?"), "fooba");
  EXPECT_FALSE(base64Decode("Zm=vYg=="));   // padding in the middle
  EXPECT_FALSE(base64Decode("Zm9v Yg="));   // outside the alphabet
  EXPECT_FALSE(base64Decode("Zm9vY==="));   // three padding characters
  EXPECT_FALSE(base64Decode("===="));       // padding only
  EXPECT_FALSE(base64Decode("Zm9v-_=="));   // URL-safe alphabet is not ours
  EXPECT_FALSE(base64Decode("Zm9vYg==\n")); // no newline
  EXPECT_EQ(base64Encode(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(ContentCodec, Md5HexIsLowercase32Chars) {
  // printf ttsuite | md5sum
  EXPECT_EQ(md5Hex("ttsuite"), "ce610a8a8a0c5e8ed0b26b38b8b8733d");
  EXPECT_EQ(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5Hex("admin"), "21232f297a57a5a743894a0e4a801fc3");  // the original's IMAdmin seed
}
