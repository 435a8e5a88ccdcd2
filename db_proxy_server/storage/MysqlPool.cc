#include "db_proxy_server/storage/MysqlPool.h"

namespace tt::db {

MysqlPool::MysqlPool(std::string name, MysqlConfig config) {
  initMysqlLibrary();
  core_ = std::make_shared<detail::ConnPool<MysqlConn>>(std::move(name), std::move(config));
}

MysqlLease MysqlPool::acquire(int timeoutMs) { return MysqlLease(core_, core_->take(timeoutMs)); }

}  // namespace tt::db
