#pragma once
#include <cstdint>
#include <functional>
#include <memory>

namespace tt::net {

class Buffer;
class TcpConnection;

using TcpConnectionPtr = std::shared_ptr<TcpConnection>;
// Process-wide unique connection id. Worker threads name a connection by id, never by pointer or fd:
// a reply for a connection that has gone is then simply not delivered.
using ConnId = uint64_t;

using ConnectionCallback = std::function<void(const TcpConnectionPtr&)>;
using MessageCallback = std::function<void(const TcpConnectionPtr&, Buffer*)>;
using WriteCompleteCallback = std::function<void(const TcpConnectionPtr&)>;
using CloseCallback = std::function<void(const TcpConnectionPtr&)>;

ConnId nextConnId();

}  // namespace tt::net
