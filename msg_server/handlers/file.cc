// IM.File, msg_server's side (PROTOCOL.md §3.7, §4.h). The bytes travel through file_server; here
// are the offline-file bookkeeping in db_proxy and the notifies that tell a receiver where to go.
//   CID_FILE_HAS_OFFLINE_REQ 0x0509  C->M->D->M->C, with the file_servers' client addresses added
//   CID_FILE_ADD_OFFLINE_REQ 0x050b  C->M->D (no answer), then IMFileNotify{offline, ready} to the
//                                    receiver's PC connections here and, through route, elsewhere
//   CID_FILE_DEL_OFFLINE_REQ 0x050c  C->M->D (no answer); only the receiver deletes
//   CID_FILE_REQUEST 0x0506          refused (result 1) until the file_server issue lands
//   CID_FILE_NOTIFY 0x0508 from route: to the receiver's connections here
// On connecting to a file_server msg_server asks its client addresses (0x0733 -> 0x0734).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "IM.BaseDefine.pb.h"
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
  const std::string out = net::encodePdu(SID_FILE, CID_FILE_NOTIFY, 0, notify);
  for (const auto& c : server.users().connections(req.to_user_id())) {
    ClientSession* s = sessionOf(c);
    if (s && !isMobile(s->clientType)) c->sendRaw(out);  // TeamTalk's mobile clients do no file transfer
  }
  notifyRoute(server, out, CID_FILE_NOTIFY);
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

// Transfers go through a file_server task, which is the file_server issue's work; until then every
// request is refused with the protocol's failure form, all required fields filled.
void onFileRequest(MsgServer& server, const net::ImConnPtr& conn, const net::ImPdu& pdu, IM::File::IMFileReq& req) {
  IM::File::IMFileRsp rsp;
  rsp.set_result_code(1);
  rsp.set_from_user_id(userOf(conn));
  rsp.set_to_user_id(req.to_user_id());
  rsp.set_file_name(req.file_name());
  rsp.set_task_id("");
  rsp.set_trans_mode(req.trans_mode());
  conn->send(SID_FILE, CID_FILE_RESPONSE, pdu.seqNum(), rsp);
  logUnanswered(conn, CID_FILE_REQUEST,
                server.file().liveCount() == 0 ? "no file_server link" : "file transfer not available yet");
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
  cmds.on<IM::File::IMFileReq>(CID_FILE_REQUEST,
                               [&server](const net::ImConnPtr& c, const net::ImPdu& pdu, IM::File::IMFileReq& req) {
                                 onFileRequest(server, c, pdu, req);
                               });

  // A file offered through another msg_server: the receiver's connections here.
  server.routeCommands().on<IM::File::IMFileNotify>(
      CID_FILE_NOTIFY, [&server](const net::ImConnPtr&, const net::ImPdu&, IM::File::IMFileNotify& n) {
        server.deliverToUser(n.to_user_id(), net::encodePdu(SID_FILE, CID_FILE_NOTIFY, 0, n));
      });
}

}  // namespace tt::msg
