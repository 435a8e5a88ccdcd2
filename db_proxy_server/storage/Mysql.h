#pragma once
// Everything a handler needs for MySQL: MysqlPool, MysqlLease, MysqlConn, Transaction, DbValue,
// DbRow, DbError.
#include "db_proxy_server/storage/DbTypes.h"    // IWYU pragma: export
#include "db_proxy_server/storage/MysqlConn.h"  // IWYU pragma: export
#include "db_proxy_server/storage/MysqlPool.h"  // IWYU pragma: export
