#pragma once
// One established TCP connection, owned by shared_ptr (its server's map, plus whoever is using it
// at the moment). All I/O happens on the owning loop's thread; send() from another thread copies
// the bytes and posts them. Closing is always safe from inside the connection's own callbacks and
// from timers: the socket is unregistered at once and the object dies when the last owner lets go.
#include <any>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "netlib/BaseSocket.h"
#include "netlib/Buffer.h"
#include "netlib/Callbacks.h"
#include "netlib/InetAddress.h"

namespace tt::net {

class EventDispatch;

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  // Default cap on bytes queued for a peer that does not read (see setMaxOutputBytes).
  static constexpr size_t kDefaultMaxOutputBytes = 16 * 1024 * 1024;

  TcpConnection(EventDispatch* loop, ConnId id, int fd, const InetAddress& local, const InetAddress& peer);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  EventDispatch* loop() const { return loop_; }
  ConnId id() const { return id_; }
  int fd() const { return fd_; }
  const InetAddress& localAddress() const { return local_; }
  const InetAddress& peerAddress() const { return peer_; }
  std::string name() const;  // "#id peer" for log lines
  bool connected() const { return state_ == State::kConnected; }
  // True once forceClose() was asked for (loop thread): stop handling this peer's input.
  bool closing() const { return closing_ || state_ != State::kConnected; }
  bool disconnected() const { return state_ == State::kDisconnected; }

  // Thread-safe. Bytes are written at once if the socket takes them; the rest is queued and
  // EPOLLOUT is armed until the queue drains. Beyond the output cap the connection is closed.
  void send(std::string_view data);
  void send(std::string&& data);
  void send(const char* data) { send(std::string_view(data)); }
  void send(Buffer* buf);  // loop thread only; consumes buf

  // Thread-safe. Half-close after pending output has been written.
  void shutdown();
  // Thread-safe. Close now, dropping pending output. reason is logged.
  void forceClose(std::string_view reason = {});

  void setTcpNoDelay(bool on);
  void setMaxOutputBytes(size_t n) { maxOutputBytes_ = n; }
  // Stop/start reading (flow control toward this peer).
  void stopRead();
  void startRead();

  void setConnectionCallback(ConnectionCallback cb) { connectionCallback_ = std::move(cb); }
  void setMessageCallback(MessageCallback cb) { messageCallback_ = std::move(cb); }
  void setWriteCompleteCallback(WriteCompleteCallback cb) { writeCompleteCallback_ = std::move(cb); }
  // Internal: the owner (server/client) removes its reference here.
  void setCloseCallback(CloseCallback cb) { closeCallback_ = std::move(cb); }

  Buffer* inputBuffer() { return &input_; }
  size_t pendingOutputBytes() const { return output_.readableBytes(); }
  int64_t lastReceiveMs() const { return lastReceiveMs_; }
  int64_t lastSendMs() const { return lastSendMs_; }
  uint64_t bytesReceived() const { return bytesReceived_; }
  uint64_t bytesSent() const { return bytesSent_; }

  // Free slot for the layer above (e.g. the ImConn that frames PDUs on this connection).
  std::any& context() { return context_; }

  // Called by the owner once, on the loop thread, after construction / after removal.
  void connectEstablished();
  void connectDestroyed();

 private:
  enum class State { kConnecting, kConnected, kDisconnecting, kDisconnected };

  void handleRead();
  void handleWrite();
  void handleClose();
  void handleError();
  void sendInLoop(const char* data, size_t len);
  void shutdownInLoop();
  void forceCloseInLoop(std::string reason);

  EventDispatch* loop_;
  const ConnId id_;
  const int fd_;
  std::atomic<State> state_{State::kConnecting};  // read by send() from other threads
  bool reading_ = false;
  bool closing_ = false;
  BaseSocket socket_;
  const InetAddress local_;
  const InetAddress peer_;
  Buffer input_;
  Buffer output_;
  size_t maxOutputBytes_ = kDefaultMaxOutputBytes;
  int64_t lastReceiveMs_ = 0;
  int64_t lastSendMs_ = 0;
  uint64_t bytesReceived_ = 0;
  uint64_t bytesSent_ = 0;
  ConnectionCallback connectionCallback_;
  MessageCallback messageCallback_;
  WriteCompleteCallback writeCompleteCallback_;
  CloseCallback closeCallback_;
  std::any context_;
};

}  // namespace tt::net
