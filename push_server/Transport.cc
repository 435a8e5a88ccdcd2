#include "push_server/Transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace tt::push {

int64_t monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {
std::string sslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

int remainingMs(int64_t deadlineMs) {
  const int64_t left = deadlineMs - monoMs();
  return left <= 0 ? 0 : static_cast<int>(left);
}
}  // namespace

TlsContext::TlsContext(const std::string& caFile, const std::string& alpn) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw std::runtime_error("SSL_CTX_new: " + sslErrors());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const int ok = caFile.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                                : SSL_CTX_load_verify_locations(ctx_, caFile.c_str(), nullptr);
  if (ok != 1) {
    std::string e = sslErrors();
    SSL_CTX_free(ctx_);
    throw std::runtime_error("cannot load CA " + (caFile.empty() ? std::string("system store") : caFile) + ": " + e);
  }
  if (!alpn.empty()) {
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(alpn.data()),
                            static_cast<unsigned>(alpn.size()));
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<Transport> Transport::connect(const std::string& host, uint16_t port, TlsContext* tls,
                                              int64_t deadlineMs, std::string* err) {
  // Blocking DNS on the worker thread: acceptable, the reactor never waits for it.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string portText = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), portText.c_str(), &hints, &res); rc != 0) {
    *err = "resolve " + host + ": " + gai_strerror(rc);
    return nullptr;
  }
  int fd = -1;
  std::string lastErr = "no address";
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      lastErr = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, remainingMs(deadlineMs));
      if (rc == 1) {
        int soErr = 0;
        socklen_t len = sizeof soErr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len);
        rc = soErr == 0 ? 0 : -1;
        errno = soErr;
      } else {
        rc = -1;
        errno = ETIMEDOUT;
      }
    }
    if (rc != 0) {
      lastErr = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    *err = "connect " + host + ":" + portText + ": " + lastErr;
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!tls) return std::unique_ptr<Transport>(new Transport(fd, nullptr));

  SSL* ssl = SSL_new(tls->get());
  std::unique_ptr<Transport> t(new Transport(fd, ssl));
  if (!ssl) {
    *err = "SSL_new: " + sslErrors();
    return nullptr;
  }
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set1_host(ssl, host.c_str());  // certificate must name the host we asked for
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!t->waitFor(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadlineMs, err)) {
        *err = "TLS handshake with " + host + ": " + *err;
        return nullptr;
      }
      continue;
    }
    const long verify = SSL_get_verify_result(ssl);
    *err = "TLS handshake with " + host + ": " +
           (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : sslErrors());
    return nullptr;
  }
  return t;
}

Transport::~Transport() {
  if (ssl_) {
    SSL_shutdown(ssl_);  // best effort close_notify, never waits
    SSL_free(ssl_);
  }
  if (fd_ >= 0) ::close(fd_);
}

bool Transport::waitFor(short events, int64_t deadlineMs, std::string* err) {
  while (true) {
    const int left = remainingMs(deadlineMs);
    if (left == 0) {
      *err = "timed out";
      return false;
    }
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, left);
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) {
      *err = std::strerror(errno);
      return false;
    }
  }
}

bool Transport::writeAll(const void* data, size_t len, int64_t deadlineMs, std::string* err) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, p, static_cast<int>(len));
      if (n > 0) {
        p += n;
        len -= static_cast<size_t>(n);
        continue;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!waitFor(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadlineMs, err)) return false;
        continue;
      }
      *err = "TLS write: " + sslErrors();
      return false;
    }
    const ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(POLLOUT, deadlineMs, err)) return false;
    } else {
      *err = std::string("write: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

ssize_t Transport::readSome(void* buf, size_t len, int64_t deadlineMs, std::string* err) {
  while (true) {
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, buf, static_cast<int>(len));
      if (n > 0) return n;
      const int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!waitFor(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadlineMs, err)) return -1;
        continue;
      }
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // EOF without close_notify
      *err = "TLS read: " + sslErrors();
      return -1;
    }
    const ssize_t n = ::recv(fd_, buf, len, 0);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EINTR) {
      if (!waitFor(POLLIN, deadlineMs, err)) return -1;
      continue;
    }
    *err = std::string("read: ") + std::strerror(errno);
    return -1;
  }
}

std::string Transport::alpn() const {
  if (!ssl_) return {};
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

}  // namespace tt::push
