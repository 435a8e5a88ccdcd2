// tt_make_demo_hash: prints the IMUser.password value for a password.
//
//   tt_make_demo_hash [--credential] [--iterations N] <password> [<salt hex>]
//
// The value hashes what the client would send, md5hex(password); with --credential the argument
// already is that 32-hex credential. Without a salt a random one is used (for real accounts);
// with a hex salt the output is reproducible (demo data, tests).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "db_proxy_server/auth/PasswordHash.h"
#include "proto/ContentCodec.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: tt_make_demo_hash [--credential] [--iterations N] <password> [<salt hex>]\n");
  return 2;
}

bool decodeHex(const std::string& hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool isCredential = false;
  uint32_t iterations = tt::auth::kDefaultIterations;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; ++i) {
    if (std::strcmp(argv[i], "--credential") == 0) {
      isCredential = true;
    } else if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || n == 0 || n > tt::auth::kMaxIterations) {
        std::fprintf(stderr, "tt_make_demo_hash: bad --iterations\n");
        return 2;
      }
      iterations = static_cast<uint32_t>(n);
    } else {
      return usage();
    }
  }
  if (argc - i < 1 || argc - i > 2) return usage();

  const std::string credential = isCredential ? argv[i] : tt::codec::md5Hex(argv[i]);
  std::string hashed;
  if (argc - i == 2) {
    std::string salt;
    if (!decodeHex(argv[i + 1], &salt)) {
      std::fprintf(stderr, "tt_make_demo_hash: salt must be an even number of hex digits\n");
      return 2;
    }
    hashed = tt::auth::hashCredentialWithSalt(credential, salt, iterations);
  } else {
    hashed = tt::auth::hashCredential(credential, iterations);
  }
  if (hashed.empty()) {
    std::fprintf(stderr, "tt_make_demo_hash: hashing failed (salt 1..64 bytes?)\n");
    return 1;
  }
  std::printf("%s\n", hashed.c_str());
  return 0;
}
