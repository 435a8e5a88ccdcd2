// im_admin: the operator's command line for what TeamTalk did in its PHP web console (users,
// departments, groups), straight against MariaDB and Redis as configured in a dbproxyserver.conf.
//
// It writes the same rows, in the same shapes, as db_proxy_server's handlers (handlers/group.cc),
// so a running db_proxy and its clients see the changes at once:
//   - every write sets `updated` = now, because clients sync users, departments and sessions
//     incrementally by `updated`;
//   - passwords are stored as hashCredential(md5Hex(password)), the form the login check verifies;
//   - group member changes bump IMGroup.version (clients cache member lists by it), keep userCnt,
//     and set the members' read positions in the "unread" Redis instance.
// Every statement is prepared (values are bound, never pasted into SQL text).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/Config.h"
#include "base/Time.h"
#include "db_proxy_server/auth/PasswordHash.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "proto/ContentCodec.h"
#include "proto/RedisKeys.h"

namespace {

constexpr const char* kDefaultConf = "conf/dbproxyserver.conf";
constexpr uint32_t kUserActive = 0;
constexpr uint32_t kUserDeparted = 3;  // clients hide departed users; the row stays
constexpr uint32_t kGroupNormal = 1;
constexpr uint32_t kGroupTmp = 2;
constexpr unsigned kErDupEntry = 1062;
constexpr unsigned kErDeadlock = 1213;

// Column limits from db_proxy_server/sql/001_schema.sql (characters, except where noted).
constexpr size_t kMaxUserName = 32;
constexpr size_t kMaxNick = 32;
constexpr size_t kMaxEmail = 64;
constexpr size_t kMaxPhone = 11;
constexpr size_t kMaxDepartName = 64;
constexpr size_t kMaxGroupNameBytes = 256;  // db_proxy checks group names in bytes

const char* const kUsage = R"(usage: im_admin [-c dbproxyserver.conf] <command> ...

  user add <name> --password <pw> [--nick N] [--depart ID] [--sex 0|1|2] [--email E] [--phone P]
  user remove <user>                 mark departed (status 3): clients hide the user, login fails
  user passwd <user> --password <pw>
  user list [--all]                  active users; --all includes departed ones
  dept add <name> [--parent ID] [--priority N]
  group create <name> --creator <user> --members <user>,<user>,... [--type normal|tmp]
  group add <gid> <user>...          add (or re-activate) members
  group remove <gid> <user>...       remove members (their group session is marked deleted)
  group list [--all]                 active groups; --all includes deleted ones

A <user> is a login name or a numeric user id (an exact name match wins over an id).
--password - reads the password from the first line of standard input.
The group creator is always made a member. Names are stored byte for byte.
Options: -c/--config <file> (default conf/dbproxyserver.conf), -h/--help.
Exit status: 0 on success, 1 on any error (the reason is printed on stderr).
)";

// An error the operator caused or can fix; printed as one line, exit status 1.
class AdminError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- text helpers ---------------------------------------------------------------------------

// Code points in valid UTF-8, or nullopt for invalid UTF-8.
std::optional<size_t> utf8Length(const std::string& s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return std::nullopt;
    }
    i += len;
    ++count;
  }
  return count;
}

// Terminal columns (roughly): wide for CJK and emoji, so tables stay aligned for common names.
size_t displayWidth(const std::string& s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                      (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

// A text value for a column: valid UTF-8, no control characters, at most maxChars characters.
void checkText(const std::string& what, const std::string& value, size_t maxChars, bool allowEmpty) {
  if (value.empty() && !allowEmpty) throw AdminError(what + " must not be empty");
  const auto len = utf8Length(value);
  if (!len) throw AdminError(what + " is not valid UTF-8");
  if (*len > maxChars) {
    throw AdminError(what + " is too long (" + std::to_string(*len) + " characters, at most " +
                     std::to_string(maxChars) + ")");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7F) throw AdminError(what + " contains a control character");
  }
}

std::optional<uint32_t> parseId(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const unsigned long long v = std::stoull(s);
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

uint32_t requireNumber(const std::string& what, const std::string& s) {
  auto v = parseId(s);
  if (!v) throw AdminError(what + " must be a non-negative number, not '" + s + "'");
  return *v;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string formatTime(uint32_t t) {
  if (t == 0) return "-";
  std::time_t tt = t;
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

void printTable(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& h : headers) widths.push_back(displayWidth(h));
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], displayWidth(row[i]));
  }
  auto printRow = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - displayWidth(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  };
  printRow(headers);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  printRow(rule);
  for (const auto& row : rows) printRow(row);
}

// ---- command line -----------------------------------------------------------------------------

struct Args {
  std::string confPath = kDefaultConf;
  bool help = false;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--password" -> value; flags map to ""
};

const std::set<std::string> kValueOptions{"--password", "--nick",     "--depart",  "--sex",
                                          "--email",    "--phone",    "--parent",  "--priority",
                                          "--creator",  "--members",  "--type"};
const std::set<std::string> kFlagOptions{"--all"};

Args parseArgs(int argc, char** argv) {
  Args args;
  bool onlyPositional = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (onlyPositional || a.size() < 2 || a[0] != '-') {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      onlyPositional = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      args.help = true;
      continue;
    }
    std::optional<std::string> inlineValue;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inlineValue = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto takeValue = [&]() -> std::string {
      if (inlineValue) return *inlineValue;
      if (i + 1 >= argc) throw AdminError("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "-c" || a == "--config") {
      args.confPath = takeValue();
    } else if (kValueOptions.count(a)) {
      if (args.options.count(a)) throw AdminError("option " + a + " given twice");
      args.options[a] = takeValue();
    } else if (kFlagOptions.count(a) && !inlineValue) {
      args.options[a] = "";
    } else {
      throw AdminError("unknown option " + a + " (see im_admin --help)");
    }
  }
  return args;
}

// What one subcommand accepts, checked before anything touches storage.
void expectShape(const Args& args, const std::string& command, size_t minPositional, size_t maxPositional,
                 const std::set<std::string>& allowed, const std::set<std::string>& required = {}) {
  const size_t n = args.positional.size() - 2;  // after "<area> <verb>"
  if (n < minPositional || n > maxPositional) throw AdminError("wrong arguments for '" + command + "' (see im_admin --help)");
  for (const auto& [opt, value] : args.options) {
    if (!allowed.count(opt)) throw AdminError("option " + opt + " does not apply to '" + command + "'");
  }
  for (const auto& opt : required) {
    if (!args.options.count(opt)) throw AdminError("'" + command + "' needs " + opt);
  }
}

std::optional<std::string> option(const Args& args, const std::string& name) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return std::nullopt;
  return it->second;
}

// "--password -" reads one line from stdin, so the password need not appear in `ps` or history.
std::string passwordFrom(const Args& args) {
  std::string pw = *option(args, "--password");
  if (pw == "-") {
    if (!std::getline(std::cin, pw)) throw AdminError("no password on standard input");
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  }
  if (pw.empty()) throw AdminError("the password must not be empty");
  return pw;
}

std::string storedCredential(const std::string& password) {
  std::string stored = tt::auth::hashCredential(tt::codec::md5Hex(password));
  if (stored.empty()) throw AdminError("password hashing failed (OpenSSL)");
  return stored;
}

// ---- users ------------------------------------------------------------------------------------

struct User {
  uint32_t id = 0;
  std::string name;
  uint32_t status = 0;
  std::string label() const { return quoted(name) + " (id " + std::to_string(id) + ")"; }
};

// By exact name first (byte for byte), then by numeric id.
std::optional<User> findUser(tt::db::MysqlConn& conn, const std::string& ref) {
  if (auto row = conn.queryOne("SELECT id, name, status FROM IMUser WHERE name = ?", {ref});
      row && row->str(1) == ref) {
    return User{row->u32(0), row->str(1), row->u32(2)};
  }
  if (auto id = parseId(ref)) {
    if (auto row = conn.queryOne("SELECT id, name, status FROM IMUser WHERE id = ?", {*id})) {
      return User{row->u32(0), row->str(1), row->u32(2)};
    }
  }
  return std::nullopt;
}

User requireUser(tt::db::MysqlConn& conn, const std::string& ref) {
  auto user = findUser(conn, ref);
  if (!user) throw AdminError("unknown user " + quoted(ref));
  return *user;
}

User requireActiveUser(tt::db::MysqlConn& conn, const std::string& ref) {
  User user = requireUser(conn, ref);
  if (user.status != kUserActive) throw AdminError("user " + user.label() + " is not active (status " + std::to_string(user.status) + ")");
  return user;
}

int userAdd(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "user add", 1, 1, {"--password", "--nick", "--depart", "--sex", "--email", "--phone"},
              {"--password"});
  const std::string name = args.positional[2];
  checkText("user name", name, kMaxUserName, false);
  const std::string nick = option(args, "--nick").value_or(name);
  checkText("nick", nick, kMaxNick, false);
  const std::string email = option(args, "--email").value_or("");
  checkText("email", email, kMaxEmail, true);
  const std::string phone = option(args, "--phone").value_or("");
  checkText("phone", phone, kMaxPhone, true);
  const uint32_t sex = requireNumber("--sex", option(args, "--sex").value_or("0"));
  if (sex > 2) throw AdminError("--sex must be 0 (unknown), 1 (male) or 2 (female)");
  const uint32_t depart = requireNumber("--depart", option(args, "--depart").value_or("0"));
  const std::string stored = storedCredential(passwordFrom(args));

  auto db = storage.master().acquire();
  if (auto existing = db->queryOne("SELECT id, name FROM IMUser WHERE name = ?", {name});
      existing && existing->str(1) == name) {
    throw AdminError("duplicate name: user " + quoted(name) + " already exists (id " + existing->str(0) + ")");
  }
  if (depart != 0 && !db->queryOne("SELECT 1 FROM IMDepart WHERE id = ? AND status = 0", {depart})) {
    throw AdminError("unknown department " + std::to_string(depart));
  }
  const uint32_t now = tt::unixSeconds();
  tt::db::DbExecResult res;
  try {
    // domain (the name's pinyin in TeamTalk) is the name itself, as in the demo data.
    res = db->exec(
        "INSERT INTO IMUser (sex, name, domain, nick, password, phone, email, departId, status, created, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        {sex, name, name, nick, stored, phone, email, depart, now, now});
  } catch (const tt::db::DbError& e) {
    if (e.code() == kErDupEntry) throw AdminError("duplicate name: user " + quoted(name) + " already exists");
    throw;
  }
  std::cout << "added user " << quoted(name) << " id " << res.insertId << "\n";
  return 0;
}

int userRemove(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "user remove", 1, 1, {});
  auto db = storage.master().acquire();
  const User user = requireUser(*db, args.positional[2]);
  if (user.status == kUserDeparted) {
    std::cout << "user " << user.label() << " was already removed\n";
    return 0;
  }
  db->exec("UPDATE IMUser SET status = ?, updated = ? WHERE id = ?", {kUserDeparted, tt::unixSeconds(), user.id});
  std::cout << "removed user " << user.label() << " (status 3: hidden from clients, login refused)\n";
  return 0;
}

int userPasswd(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "user passwd", 1, 1, {"--password"}, {"--password"});
  const std::string stored = storedCredential(passwordFrom(args));
  auto db = storage.master().acquire();
  const User user = requireUser(*db, args.positional[2]);
  db->exec("UPDATE IMUser SET password = ?, updated = ? WHERE id = ?", {stored, tt::unixSeconds(), user.id});
  std::cout << "password of user " << user.label() << " changed\n";
  return 0;
}

int userList(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "user list", 0, 0, {"--all"});
  const bool all = args.options.count("--all") > 0;
  auto db = storage.slave().acquire();
  const auto rows = db->query(
      "SELECT id, name, nick, departId, sex, status, email, phone, updated FROM IMUser "
      "WHERE status = 0 OR ? ORDER BY id",
      {all});
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({r.str(0), r.str(1), r.str(2), r.str(3), r.str(4),
                     r.u32(5) == kUserActive ? "active" : r.u32(5) == kUserDeparted ? "departed" : r.str(5), r.str(6),
                     r.str(7), formatTime(r.u32(8))});
  }
  printTable({"id", "name", "nick", "depart", "sex", "status", "email", "phone", "updated"}, table);
  std::cout << table.size() << (all ? " users\n" : " active users\n");
  return 0;
}

// ---- departments ------------------------------------------------------------------------------

int deptAdd(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "dept add", 1, 1, {"--parent", "--priority"});
  const std::string name = args.positional[2];
  checkText("department name", name, kMaxDepartName, false);
  const uint32_t parent = requireNumber("--parent", option(args, "--parent").value_or("0"));
  const uint32_t priority = requireNumber("--priority", option(args, "--priority").value_or("0"));
  auto db = storage.master().acquire();
  if (parent != 0 && !db->queryOne("SELECT 1 FROM IMDepart WHERE id = ? AND status = 0", {parent})) {
    throw AdminError("unknown parent department " + std::to_string(parent));
  }
  for (const auto& r : db->query("SELECT id, departName FROM IMDepart WHERE departName = ? AND parentId = ? AND status = 0",
                                 {name, parent})) {
    if (r.str(1) == name) {
      throw AdminError("duplicate name: department " + quoted(name) + " already exists (id " + r.str(0) + ")");
    }
  }
  const uint32_t now = tt::unixSeconds();
  const auto res = db->exec(
      "INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES (?, ?, ?, 0, ?, ?)",
      {name, priority, parent, now, now});
  std::cout << "added department " << quoted(name) << " id " << res.insertId << " (parent " << parent << ")\n";
  return 0;
}

// ---- groups -----------------------------------------------------------------------------------

std::string describe(const std::vector<User>& users) {
  std::string out;
  for (const auto& u : users) out += (out.empty() ? "" : ", ") + u.label();
  return out.empty() ? "-" : out;
}

// Read positions live in Redis only; MySQL has already committed when this runs, so a Redis
// failure is reported (the members then see the group's older messages as unread) but does not
// fail the command.
void updateReadPositions(tt::db::Storage& storage, uint32_t gid, const std::vector<User>& users,
                         std::optional<uint32_t> position) {
  if (users.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& u : users) {
    if (position) {
      cmds.push_back({"HSET", tt::rediskey::groupReadKey(u.id, gid), tt::rediskey::kGroupReadField,
                      std::to_string(*position)});
    } else {
      cmds.push_back({"DEL", tt::rediskey::groupReadKey(u.id, gid)});
    }
  }
  try {
    auto redis = storage.cache(tt::rediskey::kUnreadInstance).acquire();
    for (const auto& reply : redis->pipeline(cmds)) {
      if (reply.isError()) throw tt::db::RedisError(reply.str);
    }
  } catch (const std::exception& e) {
    std::cerr << "im_admin: warning: group " << gid << ": read positions not updated in Redis: " << e.what() << "\n";
  }
}

std::vector<User> resolveUsers(tt::db::MysqlConn& conn, const std::vector<std::string>& refs, bool activeOnly) {
  std::vector<User> out;
  std::set<uint32_t> seen;
  for (const auto& ref : refs) {
    User u = activeOnly ? requireActiveUser(conn, ref) : requireUser(conn, ref);
    if (seen.insert(u.id).second) out.push_back(u);
  }
  return out;
}

std::vector<std::string> splitMembers(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Inserts or re-activates one membership with join time `now` (IMGroupMember.created = join time).
void upsertMember(tt::db::MysqlConn& conn, uint32_t gid, uint32_t uid, uint32_t now) {
  conn.exec("INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (?, ?, 0, ?, ?) "
            "ON DUPLICATE KEY UPDATE status = 0, created = VALUES(created), updated = VALUES(updated)",
            {gid, uid, now, now});
}

int groupCreate(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "group create", 1, 1, {"--creator", "--members", "--type"}, {"--creator", "--members"});
  const std::string name = args.positional[2];
  checkText("group name", name, kMaxGroupNameBytes, false);
  if (name.size() > kMaxGroupNameBytes) throw AdminError("group name is too long (at most 256 bytes)");
  const std::string typeName = option(args, "--type").value_or("normal");
  if (typeName != "normal" && typeName != "tmp") throw AdminError("--type must be normal or tmp");
  const uint32_t type = typeName == "normal" ? kGroupNormal : kGroupTmp;
  const auto refs = splitMembers(*option(args, "--members"));
  if (refs.empty()) throw AdminError("--members names no user");

  auto db = storage.master().acquire();
  const User creator = requireActiveUser(*db, *option(args, "--creator"));
  std::vector<User> members{creator};
  for (const User& u : resolveUsers(*db, refs, true)) {
    if (u.id != creator.id) members.push_back(u);
  }

  const uint32_t now = tt::unixSeconds();
  tt::db::Transaction tx(*db);
  const auto res = db->exec(
      "INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, msgSeq, lastChated, created, "
      "updated) VALUES (?, '', ?, ?, ?, 0, 1, 0, 0, ?, ?)",
      {name, creator.id, type, static_cast<uint64_t>(members.size()), now, now});
  const auto gid = static_cast<uint32_t>(res.insertId);
  for (const User& u : members) upsertMember(*db, gid, u.id, now);
  tx.commit();
  db.release();

  // A new group has no messages: every member starts fully read.
  updateReadPositions(storage, gid, members, 0u);
  std::cout << "created " << typeName << " group " << quoted(name) << " id " << gid << " by " << creator.label()
            << " with " << members.size() << " members: " << describe(members) << "\n";
  return 0;
}

struct ChangeResult {
  std::vector<User> changed;    // added / removed
  std::vector<User> unchanged;  // already members / not members
  size_t memberCount = 0;
  uint32_t version = 0;
  uint32_t msgSeq = 0;
};

ChangeResult changeMembersOnce(tt::db::MysqlConn& conn, uint32_t gid, const std::vector<User>& users, bool add) {
  ChangeResult out;
  const uint32_t now = tt::unixSeconds();
  tt::db::Transaction tx(conn);
  // FOR UPDATE serialises member changes with db_proxy's (version and userCnt stay consistent)
  // and holds off message stores, so msgSeq read here is the newest.
  auto group = conn.queryOne("SELECT version, msgSeq FROM IMGroup WHERE id = ? AND status = 0 FOR UPDATE", {gid});
  if (!group) throw AdminError("unknown group " + std::to_string(gid));
  out.version = group->u32(0);
  out.msgSeq = group->u32(1);
  std::set<uint32_t> active;
  for (const auto& r : conn.query("SELECT userId FROM IMGroupMember WHERE groupId = ? AND status = 0", {gid})) {
    active.insert(r.u32(0));
  }
  for (const User& u : users) {
    (add != (active.count(u.id) > 0) ? out.changed : out.unchanged).push_back(u);
  }
  for (const User& u : out.changed) {
    if (add) {
      upsertMember(conn, gid, u.id, now);
      active.insert(u.id);
    } else {
      conn.exec("UPDATE IMGroupMember SET status = 1, updated = ? WHERE groupId = ? AND userId = ? AND status = 0",
                {now, gid, u.id});
      // The group leaves the member's recent sessions (GroupSync revives active members' only).
      conn.exec("UPDATE IMRecentSession SET status = 1, updated = ? WHERE userId = ? AND peerId = ? AND type = 2",
                {now, u.id, gid});
      active.erase(u.id);
    }
  }
  if (!out.changed.empty()) {
    conn.exec("UPDATE IMGroup SET version = version + 1, userCnt = ?, updated = ? WHERE id = ?",
              {static_cast<uint64_t>(active.size()), now, gid});
    ++out.version;
  }
  tx.commit();
  out.memberCount = active.size();
  return out;
}

int groupChange(tt::db::Storage& storage, const Args& args, bool add) {
  const std::string command = add ? "group add" : "group remove";
  expectShape(args, command, 2, SIZE_MAX, {});
  const uint32_t gid = requireNumber("group id", args.positional[2]);
  const std::vector<std::string> refs(args.positional.begin() + 3, args.positional.end());

  auto db = storage.master().acquire();
  // New members must be able to log in; anyone may be removed (a departed user included).
  const std::vector<User> users = resolveUsers(*db, refs, add);
  ChangeResult result;
  // InnoDB may pick this transaction as a deadlock victim (db_proxy's GroupSync and message
  // writers touch the same rows); nothing happened outside MySQL yet, so it is simply run again.
  for (int attempt = 1;; ++attempt) {
    try {
      result = changeMembersOnce(*db, gid, users, add);
      break;
    } catch (const tt::db::DbError& e) {
      if (e.code() != kErDeadlock || attempt == 3) throw;
    }
  }
  db.release();

  // New members start with nothing unread; removed members' positions mean nothing any more.
  updateReadPositions(storage, gid, result.changed, add ? std::optional<uint32_t>(result.msgSeq) : std::nullopt);
  std::cout << "group " << gid << ": " << (add ? "added " : "removed ") << describe(result.changed);
  if (!result.unchanged.empty()) {
    std::cout << "; " << (add ? "already members: " : "not members: ") << describe(result.unchanged);
  }
  std::cout << "; now " << result.memberCount << " members, version " << result.version << "\n";
  return 0;
}

int groupList(tt::db::Storage& storage, const Args& args) {
  expectShape(args, "group list", 0, 0, {"--all"});
  const bool all = args.options.count("--all") > 0;
  auto db = storage.slave().acquire();
  const auto rows = db->query(
      "SELECT g.id, g.name, g.type, g.creator, COALESCE(u.name, ''), g.userCnt, g.version, g.msgSeq, g.status, "
      "g.updated FROM IMGroup g LEFT JOIN IMUser u ON u.id = g.creator WHERE g.status = 0 OR ? ORDER BY g.id",
      {all});
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    const uint32_t type = r.u32(2);
    table.push_back({r.str(0), r.str(1), type == kGroupNormal ? "normal" : type == kGroupTmp ? "tmp" : r.str(2),
                     r.str(4).empty() ? r.str(3) : r.str(4) + " (" + r.str(3) + ")", r.str(5), r.str(6), r.str(7),
                     r.u32(8) == 0 ? "active" : "deleted", formatTime(r.u32(9))});
  }
  printTable({"id", "name", "type", "creator", "members", "version", "msgs", "status", "updated"}, table);
  std::cout << table.size() << (all ? " groups\n" : " active groups\n");
  return 0;
}

int run(const Args& args) {
  if (args.positional.size() < 2) throw AdminError("missing command (see im_admin --help)");
  const std::string area = args.positional[0], verb = args.positional[1];

  using Handler = int (*)(tt::db::Storage&, const Args&);
  static const std::map<std::string, Handler> kCommands{
      {"user add", userAdd},
      {"user remove", userRemove},
      {"user passwd", userPasswd},
      {"user list", userList},
      {"dept add", deptAdd},
      {"group create", groupCreate},
      {"group add", [](tt::db::Storage& s, const Args& a) { return groupChange(s, a, true); }},
      {"group remove", [](tt::db::Storage& s, const Args& a) { return groupChange(s, a, false); }},
      {"group list", groupList},
  };
  auto it = kCommands.find(area + " " + verb);
  if (it == kCommands.end()) throw AdminError("unknown command '" + area + " " + verb + "' (see im_admin --help)");

  // ConfigError names the file and the key; nothing connects until a command runs.
  tt::db::Storage storage = tt::db::Storage::fromConfig(tt::Config::load(args.confPath));
  return it->second(storage, args);
}

}  // namespace

int main(int argc, char** argv) {
  // hiredis and libmariadb write to sockets: a server that went away must be an error, not SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  // The pools log connection trouble; errors reach the operator as exceptions instead.
  spdlog::set_level(spdlog::level::off);
  try {
    const Args args = parseArgs(argc, argv);
    if (args.help) {
      std::cout << kUsage;
      return 0;
    }
    return run(args);
  } catch (const AdminError& e) {
    std::cerr << "im_admin: " << e.what() << "\n";
  } catch (const tt::ConfigError& e) {
    std::cerr << "im_admin: " << e.what() << "\n";
  } catch (const tt::db::DbError& e) {
    std::cerr << "im_admin: database error: " << e.what() << "\n";
  } catch (const tt::db::RedisError& e) {
    std::cerr << "im_admin: redis error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "im_admin: " << e.what() << "\n";
  }
  return 1;
}
