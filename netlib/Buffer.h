#pragma once
// Index-based byte buffer (muduo's design): bytes live in [readerIndex, writerIndex) of one vector,
// appends grow it, consumed bytes are reclaimed by moving the readable region to the front only when
// that avoids a reallocation. readFd() uses readv with a 64 KiB stack spill so an idle connection
// keeps a small heap buffer and one system call still reads a large burst.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tt::net {

class Buffer {
 public:
  static constexpr size_t kInitialSize = 1024;
  // Above this capacity an emptied buffer gives its memory back (see shrinkIfIdle).
  static constexpr size_t kIdleKeepCapacity = 64 * 1024;

  Buffer() = default;

  size_t readableBytes() const { return writer_ - reader_; }
  size_t writableBytes() const { return data_.size() - writer_; }
  size_t capacity() const { return data_.capacity(); }
  const char* peek() const { return data_.data() + reader_; }
  std::string_view view() const { return {peek(), readableBytes()}; }

  void retrieve(size_t n);
  void retrieveAll() { reader_ = writer_ = 0; }
  std::string retrieveAsString(size_t n);
  std::string retrieveAllAsString() { return retrieveAsString(readableBytes()); }

  void append(const void* data, size_t n);
  void append(std::string_view s) { append(s.data(), s.size()); }
  void appendUint32(uint32_t v);  // network byte order
  void appendUint16(uint16_t v);

  // Reads big-endian integers at offset from peek() without consuming. Caller checks the length.
  uint32_t peekUint32(size_t offset = 0) const;
  uint16_t peekUint16(size_t offset = 0) const;

  // Makes room for n more bytes; returns where to write them; commit with hasWritten(n).
  char* beginWrite(size_t n);
  void hasWritten(size_t n) { writer_ += n; }

  // Reads what the socket has (one readv). Returns bytes read, 0 on EOF, -1 with *savedErrno set.
  ssize_t readFd(int fd, int* savedErrno);

  // Releases memory of a large buffer that is now empty, so a burst does not pin memory forever.
  void shrinkIfIdle();

  void swap(Buffer& other) noexcept;

 private:
  void ensureWritable(size_t n);

  std::vector<char> data_;
  size_t reader_ = 0;
  size_t writer_ = 0;
};

}  // namespace tt::net
