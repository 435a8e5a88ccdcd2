#pragma once
// A blocking PDU client for integration tests: what a peer daemon (msg_server, file_server) or a
// TeamTalk client puts on the wire, without the reactor, so a test reads like the protocol sheet.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <google/protobuf/message_lite.h>

#include "netlib/ImPdu.h"

namespace tt::test {

struct ReceivedPdu {
  net::PduHeader header;
  std::string body;
  uint16_t commandId() const { return header.commandId; }
  uint16_t seq() const { return header.seqNum; }
  template <class M>
  M as() const {
    M m;
    if (!m.ParseFromString(body)) throw std::runtime_error("response body does not parse as " + m.GetTypeName());
    return m;
  }
};

class PduClient {
 public:
  PduClient() = default;
  ~PduClient();
  PduClient(const PduClient&) = delete;
  PduClient& operator=(const PduClient&) = delete;

  bool connect(int port, const std::string& host = "127.0.0.1");
  void close();
  bool connected() const { return fd_ >= 0; }

  bool send(uint16_t serviceId, uint16_t commandId, uint16_t seq, const google::protobuf::MessageLite& msg);
  bool sendRaw(const std::string& bytes);
  // Waits return as soon as what they wait for arrives; the default deadlines are generous
  // because a busy machine can be slow.
  // Next PDU that is not a heartbeat, or nullopt on timeout / close.
  std::optional<ReceivedPdu> receive(int timeoutMs = 15000);
  // Next PDU with this command id (others are skipped), or nullopt.
  std::optional<ReceivedPdu> receiveCommand(uint16_t commandId, int timeoutMs = 15000);
  // true if the peer closes the connection within timeoutMs (anything it sends first is skipped).
  bool waitClosed(int timeoutMs = 15000);

 private:
  bool readExact(char* p, size_t n, int64_t deadlineMs);
  int fd_ = -1;
};

}  // namespace tt::test
