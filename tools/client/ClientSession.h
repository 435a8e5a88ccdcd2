#pragma once
// One logical TeamTalk client (what a Windows/Mac/mobile client does on the wire), driven entirely
// by a caller-provided EventDispatch: no threads, no blocking calls after start(), so a load
// generator can run thousands of these on one loop.
//
//   disconnected -> resolving (HTTP GET /msg_server on login_server) -> connecting (TCP to
//   msg_server) -> logging in (IMLoginReq, password as md5hex) -> online
//
// While connected it sends a heartbeat whenever it has sent nothing for heartbeatIntervalMs, and
// treats the server as dead when nothing (not even a heartbeat echo) arrived for deadServerMs.
// After a lost connection or a failed attempt it starts over from the HTTP step, with capped
// exponential back-off and jitter; it does not when it was kicked (IMKickUser), logged out,
// stopped, or refused for a reason retrying cannot fix (wrong password, version too old).
//
// Requests carry a fresh seq_num; replies are matched by seq_num AND the expected response command
// (route-relayed message copies keep their sender's seq, so seq alone is ambiguous). Every request
// callback runs exactly once: with the reply, or with a timeout / connection loss. Nothing is
// called back after the session is destroyed. Handlers must not destroy the session they are
// called from (post the destruction to the loop instead) nor reassign themselves while running.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Group.pb.h"
#include "IM.Login.pb.h"
#include "IM.Message.pb.h"
#include "netlib/ImConn.h"
#include "netlib/TimerQueue.h"
#include "proto/ContentCodec.h"

namespace tt::net {
class EventDispatch;
}

namespace tt::client {

class Dialer;
class MsgServerLookup;

enum class SessionState { kDisconnected, kResolving, kConnecting, kLoggingIn, kOnline };
const char* toString(SessionState s);

enum class RequestError {
  kOk,
  kTimeout,       // no matching reply within the request's timeout
  kDisconnected,  // the connection went down while waiting
  kNotOnline,     // not sent: the session is not logged in
  kBadResponse,   // the reply did not parse as the expected message
  kInvalid,       // not sent: the request itself could not be built
  kOverloaded,    // not sent: every seq number is in use
};
const char* toString(RequestError e);

struct SessionOptions {
  // Where to log in: login_server's HTTP /msg_server, unless serverHost is set, then that
  // msg_server directly. Names are resolved when an attempt starts (numeric addresses never block;
  // a host name costs one getaddrinfo on the loop, so load generators should pass IPs).
  std::string loginHost = "127.0.0.1";
  uint16_t loginPort = 8080;
  std::string loginPath = "/msg_server";
  std::string serverHost;
  uint16_t serverPort = 8000;
  // Numeric local address bound before connecting to msg_server (e.g. 127.0.0.2, so a load
  // generator gets past one address's ephemeral ports); empty = the kernel's choice.
  std::string localAddress;

  std::string userName;
  std::string password;  // plaintext; sent as md5hex (docs/PROTOCOL.md §3.12)
  IM::BaseDefine::ClientType clientType = IM::BaseDefine::CLIENT_TYPE_MAC;
  IM::BaseDefine::UserStatType onlineStatus = IM::BaseDefine::USER_STATUS_ONLINE;
  std::string clientVersion = "ttsuite/0.1";
  std::string aesKey = std::string(codec::kDefaultAesKey);

  bool autoReconnect = true;
  bool autoReceiptAck = true;  // IMMsgDataAck for every delivered IMMsgData

  int64_t heartbeatIntervalMs = 5000;  // send one after this long without sending; 0 = never
  int64_t deadServerMs = 60000;        // nothing received this long -> reconnect; 0 = never
  int64_t requestTimeoutMs = 10000;    // default per request
  int64_t loginTimeoutMs = 15000;      // IMLoginReq -> IMLoginRes
  int64_t connectTimeoutMs = 5000;     // the HTTP lookup, and the TCP connect, each
  int64_t reconnectInitialMs = 1000;   // back-off: initial, doubling up to max, +-20% jitter
  int64_t reconnectMaxMs = 30000;
  int64_t stableOnlineMs = 10000;      // online at least this long -> back-off starts over
};

// Counters for load generators and tests.
struct SessionStats {
  uint64_t attempts = 0;  // login attempts started (first one included)
  uint64_t logins = 0;    // successful logins
  uint64_t requestsSent = 0;
  uint64_t timeouts = 0;
  uint64_t heartbeatsSent = 0;
  uint64_t messagesReceived = 0;
  uint64_t pdusReceived = 0;
};

class ClientSession {
 public:
  using PduCallback = std::function<void(RequestError, const net::ImPdu* pdu)>;  // pdu set iff kOk
  template <class Rsp>
  using ReplyCallback = std::function<void(RequestError, const Rsp* rsp)>;  // rsp set iff kOk
  using SendCallback = std::function<void(RequestError, uint32_t msgId)>;  // the server's msg_id

  struct Handlers {
    std::function<void(SessionState, const std::string& reason)> onStateChanged;
    // Every IMLoginRes, accepted or not (result_code 0 = accepted).
    std::function<void(const IM::Login::IMLoginRes&)> onLoginResult;
    // One line per failed attempt or refused login (the session retries on its own if it may).
    std::function<void(const std::string&)> onError;
    // text: the decrypted plaintext for text types; nullopt for audio or undecryptable data.
    std::function<void(const IM::Message::IMMsgData&, const std::optional<std::string>& text)> onMessage;
    std::function<void(const IM::Message::IMMsgDataReadNotify&)> onReadNotify;
    // The session then closes and does not reconnect.
    std::function<void(const IM::Login::IMKickUser&)> onKicked;
    std::function<void(const IM::Buddy::IMUserStatNotify&)> onStatusNotify;
    std::function<void(const IM::Group::IMGroupChangeMemberNotify&)> onGroupChangeNotify;
    // Everything else: unmatched replies, other notifies, unknown commands, unparsable pushes.
    std::function<void(const net::ImPdu&)> onOtherPdu;
  };

  ClientSession(net::EventDispatch* loop, SessionOptions options);
  ~ClientSession();  // loop thread; closes the connection, calls nothing back
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  Handlers& handlers() { return handlers_; }

  // Loop thread. start(): begin logging in (no-op while already wanted). stop(): close now, no
  // reconnect, pending requests fail with kDisconnected. logout(): IMLogoutReq, then close when
  // the server answers or closes (or after a short timeout); done runs once in every case.
  void start();
  void stop(const std::string& reason = "stopped");
  void logout(std::function<void()> done = nullptr);

  // Generic request: responseCommandId 0 means commandId + 1 (TeamTalk's REQ/RES pairing);
  // timeoutMs 0 means options().requestTimeoutMs. Returns the seq number used (0 if not sent;
  // the callback then still runs, posted, with the reason).
  uint16_t request(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg,
                   PduCallback cb, int64_t timeoutMs = 0, uint16_t responseCommandId = 0);

  template <class Rsp>
  uint16_t requestTyped(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg,
                        ReplyCallback<Rsp> cb, int64_t timeoutMs = 0, uint16_t responseCommandId = 0) {
    return request(
        serviceId, commandId, msg,
        [cb = std::move(cb)](RequestError err, const net::ImPdu* pdu) {
          if (err != RequestError::kOk) {
            if (cb) cb(err, nullptr);
            return;
          }
          Rsp rsp;
          if (!pdu->parse(&rsp)) {
            if (cb) cb(RequestError::kBadResponse, nullptr);
            return;
          }
          if (cb) cb(RequestError::kOk, &rsp);
        },
        timeoutMs, responseCommandId);
  }

  // A PDU that expects no reply (fresh seq). false when not online.
  bool sendOneWay(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg);

  // Text messages (encrypted msg_data), acked by IMMsgDataAck carrying our seq and the real msg_id.
  uint16_t sendText(uint32_t toUserId, std::string_view text, SendCallback cb);
  uint16_t sendGroupText(uint32_t groupId, std::string_view text, SendCallback cb);
  // Receipt for a delivered message (sent automatically when options().autoReceiptAck).
  bool sendReceiptAck(const IM::Message::IMMsgData& msg);
  bool readAck(uint32_t sessionId, IM::BaseDefine::SessionType type, uint32_t msgId);

  void unread(ReplyCallback<IM::Message::IMUnreadMsgCntRsp> cb);
  // beginMsgId 0 = newest.
  void history(uint32_t sessionId, IM::BaseDefine::SessionType type, uint32_t beginMsgId, uint32_t count,
               ReplyCallback<IM::Message::IMGetMsgListRsp> cb);
  void allUsers(ReplyCallback<IM::Buddy::IMAllUserRsp> cb, uint32_t latestUpdateTime = 0);
  void userInfo(const std::vector<uint32_t>& userIds, ReplyCallback<IM::Buddy::IMUsersInfoRsp> cb);
  void recentSessions(ReplyCallback<IM::Buddy::IMRecentContactSessionRsp> cb, uint32_t latestUpdateTime = 0);
  void groupList(ReplyCallback<IM::Group::IMNormalGroupListRsp> cb);
  // Asks with version 0 for every group, so the server sends them all.
  void groupInfo(const std::vector<uint32_t>& groupIds, ReplyCallback<IM::Group::IMGroupInfoListRsp> cb);
  void usersStatus(const std::vector<uint32_t>& userIds, ReplyCallback<IM::Buddy::IMUsersStatRsp> cb);

  SessionState state() const { return state_; }
  bool online() const { return state_ == SessionState::kOnline; }
  uint32_t userId() const { return userId_; }
  const IM::BaseDefine::UserInfo& userInfo() const { return userInfo_; }
  const SessionOptions& options() const { return options_; }
  net::EventDispatch* loop() const { return loop_; }
  const std::string& lastError() const { return lastError_; }
  // result_code of the last IMLoginRes (-1 before any).
  int lastLoginResult() const { return lastLoginResult_; }
  bool kicked() const { return kicked_; }
  const SessionStats& stats() const { return stats_; }
  size_t pendingRequests() const { return pending_.size(); }
  // Current back-off base (before jitter) for the next reconnect.
  int64_t reconnectDelayMs() const { return backoffMs_; }

 private:
  struct Pending {
    uint16_t responseCommandId;
    PduCallback callback;
    net::TimerId timer;
  };
  using Token = std::shared_ptr<ClientSession*>;

  void beginAttempt();
  void connectTo(const std::string& host, uint16_t port, const std::string& fallbackHost);
  void onConnected(int fd);
  void sendLogin();
  void onLoginReply(const net::ImConnPtr& conn, RequestError err, const net::ImPdu* pdu);
  void onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onMsgData(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onKick(const net::ImConnPtr& conn, const net::ImPdu& pdu);
  void onTick();

  // Close our connection (if any), fail pending requests, report, and retry if allowed.
  void lose(const std::string& reason, bool isError);
  void dropConnection(const std::string& reason);
  void failPending(RequestError err);
  void scheduleReconnect();
  void cancelAttempt();
  void setState(SessionState s, const std::string& reason);

  uint16_t sendRequest(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg,
                       PduCallback cb, int64_t timeoutMs, uint16_t responseCommandId);
  uint16_t sendTextMessage(uint32_t toId, IM::BaseDefine::MsgType type, std::string_view text, SendCallback cb);
  void postFailure(PduCallback cb, RequestError err);
  uint16_t nextSeq();
  // A callable that runs f only while this session is alive.
  template <class F>
  auto guarded(F f) {
    std::weak_ptr<ClientSession*> weak = token_;
    return [weak, f = std::move(f)](auto&&... args) {
      if (auto t = weak.lock()) f(std::forward<decltype(args)>(args)...);
    };
  }

  net::EventDispatch* loop_;
  SessionOptions options_;
  Handlers handlers_;
  Token token_;

  SessionState state_ = SessionState::kDisconnected;
  bool wanted_ = false;  // start() called and not stopped / kicked / refused for good
  bool kicked_ = false;
  std::shared_ptr<MsgServerLookup> lookup_;
  std::shared_ptr<Dialer> dialer_;
  net::ImConnPtr conn_;
  net::TimerId tickTimer_ = 0;
  net::TimerId reconnectTimer_ = 0;
  int64_t tickMs_ = 1000;
  int64_t backoffMs_;
  int64_t onlineSinceMs_ = 0;

  uint32_t userId_ = 0;
  IM::BaseDefine::UserInfo userInfo_;
  std::string lastError_;
  int lastLoginResult_ = -1;

  uint16_t seq_ = 1;
  uint32_t localMsgId_ = 1;
  std::unordered_map<uint16_t, Pending> pending_;
  SessionStats stats_;
};

}  // namespace tt::client
