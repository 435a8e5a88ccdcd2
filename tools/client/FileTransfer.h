#pragma once
// One file transfer with a file_server (docs/PROTOCOL.md §3.9), on a caller's EventDispatch: connect,
// IMFileLoginReq{user, task, role}, then
//   sender (1) / uploader (3):      answer each IMFilePullDataReq from the local file;
//   receiver (2):                   after PEER_READY pull chunks in order, then send DONE;
//   downloader (4):                 pull 32768-byte blocks from offset 0 until the end.
// A dropped connection is retried (bounded); the download goes on from the bytes it has, the
// upload from where file_server stopped. The receiver writes <path>.part and renames it to <path>
// when complete. The done callback runs once, posted to the loop (the owner may destroy the
// transfer from it).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "IM.BaseDefine.pb.h"
#include "netlib/ImClient.h"

namespace tt::net {
class EventDispatch;
}

namespace tt::client {

struct FileTransferSpec {
  std::string host;
  uint16_t port = 0;
  uint32_t userId = 0;
  std::string taskId;
  IM::BaseDefine::ClientFileRole role = IM::BaseDefine::CLIENT_REALTIME_SENDER;
  std::string path;       // read by sender/uploader, written by receiver/downloader
  uint32_t fileSize = 0;  // the size announced in IMFileReq / IMFileNotify
  uint32_t chunkSize = 32768;
  int maxReconnects = 3;
};

class FileTransfer : public std::enable_shared_from_this<FileTransfer> {
 public:
  struct Result {
    bool ok = false;
    std::string error;
    uint64_t bytes = 0;
  };
  using Done = std::function<void(const Result&)>;

  static std::shared_ptr<FileTransfer> create(net::EventDispatch* loop, FileTransferSpec spec, Done done);
  ~FileTransfer();
  FileTransfer(const FileTransfer&) = delete;
  FileTransfer& operator=(const FileTransfer&) = delete;

  // Loop thread. Opens the file and connects; false with *err (nothing started).
  bool start(std::string* err);
  // Loop thread. Tells the peer CANCEL and ends with an error.
  void cancel();
  uint64_t bytes() const { return bytes_; }
  const FileTransferSpec& spec() const { return spec_; }

 private:
  FileTransfer(net::EventDispatch* loop, FileTransferSpec spec, Done done);
  bool sending() const;
  void onConnect(const net::ImConnPtr& conn);
  void onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onClose();
  void pullNext(const net::ImConnPtr& conn);
  void sendState(const net::ImConnPtr& conn, IM::BaseDefine::ClientFileState state);
  void finish(bool ok, const std::string& error);

  net::EventDispatch* loop_;
  FileTransferSpec spec_;
  Done done_;
  std::unique_ptr<net::ImClient> link_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
  uint16_t seq_ = 1;
  int reconnects_ = 0;
  bool connectedOnce_ = false;
  bool finished_ = false;
};

}  // namespace tt::client
