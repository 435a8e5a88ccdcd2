#pragma once
// One Redis connection (hiredis, blocking, with connect and command timeouts). Commands are sent
// as argument vectors with explicit lengths, so keys and values may hold any bytes.
//
// A connection belongs to one thread at a time (the pool's lease guarantees it); it has no lock.
// The process must ignore SIGPIPE (tt::openSignalFd() does): hiredis writes with write(2).

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct redisContext;  // from <hiredis/hiredis.h>: kept out of this header

namespace tt::db {

// Connection-level failures only (connect, I/O, timeout, out-of-step protocol); the connection is
// then broken. An error *reply* is a value (RedisReply::Type::Error), except from the typed
// helpers below, which throw RedisError for it but leave the connection usable.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An owned copy of a reply.
struct RedisReply {
  enum class Type { Nil, Integer, String, Status, Error, Array };

  Type type = Type::Nil;
  long long integer = 0;            // Integer
  std::string str;                  // String, Status, Error
  std::vector<RedisReply> elements; // Array

  bool isNil() const { return type == Type::Nil; }
  bool isInteger() const { return type == Type::Integer; }
  bool isString() const { return type == Type::String; }
  bool isStatus() const { return type == Type::Status; }
  bool isError() const { return type == Type::Error; }
  bool isArray() const { return type == Type::Array; }
};

struct RedisConfig {
  std::string host = "127.0.0.1";  // a path starting with '/' means a unix socket
  uint16_t port = 6379;
  int db = 0;                      // SELECTed on connect when not 0
  std::string password;            // AUTH on connect when set
  size_t maxConns = 8;
  int connectTimeoutMs = 2000;
  int commandTimeoutMs = 5000;
};

class RedisConn {
 public:
  using Config = RedisConfig;
  using Error = RedisError;
  static constexpr const char* kKind = "redis";

  // Connects, AUTHs and SELECTs. `label` (the pool's "redis <name>") prefixes every error
  // message. Throws RedisError.
  RedisConn(std::string label, const RedisConfig& config);
  ~RedisConn();

  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // One command. Throws RedisError on I/O failure (and marks the connection broken).
  RedisReply command(const std::vector<std::string>& args);
  // Sends every command, then reads every reply (one round trip's worth of latency). Replies
  // are in command order; error replies are values.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands);

  // Typed helpers: an error reply or an unexpected reply type throws RedisError (the connection
  // stays usable).
  std::optional<std::string> get(const std::string& key);
  void set(const std::string& key, const std::string& value);
  long long incr(const std::string& key);
  long long incrby(const std::string& key, long long by);
  std::optional<std::string> hget(const std::string& key, const std::string& field);
  bool hset(const std::string& key, const std::string& field, const std::string& value);  // true: new field
  long long hincrby(const std::string& key, const std::string& field, long long by);
  std::vector<std::pair<std::string, std::string>> hgetall(const std::string& key);
  long long hdel(const std::string& key, const std::vector<std::string>& fields);
  long long del(const std::string& key);
  bool exists(const std::string& key);

  bool broken() const { return broken_; }
  void markBroken() { broken_ = true; }
  // PING round trip; false (and broken) when the server does not answer.
  bool ping();
  // Without a round trip: true when the idle socket is readable (between commands that only
  // happens when the server closed it). Used by the pool before reuse.
  bool idleSocketLooksDead() const;
  void resetAfterUse() noexcept {}

  const std::string& label() const { return label_; }

 private:
  struct ContextFree {
    void operator()(redisContext* c) const;
  };

  [[noreturn]] void failIo(const std::string& what);
  void checkUsable() const;
  RedisReply expect(const std::vector<std::string>& args, RedisReply::Type type);
  long long expectInteger(const std::vector<std::string>& args);

  std::string label_;
  bool broken_ = false;
  std::unique_ptr<redisContext, ContextFree> ctx_;
};

}  // namespace tt::db
