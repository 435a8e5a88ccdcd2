#pragma once
// db_proxy's command table: command id -> handler run on a worker thread. A handler gets the request
// (a copy of the PDU, named by the connection's id, never by pointer) and fills a Response with the
// PDUs to send back; the reactor thread delivers them if that connection still exists.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "netlib/Callbacks.h"
#include "netlib/ImPdu.h"

namespace tt::dbproxy {

struct DbContext;

struct Request {
  net::ConnId conn = 0;
  net::PduHeader header;
  std::string body;

  uint16_t seq() const { return header.seqNum; }
  uint16_t commandId() const { return header.commandId; }
};

class Response {
 public:
  explicit Response(const Request& req) : seq_(req.header.seqNum) {}
  Response(net::ConnId, uint16_t seq) : seq_(seq) {}

  // Answer with the request's seq_num, as every TeamTalk peer expects.
  void reply(uint16_t serviceId, uint16_t commandId, const google::protobuf::MessageLite& msg) {
    pdus_.push_back(net::encodePdu(serviceId, commandId, seq_, msg));
  }
  void send(uint16_t serviceId, uint16_t commandId, uint16_t seq, const google::protobuf::MessageLite& msg) {
    pdus_.push_back(net::encodePdu(serviceId, commandId, seq, msg));
  }
  // The request broke the protocol (e.g. a body that does not parse): close the connection.
  void close(std::string reason) { closeReason_ = std::move(reason); }

  std::vector<std::string>& pdus() { return pdus_; }
  const std::string& closeReason() const { return closeReason_; }

 private:
  uint16_t seq_;
  std::vector<std::string> pdus_;
  std::string closeReason_;
};

using HandlerFn = std::function<void(DbContext&, const Request&, Response&)>;

class HandlerTable {
 public:
  struct Entry {
    std::string name;
    HandlerFn fn;
  };

  void add(uint16_t commandId, std::string name, HandlerFn fn) {
    table_[commandId] = Entry{std::move(name), std::move(fn)};
  }

  // fn(DbContext&, const Request&, Msg& parsed, Response&); a body that does not parse (or lacks a
  // required field) closes the connection and never reaches fn.
  template <class Msg, class F>
  void add(uint16_t commandId, std::string name, F fn) {
    table_[commandId] = Entry{name, [fn = std::move(fn), name](DbContext& ctx, const Request& req, Response& res) {
                                Msg msg;
                                if (!msg.ParseFromString(req.body)) {
                                  res.close("malformed " + name + " body (" + std::to_string(req.body.size()) +
                                            " bytes)");
                                  return;
                                }
                                fn(ctx, req, msg, res);
                              }};
  }

  const Entry* find(uint16_t commandId) const {
    auto it = table_.find(commandId);
    return it == table_.end() ? nullptr : &it->second;
  }
  size_t size() const { return table_.size(); }
  std::vector<uint16_t> commandIds() const {
    std::vector<uint16_t> ids;
    for (const auto& [id, e] : table_) ids.push_back(id);
    return ids;
  }

 private:
  std::unordered_map<uint16_t, Entry> table_;
};

// Each area registers its handlers (handlers/*.cc).
void registerLoginHandlers(HandlerTable& table);
void registerBuddyHandlers(HandlerTable& table);
void registerMessageHandlers(HandlerTable& table);
void registerGroupHandlers(HandlerTable& table);
void registerFileHandlers(HandlerTable& table);
void registerOtherHandlers(HandlerTable& table);

}  // namespace tt::dbproxy
