// msg_server: config -> logging -> reactor -> client port + upstream links -> serve until SIGTERM.
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <exception>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/Daemon.h"
#include "msg_server/MsgServer.h"
#include "netlib/EventDispatch.h"
#include "netlib/SignalWatcher.h"

using namespace tt;

namespace {

// MaxConnCnt clients need as many descriptors (plus upstream links, logs, epoll): raise the soft
// limit, and the hard one when allowed (root, up to fs.nr_open). Says so when it cannot.
void raiseFdLimit(uint64_t maxConnCnt) {
  const rlim_t want = static_cast<rlim_t>(maxConnCnt) + 1024;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= want) return;
  rlimit next = lim;
  next.rlim_cur = want;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) {
    rlim_t nrOpen = want;
    if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1) nrOpen = static_cast<rlim_t>(v);
      std::fclose(f);
    }
    next.rlim_cur = next.rlim_max = std::min(want, nrOpen);
    if (::setrlimit(RLIMIT_NOFILE, &next) == 0) {
      spdlog::info("open-file limit raised to {} (MaxConnCnt={})", next.rlim_cur, maxConnCnt);
      return;
    }
    next.rlim_cur = next.rlim_max = lim.rlim_max;  // not allowed to raise the hard limit
  }
  if (::setrlimit(RLIMIT_NOFILE, &next) != 0) {
    spdlog::warn("cannot raise the open-file limit from {}: {}", lim.rlim_cur, std::strerror(errno));
  } else if (next.rlim_cur < want) {
    spdlog::warn("open-file limit is {} (hard limit), below MaxConnCnt={} + 1024: raise LimitNOFILE", next.rlim_cur,
                 maxConnCnt);
  } else {
    spdlog::info("open-file limit raised to {} (MaxConnCnt={})", next.rlim_cur, maxConnCnt);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto start = startDaemon(argc, argv, "msg_server", "msgserver.conf");
  if (!start) return 2;
  net::EventDispatch loop;
  std::unique_ptr<msg::MsgServer> server;
  net::SignalWatcher signals(&loop, [&](int signo) {
    spdlog::info("signal {} received", signo);
    if (server) {
      server->beginShutdown();
    } else {
      loop.quit();
    }
  });
  try {
    auto options = msg::readMsgServerOptions(start->config);
    raiseFdLimit(options.maxConnCnt);
    server = std::make_unique<msg::MsgServer>(&loop, std::move(options));
    std::string err;
    if (!server->start(&err)) {
      spdlog::critical("cannot listen: {}", err);
      return 1;
    }
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    return 1;
  }
  spdlog::info("msg_server ready");
  loop.loop();
  server.reset();
  spdlog::info("msg_server stopped");
  return 0;
}
