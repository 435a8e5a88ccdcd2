#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tt {

// Strips spaces, tabs, CR/LF, FF and VT from both ends. Returns a copy rather than a view so a
// temporary argument can never leave the caller holding a dangling view.
std::string trim(std::string_view s);

// split("a,,b", ',') -> {"a", "", "b"}; with skipEmpty -> {"a", "b"}. Items are not trimmed.
// split("", ',') -> {""} (one empty item) unless skipEmpty.
std::vector<std::string> split(std::string_view s, char sep, bool skipEmpty = false);

bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);

// Lowercase hex, two digits per byte: "\x01\xab" -> "01ab".
std::string toHex(std::string_view bytes);
std::string toHex(const void* data, size_t len);

// Strict: the whole string must be an optional '-' followed by decimal digits and fit in int64_t.
// No whitespace, no '+', no hex. `out` is written only on success.
bool parseInt64(std::string_view s, int64_t& out);

}  // namespace tt
