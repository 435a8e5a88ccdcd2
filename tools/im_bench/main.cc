// im_bench: TeamTalk load generator (see ImBench.h). Prints one result table, or JSON with --json.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "tools/im_bench/ImBench.h"

namespace {

const char* kUsage = R"(usage: im_bench [options] <scenario>
scenarios:
  idle N            N clients log in and stay idle for --idle seconds (default 60)
  login-storm N     N clients log in at once; with --restart-cmd, all reconnect after it
  chat N R          N clients in pairs, R messages/s in total for --duration seconds
  group M R         M members of --group, R group messages/s for --duration seconds
options:
  --login HOST:PORT       login_server HTTP (default 127.0.0.1:8080)
  --msg-server HOST:PORT  log in straight to this msg_server (repeat for several; client i uses
                          server i mod count; chat pairs alternate same-/cross-server)
  --users FMT             user name printf format of (first + i) (default bench_%d)
  --first N               first user number (default 1)
  --password P            (default ttsuite)
  --group ID              group id (group scenario)
  --client-type T         mac | windows (PC, default) | android | ios (mobile: no presence broadcast)
  --threads T             event loops (default 2)
  --duration S            sending time, chat/group (default 10)
  --idle S                idle time (default 60)
  --drain S               longest wait for outstanding deliveries after sending (default 10)
  --source-addrs A,B|N    local addresses to connect from, or N = 127.0.0.2 .. (auto above 20,000)
  --heartbeat MS          client heartbeat interval (default 30000)
  --window N              logins in flight per thread (default 1000)
  --login-timeout S       all clients must be online within S (default 300)
  --payload B             message text bytes (default 32)
  --rss-pid PID           report this msg_server's VmRSS (repeatable)
  --restart-cmd CMD       login-storm: shell command that restarts the msg_server(s)
  --max-client-rate R     msg_server's MaxMsgPerSecond, for the warning (default 20)
  --json                  print the result as one JSON object
  -v                      client library warnings on stderr
exit status: 0 ran (see lost/duplicated), 1 setup failure or clients not online, 2 usage
)";

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "im_bench: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  std::exit(2);
}

bool parseHostPort(const std::string& s, tt::bench::ServerAddr* out) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  char* end = nullptr;
  const long port = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) return false;
  out->host = s.substr(0, colon);
  out->port = static_cast<uint16_t>(port);
  return true;
}

double number(const std::string& s, const char* what) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= 0)) usage(std::string("bad ") + what + ": '" + s + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  tt::bench::BenchConfig cfg;
  bool asJson = false;
  std::vector<std::string> positional;
  spdlog::set_level(spdlog::level::err);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--login") {
      tt::bench::ServerAddr s;
      if (!parseHostPort(value(), &s)) usage("--login wants HOST:PORT");
      cfg.loginHost = s.host;
      cfg.loginPort = s.port;
    } else if (a == "--msg-server") {
      tt::bench::ServerAddr s;
      if (!parseHostPort(value(), &s)) usage("--msg-server wants HOST:PORT");
      cfg.msgServers.push_back(s);
    } else if (a == "--users") {
      cfg.userFormat = value();
      if (cfg.userFormat.find("%d") == std::string::npos) usage("--users needs one %d");
    } else if (a == "--first") {
      cfg.firstUser = static_cast<int>(number(value(), "--first"));
    } else if (a == "--password") {
      cfg.password = value();
    } else if (a == "--group") {
      cfg.groupId = static_cast<uint32_t>(number(value(), "--group"));
    } else if (a == "--client-type") {
      cfg.clientType = value();
    } else if (a == "--threads") {
      cfg.threads = static_cast<int>(number(value(), "--threads"));
    } else if (a == "--duration") {
      cfg.durationSec = number(value(), "--duration");
    } else if (a == "--idle") {
      cfg.idleSec = number(value(), "--idle");
    } else if (a == "--drain") {
      cfg.drainSec = number(value(), "--drain");
    } else if (a == "--source-addrs") {
      const std::string v = value();
      if (v.find('.') == std::string::npos) {
        const int count = static_cast<int>(number(v, "--source-addrs"));
        for (int k = 0; k < count; ++k) cfg.sourceAddrs.push_back("127.0.0." + std::to_string(2 + k));
      } else {
        size_t pos = 0;
        while (pos <= v.size()) {
          const size_t comma = v.find(',', pos);
          const std::string item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
          if (!item.empty()) cfg.sourceAddrs.push_back(item);
          if (comma == std::string::npos) break;
          pos = comma + 1;
        }
      }
    } else if (a == "--heartbeat") {
      cfg.heartbeatMs = static_cast<int64_t>(number(value(), "--heartbeat"));
    } else if (a == "--window") {
      cfg.loginWindow = std::max(1, static_cast<int>(number(value(), "--window")));
    } else if (a == "--login-timeout") {
      cfg.loginTimeoutSec = number(value(), "--login-timeout");
    } else if (a == "--payload") {
      cfg.payloadBytes = static_cast<int>(number(value(), "--payload"));
    } else if (a == "--rss-pid") {
      cfg.rssPids.push_back(static_cast<int>(number(value(), "--rss-pid")));
    } else if (a == "--restart-cmd") {
      const std::string cmd = value();
      cfg.restart = [cmd](std::string* err) {
        const int rc = std::system(cmd.c_str());
        if (rc != 0) *err = "'" + cmd + "' exited with status " + std::to_string(rc);
        return rc == 0;
      };
    } else if (a == "--max-client-rate") {
      cfg.maxPerClientRate = static_cast<int>(number(value(), "--max-client-rate"));
    } else if (a == "--json") {
      asJson = true;
    } else if (a == "-v") {
      cfg.verbose = true;
      spdlog::set_level(spdlog::level::warn);
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      usage("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) usage("no scenario");
  cfg.scenario = positional[0];
  const bool rated = cfg.scenario == "chat" || cfg.scenario == "group";
  if (positional.size() != (rated ? 3u : 2u)) usage("wrong number of arguments for " + cfg.scenario);
  cfg.clients = static_cast<int>(number(positional[1], "client count"));
  if (rated) cfg.rate = number(positional[2], "rate");

  const auto result = tt::bench::runBench(cfg);
  if (asJson) {
    std::cout << result.dump() << std::endl;
  } else {
    std::cout << tt::bench::formatTable(result);
  }
  if (result.contains("error")) {
    std::fprintf(stderr, "im_bench: %s\n", result["error"].get<std::string>().c_str());
    return 1;
  }
  return 0;
}
