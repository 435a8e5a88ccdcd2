#include "proto/CommandNames.h"

#include "IM.BaseDefine.pb.h"

namespace tt::proto {

namespace bd = IM::BaseDefine;

const std::string* commandName(uint16_t id) {
  // The command enums are per service; the high byte of a command id is its service.
  switch (id >> 8) {
    case bd::SID_LOGIN:
      return bd::LoginCmdID_IsValid(id) ? &bd::LoginCmdID_Name(static_cast<bd::LoginCmdID>(id)) : nullptr;
    case bd::SID_BUDDY_LIST:
      return bd::BuddyListCmdID_IsValid(id) ? &bd::BuddyListCmdID_Name(static_cast<bd::BuddyListCmdID>(id)) : nullptr;
    case bd::SID_MSG:
      return bd::MessageCmdID_IsValid(id) ? &bd::MessageCmdID_Name(static_cast<bd::MessageCmdID>(id)) : nullptr;
    case bd::SID_GROUP:
      return bd::GroupCmdID_IsValid(id) ? &bd::GroupCmdID_Name(static_cast<bd::GroupCmdID>(id)) : nullptr;
    case bd::SID_FILE:
      return bd::FileCmdID_IsValid(id) ? &bd::FileCmdID_Name(static_cast<bd::FileCmdID>(id)) : nullptr;
    case bd::SID_SWITCH_SERVICE:
      return bd::SwitchServiceCmdID_IsValid(id)
                 ? &bd::SwitchServiceCmdID_Name(static_cast<bd::SwitchServiceCmdID>(id))
                 : nullptr;
    case bd::SID_OTHER:
      return bd::OtherCmdID_IsValid(id) ? &bd::OtherCmdID_Name(static_cast<bd::OtherCmdID>(id)) : nullptr;
    default:
      return nullptr;
  }
}

}  // namespace tt::proto
