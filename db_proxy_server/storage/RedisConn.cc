#include "db_proxy_server/storage/RedisConn.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

namespace tt::db {

namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval toTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>(ms % 1000) * 1000;
  return tv;
}

RedisReply convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_NIL:
      out.type = RedisReply::Type::Nil;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
#ifdef REDIS_REPLY_MAP  // RESP3 aggregates (hiredis >= 1.0) flatten to arrays
    case REDIS_REPLY_MAP:
    case REDIS_REPLY_SET:
    case REDIS_REPLY_PUSH:
#endif
      out.type = RedisReply::Type::Array;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
#ifdef REDIS_REPLY_BOOL
    case REDIS_REPLY_BOOL:
      out.type = RedisReply::Type::Integer;
      out.integer = r.integer;
      break;
#endif
    default:  // STRING, and RESP3's DOUBLE / BIGNUM / VERB, which carry their text in str
      out.type = RedisReply::Type::String;
      if (r.str != nullptr) out.str.assign(r.str, r.len);
      break;
  }
  return out;
}

std::string where(const RedisConfig& c) {
  return !c.host.empty() && c.host[0] == '/' ? c.host : c.host + ":" + std::to_string(c.port);
}

}  // namespace

void RedisConn::ContextFree::operator()(redisContext* c) const { redisFree(c); }

RedisConn::RedisConn(std::string label, const RedisConfig& config) : label_(std::move(label)) {
  const bool unixSocket = !config.host.empty() && config.host[0] == '/';
  redisContext* c = nullptr;
  if (config.connectTimeoutMs > 0) {
    const timeval tv = toTimeval(config.connectTimeoutMs);
    c = unixSocket ? redisConnectUnixWithTimeout(config.host.c_str(), tv)
                   : redisConnectWithTimeout(config.host.c_str(), config.port, tv);
  } else {
    c = unixSocket ? redisConnectUnix(config.host.c_str()) : redisConnect(config.host.c_str(), config.port);
  }
  if (c == nullptr) throw RedisError(label_ + ": connect to " + where(config) + ": out of memory");
  ctx_.reset(c);
  if (c->err != 0) throw RedisError(label_ + ": connect to " + where(config) + " failed: " + c->errstr);
  if (config.commandTimeoutMs > 0 && redisSetTimeout(c, toTimeval(config.commandTimeoutMs)) != REDIS_OK) {
    throw RedisError(label_ + ": setting the command timeout failed: " + c->errstr);
  }
  redisEnableKeepAlive(c);  // best effort: only helps notice a vanished peer sooner

  if (!config.password.empty()) {
    RedisReply r = command({"AUTH", config.password});
    if (r.isError()) throw RedisError(label_ + ": AUTH failed: " + r.str);
  }
  if (config.db != 0) {
    RedisReply r = command({"SELECT", std::to_string(config.db)});
    if (r.isError()) throw RedisError(label_ + ": SELECT " + std::to_string(config.db) + " failed: " + r.str);
  }
}

RedisConn::~RedisConn() = default;

void RedisConn::checkUsable() const {
  if (broken_) throw RedisError(label_ + ": connection is broken");
}

void RedisConn::failIo(const std::string& what) {
  broken_ = true;  // hiredis cannot resynchronise a stream after an error
  const redisContext* c = ctx_.get();
  std::string reason = c->err != 0 ? std::string(c->errstr) : "no reply";
  if (reason.empty()) reason = "I/O error " + std::to_string(c->err);
  throw RedisError(label_ + ": " + what + ": " + reason);
}

RedisReply RedisConn::command(const std::vector<std::string>& args) {
  checkUsable();
  if (args.empty()) throw RedisError(label_ + ": empty command");
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lengths.data())));
  if (!reply) failIo(args[0]);
  return convert(*reply);
}

std::vector<RedisReply> RedisConn::pipeline(const std::vector<std::vector<std::string>>& commands) {
  checkUsable();
  for (const auto& args : commands) {
    if (args.empty()) throw RedisError(label_ + ": empty command in pipeline");
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& args : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    // Only buffers (hiredis copies the formatted command); fails on out-of-memory alone.
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      failIo("pipeline append");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    // The first call writes the whole buffer, then each call reads one reply.
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      if (raw != nullptr) freeReplyObject(raw);
      failIo("pipeline reply " + std::to_string(i + 1) + "/" + std::to_string(commands.size()));
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    replies.push_back(convert(*reply));
  }
  return replies;
}

bool RedisConn::ping() {
  if (broken_) return false;
  try {
    RedisReply r = command({"PING"});
    return !r.isError();
  } catch (const RedisError&) {
    return false;
  }
}

bool RedisConn::idleSocketLooksDead() const {
  if (ctx_->err != 0 || ctx_->fd < 0) return true;
  pollfd p{};
  p.fd = ctx_->fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) > 0;
}

// --- typed helpers -------------------------------------------------------------------------

RedisReply RedisConn::expect(const std::vector<std::string>& args, RedisReply::Type type) {
  RedisReply r = command(args);
  if (r.isError()) throw RedisError(label_ + ": " + args[0] + ": " + r.str);
  if (r.type != type && !(type == RedisReply::Type::String && r.isNil())) {
    throw RedisError(label_ + ": " + args[0] + ": unexpected reply type " +
                     std::to_string(static_cast<int>(r.type)));
  }
  return r;
}

long long RedisConn::expectInteger(const std::vector<std::string>& args) {
  return expect(args, RedisReply::Type::Integer).integer;
}

std::optional<std::string> RedisConn::get(const std::string& key) {
  RedisReply r = expect({"GET", key}, RedisReply::Type::String);
  if (r.isNil()) return std::nullopt;
  return std::move(r.str);
}

void RedisConn::set(const std::string& key, const std::string& value) {
  expect({"SET", key, value}, RedisReply::Type::Status);
}

long long RedisConn::incr(const std::string& key) { return expectInteger({"INCR", key}); }

long long RedisConn::incrby(const std::string& key, long long by) {
  return expectInteger({"INCRBY", key, std::to_string(by)});
}

std::optional<std::string> RedisConn::hget(const std::string& key, const std::string& field) {
  RedisReply r = expect({"HGET", key, field}, RedisReply::Type::String);
  if (r.isNil()) return std::nullopt;
  return std::move(r.str);
}

bool RedisConn::hset(const std::string& key, const std::string& field, const std::string& value) {
  return expectInteger({"HSET", key, field, value}) > 0;
}

long long RedisConn::hincrby(const std::string& key, const std::string& field, long long by) {
  return expectInteger({"HINCRBY", key, field, std::to_string(by)});
}

std::vector<std::pair<std::string, std::string>> RedisConn::hgetall(const std::string& key) {
  RedisReply r = expect({"HGETALL", key}, RedisReply::Type::Array);
  if (r.elements.size() % 2 != 0) throw RedisError(label_ + ": HGETALL: odd number of elements");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(r.elements.size() / 2);
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  }
  return out;
}

long long RedisConn::hdel(const std::string& key, const std::vector<std::string>& fields) {
  if (fields.empty()) return 0;
  std::vector<std::string> args{"HDEL", key};
  args.insert(args.end(), fields.begin(), fields.end());
  return expectInteger(args);
}

long long RedisConn::del(const std::string& key) { return expectInteger({"DEL", key}); }

bool RedisConn::exists(const std::string& key) { return expectInteger({"EXISTS", key}) > 0; }

}  // namespace tt::db
