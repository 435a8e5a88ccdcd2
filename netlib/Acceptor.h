#pragma once
// A listening socket. Accepts in a loop until EAGAIN; when the process runs out of descriptors
// (EMFILE) it frees a spare fd, accepts and closes the pending connection, and re-opens the spare,
// so the listener neither spins on a full backlog nor stalls.
#include <functional>
#include <string>

#include "netlib/BaseSocket.h"
#include "netlib/InetAddress.h"

namespace tt::net {

class EventDispatch;

class Acceptor {
 public:
  using NewConnectionCallback = std::function<void(int fd, const InetAddress& peer)>;

  Acceptor(EventDispatch* loop, const InetAddress& listenAddr, int backlog);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Binds and listens. false with *err set (e.g. "bind 0.0.0.0:8000: Address already in use").
  bool listen(std::string* err);
  void setNewConnectionCallback(NewConnectionCallback cb) { callback_ = std::move(cb); }
  const InetAddress& address() const { return addr_; }  // actual port after listen() with port 0
  bool listening() const { return listening_; }
  void stop();  // stop accepting and close the listening fd; safe from the accept callback

 private:
  void handleRead();

  EventDispatch* loop_;
  InetAddress addr_;
  const int backlog_;
  int fd_ = -1;
  int idleFd_ = -1;
  bool listening_ = false;
  std::unique_ptr<BaseSocket> socket_;
  NewConnectionCallback callback_;
};

}  // namespace tt::net
