#pragma once
// The common start of every daemon's main(): `<daemon> [-c|--config] <file.conf>`; the config is
// loaded and logging initialised from it (LogLevel, LogFile). A bad argument, an unreadable config
// or a bad key ends start-up with one clear line on stderr and exit status 2.
#include <optional>
#include <string>

#include "base/Config.h"

namespace tt {

struct DaemonStart {
  std::string configPath;
  Config config;
};

// Returns nullopt after printing the reason (the caller returns 2 from main).
std::optional<DaemonStart> startDaemon(int argc, char** argv, const std::string& name,
                                       const std::string& defaultConfig);

}  // namespace tt
