#include "PduClient.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>

namespace tt::test {

namespace {
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

PduClient::~PduClient() { close(); }

bool PduClient::connect(int port, const std::string& host) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

void PduClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool PduClient::sendRaw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool PduClient::send(uint16_t serviceId, uint16_t commandId, uint16_t seq, const google::protobuf::MessageLite& msg) {
  return sendRaw(net::encodePdu(serviceId, commandId, seq, msg));
}

bool PduClient::readExact(char* p, size_t n, int64_t deadlineMs) {
  size_t got = 0;
  while (got < n) {
    const int64_t left = deadlineMs - nowMs();
    if (left <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t k = ::recv(fd_, p + got, n - got, 0);
    if (k <= 0) {
      if (k < 0 && errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(k);
  }
  return true;
}

std::optional<ReceivedPdu> PduClient::receive(int timeoutMs) {
  if (fd_ < 0) return std::nullopt;
  const int64_t deadline = nowMs() + timeoutMs;
  for (;;) {
    char head[net::kPduHeaderSize];
    if (!readExact(head, sizeof head, deadline)) return std::nullopt;
    ReceivedPdu pdu;
    pdu.header = net::decodeHeader(head);
    if (pdu.header.length < net::kPduHeaderSize) return std::nullopt;
    pdu.body.resize(pdu.header.length - net::kPduHeaderSize);
    if (!pdu.body.empty() && !readExact(pdu.body.data(), pdu.body.size(), deadline)) return std::nullopt;
    if (pdu.header.commandId == net::kCidHeartbeat) continue;
    return pdu;
  }
}

std::optional<ReceivedPdu> PduClient::receiveCommand(uint16_t commandId, int timeoutMs) {
  const int64_t deadline = nowMs() + timeoutMs;
  for (;;) {
    const int64_t left = deadline - nowMs();
    if (left <= 0) return std::nullopt;
    auto pdu = receive(static_cast<int>(left));
    if (!pdu) return std::nullopt;
    if (pdu->commandId() == commandId) return pdu;
  }
}

bool PduClient::waitClosed(int timeoutMs) {
  const int64_t deadline = nowMs() + timeoutMs;
  char buf[4096];
  while (nowMs() < deadline) {
    pollfd pfd{fd_, POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(1, deadline - nowMs())));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
    if (k == 0) return true;
    if (k < 0 && errno != EINTR && errno != EAGAIN) return true;
  }
  return false;
}

}  // namespace tt::test
