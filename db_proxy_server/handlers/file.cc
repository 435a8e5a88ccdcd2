// Offline-file bookkeeping (docs/PROTOCOL.md §3.9.3, table IMTransmitFile): file_server keeps
// the bytes; db_proxy only remembers which uploads wait for which receiver. The receiver asks at
// login (HAS_OFFLINE), the uploader registers a finished upload (ADD_OFFLINE, no response) and the
// receiver forgets it once downloaded (DEL_OFFLINE, no response).
#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "base/Time.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/HandlerTable.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Storage.h"

namespace tt::dbproxy {

namespace {

namespace BD = IM::BaseDefine;

constexpr int kAcquireTimeoutMs = 2000;
// MySQL's ER_DUP_ENTRY: the task id (UNIQUE uk_taskId) is already registered.
constexpr unsigned kDuplicateEntry = 1062;
// IMTransmitFile.taskId is varchar(64); file_server's ids are 36-character UUIDs.
constexpr size_t kMaxTaskIdBytes = 64;
// Bounds one response (file names are up to 512 characters): the oldest this many pending files
// are listed; the next come once those are downloaded and deleted.
constexpr uint32_t kMaxListedFiles = 200;

// ---- 0x0509 has offline ---------------------------------------------------------------------

void listPending(DbContext& ctx, const IM::File::IMFileHasOfflineReq& req, IM::File::IMFileHasOfflineRsp& rsp) {
  auto lease = ctx.storage.slave().acquire(kAcquireTimeoutMs);
  auto rows = lease->query(
      "SELECT fromId, taskId, fileName, size FROM IMTransmitFile WHERE toId = ? AND status = 0 "
      "ORDER BY created, id LIMIT ?",
      {req.user_id(), kMaxListedFiles});
  for (const auto& row : rows) {
    auto* f = rsp.add_offline_file_list();
    f->set_from_user_id(row.u32(0));
    f->set_task_id(row.str(1));
    f->set_file_name(row.str(2));
    // The wire field is 32 bits; the column is wider only so nothing is truncated on the way in.
    f->set_file_size(static_cast<uint32_t>(std::min<uint64_t>(row.u64(3), UINT32_MAX)));
  }
}

void onHasOffline(DbContext& ctx, const Request&, IM::File::IMFileHasOfflineReq& req, Response& res) {
  IM::File::IMFileHasOfflineRsp rsp;
  rsp.set_user_id(req.user_id());
  try {
    listPending(ctx, req, rsp);
  } catch (const std::exception& e) {
    // Answer with an empty list: the client simply sees no offline files this time.
    spdlog::error("offline files of user {} not listed: {}", req.user_id(), e.what());
    rsp.clear_offline_file_list();
  }
  // ip_addr_list stays empty: msg_server appends its file_server addresses.
  if (req.has_attach_data()) rsp.set_attach_data(req.attach_data());
  res.reply(BD::SID_FILE, BD::CID_FILE_HAS_OFFLINE_RES, rsp);
}

// ---- 0x050b add offline (no response) -------------------------------------------------------

void onAddOffline(DbContext& ctx, const Request&, IM::File::IMFileAddOfflineReq& req, Response&) {
  if (req.task_id().empty() || req.task_id().size() > kMaxTaskIdBytes || req.from_user_id() == 0 ||
      req.to_user_id() == 0) {
    spdlog::warn("offline file from {} to {} ignored: task id of {} bytes", req.from_user_id(), req.to_user_id(),
                 req.task_id().size());
    return;
  }
  const uint32_t now = tt::unixSeconds();
  try {
    auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
    lease->exec(
        "INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated) "
        "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        {req.from_user_id(), req.to_user_id(), req.file_name(), req.file_size(), req.task_id(), now, now});
    spdlog::info("offline file {} from {} to {} registered ({} bytes)", req.task_id(), req.from_user_id(),
                 req.to_user_id(), req.file_size());
  } catch (const db::DbError& e) {
    if (e.code() == kDuplicateEntry) {
      // A retried request, or someone reusing a task id: the first registration stands.
      spdlog::warn("offline file {} from {} to {} already registered; ignored", req.task_id(), req.from_user_id(),
                   req.to_user_id());
    } else {
      spdlog::error("offline file {} from {} to {} not registered: {}", req.task_id(), req.from_user_id(),
                    req.to_user_id(), e.what());
    }
  }
}

// ---- 0x050c delete offline (no response) ----------------------------------------------------

void onDelOffline(DbContext& ctx, const Request&, IM::File::IMFileDelOfflineReq& req, Response&) {
  // Both ids must match the row: msg_server fills one of them with the authenticated user, so a
  // client can only remove files it sent or received (the original matched the task id alone).
  try {
    auto lease = ctx.storage.master().acquire(kAcquireTimeoutMs);
    const auto r = lease->exec("DELETE FROM IMTransmitFile WHERE taskId = ? AND fromId = ? AND toId = ?",
                               {req.task_id(), req.from_user_id(), req.to_user_id()});
    if (r.affectedRows == 0) {
      spdlog::warn("offline file {} from {} to {} not deleted: no such task for these users", req.task_id(),
                   req.from_user_id(), req.to_user_id());
    } else {
      spdlog::info("offline file {} from {} to {} deleted", req.task_id(), req.from_user_id(), req.to_user_id());
    }
  } catch (const db::DbError& e) {
    spdlog::error("offline file {} not deleted: {}", req.task_id(), e.what());
  }
}

}  // namespace

void registerFileHandlers(HandlerTable& table) {
  table.add<IM::File::IMFileHasOfflineReq>(BD::CID_FILE_HAS_OFFLINE_REQ, "IMFileHasOfflineReq", onHasOffline);
  table.add<IM::File::IMFileAddOfflineReq>(BD::CID_FILE_ADD_OFFLINE_REQ, "IMFileAddOfflineReq", onAddOffline);
  table.add<IM::File::IMFileDelOfflineReq>(BD::CID_FILE_DEL_OFFLINE_REQ, "IMFileDelOfflineReq", onDelOffline);
}

}  // namespace tt::dbproxy
