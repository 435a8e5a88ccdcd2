// netlib/PduMetrics: PDUs counted by link and command name; ids the protocol does not define
// share the "other" series, so random ids from a hostile peer cannot create series.
#include <gtest/gtest.h>

#include <string>

#include "base/Metrics.h"
#include "netlib/ImPdu.h"
#include "netlib/PduMetrics.h"

namespace {

uint64_t count(const std::string& family, const std::string& link, const std::string& command) {
  uint64_t v = 0;
  bool found = false;
  tt::metrics::Registry::global().counterFamily(family, "", {"link", "command"}).forEach(
      [&](const tt::metrics::Labels& l, const tt::metrics::Counter& c) {
        if (l[0] == link && l[1] == command) {
          v = c.value();
          found = true;
        }
      });
  return found ? v : UINT64_MAX;
}

size_t seriesOf(const std::string& family, const std::string& link) {
  size_t n = 0;
  tt::metrics::Registry::global().counterFamily(family, "", {"link", "command"}).forEach(
      [&](const tt::metrics::Labels& l, const tt::metrics::Counter&) { n += l[0] == link; });
  return n;
}

TEST(PduMetrics, CountsByCommandName) {
  auto& m = tt::net::PduMetrics::forLink("unit_a");
  m.received(0x0301);
  m.received(0x0301);
  m.sent(0x0302);
  EXPECT_EQ(count("ttsuite_pdus_received_total", "unit_a", "CID_MSG_DATA"), 2u);
  EXPECT_EQ(count("ttsuite_pdus_sent_total", "unit_a", "CID_MSG_DATA_ACK"), 1u);
  // A whole encoded PDU: its header names the command.
  m.sentPdu(tt::net::encodePdu(7, 0x0701, 0, std::string_view()));
  EXPECT_EQ(count("ttsuite_pdus_sent_total", "unit_a", "CID_OTHER_HEARTBEAT"), 1u);
  m.sentPdu("short");  // not a PDU: not counted, no crash
  EXPECT_EQ(&tt::net::PduMetrics::forLink("unit_a"), &m);
}

TEST(PduMetrics, UndefinedIdsShareOneSeries) {
  auto& m = tt::net::PduMetrics::forLink("unit_b");
  for (uint32_t id = 0; id <= 0xffff; id += 7) m.received(static_cast<uint16_t>(id));
  m.received(0x0301);
  // Defined commands hit by the sweep, plus "other": far fewer than the 9,363 ids sent.
  EXPECT_LT(seriesOf("ttsuite_pdus_received_total", "unit_b"), 40u);
  EXPECT_GT(count("ttsuite_pdus_received_total", "unit_b", "other"), 9000u);
  EXPECT_EQ(count("ttsuite_pdus_received_total", "unit_b", "CID_MSG_DATA"), 1u);
}

}  // namespace
