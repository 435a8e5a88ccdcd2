#include "tools/client/FileTransfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "IM.File.pb.h"
#include "netlib/EventDispatch.h"
#include "netlib/InetAddress.h"

namespace tt::client {

namespace bd = IM::BaseDefine;

namespace {
constexpr uint32_t kMaxServedChunk = 1024 * 1024;  // a sender answers at most this much per pull
}

std::shared_ptr<FileTransfer> FileTransfer::create(net::EventDispatch* loop, FileTransferSpec spec, Done done) {
  return std::shared_ptr<FileTransfer>(new FileTransfer(loop, std::move(spec), std::move(done)));
}

FileTransfer::FileTransfer(net::EventDispatch* loop, FileTransferSpec spec, Done done)
    : loop_(loop), spec_(std::move(spec)), done_(std::move(done)) {}

FileTransfer::~FileTransfer() {
  if (link_) link_->stop();
  if (fd_ >= 0) ::close(fd_);
}

bool FileTransfer::sending() const {
  return spec_.role == bd::CLIENT_REALTIME_SENDER || spec_.role == bd::CLIENT_OFFLINE_UPLOAD;
}

bool FileTransfer::start(std::string* err) {
  auto addr = net::InetAddress::parse(spec_.host, spec_.port);
  if (!addr) {
    *err = "bad file_server address " + spec_.host;
    return false;
  }
  if (sending()) {
    fd_ = ::open(spec_.path.c_str(), O_RDONLY | O_CLOEXEC);
  } else {
    fd_ = ::open((spec_.path + ".part").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) {
    *err = spec_.path + ": " + std::strerror(errno);
    return false;
  }
  net::ImConnOptions o;
  o.maxPduSize = kMaxServedChunk + 4096;
  o.heartbeatIntervalMs = 5000;
  o.timeoutMs = 60000;
  link_ = std::make_unique<net::ImClient>(loop_, *addr, "file_server", o);
  link_->setRetryDelays(200, 2000);
  std::weak_ptr<FileTransfer> weak = shared_from_this();
  link_->setConnectHandler([weak](const net::ImConnPtr& c) {
    if (auto self = weak.lock()) self->onConnect(c);
  });
  link_->setPduHandler([weak](const net::ImConnPtr& c, const net::ImPdu& pdu) {
    if (auto self = weak.lock()) self->onPdu(c, pdu);
  });
  link_->setCloseHandler([weak](const net::ImConnPtr&) {
    if (auto self = weak.lock()) self->onClose();
  });
  link_->connect();
  return true;
}

void FileTransfer::onConnect(const net::ImConnPtr& conn) {
  if (finished_) return;
  connectedOnce_ = true;
  IM::File::IMFileLoginReq req;
  req.set_user_id(spec_.userId);
  req.set_task_id(spec_.taskId);
  req.set_file_role(spec_.role);
  conn->send(bd::SID_FILE, bd::CID_FILE_LOGIN_REQ, seq_++, req);
}

void FileTransfer::onClose() {
  if (finished_) {
    link_->stop();  // no reconnect
    return;
  }
  if (++reconnects_ > spec_.maxReconnects) {
    finish(false, connectedOnce_ ? "connection to file_server lost" : "cannot connect to file_server");
  }
  // Otherwise ImClient reconnects by itself and onConnect logs in again.
}

void FileTransfer::pullNext(const net::ImConnPtr& conn) {
  IM::File::IMFilePullDataReq req;
  req.set_task_id(spec_.taskId);
  req.set_user_id(spec_.userId);
  const bool offline = spec_.role == bd::CLIENT_OFFLINE_DOWNLOAD;
  req.set_trans_mode(offline ? bd::FILE_TYPE_OFFLINE : bd::FILE_TYPE_ONLINE);
  req.set_offset(static_cast<uint32_t>(bytes_));
  const uint32_t chunk = offline ? 32768 : spec_.chunkSize;
  req.set_data_size(static_cast<uint32_t>(std::min<uint64_t>(chunk, spec_.fileSize - bytes_)));
  conn->send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_REQ, seq_++, req);
}

void FileTransfer::sendState(const net::ImConnPtr& conn, bd::ClientFileState state) {
  IM::File::IMFileState st;
  st.set_state(state);
  st.set_task_id(spec_.taskId);
  st.set_user_id(spec_.userId);
  conn->send(bd::SID_FILE, bd::CID_FILE_STATE, 0, st);
}

void FileTransfer::onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  if (finished_) return;
  switch (pdu.commandId()) {
    case bd::CID_FILE_LOGIN_RES: {
      IM::File::IMFileLoginRsp rsp;
      if (!pdu.parse(&rsp)) return finish(false, "malformed login answer");
      if (rsp.result_code() != 0) {
        return finish(false, "file_server refused the login (error " + std::to_string(rsp.result_code()) + ")");
      }
      if (spec_.role == bd::CLIENT_OFFLINE_DOWNLOAD) pullNext(conn);  // online receivers wait for PEER_READY
      return;
    }
    case bd::CID_FILE_STATE: {
      IM::File::IMFileState st;
      if (!pdu.parse(&st)) return;
      switch (st.state()) {
        case bd::CLIENT_FILE_PEER_READY:
          if (spec_.role == bd::CLIENT_REALTIME_RECVER && bytes_ < spec_.fileSize) pullNext(conn);
          return;
        case bd::CLIENT_FILE_DONE:
          if (sending()) bytes_ = spec_.fileSize;
          if (bytes_ == spec_.fileSize) return finish(true, "");
          return finish(false, "peer reported done early");
        case bd::CLIENT_FILE_CANCEL:
          return finish(false, "cancelled by the peer");
        case bd::CLIENT_FILE_REFUSE:
          return finish(false, "refused by the peer");
      }
      return;
    }
    case bd::CID_FILE_PULL_DATA_REQ: {  // we are the sender / uploader
      IM::File::IMFilePullDataReq req;
      if (!pdu.parse(&req) || !sending()) return;
      IM::File::IMFilePullDataRsp rsp;
      rsp.set_task_id(spec_.taskId);
      rsp.set_user_id(spec_.userId);
      rsp.set_offset(req.offset());
      const uint64_t end = std::min<uint64_t>(uint64_t{req.offset()} + req.data_size(), spec_.fileSize);
      std::string data;
      if (req.offset() <= spec_.fileSize && end - req.offset() <= kMaxServedChunk) {
        data.resize(static_cast<size_t>(end - req.offset()));
        const ssize_t n = ::pread(fd_, data.data(), data.size(), static_cast<off_t>(req.offset()));
        if (n != static_cast<ssize_t>(data.size())) data.clear();
      }
      rsp.set_result_code(data.empty() && end > req.offset() ? 1 : 0);
      rsp.set_file_data(data);
      bytes_ = std::max<uint64_t>(bytes_, end);
      conn->send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_RSP, pdu.seqNum(), rsp);
      return;
    }
    case bd::CID_FILE_PULL_DATA_RSP: {  // we are the receiver / downloader
      IM::File::IMFilePullDataRsp rsp;
      if (!pdu.parse(&rsp) || sending()) return;
      if (rsp.result_code() != 0) {
        // Online: the sender went away for a moment; PEER_READY comes again when it is back.
        if (spec_.role == bd::CLIENT_REALTIME_RECVER &&
            rsp.result_code() == bd::FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID) {
          return;
        }
        return finish(false, "file_server error " + std::to_string(rsp.result_code()));
      }
      if (rsp.offset() != bytes_ || rsp.file_data().empty() || bytes_ + rsp.file_data().size() > spec_.fileSize) {
        return finish(false, "unexpected chunk at offset " + std::to_string(rsp.offset()));
      }
      const ssize_t n = ::pwrite(fd_, rsp.file_data().data(), rsp.file_data().size(), static_cast<off_t>(bytes_));
      if (n != static_cast<ssize_t>(rsp.file_data().size()))
        return finish(false, std::string("write: ") + std::strerror(errno));
      bytes_ += rsp.file_data().size();
      if (bytes_ < spec_.fileSize) return pullNext(conn);
      if (spec_.role == bd::CLIENT_REALTIME_RECVER) sendState(conn, bd::CLIENT_FILE_DONE);
      return finish(true, "");
    }
    default:
      return;
  }
}

void FileTransfer::cancel() {
  if (finished_) return;
  if (link_ && link_->connected()) sendState(link_->conn(), bd::CLIENT_FILE_CANCEL);
  finish(false, "cancelled");
}

void FileTransfer::finish(bool ok, const std::string& error) {
  if (finished_) return;
  finished_ = true;
  if (!sending() && fd_ >= 0) {
    const bool synced = ::fsync(fd_) == 0;
    ::close(fd_);
    fd_ = -1;
    const std::string part = spec_.path + ".part";
    if (ok && synced && std::rename(part.c_str(), spec_.path.c_str()) != 0) {
      ok = false;
    }
    if (!ok) ::unlink(part.c_str());
  }
  // What we queued (a DONE, a CANCEL) goes out; the server then closes and onClose stops the link.
  if (link_ && link_->connected()) {
    link_->conn()->tcp()->shutdown();
    std::weak_ptr<FileTransfer> weak = shared_from_this();
    loop_->runAfter(2000, [weak] {
      if (auto self = weak.lock()) self->link_->stop();
    });
  } else if (link_) {
    link_->stop();
  }
  Result r;
  r.ok = ok;
  r.error = ok ? "" : (error.empty() ? "could not store the file" : error);
  r.bytes = bytes_;
  loop_->post([self = shared_from_this(), r] {
    if (self->done_) self->done_(r);
  });
}

}  // namespace tt::client
