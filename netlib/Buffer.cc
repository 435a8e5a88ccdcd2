#include "netlib/Buffer.h"

#include <arpa/inet.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace tt::net {

void Buffer::retrieve(size_t n) {
  assert(n <= readableBytes());
  if (n < readableBytes()) {
    reader_ += n;
  } else {
    retrieveAll();
  }
}

std::string Buffer::retrieveAsString(size_t n) {
  assert(n <= readableBytes());
  std::string s(peek(), n);
  retrieve(n);
  return s;
}

void Buffer::ensureWritable(size_t n) {
  if (writableBytes() >= n) return;
  const size_t readable = readableBytes();
  if (reader_ + writableBytes() >= n && reader_ > 0) {
    // Enough room if the unread bytes move to the front: no allocation.
    std::memmove(data_.data(), data_.data() + reader_, readable);
    reader_ = 0;
    writer_ = readable;
    return;
  }
  if (reader_ > 0) {
    std::memmove(data_.data(), data_.data() + reader_, readable);
    reader_ = 0;
    writer_ = readable;
  }
  size_t want = std::max(kInitialSize, data_.size() * 2);
  want = std::max(want, readable + n);
  data_.resize(want);
}

char* Buffer::beginWrite(size_t n) {
  ensureWritable(n);
  return data_.data() + writer_;
}

void Buffer::append(const void* data, size_t n) {
  if (n == 0) return;
  char* dst = beginWrite(n);
  std::memcpy(dst, data, n);
  hasWritten(n);
}

void Buffer::appendUint32(uint32_t v) {
  uint32_t be = htonl(v);
  append(&be, sizeof be);
}

void Buffer::appendUint16(uint16_t v) {
  uint16_t be = htons(v);
  append(&be, sizeof be);
}

uint32_t Buffer::peekUint32(size_t offset) const {
  assert(readableBytes() >= offset + 4);
  uint32_t be;
  std::memcpy(&be, peek() + offset, sizeof be);
  return ntohl(be);
}

uint16_t Buffer::peekUint16(size_t offset) const {
  assert(readableBytes() >= offset + 2);
  uint16_t be;
  std::memcpy(&be, peek() + offset, sizeof be);
  return ntohs(be);
}

ssize_t Buffer::readFd(int fd, int* savedErrno) {
  char extra[65536];
  struct iovec vec[2];
  const size_t writable = writableBytes();
  vec[0].iov_base = data_.data() + writer_;
  vec[0].iov_len = writable;
  vec[1].iov_base = extra;
  vec[1].iov_len = sizeof extra;
  // With a roomy buffer the stack spill is not needed: one iovec avoids a copy.
  const int iovcnt = writable < sizeof extra ? 2 : 1;
  const ssize_t n = ::readv(fd, vec, iovcnt);
  if (n < 0) {
    *savedErrno = errno;
  } else if (static_cast<size_t>(n) <= writable) {
    writer_ += static_cast<size_t>(n);
  } else {
    writer_ = data_.size();
    append(extra, static_cast<size_t>(n) - writable);
  }
  return n;
}

void Buffer::shrinkIfIdle() {
  if (readableBytes() == 0 && data_.capacity() > kIdleKeepCapacity) {
    std::vector<char>().swap(data_);
    reader_ = writer_ = 0;
  }
}

void Buffer::swap(Buffer& other) noexcept {
  data_.swap(other.data_);
  std::swap(reader_, other.reader_);
  std::swap(writer_, other.writer_);
}

}  // namespace tt::net
