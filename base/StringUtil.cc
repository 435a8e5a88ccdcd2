#include "base/StringUtil.h"

#include <charconv>

namespace tt {

namespace {
constexpr std::string_view kSpace = " \t\r\n\f\v";
}

std::string trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kSpace);
  return std::string(s.substr(begin, end - begin + 1));
}

std::vector<std::string> split(std::string_view s, char sep, bool skipEmpty) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    const std::string_view item =
        s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    if (!skipEmpty || !item.empty()) items.emplace_back(item);
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return items;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string toHex(const void* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out(len * 2, '\0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

std::string toHex(std::string_view bytes) { return toHex(bytes.data(), bytes.size()); }

bool parseInt64(std::string_view s, int64_t& out) {
  int64_t value = 0;
  const char* end = s.data() + s.size();
  // from_chars already refuses whitespace, '+' and overflow; we only add "must consume everything".
  const auto [ptr, ec] = std::from_chars(s.data(), end, value, 10);
  if (ec != std::errc() || ptr != end) return false;
  out = value;
  return true;
}

}  // namespace tt
