#pragma once
// The name of a command id as IM.BaseDefine.proto spells it ("CID_MSG_DATA"), for log lines and
// metric labels. Ids the protocol does not define have no name: callers must not turn arbitrary
// ids from the wire into label values (a hostile client would create unbounded series).
#include <cstdint>
#include <string>

namespace tt::proto {

// nullptr when the id is not a command of the protocol.
const std::string* commandName(uint16_t commandId);

}  // namespace tt::proto
