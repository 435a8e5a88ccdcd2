#pragma once
// Command id -> handler, with one filter in front (e.g. "only heartbeat and login before login
// succeeds"). Typed registration parses the body once and closes the connection, with a log line,
// when it does not parse: handlers only ever see well-formed messages.
#include <functional>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "netlib/ImConn.h"

namespace tt::net {

class Dispatcher {
 public:
  using Handler = std::function<void(const ImConnPtr&, const ImPdu&)>;
  // Returns false to stop dispatch (the filter closes or answers the connection itself).
  using Filter = std::function<bool(const ImConnPtr&, const ImPdu&)>;

  void on(uint16_t commandId, Handler h) { handlers_[commandId] = std::move(h); }

  // f(const ImConnPtr&, const ImPdu&, Msg&)
  template <class Msg, class F>
  void on(uint16_t commandId, F f) {
    handlers_[commandId] = [f = std::move(f)](const ImConnPtr& conn, const ImPdu& pdu) {
      Msg msg;
      if (!pdu.parse(&msg)) {
        conn->close("malformed " + msg.GetTypeName() + " body (" + std::to_string(pdu.body.size()) + " bytes)");
        return;
      }
      f(conn, pdu, msg);
    };
  }

  void setFilter(Filter f) { filter_ = std::move(f); }
  void setUnknownHandler(Handler h) { unknown_ = std::move(h); }
  bool has(uint16_t commandId) const { return handlers_.count(commandId) != 0; }

  void dispatch(const ImConnPtr& conn, const ImPdu& pdu) const {
    if (filter_ && !filter_(conn, pdu)) return;
    auto it = handlers_.find(pdu.commandId());
    if (it != handlers_.end()) {
      it->second(conn, pdu);
    } else if (unknown_) {
      unknown_(conn, pdu);
    } else {
      spdlog::info("connection {}: no handler for command {:#06x}, dropped", conn->name(), pdu.commandId());
    }
  }

 private:
  std::unordered_map<uint16_t, Handler> handlers_;
  Filter filter_;
  Handler unknown_;
};

}  // namespace tt::net
