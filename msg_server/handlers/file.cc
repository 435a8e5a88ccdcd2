// IM.File, msg_server's side (docs/PROTOCOL.md §2.6, §3.9). The bytes travel through file_server; here
// are the offline-file bookkeeping in db_proxy and the notifies that tell a receiver where to go.
//   CID_FILE_HAS_OFFLINE_REQ 0x0509  C->M->D->M->C, with the file_servers' client addresses added
//   CID_FILE_ADD_OFFLINE_REQ 0x050b  C->M->D (no answer), then IMFileNotify{offline, ready} to the
//                                    receiver's PC connections here and, through route, elsewhere
//   CID_FILE_DEL_OFFLINE_REQ 0x050c  C->M->D (no answer); only the receiver deletes
//   CID_FILE_REQUEST 0x0506          C->M(->R status)->F 0x0731/0x0732->M: IMFileRsp to the sender,
//                                    IMFileNotify{offline_ready 0} to the receiver (here + route)
//   CID_FILE_NOTIFY 0x0508 from route: to the receiver's connections here
// On connecting to a file_server msg_server asks its client addresses (0x0733 -> 0x0734).
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
#include "IM.Buddy.pb.h"
#include "IM.File.pb.h"
#include "IM.Server.pb.h"
#include "msg_server/MsgServer.h"
#include "msg_server/handlers/Handlers.h"

namespace tt::msg {

using namespace IM::BaseDefine;

namespace {

using IpList = google::protobuf::RepeatedPtrField<IpAddr>;

// The addresses clients reach the file_servers on, as each file_server link reported them.
class FileServerAddrs {
 public:
  void set(net::ConnId link, const IpList& addrs) { byLink_[link].assign(addrs.begin(), addrs.end()); }
  // Appends the addresses of the links that are up now (and forgets those of links gone).
  void appendTo(IpList* out, const Upstreams& links) {
    std::map<net::ConnId, std::vector<IpAddr>> live;
    for (const auto& link : links.live()) {
      auto it = byLink_.find(link->id());
      if (it == byLink_.end()) continue;
      for (const auto& a : it->second) *out->Add() = a;
      live.insert(std::move(*it));
    }
    byLink_.swap(live);
  }

 private:
  std::map<net::ConnId, std::vector<IpAddr>> byLink_;
};

// A file offered to notify.to_user_id(): to the receiver's PC connections here (TeamTalk's mobile
// clients do no file transfer) and, through route, to its connections on other msg_servers.
void notifyReceiver(MsgServer& server, const IM::File::IMFileNotify& notify) {
  const std::string out = net::encodePdu(SID_FILE, CID_FILE_NOTIFY, 0, notify);
  for (const auto& c : server.users().connections(notify.to_user_id())) {
    ClientSession* s = sessionOf(c);
    if (s && !isMobile(s->clientType)) c->sendRaw(out);
  }
  notifyRoute(server, out, CID_FILE_NOTIFY);
}

void onHasOffline(MsgServer& server, const std::shared_ptr<FileServerAddrs>& addrs, const net::ImConnPtr& conn,
                  const net::ImPdu& pdu, IM::File::IMFileHasOfflineReq& req) {
  const uint16_t seq = pdu.seqNum();
  req.set_user_id(userOf(conn));
  auto onAnswer = [&server, addrs, seq](const net::ImConnPtr& client, const net::ImPdu* answer) {
    if (!client) return;
    IM::File::IMFileHasOfflineRsp rsp;
    if (!answer || !answer->parse(&rsp)) {
      logUnanswered(client, CID_FILE_HAS_OFFLINE_REQ, answer ? "malformed db_proxy answer" : "db_proxy did not answer");
      return;
    }
    rsp.clear_attach_data();
    addrs->appendTo(rsp.mutable_ip_addr_list(), server.file());
    client->send(SID_FILE, CID_FILE_HAS_OFFLINE_RES, seq, rsp);
  };
  if (!ask(server, server.dbFor(req.user_id()), SID_FILE, CID_FILE_HAS_OFFLINE_REQ, req, conn, seq, onAnswer)) {
    logUnanswered(conn, CID_FILE_HAS_OFFLINE_REQ, "no db_proxy link");
  }
}

// The uploader finished an offline upload: register it for the receiver and tell the receiver.
void onAddOffline(MsgServer& server, const std::shared_ptr<FileServerAddrs>& addrs, const net::ImConnPtr& conn,
                  const net::ImPdu& pdu, IM::File::IMFileAddOfflineReq& req) {
  req.set_from_user_id(userOf(conn));
  if (net::ImConnPtr db = server.dbFor(req.from_user_id())) {
    db->send(SID_FILE, CID_FILE_ADD_OFFLINE_REQ, pdu.seqNum(), req);
  } else {
    logUnanswered(conn, CID_FILE_ADD_OFFLINE_REQ, "no db_proxy link; offline file not registered");
  }
  // The file is on the file_server either way: a receiver online now can still fetch it.
  IM::File::IMFileNotify notify;
  notify.set_from_user_id(req.from_user_id());
  notify.set_to_user_id(req.to_user_id());
  notify.set_file_name(req.file_name());
  notify.set_file_size(req.file_size());
  notify.set_task_id(req.task_id());
  addrs->appendTo(notify.mutable_ip_addr_list(), server.file());
  notify.set_trans_mode(FILE_TYPE_OFFLINE);
  notify.set_offline_ready(1);
  notifyReceiver(server, notify);
}

// The receiver has downloaded the file. It names the sender; it is the receiver itself (the
// original trusted both ids, so anyone could delete anyone's pending file).
void onDelOffline(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu,
                  IM::File::IMFileDelOfflineReq& req) {
  req.set_to_user_id(userOf(conn));
  if (net::ImConnPtr db = server.dbFor(req.to_user_id())) {
    db->send(SID_FILE, CID_FILE_DEL_OFFLINE_REQ, pdu.seqNum(), req);
  } else {
    logUnanswered(conn, CID_FILE_DEL_OFFLINE_REQ, "no db_proxy link; offline file not deleted");
  }
}

void refuseFileRequest(const net::ImConnPtr& conn, uint16_t seq, const IM::File::IMFileReq& req,
                       std::string_view why) {
  IM::File::IMFileRsp rsp;
  rsp.set_result_code(1);
  rsp.set_from_user_id(userOf(conn));
  rsp.set_to_user_id(req.to_user_id());
  rsp.set_file_name(req.file_name());
  rsp.set_task_id("");
  rsp.set_trans_mode(req.trans_mode());
  conn->send(SID_FILE, CID_FILE_RESPONSE, seq, rsp);
  logUnanswered(conn, CID_FILE_REQUEST, why);
}

// docs/PROTOCOL.md §3.9.1 steps 3-5 once the mode is settled: a task from a file_server, then IMFileRsp to the sender
// and IMFileNotify{offline_ready 0} to the receiver (PC connections here, the rest through route).
void createTask(MsgServer& server, const std::shared_ptr<FileServerAddrs>& addrs, const net::ImConnPtr& conn,
                uint16_t seq, const IM::File::IMFileReq& req, TransferFileType mode) {
  IM::Server::IMFileTransferReq treq;
  treq.set_from_user_id(req.from_user_id());
  treq.set_to_user_id(req.to_user_id());
  treq.set_file_name(req.file_name());
  treq.set_file_size(req.file_size());
  treq.set_trans_mode(mode);
  auto onAnswer = [&server, addrs, seq, req](const net::ImConnPtr& client, const net::ImPdu* answer) {
    if (!client) return;  // the sender left; the task expires on the file_server
    IM::Server::IMFileTransferRsp trsp;
    if (!answer || !answer->parse(&trsp)) {
      return refuseFileRequest(client, seq, req,
                               answer ? "malformed file_server answer" : "file_server did not answer");
    }
    if (trsp.result_code() != 0 || !trsp.has_task_id()) {
      return refuseFileRequest(client, seq, req,
                               "file_server refused the task (" + std::to_string(trsp.result_code()) + ")");
    }
    IM::File::IMFileRsp rsp;
    rsp.set_result_code(0);
    rsp.set_from_user_id(req.from_user_id());
    rsp.set_to_user_id(req.to_user_id());
    rsp.set_file_name(req.file_name());
    rsp.set_task_id(trsp.task_id());
    addrs->appendTo(rsp.mutable_ip_addr_list(), server.file());
    rsp.set_trans_mode(trsp.has_trans_mode() ? trsp.trans_mode() : req.trans_mode());
    client->send(SID_FILE, CID_FILE_RESPONSE, seq, rsp);

    IM::File::IMFileNotify notify;
    notify.set_from_user_id(req.from_user_id());
    notify.set_to_user_id(req.to_user_id());
    notify.set_file_name(req.file_name());
    notify.set_file_size(req.file_size());
    notify.set_task_id(trsp.task_id());
    *notify.mutable_ip_addr_list() = rsp.ip_addr_list();
    notify.set_trans_mode(rsp.trans_mode());
    notify.set_offline_ready(0);
    notifyReceiver(server, notify);
  };
  if (!ask(server, server.file().pick(req.from_user_id()), SID_OTHER, CID_OTHER_FILE_TRANSFER_REQ, treq, conn, seq,
           onAnswer)) {
    refuseFileRequest(conn, seq, req, "no file_server link");
  }
}

bool hasLocalPcClient(MsgServer& server, uint32_t userId) {
  for (const auto& c : server.users().connections(userId)) {
    ClientSession* s = sessionOf(c);
    if (s && s->state == ClientSession::State::kOnline && !isMobile(s->clientType)) return true;
  }
  return false;
}

// The sender's user id is the session's. An online transfer needs the receiver's PC client online
// (here, or elsewhere as route_server says); otherwise it becomes offline (docs/PROTOCOL.md §3.9.1 step 3).
void onFileRequest(MsgServer& server, const std::shared_ptr<FileServerAddrs>& addrs, const net::ImConnPtr& conn,
                   const net::ImPdu& pdu, IM::File::IMFileReq& req) {
  const uint16_t seq = pdu.seqNum();
  req.set_from_user_id(userOf(conn));
  if (server.file().liveCount() == 0) return refuseFileRequest(conn, seq, req, "no file_server link");
  if (req.to_user_id() == 0 || req.to_user_id() == req.from_user_id()) {
    return refuseFileRequest(conn, seq, req, "no such receiver");
  }
  if (req.trans_mode() == FILE_TYPE_OFFLINE || hasLocalPcClient(server, req.to_user_id())) {
    return createTask(server, addrs, conn, seq, req, req.trans_mode());
  }
  IM::Buddy::IMUsersStatReq stat;
  stat.set_user_id(req.from_user_id());
  stat.add_user_id_list(req.to_user_id());
  auto onStatus = [&server, addrs, seq, req](const net::ImConnPtr& client, const net::ImPdu* answer) {
    if (!client) return;
    IM::Buddy::IMUsersStatRsp rsp;
    bool pcOnline = false;
    if (answer && answer->parse(&rsp)) {
      for (const auto& s : rsp.user_stat_list()) {
        pcOnline |= s.user_id() == req.to_user_id() && s.status() == USER_STATUS_ONLINE;
      }
    }
    createTask(server, addrs, client, seq, req, pcOnline ? FILE_TYPE_ONLINE : FILE_TYPE_OFFLINE);
  };
  if (!ask(server, server.route().first(), SID_BUDDY_LIST, CID_BUDDY_LIST_USERS_STATUS_REQUEST, stat, conn, seq,
           onStatus)) {
    createTask(server, addrs, conn, seq, req, FILE_TYPE_OFFLINE);  // no route: nobody else is reachable
  }
}

}  // namespace

void registerFileHandlers(MsgServer& server) {
  auto addrs = std::make_shared<FileServerAddrs>();

  server.file().setConnectHandler([](const net::ImConnPtr& link) {
    link->send(SID_OTHER, CID_OTHER_FILE_SERVER_IP_REQ, 0, IM::Server::IMFileServerIPReq());
  });
  server.serverCommands().on<IM::Server::IMFileServerIPRsp>(
      CID_OTHER_FILE_SERVER_IP_RSP,
      [addrs](const net::ImConnPtr& link, const net::ImPdu&, IM::Server::IMFileServerIPRsp& rsp) {
        spdlog::info("file_server {}: {} client address(es)", link->name(), rsp.ip_addr_list_size());
        addrs->set(link->id(), rsp.ip_addr_list());
      });

  auto& cmds = server.clientCommands();
  cmds.on<IM::File::IMFileHasOfflineReq>(
      CID_FILE_HAS_OFFLINE_REQ,
      [&server, addrs](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileHasOfflineReq& req) {
        onHasOffline(server, addrs, c, pdu, req);
      });
  cmds.on<IM::File::IMFileAddOfflineReq>(
      CID_FILE_ADD_OFFLINE_REQ,
      [&server, addrs](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileAddOfflineReq& req) {
        onAddOffline(server, addrs, c, pdu, req);
      });
  cmds.on<IM::File::IMFileDelOfflineReq>(
      CID_FILE_DEL_OFFLINE_REQ,
      [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileDelOfflineReq& req) {
        onDelOffline(server, c, pdu, req);
      });
  cmds.on<IM::File::IMFileReq>(
      CID_FILE_REQUEST, [&server, addrs](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileReq& req) {
        onFileRequest(server, addrs, c, pdu, req);
      });

  // A file offered through another msg_server: the receiver's connections here.
  server.routeCommands().on<IM::File::IMFileNotify>(
      CID_FILE_NOTIFY, [&server](const net::ImConnPtr&, const net::ImPdu&, IM::File::IMFileNotify& n) {
        server.deliverToUser(n.to_user_id(), net::encodePdu(SID_FILE, CID_FILE_NOTIFY, 0, n));
      });
}

}  // namespace tt::msg
