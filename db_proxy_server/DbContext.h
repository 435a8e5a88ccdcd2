#pragma once
// What every handler can use. Owned by main(); shared by all worker threads (each member is
// thread-safe on its own).
#include <cstdint>

namespace tt::db {
class Storage;
}
namespace tt::auth {
class CredentialCache;
class LoginThrottle;
}

namespace tt::dbproxy {

class RelationCache;

struct DbContext {
  db::Storage& storage;
  auth::CredentialCache& credentials;
  auth::LoginThrottle& throttle;
  RelationCache& relations;
  // Max IMMsgData.msg_data bytes stored (the schema's content column).
  uint32_t maxMessageBytes = 8192;
};

}  // namespace tt::dbproxy
