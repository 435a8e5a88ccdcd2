#include "netlib/PduMetrics.h"

#include <map>
#include <memory>
#include <mutex>

#include "netlib/ImPdu.h"
#include "proto/CommandNames.h"

namespace tt::net {

PduMetrics& PduMetrics::forLink(const std::string& link) {
  static std::mutex mutex;
  static auto* all = new std::map<std::string, std::unique_ptr<PduMetrics>>;  // never destroyed
  std::lock_guard<std::mutex> lock(mutex);
  auto& p = (*all)[link];
  if (!p) p.reset(new PduMetrics(link));
  return *p;
}

PduMetrics::PduMetrics(std::string link)
    : link_(std::move(link)),
      rxFamily_(metrics::Registry::global().counterFamily("ttsuite_pdus_received_total",
                                                          "PDUs received, by link kind and command.",
                                                          {"link", "command"})),
      txFamily_(metrics::Registry::global().counterFamily("ttsuite_pdus_sent_total",
                                                          "PDUs sent, by link kind and command.", {"link", "command"})) {
  for (auto& s : rx_) s.store(nullptr, std::memory_order_relaxed);
  for (auto& s : tx_) s.store(nullptr, std::memory_order_relaxed);
}

metrics::Counter& PduMetrics::slot(Table& table, uint16_t id, metrics::Family<metrics::Counter>& family) noexcept {
  const std::string* name = nullptr;
  size_t index = kSlots;
  if ((id >> 8) < 16 && (id & 0xff) < 64) {
    index = (id >> 8) * 64 + (id & 0x3f);
  }
  metrics::Counter* c = table[index].load(std::memory_order_acquire);
  if (c) return *c;
  if (index != kSlots) name = proto::commandName(id);
  if (!name) index = kSlots;  // an id the protocol does not define
  c = table[index].load(std::memory_order_acquire);
  if (!c) {
    c = &family.with({link_, name ? *name : std::string("other")});
    table[index].store(c, std::memory_order_release);
  }
  // An undefined id in a defined slot's place keeps that slot empty (looked up again next time).
  return *c;
}

void PduMetrics::sentPdu(std::string_view pdu) noexcept {
  if (pdu.size() < kPduHeaderSize) return;
  const auto* b = reinterpret_cast<const unsigned char*>(pdu.data());
  sent(static_cast<uint16_t>(b[10] << 8 | b[11]));
}

}  // namespace tt::net
