#pragma once
// An IPv4 or IPv6 socket address. Parsing is numeric only (no DNS on the loop thread);
// resolve() does a blocking lookup and is meant for start-up, when config is read.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace tt::net {

class InetAddress {
 public:
  InetAddress();  // 0.0.0.0:0
  explicit InetAddress(const sockaddr_storage& ss);

  // "127.0.0.1", "0.0.0.0", "::1", "::" with a port; nullopt if ip is not a numeric address.
  static std::optional<InetAddress> parse(const std::string& ip, uint16_t port);
  // Numeric or a host name (blocking getaddrinfo, IPv4 preferred). nullopt with *err set on failure.
  static std::optional<InetAddress> resolve(const std::string& host, uint16_t port, std::string* err = nullptr);

  int family() const { return addr_.ss_family; }
  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t sockLen() const;
  uint16_t port() const;
  std::string ip() const;
  std::string toString() const;  // "1.2.3.4:80" or "[::1]:80"
  bool operator==(const InetAddress& o) const;
  bool operator!=(const InetAddress& o) const { return !(*this == o); }

 private:
  sockaddr_storage addr_{};
};

}  // namespace tt::net
