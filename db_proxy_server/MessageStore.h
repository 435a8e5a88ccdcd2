#pragma once
// Stores IMMsgData (1:1 and group) with group commit: W writer threads, each with its own queue;
// a conversation always maps to the same writer, so two messages of one sender to one session are
// stored, numbered and acked in the order they arrived (the original handed requests to random
// workers and could reorder them). A writer takes everything queued (up to a batch limit) and
// stores it in ONE transaction: msg ids are allocated in MySQL inside that transaction (a durable
// per-conversation counter, not only a Redis INCR), rows are inserted, recent sessions touched,
// then COMMIT — and only then are the acks (the IMMsgData with its msg_id) handed back. Unread
// counters in Redis are bumped after the commit. If a batch fails, each message is retried on its
// own so one bad message cannot fail its neighbours; a message that cannot be stored is answered
// with msg_id 0 (TeamTalk's "store failed"), never acked as stored.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "IM.Message.pb.h"
#include "netlib/Callbacks.h"

namespace tt::db {
class MysqlConn;
}

namespace tt::dbproxy {

struct DbContext;

class MessageStore {
 public:
  struct Job {
    net::ConnId conn = 0;
    uint16_t seq = 0;
    IM::Message::IMMsgData msg;
  };
  // Called on a writer thread with the PDUs for one connection (to be posted to the loop).
  using Deliver = std::function<void(net::ConnId, std::vector<std::string> pdus)>;

  MessageStore(DbContext& ctx, size_t writers, size_t maxBatch, Deliver deliver);
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // Thread-safe. false once stopped.
  bool submit(Job job);
  // Finishes everything queued, then joins the writers.
  void stop();
  size_t pending() const;

  // The writer a conversation belongs to (exposed for tests).
  static uint64_t conversationKey(const IM::Message::IMMsgData& msg);

 private:
  // (userId, peerId, type) of an IMRecentSession row.
  using SessionKey = std::tuple<uint32_t, uint32_t, uint32_t>;

  struct Writer {
    mutable std::mutex mutex;
    std::condition_variable cv;
    std::deque<Job> queue;  // guarded by mutex
    bool stopping = false;  // guarded by mutex
    std::thread thread;
    // Recent-session rows this writer has seen committed. Rows are never deleted (removal sets
    // status = 1), so a known row is touched with a plain UPDATE: no insert attempt, no duplicate
    // key round, no AUTO_INCREMENT value burnt. Writer thread only.
    std::set<SessionKey> knownSessions;
  };

  void run(Writer& w);
  void storeBatch(Writer& w, std::vector<Job>& jobs);
  // Stores jobs in one transaction; fills msg ids and the sessions it inserted (to be remembered
  // once committed). Throws on failure (the caller rolls back).
  void storeInTransaction(db::MysqlConn& conn, const std::set<SessionKey>& known, std::vector<Job*>& jobs,
                          std::vector<SessionKey>* inserted);
  void bumpCounters(const std::vector<Job*>& stored);
  void answer(std::vector<Job>& jobs);

  DbContext& ctx_;
  const size_t maxBatch_;
  Deliver deliver_;
  std::vector<std::unique_ptr<Writer>> writers_;
};

}  // namespace tt::dbproxy
