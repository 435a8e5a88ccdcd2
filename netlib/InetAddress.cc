#include "netlib/InetAddress.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace tt::net {

InetAddress::InetAddress() {
  auto* in = reinterpret_cast<sockaddr_in*>(&addr_);
  in->sin_family = AF_INET;
}

InetAddress::InetAddress(const sockaddr_storage& ss) : addr_(ss) {}

std::optional<InetAddress> InetAddress::parse(const std::string& ip, uint16_t port) {
  InetAddress a;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.addr_);
  if (::inet_pton(AF_INET, ip.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return a;
  }
  std::memset(&a.addr_, 0, sizeof a.addr_);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.addr_);
  std::string bare = ip;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  if (::inet_pton(AF_INET6, bare.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return a;
  }
  return std::nullopt;
}

std::optional<InetAddress> InetAddress::resolve(const std::string& host, uint16_t port, std::string* err) {
  if (auto a = parse(host, port)) return a;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    if (err) *err = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return std::nullopt;
  }
  const addrinfo* pick = res;
  for (const addrinfo* p = res; p; p = p->ai_next) {
    if (p->ai_family == AF_INET) {
      pick = p;
      break;
    }
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
  ::freeaddrinfo(res);
  InetAddress a(ss);
  if (ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.addr_)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a.addr_)->sin6_port = htons(port);
  }
  return a;
}

socklen_t InetAddress::sockLen() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

uint16_t InetAddress::port() const {
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&addr_)->sin_port);
}

std::string InetAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr_)->sin6_addr, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr_)->sin_addr, buf, sizeof buf);
  }
  return buf;
}

std::string InetAddress::toString() const {
  if (family() == AF_INET6) return "[" + ip() + "]:" + std::to_string(port());
  return ip() + ":" + std::to_string(port());
}

bool InetAddress::operator==(const InetAddress& o) const {
  return family() == o.family() && port() == o.port() && ip() == o.ip();
}

}  // namespace tt::net
