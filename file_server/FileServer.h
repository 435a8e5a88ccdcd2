#pragma once
// file_server (docs/PROTOCOL.md §3.9): msg_servers connect on one port and ask for transfer tasks;
// clients connect on another and log in to a task with its id, their user id and their role.
//
// Tasks. A task id is 128 random bits (a UUID string) and is the only token the wire has room for
// (IMFileLoginReq carries user_id, task_id, role). It is bound to the two users msg_server named
// from its authenticated sessions: a login must name the role's user, each role takes one live
// connection, and a task not completed within TaskTimeout (counted from creation or from the last
// data moved, whichever is later) is dropped with its partial upload.
//
// Online (roles 1 sender, 2 receiver): the receiver pulls chunks (offset, size <= MaxChunkSize);
// each pull goes to the sender and its answer back to the receiver with the receiver's seq.
// Offline (3 uploader, 4 downloader): file_server pulls 32768-byte blocks from the uploader into
// OfflineStore; a downloader (now or after a restart) gets the stored file from any block offset.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/Metrics.h"
#include "base/ThreadPool.h"
#include "file_server/OfflineStore.h"
#include "netlib/Dispatcher.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImServer.h"

namespace IM::File {
class IMFileLoginReq;
class IMFileState;
class IMFilePullDataReq;
class IMFilePullDataRsp;
}  // namespace IM::File
namespace IM::Server {
class IMFileTransferReq;
}

namespace tt {
class Config;
}

namespace tt::file {

constexpr uint32_t kBlockSize = 32768;  // TeamTalk's offline segment size

struct FileServerOptions {
  std::vector<std::string> clientListenIps{"0.0.0.0"};
  uint16_t clientPort = 8600;
  std::vector<std::string> advertiseIps;  // told to clients; default clientListenIps
  std::vector<std::string> msgListenIps{"127.0.0.1"};
  uint16_t msgPort = 8601;
  int64_t taskTimeoutMs = 3600 * 1000;
  int64_t clientTimeoutMs = 120 * 1000;
  int64_t loginTimeoutMs = 15 * 1000;
  int64_t msgServerTimeoutMs = 30 * 1000;
  std::string storageDir = "offline_file";
  uint32_t maxFileSize = 1024u * 1024 * 1024;
  uint32_t maxChunkSize = 256 * 1024;
  uint64_t diskQuota = 10ull * 1024 * 1024 * 1024;
  int64_t offlineLifetimeSec = 7 * 86400;
};

// Relative StorageDir is taken relative to the directory of the config file.
FileServerOptions readFileServerOptions(const Config& config, const std::string& configPath);

class FileServer {
 public:
  FileServer(net::EventDispatch* loop, FileServerOptions options);
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  bool start(std::string* err);
  void shutdown();

 private:
  enum Role : uint32_t { kNone = 0, kSender = 1, kReceiver = 2, kUploader = 3, kDownloader = 4 };

  struct Task {
    std::string id;
    uint32_t from = 0, to = 0;
    std::string fileName;
    uint32_t fileSize = 0;
    bool offline = false;
    int64_t createdMs = 0, lastActiveMs = 0;
    net::ConnId conns[2] = {0, 0};  // online: sender, receiver; offline: uploader
    // Online: pulls sent on to the sender and not answered yet: offset -> (receiver's seq, size).
    std::map<uint32_t, std::pair<uint16_t, uint32_t>> pulls;
    std::unique_ptr<Upload> upload;  // offline, from the uploader's first login
    uint16_t nextSeq = 1;            // our requests to the uploader
  };

  // Per client connection (ImConn::context()).
  struct Client {
    Role role = kNone;
    bool closing = false;
    bool verifying = false;
    std::string taskId;
    uint32_t userId = 0;
    int64_t connectedMs = 0;
    OfflineMeta stored;  // downloader: the verified file
  };
  static Client* clientOf(const net::ImConnPtr& c);

  void registerHandlers();
  void onClientClosed(const net::ImConnPtr& c);
  void onTransferReq(const net::ImConnPtr& link, const net::ImPdu& pdu, IM::Server::IMFileTransferReq& req);
  void onLogin(const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileLoginReq& req);
  void onDownloadVerified(const net::ImConnPtr& c, uint16_t seq, OfflineStore::Check check, const OfflineMeta& meta,
                          const std::string& why);
  void onState(const net::ImConnPtr& c, IM::File::IMFileState& st);
  void onPullReq(const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFilePullDataReq& req);
  void onPullRsp(const net::ImConnPtr& c, IM::File::IMFilePullDataRsp& rsp);

  void loginResult(const net::ImConnPtr& c, uint16_t seq, const std::string& taskId, uint32_t code);
  void pullError(const net::ImConnPtr& c, uint16_t seq, const std::string& taskId, uint32_t offset, uint32_t code);
  void requestBlock(Task& t, const net::ImConnPtr& uploader);
  void sendState(const net::ImConnPtr& c, uint32_t state, const std::string& taskId, uint32_t userId);
  // Sends what is queued, then closes (forced after 2 s).
  void closeAfterSend(const net::ImConnPtr& c, const std::string& why);
  net::ImConnPtr connOf(const Task& t, int slot) const;
  // id by value: callers pass the task's own. outcome: the ttsuite_file_tasks_ended_total series.
  void dropTask(std::string id, const std::string& why, metrics::Counter& outcome);
  void tick();
  void registerMetrics();

  net::EventDispatch* loop_;
  FileServerOptions options_;
  net::ImServer clients_;
  net::ImServer msgServers_;
  net::Dispatcher clientCommands_, msgCommands_;
  OfflineStore store_;
  std::unordered_map<std::string, Task> tasks_;
  std::unordered_map<std::string, net::ConnId> downloads_;  // task id -> the downloader
  std::unique_ptr<ThreadPool> verifier_;                    // sha256 of stored files off the loop
  net::TimerId tickTimer_ = 0;
  int64_t lastSweepMs_ = 0;
  bool stopping_ = false;
  std::vector<metrics::CallbackHandle> metricHandles_;  // last: unregistered before what they read dies
};

}  // namespace tt::file
