#pragma once

#include <signal.h>

namespace tt {

// Turns SIGTERM, SIGINT and SIGHUP into readable events for the reactor instead of handlers:
// blocks them in the calling thread and returns a signalfd (O_NONBLOCK | O_CLOEXEC) that becomes
// readable when one is pending. Also sets SIGPIPE to SIG_IGN so a write to a closed socket is an
// EPIPE error, not a dead process.
//
// A process-directed signal goes to any thread that does not block it, and there the default
// action (terminate) applies. So call this from main() before starting threads, which inherit
// the mask. Threads started by ttbase itself (ThreadPool workers, the log flusher) block these
// signals on their own, so they may be created earlier.
// The caller owns the returned fd (close it, or hand it to a socket that will).
// Throws std::system_error on failure.
int openSignalFd();

// Reads one pending signal from a signalfd: returns its number, or -1 when none is pending
// (EAGAIN) or the read fails.
int readSignal(int fd);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread for its lifetime and restores the
// previous mask afterwards. Create helper threads inside one so they never take a termination
// signal meant for the reactor's signalfd.
class TerminationSignalsBlocked {
 public:
  TerminationSignalsBlocked();
  ~TerminationSignalsBlocked();

  TerminationSignalsBlocked(const TerminationSignalsBlocked&) = delete;
  TerminationSignalsBlocked& operator=(const TerminationSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace tt
