#include "file_server/FileServer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "IM.Server.pb.h"
#include "base/Config.h"
#include "netlib/PduMetrics.h"

namespace tt::file {

using namespace IM::BaseDefine;
using net::ImConnPtr;
using net::ImPdu;

FileServerOptions readFileServerOptions(const Config& c, const std::string& configPath) {
  FileServerOptions o;
  o.clientListenIps = c.getRequiredList("ClientListenIP");
  o.clientPort = c.getPort("ClientListenPort");
  o.advertiseIps = c.getList("ClientAdvertiseIP");
  if (o.advertiseIps.empty()) o.advertiseIps = o.clientListenIps;
  o.msgListenIps = c.getRequiredList("MsgServerListenIP");
  o.msgPort = c.getPort("MsgServerListenPort");
  if (o.msgPort == o.clientPort) c.fail("MsgServerListenPort", "must differ from ClientListenPort");
  o.taskTimeoutMs = c.getInt("TaskTimeout", 3600, 1, 30 * 86400) * 1000;
  o.clientTimeoutMs = c.getInt("ClientTimeout", 120, 1, 86400) * 1000;
  o.loginTimeoutMs = c.getInt("LoginTimeout", 15, 1, 3600) * 1000;
  o.msgServerTimeoutMs = c.getInt("MsgServerTimeout", 30, 1, 3600) * 1000;
  o.maxFileSize = static_cast<uint32_t>(c.getInt("MaxFileSize", o.maxFileSize, 1, 0xffffffffLL));
  o.maxChunkSize = static_cast<uint32_t>(c.getInt("MaxChunkSize", o.maxChunkSize, kBlockSize, 16 * 1024 * 1024));
  o.diskQuota = static_cast<uint64_t>(c.getInt("DiskQuota", static_cast<int64_t>(o.diskQuota), 0, INT64_MAX));
  o.offlineLifetimeSec = c.getInt("OfflineFileLifetime", o.offlineLifetimeSec, 0, 10LL * 365 * 86400);
  std::string dir = c.getString("StorageDir", o.storageDir);
  if (dir.find('\n') != std::string::npos) c.fail("StorageDir", "not a path");
  if (dir[0] != '/') {
    const size_t slash = configPath.rfind('/');
    const std::string base = slash == std::string::npos ? "." : configPath.substr(0, slash == 0 ? 1 : slash);
    dir = base + "/" + dir;
  }
  o.storageDir = std::filesystem::path(dir).lexically_normal().string();
  if (o.storageDir.size() > 1 && o.storageDir.back() == '/') o.storageDir.pop_back();
  return o;
}

namespace {
net::ImConnOptions clientConnOptions(const FileServerOptions& o) {
  net::ImConnOptions c;
  c.maxPduSize = o.maxChunkSize + 4096;  // a chunk plus its IMFilePullDataRsp fields
  c.heartbeatIntervalMs = 0;             // clients send heartbeats; we echo them
  c.echoHeartbeat = true;
  c.timeoutMs = o.clientTimeoutMs;
  c.maxOutputBytes = 16 * 1024 * 1024;
  c.metrics = &net::PduMetrics::forLink("client");
  return c;
}
net::ImConnOptions msgConnOptions(const FileServerOptions& o) {
  net::ImConnOptions c;
  c.heartbeatIntervalMs = 0;  // file_server only echoes (docs/PROTOCOL.md §3.11)
  c.echoHeartbeat = true;
  c.timeoutMs = o.msgServerTimeoutMs;
  c.metrics = &net::PduMetrics::forLink("msg_server");
  return c;
}

// file_server's counters, found once (Family::with() takes a mutex) and then bumped on the loop
// with one relaxed atomic. Label values are fixed here, never taken from the wire.
struct FileMetrics {
  static FileMetrics& get();

  metrics::Counter& bytesRelayed;     // online: chunks passed from sender to receiver
  metrics::Counter& bytesUploaded;    // offline: blocks written to the store
  metrics::Counter& bytesDownloaded;  // offline: blocks served from the store
  metrics::Counter& tasksOnline;
  metrics::Counter& tasksOffline;
  metrics::Counter& refusedBadRequest;  // user ids or file size
  metrics::Counter& refusedQuota;
  metrics::Counter& refusedError;  // no task id could be made
  metrics::Counter& endedDone;     // online: a client reported DONE
  metrics::Counter& endedCancelled;
  metrics::Counter& endedRefused;
  metrics::Counter& endedOtherState;
  metrics::Counter& endedStored;  // offline: uploaded and stored
  metrics::Counter& endedFailed;  // offline: could not be written or stored
  metrics::Counter& endedExpired;
  metrics::Counter& endedShutdown;
  metrics::Counter& downloadsDone;
};

FileMetrics makeFileMetrics() {
  auto& r = metrics::Registry::global();
  auto& bytes = r.counterFamily("ttsuite_file_bytes_total",
                                "File data moved, by direction: relayed (online, sender to receiver), uploaded "
                                "(offline, into the store), downloaded (offline, out of the store).",
                                {"direction"});
  auto& created =
      r.counterFamily("ttsuite_file_tasks_created_total", "Transfer tasks created for msg_servers, by mode.", {"mode"});
  auto& refused = r.counterFamily("ttsuite_file_tasks_refused_total",
                                  "Transfer task requests refused, by reason: bad_request (user ids, file size), "
                                  "quota (offline disk quota), error (no task id).",
                                  {"reason"});
  auto& ended = r.counterFamily("ttsuite_file_tasks_ended_total",
                                "Transfer tasks ended, by outcome: done, cancelled, refused, other_state (online: the "
                                "state a client sent; cancelled also when an uploader gives up), stored, failed "
                                "(offline), expired, shutdown.",
                                {"outcome"});
  return FileMetrics{
      bytes.with({"relayed"}),
      bytes.with({"uploaded"}),
      bytes.with({"downloaded"}),
      created.with({"online"}),
      created.with({"offline"}),
      refused.with({"bad_request"}),
      refused.with({"quota"}),
      refused.with({"error"}),
      ended.with({"done"}),
      ended.with({"cancelled"}),
      ended.with({"refused"}),
      ended.with({"other_state"}),
      ended.with({"stored"}),
      ended.with({"failed"}),
      ended.with({"expired"}),
      ended.with({"shutdown"}),
      r.counter("ttsuite_file_offline_downloads_total", "Offline files downloaded to their last block."),
  };
}

FileMetrics& FileMetrics::get() {
  static FileMetrics m = makeFileMetrics();  // the registry's mutex is taken here only, once
  return m;
}

// An online task ends with the state one of its clients sent.
metrics::Counter& endedByState(uint32_t state) {
  FileMetrics& m = FileMetrics::get();
  switch (state) {
    case CLIENT_FILE_DONE: return m.endedDone;
    case CLIENT_FILE_CANCEL: return m.endedCancelled;
    case CLIENT_FILE_REFUSE: return m.endedRefused;
    default: return m.endedOtherState;
  }
}
}  // namespace

FileServer::FileServer(net::EventDispatch* loop, FileServerOptions options)
    : loop_(loop),
      options_(std::move(options)),
      clients_(loop, "file_client", clientConnOptions(options_)),
      msgServers_(loop, "file_msg", msgConnOptions(options_)),
      store_(options_.storageDir, options_.diskQuota, options_.offlineLifetimeSec) {
  clients_.setConnectHandler([this](const ImConnPtr& c) {
    Client cl;
    cl.connectedMs = loop_->nowMs();
    c->context() = cl;
  });
  clients_.setPduHandler([this](const ImConnPtr& c, const ImPdu& pdu) { clientCommands_.dispatch(c, pdu); });
  clients_.setCloseHandler([this](const ImConnPtr& c) { onClientClosed(c); });
  msgServers_.setPduHandler([this](const ImConnPtr& c, const ImPdu& pdu) { msgCommands_.dispatch(c, pdu); });
  msgServers_.setConnectHandler([](const ImConnPtr& c) { spdlog::info("msg_server {} connected", c->name()); });
  msgServers_.setCloseHandler([](const ImConnPtr& c) { spdlog::info("msg_server {} disconnected", c->name()); });
  registerHandlers();
  registerMetrics();
}

FileServer::~FileServer() { loop_->cancel(tickTimer_); }

bool FileServer::start(std::string* err) {
  if (!store_.init(err)) return false;
  verifier_ = std::make_unique<ThreadPool>(1, "fileverify");
  if (!clients_.listen(options_.clientListenIps, options_.clientPort, 1024, err)) return false;
  if (!msgServers_.listen(options_.msgListenIps, options_.msgPort, 128, err)) return false;
  lastSweepMs_ = loop_->nowMs();
  tickTimer_ = loop_->runEvery(1000, [this] { tick(); });
  return true;
}

void FileServer::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: {} client connections, {} msg_server links, {} tasks", clients_.size(),
               msgServers_.size(), tasks_.size());
  clients_.stopAccepting();
  msgServers_.stopAccepting();
  clients_.closeAll();
  msgServers_.closeAll();
  // Partial uploads die with the process (their tasks are in memory only).
  FileMetrics::get().endedShutdown.inc(tasks_.size());
  for (auto& [id, t] : tasks_) {
    if (t.upload) store_.discardUpload(std::move(t.upload));
  }
  tasks_.clear();
  if (verifier_) verifier_->stop();
}

// Scrape-time gauges: they read loop-thread state, and scrapes run on this loop. Nothing here
// touches the disk: the store keeps its totals in memory.
void FileServer::registerMetrics() {
  auto& r = metrics::Registry::global();
  using metrics::Sample;
  metricHandles_.push_back(metrics::connectionsGauge("file_server", [this] {
    return std::vector<std::pair<std::string, double>>{{"client", double(clients_.size())},
                                                       {"msg_server", double(msgServers_.size())}};
  }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_file_active_tasks", "Transfer tasks not yet ended, by mode (stored offline files not included).",
      metrics::Type::kGauge, {"mode"}, [this] {
        size_t offline = 0;
        for (const auto& [id, t] : tasks_) offline += t.offline;
        return std::vector<Sample>{{{"online"}, double(tasks_.size() - offline)}, {{"offline"}, double(offline)}};
      }));
  metricHandles_.push_back(r.addCallback("ttsuite_file_active_downloads", "Offline files being downloaded now.",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, double(downloads_.size())}};
                                         }));
  metricHandles_.push_back(r.addCallback("ttsuite_file_offline_stored_files", "Offline files stored, complete.",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, double(store_.storedFiles())}};
                                         }));
  metricHandles_.push_back(r.addCallback("ttsuite_file_offline_stored_bytes", "Bytes of the offline files stored.",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, double(store_.storedBytes())}};
                                         }));
  metricHandles_.push_back(r.addCallback(
      "ttsuite_file_quota_used_bytes",
      "Disk quota in use: stored offline files plus the sizes reserved by offline tasks not yet uploaded.",
      metrics::Type::kGauge, {}, [this] {
        return std::vector<Sample>{{{}, double(store_.storedBytes() + store_.reservedBytes())}};
      }));
  metricHandles_.push_back(r.addCallback("ttsuite_file_quota_bytes", "The disk quota for offline files (DiskQuota).",
                                         metrics::Type::kGauge, {}, [this] {
                                           return std::vector<Sample>{{{}, double(store_.quotaBytes())}};
                                         }));
}

FileServer::Client* FileServer::clientOf(const ImConnPtr& c) { return std::any_cast<Client>(&c->context()); }

void FileServer::closeAfterSend(const ImConnPtr& c, const std::string& why) {
  Client* cl = clientOf(c);
  if (cl) {
    if (cl->closing) return;
    cl->closing = true;
  }
  spdlog::debug("client {}: closing after send: {}", c->name(), why);
  c->tcp()->shutdown();
  std::weak_ptr<net::ImConn> weak = c;
  loop_->runAfter(2000, [weak, why] {
    if (auto conn = weak.lock()) conn->close(why);
  });
}

ImConnPtr FileServer::connOf(const Task& t, int slot) const {
  if (t.conns[slot] == 0) return nullptr;
  ImConnPtr c = clients_.find(t.conns[slot]);
  if (!c || !c->connected()) return nullptr;
  const Client* cl = clientOf(c);
  return cl && !cl->closing ? c : nullptr;
}

void FileServer::registerHandlers() {
  // ---- msg_server links ----
  msgCommands_.on(CID_OTHER_FILE_SERVER_IP_REQ, [this](const ImConnPtr& link, const ImPdu& pdu) {
    IM::Server::IMFileServerIPRsp rsp;
    for (const auto& ip : options_.advertiseIps) {
      IpAddr* a = rsp.add_ip_addr_list();
      a->set_ip(ip);
      a->set_port(options_.clientPort);
    }
    link->send(SID_OTHER, CID_OTHER_FILE_SERVER_IP_RSP, pdu.seqNum(), rsp);
  });
  msgCommands_.on<IM::Server::IMFileTransferReq>(
      CID_OTHER_FILE_TRANSFER_REQ, [this](const ImConnPtr& link, const ImPdu& pdu, IM::Server::IMFileTransferReq& req) {
        onTransferReq(link, pdu, req);
      });
  msgCommands_.setUnknownHandler([](const ImConnPtr& link, const ImPdu& pdu) {
    spdlog::warn("msg_server {}: command {:#06x} not handled; dropped", link->name(), pdu.commandId());
  });

  // ---- clients: only heartbeat (answered in ImConn) and login before login ----
  clientCommands_.setFilter([](const ImConnPtr& c, const ImPdu& pdu) {
    Client* cl = clientOf(c);
    if (!cl || cl->closing) return false;
    if (pdu.commandId() == CID_FILE_LOGIN_REQ) {
      if (cl->role == kNone && !cl->verifying) return true;
      c->close("second login on one connection");
      return false;
    }
    if (cl->role != kNone) return true;
    c->close("command " + std::to_string(pdu.commandId()) + " before file login");
    return false;
  });
  clientCommands_.on<IM::File::IMFileLoginReq>(
      CID_FILE_LOGIN_REQ,
      [this](const ImConnPtr& c, const ImPdu& pdu, IM::File::IMFileLoginReq& req) { onLogin(c, pdu, req); });
  clientCommands_.on<IM::File::IMFileState>(
      CID_FILE_STATE, [this](const ImConnPtr& c, const ImPdu&, IM::File::IMFileState& st) { onState(c, st); });
  clientCommands_.on<IM::File::IMFilePullDataReq>(
      CID_FILE_PULL_DATA_REQ,
      [this](const ImConnPtr& c, const ImPdu& pdu, IM::File::IMFilePullDataReq& req) { onPullReq(c, pdu, req); });
  clientCommands_.on<IM::File::IMFilePullDataRsp>(
      CID_FILE_PULL_DATA_RSP,
      [this](const ImConnPtr& c, const ImPdu&, IM::File::IMFilePullDataRsp& rsp) { onPullRsp(c, rsp); });
  clientCommands_.setUnknownHandler([](const ImConnPtr& c, const ImPdu& pdu) {
    spdlog::info("client {}: command {:#06x} ignored", c->name(), pdu.commandId());
  });
}

// ---- tasks ----

void FileServer::onTransferReq(const ImConnPtr& link, const ImPdu& pdu, IM::Server::IMFileTransferReq& req) {
  IM::Server::IMFileTransferRsp rsp;
  rsp.set_from_user_id(req.from_user_id());
  rsp.set_to_user_id(req.to_user_id());
  rsp.set_file_name(req.file_name());
  rsp.set_file_size(req.file_size());
  rsp.set_trans_mode(req.trans_mode());
  if (req.has_attach_data()) rsp.set_attach_data(req.attach_data());
  const bool offline = req.trans_mode() == FILE_TYPE_OFFLINE;
  FileMetrics& m = FileMetrics::get();
  std::string refusal;
  if (req.from_user_id() == 0 || req.to_user_id() == 0 || req.from_user_id() == req.to_user_id()) {
    refusal = "bad user ids";
    m.refusedBadRequest.inc();
  } else if (req.file_size() == 0 || req.file_size() > options_.maxFileSize) {
    refusal = "file size " + std::to_string(req.file_size()) + " outside 1.." + std::to_string(options_.maxFileSize);
    m.refusedBadRequest.inc();
  } else if (offline && !store_.reserve(req.file_size())) {
    m.refusedQuota.inc();
    refusal = "disk quota: " + std::to_string(store_.storedBytes()) + " stored + " +
              std::to_string(store_.reservedBytes()) + " reserved of " + std::to_string(options_.diskQuota);
  }
  if (!refusal.empty()) {
    // The original closed the whole msg_server link here; one refused task is not the link's fault.
    spdlog::info("task for {} -> {} ({} bytes, {}) refused: {}", req.from_user_id(), req.to_user_id(), req.file_size(),
                 offline ? "offline" : "online", refusal);
    rsp.set_result_code(FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    link->send(SID_OTHER, CID_OTHER_FILE_TRANSFER_RSP, pdu.seqNum(), rsp);
    return;
  }
  std::string id;
  try {
    do {
      id = newTaskId();
    } while (tasks_.count(id) || store_.exists(id));
  } catch (const std::exception& e) {
    spdlog::error("cannot create a task id: {}", e.what());
    m.refusedError.inc();
    if (offline) store_.release(req.file_size());
    rsp.set_result_code(FILE_SERVER_ERRNO_CREATE_TASK_ID_ERROR);
    link->send(SID_OTHER, CID_OTHER_FILE_TRANSFER_RSP, pdu.seqNum(), rsp);
    return;
  }
  Task& t = tasks_[id];
  t.id = id;
  t.from = req.from_user_id();
  t.to = req.to_user_id();
  t.fileName = req.file_name();
  t.fileSize = req.file_size();
  t.offline = offline;
  t.createdMs = t.lastActiveMs = loop_->nowMs();
  (offline ? m.tasksOffline : m.tasksOnline).inc();
  spdlog::info("task {}: {} -> {}, {} bytes, {}", id, t.from, t.to, t.fileSize, offline ? "offline" : "online");
  rsp.set_result_code(FILE_SERVER_ERRNO_OK);
  rsp.set_task_id(id);
  link->send(SID_OTHER, CID_OTHER_FILE_TRANSFER_RSP, pdu.seqNum(), rsp);
}

void FileServer::dropTask(std::string id, const std::string& why, metrics::Counter& outcome) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  outcome.inc();
  Task& t = it->second;
  spdlog::info("task {} dropped: {}", id, why);
  for (int slot = 0; slot < 2; ++slot) {
    if (ImConnPtr c = connOf(t, slot)) closeAfterSend(c, "task " + why);
  }
  if (t.offline) {
    if (t.upload) store_.discardUpload(std::move(t.upload));
    store_.release(t.fileSize);
  }
  tasks_.erase(it);
}

void FileServer::tick() {
  const int64_t now = loop_->nowMs();
  std::vector<std::string> expired;
  for (const auto& [id, t] : tasks_) {
    if (now - std::max(t.createdMs, t.lastActiveMs) >= options_.taskTimeoutMs) expired.push_back(id);
  }
  for (const auto& id : expired) dropTask(id, "expired", FileMetrics::get().endedExpired);
  for (const auto& [id, c] : clients_.connections()) {
    const Client* cl = clientOf(c);
    if (cl && cl->role == kNone && !cl->closing && !cl->verifying && now - cl->connectedMs >= options_.loginTimeoutMs) {
      c->close("no file login within " + std::to_string(options_.loginTimeoutMs / 1000) + " s");
    }
  }
  if (now - lastSweepMs_ >= 3600 * 1000) {
    lastSweepMs_ = now;
    store_.sweep(static_cast<uint32_t>(::time(nullptr)));
  }
}

void FileServer::onClientClosed(const ImConnPtr& c) {
  const Client* cl = clientOf(c);
  if (!cl || cl->role == kNone) return;
  if (cl->role == kDownloader) {
    auto it = downloads_.find(cl->taskId);
    if (it != downloads_.end() && it->second == c->id()) downloads_.erase(it);
    return;
  }
  auto it = tasks_.find(cl->taskId);
  if (it == tasks_.end()) return;
  Task& t = it->second;
  const int slot = cl->role == kReceiver ? 1 : 0;
  if (t.conns[slot] != c->id()) return;
  // The task stays until it completes or expires: the same user may log in again and go on.
  t.conns[slot] = 0;
  if (cl->role == kSender) {
    // Pulls the sender will never answer: the receiver hears so now and pulls again later.
    ImConnPtr receiver = connOf(t, 1);
    for (const auto& [offset, pending] : t.pulls) {
      if (receiver) pullError(receiver, pending.first, t.id, offset, FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
    }
    t.pulls.clear();
  }
  spdlog::info("task {}: role {} connection {} gone ({} of {} bytes uploaded)", t.id, static_cast<int>(cl->role),
               c->name(), t.upload ? t.upload->written() : 0, t.fileSize);
}

// ---- client commands ----

void FileServer::loginResult(const ImConnPtr& c, uint16_t seq, const std::string& taskId, uint32_t code) {
  IM::File::IMFileLoginRsp rsp;
  rsp.set_result_code(code);
  rsp.set_task_id(taskId);
  c->send(SID_FILE, CID_FILE_LOGIN_RES, seq, rsp);
  if (code != 0) closeAfterSend(c, "file login refused (" + std::to_string(code) + ")");
}

void FileServer::sendState(const ImConnPtr& c, uint32_t state, const std::string& taskId, uint32_t userId) {
  IM::File::IMFileState st;
  st.set_state(static_cast<ClientFileState>(state));
  st.set_task_id(taskId);
  st.set_user_id(userId);
  c->send(SID_FILE, CID_FILE_STATE, 0, st);
}

void FileServer::onLogin(const ImConnPtr& c, const ImPdu& pdu, IM::File::IMFileLoginReq& req) {
  Client* cl = clientOf(c);
  const std::string& id = req.task_id();
  const uint16_t seq = pdu.seqNum();
  const uint32_t role = req.file_role();
  // The id names a file on disk for offline tasks: nothing but the exact UUID form gets further.
  if (!validTaskId(id)) {
    spdlog::warn("client {}: file login with a malformed task id ({} bytes)", c->name(), id.size());
    return loginResult(c, seq, "", FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  }
  auto it = tasks_.find(id);
  if (role == kDownloader) {
    if (it != tasks_.end()) {  // still being uploaded (or an online task)
      spdlog::info("client {}: download login to task {} that is not stored", c->name(), id);
      return loginResult(c, seq, id, FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    }
    auto d = downloads_.find(id);
    if (d != downloads_.end() && clients_.find(d->second)) {
      spdlog::info("client {}: task {} already has a downloader", c->name(), id);
      return loginResult(c, seq, id, FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    }
    // The stored file is hashed off the loop; the answer comes back through post().
    cl->verifying = true;
    cl->userId = req.user_id();
    cl->taskId = id;
    std::weak_ptr<net::ImConn> weak = c;
    const std::string dir = options_.storageDir;
    net::EventDispatch* loop = loop_;
    verifier_->submit([this, loop, weak, seq, dir, id] {
      OfflineMeta meta;
      std::string why;
      const OfflineStore::Check check = OfflineStore::verify(dir, id, &meta, &why);
      loop->post([this, weak, seq, check, meta, why] {
        if (ImConnPtr conn = weak.lock()) onDownloadVerified(conn, seq, check, meta, why);
      });
    });
    return;
  }
  if (it == tasks_.end()) {
    spdlog::info("client {}: file login to unknown task {} (role {})", c->name(), id, role);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  }
  Task& t = it->second;
  const bool wantOffline = role == kUploader;
  if ((role != kSender && role != kReceiver && role != kUploader) || t.offline != wantOffline) {
    spdlog::info("client {}: role {} does not fit {} task {}", c->name(), role, t.offline ? "offline" : "online", id);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  }
  const int slot = role == kReceiver ? 1 : 0;
  const uint32_t expectedUser = role == kReceiver ? t.to : t.from;
  if (req.user_id() != expectedUser) {
    spdlog::warn("client {}: user {} is not role {} of task {}", c->name(), req.user_id(), role, id);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
  }
  if (connOf(t, slot)) {
    spdlog::info("client {}: role {} of task {} is taken", c->name(), role, id);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
  }
  if (role == kUploader && !t.upload) {
    std::string err;
    t.upload = store_.beginUpload(id, &err);
    if (!t.upload) {
      spdlog::error("task {}: {}", id, err);
      return loginResult(c, seq, id, FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR);
    }
  }
  t.conns[slot] = c->id();
  t.lastActiveMs = loop_->nowMs();
  cl->role = static_cast<Role>(role);
  cl->userId = req.user_id();
  cl->taskId = id;
  spdlog::info("client {}: user {} logged in to task {} as role {}", c->name(), cl->userId, id, role);
  loginResult(c, seq, id, FILE_SERVER_ERRNO_OK);
  if (role == kUploader) {
    requestBlock(t, c);
  } else if (ImConnPtr sender = connOf(t, 0); sender && connOf(t, 1)) {
    // Both sides are here: the receiver may start pulling.
    sendState(connOf(t, 1), CLIENT_FILE_PEER_READY, id, t.from);
  }
}

void FileServer::onDownloadVerified(const ImConnPtr& c, uint16_t seq, OfflineStore::Check check,
                                    const OfflineMeta& meta, const std::string& why) {
  Client* cl = clientOf(c);
  if (!cl || cl->closing || !c->connected()) return;
  cl->verifying = false;
  const std::string id = cl->taskId;
  if (check == OfflineStore::Check::kMissing) {
    spdlog::info("client {}: download of task {}: {}", c->name(), id, why);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  }
  if (check == OfflineStore::Check::kCorrupt) {
    spdlog::error("offline file {} is corrupt, not served: {}", id, why);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_PULL_DATA_READ_FILE_HEADER_ERROR);
  }
  if (meta.to != cl->userId) {
    spdlog::warn("client {}: user {} is not the receiver of offline file {}", c->name(), cl->userId, id);
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
  }
  auto d = downloads_.find(id);
  if (d != downloads_.end() && clients_.find(d->second)) {
    return loginResult(c, seq, id, FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
  }
  downloads_[id] = c->id();
  cl->role = kDownloader;
  cl->stored = meta;
  spdlog::info("client {}: user {} downloads offline file {} ({} bytes)", c->name(), cl->userId, id, meta.size);
  loginResult(c, seq, id, FILE_SERVER_ERRNO_OK);
}

void FileServer::pullError(const ImConnPtr& c, uint16_t seq, const std::string& taskId, uint32_t offset,
                           uint32_t code) {
  IM::File::IMFilePullDataRsp rsp;
  rsp.set_result_code(code);
  rsp.set_task_id(taskId);
  rsp.set_user_id(clientOf(c)->userId);
  rsp.set_offset(offset);
  rsp.set_file_data("");
  c->send(SID_FILE, CID_FILE_PULL_DATA_RSP, seq, rsp);
}

void FileServer::requestBlock(Task& t, const ImConnPtr& uploader) {
  IM::File::IMFilePullDataReq req;
  req.set_task_id(t.id);
  req.set_user_id(t.from);
  req.set_trans_mode(FILE_TYPE_OFFLINE);
  const uint32_t offset = t.upload->written();
  req.set_offset(offset);
  req.set_data_size(std::min(kBlockSize, t.fileSize - offset));
  uploader->send(SID_FILE, CID_FILE_PULL_DATA_REQ, t.nextSeq++, req);
}

void FileServer::onPullReq(const ImConnPtr& c, const ImPdu& pdu, IM::File::IMFilePullDataReq& req) {
  Client* cl = clientOf(c);
  const uint16_t seq = pdu.seqNum();
  const uint32_t offset = req.offset();
  if (req.task_id() != cl->taskId || (cl->role != kReceiver && cl->role != kDownloader)) {
    spdlog::warn("client {}: pull for task {} as role {} refused", c->name(), req.task_id(),
                 static_cast<int>(cl->role));
    return pullError(c, seq, req.task_id(), offset, FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER);
  }
  if (req.data_size() == 0 || req.data_size() > options_.maxChunkSize) {
    spdlog::info("client {}: chunk of {} bytes refused (max {})", c->name(), req.data_size(), options_.maxChunkSize);
    return pullError(c, seq, cl->taskId, offset, FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
  }
  if (cl->role == kDownloader) {
    const uint32_t size = cl->stored.size;
    if (offset > size || offset % kBlockSize != 0) {
      spdlog::info("client {}: offset {} refused for offline file {} of {} bytes", c->name(), offset, cl->taskId, size);
      return pullError(c, seq, cl->taskId, offset, FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR);
    }
    if (offset == size) return pullError(c, seq, cl->taskId, offset, FILE_SERVER_ERRNO_PULL_DATA_FINISHED);
    const uint32_t len = std::min(kBlockSize, size - offset);
    IM::File::IMFilePullDataRsp rsp;
    std::string err;
    if (!store_.read(cl->taskId, offset, len, rsp.mutable_file_data(), &err)) {
      spdlog::error("offline file {}: {}", cl->taskId, err);
      return pullError(c, seq, cl->taskId, offset, FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR);
    }
    rsp.set_result_code(FILE_SERVER_ERRNO_OK);
    rsp.set_task_id(cl->taskId);
    rsp.set_user_id(cl->userId);
    rsp.set_offset(offset);
    c->send(SID_FILE, CID_FILE_PULL_DATA_RSP, seq, rsp);
    FileMetrics::get().bytesDownloaded.inc(len);
    if (offset + len == size) {
      FileMetrics::get().downloadsDone.inc();
      spdlog::info("offline file {} downloaded by user {}", cl->taskId, cl->userId);
      sendState(c, CLIENT_FILE_DONE, cl->taskId, cl->stored.from);
      closeAfterSend(c, "download done");
    }
    return;
  }
  // Online: on to the sender.
  auto it = tasks_.find(cl->taskId);
  if (it == tasks_.end())
    return pullError(c, seq, cl->taskId, offset, FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
  Task& t = it->second;
  if (offset > t.fileSize || req.data_size() > t.fileSize - offset) {
    spdlog::info("client {}: pull [{}, +{}) beyond {} bytes of task {}", c->name(), offset, req.data_size(), t.fileSize,
                 t.id);
    return pullError(c, seq, t.id, offset, FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR);
  }
  ImConnPtr sender = connOf(t, 0);
  if (!sender) return pullError(c, seq, t.id, offset, FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
  if (t.pulls.size() >= 64 && !t.pulls.count(offset)) {
    return pullError(c, seq, t.id, offset, FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
  }
  t.pulls[offset] = {seq, req.data_size()};
  t.lastActiveMs = loop_->nowMs();
  req.set_user_id(cl->userId);
  req.set_trans_mode(FILE_TYPE_ONLINE);
  sender->send(SID_FILE, CID_FILE_PULL_DATA_REQ, seq, req);
}

void FileServer::onPullRsp(const ImConnPtr& c, IM::File::IMFilePullDataRsp& rsp) {
  Client* cl = clientOf(c);
  if (rsp.task_id() != cl->taskId || (cl->role != kSender && cl->role != kUploader)) {
    return c->close("pull answer for a task or role it does not hold");
  }
  auto it = tasks_.find(cl->taskId);
  if (it == tasks_.end()) return closeAfterSend(c, "task gone");
  Task& t = it->second;
  const uint32_t offset = rsp.offset();
  if (cl->role == kSender) {
    auto p = t.pulls.find(offset);
    if (p == t.pulls.end()) {
      spdlog::info("task {}: sender answered offset {} nobody asked for; dropped", t.id, offset);
      return;
    }
    const auto [seq, size] = p->second;
    if (rsp.result_code() == 0 && rsp.file_data().size() != size) {
      return c->close("chunk of " + std::to_string(rsp.file_data().size()) + " bytes for a pull of " +
                      std::to_string(size));
    }
    t.pulls.erase(p);
    t.lastActiveMs = loop_->nowMs();
    if (ImConnPtr receiver = connOf(t, 1)) {
      rsp.set_user_id(cl->userId);
      receiver->send(SID_FILE, CID_FILE_PULL_DATA_RSP, seq, rsp);
      FileMetrics::get().bytesRelayed.inc(rsp.file_data().size());
    }
    return;
  }
  // Offline upload: exactly the block we asked for, in order.
  const uint32_t expectOffset = t.upload->written();
  const uint32_t expectSize = std::min(kBlockSize, t.fileSize - expectOffset);
  if (rsp.result_code() != 0) {
    return closeAfterSend(c, "uploader reports error " + std::to_string(rsp.result_code()));
  }
  if (offset != expectOffset || rsp.file_data().size() != expectSize) {
    // The original wrote a full block whatever arrived; here nothing of it is written.
    spdlog::warn("task {}: upload block [{}, +{}) but [{}, +{}) was asked; connection closed", t.id, offset,
                 rsp.file_data().size(), expectOffset, expectSize);
    return c->close("bad upload block");
  }
  std::string err;
  if (!t.upload->append(rsp.file_data(), &err)) {
    spdlog::error("task {}: {}", t.id, err);
    sendState(c, CLIENT_FILE_CANCEL, t.id, t.from);
    return dropTask(t.id, "write failed", FileMetrics::get().endedFailed);
  }
  FileMetrics::get().bytesUploaded.inc(rsp.file_data().size());
  t.lastActiveMs = loop_->nowMs();
  if (t.upload->written() < t.fileSize) return requestBlock(t, c);
  OfflineMeta meta;
  meta.from = t.from;
  meta.to = t.to;
  meta.created = static_cast<uint32_t>(::time(nullptr));
  const std::string id = t.id;
  const uint32_t size = t.fileSize;
  std::unique_ptr<Upload> upload = std::move(t.upload);
  tasks_.erase(it);  // the reservation moves to stored bytes in finishUpload
  if (!store_.finishUpload(std::move(upload), meta, &err)) {
    FileMetrics::get().endedFailed.inc();
    spdlog::error("task {}: {}", id, err);
    sendState(c, CLIENT_FILE_CANCEL, id, meta.from);
    return closeAfterSend(c, "upload could not be stored");
  }
  FileMetrics::get().endedStored.inc();
  spdlog::info("task {}: offline file of {} bytes stored", id, size);
  sendState(c, CLIENT_FILE_DONE, id, meta.from);
  closeAfterSend(c, "upload done");
}

void FileServer::onState(const ImConnPtr& c, IM::File::IMFileState& st) {
  Client* cl = clientOf(c);
  if (st.task_id() != cl->taskId) return c->close("state for a task it does not hold");
  const uint32_t state = st.state();
  if (state == CLIENT_FILE_PEER_READY) return;  // only file_server says that
  if (cl->role == kDownloader) return closeAfterSend(c, "downloader state " + std::to_string(state));
  auto it = tasks_.find(cl->taskId);
  if (it == tasks_.end()) return closeAfterSend(c, "task gone");
  Task& t = it->second;
  if (cl->role == kUploader) {
    // Whatever state it sends, an uploader that stops before the last block abandons the upload.
    return dropTask(t.id, "uploader sent state " + std::to_string(state), FileMetrics::get().endedCancelled);
  }
  // Online: the other side hears it from us, with the sender of the state as user.
  if (ImConnPtr peer = connOf(t, cl->role == kSender ? 1 : 0)) sendState(peer, state, t.id, cl->userId);
  dropTask(t.id, "state " + std::to_string(state) + " from user " + std::to_string(cl->userId), endedByState(state));
}

}  // namespace tt::file
