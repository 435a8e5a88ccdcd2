#pragma once
// The pool logic MysqlPool and RedisPool share: a bounded set of connections, opened lazily,
// handed out one thread at a time through an RAII lease.
//
// Conn must provide:
//   using Config; using Error;               // Error: the exception thrown for every failure
//   static constexpr const char* kKind;      // "mysql", "redis": prefixes the pool name in errors
//   Conn(std::string label, const Config&);  // connects; throws Error
//   bool broken() const;                     // marked unusable by an I/O error
//   bool idleSocketLooksDead() const;        // cheap check, no round trip
//   bool ping();                             // round trip; false when the server is gone
//   void resetAfterUse() noexcept;           // e.g. roll back a forgotten transaction
// and Config must have `size_t maxConns`.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/Metrics.h"

namespace tt::db {

// A snapshot for logging.
struct PoolStats {
  size_t maxConns = 0;
  size_t open = 0;     // connections that exist or are being opened (idle + leased)
  size_t idle = 0;
  size_t leased = 0;
  size_t waiting = 0;  // threads blocked in acquire() right now
  uint64_t acquired = 0;         // successful acquires
  uint64_t timeouts = 0;         // acquires that found no free connection in time
  uint64_t connectFailures = 0;  // opens that failed (server down, bad credentials)
  uint64_t replaced = 0;         // idle connections found dead and closed (then reopened)
  uint64_t discarded = 0;        // broken connections closed when their lease ended
};

namespace detail {

// A connection idle longer than this is pinged before it is handed out.
inline constexpr std::chrono::seconds kPingAfterIdle{30};

template <typename Conn>
class ConnPool {
 public:
  using Config = typename Conn::Config;
  using Error = typename Conn::Error;
  using Clock = std::chrono::steady_clock;

  ConnPool(std::string name, Config config)
      : name_(std::move(name)), label_(std::string(Conn::kKind) + " " + name_), config_(std::move(config)) {
    if (config_.maxConns == 0) throw Error(label_ + ": maxConns must be at least 1");
    idle_.reserve(config_.maxConns);  // giveBack() must not allocate
  }

  ConnPool(const ConnPool&) = delete;
  ConnPool& operator=(const ConnPool&) = delete;

  const std::string& name() const { return name_; }
  const Config& config() const { return config_; }

  // Waits up to timeoutMs (<= 0: not at all) for a free slot, then hands out an idle connection
  // (checked first) or opens a new one. Opening is bounded by the connect timeout, so a server
  // that is down costs one quick failure, never an endless wait. Throws Error.
  std::unique_ptr<Conn> take(int timeoutMs) {
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(timeoutMs > 0 ? timeoutMs : 0);
    std::unique_lock<std::mutex> lock(mutex_);
    if (idle_.empty() && open_ >= config_.maxConns) {
      // Only contended takes are timed: the histogram shows how long work queues for a connection.
      struct Observe {
        Clock::time_point start;
        ~Observe() { waitSeconds().observe(std::chrono::duration<double>(Clock::now() - start).count()); }
      } observe{start};
      waitUntilFree(lock, deadline, timeoutMs);
    }
    ++leased_;
    if (!idle_.empty()) {
      Idle item = std::move(idle_.back());  // most recently used: the warmest, least likely stale
      idle_.pop_back();
      lock.unlock();
      return revalidate(std::move(item));
    }
    ++open_;  // reserve the slot, then connect without holding the lock
    lock.unlock();
    return openNew(false);
  }

  // Takes a connection back. A broken one is closed (outside the lock: closing may do I/O) and
  // its slot freed for a fresh connection.
  void giveBack(std::unique_ptr<Conn> conn) noexcept {
    conn->resetAfterUse();
    std::unique_lock<std::mutex> lock(mutex_);
    --leased_;
    if (conn->broken()) {
      --open_;
      ++discarded_;
    } else {
      idle_.push_back(Idle{std::move(conn), Clock::now()});
    }
    lock.unlock();
    ready_.notify_one();
    conn.reset();
  }

  PoolStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    PoolStats s;
    s.maxConns = config_.maxConns;
    s.open = open_;
    s.idle = idle_.size();
    s.leased = leased_;
    s.waiting = waiting_;
    s.acquired = acquired_;
    s.timeouts = timeouts_;
    s.connectFailures = connectFailures_;
    s.replaced = replaced_;
    s.discarded = discarded_;
    return s;
  }

 private:
  // Blocks (lock held on return) until a connection is idle or a slot is free; throws at deadline.
  void waitUntilFree(std::unique_lock<std::mutex>& lock, Clock::time_point deadline, int timeoutMs) {
    while (idle_.empty() && open_ >= config_.maxConns) {
      ++waiting_;
      const bool woken = ready_.wait_until(lock, deadline, [this] {
        return !idle_.empty() || open_ < config_.maxConns;
      });
      --waiting_;
      if (!woken) {
        ++timeouts_;
        throw Error(label_ + ": no free connection within " + std::to_string(timeoutMs) + " ms (all " +
                    std::to_string(config_.maxConns) + " in use)");
      }
    }
  }

  static metrics::Histogram& waitSeconds() {
    static metrics::Histogram& h =
        metrics::Registry::global()
            .histogramFamily("ttsuite_dbproxy_pool_wait_seconds",
                             "Time a take waited for a free pooled connection (takes that had to wait), by kind.",
                             {"kind"}, metrics::latencyBuckets())
            .with({Conn::kKind});
    return h;
  }

  struct Idle {
    std::unique_ptr<Conn> conn;
    Clock::time_point since;
  };

  // The slot is already counted in open_ and leased_.
  std::unique_ptr<Conn> revalidate(Idle item) {
    std::unique_ptr<Conn>& conn = item.conn;
    bool dead = conn->broken() || conn->idleSocketLooksDead();
    if (!dead && Clock::now() - item.since > kPingAfterIdle) dead = !conn->ping();
    if (!dead) {
      countAcquired();
      return std::move(conn);
    }
    // The server restarted, or closed an idle session: replace the connection (and with it every
    // cached statement, which died with the old session).
    conn.reset();
    return openNew(true);
  }

  std::unique_ptr<Conn> openNew(bool replacing) {
    try {
      auto conn = std::make_unique<Conn>(label_, config_);
      std::lock_guard<std::mutex> lock(mutex_);
      ++acquired_;
      if (replacing) ++replaced_;
      return conn;
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --open_;
        --leased_;
        ++connectFailures_;
        if (replacing) ++replaced_;
      }
      ready_.notify_one();
      throw;
    }
  }

  void countAcquired() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++acquired_;
  }

  const std::string name_;
  const std::string label_;  // "mysql teamtalk_master": how errors name the pool
  const Config config_;

  mutable std::mutex mutex_;
  std::condition_variable ready_;  // signalled when a connection or a slot becomes free
  std::vector<Idle> idle_;         // guarded by mutex_
  size_t open_ = 0;                // guarded by mutex_; idle + leased (including being opened)
  size_t leased_ = 0;              // guarded by mutex_
  size_t waiting_ = 0;             // guarded by mutex_
  uint64_t acquired_ = 0;          // guarded by mutex_; the counters below too
  uint64_t timeouts_ = 0;
  uint64_t connectFailures_ = 0;
  uint64_t replaced_ = 0;
  uint64_t discarded_ = 0;
};

// Move-only ownership of one pooled connection; returns it to the pool when destroyed. The lease
// keeps the pool's state alive, so it may even outlive the pool object.
template <typename Conn>
class Lease {
 public:
  Lease() = default;
  Lease(std::shared_ptr<ConnPool<Conn>> pool, std::unique_ptr<Conn> conn)
      : pool_(std::move(pool)), conn_(std::move(conn)) {}
  ~Lease() { release(); }

  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      release();
      pool_ = std::move(other.pool_);
      conn_ = std::move(other.conn_);
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Conn* operator->() const { return conn_.get(); }
  Conn& operator*() const { return *conn_; }
  Conn* get() const { return conn_.get(); }
  explicit operator bool() const { return conn_ != nullptr; }

  // Gives the connection back now (the lease is empty afterwards).
  void release() noexcept {
    if (conn_) pool_->giveBack(std::move(conn_));
    pool_.reset();
  }

 private:
  std::shared_ptr<ConnPool<Conn>> pool_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace detail
}  // namespace tt::db
