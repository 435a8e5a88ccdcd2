// File transfer end to end (docs/PROTOCOL.md §3.9): MariaDB/Redis, db_proxy, route, login, two
// msg_servers (ClusterFixture; the second one is linked to a file_server) and a real file_server.
// Clients are raw PduClients, so each test reads like the protocol sheet.
//
// Demo users (password "ttsuite"): online 3 -> 4 | offline 5 -> 6 | no file_server 7 |
// across msg_servers 9 -> 8.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ClusterFixture.h"
#include "DaemonProcess.h"
#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "IM.Login.pb.h"
#include "LoopThread.h"
#include "PduClient.h"
#include "StorageFixture.h"
#include "netlib/EventDispatch.h"
#include "proto/ContentCodec.h"
#include "tools/client/FileTransfer.h"

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace bd = IM::BaseDefine;
using tt::test::ClusterFixture;
using tt::test::DaemonProcess;
using tt::test::PduClient;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kBlock = 32768;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string makeData(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 7;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x >> 3);
  }
  return s;
}

std::string userName(uint32_t id) {
  char b[16];
  std::snprintf(b, sizeof b, "user%02u", id);
  return b;
}

// Logs in over a raw connection; retries while the msg_server's links are still coming up.
bool msgLogin(PduClient& c, int port, uint32_t userId) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    c.close();
    if (!c.connect(port)) return false;
    IM::Login::IMLoginReq req;
    req.set_user_name(userName(userId));
    req.set_password(tt::codec::md5Hex("ttsuite"));
    req.set_online_status(bd::USER_STATUS_ONLINE);
    req.set_client_type(bd::CLIENT_TYPE_WINDOWS);
    req.set_client_version("file_transfer_test");
    if (!c.send(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, 1, req)) return false;
    auto pdu = c.receiveCommand(bd::CID_LOGIN_RES_USERLOGIN, 15000);
    if (!pdu) return false;
    const uint32_t code = pdu->as<IM::Login::IMLoginRes>().result_code();
    if (code == 0) return true;
    std::this_thread::sleep_for(250ms);
  }
  return false;
}

using tt::test::LoopThread;

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The real im_cli as a child process with piped stdin/stdout.
class Cli {
 public:
  explicit Cli(const std::vector<std::string>& args) {
    ::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const std::string bin = std::string(TT_BINARY_DIR) + "/tools/im_cli";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
      std::vector<char*> argv{const_cast<char*>(bin.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~Cli() {
    closeStdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(stdout_);
  }
  void line(const std::string& l) {
    const std::string s = l + "\n";
    EXPECT_EQ(::write(stdin_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  void closeStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  // Reads until `what` appears in the output; returns the output line holding it ("" on timeout).
  std::string waitFor(const std::string& what, int timeoutMs = 20000) {
    const int64_t deadline = nowMs() + timeoutMs;
    for (;;) {
      const size_t at = output_.find(what, scanned_);
      if (at != std::string::npos) {
        const size_t begin = output_.rfind('\n', at);
        const size_t end = output_.find('\n', at);
        scanned_ = end == std::string::npos ? output_.size() : end;
        return output_.substr(
            begin == std::string::npos ? 0 : begin + 1,
            (end == std::string::npos ? output_.size() : end) - (begin == std::string::npos ? 0 : begin + 1));
      }
      const int64_t left = deadline - nowMs();
      if (left <= 0) return "";
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) return "";
      output_.append(buf, static_cast<size_t>(n));
    }
  }
  // Exit status after stdin closes (-1 if it does not exit within timeoutMs).
  int wait(int timeoutMs) {
    closeStdin();
    const int64_t deadline = nowMs() + timeoutMs;
    while (nowMs() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      }
      waitFor("\x01", 50);  // drain output meanwhile
    }
    return -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string output_;
  size_t scanned_ = 0;
};

class FileTransferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = &ClusterFixture::instance(1);
    fileClientPort_ = tt::test::pickFreeLoopbackPort();
    const int msgPort = tt::test::pickFreeLoopbackPort();
    fileServer_ = new DaemonProcess(tt::test::daemonBinary("file_server"), "file_server");
    fileServer_->start(cluster_->dir(),
                       "ClientListenIP=127.0.0.1\nClientListenPort=" + std::to_string(fileClientPort_) +
                           "\nMsgServerListenIP=127.0.0.1\nMsgServerListenPort=" + std::to_string(msgPort) +
                           "\nStorageDir=file_store\nLogLevel=debug\n",
                       msgPort);
    withFile_ = cluster_->addMsgServer("FileServerIP1=127.0.0.1\nFileServerPort1=" + std::to_string(msgPort) + "\n");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(fileServer_->stop(), 0) << fileServer_->logTail();
    delete fileServer_;
    fileServer_ = nullptr;
  }

  static int msgPort(size_t i) { return cluster_->msgServerPort(i); }

  // IMFileReq on a logged-in connection; retried (bounded) while the msg_server has no file_server
  // link yet, which it reports as result 1.
  static std::optional<IM::File::IMFileRsp> requestFile(PduClient& c, uint32_t to, uint32_t size,
                                                        bd::TransferFileType mode, bool retry = true) {
    const int64_t deadline = nowMs() + 20000;
    for (uint16_t seq = 40;; ++seq) {
      IM::File::IMFileReq req;
      req.set_from_user_id(999);  // overwritten with the session's user
      req.set_to_user_id(to);
      req.set_file_name("report.pdf");
      req.set_file_size(size);
      req.set_trans_mode(mode);
      if (!c.send(bd::SID_FILE, bd::CID_FILE_REQUEST, seq, req)) return std::nullopt;
      auto pdu = c.receiveCommand(bd::CID_FILE_RESPONSE, 15000);
      if (!pdu) return std::nullopt;
      EXPECT_EQ(pdu->seq(), seq);
      auto rsp = pdu->as<IM::File::IMFileRsp>();
      if (rsp.result_code() == 0 || !retry || nowMs() > deadline) return rsp;
      std::this_thread::sleep_for(100ms);
    }
  }

  static uint32_t fileLogin(PduClient& c, uint32_t user, const std::string& task, bd::ClientFileRole role) {
    c.close();
    if (!c.connect(fileClientPort_)) return 999;
    IM::File::IMFileLoginReq req;
    req.set_user_id(user);
    req.set_task_id(task);
    req.set_file_role(role);
    if (!c.send(bd::SID_FILE, bd::CID_FILE_LOGIN_REQ, 2, req)) return 999;
    auto pdu = c.receiveCommand(bd::CID_FILE_LOGIN_RES);
    return pdu ? pdu->as<IM::File::IMFileLoginRsp>().result_code() : 999;
  }

  static ClusterFixture* cluster_;
  static DaemonProcess* fileServer_;
  static int fileClientPort_;
  static size_t withFile_;
};

ClusterFixture* FileTransferTest::cluster_ = nullptr;
DaemonProcess* FileTransferTest::fileServer_ = nullptr;
int FileTransferTest::fileClientPort_ = 0;
size_t FileTransferTest::withFile_ = 0;

TEST_F(FileTransferTest, OnlineTransferBetweenTwoOnlineUsers) {
  constexpr uint32_t kAlice = 3, kBob = 4;
  PduClient alice, bob;
  ASSERT_TRUE(msgLogin(alice, msgPort(withFile_), kAlice));
  ASSERT_TRUE(msgLogin(bob, msgPort(withFile_), kBob));
  const std::string data = makeData(300000, 11);
  const auto size = static_cast<uint32_t>(data.size());

  auto rsp = requestFile(alice, kBob, size, bd::FILE_TYPE_ONLINE);
  ASSERT_TRUE(rsp);
  ASSERT_EQ(rsp->result_code(), 0u);
  EXPECT_EQ(rsp->from_user_id(), kAlice) << "the sender is the session's user";
  EXPECT_EQ(rsp->trans_mode(), bd::FILE_TYPE_ONLINE);
  ASSERT_EQ(rsp->task_id().size(), 36u);
  ASSERT_EQ(rsp->ip_addr_list_size(), 1);
  EXPECT_EQ(rsp->ip_addr_list(0).port(), static_cast<uint32_t>(fileClientPort_));
  const std::string task = rsp->task_id();

  auto n = bob.receiveCommand(bd::CID_FILE_NOTIFY);
  ASSERT_TRUE(n) << "the receiver is told";
  auto notify = n->as<IM::File::IMFileNotify>();
  EXPECT_EQ(notify.task_id(), task);
  EXPECT_EQ(notify.from_user_id(), kAlice);
  EXPECT_EQ(notify.file_size(), size);
  EXPECT_EQ(notify.offline_ready(), 0u);
  EXPECT_EQ(notify.trans_mode(), bd::FILE_TYPE_ONLINE);
  ASSERT_EQ(notify.ip_addr_list_size(), 1);

  // Someone else cannot take the receiver's place with the task id alone.
  PduClient sender, receiver, intruder;
  EXPECT_EQ(fileLogin(intruder, 5, task, bd::CLIENT_REALTIME_RECVER),
            static_cast<uint32_t>(bd::FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK));
  ASSERT_EQ(fileLogin(sender, kAlice, task, bd::CLIENT_REALTIME_SENDER), 0u);
  ASSERT_EQ(fileLogin(receiver, kBob, task, bd::CLIENT_REALTIME_RECVER), 0u);
  ASSERT_TRUE(receiver.receiveCommand(bd::CID_FILE_STATE));  // PEER_READY
  std::string got;
  for (uint16_t seq = 1; got.size() < data.size(); ++seq) {
    const auto offset = static_cast<uint32_t>(got.size());
    IM::File::IMFilePullDataReq pull;
    pull.set_task_id(task);
    pull.set_user_id(kBob);
    pull.set_trans_mode(bd::FILE_TYPE_ONLINE);
    pull.set_offset(offset);
    pull.set_data_size(std::min(kBlock, size - offset));
    ASSERT_TRUE(receiver.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_REQ, seq, pull));
    auto fwd = sender.receiveCommand(bd::CID_FILE_PULL_DATA_REQ);
    ASSERT_TRUE(fwd);
    auto req = fwd->as<IM::File::IMFilePullDataReq>();
    IM::File::IMFilePullDataRsp chunk;
    chunk.set_result_code(0);
    chunk.set_task_id(task);
    chunk.set_user_id(kAlice);
    chunk.set_offset(req.offset());
    chunk.set_file_data(data.substr(req.offset(), req.data_size()));
    ASSERT_TRUE(sender.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_RSP, fwd->seq(), chunk));
    auto back = receiver.receiveCommand(bd::CID_FILE_PULL_DATA_RSP);
    ASSERT_TRUE(back);
    got += back->as<IM::File::IMFilePullDataRsp>().file_data();
  }
  EXPECT_TRUE(got == data);
  IM::File::IMFileState done;
  done.set_state(bd::CLIENT_FILE_DONE);
  done.set_task_id(task);
  done.set_user_id(kBob);
  ASSERT_TRUE(receiver.send(bd::SID_FILE, bd::CID_FILE_STATE, 3, done));
  auto st = sender.receiveCommand(bd::CID_FILE_STATE);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->as<IM::File::IMFileState>().state(), bd::CLIENT_FILE_DONE);
}

TEST_F(FileTransferTest, OfflineTransferWhenTheReceiverIsAway) {
  constexpr uint32_t kAlice = 5, kCarol = 6;
  PduClient alice;
  ASSERT_TRUE(msgLogin(alice, msgPort(withFile_), kAlice));
  const std::string data = makeData(3 * kBlock + 4321, 12);
  const auto size = static_cast<uint32_t>(data.size());

  // Asked online, but carol has no client anywhere: msg_server makes it offline (route says so).
  auto rsp = requestFile(alice, kCarol, size, bd::FILE_TYPE_ONLINE);
  ASSERT_TRUE(rsp);
  ASSERT_EQ(rsp->result_code(), 0u);
  EXPECT_EQ(rsp->trans_mode(), bd::FILE_TYPE_OFFLINE);
  const std::string task = rsp->task_id();

  {
    PduClient up;
    ASSERT_EQ(fileLogin(up, kAlice, task, bd::CLIENT_OFFLINE_UPLOAD), 0u);
    bool done = false;
    while (!done) {
      auto pdu = up.receive();
      ASSERT_TRUE(pdu) << "upload stalled";
      if (pdu->commandId() == bd::CID_FILE_STATE) {
        done = pdu->as<IM::File::IMFileState>().state() == bd::CLIENT_FILE_DONE;
        break;
      }
      auto req = pdu->as<IM::File::IMFilePullDataReq>();
      IM::File::IMFilePullDataRsp chunk;
      chunk.set_result_code(0);
      chunk.set_task_id(task);
      chunk.set_user_id(kAlice);
      chunk.set_offset(req.offset());
      chunk.set_file_data(data.substr(req.offset(), req.data_size()));
      ASSERT_TRUE(up.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_RSP, pdu->seq(), chunk));
    }
    ASSERT_TRUE(done);
  }
  IM::File::IMFileAddOfflineReq add;
  add.set_from_user_id(kAlice);
  add.set_to_user_id(kCarol);
  add.set_task_id(task);
  add.set_file_name("report.pdf");
  add.set_file_size(size);
  ASSERT_TRUE(alice.send(bd::SID_FILE, bd::CID_FILE_ADD_OFFLINE_REQ, 5, add));

  // Carol logs in later and finds the file (db_proxy stores the record asynchronously: ask until
  // it is there).
  PduClient carol;
  ASSERT_TRUE(msgLogin(carol, msgPort(withFile_), kCarol));
  const int64_t deadline = nowMs() + 20000;
  auto hasOffline = [&](uint16_t seq) -> std::optional<IM::File::IMFileHasOfflineRsp> {
    IM::File::IMFileHasOfflineReq req;
    req.set_user_id(kCarol);
    if (!carol.send(bd::SID_FILE, bd::CID_FILE_HAS_OFFLINE_REQ, seq, req)) return std::nullopt;
    auto pdu = carol.receiveCommand(bd::CID_FILE_HAS_OFFLINE_RES);
    if (!pdu) return std::nullopt;
    return pdu->as<IM::File::IMFileHasOfflineRsp>();
  };
  auto listed = [&](const IM::File::IMFileHasOfflineRsp& r) {
    for (const auto& f : r.offline_file_list()) {
      if (f.task_id() == task) return true;
    }
    return false;
  };
  std::optional<IM::File::IMFileHasOfflineRsp> offline;
  for (uint16_t seq = 10; seq == 10 || nowMs() < deadline; ++seq) {
    offline = hasOffline(seq);
    ASSERT_TRUE(offline);
    if (listed(*offline)) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(listed(*offline)) << "the offline file is not listed for the receiver";
  ASSERT_GE(offline->ip_addr_list_size(), 1);
  EXPECT_EQ(offline->ip_addr_list(0).port(), static_cast<uint32_t>(fileClientPort_));

  PduClient down;
  ASSERT_EQ(fileLogin(down, kCarol, task, bd::CLIENT_OFFLINE_DOWNLOAD), 0u);
  std::string got;
  for (uint16_t seq = 1; got.size() < data.size(); ++seq) {
    IM::File::IMFilePullDataReq pull;
    pull.set_task_id(task);
    pull.set_user_id(kCarol);
    pull.set_trans_mode(bd::FILE_TYPE_OFFLINE);
    pull.set_offset(static_cast<uint32_t>(got.size()));
    pull.set_data_size(kBlock);
    ASSERT_TRUE(down.send(bd::SID_FILE, bd::CID_FILE_PULL_DATA_REQ, seq, pull));
    auto back = down.receiveCommand(bd::CID_FILE_PULL_DATA_RSP);
    ASSERT_TRUE(back);
    auto chunk = back->as<IM::File::IMFilePullDataRsp>();
    ASSERT_EQ(chunk.result_code(), 0u);
    got += chunk.file_data();
  }
  EXPECT_TRUE(got == data);
  EXPECT_TRUE(down.receiveCommand(bd::CID_FILE_STATE)) << "DONE after the last block";

  IM::File::IMFileDelOfflineReq del;
  del.set_from_user_id(kAlice);
  del.set_to_user_id(kCarol);
  del.set_task_id(task);
  ASSERT_TRUE(carol.send(bd::SID_FILE, bd::CID_FILE_DEL_OFFLINE_REQ, 70, del));
  bool gone = false;
  const int64_t goneBy = nowMs() + 20000;
  for (uint16_t seq = 71; !gone && (seq == 71 || nowMs() < goneBy); ++seq) {
    auto r = hasOffline(seq);
    ASSERT_TRUE(r);
    gone = !listed(*r);
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone) << "the record is deleted by the receiver";
}

TEST_F(FileTransferTest, ReceiverOnAnotherMsgServerHearsThroughRoute) {
  constexpr uint32_t kSender = 9, kReceiver = 8;
  PduClient sender, receiver;
  ASSERT_TRUE(msgLogin(receiver, msgPort(0), kReceiver));
  ASSERT_TRUE(msgLogin(sender, msgPort(withFile_), kSender));
  auto rsp = requestFile(sender, kReceiver, 1000, bd::FILE_TYPE_ONLINE);
  ASSERT_TRUE(rsp);
  ASSERT_EQ(rsp->result_code(), 0u);
  EXPECT_EQ(rsp->trans_mode(), bd::FILE_TYPE_ONLINE) << "route reports the receiver's PC client online";
  auto n = receiver.receiveCommand(bd::CID_FILE_NOTIFY);
  ASSERT_TRUE(n) << "notify relayed by route_server";
  EXPECT_EQ(n->as<IM::File::IMFileNotify>().task_id(), rsp->task_id());
  EXPECT_EQ(n->as<IM::File::IMFileNotify>().from_user_id(), kSender);
}

// The client library (tools/client/FileTransfer) on both ends: online, then offline.
TEST_F(FileTransferTest, ClientLibraryTransfersFilesBothWays) {
  constexpr uint32_t kAlice = 10, kBob = 11;
  PduClient alice, bob;
  ASSERT_TRUE(msgLogin(alice, msgPort(withFile_), kAlice));
  ASSERT_TRUE(msgLogin(bob, msgPort(withFile_), kBob));
  const std::string dir = tt::test::makeTempDir("ttfilecli-");
  const std::string data = makeData(1000000, 13);
  writeFile(dir + "/in.bin", data);
  LoopThread loop;
  using tt::client::FileTransfer;
  using tt::client::FileTransferSpec;

  for (auto mode : {bd::FILE_TYPE_ONLINE, bd::FILE_TYPE_OFFLINE}) {
    auto rsp = requestFile(alice, kBob, static_cast<uint32_t>(data.size()), mode);
    ASSERT_TRUE(rsp);
    ASSERT_EQ(rsp->result_code(), 0u);
    ASSERT_EQ(rsp->trans_mode(), mode);
    const bool online = mode == bd::FILE_TYPE_ONLINE;
    FileTransferSpec send;
    send.host = rsp->ip_addr_list(0).ip();
    send.port = static_cast<uint16_t>(rsp->ip_addr_list(0).port());
    send.userId = kAlice;
    send.taskId = rsp->task_id();
    send.role = online ? bd::CLIENT_REALTIME_SENDER : bd::CLIENT_OFFLINE_UPLOAD;
    send.path = dir + "/in.bin";
    send.fileSize = static_cast<uint32_t>(data.size());
    FileTransferSpec recv = send;
    recv.userId = kBob;
    recv.role = online ? bd::CLIENT_REALTIME_RECVER : bd::CLIENT_OFFLINE_DOWNLOAD;
    recv.path = dir + (online ? "/online.bin" : "/offline.bin");
    recv.chunkSize = 65536;

    std::promise<FileTransfer::Result> sent, received;
    std::shared_ptr<FileTransfer> sender, receiver;
    auto startOne = [&](std::shared_ptr<FileTransfer>& t, const FileTransferSpec& spec,
                        std::promise<FileTransfer::Result>& p) {
      return loop.call([&] {
        t = FileTransfer::create(loop.loop(), spec, [&p](const FileTransfer::Result& r) { p.set_value(r); });
        std::string err;
        return t->start(&err);
      });
    };
    ASSERT_TRUE(startOne(sender, send, sent));
    if (!online) {
      auto up = sent.get_future().get();
      ASSERT_TRUE(up.ok) << up.error;
    }
    ASSERT_TRUE(startOne(receiver, recv, received));
    auto fut = received.get_future();
    ASSERT_EQ(fut.wait_for(60s), std::future_status::ready);
    auto r = fut.get();
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.bytes, data.size());
    if (online) {
      auto s = sent.get_future();
      ASSERT_EQ(s.wait_for(30s), std::future_status::ready);
      EXPECT_TRUE(s.get().ok) << "the sender hears DONE";
    }
    EXPECT_TRUE(readFile(recv.path) == data) << recv.path;
    loop.call([&] {
      sender.reset();
      receiver.reset();
      return 0;
    });
  }
  tt::test::removeTree(dir);
}

TEST_F(FileTransferTest, ImCliSendsAndFetchesFiles) {
  const std::string dir = tt::test::makeTempDir("ttfileimcli-");
  const std::string data = makeData(200000, 14);
  writeFile(dir + "/notes.txt", data);
  const std::string server = "127.0.0.1:" + std::to_string(msgPort(withFile_));
  auto cli = [&](uint32_t id) {
    return std::make_unique<Cli>(std::vector<std::string>{"--user", userName(id), "--password", "ttsuite", "--server",
                                                          server, "--client-type", "windows"});
  };
  auto bob = cli(12);
  ASSERT_NE(bob->waitFor("users known"), "") << bob->output();
  auto alice = cli(13);
  ASSERT_NE(alice->waitFor("users known"), "") << alice->output();

  // Online: bob is here.
  alice->line("/sendfile 12 " + dir + "/notes.txt");
  std::string offer = bob->waitFor(" offers ");
  ASSERT_NE(offer, "") << bob->output() << "\n---\n" << alice->output();
  EXPECT_NE(offer.find("notes.txt"), std::string::npos) << offer;
  EXPECT_NE(offer.find("online"), std::string::npos) << offer;
  bob->line("/getfile " + offer.substr(offer.rfind(' ') + 1) + " " + dir + "/online.txt");
  ASSERT_NE(bob->waitFor("* file " + dir + "/online.txt: done"), "") << bob->output();
  ASSERT_NE(alice->waitFor(": done"), "") << alice->output();
  EXPECT_TRUE(readFile(dir + "/online.txt") == data);

  // Offline: bob leaves; alice's file is stored; bob comes back, lists and fetches it.
  EXPECT_EQ(bob->wait(20000), 0) << bob->output();
  alice->line("/sendfile 12 " + dir + "/notes.txt");
  ASSERT_NE(alice->waitFor("offline, uploading"), "") << alice->output();
  ASSERT_NE(alice->waitFor(": done"), "") << alice->output();
  bob = cli(12);
  ASSERT_NE(bob->waitFor("users known"), "") << bob->output();
  std::string listed;
  // db_proxy stores the record asynchronously: ask again until it is listed.
  for (const int64_t deadline = nowMs() + 20000; listed.empty() && nowMs() < deadline;) {
    bob->line("/files");
    listed = bob->waitFor("notes.txt", 300);
  }
  ASSERT_NE(listed, "") << bob->output();
  // A new session fetches by task id without listing first (/getfile asks for stored files).
  EXPECT_EQ(bob->wait(20000), 0) << bob->output();
  bob = cli(12);
  ASSERT_NE(bob->waitFor("users known"), "") << bob->output();
  bob->line("/getfile " + listed.substr(2, 8) + " " + dir + "/offline.txt");
  ASSERT_NE(bob->waitFor("* file " + dir + "/offline.txt: done"), "") << bob->output();
  EXPECT_TRUE(readFile(dir + "/offline.txt") == data);
  EXPECT_EQ(alice->wait(20000), 0);
  EXPECT_EQ(bob->wait(20000), 0);
  tt::test::removeTree(dir);
}

TEST_F(FileTransferTest, NoFileServerLinkIsRefused) {
  PduClient c;
  ASSERT_TRUE(msgLogin(c, msgPort(0), 7));  // msg_server 0 has no FileServerIP1
  auto rsp = requestFile(c, 8, 1000, bd::FILE_TYPE_ONLINE, false);
  ASSERT_TRUE(rsp);
  EXPECT_EQ(rsp->result_code(), 1u);
  EXPECT_EQ(rsp->task_id(), "");
}

}  // namespace
