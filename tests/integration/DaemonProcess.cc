#include "DaemonProcess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace tt::test {

namespace {
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::string daemonBinary(const std::string& daemon) {
  return std::string(TT_BINARY_DIR) + "/" + daemon + "/" + daemon;
}

bool waitForPort(int port, int timeoutMs) {
  const int64_t deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string makeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

void removeTree(const std::string& dir) {
  if (dir.empty() || dir == "/") return;
  std::string cmd = "rm -rf '" + dir + "'";
  (void)!std::system(cmd.c_str());
}

DaemonProcess::DaemonProcess(std::string binary, std::string name)
    : binary_(std::move(binary)), name_(std::move(name)) {}

DaemonProcess::~DaemonProcess() {
  if (running()) kill();
}

void DaemonProcess::start(const std::string& dir, const std::string& confText, int waitPort, int timeoutMs) {
  const std::string confPath = dir + "/" + name_ + ".conf";
  {
    std::ofstream out(confPath);
    out << confText;
  }
  logPath_ = dir + "/" + name_ + ".log";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int log = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    // If the test process dies, so does the daemon (no orphans holding ports).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Signals blocked in the test (e.g. by a signalfd) must not stay blocked in the daemon.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(binary_.c_str(), binary_.c_str(), "-c", confPath.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  const int64_t deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    if (!running()) throw std::runtime_error(name_ + " exited during start-up:\n" + logTail());
    if (waitForPort(waitPort, 50)) return;
  }
  kill();
  throw std::runtime_error(name_ + " did not listen on port " + std::to_string(waitPort) + ":\n" + logTail());
}

bool DaemonProcess::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    const_cast<DaemonProcess*>(this)->pid_ = -1;
    return false;
  }
  return true;
}

int DaemonProcess::stop(int timeoutMs) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const int64_t deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  return -1;
}

void DaemonProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

size_t DaemonProcess::logLines(const std::vector<std::string>& parts) const {
  std::ifstream in(logPath_);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    size_t at = 0;
    bool all = true;
    for (const auto& p : parts) {
      at = line.find(p, at);
      if (at == std::string::npos) {
        all = false;
        break;
      }
      at += p.size();
    }
    n += all;
  }
  return n;
}

bool DaemonProcess::waitForLogLines(const std::vector<std::string>& parts, size_t count, int timeoutMs) const {
  const int64_t deadline = nowMs() + timeoutMs;
  for (;;) {
    if (logLines(parts) >= count) return true;
    if (nowMs() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string DaemonProcess::logTail(size_t lines) const {
  std::ifstream in(logPath_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (auto& l : tail) out += l + "\n";
  return out;
}

}  // namespace tt::test
