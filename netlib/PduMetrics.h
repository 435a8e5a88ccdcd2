#pragma once
// PDUs received and sent on one kind of link ("client", "db_proxy", "route_server", ...), by
// command: ttsuite_pdus_received_total / ttsuite_pdus_sent_total{link, command}. ImConn counts
// through the PduMetrics its options name (none: not counted).
//
// The counter of a command is found by indexing a fixed table with the id (service byte x low
// 6 bits) and created on first use; ids the protocol does not define share one "other" series,
// so a client sending random ids cannot create series.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/Metrics.h"

namespace tt::net {

class PduMetrics {
 public:
  // The process-wide instance for a link kind (created once, never destroyed).
  static PduMetrics& forLink(const std::string& link);

  void received(uint16_t commandId) noexcept { slot(rx_, commandId, rxFamily_).inc(); }
  void sent(uint16_t commandId) noexcept { slot(tx_, commandId, txFamily_).inc(); }
  // A whole encoded PDU (header included): counts its command id.
  void sentPdu(std::string_view pdu) noexcept;

 private:
  explicit PduMetrics(std::string link);
  static constexpr size_t kSlots = 16 * 64;
  using Table = std::array<std::atomic<metrics::Counter*>, kSlots + 1>;  // last: "other"
  metrics::Counter& slot(Table& table, uint16_t commandId, metrics::Family<metrics::Counter>& family) noexcept;

  const std::string link_;
  metrics::Family<metrics::Counter>& rxFamily_;
  metrics::Family<metrics::Counter>& txFamily_;
  Table rx_{};
  Table tx_{};
};

}  // namespace tt::net
