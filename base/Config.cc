#include "base/Config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/StringUtil.h"

namespace tt {

namespace {

std::string at(const std::string& source, int line) {
  return source + ":" + std::to_string(line);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Config Config::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // Captured right away: the ifstream constructor is the last call that set errno.
    throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": error while reading config file");
  return parse(text.str(), path);
}

Config Config::parse(const std::string& text, const std::string& sourceName) {
  Config config(sourceName);
  std::string_view rest(text);
  // Files saved by some Windows editors start with a UTF-8 BOM; it would otherwise glue itself
  // to the first key.
  if (startsWith(rest, "\xEF\xBB\xBF")) rest.remove_prefix(3);

  int lineNo = 0;
  while (!rest.empty()) {
    ++lineNo;
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);

    line = line.substr(0, line.find('#'));
    const std::string content = trim(line);
    if (content.empty()) continue;

    const size_t eq = content.find('=');
    if (eq == std::string::npos) {
      throw ConfigError(at(sourceName, lineNo) + ": expected 'key=value', got '" + content + "'");
    }
    std::string key = trim(std::string_view(content).substr(0, eq));
    std::string value = trim(std::string_view(content).substr(eq + 1));
    if (key.empty()) throw ConfigError(at(sourceName, lineNo) + ": empty key before '='");

    const auto [it, inserted] = config.entries_.try_emplace(key, Entry{std::move(value), lineNo});
    if (!inserted) {
      // TeamTalk's reader silently kept one of the two; refusing makes an edit that did not take
      // effect impossible to miss.
      throw ConfigError(at(sourceName, lineNo) + ": duplicate key '" + key +
                        "' (first set on line " + std::to_string(it->second.line) + ")");
    }
    config.order_.push_back(std::move(key));
  }
  return config;
}

const Config::Entry* Config::find(const std::string& key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.value.empty()) return nullptr;
  return &it->second;
}

const Config::Entry& Config::require(const std::string& key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    throw ConfigError(source_ + ": missing required key '" + key + "'");
  }
  if (it->second.value.empty()) {
    throw ConfigError(at(source_, it->second.line) + ": key '" + key + "': value is empty");
  }
  return it->second;
}

void Config::fail(const std::string& key, const std::string& what) const {
  const auto it = entries_.find(key);
  const std::string where = it == entries_.end() ? source_ : at(source_, it->second.line);
  throw ConfigError(where + ": key '" + key + "': " + what);
}

bool Config::has(const std::string& key) const { return find(key) != nullptr; }

std::string Config::getString(const std::string& key) const { return require(key).value; }

std::string Config::getString(const std::string& key, const std::string& defaultValue) const {
  const Entry* entry = find(key);
  return entry ? entry->value : defaultValue;
}

int64_t Config::toInt(const std::string& key, const Entry& entry) const {
  int64_t value = 0;
  if (!parseInt64(entry.value, value)) fail(key, "'" + entry.value + "' is not an integer");
  return value;
}

int64_t Config::checkRange(const std::string& key, int64_t value, int64_t min,
                           int64_t max) const {
  if (value < min || value > max) {
    fail(key, std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
  }
  return value;
}

int64_t Config::getInt(const std::string& key) const { return toInt(key, require(key)); }

int64_t Config::getInt(const std::string& key, int64_t defaultValue) const {
  const Entry* entry = find(key);
  return entry ? toInt(key, *entry) : defaultValue;
}

int64_t Config::getInt(const std::string& key, int64_t defaultValue, int64_t min,
                       int64_t max) const {
  const Entry* entry = find(key);
  return entry ? checkRange(key, toInt(key, *entry), min, max) : defaultValue;
}

bool Config::getBool(const std::string& key, bool defaultValue) const {
  const Entry* entry = find(key);
  if (!entry) return defaultValue;
  const std::string v = lower(entry->value);
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  fail(key, "'" + entry->value + "' is not a boolean (use 0/1, true/false or yes/no)");
}

uint16_t Config::getPort(const std::string& key) const {
  return static_cast<uint16_t>(checkRange(key, getInt(key), 1, 65535));
}

std::vector<std::string> Config::splitList(const Entry& entry, char sep) const {
  std::vector<std::string> items;
  for (const std::string& raw : split(entry.value, sep)) {
    std::string item = trim(raw);
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

std::vector<std::string> Config::getList(const std::string& key, char sep) const {
  const Entry* entry = find(key);
  return entry ? splitList(*entry, sep) : std::vector<std::string>{};
}

std::vector<std::string> Config::getRequiredList(const std::string& key, char sep) const {
  std::vector<std::string> items = splitList(require(key), sep);
  if (items.empty()) fail(key, std::string("list has no items (separator '") + sep + "')");
  return items;
}

std::vector<ServerAddr> Config::getServerList(const std::string& ipPrefix,
                                              const std::string& portPrefix) const {
  std::vector<ServerAddr> servers;
  int index = 1;
  for (;; ++index) {
    const std::string ipKey = ipPrefix + std::to_string(index);
    if (!has(ipKey)) break;
    const std::string portKey = portPrefix + std::to_string(index);
    if (!has(portKey)) {
      throw ConfigError(at(source_, entries_.at(ipKey).line) + ": key '" + portKey +
                        "' is missing for '" + ipKey + "'");
    }
    servers.push_back(ServerAddr{getString(ipKey), getPort(portKey)});
  }
  // Numbering stops at the first gap, as in TeamTalk. A server after the gap is almost certainly
  // a typo, so say so instead of dropping it silently.
  for (const std::string& key : order_) {
    if (!startsWith(key, ipPrefix)) continue;
    int64_t n = 0;
    if (parseInt64(std::string_view(key).substr(ipPrefix.size()), n) && n > index) {
      spdlog::warn("{}: key '{}' ignored: numbering stops at {}{}", source_, key, ipPrefix, index);
    }
  }
  return servers;
}

}  // namespace tt
