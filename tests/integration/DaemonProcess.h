#pragma once
// Runs one of our daemon binaries as a child process for an integration test: writes its .conf,
// starts it, waits until its port accepts connections, and stops it with SIGTERM (checking that
// it exits cleanly) when the test is done. The daemon's log goes to a file that is printed when
// start-up fails, so a failing test shows why.
#include <sys/types.h>

#include <string>
#include <vector>

namespace tt::test {

class DaemonProcess {
 public:
  // binary: path of the executable; name: for messages and file names.
  DaemonProcess(std::string binary, std::string name);
  ~DaemonProcess();  // SIGKILL if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Writes confText to <dir>/<name>.conf and starts `binary -c that-file`; waits (bounded) until
  // 127.0.0.1:waitPort accepts a TCP connection. Throws std::runtime_error with the log's tail.
  void start(const std::string& dir, const std::string& confText, int waitPort, int timeoutMs = 15000);
  // SIGTERM, wait up to timeoutMs; returns the exit status (-1 if it had to be killed, 128+sig if
  // it died of a signal).
  int stop(int timeoutMs = 15000);
  void kill();  // SIGKILL now (crash simulation)
  bool running() const;
  pid_t pid() const { return pid_; }
  std::string logTail(size_t lines = 40) const;
  const std::string& logPath() const { return logPath_; }
  // Lines of the log so far that contain every one of parts, in that order (daemons log to
  // stderr, unbuffered, so a line is there once the daemon has written it).
  size_t logLines(const std::vector<std::string>& parts) const;
  size_t logCount(const std::string& text) const { return logLines(std::vector<std::string>{text}); }
  // true once at least `count` such lines are in the log (polled every 20 ms): the positive event
  // a test waits for when a daemon answers nothing on the wire.
  bool waitForLogLines(const std::vector<std::string>& parts, size_t count = 1, int timeoutMs = 20000) const;
  bool waitForLog(const std::string& text, size_t count = 1, int timeoutMs = 20000) const {
    return waitForLogLines(std::vector<std::string>{text}, count, timeoutMs);
  }

 private:
  std::string binary_;
  std::string name_;
  std::string logPath_;
  pid_t pid_ = -1;
};

// Where the build put a daemon: <build dir>/<daemon>/<daemon>.
std::string daemonBinary(const std::string& daemon);

// true once 127.0.0.1:port accepts a connection (polls every 20 ms up to timeoutMs).
bool waitForPort(int port, int timeoutMs);

// A fresh temp directory (removed by the caller with removeTree).
std::string makeTempDir(const std::string& prefix);
void removeTree(const std::string& dir);

}  // namespace tt::test
