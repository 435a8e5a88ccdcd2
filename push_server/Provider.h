#pragma once
// A push provider: one way of getting a Notification to a device (APNs over HTTP/2, a webhook).
// deliver() runs on the provider's own worker thread (DeliveryQueue) and may block up to the
// provider's timeout; it never touches the reactor.
#include <string>

#include "push_server/Notification.h"

namespace tt::push {

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const std::string& name() const = 0;
  // One attempt. Worker thread only.
  virtual Attempt deliver(const Notification& n) = 0;
  // A token this provider can never deliver to (checked on the reactor thread before queueing).
  virtual bool acceptsToken(const std::string& token) const = 0;
};

}  // namespace tt::push
