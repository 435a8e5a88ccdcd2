#include "msg_server/Upstreams.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "netlib/EventDispatch.h"

namespace tt::msg {

Upstreams::Upstreams(net::EventDispatch* loop, std::string kind, const std::vector<ServerAddr>& servers,
                     size_t linksPerServer, const net::ImConnOptions& options)
    : loop_(loop), kind_(std::move(kind)), linksPerServer_(std::max<size_t>(1, linksPerServer)) {
  for (const auto& s : servers) {
    std::string err;
    auto addr = net::InetAddress::resolve(s.host, s.port, &err);
    if (!addr) throw ConfigError(kind_ + " server " + s.host + ": " + err);
    for (size_t i = 0; i < linksPerServer; ++i) {
      Link link;
      link.client = std::make_unique<net::ImClient>(loop, *addr, kind_ + "@" + addr->toString(), options);
      links_.push_back(std::move(link));
    }
  }
}

void Upstreams::start() {
  for (size_t i = 0; i < links_.size(); ++i) {
    net::ImClient* client = links_[i].client.get();
    client->setPduHandler([this](const net::ImConnPtr& c, const net::ImPdu& pdu) {
      if (pduHandler_) pduHandler_(c, pdu);
    });
    client->setConnectHandler([this, i](const net::ImConnPtr& c) {
      links_[i].draining = false;
      links_[i].upSinceMs = loop_->nowMs();
      if (connectHandler_) connectHandler_(c);
    });
    client->setCloseHandler([this, i](const net::ImConnPtr& c) {
      spdlog::warn("{} link {} lost", kind_, links_[i].client->name());
      if (closeHandler_) closeHandler_(c);
    });
    client->setRetryDelays(500, 30000);
    client->connect();
  }
}

void Upstreams::stop() {
  for (auto& l : links_) l.client->stop();
}

net::ImConnPtr Upstreams::pick(uint64_t key) const {
  size_t liveN = 0;
  for (const auto& l : links_) liveN += usable(l);
  if (liveN == 0) return nullptr;
  size_t want = static_cast<size_t>(key % liveN);
  for (const auto& l : links_) {
    if (!usable(l)) continue;
    if (want-- == 0) return l.client->conn();
  }
  return nullptr;
}

net::ImConnPtr Upstreams::first() const {
  const Link* best = nullptr;
  for (const auto& l : links_) {
    if (usable(l) && (!best || l.upSinceMs < best->upSinceMs)) best = &l;
  }
  return best ? best->client->conn() : nullptr;
}

std::vector<net::ImConnPtr> Upstreams::live() const {
  std::vector<net::ImConnPtr> out;
  for (const auto& l : links_) {
    if (usable(l)) out.push_back(l.client->conn());
  }
  return out;
}

size_t Upstreams::liveCount() const {
  size_t n = 0;
  for (const auto& l : links_) n += usable(l);
  return n;
}

void Upstreams::markDraining(const net::ImConnPtr& conn) {
  for (auto& l : links_) {
    if (l.client->conn() == conn) {
      l.draining = true;
      spdlog::warn("{} link {} is stopping: no new requests on it", kind_, l.client->name());
    }
  }
}

}  // namespace tt::msg
