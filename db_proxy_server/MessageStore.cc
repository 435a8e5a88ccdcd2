#include "db_proxy_server/MessageStore.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "base/Metrics.h"
#include "base/Signals.h"
#include "base/Time.h"
#include "db_proxy_server/DbContext.h"
#include "db_proxy_server/Relations.h"
#include "db_proxy_server/storage/Mysql.h"
#include "db_proxy_server/storage/Redis.h"
#include "db_proxy_server/storage/Storage.h"
#include "netlib/ImPdu.h"
#include "proto/RedisKeys.h"

namespace tt::dbproxy {

namespace {
// The message path's figures (docs/METRICS.md), bumped on writer threads: relaxed atomics only.
struct StoreMetrics {
  metrics::Counter& stored = metrics::Registry::global().counter(
      "ttsuite_dbproxy_messages_stored_total", "Messages committed to MariaDB (then answered with their msg_id).");
  metrics::Counter& failed = metrics::Registry::global().counter(
      "ttsuite_dbproxy_messages_failed_total", "Messages answered with msg_id 0: invalid, or the store failed.");
  metrics::Counter& unreadNotUpdated = metrics::Registry::global().counter(
      "ttsuite_dbproxy_unread_updates_failed_total",
      "Stored messages whose Redis unread counter could not be bumped.");
  metrics::Histogram& batchSize = metrics::Registry::global().histogram(
      "ttsuite_dbproxy_message_batch_size", "Messages stored per transaction (group commit).",
      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
  metrics::Histogram& commitSeconds = metrics::Registry::global().histogram(
      "ttsuite_dbproxy_message_commit_seconds", "One batch's transaction, BEGIN to COMMIT returned.",
      metrics::latencyBuckets());
  static StoreMetrics& get() {
    static StoreMetrics m;
    return m;
  }
};
}  // namespace

namespace {
constexpr int kAcquireTimeoutMs = 2000;
// Rows per multi-row INSERT: large enough to amortise round trips, small enough that the few
// statement texts (1..kRowsPerInsert rows) stay cached per connection.
constexpr size_t kRowsPerInsert = 32;
// Conversations (and, doubled, known sessions) handled by one multi-row UPDATE. Chunks are padded
// to a power of two by repeating the last key (harmless in IN and CASE), so only log2(64)+1
// statement texts per kind are ever prepared.
constexpr size_t kConvsPerStatement = 64;
// Recent-session rows a writer remembers as existing (about 100 bytes each).
constexpr size_t kMaxKnownSessions = 1000000;

bool isGroupType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_GROUP_TEXT || type == IM::BaseDefine::MSG_TYPE_GROUP_AUDIO;
}
bool isSingleType(uint32_t type) {
  return type == IM::BaseDefine::MSG_TYPE_SINGLE_TEXT || type == IM::BaseDefine::MSG_TYPE_SINGLE_AUDIO;
}

size_t paddedSize(size_t n) {
  size_t p = 1;
  while (p < n) p *= 2;
  return p;
}

std::string rowsSql(const std::string& head, const std::string& row, size_t n, const std::string& tail = "") {
  std::string sql = head;
  for (size_t i = 0; i < n; ++i) {
    if (i) sql += ", ";
    sql += row;
  }
  return sql + tail;
}
}  // namespace

uint64_t MessageStore::conversationKey(const IM::Message::IMMsgData& msg) {
  if (isGroupType(msg.msg_type())) return (uint64_t{1} << 63) | msg.to_session_id();
  const uint32_t a = msg.from_user_id(), b = msg.to_session_id();
  const uint32_t lo = std::min(a, b), hi = std::max(a, b);
  return (uint64_t{lo} << 32) | hi;
}

MessageStore::MessageStore(DbContext& ctx, size_t writers, size_t maxBatch, Deliver deliver)
    : ctx_(ctx), maxBatch_(std::max<size_t>(1, maxBatch)), deliver_(std::move(deliver)) {
  TerminationSignalsBlocked blocked;  // writers never take SIGTERM meant for the reactor
  for (size_t i = 0; i < std::max<size_t>(1, writers); ++i) writers_.push_back(std::make_unique<Writer>());
  for (auto& w : writers_) {
    Writer* raw = w.get();
    raw->thread = std::thread([this, raw] { run(*raw); });
  }
}

MessageStore::~MessageStore() { stop(); }

bool MessageStore::submit(Job job) {
  // Mix the key so consecutive conversation ids spread over writers.
  uint64_t k = conversationKey(job.msg);
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  Writer& w = *writers_[k % writers_.size()];
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    if (w.stopping) return false;
    w.queue.push_back(std::move(job));
  }
  w.cv.notify_one();
  return true;
}

void MessageStore::stop() {
  for (auto& w : writers_) {
    {
      std::lock_guard<std::mutex> lock(w->mutex);
      w->stopping = true;
    }
    w->cv.notify_one();
  }
  for (auto& w : writers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

size_t MessageStore::pending() const {
  size_t n = 0;
  for (auto& w : writers_) {
    std::lock_guard<std::mutex> lock(w->mutex);
    n += w->queue.size();
  }
  return n;
}

void MessageStore::run(Writer& w) {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock<std::mutex> lock(w.mutex);
      w.cv.wait(lock, [&] { return w.stopping || !w.queue.empty(); });
      if (w.queue.empty()) return;  // stopping and drained
      const size_t n = std::min(maxBatch_, w.queue.size());
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(w.queue.front()));
        w.queue.pop_front();
      }
    }
    storeBatch(w, batch);
    answer(batch);
  }
}

void MessageStore::storeBatch(Writer& w, std::vector<Job>& jobs) {
  // Validate what needs no storage; a rejected message keeps msg_id 0.
  std::vector<Job*> valid;
  for (Job& j : jobs) {
    j.msg.set_msg_id(0);
    const auto& m = j.msg;
    const bool typeOk = isSingleType(m.msg_type()) || isGroupType(m.msg_type());
    if (!typeOk || m.msg_data().empty() || m.msg_data().size() > ctx_.maxMessageBytes || m.from_user_id() == 0 ||
        m.to_session_id() == 0 || (isSingleType(m.msg_type()) && m.from_user_id() == m.to_session_id())) {
      spdlog::warn("message from {} to {} rejected: type {}, {} bytes", m.from_user_id(), m.to_session_id(),
                   m.msg_type(), m.msg_data().size());
      continue;
    }
    if (j.msg.create_time() == 0) j.msg.set_create_time(tt::unixSeconds());
    valid.push_back(&j);
  }
  if (valid.empty()) return;
  try {
    auto lease = ctx_.storage.master().acquire(kAcquireTimeoutMs);
    db::MysqlConn& conn = *lease;
    // Relations first, outside the transaction: the cache must never hold the id of a row that a
    // rollback took away.
    for (Job* j : valid) {
      if (isSingleType(j->msg.msg_type())) ctx_.relations.get(conn, j->msg.from_user_id(), j->msg.to_session_id(), true);
    }
    try {
      std::vector<SessionKey> inserted;
      const auto began = std::chrono::steady_clock::now();
      conn.begin();
      storeInTransaction(conn, w.knownSessions, valid, &inserted);
      conn.commit();
      StoreMetrics::get().commitSeconds.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      StoreMetrics::get().batchSize.observe(static_cast<double>(valid.size()));
      w.knownSessions.insert(inserted.begin(), inserted.end());
      // A cache, not a record: bounded, and forgetting only costs the upsert path again.
      if (w.knownSessions.size() > kMaxKnownSessions) w.knownSessions.clear();
    } catch (const db::DbError& e) {
      try {
        conn.rollback();
      } catch (const db::DbError&) {
      }
      for (Job* j : valid) j->msg.set_msg_id(0);
      if (valid.size() == 1) throw;
      spdlog::warn("storing a batch of {} messages failed ({}); storing them one by one", valid.size(), e.what());
      std::vector<Job*> stored;
      for (Job* j : valid) {
        std::vector<Job*> one{j};
        try {
          std::vector<SessionKey> inserted;
          conn.begin();
          storeInTransaction(conn, w.knownSessions, one, &inserted);
          conn.commit();
          w.knownSessions.insert(inserted.begin(), inserted.end());
          if (j->msg.msg_id() != 0) stored.push_back(j);
        } catch (const db::DbError& e2) {
          try {
            conn.rollback();
          } catch (const db::DbError&) {
          }
          j->msg.set_msg_id(0);
          spdlog::error("message from {} to {} not stored: {}", j->msg.from_user_id(), j->msg.to_session_id(),
                        e2.what());
        }
      }
      bumpCounters(stored);
      return;
    }
  } catch (const db::DbError& e) {
    for (Job* j : valid) j->msg.set_msg_id(0);
    spdlog::error("{} messages not stored: {}", valid.size(), e.what());
    return;
  }
  std::vector<Job*> stored;
  for (Job* j : valid) {
    if (j->msg.msg_id() != 0) stored.push_back(j);
  }
  bumpCounters(stored);
}

void MessageStore::storeInTransaction(db::MysqlConn& conn, const std::set<SessionKey>& known,
                                      std::vector<Job*>& jobs, std::vector<SessionKey>* inserted) {
  const uint64_t now = tt::unixSeconds();
  // Conversations in first-seen order, each with its messages in arrival order.
  struct Conversation {
    bool group = false;
    uint32_t id = 0;  // relateId or groupId
    std::vector<Job*> jobs;
  };
  std::vector<Conversation> convs;
  std::unordered_map<uint64_t, size_t> index;
  std::map<std::pair<uint32_t, uint32_t>, bool> membership;  // (group, user) -> member
  for (Job* j : jobs) {
    const auto& m = j->msg;
    const bool group = isGroupType(m.msg_type());
    uint32_t id;
    if (group) {
      id = m.to_session_id();
      auto key = std::make_pair(id, m.from_user_id());
      auto it = membership.find(key);
      if (it == membership.end()) {
        auto rows = conn.query("SELECT 1 FROM IMGroupMember WHERE groupId = ? AND userId = ? AND status = 0",
                               {uint64_t{id}, uint64_t{m.from_user_id()}});
        it = membership.emplace(key, !rows.empty()).first;
      }
      if (!it->second) {
        spdlog::warn("group message from {} to group {} rejected: not a member", m.from_user_id(), id);
        continue;
      }
    } else {
      id = ctx_.relations.get(conn, m.from_user_id(), m.to_session_id(), false);
      if (id == 0) continue;
    }
    const uint64_t key = (group ? (uint64_t{1} << 63) : 0) | id;
    auto [it, inserted] = index.emplace(key, convs.size());
    if (inserted) convs.push_back(Conversation{group, id, {}});
    convs[it->second].jobs.push_back(j);
  }

  // Allocate ids under the row locks. 1:1 conversations: per chunk, one UPDATE adds each
  // relation's message count to its msgSeq and one locking SELECT reads the new ends back -- two
  // round trips per chunk instead of one per conversation (with many active conversations a
  // batch has about one message per conversation). FORCE INDEX: a full scan would lock every
  // relation row, including those of other writers' open transactions, and deadlock with them.
  std::map<std::string, std::vector<Job*>> byTable;
  std::vector<Conversation*> singles;
  for (Conversation& c : convs) {
    if (!c.group) singles.push_back(&c);
  }
  for (size_t off = 0; off < singles.size(); off += kConvsPerStatement) {
    const size_t n = std::min(kConvsPerStatement, singles.size() - off);
    const size_t padded = paddedSize(n);
    auto conv = [&](size_t i) -> Conversation& { return *singles[off + std::min(i, n - 1)]; };
    std::string update = "UPDATE IMRelationShip FORCE INDEX (PRIMARY) SET msgSeq = msgSeq + CASE id";
    std::string in;
    std::vector<db::DbValue> params, ids;
    for (size_t i = 0; i < padded; ++i) {
      update += " WHEN ? THEN ?";
      params.insert(params.end(), {uint64_t{conv(i).id}, uint64_t{conv(i).jobs.size()}});
      in += i ? ", ?" : "?";
      ids.push_back(uint64_t{conv(i).id});
    }
    params.push_back(now);
    params.insert(params.end(), ids.begin(), ids.end());
    conn.exec(update + " ELSE 0 END, updated = ? WHERE id IN (" + in + ")", params);
    std::unordered_map<uint32_t, uint64_t> lastIds;
    for (const auto& row :
         conn.query("SELECT id, msgSeq FROM IMRelationShip FORCE INDEX (PRIMARY) WHERE id IN (" + in + ") FOR UPDATE",
                    ids)) {
      lastIds[row.u32(0)] = row.u64(1);
    }
    for (size_t i = off; i < off + n; ++i) {
      Conversation& c = *singles[i];
      const uint64_t k = c.jobs.size();
      auto it = lastIds.find(c.id);
      if (it == lastIds.end()) {
        spdlog::warn("relation {} does not exist: {} messages rejected", c.id, k);
        continue;
      }
      for (size_t j = 0; j < k; ++j) c.jobs[j]->msg.set_msg_id(static_cast<uint32_t>(it->second - k + 1 + j));
      auto& list = byTable[messageTable(c.id)];
      list.insert(list.end(), c.jobs.begin(), c.jobs.end());
    }
  }
  // Groups: one UPDATE per group (it also checks the group is alive).
  for (Conversation& c : convs) {
    if (!c.group) continue;
    const uint64_t k = c.jobs.size();
    db::DbExecResult r =
        c.group ? conn.exec("UPDATE IMGroup SET msgSeq = LAST_INSERT_ID(msgSeq + ?), lastChated = ?, updated = ? "
                            "WHERE id = ? AND status = 0",
                            {k, now, now, uint64_t{c.id}})
                : conn.exec("UPDATE IMRelationShip SET msgSeq = LAST_INSERT_ID(msgSeq + ?), updated = ? WHERE id = ?",
                            {k, now, uint64_t{c.id}});
    if (r.affectedRows == 0) {
      spdlog::warn("{} {} does not exist: {} messages rejected", c.group ? "group" : "relation", c.id, k);
      continue;
    }
    const uint64_t last = r.insertId;
    for (size_t i = 0; i < c.jobs.size(); ++i) {
      c.jobs[i]->msg.set_msg_id(static_cast<uint32_t>(last - k + 1 + i));
    }
    auto& list = byTable[c.group ? groupMessageTable(c.id) : messageTable(c.id)];
    list.insert(list.end(), c.jobs.begin(), c.jobs.end());
  }

  // Insert rows, several per statement.
  for (auto& [table, list] : byTable) {
    const bool group = table.rfind("IMGroupMessage_", 0) == 0;
    for (size_t off = 0; off < list.size(); off += kRowsPerInsert) {
      const size_t n = std::min(kRowsPerInsert, list.size() - off);
      std::vector<db::DbValue> params;
      std::string sql;
      if (group) {
        sql = rowsSql("INSERT INTO " + table + " (groupId, userId, msgId, content, type, status, created, updated) VALUES ",
                      "(?, ?, ?, ?, ?, 0, ?, ?)", n);
      } else {
        sql = rowsSql("INSERT INTO " + table +
                          " (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES ",
                      "(?, ?, ?, ?, ?, ?, 0, ?, ?)", n);
      }
      for (size_t i = off; i < off + n; ++i) {
        const auto& m = list[i]->msg;
        if (group) {
          params.insert(params.end(), {uint64_t{m.to_session_id()}, uint64_t{m.from_user_id()}, uint64_t{m.msg_id()},
                                       m.msg_data(), uint64_t{static_cast<uint32_t>(m.msg_type())},
                                       uint64_t{m.create_time()}, now});
        } else {
          const uint32_t rel = ctx_.relations.get(conn, m.from_user_id(), m.to_session_id(), false);
          params.insert(params.end(), {uint64_t{rel}, uint64_t{m.from_user_id()}, uint64_t{m.to_session_id()},
                                       uint64_t{m.msg_id()}, m.msg_data(),
                                       uint64_t{static_cast<uint32_t>(m.msg_type())}, uint64_t{m.create_time()}, now});
        }
      }
      conn.exec(sql, params);
    }
  }

  // Recent sessions: both sides of a 1:1 chat, the sender's side of a group chat. One upsert.
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> sessions;
  for (auto& [table, list] : byTable) {
    for (Job* j : list) {
      const auto& m = j->msg;
      if (isGroupType(m.msg_type())) {
        sessions.emplace(m.from_user_id(), m.to_session_id(), IM::BaseDefine::SESSION_TYPE_GROUP);
      } else {
        sessions.emplace(m.from_user_id(), m.to_session_id(), IM::BaseDefine::SESSION_TYPE_SINGLE);
        sessions.emplace(m.to_session_id(), m.from_user_id(), IM::BaseDefine::SESSION_TYPE_SINGLE);
      }
    }
  }
  // Known rows: one UPDATE over the unique key per chunk. New rows: the upsert (a concurrent
  // GroupSync or another db_proxy may have created one meanwhile).
  std::vector<SessionKey> existing, rows;
  for (const SessionKey& s : sessions) (known.count(s) ? existing : rows).push_back(s);
  for (size_t off = 0; off < existing.size(); off += 2 * kConvsPerStatement) {
    const size_t n = std::min(2 * kConvsPerStatement, existing.size() - off);
    const size_t padded = paddedSize(n);
    std::vector<db::DbValue> params{now};
    std::string sql = "UPDATE IMRecentSession FORCE INDEX (uk_userId_peerId_type) SET status = 0, updated = ? "
                      "WHERE (userId, peerId, type) IN (";
    for (size_t i = 0; i < padded; ++i) {
      auto [user, peer, type] = existing[off + std::min(i, n - 1)];
      sql += i ? ", (?, ?, ?)" : "(?, ?, ?)";
      params.insert(params.end(), {uint64_t{user}, uint64_t{peer}, uint64_t{type}});
    }
    conn.exec(sql + ")", params);
  }
  inserted->insert(inserted->end(), rows.begin(), rows.end());
  for (size_t off = 0; off < rows.size(); off += kRowsPerInsert) {
    const size_t n = std::min(kRowsPerInsert, rows.size() - off);
    std::vector<db::DbValue> params;
    for (size_t i = off; i < off + n; ++i) {
      auto [user, peer, type] = rows[i];
      params.insert(params.end(), {uint64_t{user}, uint64_t{peer}, uint64_t{type}, now, now});
    }
    conn.exec(rowsSql("INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES ",
                      "(?, ?, ?, 0, ?, ?)", n, " ON DUPLICATE KEY UPDATE status = 0, updated = VALUES(updated)"),
              params);
  }
}

void MessageStore::bumpCounters(const std::vector<Job*>& stored) {
  if (stored.empty()) return;
  StoreMetrics::get().stored.inc(stored.size());
  // After COMMIT: the message is durable whatever happens here. A Redis failure leaves an unread
  // count short (logged), never a message lost or acked without being stored.
  std::vector<std::vector<std::string>> cmds;
  for (Job* j : stored) {
    const auto& m = j->msg;
    if (isGroupType(m.msg_type())) {
      // The sender has read its own group up to this message.
      cmds.push_back({"HSET", rediskey::groupReadKey(m.from_user_id(), m.to_session_id()), rediskey::kGroupReadField,
                      std::to_string(m.msg_id())});
    } else {
      cmds.push_back({"HINCRBY", rediskey::unreadKey(m.to_session_id()), std::to_string(m.from_user_id()), "1"});
    }
  }
  try {
    auto lease = ctx_.storage.cache(rediskey::kUnreadInstance).acquire(kAcquireTimeoutMs);
    lease->pipeline(cmds);
  } catch (const std::exception& e) {
    spdlog::error("unread counters for {} stored messages not updated: {}", stored.size(), e.what());
    StoreMetrics::get().unreadNotUpdated.inc(stored.size());
  }
}

void MessageStore::answer(std::vector<Job>& jobs) {
  // One hand-off per connection: the loop is woken once per batch, not once per message.
  std::unordered_map<net::ConnId, std::vector<std::string>> out;
  for (Job& j : jobs) {
    if (j.msg.msg_id() == 0) StoreMetrics::get().failed.inc();
    out[j.conn].push_back(
        net::encodePdu(IM::BaseDefine::SID_MSG, IM::BaseDefine::CID_MSG_DATA, j.seq, j.msg));
  }
  for (auto& [conn, pdus] : out) deliver_(conn, std::move(pdus));
}

}  // namespace tt::dbproxy
