#include "tools/im_bench/ImBench.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "netlib/EventDispatch.h"
#include "tools/client/ClientSession.h"

namespace tt::bench {

namespace {

using client::ClientSession;
using client::SessionState;
using json = nlohmann::ordered_json;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// VmRSS of a process in bytes, -1 when unreadable.
int64_t rssBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

int64_t totalRss(const std::vector<int>& pids) {
  int64_t sum = 0;
  for (int pid : pids) {
    const int64_t r = rssBytes(pid);
    if (r < 0) return -1;
    sum += r;
  }
  return sum;
}

// Percentile (0..1) of samples in microseconds, as milliseconds; -1 without samples.
double percentileMs(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) -
                                                 (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return std::round(static_cast<double>(v[idx]) / 10.0) / 100.0;
}

void addPercentiles(json& out, const std::string& prefix, std::vector<int64_t>& v) {
  out[prefix + "_p50_ms"] = percentileMs(v, 0.50);
  out[prefix + "_p99_ms"] = percentileMs(v, 0.99);
  out[prefix + "_p999_ms"] = percentileMs(v, 0.999);
  out[prefix + "_max_ms"] = percentileMs(v, 1.0);
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

std::string userName(const std::string& fmt, int n) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt.c_str(), n);
  return buf;
}

// Raises RLIMIT_NOFILE to `want` (the hard limit too when allowed). Returns the limit now in force.
rlim_t raiseFdLimit(rlim_t want, std::string* note) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur >= want) return lim.rlim_cur;
  rlimit next = lim;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) {
    next.rlim_cur = next.rlim_max = want;
    if (::setrlimit(RLIMIT_NOFILE, &next) == 0) return want;
    *note = "hard open-file limit " + std::to_string(lim.rlim_max) + " and raising it failed (" +
            std::strerror(errno) + "); run as root or raise `ulimit -Hn`, or check fs.nr_open";
    next.rlim_cur = next.rlim_max = lim.rlim_max;
  } else {
    next.rlim_cur = want;
  }
  if (::setrlimit(RLIMIT_NOFILE, &next) != 0) return lim.rlim_cur;
  return next.rlim_cur;
}

// ---- shared state ------------------------------------------------------------------------------

// One group message (group scenario): written by its sender, read by every receiver thread.
struct GroupMsg {
  std::atomic<int64_t> schedNs{0};
  std::atomic<uint32_t> deliveries{0};
  std::atomic<int64_t> lastUs{-1};
  std::atomic<uint32_t> senderUserId{0};
};

struct Shared {
  const BenchConfig* cfg = nullptr;
  std::atomic<int64_t> loginsDone{0}, loginsRefused{0}, online{0}, disconnects{0}, relogins{0}, errors{0};
  std::atomic<int64_t> sent{0}, acked{0}, ackFailed{0}, sendFailed{0}, delivered{0}, duplicated{0}, unknown{0},
      selfEcho{0};
  std::atomic<int64_t> lastDeliveryNs{0};
  std::atomic<int64_t> presence{0}, otherPdus{0};
  std::atomic<int64_t> restartDoneNs{0};
  std::atomic<bool> reconnectPhase{false};
  std::mutex errMutex;
  std::vector<std::string> firstErrors;  // guarded by errMutex
  // group
  std::unique_ptr<GroupMsg[]> groupMsgs;
  size_t groupMsgCap = 0;
  std::atomic<uint64_t> nextGroupMsg{0};
  int groupMembers = 0;

  void noteError(const std::string& e) {
    ++errors;
    std::lock_guard<std::mutex> lock(errMutex);
    if (firstErrors.size() < 5) firstErrors.push_back(e);
  }
};

void atomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

struct Client {
  int index = 0;  // global
  std::unique_ptr<ClientSession> session;
  int64_t startNs = 0;
  int64_t lostNs = 0;
  bool everOnline = false;
  bool isOnline = false;
  bool finishedLogin = false;  // online once or refused for good
  Client* peer = nullptr;      // chat
  uint64_t sendSeq = 0;        // chat: messages handed to the session for the peer
  std::vector<uint8_t> seen;   // chat: by the peer's seq; group: by message id
};

class Worker {
 public:
  Worker(Shared* shared, int id, IM::BaseDefine::ClientType clientType)
      : shared_(shared), cfg_(*shared->cfg), id_(id), clientType_(clientType) {}

  void addClient(int index, const ServerAddr* server, const std::string& sourceAddr, int peerIndex) {
    plan_.push_back(Plan{index, server ? *server : ServerAddr{}, sourceAddr, peerIndex});
  }
  size_t clientCount() const { return plan_.size(); }

  void run(std::promise<void>* ready) {
    net::EventDispatch loop;
    loop_ = &loop;
    ready->set_value();
    loop.loop();
    // Loop thread, loop finished: sessions close their connections without calling back.
    for (auto& c : clients_) c->session.reset();
    clients_.clear();
    loop_ = nullptr;
  }
  net::EventDispatch* loop() { return loop_; }

  // --- called on the loop thread (posted) ---

  void createAndLogin() {
    std::unordered_map<int, Client*> byIndex;
    for (const Plan& p : plan_) {
      auto c = std::make_unique<Client>();
      c->index = p.index;
      client::SessionOptions o;
      o.loginHost = cfg_.loginHost;
      o.loginPort = cfg_.loginPort;
      if (!p.server.host.empty()) {
        o.serverHost = p.server.host;
        o.serverPort = p.server.port;
      }
      o.localAddress = p.sourceAddr;
      o.clientType = clientType_;
      o.userName = userName(cfg_.userFormat, cfg_.firstUser + p.index);
      o.password = cfg_.password;
      o.heartbeatIntervalMs = cfg_.heartbeatMs;
      o.deadServerMs = std::max<int64_t>(60000, cfg_.heartbeatMs * 3);
      o.loginTimeoutMs = 60000;
      o.connectTimeoutMs = 20000;
      o.requestTimeoutMs = 60000;
      o.reconnectInitialMs = cfg_.reconnectInitialMs;
      o.reconnectMaxMs = cfg_.reconnectMaxMs;
      o.stableOnlineMs = 1000;
      o.autoReceiptAck = true;
      c->session = std::make_unique<ClientSession>(loop_, std::move(o));
      Client* raw = c.get();
      auto& h = c->session->handlers();
      h.onStateChanged = [this, raw](SessionState s, const std::string&) { onState(raw, s); };
      h.onLoginResult = [this, raw](const IM::Login::IMLoginRes& res) {
        if (res.result_code() != 0 && !raw->session->online()) {
          // A refusal retrying cannot fix ends this client's login (the session stops by itself).
          if (res.result_code() == IM::BaseDefine::REFUSE_REASON_DB_VALIDATE_FAILED ||
              res.result_code() == IM::BaseDefine::REFUSE_REASON_VERSION_TOO_OLD) {
            loop_->post([this, raw] { finishLogin(raw, false); });
          }
        }
      };
      h.onError = [this, raw](const std::string& e) {
        shared_->noteError(raw->session->options().userName + ": " + e);
      };
      h.onMessage = [this, raw](const IM::Message::IMMsgData& m, const std::optional<std::string>& text) {
        onMessage(raw, m, text);
      };
      h.onStatusNotify = [this](const IM::Buddy::IMUserStatNotify&) { ++shared_->presence; };
      h.onOtherPdu = [this](const net::ImPdu&) { ++shared_->otherPdus; };
      byIndex[p.index] = raw;
      clients_.push_back(std::move(c));
    }
    for (size_t i = 0; i < plan_.size(); ++i) {
      if (plan_[i].peerIndex >= 0) clients_[i]->peer = byIndex.at(plan_[i].peerIndex);
    }
    startMore();
  }

  // Chat/group: start the open-loop schedule at t0 for durationNs.
  void startSending(int64_t t0, int64_t durationNs, double rate) {
    t0_ = t0;
    endNs_ = t0 + durationNs;
    rate_ = rate;
    scheduled_ = 0;
    total_ = static_cast<uint64_t>(std::ceil(static_cast<double>(durationNs) * rate / 1e9 - 1e-9));
    if (rate_ <= 0 || clients_.empty()) return;
    sendTimer_ = loop_->runEvery(1, [this] { sendDue(); });
  }

  void collect(std::vector<int64_t>* login, std::vector<int64_t>* relogin, std::vector<int64_t>* ack,
               std::vector<int64_t>* deliver, std::vector<int64_t>* lag, uint64_t* heartbeats) {
    lag->insert(lag->end(), lagUs_.begin(), lagUs_.end());
    login->insert(login->end(), loginUs_.begin(), loginUs_.end());
    relogin->insert(relogin->end(), reloginUs_.begin(), reloginUs_.end());
    ack->insert(ack->end(), ackUs_.begin(), ackUs_.end());
    deliver->insert(deliver->end(), deliverUs_.begin(), deliverUs_.end());
    for (auto& c : clients_) *heartbeats += c->session->stats().heartbeatsSent;
  }

  int64_t firstStartNs() const { return firstStartNs_; }
  int64_t lastOnlineNs() const { return lastOnlineNs_; }
  int64_t lastReloginNs() const { return lastReloginNs_; }

 private:
  struct Plan {
    int index;
    ServerAddr server;
    std::string sourceAddr;
    int peerIndex;
  };

  void startMore() {
    while (inflight_ < cfg_.loginWindow && next_ < clients_.size()) {
      Client* c = clients_[next_++].get();
      c->startNs = nowNs();
      if (firstStartNs_ == 0) firstStartNs_ = c->startNs;
      ++inflight_;
      c->session->start();
    }
  }

  void finishLogin(Client* c, bool ok) {
    if (c->finishedLogin) return;
    c->finishedLogin = true;
    --inflight_;
    if (ok) {
      ++shared_->loginsDone;
    } else {
      ++shared_->loginsRefused;
    }
    startMore();
  }

  void onState(Client* c, SessionState s) {
    const int64_t now = nowNs();
    if (s == SessionState::kOnline) {
      c->isOnline = true;
      ++shared_->online;
      if (!c->everOnline) {
        c->everOnline = true;
        loginUs_.push_back((now - c->startNs) / 1000);
        lastOnlineNs_ = std::max(lastOnlineNs_, now);
        finishLogin(c, true);
      } else {
        const int64_t from = std::max(c->lostNs, shared_->restartDoneNs.load());
        if (shared_->reconnectPhase.load()) reloginUs_.push_back(std::max<int64_t>(0, now - from) / 1000);
        lastReloginNs_ = std::max(lastReloginNs_, now);
        ++shared_->relogins;
      }
    } else if (s == SessionState::kDisconnected && c->isOnline) {
      c->isOnline = false;
      c->lostNs = now;
      --shared_->online;
      ++shared_->disconnects;
    }
  }

  // Every message due by now (open loop: the schedule never waits for the server).
  void sendDue() {
    const int64_t now = nowNs();
    if (now < t0_) return;
    // Message k is scheduled at t0 + k / rate; the ones with a time <= now are due, and the run
    // has exactly ceil(duration * rate) of them.
    const auto due = std::min(total_, static_cast<uint64_t>(std::floor(static_cast<double>(now - t0_) * rate_ / 1e9)) + 1);
    while (scheduled_ < due) {
      const uint64_t k = scheduled_++;
      const int64_t sched = t0_ + static_cast<int64_t>(static_cast<double>(k) * 1e9 / rate_);
      Client* sender = clients_[k % clients_.size()].get();
      lagUs_.push_back((now - sched) / 1000);
      if (cfg_.scenario == "chat") {
        sendChat(sender, sched);
      } else {
        sendGroup(sender, sched);
      }
    }
    if (scheduled_ >= total_) {
      loop_->cancel(sendTimer_);
      sendTimer_ = 0;
    }
  }

  std::string payload(uint64_t a, int64_t sched) const {
    std::string text = std::to_string(a) + " " + std::to_string(sched) + " ";
    if (static_cast<int>(text.size()) < cfg_.payloadBytes) text.append(cfg_.payloadBytes - text.size(), 'x');
    return text;
  }

  void sendChat(Client* c, int64_t sched) {
    if (!c->session->online() || !c->peer) {
      ++shared_->sendFailed;
      return;
    }
    const uint64_t seq = c->sendSeq;
    auto cb = [this, sched](client::RequestError err, uint32_t) { onAck(err, sched); };
    if (c->session->sendText(c->peer->session->userId(), payload(seq, sched), std::move(cb)) == 0) {
      ++shared_->sendFailed;
      return;
    }
    ++c->sendSeq;
    ++shared_->sent;
  }

  void sendGroup(Client* c, int64_t sched) {
    if (!c->session->online()) {
      ++shared_->sendFailed;
      return;
    }
    const uint64_t id = shared_->nextGroupMsg.fetch_add(1);
    if (id >= shared_->groupMsgCap) {
      ++shared_->sendFailed;
      return;
    }
    GroupMsg& m = shared_->groupMsgs[id];
    m.schedNs.store(sched);
    m.senderUserId.store(c->session->userId());
    auto cb = [this, sched](client::RequestError err, uint32_t) { onAck(err, sched); };
    if (c->session->sendGroupText(cfg_.groupId, payload(id, sched), std::move(cb)) == 0) {
      ++shared_->sendFailed;
      return;
    }
    ++shared_->sent;
  }

  void onAck(client::RequestError err, int64_t sched) {
    if (err == client::RequestError::kOk) {
      ackUs_.push_back((nowNs() - sched) / 1000);
      ++shared_->acked;
    } else {
      ++shared_->ackFailed;
    }
  }

  void onMessage(Client* c, const IM::Message::IMMsgData& m, const std::optional<std::string>& text) {
    const int64_t now = nowNs();
    uint64_t a = 0;
    long long sched = 0;
    if (!text || std::sscanf(text->c_str(), "%" SCNu64 " %lld", &a, &sched) != 2) {
      ++shared_->unknown;
      return;
    }
    if (cfg_.scenario == "chat") {
      if (!c->peer || m.from_user_id() != c->peer->session->userId()) {
        ++shared_->unknown;
        return;
      }
      if (a >= c->seen.size()) c->seen.resize(std::max<size_t>(a + 1, c->seen.size() * 2 + 64), 0);
    } else {
      if (m.from_user_id() == c->session->userId()) {
        ++shared_->selfEcho;
        return;
      }
      if (a >= shared_->groupMsgCap) {
        ++shared_->unknown;
        return;
      }
      if (c->seen.size() < shared_->groupMsgCap) c->seen.resize(shared_->groupMsgCap, 0);
    }
    if (c->seen[a]) {
      ++shared_->duplicated;
      return;
    }
    c->seen[a] = 1;
    const int64_t us = (now - sched) / 1000;
    if (cfg_.scenario == "chat") {
      deliverUs_.push_back(us);
    } else {
      GroupMsg& g = shared_->groupMsgs[a];
      g.deliveries.fetch_add(1);
      atomicMax(g.lastUs, us);
    }
    ++shared_->delivered;
    atomicMax(shared_->lastDeliveryNs, now);
  }

  Shared* shared_;
  const BenchConfig& cfg_;
  int id_;
  IM::BaseDefine::ClientType clientType_;
  net::EventDispatch* loop_ = nullptr;
  std::vector<Plan> plan_;
  std::vector<std::unique_ptr<Client>> clients_;
  size_t next_ = 0;
  int inflight_ = 0;
  int64_t firstStartNs_ = 0, lastOnlineNs_ = 0, lastReloginNs_ = 0;
  std::vector<int64_t> loginUs_, reloginUs_, ackUs_, deliverUs_, lagUs_;
  // sending
  int64_t t0_ = 0, endNs_ = 0;
  double rate_ = 0;
  uint64_t scheduled_ = 0;
  uint64_t total_ = 0;
  net::TimerId sendTimer_ = 0;
};

// Runs fn on each worker's loop in turn (one at a time, so fn may touch the caller's data).
void onAllLoops(std::vector<std::unique_ptr<Worker>>& workers, const std::function<void(Worker&)>& fn) {
  for (auto& w : workers) {
    std::promise<void> done;
    Worker* wp = w.get();
    wp->loop()->post([wp, &done, &fn] {
      fn(*wp);
      done.set_value();
    });
    done.get_future().wait();
  }
}

// Runs fn on every loop at once; fn must only read the caller's data.
void onAllLoopsParallel(std::vector<std::unique_ptr<Worker>>& workers, const std::function<void(Worker&)>& fn) {
  std::vector<std::promise<void>> done(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    Worker* wp = workers[i].get();
    std::promise<void>* p = &done[i];
    wp->loop()->post([wp, p, &fn] {
      fn(*wp);
      p->set_value();
    });
  }
  for (auto& p : done) p.get_future().wait();
}

bool waitFor(const std::function<bool()>& cond, double seconds) {
  const int64_t deadline = nowNs() + static_cast<int64_t>(seconds * 1e9);
  while (!cond()) {
    if (nowNs() >= deadline) return false;
    sleepMs(5);
  }
  return true;
}

}  // namespace

json runBench(const BenchConfig& cfgIn) {
  BenchConfig cfg = cfgIn;
  json out;
  out["scenario"] = cfg.scenario;
  const bool chat = cfg.scenario == "chat", group = cfg.scenario == "group", idle = cfg.scenario == "idle",
             storm = cfg.scenario == "login-storm";
  if (!chat && !group && !idle && !storm) {
    out["error"] = "unknown scenario '" + cfg.scenario + "' (idle, login-storm, chat, group)";
    return out;
  }
  if (cfg.clients < 1 || cfg.threads < 1 || ((chat || group) && cfg.rate <= 0)) {
    out["error"] = "need clients >= 1, threads >= 1 and (chat, group) a rate > 0";
    return out;
  }
  if (chat && cfg.clients % 2 != 0) {
    out["error"] = "chat needs an even number of clients (pairs)";
    return out;
  }
  if (group && cfg.groupId == 0) {
    out["error"] = "group needs the group id (--group)";
    return out;
  }
  IM::BaseDefine::ClientType clientType;
  if (cfg.clientType == "mac") {
    clientType = IM::BaseDefine::CLIENT_TYPE_MAC;
  } else if (cfg.clientType == "windows") {
    clientType = IM::BaseDefine::CLIENT_TYPE_WINDOWS;
  } else if (cfg.clientType == "android") {
    clientType = IM::BaseDefine::CLIENT_TYPE_ANDROID;
  } else if (cfg.clientType == "ios") {
    clientType = IM::BaseDefine::CLIENT_TYPE_IOS;
  } else {
    out["error"] = "unknown client type '" + cfg.clientType + "' (mac, windows, android, ios)";
    return out;
  }
  const int n = cfg.clients;
  cfg.threads = std::min(cfg.threads, n);
  out["clients"] = n;
  out["threads"] = cfg.threads;
  out["client_type"] = cfg.clientType;
  if (chat || group) {
    out["rate"] = cfg.rate;
    out["duration_s"] = cfg.durationSec;
  }
  out["login_via"] = cfg.msgServers.empty()
                         ? "http://" + cfg.loginHost + ":" + std::to_string(cfg.loginPort) + "/msg_server"
                         : std::to_string(cfg.msgServers.size()) + " msg_server(s) directly";

  // File descriptors: one per client, plus HTTP lookups in flight, plus a margin.
  std::string fdNote;
  const rlim_t wantFds = static_cast<rlim_t>(n) + static_cast<rlim_t>(cfg.loginWindow) * cfg.threads + 256;
  const rlim_t gotFds = raiseFdLimit(wantFds, &fdNote);
  out["fd_limit"] = static_cast<uint64_t>(gotFds);
  if (gotFds < static_cast<rlim_t>(n) + 64) {
    out["error"] = "open-file limit " + std::to_string(gotFds) + " is too low for " + std::to_string(n) +
                   " clients (need about " + std::to_string(wantFds) + "): " +
                   (fdNote.empty() ? std::string("raise `ulimit -n`") : fdNote);
    return out;
  }
  // Source addresses: one loopback address gives ~28,000 ports per destination.
  if (cfg.sourceAddrs.empty() && n > 20000) {
    const int count = (n + 19999) / 20000;
    for (int i = 0; i < count; ++i) cfg.sourceAddrs.push_back("127.0.0." + std::to_string(2 + i));
  }
  if (!cfg.sourceAddrs.empty()) {
    std::string list;
    for (const auto& a : cfg.sourceAddrs) list += (list.empty() ? "" : ",") + a;
    out["source_addrs"] = list;
  }
  const double perClientRate = (chat || group) ? cfg.rate / n : 0;
  if (perClientRate > cfg.maxPerClientRate) {
    out["warning"] = "each client sends " + std::to_string(perClientRate) + " msgs/s, above msg_server's " +
                     std::to_string(cfg.maxPerClientRate) + "/s flood limit: use more clients";
  }

  Shared shared;
  shared.cfg = &cfg;
  if (group) {
    shared.groupMsgCap = static_cast<size_t>(cfg.rate * cfg.durationSec * 1.05) + 1024;
    shared.groupMsgs = std::make_unique<GroupMsg[]>(shared.groupMsgCap);
    shared.groupMembers = n;
  }

  // Placement.
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < cfg.threads; ++t) workers.push_back(std::make_unique<Worker>(&shared, t, clientType));
  const auto server = [&](size_t s) -> const ServerAddr* {
    return cfg.msgServers.empty() ? nullptr : &cfg.msgServers[s % cfg.msgServers.size()];
  };
  const auto source = [&](int i) {
    return cfg.sourceAddrs.empty() ? std::string() : cfg.sourceAddrs[static_cast<size_t>(i) % cfg.sourceAddrs.size()];
  };
  int crossPairs = 0;
  if (chat) {
    // Pair k = clients 2k, 2k+1 on one thread. With two msg_servers, pairs cycle through
    // (0,0), (1,1), (0,1), (1,0): half the pairs talk across route_server, both servers even.
    for (int k = 0; k < n / 2; ++k) {
      Worker& w = *workers[static_cast<size_t>(k % cfg.threads)];
      const int m = k % 4;
      const size_t sa = (m == 0 || m == 2) ? 0 : 1, sb = (m == 0 || m == 3) ? 0 : 1;
      if (cfg.msgServers.size() >= 2 && sa != sb) ++crossPairs;
      w.addClient(2 * k, server(sa), source(2 * k), 2 * k + 1);
      w.addClient(2 * k + 1, server(sb), source(2 * k + 1), 2 * k);
    }
    out["cross_server_pairs"] = crossPairs;
  } else {
    for (int i = 0; i < n; ++i) {
      workers[static_cast<size_t>(i % cfg.threads)]->addClient(i, server(static_cast<size_t>(i)), source(i), -1);
    }
  }

  const int64_t rssBefore = cfg.rssPids.empty() ? -1 : totalRss(cfg.rssPids);

  // Threads.
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    std::promise<void> ready;
    auto f = ready.get_future();
    Worker* wp = w.get();
    threads.emplace_back([wp, &ready] { wp->run(&ready); });
    f.wait();
  }
  auto shutdown = [&] {
    for (auto& w : workers) {
      Worker* wp = w.get();
      wp->loop()->post([wp] { wp->loop()->quit(); });
    }
    for (auto& t : threads) t.join();
  };

  // ---- login ----
  onAllLoopsParallel(workers, [](Worker& w) { w.createAndLogin(); });
  const bool allIn = waitFor(
      [&] { return shared.loginsDone.load() + shared.loginsRefused.load() >= n; }, cfg.loginTimeoutSec);
  int64_t firstStart = INT64_MAX, lastOnline = 0;
  onAllLoops(workers, [&](Worker& w) {
    if (w.firstStartNs() != 0) firstStart = std::min(firstStart, w.firstStartNs());
    lastOnline = std::max(lastOnline, w.lastOnlineNs());
  });
  out["logged_in"] = shared.loginsDone.load();
  out["login_refused"] = shared.loginsRefused.load();
  if (lastOnline > firstStart && shared.loginsDone.load() > 0) {
    out["logins_per_s"] = round2(static_cast<double>(shared.loginsDone.load()) /
                                 (static_cast<double>(lastOnline - firstStart) / 1e9));
  }
  auto finish = [&] {
    std::vector<int64_t> login, relogin, ack, deliver, lag;
    uint64_t heartbeats = 0;
    onAllLoops(workers, [&](Worker& w) { w.collect(&login, &relogin, &ack, &deliver, &lag, &heartbeats); });
    shutdown();
    return std::make_tuple(std::move(login), std::move(relogin), std::move(ack), std::move(deliver), std::move(lag),
                           heartbeats);
  };
  if (!allIn || shared.loginsDone.load() < n) {
    auto [login, relogin, ack, deliver, lag, hb] = finish();
    addPercentiles(out, "login", login);
    std::lock_guard<std::mutex> lock(shared.errMutex);
    out["first_errors"] = shared.firstErrors;
    out["error"] = std::to_string(shared.loginsDone.load()) + " of " + std::to_string(n) + " clients logged in" +
                   (allIn ? "" : " within " + std::to_string(static_cast<int>(cfg.loginTimeoutSec)) + " s");
    return out;
  }

  // PC clients get every presence change of every user on their msg_server (TeamTalk's
  // broadcast): let that flood from the logins drain before measuring anything else.
  {
    const int64_t t = nowNs();
    int64_t last = -1;
    int64_t stableSince = t;
    while (nowNs() - t < static_cast<int64_t>(cfg.loginTimeoutSec * 1e9)) {
      const int64_t cur = shared.presence.load() + shared.otherPdus.load();
      if (cur != last) {
        last = cur;
        stableSince = nowNs();
      } else if (nowNs() - stableSince >= 300 * 1000000LL) {
        break;
      }
      sleepMs(20);
    }
    out["settle_s"] = round2(static_cast<double>(stableSince - t) / 1e9);
    out["presence_notifies_at_login"] = shared.presence.load();
  }

  // ---- scenario ----
  int64_t rssOnline = -1, rssIdle = -1;
  int64_t disconnectsBefore = shared.disconnects.load();
  if (idle) {
    rssOnline = cfg.rssPids.empty() ? -1 : totalRss(cfg.rssPids);
    const int64_t end = nowNs() + static_cast<int64_t>(cfg.idleSec * 1e9);
    while (nowNs() < end) sleepMs(std::min<int64_t>(200, std::max<int64_t>(1, (end - nowNs()) / 1000000)));
    rssIdle = cfg.rssPids.empty() ? -1 : totalRss(cfg.rssPids);
    out["idle_s"] = cfg.idleSec;
    out["online_after_idle"] = shared.online.load();
    out["disconnects_while_idle"] = shared.disconnects.load() - disconnectsBefore;
  } else if (storm) {
    if (!cfg.rssPids.empty()) rssOnline = totalRss(cfg.rssPids);
    if (cfg.restart) {
      shared.reconnectPhase = true;
      const int64_t r0 = nowNs();
      std::string err;
      const bool ok = cfg.restart(&err);
      shared.restartDoneNs = nowNs();
      out["restart_s"] = round2(static_cast<double>(shared.restartDoneNs.load() - r0) / 1e9);
      if (!ok) {
        out["error"] = "restart failed: " + err;
      } else {
        // Every client lost its connection and must come back.
        const bool back = waitFor(
            [&] { return shared.relogins.load() >= shared.disconnects.load() && shared.online.load() >= n; },
            cfg.loginTimeoutSec);
        int64_t lastRelogin = 0;
        onAllLoops(workers, [&](Worker& w) { lastRelogin = std::max(lastRelogin, w.lastReloginNs()); });
        out["reconnected"] = shared.relogins.load();
        out["disconnected"] = shared.disconnects.load();
        if (!back) out["error"] = "not every client came back after the restart";
        // From the moment the servers are back; if everyone was already back by then (a rolling
        // restart: clients moved to the other server meanwhile), from the start of the restart.
        int64_t span = lastRelogin - shared.restartDoneNs.load();
        out["relogin_window_from"] = "restart done";
        if (span < 50 * 1000000LL) {
          span = lastRelogin - r0;
          out["relogin_window_from"] = "restart start";
        }
        if (span > 0 && shared.relogins.load() > 0) {
          out["relogin_window_s"] = round2(static_cast<double>(span) / 1e9);
          out["relogins_per_s"] = round2(static_cast<double>(shared.relogins.load()) / (static_cast<double>(span) / 1e9));
        }
      }
    }
  } else {
    const double perWorker = cfg.rate / static_cast<double>(n);
    const int64_t t0 = nowNs() + 20 * 1000000;  // a common start a little ahead
    const auto durNs = static_cast<int64_t>(cfg.durationSec * 1e9);
    onAllLoopsParallel(workers, [&](Worker& w) {
      w.startSending(t0, durNs, perWorker * static_cast<double>(w.clientCount()));
    });
    while (nowNs() < t0 + durNs + 5 * 1000000) sleepMs(20);
    const auto expected = [&]() -> int64_t {
      return group ? shared.sent.load() * (n - 1) : shared.sent.load();
    };
    waitFor([&] {
      return shared.delivered.load() >= expected() &&
             shared.acked.load() + shared.ackFailed.load() >= shared.sent.load();
    }, cfg.drainSec);
    const int64_t sent = shared.sent.load();
    const int64_t delivered = shared.delivered.load();
    out["sent"] = sent;
    out["send_failed"] = shared.sendFailed.load();
    out["acked"] = shared.acked.load();
    out["ack_failed"] = shared.ackFailed.load();
    if (group) {
      out["members"] = n;
      out["expected_deliveries"] = expected();
    }
    out["delivered"] = delivered;
    out["lost"] = expected() - delivered;
    out["duplicated"] = shared.duplicated.load();
    out["unexpected"] = shared.unknown.load();
    if (group) out["self_copies"] = shared.selfEcho.load();
    const double sentRate = static_cast<double>(sent) / cfg.durationSec;
    out["sent_per_s"] = round2(sentRate);
    const int64_t lastDel = shared.lastDeliveryNs.load();
    if (lastDel > t0 && delivered > 0) {
      out["delivered_per_s"] = round2(static_cast<double>(delivered) / (static_cast<double>(lastDel - t0) / 1e9));
    }
    out["disconnects"] = shared.disconnects.load() - disconnectsBefore;
  }

  auto [login, relogin, ack, deliver, lag, heartbeats] = finish();
  addPercentiles(out, "login", login);
  if (storm && cfg.restart) addPercentiles(out, "relogin", relogin);
  if (chat || group) {
    // How late the generator itself sent (scheduled -> handed to the socket): large values mean
    // im_bench could not keep the schedule, and every latency includes that.
    addPercentiles(out, "send_lag", lag);
    addPercentiles(out, "ack", ack);
    if (chat) {
      addPercentiles(out, "deliver", deliver);
    } else {
      std::vector<int64_t> last;
      const uint64_t used = std::min<uint64_t>(shared.nextGroupMsg.load(), shared.groupMsgCap);
      int64_t complete = 0;
      for (uint64_t i = 0; i < used; ++i) {
        if (shared.groupMsgs[i].deliveries.load() >= static_cast<uint32_t>(n - 1)) {
          last.push_back(shared.groupMsgs[i].lastUs.load());
          ++complete;
        }
      }
      out["messages_complete"] = complete;
      addPercentiles(out, "last_member_deliver", last);
    }
  }
  out["heartbeats_sent"] = heartbeats;
  out["presence_notifies_total"] = shared.presence.load();
  out["other_pdus"] = shared.otherPdus.load();
  if (!cfg.rssPids.empty()) {
    out["server_rss_before_kib"] = rssBefore / 1024;
    if (rssOnline >= 0) out["server_rss_online_kib"] = rssOnline / 1024;
    if (rssIdle >= 0) out["server_rss_after_idle_kib"] = rssIdle / 1024;
    const int64_t after = rssIdle >= 0 ? rssIdle : rssOnline;
    if (rssBefore >= 0 && after >= 0) {
      out["server_bytes_per_conn"] = round2(static_cast<double>(after - rssBefore) / n);
    }
  }
  out["client_errors"] = shared.errors.load();
  {
    std::lock_guard<std::mutex> lock(shared.errMutex);
    if (!shared.firstErrors.empty()) out["first_errors"] = shared.firstErrors;
  }
  return out;
}

std::string formatTable(const json& result) {
  std::ostringstream os;
  size_t width = 6;
  for (auto it = result.begin(); it != result.end(); ++it) width = std::max(width, it.key().size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %s\n", static_cast<int>(width), "metric", "value");
  os << line;
  for (auto it = result.begin(); it != result.end(); ++it) {
    std::string v;
    if (it->is_string()) {
      v = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& e : *it) v += (v.empty() ? "" : " | ") + (e.is_string() ? e.get<std::string>() : e.dump());
    } else {
      v = it->dump();
    }
    std::snprintf(line, sizeof line, "%-*s  %s\n", static_cast<int>(width), it.key().c_str(), v.c_str());
    os << line;
  }
  return os.str();
}

}  // namespace tt::bench
