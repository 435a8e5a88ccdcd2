#include "tests/integration/StorageFixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>

#ifndef TT_SOURCE_DIR
#error "TT_SOURCE_DIR must name the repository root"
#endif

extern char** environ;

namespace tt::test {
namespace {

// Holds a bound socket so two calls in a row cannot return the same port.
class BoundPort {
 public:
  BoundPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      int err = errno;
      ::close(fd_);
      throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(err));
    }
    port_ = ntohs(addr.sin_port);
  }
  ~BoundPort() { ::close(fd_); }
  BoundPort(const BoundPort&) = delete;
  BoundPort& operator=(const BoundPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string makeTempDir() {
  // The MariaDB socket lives in this dir and sun_path is 108 bytes: fall back to /tmp when
  // $TMPDIR is long.
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t && *t && std::strlen(t) < 60) base = t;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string tmpl = base + "/ttsuite-storage-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  return buf.data();
}

// Undoes bash's `printf %q` for the values storage.sh writes: backslash escapes and '...'.
std::string shellUnquote(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      out += v[++i];
    } else if (c == '\'') {
      size_t end = v.find('\'', i + 1);
      if (end == std::string::npos) throw std::runtime_error("unterminated quote in storage.env");
      out.append(v, i + 1, end - i - 1);
      i = end;
    } else if (c == '$' && i + 1 < v.size() && v[i + 1] == '\'') {
      throw std::runtime_error("storage.env value uses $'...' quoting, not supported: " + v);
    } else {
      out += c;
    }
  }
  return out;
}

int toPort(const std::map<std::string, std::string>& kv, const std::string& key) {
  auto it = kv.find(key);
  if (it == kv.end()) throw std::runtime_error("storage.env lacks " + key);
  return std::stoi(it->second);
}

std::string required(const std::map<std::string, std::string>& kv, const std::string& key) {
  auto it = kv.find(key);
  if (it == kv.end()) throw std::runtime_error("storage.env lacks " + key);
  return it->second;
}

}  // namespace

int pickFreeLoopbackPort() {
  BoundPort p;
  return p.port();
}

std::string StorageFixture::scriptPath() {
  return std::string(TT_SOURCE_DIR) + "/scripts/lib/storage.sh";
}

int StorageFixture::runScript(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"bash", scriptPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  std::cout.flush();
  std::cerr.flush();
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "bash", nullptr, nullptr, cargv.data(), environ);
  if (rc != 0) {
    std::cerr << "posix_spawn bash " << scriptPath() << ": " << std::strerror(rc) << "\n";
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

StorageFixture::~StorageFixture() {
  try {
    stop();
  } catch (const std::exception& e) {
    std::cerr << "StorageFixture: stop failed: " << e.what() << "\n";
  }
}

void StorageFixture::start(bool demo) {
  if (started()) return;
  int mport = 0;
  int rport = 0;
  {
    BoundPort a;
    BoundPort b;
    mport = a.port();
    rport = b.port();
  }
  dir_ = makeTempDir();

  // A watchdog started by storage.sh stops the servers and removes the dir if this process dies
  // without running stop() (crash, ctest timeout).
  ::setenv("TT_STORAGE_OWNER_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("TT_STORAGE_OWNER_CLEANUP", "1", 1);
  // Tests may lose their database in a crash: skip the fsync per commit (unless asked otherwise).
  ::setenv("TT_MYSQL_FLUSH", "2", 0);
  std::vector<std::string> args{"start"};
  if (demo) args.push_back("--demo");
  args.insert(args.end(), {dir_, std::to_string(mport), std::to_string(rport)});
  int rc = runScript(args);
  ::unsetenv("TT_STORAGE_OWNER_PID");
  ::unsetenv("TT_STORAGE_OWNER_CLEANUP");

  if (rc != 0) {
    std::string dir = dir_;
    stop();
    throw std::runtime_error("storage.sh start " + dir + " " + std::to_string(mport) + " " +
                             std::to_string(rport) + " exited with " + std::to_string(rc));
  }
  try {
    readEnvFile();
  } catch (...) {
    stop();
    throw;
  }
}

void StorageFixture::readEnvFile() {
  std::ifstream in(dir_ + "/storage.env");
  if (!in) throw std::runtime_error("cannot read " + dir_ + "/storage.env");
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = shellUnquote(line.substr(eq + 1));
  }
  mysqlHost = required(kv, "TT_MYSQL_HOST");
  mysqlPort = toPort(kv, "TT_MYSQL_PORT");
  mysqlSocket = required(kv, "TT_MYSQL_SOCKET");
  mysqlUser = required(kv, "TT_MYSQL_USER");
  mysqlPassword = required(kv, "TT_MYSQL_PASSWORD");
  mysqlDb = required(kv, "TT_MYSQL_DB");
  redisHost = required(kv, "TT_REDIS_HOST");
  redisPort = toPort(kv, "TT_REDIS_PORT");
}

void StorageFixture::stopServers() {
  if (!started()) return;
  int rc = runScript({"stop", dir_});
  if (rc != 0) std::cerr << "StorageFixture: storage.sh stop " << dir_ << " exited with " << rc << "\n";
}

void StorageFixture::stop() {
  if (!started()) return;
  stopServers();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) std::cerr << "StorageFixture: removing " << dir_ << ": " << ec.message() << "\n";
  dir_.clear();
}

// --- StorageEnvironment --------------------------------------------------------------------

namespace {

struct SharedStorage {
  std::mutex mutex;
  std::unique_ptr<StorageFixture> fixture;  // guarded by mutex
  std::string error;                         // guarded by mutex; set when start failed
};

SharedStorage& shared() {
  static SharedStorage s;
  return s;
}

}  // namespace

StorageEnvironment* StorageEnvironment::registerOnce() {
  static StorageEnvironment* env = [] {
    auto* e = new StorageEnvironment;
    ::testing::AddGlobalTestEnvironment(e);  // gtest owns it
    return e;
  }();
  return env;
}

StorageFixture& StorageEnvironment::storage() {
  SharedStorage& s = shared();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.error.empty()) throw std::runtime_error(s.error);
  if (!s.fixture) {
    auto f = std::make_unique<StorageFixture>();
    try {
      // With demo data (users user01..user20, groups 1 and 2): daemon tests log in as them.
      f->start(true);
    } catch (const std::exception& e) {
      s.error = std::string("shared storage failed to start: ") + e.what();
      throw std::runtime_error(s.error);
    }
    s.fixture = std::move(f);
  }
  return *s.fixture;
}

void StorageEnvironment::TearDown() {
  SharedStorage& s = shared();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.fixture.reset();
}

}  // namespace tt::test
