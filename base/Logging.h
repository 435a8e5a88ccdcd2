#pragma once

#include <string>

namespace tt {

class Config;

struct LogOptions {
  std::string name;            // logger name, shown on every line (usually the daemon's name)
  std::string level = "info";  // trace, debug, info, warn(ing), err(or), critical, off
  std::string file;            // empty = stderr only
};

// Installs the process-wide default logger, so any code can call spdlog::info(...).
// Lines go to stderr and, when options.file is set, are appended to that file as well (its parent
// directories are created). Throws std::runtime_error naming the bad level or the path that
// could not be opened. Call once from main() before starting threads: spdlog does not allow
// swapping the default logger while other threads log.
void initLogging(const LogOptions& options);

// Reads the optional keys LogLevel (default "info") and LogFile (default: none) from a config.
// A bad LogLevel throws ConfigError naming the key, file and line.
LogOptions logOptionsFrom(const Config& config, const std::string& name);

}  // namespace tt
