#include "base/Logging.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/Config.h"
#include "base/Signals.h"

namespace tt {

namespace {

constexpr const char* kLevelNames = "trace, debug, info, warn, error, critical, off";

// spdlog::level::from_str maps every unknown string to "off", which would turn a typo into a
// silent daemon; so an unknown name is reported instead.
bool parseLevel(std::string name, spdlog::level::level_enum& out) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const spdlog::level::level_enum level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") return false;
  out = level;
  return true;
}

std::shared_ptr<spdlog::sinks::sink> openFileSink(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("log file '" + path + "': cannot create directory '" +
                               parent.string() + "': " + ec.message());
    }
  }
  try {
    return std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error("log file '" + path + "': cannot open: " + e.what());
  }
}

}  // namespace

void initLogging(const LogOptions& options) {
  spdlog::level::level_enum level = spdlog::level::info;
  if (!parseLevel(options.level, level)) {
    throw std::runtime_error("invalid log level '" + options.level + "' (use " + kLevelNames +
                             ")");
  }

  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) sinks.push_back(openFileSink(options.file));

  auto logger = std::make_shared<spdlog::logger>(options.name, sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-8l%$ [%t] %n: %v");
  // Warnings and errors reach the disk at once (they are what gets read after a crash); the
  // rest is flushed at least once a second so `tail -f` stays useful without a write per line.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  // flush_every starts a thread; it must not be the one a SIGTERM lands on.
  TerminationSignalsBlocked blocked;
  spdlog::flush_every(std::chrono::seconds(1));
}

LogOptions logOptionsFrom(const Config& config, const std::string& name) {
  LogOptions options;
  options.name = name;
  options.level = config.getString("LogLevel", options.level);
  options.file = config.getString("LogFile", "");
  spdlog::level::level_enum unused;
  if (!parseLevel(options.level, unused)) {
    config.fail("LogLevel", "'" + options.level + "' is not a log level (use " +
                                std::string(kLevelNames) + ")");
  }
  return options;
}

}  // namespace tt
