// Offline notifications (docs/PROTOCOL.md §3.10), run by the msg_server that
// stored the message — only that one, so a group member gets one push per message, not one per
// msg_server as in TeamTalk.
//
// After a message is stored and acked (message.cc calls pushStoredMessage):
//   receivers: single -> the peer; group -> the members but the sender
//   -> keep those with no device online anywhere: not in our registry, and route_server's
//      any-device status query (IMUsersStatReq with user_id tt::internal::kAnyDeviceStatQuery,
//      proto/InternalCommands.h) says OFFLINE (one query per loop turn for every message stored
//      in it; with no route link we cannot know, and push)
//   -> group: minus the members who shielded the group (IMGroupGetShieldReq to db_proxy)
//   -> IMGetDeviceTokenReq to db_proxy (it applies do-not-disturb and sets push_count = unread)
//   -> one IMPushToUserReq to a live push_server link with the alert text and JSON data.
// No push link configured or up: nothing is done (debug log).
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.Message.pb.h"
#include "IM.Server.pb.h"
#include "msg_server/MsgServer.h"
#include "proto/ContentCodec.h"
#include "proto/InternalCommands.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

constexpr size_t kMaxFlashBytes = 37;
constexpr std::string_view kImageStart = "&$#@~^@[{:";
constexpr std::string_view kImageEnd = ":}]&$~@#@";
constexpr std::string_view kGenericAlert = "您收到了一条消息";

bool isGroup(uint32_t type) { return type == MSG_TYPE_GROUP_TEXT || type == MSG_TYPE_GROUP_AUDIO; }
bool isAudio(uint32_t type) { return type == MSG_TYPE_SINGLE_AUDIO || type == MSG_TYPE_GROUP_AUDIO; }

// The facts of the stored message the later steps need (the message itself may be large).
struct PushJob {
  uint32_t sender = 0;
  uint32_t sessionId = 0;
  uint32_t msgType = 0;
  std::string data;  // the stored msg_data (encrypted text), decrypted only if a push is sent

};
using JobPtr = std::shared_ptr<PushJob>;

void askTokens(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users);
void filterOnline(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users);
void offlineFound(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users);

// At most this many users in one any-device query (one PDU of ~5 bytes per id).
constexpr size_t kMaxIdsPerQuery = 4096;

}  // namespace

// Route presence queries are batched: every message stored in one loop turn adds its receivers,
// and one IMUsersStatReq per turn (not one per message) asks route_server about all of them.
// With push configured, a message to a receiver on another msg_server would otherwise cost a
// route round trip of its own.
class PushBatcher : public std::enable_shared_from_this<PushBatcher> {
 public:
  void ask(MsgServer& server, JobPtr job, std::vector<uint32_t> users) {
    waiting_.push_back(Waiter{std::move(job), std::move(users)});
    if (scheduled_) return;
    scheduled_ = true;
    std::weak_ptr<PushBatcher> weak = shared_from_this();
    server.loop()->post([weak, &server] {
      if (auto self = weak.lock()) self->flush(server);
    });
  }

 private:
  struct Waiter {
    JobPtr job;
    std::vector<uint32_t> users;
  };
  using Batch = std::vector<Waiter>;

  void flush(MsgServer& server) {
    scheduled_ = false;
    Batch all;
    all.swap(waiting_);
    // Split so no query names more than kMaxIdsPerQuery users (a waiter is never split).
    Batch part;
    std::unordered_set<uint32_t> ids;
    for (auto& w : all) {
      if (!part.empty() && ids.size() + w.users.size() > kMaxIdsPerQuery) {
        query(server, std::make_shared<Batch>(std::move(part)), ids);
        part.clear();
        ids.clear();
      }
      ids.insert(w.users.begin(), w.users.end());
      part.push_back(std::move(w));
    }
    if (!part.empty()) query(server, std::make_shared<Batch>(std::move(part)), ids);
  }

  static void query(MsgServer& server, const std::shared_ptr<Batch>& batch, const std::unordered_set<uint32_t>& ids) {
    IM::Buddy::IMUsersStatReq req;
    req.set_user_id(tt::internal::kAnyDeviceStatQuery);
    for (uint32_t u : ids) req.add_user_id_list(u);
    Pending p;
    p.onReply = [&server, batch](const net::ImPdu* answer) {
      IM::Buddy::IMUsersStatRsp rsp;
      if (!answer || !answer->parse(&rsp)) {
        spdlog::info("push: no presence answer from route_server for {} messages; pushing", batch->size());
        for (auto& w : *batch) offlineFound(server, w.job, std::move(w.users));
        return;
      }
      std::unordered_set<uint32_t> offline;
      for (const auto& s : rsp.user_stat_list()) {
        if (s.status() == USER_STATUS_OFFLINE) offline.insert(s.user_id());
      }
      for (auto& w : *batch) {
        std::vector<uint32_t> still;
        for (uint32_t u : w.users) {
          if (offline.count(u) != 0) still.push_back(u);
        }
        if (!still.empty()) offlineFound(server, w.job, std::move(still));
      }
    };
    if (!server.request(server.route().first(), SID_BUDDY_LIST, CID_BUDDY_LIST_USERS_STATUS_REQUEST, req,
                        std::move(p))) {
      // No route link: we only know about our own users.
      for (auto& w : *batch) offlineFound(server, w.job, std::move(w.users));
    }
  }

  Batch waiting_;
  bool scheduled_ = false;
};

namespace {

// Drops receivers with a device on this msg_server, then asks route about the rest (batched).
void filterOnline(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users) {
  std::vector<uint32_t> offline;
  for (uint32_t u : users) {
    if (u != job->sender && !server.users().online(u)) offline.push_back(u);
  }
  if (offline.empty()) return;
  server.pushBatcher()->ask(server, job, std::move(offline));
}

void sendPush(MsgServer& server, const JobPtr& job, const IM::Server::IMGetDeviceTokenRsp& tokens,
              const std::string& nick);

// Receivers with no device online anywhere: a single message asks their tokens; a group message
// first drops the members who shielded the group (IMGroupGetShieldReq to db_proxy).
void offlineFound(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users) {
  if (!isGroup(job->msgType)) {
    askTokens(server, job, std::move(users));
    return;
  }
  IM::Server::IMGroupGetShieldReq req;
  req.set_group_id(job->sessionId);
  for (uint32_t u : users) req.add_user_id(u);
  Pending p;
  p.onReply = [&server, job](const net::ImPdu* answer) {
    IM::Server::IMGroupGetShieldRsp rsp;
    if (!answer || !answer->parse(&rsp)) {
      spdlog::warn("push: shield status of group {} not received; no push", job->sessionId);
      return;
    }
    std::vector<uint32_t> unshielded;
    for (const auto& s : rsp.shield_status_list()) {
      if (s.shield_status() == 0) unshielded.push_back(s.user_id());
    }
    if (!unshielded.empty()) askTokens(server, job, std::move(unshielded));
  };
  if (!server.request(server.dbFor(job->sender), SID_OTHER, CID_OTHER_GET_SHIELD_REQ, req, std::move(p))) {
    spdlog::debug("push: no db_proxy link, group {} shield status unknown; no push", job->sessionId);
  }
}

void askTokens(MsgServer& server, const JobPtr& job, std::vector<uint32_t> users) {
  IM::Server::IMGetDeviceTokenReq req;
  for (uint32_t u : users) req.add_user_id(u);
  Pending p;
  p.onReply = [&server, job](const net::ImPdu* answer) {
    auto tokens = std::make_shared<IM::Server::IMGetDeviceTokenRsp>();
    if (!answer || !answer->parse(tokens.get())) {
      spdlog::warn("push: device tokens for a message of user {} not received", job->sender);
      return;
    }
    if (tokens->user_token_info_size() == 0) return;
    // The sender's nick for the alert ("<nick>:<text>"); unknown -> the generic alert.
    IM::Buddy::IMUsersInfoReq info;
    info.set_user_id(job->sender);
    info.add_user_id_list(job->sender);
    Pending q;
    q.onReply = [&server, job, tokens](const net::ImPdu* answer) {
      IM::Buddy::IMUsersInfoRsp rsp;
      std::string nick;
      if (answer && answer->parse(&rsp) && rsp.user_info_list_size() > 0) nick = rsp.user_info_list(0).user_nick_name();
      sendPush(server, job, *tokens, nick);
    };
    if (!server.request(server.dbFor(job->sender), SID_BUDDY_LIST, CID_BUDDY_LIST_USER_INFO_REQUEST, info,
                        std::move(q))) {
      sendPush(server, job, *tokens, "");
    }
  };
  if (!server.request(server.dbFor(job->sender), SID_OTHER, CID_OTHER_GET_DEVICE_TOKEN_REQ, req, std::move(p))) {
    spdlog::debug("push: no db_proxy link, no device tokens");
  }
}

std::string pushData(const PushJob& job) {
  std::string data = "{\"msg_type\":" + std::to_string(job.msgType) + ",\"from_id\":" + std::to_string(job.sender);
  if (isGroup(job.msgType)) data += ",\"group_id\":" + std::to_string(job.sessionId);
  return data + "}";
}

void sendPush(MsgServer& server, const JobPtr& job, const IM::Server::IMGetDeviceTokenRsp& tokens,
              const std::string& nick) {
  net::ImConnPtr link = server.push().pick(job->sender);
  if (!link) {
    spdlog::debug("push: no push_server link up, {} devices not notified", tokens.user_token_info_size());
    return;
  }
  IM::Server::IMPushToUserReq req;
  std::optional<std::string> plain;
  if (!isAudio(job->msgType)) plain = tt::codec::decryptText(job->data, server.options().aesKey);
  req.set_flash(pushAlertText(nick, job->msgType, plain ? *plain : std::string(), plain.has_value()));
  req.set_data(pushData(*job));
  for (const auto& t : tokens.user_token_info()) {
    if (t.user_id() == job->sender) continue;
    *req.add_user_token_list() = t;
  }
  if (req.user_token_list_size() == 0) return;
  spdlog::debug("push: message of user {} -> {} devices", job->sender, req.user_token_list_size());
  link->send(SID_OTHER, CID_OTHER_PUSH_TO_USER_REQ, 0, req);
}

}  // namespace

std::string truncateUtf8(const std::string& s, size_t maxBytes) {
  if (s.size() <= maxBytes) return s;
  size_t cut = maxBytes;
  // Back up to the start of the character the cut falls in (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

std::string pushAlertText(const std::string& nick, uint32_t msgType, const std::string& text, bool decrypted) {
  std::string flash;
  if (nick.empty()) {
    flash = std::string(kGenericAlert);
  } else if (isAudio(msgType)) {
    flash = nick + (isGroup(msgType) ? "在群聊中发送了一条语音消息" : "给您发送了一条语音消息");
  } else if (!decrypted) {
    flash = std::string(kGenericAlert);
  } else if (text.find(kImageStart) != std::string::npos && text.find(kImageEnd) != std::string::npos) {
    flash = std::string(kGenericAlert);
  } else {
    flash = nick + ":" + text;
  }
  return truncateUtf8(flash, kMaxFlashBytes);
}

void registerPushHandlers(MsgServer& server) {
  server.pushBatcher() = std::make_shared<PushBatcher>();
  // push_server's answer: per device 0 queued / 1 refused. Nothing to do but note refusals.
  server.serverCommands().on<IM::Server::IMPushToUserRsp>(
      CID_OTHER_PUSH_TO_USER_RSP, [](const net::ImConnPtr& link, const net::ImPdu&, IM::Server::IMPushToUserRsp& rsp) {
        int refused = 0;
        for (const auto& r : rsp.push_result_list()) refused += r.result_code() != 0;
        if (refused > 0) spdlog::debug("push_server {}: {} of {} devices refused", link->name(), refused,
                                       rsp.push_result_list_size());
      });
}

void pushStoredMessage(MsgServer& server, const IM::Message::IMMsgData& msg) {
  if (!server.push().configured()) return;
  if (server.push().liveCount() == 0) {
    spdlog::debug("push: no push_server link up, message {} of user {} not pushed", msg.msg_id(), msg.from_user_id());
    return;
  }
  // The common case costs nothing more: a receiver connected here needs no push.
  if (!isGroup(msg.msg_type()) && server.users().online(msg.to_session_id())) return;
  auto job = std::make_shared<PushJob>();
  job->sender = msg.from_user_id();
  job->sessionId = msg.to_session_id();
  job->msgType = msg.msg_type();
  job->data = msg.msg_data();
  if (!isGroup(job->msgType)) {
    filterOnline(server, job, {job->sessionId});
    return;
  }
  // Group: the members with no device here; route_server's (in-memory) answer comes before the
  // shield lookup in db_proxy, so members online elsewhere cost no Redis work.
  server.groups().withMembers(job->sessionId, job->sender, [&server, job](const std::vector<uint32_t>* members) {
    if (members) filterOnline(server, job, *members);
  });
}

}  // namespace tt::msg
