#include "tools/client/ClientSession.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "IM.Other.pb.h"
#include "base/Time.h"
#include "netlib/EventDispatch.h"
#include "netlib/SocketOps.h"
#include "netlib/TcpConnection.h"
#include "tools/client/Dialer.h"
#include "tools/client/LoginHttp.h"

namespace tt::client {

namespace bd = IM::BaseDefine;

const char* toString(SessionState s) {
  switch (s) {
    case SessionState::kDisconnected: return "disconnected";
    case SessionState::kResolving: return "resolving";
    case SessionState::kConnecting: return "connecting";
    case SessionState::kLoggingIn: return "logging in";
    case SessionState::kOnline: return "online";
  }
  return "?";
}

const char* toString(RequestError e) {
  switch (e) {
    case RequestError::kOk: return "ok";
    case RequestError::kTimeout: return "timed out";
    case RequestError::kDisconnected: return "connection lost";
    case RequestError::kNotOnline: return "not online";
    case RequestError::kBadResponse: return "malformed response";
    case RequestError::kInvalid: return "invalid request";
    case RequestError::kOverloaded: return "too many requests in flight";
  }
  return "?";
}

namespace {

// Numeric addresses never block; anything else is one getaddrinfo (see SessionOptions).
std::optional<net::InetAddress> addressOf(const std::string& host, uint16_t port, std::string* err) {
  if (auto a = net::InetAddress::parse(host, port)) return a;
  return net::InetAddress::resolve(host, port, err);
}

bool isGroupType(bd::MsgType t) { return t == bd::MSG_TYPE_GROUP_TEXT || t == bd::MSG_TYPE_GROUP_AUDIO; }
bool isTextType(bd::MsgType t) { return t == bd::MSG_TYPE_SINGLE_TEXT || t == bd::MSG_TYPE_GROUP_TEXT; }

// Keep a few seq numbers free so nextSeq() always finds one quickly.
constexpr size_t kMaxPending = 60000;
// Logging out waits at most this long for IMLogoutRsp.
constexpr int64_t kLogoutTimeoutMs = 3000;

}  // namespace

ClientSession::ClientSession(net::EventDispatch* loop, SessionOptions options)
    : loop_(loop),
      options_(std::move(options)),
      token_(std::make_shared<ClientSession*>(this)),
      backoffMs_(std::max<int64_t>(1, options_.reconnectInitialMs)) {
  // Fine enough for the shortest interval we watch, at most once a second.
  for (int64_t v : {options_.heartbeatIntervalMs, options_.deadServerMs}) {
    if (v > 0) tickMs_ = std::min(tickMs_, std::max<int64_t>(10, v / 4));
  }
}

ClientSession::~ClientSession() {
  token_.reset();  // every guarded callback is now a no-op
  cancelAttempt();
  loop_->cancel(tickTimer_);
  for (auto& [seq, p] : pending_) loop_->cancel(p.timer);
  pending_.clear();
  dropConnection("session destroyed");
}

// ---- state machine ------------------------------------------------------------------------------

void ClientSession::setState(SessionState s, const std::string& reason) {
  if (s == state_) return;
  state_ = s;
  if (handlers_.onStateChanged) handlers_.onStateChanged(s, reason);
}

void ClientSession::start() {
  if (wanted_) return;
  wanted_ = true;
  kicked_ = false;
  backoffMs_ = std::max<int64_t>(1, options_.reconnectInitialMs);
  if (state_ == SessionState::kDisconnected && !conn_) beginAttempt();
}

void ClientSession::cancelAttempt() {
  if (lookup_) {
    lookup_->cancel();
    lookup_.reset();
  }
  if (dialer_) {
    dialer_->cancel();
    dialer_.reset();
  }
  loop_->cancel(reconnectTimer_);
  reconnectTimer_ = 0;
}

void ClientSession::stop(const std::string& reason) {
  wanted_ = false;
  cancelAttempt();
  lose(reason, false);
}

void ClientSession::beginAttempt() {
  ++stats_.attempts;
  if (!options_.serverHost.empty()) {
    connectTo(options_.serverHost, options_.serverPort, {});
    return;
  }
  setState(SessionState::kResolving, options_.loginHost + ":" + std::to_string(options_.loginPort));
  if (state_ != SessionState::kResolving) return;  // a handler stopped us
  std::string err;
  auto addr = addressOf(options_.loginHost, options_.loginPort, &err);
  if (!addr) {
    lose("login server " + options_.loginHost + ": " + err, true);
    return;
  }
  lookup_ = MsgServerLookup::start(
      loop_, *addr, options_.loginHost + ":" + std::to_string(options_.loginPort), options_.loginPath,
      options_.connectTimeoutMs, guarded([this](const MsgServerLookup::Result& r) {
        lookup_.reset();
        if (!r.ok()) {
          lose(r.error, true);
        } else if (r.info.code != 0) {
          lose("login server refused: " + (r.info.msg.empty() ? std::string("no msg_server") : r.info.msg) +
                   " (code " + std::to_string(r.info.code) + ")",
               true);
        } else {
          connectTo(r.info.priorIP, static_cast<uint16_t>(r.info.port), r.info.backupIP);
        }
      }));
}

void ClientSession::connectTo(const std::string& host, uint16_t port, const std::string& fallbackHost) {
  setState(SessionState::kConnecting, host + ":" + std::to_string(port));
  if (state_ != SessionState::kConnecting) return;
  std::string err;
  auto addr = addressOf(host, port, &err);
  if (!addr) {
    lose("msg_server " + host + ": " + err, true);
    return;
  }
  dialer_ = Dialer::dial(loop_, *addr, options_.connectTimeoutMs,
                         guarded([this, host, port, fallbackHost](int fd, const std::string& error) {
                           dialer_.reset();
                           if (fd >= 0) {
                             onConnected(fd);
                           } else if (!fallbackHost.empty() && fallbackHost != host) {
                             // login_server's backup address (the other network) before giving up.
                             connectTo(fallbackHost, port, {});
                           } else {
                             lose("msg_server: " + error, true);
                           }
                         }),
                         options_.localAddress);
}

void ClientSession::onConnected(int fd) {
  if (!wanted_) {
    net::sockets::close(fd);
    return;
  }
  auto tcp = std::make_shared<net::TcpConnection>(loop_, net::nextConnId(), fd, net::sockets::localAddress(fd),
                                                  net::sockets::peerAddress(fd));
  tcp->setTcpNoDelay(true);
  tcp->setConnectionCallback(guarded([this](const net::TcpConnectionPtr& c) {
    if (c->connected() || !conn_ || conn_->tcp() != c) return;
    lose("server closed the connection", state_ != SessionState::kOnline);
  }));
  net::ImConnOptions o;
  o.heartbeatIntervalMs = 0;  // our own tick drives heartbeats and the dead-server check
  o.timeoutMs = 0;
  conn_ = net::ImConn::attach(tcp, o, guarded([this](const net::ImConnPtr& c, const net::ImPdu& pdu) {
                                onPdu(c, pdu);
                              }));
  tcp->connectEstablished();
  tickTimer_ = loop_->runEvery(tickMs_, guarded([this] { onTick(); }));
  setState(SessionState::kLoggingIn, tcp->peerAddress().toString());
  if (conn_ && conn_->tcp() == tcp) sendLogin();
}

void ClientSession::sendLogin() {
  IM::Login::IMLoginReq req;
  req.set_user_name(options_.userName);
  req.set_password(codec::md5Hex(options_.password));
  req.set_online_status(options_.onlineStatus);
  req.set_client_type(options_.clientType);
  req.set_client_version(options_.clientVersion);
  net::ImConnPtr conn = conn_;
  sendRequest(bd::SID_LOGIN, bd::CID_LOGIN_REQ_USERLOGIN, req,
              guarded([this, conn](RequestError err, const net::ImPdu* pdu) { onLoginReply(conn, err, pdu); }),
              options_.loginTimeoutMs, bd::CID_LOGIN_RES_USERLOGIN);
}

void ClientSession::onLoginReply(const net::ImConnPtr& conn, RequestError err, const net::ImPdu* pdu) {
  if (conn != conn_) return;  // that connection is already gone and accounted for
  if (err != RequestError::kOk) {
    lose("login: no answer from msg_server (" + std::string(toString(err)) + ")", true);
    return;
  }
  IM::Login::IMLoginRes res;
  if (!pdu->parse(&res)) {
    lose("login: malformed IMLoginRes", true);
    return;
  }
  lastLoginResult_ = res.result_code();
  if (handlers_.onLoginResult) handlers_.onLoginResult(res);
  if (conn != conn_) return;
  if (res.result_code() != bd::REFUSE_REASON_NONE) {
    // Retrying cannot fix a wrong password or an old version; it can fix a missing back end.
    if (res.result_code() == bd::REFUSE_REASON_DB_VALIDATE_FAILED ||
        res.result_code() == bd::REFUSE_REASON_VERSION_TOO_OLD) {
      wanted_ = false;
    }
    lose("login refused: " + (res.result_string().empty() ? std::string("no reason given") : res.result_string()) +
             " (code " + std::to_string(res.result_code()) + ")",
         true);
    return;
  }
  userInfo_ = res.user_info();
  userId_ = res.user_info().user_id();
  onlineSinceMs_ = loop_->nowMs();
  lastError_.clear();
  ++stats_.logins;
  setState(SessionState::kOnline, "logged in as " + options_.userName + " (" + std::to_string(userId_) + ")");
}

void ClientSession::dropConnection(const std::string& reason) {
  if (!conn_) return;
  net::ImConnPtr c = std::move(conn_);
  loop_->cancel(tickTimer_);
  tickTimer_ = 0;
  // Torn down synchronously rather than with a deferred close: nothing of ours may run for this
  // connection afterwards, and the loop may never turn again (stop() then exit). Safe from inside
  // the connection's own callbacks: it only leaves epoll here; the references on the stack keep
  // it alive until they unwind, and the last one closes the fd.
  net::TcpConnectionPtr tcp = c->tcp();
  // The connection callback stays: we may be running inside it, and it ignores a connection that
  // is no longer conn_.
  spdlog::debug("session {}: closing {}: {}", options_.userName, tcp->name(), reason);
  net::ImConn::detach(tcp);
  tcp->connectDestroyed();
}

void ClientSession::lose(const std::string& reason, bool isError) {
  const bool wasOnline = state_ == SessionState::kOnline;
  if (wasOnline && loop_->nowMs() - onlineSinceMs_ >= options_.stableOnlineMs) {
    backoffMs_ = std::max<int64_t>(1, options_.reconnectInitialMs);
  }
  if (conn_) dropConnection(reason);
  if (isError) {
    lastError_ = reason;
    if (handlers_.onError) handlers_.onError(reason);
  }
  setState(SessionState::kDisconnected, reason);
  failPending(RequestError::kDisconnected);
  scheduleReconnect();
}

void ClientSession::failPending(RequestError err) {
  // Callbacks may issue new requests; they see an empty table and fail fast (not online).
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [seq, p] : pending) loop_->cancel(p.timer);
  for (auto& [seq, p] : pending) {
    if (p.callback) p.callback(err, nullptr);
  }
}

void ClientSession::scheduleReconnect() {
  if (!wanted_ || kicked_ || !options_.autoReconnect) {
    wanted_ = false;
    return;
  }
  if (reconnectTimer_ != 0 || state_ != SessionState::kDisconnected || conn_) return;
  // +-20% jitter so clients dropped together do not come back in lock-step.
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(-backoffMs_ / 5, backoffMs_ / 5);
  const int64_t delay = std::max<int64_t>(1, backoffMs_ + jitter(rng));
  backoffMs_ = std::min(backoffMs_ * 2, std::max(options_.reconnectMaxMs, options_.reconnectInitialMs));
  reconnectTimer_ = loop_->runAfter(delay, guarded([this] {
    reconnectTimer_ = 0;
    if (wanted_ && state_ == SessionState::kDisconnected && !conn_) beginAttempt();
  }));
}

void ClientSession::onTick() {
  if (!conn_) return;
  const int64_t now = loop_->nowMs();
  const net::TcpConnectionPtr tcp = conn_->tcp();  // a copy: lose() resets conn_
  if (options_.deadServerMs > 0 && now - tcp->lastReceiveMs() >= options_.deadServerMs) {
    lose("nothing received from the server for " + std::to_string(now - tcp->lastReceiveMs()) + " ms",
         state_ != SessionState::kOnline);
    return;
  }
  if (options_.heartbeatIntervalMs > 0 && now - tcp->lastSendMs() >= options_.heartbeatIntervalMs) {
    conn_->sendHeartbeat();
    ++stats_.heartbeatsSent;
  }
}

void ClientSession::logout(std::function<void()> done) {
  if (state_ != SessionState::kOnline || !conn_) {
    stop("logged out");
    if (done) loop_->post(guarded([done] { done(); }));
    return;
  }
  wanted_ = false;
  cancelAttempt();
  IM::Login::IMLogoutReq req;
  sendRequest(bd::SID_LOGIN, bd::CID_LOGIN_REQ_LOGINOUT, req,
              guarded([this, done](RequestError, const net::ImPdu*) {
                // Answered, timed out or closed by the server: in every case we are done.
                if (conn_) stop("logged out");
                if (done) done();
              }),
              std::min<int64_t>(options_.requestTimeoutMs, kLogoutTimeoutMs), bd::CID_LOGIN_RES_LOGINOUT);
}

// ---- incoming -----------------------------------------------------------------------------------

void ClientSession::onPdu(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  if (conn != conn_) return;
  ++stats_.pdusReceived;
  if (pdu.seqNum() != 0) {
    auto it = pending_.find(pdu.seqNum());
    if (it != pending_.end() && it->second.responseCommandId == pdu.commandId()) {
      PduCallback cb = std::move(it->second.callback);
      loop_->cancel(it->second.timer);
      pending_.erase(it);
      if (cb) cb(RequestError::kOk, &pdu);
      return;
    }
  }
  switch (pdu.commandId()) {
    case bd::CID_MSG_DATA:
      onMsgData(conn, pdu);
      return;
    case bd::CID_LOGIN_KICK_USER:
      onKick(conn, pdu);
      return;
    case bd::CID_MSG_READ_NOTIFY: {
      IM::Message::IMMsgDataReadNotify n;
      if (handlers_.onReadNotify && pdu.parse(&n)) {
        handlers_.onReadNotify(n);
        return;
      }
      break;
    }
    case bd::CID_BUDDY_LIST_STATUS_NOTIFY: {
      IM::Buddy::IMUserStatNotify n;
      if (handlers_.onStatusNotify && pdu.parse(&n)) {
        handlers_.onStatusNotify(n);
        return;
      }
      break;
    }
    case bd::CID_GROUP_CHANGE_MEMBER_NOTIFY: {
      IM::Group::IMGroupChangeMemberNotify n;
      if (handlers_.onGroupChangeNotify && pdu.parse(&n)) {
        handlers_.onGroupChangeNotify(n);
        return;
      }
      break;
    }
    default:
      break;
  }
  if (handlers_.onOtherPdu) handlers_.onOtherPdu(pdu);
}

void ClientSession::onMsgData(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  IM::Message::IMMsgData msg;
  if (!pdu.parse(&msg)) {
    spdlog::warn("session {}: malformed IMMsgData ({} bytes)", options_.userName, pdu.body.size());
    if (handlers_.onOtherPdu) handlers_.onOtherPdu(pdu);
    return;
  }
  ++stats_.messagesReceived;
  // Receipt first: the handler may stop the session.
  if (options_.autoReceiptAck) sendReceiptAck(msg);
  if (!handlers_.onMessage) return;
  std::optional<std::string> text;
  if (isTextType(msg.msg_type())) text = codec::decryptText(msg.msg_data(), options_.aesKey);
  handlers_.onMessage(msg, text);
}

void ClientSession::onKick(const net::ImConnPtr& conn, const net::ImPdu& pdu) {
  IM::Login::IMKickUser kick;
  const bool parsed = pdu.parse(&kick);
  // The server only flags a kicked connection (docs/PROTOCOL.md §3.2.3): the client must go away, and must
  // not come back by itself, or two clients of one user would kick each other forever.
  kicked_ = true;
  wanted_ = false;
  cancelAttempt();
  if (parsed && handlers_.onKicked) handlers_.onKicked(kick);
  if (!parsed && handlers_.onOtherPdu) handlers_.onOtherPdu(pdu);
  const int reason = parsed ? static_cast<int>(kick.kick_reason()) : 0;
  lose(reason == bd::KICK_REASON_MOBILE_KICK ? "kicked by a mobile login (reason 2)"
                                               : "kicked: logged in elsewhere (reason " + std::to_string(reason) + ")",
       false);
}

// ---- outgoing -----------------------------------------------------------------------------------

uint16_t ClientSession::nextSeq() {
  for (;;) {
    const uint16_t s = seq_++;
    if (seq_ == 0) seq_ = 1;
    if (s != 0 && pending_.count(s) == 0) return s;
  }
}

void ClientSession::postFailure(PduCallback cb, RequestError err) {
  if (!cb) return;
  loop_->post(guarded([cb = std::move(cb), err] { cb(err, nullptr); }));
}

uint16_t ClientSession::sendRequest(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg,
                                    PduCallback cb, int64_t timeoutMs, uint16_t responseCommandId) {
  if (!conn_) {
    postFailure(std::move(cb), RequestError::kNotOnline);
    return 0;
  }
  if (pending_.size() >= kMaxPending) {
    postFailure(std::move(cb), RequestError::kOverloaded);
    return 0;
  }
  const uint16_t seq = nextSeq();
  if (timeoutMs <= 0) timeoutMs = options_.requestTimeoutMs;
  if (responseCommandId == 0) responseCommandId = static_cast<uint16_t>(commandId + 1);
  const net::TimerId timer = loop_->runAfter(timeoutMs, guarded([this, seq] {
    auto it = pending_.find(seq);
    if (it == pending_.end()) return;
    PduCallback expired = std::move(it->second.callback);
    pending_.erase(it);
    ++stats_.timeouts;
    if (expired) expired(RequestError::kTimeout, nullptr);
  }));
  pending_.emplace(seq, Pending{responseCommandId, std::move(cb), timer});
  ++stats_.requestsSent;
  conn_->send(serviceId, commandId, seq, msg);
  return seq;
}

uint16_t ClientSession::request(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg,
                                PduCallback cb, int64_t timeoutMs, uint16_t responseCommandId) {
  if (state_ != SessionState::kOnline) {
    postFailure(std::move(cb), RequestError::kNotOnline);
    return 0;
  }
  return sendRequest(serviceId, commandId, msg, std::move(cb), timeoutMs, responseCommandId);
}

bool ClientSession::sendOneWay(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg) {
  if (state_ != SessionState::kOnline || !conn_) return false;
  conn_->send(serviceId, commandId, nextSeq(), msg);
  return true;
}

uint16_t ClientSession::sendTextMessage(uint32_t toId, bd::MsgType type, std::string_view text, SendCallback cb) {
  PduCallback onAck = [cb = std::move(cb)](RequestError err, const net::ImPdu* pdu) {
    if (!cb) return;
    if (err != RequestError::kOk) {
      cb(err, 0);
      return;
    }
    IM::Message::IMMsgDataAck ack;
    if (!pdu->parse(&ack)) {
      cb(RequestError::kBadResponse, 0);
      return;
    }
    cb(RequestError::kOk, ack.msg_id());
  };
  std::string data = codec::encryptText(text, options_.aesKey);
  if (data.empty()) {  // only with a key that is not 32 bytes
    postFailure(std::move(onAck), RequestError::kInvalid);
    return 0;
  }
  IM::Message::IMMsgData msg;
  msg.set_from_user_id(userId_);
  msg.set_to_session_id(toId);
  msg.set_msg_id(localMsgId_++);  // a temporary id; the ack carries the server's
  msg.set_create_time(tt::unixSeconds());
  msg.set_msg_type(type);
  msg.set_msg_data(std::move(data));
  return request(bd::SID_MSG, bd::CID_MSG_DATA, msg, std::move(onAck), 0, bd::CID_MSG_DATA_ACK);
}

uint16_t ClientSession::sendText(uint32_t toUserId, std::string_view text, SendCallback cb) {
  return sendTextMessage(toUserId, bd::MSG_TYPE_SINGLE_TEXT, text, std::move(cb));
}

uint16_t ClientSession::sendGroupText(uint32_t groupId, std::string_view text, SendCallback cb) {
  return sendTextMessage(groupId, bd::MSG_TYPE_GROUP_TEXT, text, std::move(cb));
}

bool ClientSession::sendReceiptAck(const IM::Message::IMMsgData& msg) {
  const bool group = isGroupType(msg.msg_type());
  IM::Message::IMMsgDataAck ack;
  ack.set_user_id(userId_);
  // The conversation as the receiver sees it: the group, or the peer (our own copy from another
  // device names the peer in to_session_id).
  ack.set_session_id(group || msg.from_user_id() == userId_ ? msg.to_session_id() : msg.from_user_id());
  ack.set_msg_id(msg.msg_id());
  ack.set_session_type(group ? bd::SESSION_TYPE_GROUP : bd::SESSION_TYPE_SINGLE);
  return sendOneWay(bd::SID_MSG, bd::CID_MSG_DATA_ACK, ack);
}

bool ClientSession::readAck(uint32_t sessionId, bd::SessionType type, uint32_t msgId) {
  IM::Message::IMMsgDataReadAck ack;
  ack.set_user_id(userId_);
  ack.set_session_id(sessionId);
  ack.set_msg_id(msgId);
  ack.set_session_type(type);
  return sendOneWay(bd::SID_MSG, bd::CID_MSG_READ_ACK, ack);
}

void ClientSession::unread(ReplyCallback<IM::Message::IMUnreadMsgCntRsp> cb) {
  IM::Message::IMUnreadMsgCntReq req;
  req.set_user_id(userId_);
  requestTyped(bd::SID_MSG, bd::CID_MSG_UNREAD_CNT_REQUEST, req, std::move(cb));
}

void ClientSession::history(uint32_t sessionId, bd::SessionType type, uint32_t beginMsgId, uint32_t count,
                            ReplyCallback<IM::Message::IMGetMsgListRsp> cb) {
  IM::Message::IMGetMsgListReq req;
  req.set_user_id(userId_);
  req.set_session_type(type);
  req.set_session_id(sessionId);
  req.set_msg_id_begin(beginMsgId);
  req.set_msg_cnt(count);
  requestTyped(bd::SID_MSG, bd::CID_MSG_LIST_REQUEST, req, std::move(cb));
}

void ClientSession::allUsers(ReplyCallback<IM::Buddy::IMAllUserRsp> cb, uint32_t latestUpdateTime) {
  IM::Buddy::IMAllUserReq req;
  req.set_user_id(userId_);
  req.set_latest_update_time(latestUpdateTime);
  requestTyped(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_ALL_USER_REQUEST, req, std::move(cb));
}

void ClientSession::userInfo(const std::vector<uint32_t>& userIds, ReplyCallback<IM::Buddy::IMUsersInfoRsp> cb) {
  IM::Buddy::IMUsersInfoReq req;
  req.set_user_id(userId_);
  for (uint32_t id : userIds) req.add_user_id_list(id);
  requestTyped(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USER_INFO_REQUEST, req, std::move(cb));
}

void ClientSession::recentSessions(ReplyCallback<IM::Buddy::IMRecentContactSessionRsp> cb,
                                   uint32_t latestUpdateTime) {
  IM::Buddy::IMRecentContactSessionReq req;
  req.set_user_id(userId_);
  req.set_latest_update_time(latestUpdateTime);
  requestTyped(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, req, std::move(cb));
}

void ClientSession::groupList(ReplyCallback<IM::Group::IMNormalGroupListRsp> cb) {
  IM::Group::IMNormalGroupListReq req;
  req.set_user_id(userId_);
  requestTyped(bd::SID_GROUP, bd::CID_GROUP_NORMAL_LIST_REQUEST, req, std::move(cb));
}

void ClientSession::groupInfo(const std::vector<uint32_t>& groupIds, ReplyCallback<IM::Group::IMGroupInfoListRsp> cb) {
  IM::Group::IMGroupInfoListReq req;
  req.set_user_id(userId_);
  for (uint32_t id : groupIds) {
    auto* v = req.add_group_version_list();
    v->set_group_id(id);
    v->set_version(0);
  }
  requestTyped(bd::SID_GROUP, bd::CID_GROUP_INFO_REQUEST, req, std::move(cb));
}

void ClientSession::usersStatus(const std::vector<uint32_t>& userIds, ReplyCallback<IM::Buddy::IMUsersStatRsp> cb) {
  IM::Buddy::IMUsersStatReq req;
  req.set_user_id(userId_);
  for (uint32_t id : userIds) req.add_user_id_list(id);
  requestTyped(bd::SID_BUDDY_LIST, bd::CID_BUDDY_LIST_USERS_STATUS_REQUEST, req, std::move(cb));
}

}  // namespace tt::client
