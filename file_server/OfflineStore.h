#pragma once
// Offline files on disk. One file per task, named by the task id only (never by the client's file
// name), so a path cannot escape the storage directory:
//   <dir>/<first 2 chars of id>/<id>        the data, complete and checked
//   <dir>/<first 2 chars of id>/<id>.meta   from, to, size, sha256, created (written before the data
//                                           is renamed into place)
//   <dir>/<first 2 chars of id>/<id>.tmp    an upload in progress; never served
// An upload is written to .tmp, hashed while written, fsync'ed and renamed when its last block
// arrives, so a reader sees either nothing or the whole file. A download checks the stored size
// and sha256 before serving (verify(), which may run on a worker thread).
//
// Disk quota: the stored files plus the sizes reserved by offline tasks not yet uploaded.
// Stored files live OfflineFileLifetime seconds (file_server does not see db_proxy's record of the
// file being deleted), then a sweep removes them.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tt::file {

struct OfflineMeta {
  uint32_t from = 0;
  uint32_t to = 0;
  uint32_t size = 0;
  std::string sha256;    // lowercase hex
  uint32_t created = 0;  // unix seconds
};

// A task id: 36 characters, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lowercase hex. Anything else
// (dots, slashes, upper case, other lengths) is refused before it comes near a path.
bool validTaskId(const std::string& id);
// 128 random bits from OpenSSL's CSPRNG as a version-4 UUID string. Throws if RAND_bytes fails.
std::string newTaskId();

// One upload in progress: an open .tmp file and the running sha256.
class Upload {
 public:
  ~Upload();
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  uint32_t written() const { return written_; }
  // Appends a block at written(). false with *err on an I/O error.
  bool append(const std::string& data, std::string* err);

 private:
  friend class OfflineStore;
  Upload() = default;
  int fd_ = -1;
  std::string id_;
  uint32_t written_ = 0;
  struct HashCtx;
  std::unique_ptr<HashCtx> hash_;
};

class OfflineStore {
 public:
  OfflineStore(std::string dir, uint64_t quotaBytes, int64_t lifetimeSec);

  // Creates the directory, removes .tmp files a crash left behind and files older than the
  // lifetime, and sums what is stored. false with *err when the directory is unusable.
  bool init(std::string* err);
  const std::string& dir() const { return dir_; }

  // Quota bookkeeping (loop thread).
  bool reserve(uint64_t bytes);
  void release(uint64_t bytes);
  uint64_t storedBytes() const { return stored_; }
  uint64_t reservedBytes() const { return reserved_; }
  uint64_t quotaBytes() const { return quota_; }
  // Stored files, kept like stored bytes (counted by init, then followed), so reading it costs no
  // disk access.
  size_t storedFiles() const { return storedFiles_; }

  bool exists(const std::string& id) const;  // a stored file or an upload in progress
  std::unique_ptr<Upload> beginUpload(const std::string& id, std::string* err);
  // fsync, write the meta file, rename .tmp into place. The reservation of meta.size becomes
  // stored bytes. false with *err (the upload is then discarded).
  bool finishUpload(std::unique_ptr<Upload> upload, OfflineMeta meta, std::string* err);
  // Closes and deletes an unfinished upload.
  void discardUpload(std::unique_ptr<Upload> upload);

  enum class Check { kOk, kMissing, kCorrupt };
  // Reads the meta and checks the data's size and sha256 against it. Touches only the disk: safe on
  // a worker thread.
  static Check verify(const std::string& dir, const std::string& id, OfflineMeta* meta, std::string* why);
  // Reads [offset, offset+len) of a stored file. false with *err.
  bool read(const std::string& id, uint32_t offset, uint32_t len, std::string* out, std::string* err) const;

  // Deletes stored files older than the lifetime; returns how many.
  size_t sweep(uint32_t nowUnix);

  std::string dataPath(const std::string& id) const { return pathOf(dir_, id); }
  static std::string pathOf(const std::string& dir, const std::string& id);

 private:
  std::string dir_;
  uint64_t quota_;
  int64_t lifetimeSec_;
  uint64_t stored_ = 0;
  uint64_t reserved_ = 0;
  size_t storedFiles_ = 0;
};

bool parseMeta(const std::string& text, OfflineMeta* meta);
std::string formatMeta(const OfflineMeta& meta);

}  // namespace tt::file
