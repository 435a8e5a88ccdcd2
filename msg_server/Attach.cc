#include "msg_server/Attach.h"

#include <random>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace tt::msg {

namespace {
using google::protobuf::internal::WireFormatLite;
constexpr uint32_t kAttachField = 20;

// Walks the fields of body; calls visit(fieldNumber, start, end, valueStart, valueEnd) for each.
template <class Visit>
bool walk(std::string_view body, Visit visit) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()),
                                             static_cast<int>(body.size()));
  while (true) {
    const int start = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    // ReadTag() gives 0 both at the end and for a literal 0 byte (an invalid tag).
    if (tag == 0) return start == static_cast<int>(body.size());
    const uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len;
      if (!in.ReadVarint32(&len)) return false;
      const int valueStart = in.CurrentPosition();
      if (!in.Skip(static_cast<int>(len))) return false;
      visit(field, start, in.CurrentPosition(), valueStart);
    } else {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      visit(field, start, in.CurrentPosition(), -1);
    }
  }
}
}  // namespace

namespace {
uint64_t instanceTag() {
  static const uint64_t tag = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return tag;
}
void put64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get64(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}
}  // namespace

std::string encodeRequestId(uint64_t id) {
  std::string s;
  s.reserve(16);
  put64(s, instanceTag());
  put64(s, id);
  return s;
}

std::optional<uint64_t> decodeRequestId(std::string_view attach) {
  if (attach.size() != 16 || get64(attach.substr(0, 8)) != instanceTag()) return std::nullopt;
  return get64(attach.substr(8));
}

std::optional<std::string> findAttach(std::string_view body) {
  std::optional<std::string> found;
  const bool ok = walk(body, [&](uint32_t field, int, int end, int valueStart) {
    if (field == kAttachField && valueStart >= 0) found = std::string(body.substr(valueStart, end - valueStart));
  });
  if (!ok) return std::nullopt;
  return found;
}

bool stripAttach(std::string_view body, std::string* out) {
  out->clear();
  out->reserve(body.size());
  return walk(body, [&](uint32_t field, int start, int end, int) {
    if (field != kAttachField) out->append(body.data() + start, static_cast<size_t>(end - start));
  });
}

}  // namespace tt::msg
