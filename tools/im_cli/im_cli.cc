// im_cli: a line-oriented TeamTalk client for people and scripts.
//
//   im_cli --user user01 --password ttsuite [--login http://127.0.0.1:8080] [--server host:port]
//          [--client-type mac|windows|ios|android] [--verbose]
//
// Logs in (through login_server's /msg_server unless --server names a msg_server), fetches the user
// list to map names to ids, then reads commands from stdin on the same event loop that receives
// messages. Works with a pipe too: `printf '/send user02 hi\n' | im_cli ...` sends, waits for the
// acks (at most 3 s after EOF), logs out and exits.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "netlib/BaseSocket.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"
#include "IM.File.pb.h"
#include "proto/ContentCodec.h"
#include "tools/client/ClientSession.h"
#include "tools/client/FileTransfer.h"
#include "tools/client/LoginHttp.h"

namespace {

using tt::client::ClientSession;
using tt::client::RequestError;
using tt::client::SessionState;
namespace bd = IM::BaseDefine;

// How long to wait, after stdin ends, for replies to what was asked.
constexpr int64_t kDrainAfterEofMs = 3000;

constexpr const char* kHelp =
    "commands:\n"
    "  /send <user|id> <text>     send a text message\n"
    "  /group <group id> <text>   send a text message to a group\n"
    "  /groups                    list my groups\n"
    "  /history <user|g:gid> [n]  last n messages of a conversation (default 10)\n"
    "  /unread                    unread counts\n"
    "  /read <user|g:gid>         mark a conversation read\n"
    "  /users                     list all users\n"
    "  /online <user>...          who of them is online\n"
    "  /sendfile <user> <path>    send a file (online if they are, else stored for them)\n"
    "  /files                     files offered to me, stored ones included\n"
    "  /getfile <task> [path]     fetch an offered file (task id or its first characters)\n"
    "  /help, /quit";

void out(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void err(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::string clock(uint32_t unixTime) {
  std::time_t t = unixTime != 0 ? static_cast<std::time_t>(unixTime) : std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::optional<uint32_t> toNumber(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> splitWords(std::string_view s, size_t maxParts, std::string* rest) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    if (words.size() + 1 == maxParts && rest != nullptr) {
      *rest = std::string(s.substr(i));
      break;
    }
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    words.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

struct Args {
  std::string user;
  std::string password;
  std::string login = "http://127.0.0.1:8080";
  std::string server;
  bd::ClientType clientType = bd::CLIENT_TYPE_MAC;
  bool verbose = false;
  bool check = false;  // log in, say so, log out, exit 0 (scripts/run.sh waits on it)
};

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: im_cli --user NAME --password PASS [--login http://HOST:PORT] [--server HOST:PORT]\n"
               "              [--client-type mac|windows|ios|android] [--verbose] [--check]\n"
               "  --check: log in once, print the result and exit (0: the login succeeded)\n");
}

// Exits with status 2 on bad arguments.
Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasValue = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      hasValue = true;
    }
    auto next = [&]() -> std::string {
      if (hasValue) return value;
      if (i + 1 >= argc) {
        err("im_cli: " + arg + " needs a value");
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--user" || arg == "-u") {
      a.user = next();
    } else if (arg == "--password" || arg == "-p") {
      a.password = next();
    } else if (arg == "--login") {
      a.login = next();
    } else if (arg == "--server") {
      a.server = next();
    } else if (arg == "--client-type") {
      const std::string t = next();
      if (t == "mac") {
        a.clientType = bd::CLIENT_TYPE_MAC;
      } else if (t == "windows") {
        a.clientType = bd::CLIENT_TYPE_WINDOWS;
      } else if (t == "ios") {
        a.clientType = bd::CLIENT_TYPE_IOS;
      } else if (t == "android") {
        a.clientType = bd::CLIENT_TYPE_ANDROID;
      } else {
        err("im_cli: --client-type must be mac, windows, ios or android");
        std::exit(2);
      }
    } else if (arg == "--verbose" || arg == "-v") {
      a.verbose = true;
    } else if (arg == "--check") {
      a.check = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      err("im_cli: unknown argument " + arg);
      usage(stderr);
      std::exit(2);
    }
  }
  if (a.user.empty() || a.password.empty()) {
    usage(stderr);
    std::exit(2);
  }
  return a;
}

class Cli {
 public:
  Cli(tt::net::EventDispatch* loop, tt::client::SessionOptions options) : loop_(loop), session_(loop, std::move(options)) {
    auto& h = session_.handlers();
    h.onStateChanged = [this](SessionState s, const std::string& why) { onState(s, why); };
    h.onError = [this](const std::string& why) {
      // Before the first login every error is final: a CLI should say so, not retry forever.
      if (!everOnline_) finish(1, "login failed: " + why);
    };
    h.onMessage = [this](const IM::Message::IMMsgData& m, const std::optional<std::string>& text) {
      printMessage(m, text);
    };
    h.onKicked = [this](const IM::Login::IMKickUser& k) {
      finish(1, k.kick_reason() == bd::KICK_REASON_MOBILE_KICK ? "kicked: a mobile client of yours asked for it"
                                                               : "kicked: you logged in elsewhere");
    };
    h.onStatusNotify = [this](const IM::Buddy::IMUserStatNotify& n) {
      const char* s = n.user_stat().status() == bd::USER_STATUS_ONLINE    ? "online"
                      : n.user_stat().status() == bd::USER_STATUS_OFFLINE ? "offline"
                                                                          : "away";
      out("* " + userName(n.user_stat().user_id()) + " is " + s);
    };
    h.onOtherPdu = [this](const tt::net::ImPdu& pdu) {
      IM::File::IMFileNotify n;
      if (pdu.commandId() == bd::CID_FILE_NOTIFY && pdu.parse(&n)) onFileOffer(n);
    };
    h.onGroupChangeNotify = [this](const IM::Group::IMGroupChangeMemberNotify& n) {
      std::string who;
      for (uint32_t id : n.chg_user_id_list()) who += (who.empty() ? "" : ", ") + userName(id);
      out("* " + groupName(n.group_id()) + ": " + who +
          (n.change_type() == bd::GROUP_MODIFY_TYPE_ADD ? " joined" : " left"));
    };
  }

  void start() { session_.start(); }
  void setCheckOnly(bool on) { checkOnly_ = on; }

  // SIGINT/SIGTERM, /quit and the end of stdin all end here.
  void shutdown(int status) {
    if (shuttingDown_) return;
    shuttingDown_ = true;
    exitStatus_ = status;
    stopStdin();
    // Bounded even if the server never answers the logout.
    loop_->runAfter(kDrainAfterEofMs + 1000, [this] { loop_->quit(); });
    session_.logout([this] { loop_->quit(); });
  }

  int exitStatus() const { return exitStatus_; }

 private:
  void finish(int status, const std::string& line) {
    if (!line.empty()) err(line);
    exitStatus_ = status;
    shuttingDown_ = true;
    stopStdin();
    session_.stop("exiting");
    loop_->quit();
  }

  void onState(SessionState s, const std::string& why) {
    if (s == SessionState::kOnline) {
      if (!everOnline_) {
        everOnline_ = true;
        out("logged in as " + session_.options().userName + " (id " + std::to_string(session_.userId()) + ")");
        if (checkOnly_) {
          shutdown(0);
          return;
        }
        loadDirectory();
      } else {
        out("* reconnected");
      }
    } else if (s == SessionState::kDisconnected && everOnline_ && !shuttingDown_) {
      err("connection lost: " + why + (session_.kicked() ? "" : "; reconnecting"));
    }
  }

  // Users (names <-> ids) and group names, then the help text and the command prompt.
  void loadDirectory() {
    session_.allUsers([this](RequestError e, const IM::Buddy::IMAllUserRsp* rsp) {
      if (rsp != nullptr) {
        for (const auto& u : rsp->user_list()) {
          names_[u.user_id()] = u.user_real_name();
          ids_[u.user_real_name()] = u.user_id();
        }
      } else {
        err("could not fetch the user list (" + std::string(toString(e)) + "): use numeric ids");
      }
      session_.groupList([this](RequestError, const IM::Group::IMNormalGroupListRsp* list) {
        std::vector<uint32_t> gids;
        if (list != nullptr) {
          for (const auto& g : list->group_version_list()) gids.push_back(g.group_id());
        }
        if (gids.empty()) {
          ready();
          return;
        }
        session_.groupInfo(gids, [this](RequestError, const IM::Group::IMGroupInfoListRsp* info) {
          if (info != nullptr) {
            for (const auto& g : info->group_info_list()) groups_[g.group_id()] = g.group_name();
          }
          ready();
        });
      });
    });
  }

  void ready() {
    if (stdinSocket_ || stdinDone_ || shuttingDown_) return;
    out(std::to_string(names_.size()) + " users known. " + kHelp);
    struct stat st {};
    const bool pollable = ::fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(0));
    if (!pollable) {
      // Regular files and /dev/null cannot be watched by epoll; reading them never waits anyway.
      readStdin();
      return;
    }
    stdinSocket_ = std::make_unique<tt::net::BaseSocket>(loop_, 0);
    stdinSocket_->setReadCallback([this] { readStdin(); });
    stdinSocket_->setCloseCallback([this] { readStdin(); });
    stdinSocket_->enableReading();
  }

  // One read per readiness event (level-triggered), so stdin can stay blocking; for a regular file
  // it loops to the end.
  void readStdin() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        onStdinEnd();
        return;
      }
      input_.append(buf, static_cast<size_t>(n));
      size_t nl;
      while (!shuttingDown_ && (nl = input_.find('\n')) != std::string::npos) {
        std::string line = input_.substr(0, nl);
        input_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        command(line);
      }
      if (shuttingDown_ || stdinSocket_) return;
    }
  }

  void stopStdin() {
    if (stdinSocket_) {
      stdinSocket_->remove();
      // Deferred: we may be inside its callback.
      loop_->post([s = std::shared_ptr<tt::net::BaseSocket>(std::move(stdinSocket_))] {});
    }
  }

  void onStdinEnd() {
    if (stdinDone_) return;
    stdinDone_ = true;
    if (!input_.empty() && !shuttingDown_) command(input_);  // a last line without '\n'
    input_.clear();
    stopStdin();
    if (shuttingDown_) return;
    if (outstanding_ == 0) {
      shutdown(0);
      return;
    }
    loop_->runAfter(kDrainAfterEofMs, [this] {
      if (outstanding_ > 0) err(std::to_string(outstanding_) + " request(s) still unanswered");
      shutdown(0);
    });
  }

  // Tracks replies we still wait for, so the end of stdin can wait for them.
  void begin() { ++outstanding_; }
  void end() {
    if (outstanding_ > 0) --outstanding_;
    if (outstanding_ == 0 && stdinDone_) shutdown(0);
  }

  std::string userName(uint32_t id) const {
    auto it = names_.find(id);
    return it != names_.end() ? it->second : "#" + std::to_string(id);
  }

  std::string groupName(uint32_t id) const {
    auto it = groups_.find(id);
    return it != groups_.end() ? it->second : "group " + std::to_string(id);
  }

  std::optional<uint32_t> userId(const std::string& nameOrId) const {
    if (auto it = ids_.find(nameOrId); it != ids_.end()) return it->second;
    return toNumber(nameOrId);
  }

  // "user02", "42" or "g:7".
  bool parseSession(const std::string& word, uint32_t* id, bd::SessionType* type) const {
    if (word.rfind("g:", 0) == 0) {
      auto gid = toNumber(std::string_view(word).substr(2));
      if (!gid) return false;
      *id = *gid;
      *type = bd::SESSION_TYPE_GROUP;
      return true;
    }
    auto uid = userId(word);
    if (!uid) return false;
    *id = *uid;
    *type = bd::SESSION_TYPE_SINGLE;
    return true;
  }

  std::string describe(bd::MsgType type, const std::string& data) const {
    if (type == bd::MSG_TYPE_SINGLE_TEXT || type == bd::MSG_TYPE_GROUP_TEXT) {
      auto text = tt::codec::decryptText(data, session_.options().aesKey);
      return text ? *text : "(undecryptable text)";
    }
    return "(audio, " + std::to_string(data.size()) + " bytes)";
  }

  void printMessage(const IM::Message::IMMsgData& m, const std::optional<std::string>& text) {
    const std::string body = text ? *text : describe(m.msg_type(), m.msg_data());
    if (m.msg_type() == bd::MSG_TYPE_GROUP_TEXT || m.msg_type() == bd::MSG_TYPE_GROUP_AUDIO) {
      out("[" + groupName(m.to_session_id()) + "] " + userName(m.from_user_id()) + ": " + body);
    } else if (m.from_user_id() == session_.userId()) {
      out("[" + clock(m.create_time()) + "] you → " + userName(m.to_session_id()) + ": " + body);
    } else {
      out("[" + clock(m.create_time()) + "] " + userName(m.from_user_id()) + " → you: " + body);
    }
  }

  void command(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    std::string rest;
    std::vector<std::string> w = splitWords(line, 3, &rest);
    const std::string& cmd = w[0];
    if (cmd == "/quit" || cmd == "/exit") {
      shutdown(0);
    } else if (cmd == "/help") {
      out(kHelp);
    } else if (cmd == "/send" || cmd == "/group") {
      if (w.size() < 2 || rest.empty()) {
        err("usage: " + cmd + (cmd == "/send" ? " <user|id> <text>" : " <group id> <text>"));
        return;
      }
      send(cmd == "/group", w[1], rest);
    } else if (cmd == "/sendfile") {
      if (w.size() < 2 || rest.empty()) {
        err("usage: /sendfile <user|id> <path>");
        return;
      }
      sendFile(w[1], rest);
    } else if (cmd == "/files") {
      listFiles();
    } else if (cmd == "/getfile") {
      if (w.size() < 2) {
        err("usage: /getfile <task> [path]");
        return;
      }
      getFile(w[1], rest);
    } else if (cmd == "/groups") {
      listGroups();
    } else if (cmd == "/history") {
      std::vector<std::string> a = splitWords(line, 0, nullptr);
      uint32_t n = 10;
      if (a.size() < 2 || (a.size() > 2 && !toNumber(a[2]))) {
        err("usage: /history <user|g:gid> [n]");
        return;
      }
      if (a.size() > 2) n = *toNumber(a[2]);
      history(a[1], n);
    } else if (cmd == "/unread") {
      unread();
    } else if (cmd == "/read") {
      if (w.size() < 2) {
        err("usage: /read <user|g:gid>");
        return;
      }
      markRead(w[1]);
    } else if (cmd == "/users") {
      listUsers();
    } else if (cmd == "/online") {
      std::vector<std::string> a = splitWords(line, 0, nullptr);
      online(std::vector<std::string>(a.begin() + 1, a.end()));
    } else {
      err("unknown command " + cmd + " (try /help)");
    }
  }

  void send(bool group, const std::string& target, const std::string& text) {
    std::optional<uint32_t> to = group ? toNumber(target) : userId(target);
    if (!to) {
      err(group ? "not a group id: " + target : "unknown user " + target);
      return;
    }
    begin();
    auto onAck = [this, group, to = *to](RequestError e, uint32_t msgId) {
      if (e == RequestError::kOk) {
        out(group ? "sent to " + groupName(to) + ", msg_id " + std::to_string(msgId)
                  : "sent, msg_id " + std::to_string(msgId));
      } else {
        err(std::string("send failed: ") + toString(e));
      }
      end();
    };
    if (group) {
      session_.sendGroupText(*to, text, onAck);
    } else {
      session_.sendText(*to, text, onAck);
    }
  }

  void listUsers() {
    std::map<uint32_t, std::string> sorted(names_.begin(), names_.end());
    for (const auto& [id, name] : sorted) out("  " + std::to_string(id) + "  " + name);
  }

  void listGroups() {
    begin();
    session_.groupList([this](RequestError e, const IM::Group::IMNormalGroupListRsp* list) {
      if (list == nullptr) {
        err(std::string("groups failed: ") + toString(e));
        end();
        return;
      }
      std::vector<uint32_t> gids;
      for (const auto& g : list->group_version_list()) gids.push_back(g.group_id());
      if (gids.empty()) {
        out("no groups");
        end();
        return;
      }
      session_.groupInfo(gids, [this](RequestError e2, const IM::Group::IMGroupInfoListRsp* info) {
        if (info == nullptr) {
          err(std::string("group info failed: ") + toString(e2));
        } else {
          for (const auto& g : info->group_info_list()) {
            groups_[g.group_id()] = g.group_name();
            out("  " + std::to_string(g.group_id()) + "  " + g.group_name() + " (" +
                std::to_string(g.group_member_list_size()) + " members)");
          }
        }
        end();
      });
    });
  }

  void history(const std::string& who, uint32_t n) {
    uint32_t id = 0;
    bd::SessionType type{};
    if (!parseSession(who, &id, &type)) {
      err("unknown conversation " + who);
      return;
    }
    begin();
    session_.history(id, type, 0, n, [this](RequestError e, const IM::Message::IMGetMsgListRsp* rsp) {
      if (rsp == nullptr) {
        err(std::string("history failed: ") + toString(e));
      } else if (rsp->msg_list_size() == 0) {
        out("no messages");
      } else {
        // The server sends newest first; print like a chat, oldest first.
        for (int i = rsp->msg_list_size() - 1; i >= 0; --i) {
          const auto& m = rsp->msg_list(i);
          out("[" + clock(m.create_time()) + "] #" + std::to_string(m.msg_id()) + " " +
              userName(m.from_session_id()) + ": " + describe(m.msg_type(), m.msg_data()));
        }
      }
      end();
    });
  }

  void unread() {
    begin();
    session_.unread([this](RequestError e, const IM::Message::IMUnreadMsgCntRsp* rsp) {
      if (rsp == nullptr) {
        err(std::string("unread failed: ") + toString(e));
      } else {
        out(std::to_string(rsp->total_cnt()) + " unread");
        for (const auto& u : rsp->unreadinfo_list()) {
          const bool group = u.session_type() == bd::SESSION_TYPE_GROUP;
          out("  " + (group ? groupName(u.session_id()) + " (g:" + std::to_string(u.session_id()) + ")"
                            : userName(u.session_id())) +
              ": " + std::to_string(u.unread_cnt()) + ", latest #" + std::to_string(u.latest_msg_id()) + " " +
              userName(u.latest_msg_from_user_id()) + ": " + describe(u.latest_msg_type(), u.latest_msg_data()));
        }
      }
      end();
    });
  }

  void markRead(const std::string& who) {
    uint32_t id = 0;
    bd::SessionType type{};
    if (!parseSession(who, &id, &type)) {
      err("unknown conversation " + who);
      return;
    }
    IM::Message::IMGetLatestMsgIdReq req;
    req.set_user_id(session_.userId());
    req.set_session_type(type);
    req.set_session_id(id);
    begin();
    session_.requestTyped<IM::Message::IMGetLatestMsgIdRsp>(
        bd::SID_MSG, bd::CID_MSG_GET_LATEST_MSG_ID_REQ, req,
        [this, id, type, who](RequestError e, const IM::Message::IMGetLatestMsgIdRsp* rsp) {
          if (rsp == nullptr) {
            err(std::string("read failed: ") + toString(e));
          } else if (session_.readAck(id, type, rsp->latest_msg_id())) {
            out("marked " + who + " read up to #" + std::to_string(rsp->latest_msg_id()));
          } else {
            err("read failed: not online");
          }
          end();
        });
  }

  void online(const std::vector<std::string>& who) {
    std::vector<uint32_t> ids;
    for (const auto& w : who) {
      if (auto id = userId(w)) {
        ids.push_back(*id);
      } else {
        err("unknown user " + w);
      }
    }
    if (ids.empty()) {
      err("usage: /online <user>...");
      return;
    }
    begin();
    session_.usersStatus(ids, [this](RequestError e, const IM::Buddy::IMUsersStatRsp* rsp) {
      if (rsp == nullptr) {
        err(std::string("online failed: ") + toString(e));
      } else {
        for (const auto& s : rsp->user_stat_list()) {
          out("  " + userName(s.user_id()) + " " +
              (s.status() == bd::USER_STATUS_ONLINE ? "online" : s.status() == bd::USER_STATUS_LEAVE ? "away" : "offline"));
        }
      }
      end();
    });
  }

  // ---- files (tools/client/FileTransfer does the file_server part) ----
  struct Offer {
    uint32_t from = 0;
    std::string name;
    uint32_t size = 0;
    std::string host;
    uint16_t port = 0;
    bool online = false;
  };

  void onFileOffer(const IM::File::IMFileNotify& n) {
    if (n.ip_addr_list_size() == 0) return;
    const bool online = n.trans_mode() == bd::FILE_TYPE_ONLINE;
    if (!online && n.offline_ready() == 0) {
      out("* " + userName(n.from_user_id()) + " is uploading " + n.file_name() + " for you");
      return;
    }
    Offer o{n.from_user_id(), n.file_name(), n.file_size(), n.ip_addr_list(0).ip(),
            static_cast<uint16_t>(n.ip_addr_list(0).port()), online};
    offers_[n.task_id()] = o;
    out("* " + userName(o.from) + " offers " + o.name + " (" + std::to_string(o.size) + " bytes, " +
        (online ? "online" : "stored") + "): /getfile " + n.task_id().substr(0, 8));
  }

  void startTransfer(tt::client::FileTransferSpec spec, std::function<void(bool ok)> after) {
    const std::string task = spec.taskId;
    const std::string what = spec.path;
    begin();
    auto t = tt::client::FileTransfer::create(
        loop_, std::move(spec), [this, task, what, after](const tt::client::FileTransfer::Result& r) {
          if (r.ok) {
            out("* file " + what + ": done, " + std::to_string(r.bytes) + " bytes");
          } else {
            err("file " + what + ": " + r.error);
          }
          if (after) after(r.ok);
          transfers_.erase(task);
          end();
        });
    std::string why;
    if (!t->start(&why)) {
      err("file: " + why);
      end();
      return;
    }
    transfers_[task] = t;
  }

  void sendFile(const std::string& who, const std::string& path) {
    auto to = userId(who);
    if (!to) {
      err("unknown user " + who);
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 0xffffffffLL) {
      err("sendfile: " + path + ": not a readable, non-empty file under 4 GiB");
      return;
    }
    const size_t slash = path.find_last_of('/');
    IM::File::IMFileReq req;
    req.set_from_user_id(session_.userId());
    req.set_to_user_id(*to);
    req.set_file_name(slash == std::string::npos ? path : path.substr(slash + 1));
    req.set_file_size(static_cast<uint32_t>(st.st_size));
    req.set_trans_mode(bd::FILE_TYPE_ONLINE);  // msg_server makes it offline when they are away
    begin();
    session_.requestTyped<IM::File::IMFileRsp>(
        bd::SID_FILE, bd::CID_FILE_REQUEST, req,
        [this, req, path](RequestError e, const IM::File::IMFileRsp* rsp) {
          if (rsp == nullptr || rsp->result_code() != 0 || rsp->ip_addr_list_size() == 0) {
            err("sendfile refused" + (rsp == nullptr ? std::string(": ") + toString(e) : std::string()));
            end();
            return;
          }
          const bool online = rsp->trans_mode() == bd::FILE_TYPE_ONLINE;
          out("* offering " + req.file_name() + " to " + userName(req.to_user_id()) + " (" +
              (online ? "online, waiting for them" : "offline, uploading") + ")");
          tt::client::FileTransferSpec spec;
          spec.host = rsp->ip_addr_list(0).ip();
          spec.port = static_cast<uint16_t>(rsp->ip_addr_list(0).port());
          spec.userId = session_.userId();
          spec.taskId = rsp->task_id();
          spec.role = online ? bd::CLIENT_REALTIME_SENDER : bd::CLIENT_OFFLINE_UPLOAD;
          spec.path = path;
          spec.fileSize = req.file_size();
          const std::string task = rsp->task_id();
          startTransfer(spec, [this, req, task, online](bool ok) {
            if (!ok || online) return;
            // Stored: register it for the receiver (msg_server tells them).
            IM::File::IMFileAddOfflineReq add;
            add.set_from_user_id(session_.userId());
            add.set_to_user_id(req.to_user_id());
            add.set_task_id(task);
            add.set_file_name(req.file_name());
            add.set_file_size(req.file_size());
            session_.sendOneWay(bd::SID_FILE, bd::CID_FILE_ADD_OFFLINE_REQ, add);
          });
          end();
        });
  }

  // Asks msg_server for the files stored for me (IMFileHasOfflineReq) and adds them to offers_.
  void refreshOffers(std::function<void(bool ok)> done) {
    IM::File::IMFileHasOfflineReq req;
    req.set_user_id(session_.userId());
    session_.requestTyped<IM::File::IMFileHasOfflineRsp>(
        bd::SID_FILE, bd::CID_FILE_HAS_OFFLINE_REQ, req,
        [this, done](RequestError e, const IM::File::IMFileHasOfflineRsp* rsp) {
          if (rsp == nullptr) {
            err(std::string("files failed: ") + toString(e));
          } else if (rsp->ip_addr_list_size() > 0) {
            for (const auto& f : rsp->offline_file_list()) {
              offers_[f.task_id()] = Offer{f.from_user_id(), f.file_name(), f.file_size(), rsp->ip_addr_list(0).ip(),
                                           static_cast<uint16_t>(rsp->ip_addr_list(0).port()), false};
            }
          }
          done(rsp != nullptr);
        });
  }

  void listFiles() {
    begin();
    refreshOffers([this](bool) {
      if (offers_.empty()) out("  no files for you");
      for (const auto& [task, o] : offers_) {
        out("  " + task.substr(0, 8) + "  " + o.name + " (" + std::to_string(o.size) + " bytes) from " +
            userName(o.from) + (o.online ? ", online" : ", stored"));
      }
      end();
    });
  }

  // A task not offered in this session yet may be stored for me: ask once, then try again.
  void getFile(const std::string& prefix, const std::string& pathArg, bool refreshed = false) {
    auto it = offers_.end();
    for (auto i = offers_.begin(); i != offers_.end(); ++i) {
      if (i->first.rfind(prefix, 0) != 0) continue;
      if (it != offers_.end()) {
        err("getfile: " + prefix + " matches several files");
        return;
      }
      it = i;
    }
    if (it == offers_.end()) {
      if (refreshed) {
        err("getfile: no offered file " + prefix + " (see /files)");
        return;
      }
      begin();
      refreshOffers([this, prefix, pathArg](bool) {
        getFile(prefix, pathArg, true);
        end();
      });
      return;
    }
    const Offer o = it->second;
    const std::string task = it->first;
    // The sender's name is only a hint: no directories, nothing hidden.
    std::string path = pathArg;
    if (path.empty()) {
      const size_t slash = o.name.find_last_of("/\\");
      path = slash == std::string::npos ? o.name : o.name.substr(slash + 1);
      if (path.empty() || path[0] == '.') path = "download-" + task.substr(0, 8);
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      err("getfile: " + path + " exists; name another path");
      return;
    }
    offers_.erase(it);
    tt::client::FileTransferSpec spec;
    spec.host = o.host;
    spec.port = o.port;
    spec.userId = session_.userId();
    spec.taskId = task;
    spec.role = o.online ? bd::CLIENT_REALTIME_RECVER : bd::CLIENT_OFFLINE_DOWNLOAD;
    spec.path = path;
    spec.fileSize = o.size;
    const uint32_t from = o.from;
    const bool online = o.online;
    out("* fetching " + o.name + " into " + path);
    startTransfer(spec, [this, task, from, online](bool ok) {
      if (!ok || online) return;
      IM::File::IMFileDelOfflineReq del;  // downloaded: the record goes
      del.set_from_user_id(from);
      del.set_to_user_id(session_.userId());
      del.set_task_id(task);
      session_.sendOneWay(bd::SID_FILE, bd::CID_FILE_DEL_OFFLINE_REQ, del);
    });
  }

  tt::net::EventDispatch* loop_;
  ClientSession session_;
  std::unique_ptr<tt::net::BaseSocket> stdinSocket_;
  std::string input_;
  bool everOnline_ = false;
  bool stdinDone_ = false;
  bool shuttingDown_ = false;
  bool checkOnly_ = false;
  int exitStatus_ = 0;
  int outstanding_ = 0;
  std::unordered_map<uint32_t, std::string> names_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::unordered_map<uint32_t, std::string> groups_;
  std::map<std::string, Offer> offers_;  // task id -> what was offered to me
  std::unordered_map<std::string, std::shared_ptr<tt::client::FileTransfer>> transfers_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = parseArgs(argc, argv);
  spdlog::set_level(args.verbose ? spdlog::level::debug : spdlog::level::warn);

  tt::client::SessionOptions o;
  o.userName = args.user;
  o.password = args.password;
  o.clientType = args.clientType;
  o.clientVersion = "im_cli/0.1";
  if (!args.server.empty()) {
    const size_t colon = args.server.rfind(':');
    auto port = colon == std::string::npos ? std::nullopt : toNumber(std::string_view(args.server).substr(colon + 1));
    if (!port || *port == 0 || *port > 65535) {
      err("im_cli: --server must be HOST:PORT");
      return 2;
    }
    o.serverHost = args.server.substr(0, colon);
    o.serverPort = static_cast<uint16_t>(*port);
  } else {
    std::string why;
    auto url = tt::client::parseLoginUrl(args.login, &why);
    if (!url) {
      err("im_cli: --login: " + why);
      return 2;
    }
    o.loginHost = url->host;
    o.loginPort = url->port;
    o.loginPath = url->path;
  }

  tt::net::EventDispatch loop;
  Cli cli(&loop, std::move(o));
  cli.setCheckOnly(args.check);
  tt::net::SignalWatcher signals(&loop, [&cli](int) { cli.shutdown(0); });
  cli.start();
  loop.loop();
  return cli.exitStatus();
}
