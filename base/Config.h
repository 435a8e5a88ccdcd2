#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace tt {

// Thrown for every problem with a config file. The message is meant to be printed as the one line
// a daemon exits with, so it always names the file and, when there is one, the key and line:
//   msgserver.conf: missing required key 'ListenPort'
//   msgserver.conf:12: key 'ListenPort': 'abc' is not an integer
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServerAddr {
  std::string host;
  uint16_t port = 0;
};

// A parsed TeamTalk `.conf` file: `key = value` per line, `#` starts a comment anywhere on a line,
// blank lines are ignored. Keys are case-sensitive, as in TeamTalk.
//
// A key written with an empty value (`LogFile=`) counts as unset: has() is false, getters with a
// default return the default and required getters throw. That is how the stock TeamTalk files
// switch an option off.
//
// Values cannot contain '#'; nothing in the TeamTalk key set needs one.
class Config {
 public:
  static Config load(const std::string& path);  // throws ConfigError if unreadable or malformed
  static Config parse(const std::string& text, const std::string& sourceName);

  const std::string& source() const { return source_; }
  std::vector<std::string> keys() const { return order_; }  // every key, in file order
  bool has(const std::string& key) const;

  std::string getString(const std::string& key) const;  // required
  std::string getString(const std::string& key, const std::string& defaultValue) const;

  int64_t getInt(const std::string& key) const;  // required
  int64_t getInt(const std::string& key, int64_t defaultValue) const;
  // The default is returned as is when the key is unset; only a written value is range-checked.
  int64_t getInt(const std::string& key, int64_t defaultValue, int64_t min, int64_t max) const;

  bool getBool(const std::string& key, bool defaultValue) const;  // 0/1, true/false, yes/no
  uint16_t getPort(const std::string& key) const;                 // required, 1..65535

  // Items trimmed, empty items dropped. getList: unset -> empty. getRequiredList: unset or no
  // items -> ConfigError.
  std::vector<std::string> getList(const std::string& key, char sep = ';') const;
  std::vector<std::string> getRequiredList(const std::string& key, char sep = ';') const;

  // Numbered pairs: getServerList("DBServerIP", "DBServerPort") reads DBServerIP1/DBServerPort1,
  // DBServerIP2/DBServerPort2, ... up to the first missing IP. An IP without its port throws.
  std::vector<ServerAddr> getServerList(const std::string& ipPrefix,
                                        const std::string& portPrefix) const;

  // For checks only the caller understands (an enum, a path): throws ConfigError worded like
  // the built-in ones, "<file>:<line>: key '<key>': <what>".
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  struct Entry {
    std::string value;
    int line = 0;
  };

  explicit Config(std::string source) : source_(std::move(source)) {}

  const Entry* find(const std::string& key) const;  // nullptr when unset (absent or empty)
  const Entry& require(const std::string& key) const;
  int64_t toInt(const std::string& key, const Entry& entry) const;
  int64_t checkRange(const std::string& key, int64_t value, int64_t min, int64_t max) const;
  std::vector<std::string> splitList(const Entry& entry, char sep) const;

  std::string source_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::string> order_;
};

}  // namespace tt
