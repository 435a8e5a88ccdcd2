#pragma once
// A blocking-with-deadline client stream for the providers' worker threads: TCP, optionally TLS
// (OpenSSL, peer verified against the system store or a CA file, SNI + host name check, ALPN).
// The socket is non-blocking underneath so every call honours its deadline (poll), which is what
// lets a provider give up on a hung endpoint and retry later.
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

namespace tt::push {

int64_t monoMs();

// One SSL_CTX per provider (shared by its connections).
class TlsContext {
 public:
  // caFile empty = the system trust store. alpn: wire-format protocol list ("\x02h2") or empty.
  // Throws std::runtime_error naming the CA file when it cannot be loaded.
  TlsContext(const std::string& caFile, const std::string& alpn);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

class Transport {
 public:
  // tls null = plain TCP. nullptr with *err on failure (DNS, refused, TLS handshake/verification).
  static std::unique_ptr<Transport> connect(const std::string& host, uint16_t port, TlsContext* tls,
                                            int64_t deadlineMs, std::string* err);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  bool writeAll(const void* data, size_t len, int64_t deadlineMs, std::string* err);
  // >0 bytes read, 0 = peer closed, -1 = error or deadline passed (*err says which).
  ssize_t readSome(void* buf, size_t len, int64_t deadlineMs, std::string* err);
  // The ALPN protocol the server chose ("" if none / plain TCP).
  std::string alpn() const;

 private:
  Transport(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  bool waitFor(short events, int64_t deadlineMs, std::string* err);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

}  // namespace tt::push
