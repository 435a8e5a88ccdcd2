#include "base/Daemon.h"

#include <cstdio>
#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

#include "base/Logging.h"

namespace tt {

std::optional<DaemonStart> startDaemon(int argc, char** argv, const std::string& name,
                                       const std::string& defaultConfig) {
  std::string path = defaultConfig;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      path = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      std::fprintf(stderr, "usage: %s [-c|--config] <file.conf>   (default %s)\n", name.c_str(),
                   defaultConfig.c_str());
      return std::nullopt;
    } else if (!arg.empty() && arg[0] != '-') {
      path = arg;
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (usage: %s -c <file.conf>)\n", name.c_str(), arg.c_str(),
                   name.c_str());
      return std::nullopt;
    }
  }
  try {
    Config config = Config::load(path);
    initLogging(logOptionsFrom(config, name));
    spdlog::info("{} starting with {}", name, path);
    return DaemonStart{path, std::move(config)};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return std::nullopt;
  }
}

}  // namespace tt
