// file_server alone (docs/PROTOCOL.md §3.9): each test starts the real binary on free ports with its own
// storage directory; blocking PduClients play the msg_server (tasks) and the clients (transfers).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "IM.Server.pb.h"
#include "PduClient.h"
#include "StorageFixture.h"

namespace bd = IM::BaseDefine;
using tt::test::DaemonProcess;
using tt::test::PduClient;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kBlock = 32768;
constexpr uint32_t kAlice = 101, kBob = 102, kMallory = 103;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string makeData(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

bool fileExists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string readFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool waitFor(const std::function<bool()>& pred, int timeoutMs) {
  const int64_t deadline = nowMs() + timeoutMs;
  while (!pred()) {
    if (nowMs() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One file_server with its own directory; stopped with SIGTERM (must exit 0) at the end.
class FileServerProc {
 public:
  explicit FileServerProc(const std::string& extra = "") {
    dir_ = tt::test::makeTempDir("ttfile-");
    clientPort_ = tt::test::pickFreeLoopbackPort();
    msgPort_ = tt::test::pickFreeLoopbackPort();
    extra_ = extra;
    daemon_ = std::make_unique<DaemonProcess>(tt::test::daemonBinary("file_server"), "file_server");
    start();
  }
  ~FileServerProc() {
    if (daemon_->running()) {
      EXPECT_EQ(daemon_->stop(), 0) << daemon_->logTail();
    }
    tt::test::removeTree(dir_);
  }
  void start() { daemon_->start(dir_, conf(), msgPort_); }
  int stop() { return daemon_->stop(); }
  std::string conf() const {
    return "ClientListenIP=127.0.0.1\nClientListenPort=" + std::to_string(clientPort_) +
           "\nMsgServerListenIP=127.0.0.1\nMsgServerListenPort=" + std::to_string(msgPort_) +
           "\nStorageDir=store\nMaxFileSize=8388608\nMaxChunkSize=65536\nLogLevel=debug\n" + extra_;
  }
  int clientPort() const { return clientPort_; }
  int msgPort() const { return msgPort_; }
  std::string storeDir() const { return dir_ + "/store"; }
  std::string dataPath(const std::string& id) const { return storeDir() + "/" + id.substr(0, 2) + "/" + id; }
  DaemonProcess& daemon() { return *daemon_; }

 private:
  std::string dir_, extra_;
  int clientPort_ = 0, msgPort_ = 0;
  std::unique_ptr<DaemonProcess> daemon_;
};

// msg_server's side: IMFileTransferReq -> IMFileTransferRsp (seq and attach_data echoed).
IM::Server::IMFileTransferRsp createTask(PduClient& msg, uint32_t from, uint32_t to, uint32_t size,
                                         bd::TransferFileType mode, const std::string& name = "a.bin") {
  static uint16_t seq = 100;
  ++seq;
  IM::Server::IMFileTransferReq req;
  req.set_from_user_id(from);
  req.set_to_user_id(to);
  req.set_file_name(name);
  req.set_file_size(size);
  req.set_trans_mode(mode);
  req.set_attach_data("request-" + std::to_string(seq));
  EXPECT_TRUE(msg.send(bd::SID_OTHER, bd::CID_OTHER_FILE_TRANSFER_REQ, seq, req));
  auto pdu = msg.receiveCommand(bd::CID_OTHER_FILE_TRANSFER_RSP);
  if (!pdu) {
    ADD_FAILURE() << "no IMFileTransferRsp";
    return {};
  }
  EXPECT_EQ(pdu->seq(), seq);
  auto rsp = pdu->as<IM::Server::IMFileTransferRsp>();
  EXPECT_EQ(rsp.attach_data(), req.attach_data());
  EXPECT_EQ(rsp.from_user_id(), from);
  EXPECT_EQ(rsp.to_user_id(), to);
  return rsp;
}

// Connects and logs in; returns the result code (nullopt if no answer).
std::optional<uint32_t> login(PduClient& c, int port, uint32_t user, const std::string& task, bd::ClientFileRole role) {
  c.close();
  if (!c.connect(port)) return std::nullopt;
  IM::File::IMFileLoginReq req;
  req.set_user_id(user);
  req.set_task_id(task);
  req.set_file_role(role);
  if (!c.send(bd::SID_FILE, bd::CID_FILE_LOGIN_REQ, 7, req)) return std::nullopt;
  auto pdu = c.receiveCommand(bd::CID_FILE_LOGIN_RES);
  if (!pdu) return std::nullopt;
  EXPECT_EQ(pdu->seq(), 7);
  auto rsp = pdu->as<IM::File::IMFileLoginRsp>();
  if (rsp.result_code() == 0) {
    EXPECT_EQ(rsp.task_id(), task);
  }
  return rsp.result_code();
}

void sendPull(PduClient& c, uint16_t seq, const std::string& task, uint32_t user, bd::TransferFileType mode,
              uint32_t offset, uint32_t size) {
  IM::File::IMFilePullDataReq req;
  req.set_task_id(task);
  req.set_user_id(user);
  req.set_trans_mode(mode);
  req.set_offset(offset);
  req.set_data_size(size);
  ASSERT_TRUE(c.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_REQ, seq, req));
}

void sendChunk(PduClient& c, uint16_t seq, const std::string& task, uint32_t user, uint32_t offset,
               const std::string& data) {
  IM::File::IMFilePullDataRsp rsp;
  rsp.set_result_code(0);
  rsp.set_task_id(task);
  rsp.set_user_id(user);
  rsp.set_offset(offset);
  rsp.set_file_data(data);
  ASSERT_TRUE(c.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_RSP, seq, rsp));
}

std::optional<IM::File::IMFilePullDataRsp> pull(PduClient& c, uint16_t seq, const std::string& task, uint32_t user,
                                                bd::TransferFileType mode, uint32_t offset, uint32_t size) {
  sendPull(c, seq, task, user, mode, offset, size);
  auto pdu = c.receiveCommand(bd::CID_FILE_PULL_DATA_RSP);
  if (!pdu) return std::nullopt;
  EXPECT_EQ(pdu->seq(), seq) << "a pull answer carries the puller's seq";
  return pdu->as<IM::File::IMFilePullDataRsp>();
}

// Answers the file_server's block requests until `blocks` were sent (0 = all) or DONE arrives.
// Returns the bytes uploaded; *done tells whether IMFileState DONE came.
uint32_t upload(PduClient& up, const std::string& task, const std::string& data, int blocks, bool* done) {
  *done = false;
  uint32_t sent = 0;
  for (int n = 0; blocks == 0 || n < blocks; ++n) {
    auto pdu = up.receive();
    if (!pdu) break;
    if (pdu->commandId() == bd::CID_FILE_STATE) {
      auto st = pdu->as<IM::File::IMFileState>();
      EXPECT_EQ(st.state(), bd::CLIENT_FILE_DONE);
      EXPECT_EQ(st.task_id(), task);
      *done = st.state() == bd::CLIENT_FILE_DONE;
      break;
    }
    EXPECT_EQ(pdu->commandId(), bd::CID_FILE_PULL_DATA_REQ);
    auto req = pdu->as<IM::File::IMFilePullDataReq>();
    EXPECT_EQ(req.trans_mode(), bd::FILE_TYPE_OFFLINE);
    EXPECT_EQ(req.offset() % kBlock, 0u);
    EXPECT_EQ(req.data_size(), std::min<uint32_t>(kBlock, static_cast<uint32_t>(data.size()) - req.offset()));
    sendChunk(up, pdu->seq(), task, kAlice, req.offset(), data.substr(req.offset(), req.data_size()));
    sent = req.offset() + req.data_size();
  }
  if (blocks == 0 && !*done) {
    if (auto pdu = up.receiveCommand(bd::CID_FILE_STATE)) *done = true;
  }
  return sent;
}

// Pulls the stored file from `offset` to the end (or `blocks` blocks); returns what came.
std::string download(PduClient& down, const std::string& task, uint32_t user, uint32_t offset, uint32_t size,
                     int blocks, bool* done) {
  std::string got;
  *done = false;
  uint16_t seq = 1;
  for (int n = 0; offset < size && (blocks == 0 || n < blocks); ++n) {
    auto rsp = pull(down, seq++, task, user, bd::FILE_TYPE_OFFLINE, offset, kBlock);
    if (!rsp) break;
    EXPECT_EQ(rsp->result_code(), 0u);
    EXPECT_EQ(rsp->offset(), offset);
    got += rsp->file_data();
    offset += static_cast<uint32_t>(rsp->file_data().size());
    if (rsp->file_data().empty()) break;
  }
  if (offset == size) {
    auto st = down.receiveCommand(bd::CID_FILE_STATE);
    if (st) {
      auto s = st->as<IM::File::IMFileState>();
      *done = s.state() == bd::CLIENT_FILE_DONE && s.user_id() == kAlice;
    }
  }
  return got;
}

class FileServerTest : public ::testing::Test {};

TEST_F(FileServerTest, TellsMsgServersTheClientAddresses) {
  FileServerProc fs;
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  ASSERT_TRUE(msg.send(bd::SID_OTHER, bd::CID_OTHER_FILE_SERVER_IP_REQ, 3, IM::Server::IMFileServerIPReq()));
  auto pdu = msg.receiveCommand(bd::CID_OTHER_FILE_SERVER_IP_RSP);
  ASSERT_TRUE(pdu);
  auto rsp = pdu->as<IM::Server::IMFileServerIPRsp>();
  ASSERT_EQ(rsp.ip_addr_list_size(), 1);
  EXPECT_EQ(rsp.ip_addr_list(0).ip(), "127.0.0.1");
  EXPECT_EQ(rsp.ip_addr_list(0).port(), static_cast<uint32_t>(fs.clientPort()));
  // Task ids are UUID strings and never repeat.
  auto a = createTask(msg, kAlice, kBob, 10, bd::FILE_TYPE_ONLINE);
  auto b = createTask(msg, kAlice, kBob, 10, bd::FILE_TYPE_ONLINE);
  EXPECT_EQ(a.result_code(), 0u);
  EXPECT_EQ(a.task_id().size(), 36u);
  EXPECT_EQ(a.task_id()[14], '4') << "version-4 UUID";
  EXPECT_NE(a.task_id(), b.task_id());
}

TEST_F(FileServerTest, OnlineTransferOfFiveMiBIsByteExact) {
  FileServerProc fs;
  const std::string data = makeData(5 * 1024 * 1024 + 123, 1);
  const auto size = static_cast<uint32_t>(data.size());
  PduClient msg, sender, receiver;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto task = createTask(msg, kAlice, kBob, size, bd::FILE_TYPE_ONLINE);
  ASSERT_EQ(task.result_code(), 0u);
  const std::string id = task.task_id();
  EXPECT_EQ(task.trans_mode(), bd::FILE_TYPE_ONLINE);

  ASSERT_EQ(login(sender, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER), 0u);
  ASSERT_EQ(login(receiver, fs.clientPort(), kBob, id, bd::CLIENT_REALTIME_RECVER), 0u);
  auto ready = receiver.receiveCommand(bd::CID_FILE_STATE);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->as<IM::File::IMFileState>().state(), bd::CLIENT_FILE_PEER_READY);
  EXPECT_EQ(ready->as<IM::File::IMFileState>().user_id(), kAlice);

  const int64_t t0 = nowMs();
  std::string got;
  constexpr uint32_t kChunk = 65536;
  uint16_t seq = 1;
  while (got.size() < data.size()) {
    const auto offset = static_cast<uint32_t>(got.size());
    const uint32_t len = std::min(kChunk, size - offset);
    sendPull(receiver, seq, id, kBob, bd::FILE_TYPE_ONLINE, offset, len);
    auto fwd = sender.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(fwd) << "pull at " << offset << " did not reach the sender";
    auto req = fwd->as<IM::File::IMFilePullDataReq>();
    ASSERT_EQ(req.offset(), offset);
    ASSERT_EQ(req.data_size(), len);
    EXPECT_EQ(req.user_id(), kBob);
    sendChunk(sender, fwd->seq(), id, kAlice, offset, data.substr(offset, len));
    auto back = receiver.receiveCommand(bd::CID_FILE_PULL_DATA_RSP);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->seq(), seq) << "the answer carries the receiver's seq";
    auto rsp = back->as<IM::File::IMFilePullDataRsp>();
    ASSERT_EQ(rsp.result_code(), 0u);
    ASSERT_EQ(rsp.offset(), offset);
    EXPECT_EQ(rsp.user_id(), kAlice);
    got += rsp.file_data();
    ++seq;
  }
  const int64_t ms = nowMs() - t0;
  std::printf("online 5 MiB relayed in %lld ms (64 KiB chunks, one in flight)\n", static_cast<long long>(ms));
  EXPECT_TRUE(got == data) << "relayed bytes differ";

  // DONE from the receiver reaches the sender; both connections are closed and the task is gone.
  IM::File::IMFileState done;
  done.set_state(bd::CLIENT_FILE_DONE);
  done.set_task_id(id);
  done.set_user_id(kBob);
  ASSERT_TRUE(receiver.send(bd::SID_FILE, bd::CID_FILE_STATE, 9, done));
  auto st = sender.receiveCommand(bd::CID_FILE_STATE);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->as<IM::File::IMFileState>().state(), bd::CLIENT_FILE_DONE);
  EXPECT_EQ(st->as<IM::File::IMFileState>().user_id(), kBob);
  EXPECT_TRUE(sender.waitClosed());
  EXPECT_TRUE(receiver.waitClosed());
  PduClient again;
  EXPECT_EQ(login(again, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN));
}

TEST_F(FileServerTest, OnlineCancelAndRefuseReachThePeer) {
  FileServerProc fs;
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  for (auto state : {bd::CLIENT_FILE_REFUSE, bd::CLIENT_FILE_CANCEL}) {
    auto task = createTask(msg, kAlice, kBob, 1000, bd::FILE_TYPE_ONLINE);
    PduClient sender, receiver;
    ASSERT_EQ(login(sender, fs.clientPort(), kAlice, task.task_id(), bd::CLIENT_REALTIME_SENDER), 0u);
    ASSERT_EQ(login(receiver, fs.clientPort(), kBob, task.task_id(), bd::CLIENT_REALTIME_RECVER), 0u);
    ASSERT_TRUE(receiver.receiveCommand(bd::CID_FILE_STATE));  // PEER_READY
    IM::File::IMFileState st;
    st.set_state(state);
    st.set_task_id(task.task_id());
    st.set_user_id(kBob);
    PduClient& from = state == bd::CLIENT_FILE_REFUSE ? receiver : sender;
    PduClient& to = state == bd::CLIENT_FILE_REFUSE ? sender : receiver;
    ASSERT_TRUE(from.send(bd::SID_FILE, bd::CID_FILE_STATE, 1, st));
    auto got = to.receiveCommand(bd::CID_FILE_STATE);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->as<IM::File::IMFileState>().state(), state);
    EXPECT_EQ(got->as<IM::File::IMFileState>().user_id(), state == bd::CLIENT_FILE_REFUSE ? kBob : kAlice);
    EXPECT_TRUE(to.waitClosed());
  }
}

TEST_F(FileServerTest, OfflineUploadIsStoredAndTheReceiverDownloadsItLater) {
  FileServerProc fs;
  const std::string data = makeData(5 * kBlock + 777, 2);
  const auto size = static_cast<uint32_t>(data.size());
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto task = createTask(msg, kAlice, kBob, size, bd::FILE_TYPE_OFFLINE, "../../etc/passwd");
  ASSERT_EQ(task.result_code(), 0u);
  const std::string id = task.task_id();
  {
    PduClient up;
    ASSERT_EQ(login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD), 0u);
    // While the upload runs, nothing is downloadable and only the .tmp exists.
    bool done = false;
    EXPECT_EQ(upload(up, id, data, 2, &done), 2 * kBlock);
    PduClient early;
    EXPECT_EQ(login(early, fs.clientPort(), kBob, id, bd::CLIENT_OFFLINE_DOWNLOAD),
              static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN));
    EXPECT_FALSE(fileExists(fs.dataPath(id)));
    EXPECT_TRUE(fileExists(fs.dataPath(id) + ".tmp"));
    upload(up, id, data, 0, &done);
    EXPECT_TRUE(done) << "the uploader hears DONE";
    EXPECT_TRUE(up.waitClosed());
  }
  // On disk: named by task id only, complete, with its meta; no .tmp left.
  EXPECT_EQ(readFile(fs.dataPath(id)), data);
  EXPECT_FALSE(fileExists(fs.dataPath(id) + ".tmp"));
  const std::string meta = readFile(fs.dataPath(id) + ".meta");
  EXPECT_NE(meta.find("size=" + std::to_string(size)), std::string::npos) << meta;
  EXPECT_NE(meta.find("to=" + std::to_string(kBob)), std::string::npos) << meta;
  EXPECT_NE(meta.find("sha256="), std::string::npos) << meta;

  // The receiver comes later, after a file_server restart.
  ASSERT_EQ(fs.stop(), 0);
  fs.start();
  PduClient down;
  EXPECT_EQ(login(down, fs.clientPort(), kMallory, id, bd::CLIENT_OFFLINE_DOWNLOAD),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK));
  ASSERT_EQ(login(down, fs.clientPort(), kBob, id, bd::CLIENT_OFFLINE_DOWNLOAD), 0u);
  bool done = false;
  const std::string got = download(down, id, kBob, 0, size, 0, &done);
  EXPECT_TRUE(got == data) << "downloaded " << got.size() << " bytes, differ";
  EXPECT_TRUE(done) << "DONE (user_id = sender) after the last block";
  EXPECT_TRUE(down.waitClosed());
}

TEST_F(FileServerTest, UploadAndDownloadResumeAfterADroppedConnection) {
  FileServerProc fs;
  const std::string data = makeData(7 * kBlock + 5, 3);
  const auto size = static_cast<uint32_t>(data.size());
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto task = createTask(msg, kAlice, kBob, size, bd::FILE_TYPE_OFFLINE);
  const std::string id = task.task_id();
  bool done = false;
  {
    PduClient up;
    ASSERT_EQ(login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD), 0u);
    EXPECT_EQ(upload(up, id, data, 3, &done), 3 * kBlock);
    // Wait until the third block is written: the next request shows it.
    auto next = up.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->as<IM::File::IMFilePullDataReq>().offset(), 3 * kBlock);
  }  // dropped
  {
    PduClient up;
    // The slot frees when the server sees the close.
    ASSERT_TRUE(waitFor([&] { return login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD) == 0u; }, 20000));
    auto first = up.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->as<IM::File::IMFilePullDataReq>().offset(), 3 * kBlock) << "upload resumes where it stopped";
    sendChunk(up, first->seq(), id, kAlice, 3 * kBlock, data.substr(3 * kBlock, kBlock));
    upload(up, id, data, 0, &done);
    EXPECT_TRUE(done);
  }
  EXPECT_EQ(readFile(fs.dataPath(id)), data);

  std::string got;
  {
    PduClient down;
    ASSERT_EQ(login(down, fs.clientPort(), kBob, id, bd::CLIENT_OFFLINE_DOWNLOAD), 0u);
    got = download(down, id, kBob, 0, size, 2, &done);
    EXPECT_FALSE(done);
  }
  ASSERT_EQ(got.size(), 2 * kBlock);
  PduClient down;
  ASSERT_TRUE(waitFor([&] { return login(down, fs.clientPort(), kBob, id, bd::CLIENT_OFFLINE_DOWNLOAD) == 0u; }, 20000));
  got += download(down, id, kBob, 2 * kBlock, size, 0, &done);
  EXPECT_TRUE(got == data);
  EXPECT_TRUE(done);
}

TEST_F(FileServerTest, OnlineTransferGoesOnAfterTheSenderReconnects) {
  FileServerProc fs;
  const std::string data = makeData(4 * kBlock, 7);
  const auto size = static_cast<uint32_t>(data.size());
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  const std::string id = createTask(msg, kAlice, kBob, size, bd::FILE_TYPE_ONLINE).task_id();
  PduClient receiver;
  ASSERT_EQ(login(receiver, fs.clientPort(), kBob, id, bd::CLIENT_REALTIME_RECVER), 0u);
  std::string got;
  uint16_t seq = 1;
  auto relayOne = [&](PduClient& sender) {
    const auto offset = static_cast<uint32_t>(got.size());
    sendPull(receiver, seq, id, kBob, bd::FILE_TYPE_ONLINE, offset, kBlock);
    auto fwd = sender.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(fwd);
    sendChunk(sender, fwd->seq(), id, kAlice, offset, data.substr(offset, kBlock));
    auto back = receiver.receiveCommand(bd::CID_FILE_PULL_DATA_RSP);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->seq(), seq);
    got += back->as<IM::File::IMFilePullDataRsp>().file_data();
    ++seq;
  };
  {
    PduClient sender;
    ASSERT_EQ(login(sender, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER), 0u);
    ASSERT_TRUE(receiver.receiveCommand(bd::CID_FILE_STATE));  // PEER_READY
    relayOne(sender);
    relayOne(sender);
  }  // the sender's connection drops
  // Without a sender a pull is answered with an error, not left hanging.
  auto orphan = [&] {
    auto r = pull(receiver, 500, id, kBob, bd::FILE_TYPE_ONLINE, 2 * kBlock, kBlock);
    return r && r->result_code() == static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
  };
  ASSERT_TRUE(waitFor(orphan, 20000));
  PduClient sender;
  ASSERT_EQ(login(sender, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER), 0u);
  auto ready = receiver.receiveCommand(bd::CID_FILE_STATE);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->as<IM::File::IMFileState>().state(), bd::CLIENT_FILE_PEER_READY);
  relayOne(sender);
  relayOne(sender);
  EXPECT_TRUE(got == data);
}

TEST_F(FileServerTest, SilentAndNeverLoggedInClientsAreClosed) {
  FileServerProc fs("ClientTimeout=1\nLoginTimeout=1\n");
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  const std::string id = createTask(msg, kAlice, kBob, 100, bd::FILE_TYPE_ONLINE).task_id();
  PduClient idle, anonymous;
  ASSERT_EQ(login(idle, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER), 0u);
  ASSERT_TRUE(anonymous.connect(fs.clientPort()));
  const int64_t t0 = nowMs();
  EXPECT_TRUE(idle.waitClosed());
  EXPECT_TRUE(anonymous.waitClosed());
  EXPECT_GE(nowMs() - t0, 900);
  // The task outlives the connection: the sender may come back.
  PduClient back;
  EXPECT_EQ(login(back, fs.clientPort(), kAlice, id, bd::CLIENT_REALTIME_SENDER), 0u);
}

TEST_F(FileServerTest, BadLoginsAreRefusedAndClosed) {
  FileServerProc fs;
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto online = createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_ONLINE);
  auto offline = createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_OFFLINE);
  const uint32_t kInvalidToken = bd::FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN;
  const uint32_t kWrongUser = bd::FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK;
  std::string upper = online.task_id();
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string& bad :
       {std::string("../../../../etc/passwd"), std::string("../") + offline.task_id().substr(3), upper,
        online.task_id() + "0", std::string(""), std::string("00000000-0000-4000-8000-000000000000")}) {
    for (auto role : {bd::CLIENT_REALTIME_SENDER, bd::CLIENT_OFFLINE_DOWNLOAD}) {
      PduClient c;
      EXPECT_EQ(login(c, fs.clientPort(), kAlice, bad, role), kInvalidToken) << "task id '" << bad << "'";
      EXPECT_TRUE(c.waitClosed()) << "a refused login is closed";
    }
  }
  PduClient c;
  EXPECT_EQ(login(c, fs.clientPort(), kMallory, online.task_id(), bd::CLIENT_REALTIME_SENDER), kWrongUser);
  EXPECT_EQ(login(c, fs.clientPort(), kAlice, online.task_id(), bd::CLIENT_REALTIME_RECVER), kWrongUser);
  EXPECT_EQ(login(c, fs.clientPort(), kBob, online.task_id(), bd::CLIENT_OFFLINE_DOWNLOAD), kInvalidToken);
  EXPECT_EQ(login(c, fs.clientPort(), kAlice, offline.task_id(), bd::CLIENT_REALTIME_SENDER), kInvalidToken);
  EXPECT_EQ(login(c, fs.clientPort(), kMallory, offline.task_id(), bd::CLIENT_OFFLINE_UPLOAD), kWrongUser);
  // One live connection per role.
  PduClient first, second;
  ASSERT_EQ(login(first, fs.clientPort(), kAlice, online.task_id(), bd::CLIENT_REALTIME_SENDER), 0u);
  EXPECT_EQ(login(second, fs.clientPort(), kAlice, online.task_id(), bd::CLIENT_REALTIME_SENDER), kWrongUser);
  // Anything but login before login closes the connection.
  PduClient early;
  ASSERT_TRUE(early.connect(fs.clientPort()));
  sendPull(early, 1, online.task_id(), kBob, bd::FILE_TYPE_ONLINE, 0, 100);
  EXPECT_TRUE(early.waitClosed());
  // Garbage length closes that connection only; the daemon lives on.
  PduClient garbage;
  ASSERT_TRUE(garbage.connect(fs.clientPort()));
  garbage.sendRaw(std::string("\x7f\xff\xff\xff", 4) + std::string(12, '\0'));
  EXPECT_TRUE(garbage.waitClosed());
  EXPECT_TRUE(fs.daemon().running());
}

TEST_F(FileServerTest, BadPullsGetTheProtocolErrorCodes) {
  FileServerProc fs;
  const std::string data = makeData(3 * kBlock + 10, 4);
  const auto size = static_cast<uint32_t>(data.size());
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto online = createTask(msg, kAlice, kBob, 200000, bd::FILE_TYPE_ONLINE);
  PduClient sender, receiver;
  ASSERT_EQ(login(sender, fs.clientPort(), kAlice, online.task_id(), bd::CLIENT_REALTIME_SENDER), 0u);
  ASSERT_EQ(login(receiver, fs.clientPort(), kBob, online.task_id(), bd::CLIENT_REALTIME_RECVER), 0u);
  ASSERT_TRUE(receiver.receiveCommand(bd::CID_FILE_STATE));
  auto over = pull(receiver, 1, online.task_id(), kBob, bd::FILE_TYPE_ONLINE, 0, 65537);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR));
  auto beyond = pull(receiver, 2, online.task_id(), kBob, bd::FILE_TYPE_ONLINE, 199999, 2);
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR));
  auto other = pull(receiver, 3, "00000000-0000-4000-8000-000000000000", kBob, bd::FILE_TYPE_ONLINE, 0, 10);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER));
  // A sender's chunk that does not match the pull closes the sender; the receiver gets nothing.
  sendPull(receiver, 4, online.task_id(), kBob, bd::FILE_TYPE_ONLINE, 0, 1000);
  auto fwd = sender.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
  ASSERT_TRUE(fwd);
  sendChunk(sender, fwd->seq(), online.task_id(), kAlice, 0, std::string(999, 'x'));
  EXPECT_TRUE(sender.waitClosed());

  // Offline: an upload block of the wrong size is refused; nothing final becomes visible.
  auto offline = createTask(msg, kAlice, kBob, size, bd::FILE_TYPE_OFFLINE);
  const std::string id = offline.task_id();
  {
    PduClient up;
    ASSERT_EQ(login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD), 0u);
    auto req = up.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(req);
    sendChunk(up, req->seq(), id, kAlice, 0, std::string(kBlock - 1, 'y'));
    EXPECT_TRUE(up.waitClosed());
    EXPECT_FALSE(fileExists(fs.dataPath(id)));
  }
  {
    PduClient up;
    ASSERT_TRUE(waitFor([&] { return login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD) == 0u; }, 20000));
    bool done = false;
    upload(up, id, data, 0, &done);
    ASSERT_TRUE(done);
  }
  PduClient down;
  ASSERT_EQ(login(down, fs.clientPort(), kBob, id, bd::CLIENT_OFFLINE_DOWNLOAD), 0u);
  auto unaligned = pull(down, 1, id, kBob, bd::FILE_TYPE_OFFLINE, 100, kBlock);
  ASSERT_TRUE(unaligned);
  EXPECT_EQ(unaligned->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR));
  auto past = pull(down, 2, id, kBob, bd::FILE_TYPE_OFFLINE, 4 * kBlock, kBlock);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR));
  auto big = pull(down, 3, id, kBob, bd::FILE_TYPE_OFFLINE, 0, 65537);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->result_code(), static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR));
  auto ok = pull(down, 4, id, kBob, bd::FILE_TYPE_OFFLINE, 3 * kBlock, kBlock);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_code(), 0u);
  EXPECT_EQ(ok->file_data(), data.substr(3 * kBlock));
}

TEST_F(FileServerTest, SizeLimitsQuotaAndCorruptFilesAreRefused) {
  FileServerProc fs("DiskQuota=150000\n");
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  const uint32_t kCreateError = bd::FILE_SERVER_ERRNO_CREATE_TASK_ERROR;
  EXPECT_EQ(createTask(msg, kAlice, kBob, 8388609, bd::FILE_TYPE_ONLINE).result_code(), kCreateError);
  EXPECT_EQ(createTask(msg, kAlice, kBob, 0, bd::FILE_TYPE_OFFLINE).result_code(), kCreateError);
  EXPECT_EQ(createTask(msg, kAlice, kAlice, 10, bd::FILE_TYPE_ONLINE).result_code(), kCreateError);
  // Quota: 100000 reserved by an offline task leaves no room for another 100000 (online is not
  // stored and does not count). The link stays up after a refusal.
  const std::string data = makeData(100000, 5);
  auto first = createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_OFFLINE);
  ASSERT_EQ(first.result_code(), 0u);
  EXPECT_EQ(createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_OFFLINE).result_code(), kCreateError);
  EXPECT_EQ(createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_ONLINE).result_code(), 0u);
  {
    PduClient up;
    ASSERT_EQ(login(up, fs.clientPort(), kAlice, first.task_id(), bd::CLIENT_OFFLINE_UPLOAD), 0u);
    bool done = false;
    upload(up, first.task_id(), data, 0, &done);
    ASSERT_TRUE(done);
  }
  // Stored, it still counts.
  EXPECT_EQ(createTask(msg, kAlice, kBob, 100000, bd::FILE_TYPE_OFFLINE).result_code(), kCreateError);
  EXPECT_EQ(createTask(msg, kAlice, kBob, 40000, bd::FILE_TYPE_OFFLINE).result_code(), 0u);

  // A stored file changed on disk is not served.
  {
    std::fstream f(fs.dataPath(first.task_id()), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put(static_cast<char>(data[5000] ^ 1));
  }
  PduClient down;
  EXPECT_EQ(login(down, fs.clientPort(), kBob, first.task_id(), bd::CLIENT_OFFLINE_DOWNLOAD),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_PULL_DATA_READ_FILE_HEADER_ERROR));
  EXPECT_TRUE(down.waitClosed());
}

TEST_F(FileServerTest, ExpiredTasksAreDroppedWithTheirPartialUploads) {
  FileServerProc fs("TaskTimeout=2\n");
  const std::string data = makeData(4 * kBlock, 6);
  PduClient msg;
  ASSERT_TRUE(msg.connect(fs.msgPort()));
  auto online = createTask(msg, kAlice, kBob, 1000, bd::FILE_TYPE_ONLINE);
  auto offline = createTask(msg, kAlice, kBob, static_cast<uint32_t>(data.size()), bd::FILE_TYPE_OFFLINE);
  const std::string id = offline.task_id();
  PduClient up;
  ASSERT_EQ(login(up, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD), 0u);
  bool done = false;
  upload(up, id, data, 1, &done);
  ASSERT_TRUE(up.receiveCommand(bd::CID_FILE_PULL_DATA_REQ));  // block 1 written
  EXPECT_TRUE(fileExists(fs.dataPath(id) + ".tmp"));
  // The uploader stalls: the task expires, the connection is closed, the partial file removed.
  EXPECT_TRUE(up.waitClosed(20000));
  EXPECT_TRUE(waitFor([&] { return !fileExists(fs.dataPath(id) + ".tmp"); }, 20000));
  EXPECT_FALSE(fileExists(fs.dataPath(id)));
  PduClient c;
  EXPECT_EQ(login(c, fs.clientPort(), kAlice, id, bd::CLIENT_OFFLINE_UPLOAD),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN));
  EXPECT_EQ(login(c, fs.clientPort(), kAlice, online.task_id(), bd::CLIENT_REALTIME_SENDER),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN));
  // Its quota reservation is released: a task of the full quota size fits again.
  EXPECT_EQ(createTask(msg, kAlice, kBob, static_cast<uint32_t>(data.size()), bd::FILE_TYPE_OFFLINE).result_code(), 0u);
}

TEST_F(FileServerTest, BadConfigStopsStartUpNamingTheKey) {
  const std::string dir = tt::test::makeTempDir("ttfilecfg-");
  DaemonProcess d(tt::test::daemonBinary("file_server"), "file_server_badconf");
  const int port = tt::test::pickFreeLoopbackPort();
  EXPECT_THROW(d.start(dir,
                       "ClientListenIP=127.0.0.1\nClientListenPort=" + std::to_string(port) +
                           "\nMsgServerListenIP=127.0.0.1\nMsgServerListenPort=" +
                           std::to_string(tt::test::pickFreeLoopbackPort()) + "\nMaxChunkSize=abc\n",
                       port, 15000),
               std::runtime_error);
  EXPECT_NE(d.logTail().find("MaxChunkSize"), std::string::npos) << d.logTail();
  tt::test::removeTree(dir);
}

}  // namespace
