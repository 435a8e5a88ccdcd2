#include "base/Signals.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tt {

namespace {

sigset_t terminationSignals() {
  sigset_t mask;
  ::sigemptyset(&mask);
  ::sigaddset(&mask, SIGTERM);
  ::sigaddset(&mask, SIGINT);
  ::sigaddset(&mask, SIGHUP);
  return mask;
}

void changeMask(int how, const sigset_t* set, sigset_t* old) {
  // pthread_sigmask returns the error instead of setting errno.
  if (const int err = ::pthread_sigmask(how, set, old); err != 0) {
    throw std::system_error(err, std::generic_category(), "pthread_sigmask");
  }
}

}  // namespace

int openSignalFd() {
  if (::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    throw std::system_error(errno, std::generic_category(), "signal(SIGPIPE, SIG_IGN)");
  }
  const sigset_t mask = terminationSignals();
  changeMask(SIG_BLOCK, &mask, nullptr);
  const int fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  return fd;
}

int readSignal(int fd) {
  signalfd_siginfo info;
  ssize_t n;
  do {
    n = ::read(fd, &info, sizeof info);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof info)) return -1;
  return static_cast<int>(info.ssi_signo);
}

TerminationSignalsBlocked::TerminationSignalsBlocked() {
  const sigset_t mask = terminationSignals();
  changeMask(SIG_BLOCK, &mask, &previous_);
}

TerminationSignalsBlocked::~TerminationSignalsBlocked() {
  // Cannot fail with a valid `how` and set; nothing sensible to do in a destructor if it did.
  ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace tt
