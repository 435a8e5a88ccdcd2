// Durable message-store load for db_proxy_server (run by bench/dbproxy_store.sh, never by ctest).
// It plays a msg_server that forwards 1:1 text messages: N TCP connections, each keeping W
// IMMsgData (CID_MSG_DATA) in flight; as each answer comes back another message goes out (a closed
// loop, so the rate is what db_proxy can durably store, not what we can push). db_proxy answers every
// IMMsgData with the same command, our seq echoed and msg_id set (0 = not stored).
//
//   dbproxy_store_load [-c conns] [-w window] [-d seconds] [-u warmup_s] [-r relations_per_conn]
//                      [-b first_user_id] <host> <port>
//
// Each connection owns a disjoint set of user pairs (relations) in the 100000+ id range, cycles
// through them and alternates the direction. Acks that arrive during the warm-up are not counted.
// Per relation, the msg_ids acked must be strictly increasing (db_proxy promises per-conversation
// order); every violation is printed to stderr. The last stdout line is:
//   stored=<n> failed=<n> seconds=<s> rate=<stored/s> p50_ms=<> p99_ms=<> p999_ms=<>
//     order_violations=<n> lost_connections=<n>
// Exit status 0 when there were no order violations, no lost connections and nothing failed to
// connect; 1 otherwise; 2 for bad arguments.
#include <getopt.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Message.pb.h"
#include "netlib/EventDispatch.h"
#include "netlib/ImConn.h"
#include "netlib/ImPdu.h"
#include "netlib/TcpClient.h"
#include "netlib/TcpConnection.h"

namespace {

using tt::net::EventDispatch;
using tt::net::ImConn;
using tt::net::ImConnPtr;
using tt::net::ImPdu;
using tt::net::InetAddress;
using tt::net::TcpClient;
using tt::net::TcpConnectionPtr;

// How long to wait for every connection before measuring with those that are up.
constexpr int64_t kConnectDeadlineMs = 10000;
constexpr size_t kBodyVariants = 64;

int64_t nowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Options {
  std::string host;
  uint16_t port = 0;
  int conns = 32;
  int window = 32;
  double seconds = 10;
  double warmup = 1;
  int relationsPerConn = 64;
  uint32_t firstUserId = 100000;
};

// Shared counters of the run (one loop thread: no locks).
struct Stats {
  bool measuring = false;
  bool finished = false;
  uint64_t stored = 0;
  uint64_t failed = 0;
  uint64_t orderViolations = 0;
  uint64_t unmatched = 0;
  int lostConnections = 0;
  std::vector<uint32_t> latencyUs;  // measured acks only
};

// Base64-looking text bodies of 100..200 bytes (what clients put in msg_data after encrypting).
std::vector<std::string> makeBodies(std::mt19937& rng) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::string> bodies;
  std::uniform_int_distribution<int> len(25, 50);  // 4-char groups: 100..200 bytes
  std::uniform_int_distribution<int> ch(0, 63);
  for (size_t i = 0; i < kBodyVariants; ++i) {
    std::string s(static_cast<size_t>(len(rng)) * 4, 'A');
    for (char& c : s) c = kAlphabet[ch(rng)];
    if (i % 3 == 0) s.replace(s.size() - 2, 2, "==");  // padded, like real Base64 often is
    bodies.push_back(std::move(s));
  }
  return bodies;
}

class LoadConnection {
 public:
  LoadConnection(EventDispatch* loop, const InetAddress& server, int index, const Options& opt,
                 const std::vector<std::string>& bodies, Stats& stats)
      : opt_(opt), bodies_(bodies), stats_(stats), tcp_(loop, server, "load-" + std::to_string(index)) {
    // Two user ids per relation; connection i owns relations [i*R, (i+1)*R).
    for (int r = 0; r < opt.relationsPerConn; ++r) {
      const uint32_t pair = static_cast<uint32_t>(index * opt.relationsPerConn + r);
      relations_.push_back(Relation{opt.firstUserId + 2 * pair, opt.firstUserId + 2 * pair + 1, 0, 0});
    }
    bodyCursor_ = static_cast<size_t>(index) * 7;
    tcp_.setRetry(false);
    tcp_.setConnectionCallback([this](const TcpConnectionPtr& c) { onConnection(c); });
  }

  void setConnectedHandler(std::function<void()> h) { connectedHandler_ = std::move(h); }
  void connect() { tcp_.connect(); }
  bool connected() const { return conn_ && conn_->connected(); }

  // Fills the window.
  void start() {
    if (!connected()) return;
    while (static_cast<int>(pending_.size()) < opt_.window) sendOne();
  }
  void stop() { tcp_.stop(); }

 private:
  struct Relation {
    uint32_t a, b;
    uint64_t sent;        // messages sent on this relation (picks the direction)
    uint32_t lastMsgId;   // last msg_id acked
  };
  struct Pending {
    int64_t sentNs;
    uint32_t relation;
  };

  void onConnection(const TcpConnectionPtr& tcp) {
    if (tcp->connected()) {
      tcp->setTcpNoDelay(true);
      tt::net::ImConnOptions o;
      o.heartbeatIntervalMs = 0;  // we never call checkTimers: the load itself keeps the link busy
      o.timeoutMs = 0;
      o.maxOutputBytes = 64 * 1024 * 1024;
      conn_ = ImConn::attach(tcp, o, [this](const ImConnPtr&, const ImPdu& pdu) { onPdu(pdu); });
      if (connectedHandler_) connectedHandler_();
      return;
    }
    ImConn::detach(tcp);
    conn_.reset();
    if (!stats_.finished) {
      ++stats_.lostConnections;
      std::fprintf(stderr, "dbproxy_store_load: connection %s closed during the run\n", tcp->name().c_str());
    }
  }

  void sendOne() {
    const uint32_t ri = nextRelation_;
    nextRelation_ = (nextRelation_ + 1) % relations_.size();
    Relation& rel = relations_[ri];
    const bool forward = (rel.sent++ % 2) == 0;

    IM::Message::IMMsgData msg;
    msg.set_from_user_id(forward ? rel.a : rel.b);
    msg.set_to_session_id(forward ? rel.b : rel.a);
    msg.set_msg_id(0);
    msg.set_create_time(static_cast<uint32_t>(std::time(nullptr)));
    msg.set_msg_type(IM::BaseDefine::MSG_TYPE_SINGLE_TEXT);
    msg.set_msg_data(bodies_[bodyCursor_++ % bodies_.size()]);

    // seq 0 is what unsolicited PDUs carry; skip it so every answer names a request.
    if (++seq_ == 0) ++seq_;
    pending_[seq_] = Pending{nowNs(), ri};
    conn_->send(IM::BaseDefine::SID_MSG, IM::BaseDefine::CID_MSG_DATA, seq_, msg);
  }

  void onPdu(const ImPdu& pdu) {
    if (pdu.commandId() != IM::BaseDefine::CID_MSG_DATA) return;  // heartbeat, stop-receive notice
    const int64_t now = nowNs();
    auto it = pending_.find(pdu.seqNum());
    if (it == pending_.end()) {
      ++stats_.unmatched;
      return;
    }
    const Pending p = it->second;
    pending_.erase(it);
    IM::Message::IMMsgData msg;
    if (!pdu.parse(&msg)) {
      std::fprintf(stderr, "dbproxy_store_load: unparsable IMMsgData answer (seq %u)\n", pdu.seqNum());
      ++stats_.unmatched;
    } else {
      Relation& rel = relations_[p.relation];
      const uint32_t id = msg.msg_id();
      if (id != 0) {
        if (id <= rel.lastMsgId) {
          ++stats_.orderViolations;
          std::fprintf(stderr, "order violation: relation %u-%u acked msg_id %u after %u\n", rel.a, rel.b, id,
                       rel.lastMsgId);
        }
        rel.lastMsgId = std::max(rel.lastMsgId, id);
      }
      if (stats_.measuring) {
        if (id != 0) {
          ++stats_.stored;
        } else {
          ++stats_.failed;
        }
        stats_.latencyUs.push_back(static_cast<uint32_t>(std::min<int64_t>((now - p.sentNs) / 1000, UINT32_MAX)));
      }
    }
    if (!stats_.finished && connected()) sendOne();
  }

  const Options& opt_;
  const std::vector<std::string>& bodies_;
  Stats& stats_;
  TcpClient tcp_;
  ImConnPtr conn_;
  std::function<void()> connectedHandler_;
  std::vector<Relation> relations_;
  uint32_t nextRelation_ = 0;
  size_t bodyCursor_ = 0;
  uint16_t seq_ = 0;
  std::unordered_map<uint16_t, Pending> pending_;
};

class Load {
 public:
  Load(EventDispatch* loop, const InetAddress& server, const Options& opt) : loop_(loop), opt_(opt) {
    std::mt19937 rng(12345);
    bodies_ = makeBodies(rng);
    for (int i = 0; i < opt.conns; ++i) {
      auto c = std::make_unique<LoadConnection>(loop, server, i, opt, bodies_, stats_);
      c->setConnectedHandler([this] {
        if (++connected_ == opt_.conns) begin();
      });
      conns_.push_back(std::move(c));
    }
  }

  void start() {
    for (auto& c : conns_) c->connect();
    loop_->runAfter(kConnectDeadlineMs, [this] {
      if (!begun_) {
        std::fprintf(stderr, "dbproxy_store_load: only %d of %d connections up after %lld ms\n", connected_,
                     opt_.conns, static_cast<long long>(kConnectDeadlineMs));
        connectFailed_ = true;
        if (connected_ > 0) {
          begin();
        } else {
          stats_.finished = true;
          loop_->quit();
        }
      }
    });
  }

  int report() {
    const double seconds = measuredSeconds_;
    auto& lat = stats_.latencyUs;
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) -> double {
      if (lat.empty()) return 0;
      size_t i = static_cast<size_t>(q * static_cast<double>(lat.size()));
      if (i >= lat.size()) i = lat.size() - 1;
      return lat[i] / 1000.0;
    };
    if (stats_.unmatched) {
      std::fprintf(stderr, "dbproxy_store_load: %llu answers matched no request\n",
                   static_cast<unsigned long long>(stats_.unmatched));
    }
    std::printf(
        "stored=%llu failed=%llu seconds=%.3f rate=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f "
        "order_violations=%llu lost_connections=%d\n",
        static_cast<unsigned long long>(stats_.stored), static_cast<unsigned long long>(stats_.failed), seconds,
        seconds > 0 ? static_cast<double>(stats_.stored) / seconds : 0.0, pct(0.50), pct(0.99), pct(0.999),
        static_cast<unsigned long long>(stats_.orderViolations), stats_.lostConnections);
    std::fflush(stdout);
    const bool ok = stats_.orderViolations == 0 && stats_.lostConnections == 0 && !connectFailed_ &&
                    stats_.unmatched == 0 && stats_.stored > 0;
    return ok ? 0 : 1;
  }

 private:
  void begin() {
    if (begun_) return;
    begun_ = true;
    for (auto& c : conns_) c->start();
    loop_->runAfter(static_cast<int64_t>(opt_.warmup * 1000), [this] {
      stats_.measuring = true;
      startNs_ = nowNs();
      loop_->runAfter(static_cast<int64_t>(opt_.seconds * 1000), [this] { finish(); });
    });
  }

  void finish() {
    stats_.measuring = false;
    stats_.finished = true;
    measuredSeconds_ = static_cast<double>(nowNs() - startNs_) / 1e9;
    for (auto& c : conns_) c->stop();
    loop_->quit();
  }

  EventDispatch* loop_;
  const Options& opt_;
  std::vector<std::string> bodies_;
  Stats stats_;
  std::vector<std::unique_ptr<LoadConnection>> conns_;
  int connected_ = 0;
  bool begun_ = false;
  bool connectFailed_ = false;
  int64_t startNs_ = 0;
  double measuredSeconds_ = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: dbproxy_store_load [-c conns=32] [-w window=32] [-d seconds=10] [-u warmup_s=1]\n"
               "                          [-r relations_per_conn=64] [-b first_user_id=100000] <host> <port>\n");
  std::exit(2);
}

long parseLong(const char* s, const char* what, long min, long max) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < min || v > max) {
    std::fprintf(stderr, "dbproxy_store_load: bad %s '%s' (%ld..%ld)\n", what, s, min, max);
    std::exit(2);
  }
  return v;
}

double parseSeconds(const char* s, const char* what, double min) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= min) || v > 3600) {
    std::fprintf(stderr, "dbproxy_store_load: bad %s '%s'\n", what, s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char* argv[]) {
  spdlog::set_level(spdlog::level::warn);
  Options opt;
  int c;
  while ((c = ::getopt(argc, argv, "c:w:d:u:r:b:h")) != -1) {
    switch (c) {
      case 'c': opt.conns = static_cast<int>(parseLong(optarg, "conns", 1, 10000)); break;
      // The window is bounded by the 16-bit seq space we match answers by.
      case 'w': opt.window = static_cast<int>(parseLong(optarg, "window", 1, 30000)); break;
      case 'd': opt.seconds = parseSeconds(optarg, "seconds", 0.1); break;
      case 'u': opt.warmup = parseSeconds(optarg, "warmup", 0); break;
      case 'r': opt.relationsPerConn = static_cast<int>(parseLong(optarg, "relations", 1, 1000000)); break;
      case 'b': opt.firstUserId = static_cast<uint32_t>(parseLong(optarg, "first user id", 1, 2000000000)); break;
      default: usage();
    }
  }
  if (argc - optind != 2) usage();
  opt.host = argv[optind];
  opt.port = static_cast<uint16_t>(parseLong(argv[optind + 1], "port", 1, 65535));
  if (static_cast<uint64_t>(opt.firstUserId) + 2ull * opt.conns * opt.relationsPerConn > UINT32_MAX) {
    std::fprintf(stderr, "dbproxy_store_load: user ids would overflow 32 bits\n");
    return 2;
  }
  auto addr = InetAddress::parse(opt.host, opt.port);
  if (!addr) {
    std::fprintf(stderr, "dbproxy_store_load: '%s' is not a numeric address\n", opt.host.c_str());
    return 2;
  }
  EventDispatch loop;
  Load load(&loop, *addr, opt);
  load.start();
  loop.loop();
  return load.report();
}
