#pragma once
// Everything a handler needs for Redis: RedisPool, RedisLease, RedisConn, RedisReply, RedisError.
#include "db_proxy_server/storage/RedisConn.h"  // IWYU pragma: export
#include "db_proxy_server/storage/RedisPool.h"  // IWYU pragma: export
