#pragma once
// Fakes for ttclient tests: a scripted msg_server (netlib ImServer in the test process: the peer,
// not the code under test), a login_server answering GET /msg_server, and Script, which drives one
// EventDispatch through "wait until, then act" steps.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Group.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "base/Time.h"
#include "netlib/Buffer.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImServer.h"
#include "netlib/TcpConnection.h"
#include "netlib/TcpServer.h"

namespace tt::test {

namespace bd = IM::BaseDefine;


// Runs a loop through a list of steps, each "wait until pred, then act" or "wait ms, then act",
// polled every 2 ms; the loop quits when the last step ran, or fails the test naming the step it
// was stuck on. (An EventDispatch runs loop() once, so a test scripts its whole life up front.)
class Script {
 public:
  explicit Script(net::EventDispatch& loop) : loop_(loop) {}

  Script& waitFor(std::string what, std::function<bool()> pred, std::function<void()> then = {}) {
    steps_.push_back({std::move(what), std::move(pred), 0, std::move(then)});
    return *this;
  }
  Script& after(int64_t ms, std::function<void()> then = {}) {
    steps_.push_back({std::to_string(ms) + " ms pause", nullptr, ms, std::move(then)});
    return *this;
  }
  Script& then(std::function<void()> fn) { return after(0, std::move(fn)); }

  // true when every step ran within timeoutMs.
  bool run(int64_t timeoutMs = 10000) {
    bool ok = true;
    since_ = loop_.nowMs();
    const net::TimerId poll = loop_.runEvery(2, [this] { advance(); });
    const net::TimerId deadline = loop_.runAfter(timeoutMs, [this, &ok] {
      ok = false;
      ADD_FAILURE() << "timed out waiting for: " << (next_ < steps_.size() ? steps_[next_].what : "?");
      loop_.quit();
    });
    loop_.post([this] { advance(); });
    loop_.loop();
    loop_.cancel(poll);
    loop_.cancel(deadline);
    return ok && next_ == steps_.size();
  }

 private:
  struct Step {
    std::string what;
    std::function<bool()> pred;
    int64_t delayMs;
    std::function<void()> action;
  };

  void advance() {
    while (next_ < steps_.size()) {
      Step& s = steps_[next_];
      const bool ready = s.pred ? s.pred() : tt::monotonicMs() - since_ >= s.delayMs;
      if (!ready) return;
      ++next_;
      since_ = tt::monotonicMs();
      if (s.action) s.action();
    }
    loop_.quit();
  }

  net::EventDispatch& loop_;
  std::vector<Step> steps_;
  size_t next_ = 0;
  int64_t since_ = 0;
};

struct Received {
  uint16_t cmd;
  uint16_t seq;
  std::string body;
};

// A scripted msg_server: answers IMLoginReq (result and user id configurable), echoes heartbeats
// (unless told not to), records everything else and hands it to `hook`.
class FakeMsgServer {
 public:
  explicit FakeMsgServer(net::EventDispatch* loop, bool echoHeartbeats = true)
      : server_(loop, "fake-msg", options(echoHeartbeats)) {
    server_.setConnectHandler([this](const net::ImConnPtr& c) {
      last = c;
      acceptedAtMs.push_back(tt::monotonicMs());
    });
    // Holding a closed connection would keep its fd open: the client would never see the close.
    server_.setCloseHandler([this](const net::ImConnPtr& c) {
      if (last == c) last.reset();
    });
    server_.setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& pdu) { onPdu(c, pdu); });
    std::string err;
    EXPECT_TRUE(server_.listen({"127.0.0.1"}, 0, 128, &err)) << err;
    port = server_.listenAddresses().at(0).port();
  }

  size_t connections() const { return acceptedAtMs.size(); }
  size_t openConnections() const { return server_.size(); }

  template <class M>
  std::vector<M> all(uint16_t cmd) const {
    std::vector<M> out;
    for (const auto& r : received) {
      if (r.cmd != cmd) continue;
      M m;
      EXPECT_TRUE(m.ParseFromString(r.body)) << "command " << cmd;
      out.push_back(m);
    }
    return out;
  }
  size_t count(uint16_t cmd) const {
    size_t n = 0;
    for (const auto& r : received) n += r.cmd == cmd;
    return n;
  }
  const Received* find(uint16_t cmd, size_t nth = 0) const {
    for (const auto& r : received) {
      if (r.cmd == cmd && nth-- == 0) return &r;
    }
    return nullptr;
  }

  void push(uint16_t sid, uint16_t cid, uint16_t seq, const google::protobuf::MessageLite& m) {
    ASSERT_TRUE(last);
    last->send(sid, cid, seq, m);
  }

  uint16_t port = 0;
  int loginResult = bd::REFUSE_REASON_NONE;
  std::string loginResultString = "成功";
  uint32_t userIdBase = 1001;  // user N of this server gets userIdBase + N - 1
  bool closeAfterLogin = false;
  // Answer IMAllUserReq (user01 = 1001, user02 = 1002), IMNormalGroupListReq and
  // IMGroupInfoListReq (group 7 "group-a") like a msg_server with a tiny directory.
  bool answerDirectory = false;
  int heartbeats = 0;
  std::vector<int64_t> acceptedAtMs;
  std::vector<IM::Login::IMLoginReq> logins;
  std::vector<Received> received;  // everything except logins and heartbeats
  net::ImConnPtr last;
  std::function<void(const net::ImConnPtr&, const net::ImPdu&)> hook;

 private:
  static net::ImConnOptions options(bool echo) {
    net::ImConnOptions o;
    o.heartbeatIntervalMs = 0;
    o.timeoutMs = 0;
    o.echoHeartbeat = echo;
    o.deliverHeartbeats = true;
    return o;
  }

  void onPdu(const net::ImConnPtr& c, const net::ImPdu& pdu) {
    if (pdu.commandId() == bd::CID_OTHER_HEARTBEAT) {
      ++heartbeats;
      return;
    }
    if (pdu.commandId() == bd::CID_LOGIN_REQ_USERLOGIN) {
      IM::Login::IMLoginReq req;
      ASSERT_TRUE(pdu.parse(&req));
      logins.push_back(req);
      IM::Login::IMLoginRes res;
      res.set_server_time(tt::unixSeconds());
      res.set_result_code(static_cast<bd::ResultType>(loginResult));
      res.set_result_string(loginResultString);
      if (loginResult == 0) {
        res.set_online_status(req.online_status());
        fillUser(res.mutable_user_info(), userIdBase + static_cast<uint32_t>(logins.size()) - 1, req.user_name());
      }
      c->send(bd::SID_LOGIN, bd::CID_LOGIN_RES_USERLOGIN, pdu.seqNum(), res);
      if (closeAfterLogin || loginResult != 0) c->tcp()->shutdown();
      return;
    }
    received.push_back({pdu.commandId(), pdu.seqNum(), std::string(pdu.body)});
    if (answerDirectory) directory(c, pdu);
    if (hook) hook(c, pdu);
  }

  static void fillUser(IM::BaseDefine::UserInfo* u, uint32_t id, const std::string& name) {
    u->set_user_id(id);
    u->set_user_gender(1);
    u->set_user_nick_name(name + "-nick");
    u->set_avatar_url("");
    u->set_department_id(1);
    u->set_email("");
    u->set_user_real_name(name);
    u->set_user_tel("");
    u->set_user_domain("");
    u->set_status(0);
  }

  void directory(const net::ImConnPtr& c, const net::ImPdu& pdu) {
    switch (pdu.commandId()) {
      case bd::CID_BUDDY_LIST_ALL_USER_REQUEST: {
        IM::Buddy::IMAllUserRsp rsp;
        rsp.set_user_id(1001);
        rsp.set_latest_update_time(1);
        fillUser(rsp.add_user_list(), 1001, "user01");
        fillUser(rsp.add_user_list(), 1002, "user02");
        c->send(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_ALL_USER_RESPONSE, pdu.seqNum(), rsp);
        break;
      }
      case bd::CID_GROUP_NORMAL_LIST_REQUEST: {
        IM::Group::IMNormalGroupListRsp rsp;
        rsp.set_user_id(1001);
        auto* v = rsp.add_group_version_list();
        v->set_group_id(7);
        v->set_version(1);
        c->send(bd::SID_GROUP, bd::CID_GROUP_NORMAL_LIST_RESPONSE, pdu.seqNum(), rsp);
        break;
      }
      case bd::CID_GROUP_INFO_REQUEST: {
        IM::Group::IMGroupInfoListRsp rsp;
        rsp.set_user_id(1001);
        auto* g = rsp.add_group_info_list();
        g->set_group_id(7);
        g->set_version(1);
        g->set_group_name("group-a");
        g->set_group_avatar("");
        g->set_group_creator_id(1001);
        g->set_group_type(bd::GROUP_TYPE_NORMAL);
        g->set_shield_status(0);
        g->add_group_member_list(1001);
        g->add_group_member_list(1002);
        c->send(bd::SID_GROUP, bd::CID_GROUP_INFO_RESPONSE, pdu.seqNum(), rsp);
        break;
      }
      case bd::CID_LOGIN_REQ_LOGINOUT: {
        IM::Login::IMLogoutRsp rsp;
        rsp.set_result_code(0);
        c->send(bd::SID_LOGIN, bd::CID_LOGIN_RES_LOGINOUT, pdu.seqNum(), rsp);
        c->tcp()->shutdown();
        break;
      }
      default:
        break;
    }
  }

  net::ImServer server_;
};

// A login_server that answers every GET with `json` and closes.
class FakeLoginServer {
 public:
  FakeLoginServer(net::EventDispatch* loop, std::string json) : server_(loop, "fake-login"), json_(std::move(json)) {
    server_.setMessageCallback([this](const net::TcpConnectionPtr& c, net::Buffer* buf) {
      std::string req(buf->peek(), buf->readableBytes());
      buf->retrieveAll();
      if (req.find("\r\n\r\n") == std::string::npos) return;
      ++requests;
      c->send("HTTP/1.1 200 OK\r\nConnection:close\r\nContent-Length:" + std::to_string(json_.size()) +
              "\r\nContent-Type:text/html;charset=utf-8\r\n\r\n" + json_);
      c->shutdown();
    });
    std::string err;
    EXPECT_TRUE(server_.listen("127.0.0.1", 0, 64, &err)) << err;
    port = server_.listenAddresses().at(0).port();
  }
  uint16_t port = 0;
  int requests = 0;

 private:
  net::TcpServer server_;
  std::string json_;
};

}  // namespace tt::test
