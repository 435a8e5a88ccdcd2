#pragma once
// msg_server's outbound links of one kind (db_proxy, login, route, push or file servers): one
// ImClient per configured address (times N for db_proxy), each reconnecting on its own with
// back-off. Callers pick a live link per request; when none is up they fail fast.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/Config.h"
#include "netlib/ImClient.h"

namespace tt::msg {

class Upstreams {
 public:
  using PduHandler = net::ImConn::PduHandler;
  using ConnHandler = net::ImClient::ConnHandler;

  Upstreams(net::EventDispatch* loop, std::string kind, const std::vector<ServerAddr>& servers, size_t linksPerServer,
            const net::ImConnOptions& options);
  Upstreams(const Upstreams&) = delete;
  Upstreams& operator=(const Upstreams&) = delete;

  void setPduHandler(PduHandler h) { pduHandler_ = std::move(h); }
  void setConnectHandler(ConnHandler h) { connectHandler_ = std::move(h); }
  void setCloseHandler(ConnHandler h) { closeHandler_ = std::move(h); }

  void start();
  void stop();

  bool configured() const { return !links_.empty(); }
  const std::string& kind() const { return kind_; }
  // A live link chosen by key: the same key keeps the same link while the set of live links does
  // not change (a sender's requests stay in order). nullptr when none is up.
  net::ImConnPtr pick(uint64_t key) const;
  // The oldest live link (route_server "master"); nullptr when none.
  net::ImConnPtr first() const;
  std::vector<net::ImConnPtr> live() const;
  size_t liveCount() const;
  // Every configured link: a name unique among them ("db_proxy@127.0.0.1:10600#2" for the second
  // link to that server; no suffix when there is one link per server) and whether it is usable.
  void forEachLink(const std::function<void(const std::string& name, bool up)>& fn) const {
    for (size_t i = 0; i < links_.size(); ++i) {
      const auto& l = links_[i];
      fn(linksPerServer_ > 1 ? l.client->name() + "#" + std::to_string(i % linksPerServer_ + 1) : l.client->name(),
         usable(l));
    }
  }
  // db_proxy said CID_OTHER_STOP_RECV_PACKET: send nothing more on that link until it reconnects.
  void markDraining(const net::ImConnPtr& conn);

 private:
  struct Link {
    std::unique_ptr<net::ImClient> client;
    bool draining = false;
    int64_t upSinceMs = 0;
  };
  bool usable(const Link& l) const { return l.client->connected() && !l.draining; }

  net::EventDispatch* loop_;
  std::string kind_;
  std::vector<Link> links_;
  size_t linksPerServer_ = 1;
  PduHandler pduHandler_;
  ConnHandler connectHandler_;
  ConnHandler closeHandler_;
};

}  // namespace tt::msg
