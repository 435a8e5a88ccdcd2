// Client requests answered by db_proxy without msg_server logic of its own: msg_server stamps the
// authenticated user id, forwards, and relays the answer (handlers for these live here).
#include "msg_server/MsgServer.h"

namespace tt::msg {

void registerForwardHandlers(MsgServer& server) { (void)server; }

}  // namespace tt::msg
