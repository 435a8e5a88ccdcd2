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
#include "netlib/DaemonMain.h"

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
  net::DaemonParts<msg::MsgServer> parts;
  parts.make = [](net::EventDispatch* loop, const DaemonStart& start, std::string*) {
    auto options = msg::readMsgServerOptions(start.config);
    raiseFdLimit(options.maxConnCnt);
    return std::make_unique<msg::MsgServer>(loop, std::move(options));
  };
  // beginShutdown() tells clients and links, drains, then ends the loop itself.
  parts.stop = [](msg::MsgServer& server, const std::function<void()>&) { server.beginShutdown(); };
  return net::runDaemon(argc, argv, "msg_server", "msgserver.conf", parts);
}
