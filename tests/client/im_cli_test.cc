// im_cli as a user runs it: the real binary as a child process with piped stdin/stdout/stderr,
// against the fake msg_server / login_server of this process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "FakeServers.h"
#include "proto/ContentCodec.h"

#ifndef TT_IM_CLI
#error "TT_IM_CLI (path of the im_cli binary) must be defined by the build"
#endif

using tt::test::FakeLoginServer;
using tt::test::FakeMsgServer;
using tt::test::Script;
namespace bd = IM::BaseDefine;

namespace {

// One im_cli process. Output is collected by polling the non-blocking pipes (from Script steps).
class CliProcess {
 public:
  explicit CliProcess(const std::vector<std::string>& args) {
    ::signal(SIGPIPE, SIG_IGN);  // writing to a CLI that already left must fail, not kill the test
    int in[2], out[2], err[2];
    EXPECT_EQ(::pipe(in), 0);
    EXPECT_EQ(::pipe(out), 0);
    EXPECT_EQ(::pipe(err), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(TT_IM_CLI));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(TT_IM_CLI, argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    ::fcntl(stdout_, F_SETFL, O_NONBLOCK);
    ::fcntl(stderr_, F_SETFL, O_NONBLOCK);
  }

  ~CliProcess() {
    closeStdin();
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(stdout_);
    ::close(stderr_);
  }

  void write(const std::string& s) { EXPECT_EQ(::write(stdin_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  void closeStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  void signal(int signo) { ::kill(pid_, signo); }

  // Polls output and the exit status; true once the process has exited.
  bool exited() {
    drain(stdout_, &out_);
    drain(stderr_, &err_);
    if (!exited_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        drain(stdout_, &out_);
        drain(stderr_, &err_);
      }
    }
    return exited_;
  }

  const std::string& out() {
    exited();
    return out_;
  }
  const std::string& err() {
    exited();
    return err_;
  }
  int status() const { return status_; }

 private:
  static void drain(int fd, std::string* into) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        into->append(buf, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return;
      }
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string out_, err_;
};

std::vector<std::string> directArgs(uint16_t port, const std::string& password = "ttsuite") {
  return {"--user", "user01", "--password", password, "--server", "127.0.0.1:" + std::to_string(port)};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(ImCli, PipedSendThroughLoginServerPrintsAckAndIncomingThenExitsAtEof) {
  tt::net::EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.answerDirectory = true;
  fake.hook = [&](const tt::net::ImConnPtr& c, const tt::net::ImPdu& pdu) {
    if (pdu.commandId() != bd::CID_MSG_DATA) return;
    // Deliveries first, then the ack: both must be printed before the CLI leaves.
    IM::Message::IMMsgData m;
    m.set_from_user_id(1002);
    m.set_to_session_id(1001);
    m.set_msg_id(41);
    m.set_create_time(tt::unixSeconds());
    m.set_msg_type(bd::MSG_TYPE_SINGLE_TEXT);
    m.set_msg_data(tt::codec::encryptText("hello back"));
    c->send(bd::SID_MSG, bd::CID_MSG_DATA, 0, m);
    m.set_to_session_id(7);
    m.set_msg_type(bd::MSG_TYPE_GROUP_TEXT);
    m.set_msg_data(tt::codec::encryptText("group hello"));
    c->send(bd::SID_MSG, bd::CID_MSG_DATA, 0, m);
    IM::Message::IMMsgDataAck ack;
    ack.set_user_id(1001);
    ack.set_session_id(1002);
    ack.set_msg_id(555);
    ack.set_session_type(bd::SESSION_TYPE_SINGLE);
    c->send(bd::SID_MSG, bd::CID_MSG_DATA_ACK, pdu.seqNum(), ack);
  };
  FakeLoginServer login(&loop, "{\"code\":0,\"msg\":\"\",\"priorIP\":\"127.0.0.1\",\"backupIP\":\"127.0.0.1\",\"port\":\"" +
                                   std::to_string(fake.port) + "\"}");
  CliProcess cli({"--user", "user01", "--password", "ttsuite", "--login",
                  "http://127.0.0.1:" + std::to_string(login.port)});
  cli.write("/send user02 hi there\n");
  cli.closeStdin();
  ASSERT_TRUE(Script(loop).waitFor("exit", [&] { return cli.exited(); }).run(15000)) << cli.out() << cli.err();

  EXPECT_EQ(cli.status(), 0) << cli.err();
  EXPECT_EQ(login.requests, 1);
  EXPECT_TRUE(contains(cli.out(), "logged in as user01 (id 1001)")) << cli.out();
  EXPECT_TRUE(contains(cli.out(), "sent, msg_id 555")) << cli.out();
  EXPECT_TRUE(contains(cli.out(), "] user02 → you: hello back")) << cli.out();
  EXPECT_TRUE(contains(cli.out(), "[group-a] user02: group hello")) << cli.out();
  EXPECT_EQ(cli.err(), "");
  auto sent = fake.all<IM::Message::IMMsgData>(bd::CID_MSG_DATA);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to_session_id(), 1002u);
  EXPECT_EQ(tt::codec::decryptText(sent[0].msg_data()).value_or("?"), "hi there");
  EXPECT_EQ(fake.count(bd::CID_MSG_DATA_ACK), 2u);  // receipts for the two deliveries
  EXPECT_EQ(fake.count(bd::CID_LOGIN_REQ_LOGINOUT), 1u);
}

TEST(ImCli, WrongPasswordSaysLoginFailedAndExitsWithStatus1) {
  tt::net::EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.loginResult = bd::REFUSE_REASON_DB_VALIDATE_FAILED;
  fake.loginResultString = "用户名/密码错误";
  CliProcess cli(directArgs(fake.port, "wrong"));
  ASSERT_TRUE(Script(loop).waitFor("exit", [&] { return cli.exited(); }).run(15000));
  EXPECT_EQ(cli.status(), 1);
  EXPECT_TRUE(contains(cli.err(), "login failed: ")) << cli.err();
  EXPECT_TRUE(contains(cli.err(), "用户名/密码错误")) << cli.err();
  ASSERT_EQ(fake.logins.size(), 1u);
  EXPECT_EQ(fake.logins[0].password(), tt::codec::md5Hex("wrong"));
}

TEST(ImCli, UnreachableServerSaysLoginFailed) {
  tt::net::EventDispatch loop;
  CliProcess cli({"--user", "user01", "--password", "x", "--login", "http://127.0.0.1:1"});
  ASSERT_TRUE(Script(loop).waitFor("exit", [&] { return cli.exited(); }).run(15000));
  EXPECT_EQ(cli.status(), 1);
  EXPECT_TRUE(contains(cli.err(), "login failed: ")) << cli.err();
}

TEST(ImCli, CommandsUsersHistoryUnknownAndQuit) {
  tt::net::EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.answerDirectory = true;
  fake.hook = [&](const tt::net::ImConnPtr& c, const tt::net::ImPdu& pdu) {
    if (pdu.commandId() != bd::CID_MSG_LIST_REQUEST) return;
    IM::Message::IMGetMsgListReq req;
    ASSERT_TRUE(pdu.parse(&req));
    IM::Message::IMGetMsgListRsp rsp;
    rsp.set_user_id(1001);
    rsp.set_session_type(req.session_type());
    rsp.set_session_id(req.session_id());
    rsp.set_msg_id_begin(req.msg_id_begin());
    for (uint32_t id : {2u, 1u}) {  // newest first, as db_proxy sends them
      auto* m = rsp.add_msg_list();
      m->set_msg_id(id);
      m->set_from_session_id(id == 2 ? 1002 : 1001);
      m->set_create_time(tt::unixSeconds());
      m->set_msg_type(bd::MSG_TYPE_SINGLE_TEXT);
      m->set_msg_data(tt::codec::encryptText(id == 2 ? "second" : "first"));
    }
    c->send(bd::SID_MSG, bd::CID_MSG_LIST_RESPONSE, pdu.seqNum(), rsp);
  };
  CliProcess cli(directArgs(fake.port));
  cli.write("/bogus\n/users\n/history user02 5\n");
  ASSERT_TRUE(Script(loop)
                  .waitFor("history printed", [&] { return contains(cli.out(), "user02: second"); },
                           [&] { cli.write("/quit\n/send user02 never sent\n"); })
                  .waitFor("exit", [&] { return cli.exited(); })
                  .run(15000))
      << cli.out() << cli.err();
  EXPECT_EQ(cli.status(), 0);
  EXPECT_TRUE(contains(cli.err(), "unknown command /bogus")) << cli.err();
  EXPECT_TRUE(contains(cli.out(), "1002  user02")) << cli.out();
  const size_t first = cli.out().find("user01: first");
  const size_t second = cli.out().find("user02: second");
  ASSERT_NE(first, std::string::npos) << cli.out();
  EXPECT_LT(first, second);  // printed oldest first
  auto hist = fake.all<IM::Message::IMGetMsgListReq>(bd::CID_MSG_LIST_REQUEST);
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].session_id(), 1002u);
  EXPECT_EQ(hist[0].msg_cnt(), 5u);
  EXPECT_EQ(fake.count(bd::CID_MSG_DATA), 0u);  // nothing after /quit
  EXPECT_EQ(fake.count(bd::CID_LOGIN_REQ_LOGINOUT), 1u);
}

TEST(ImCli, SigtermLogsOutAndExitsCleanly) {
  tt::net::EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.answerDirectory = true;
  CliProcess cli(directArgs(fake.port));  // stdin stays open: an interactive session
  ASSERT_TRUE(Script(loop)
                  .waitFor("ready", [&] { return contains(cli.out(), "users known"); },
                           [&] { cli.signal(SIGTERM); })
                  .waitFor("exit", [&] { return cli.exited(); })
                  .run(15000))
      << cli.out() << cli.err();
  EXPECT_EQ(cli.status(), 0);
  EXPECT_EQ(fake.count(bd::CID_LOGIN_REQ_LOGINOUT), 1u);
}

TEST(ImCli, EofWaitsAtMostThreeSecondsForMissingAcks) {
  tt::net::EventDispatch loop;
  FakeMsgServer fake(&loop);
  fake.answerDirectory = true;  // but IMMsgData is never acked
  CliProcess cli(directArgs(fake.port));
  int64_t eofAt = 0, exitAt = 0;
  ASSERT_TRUE(Script(loop)
                  .waitFor("ready", [&] { return contains(cli.out(), "users known"); },
                           [&] {
                             cli.write("/send 1002 lost\n");
                             cli.closeStdin();
                             eofAt = tt::monotonicMs();
                           })
                  .waitFor("exit", [&] { return cli.exited(); }, [&] { exitAt = tt::monotonicMs(); })
                  .run(15000))
      << cli.out() << cli.err();
  EXPECT_EQ(cli.status(), 0);
  EXPECT_GE(exitAt - eofAt, 2900);
  EXPECT_LT(exitAt - eofAt, 8000);  // not the 10 s request timeout
  EXPECT_TRUE(contains(cli.err(), "still unanswered")) << cli.err();
  EXPECT_EQ(fake.count(bd::CID_MSG_DATA), 1u);
}
