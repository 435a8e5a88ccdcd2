#include "file_server/OfflineStore.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace tt::file {

namespace fs = std::filesystem;

namespace {

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::string toHex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

bool fsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool writeFileSynced(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

bool readWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

bool validTaskId(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !isHex(id[i])) return false;
  }
  return true;
}

std::string newTaskId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string h = toHex(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string formatMeta(const OfflineMeta& m) {
  std::ostringstream s;
  s << "from=" << m.from << "\nto=" << m.to << "\nsize=" << m.size << "\nsha256=" << m.sha256
    << "\ncreated=" << m.created << "\n";
  return s.str();
}

bool parseMeta(const std::string& text, OfflineMeta* m) {
  std::istringstream in(text);
  std::string line;
  int seen = 0;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return false;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    try {
      if (k == "sha256") {
        if (v.size() != 64) return false;
        for (char c : v) {
          if (!isHex(c)) return false;
        }
        m->sha256 = v;
      } else {
        const unsigned long long n = std::stoull(v);
        if (n > 0xffffffffULL) return false;
        const auto u = static_cast<uint32_t>(n);
        if (k == "from")
          m->from = u;
        else if (k == "to")
          m->to = u;
        else if (k == "size")
          m->size = u;
        else if (k == "created")
          m->created = u;
        else
          continue;
      }
    } catch (const std::exception&) {
      return false;
    }
    ++seen;
  }
  return seen == 5;
}

// ---- Upload ----

struct Upload::HashCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~HashCtx() { EVP_MD_CTX_free(ctx); }
};

Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
}

bool Upload::append(const std::string& data, std::string* err) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(written_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = errnoText("write " + id_ + ".tmp");
      return false;
    }
    done += static_cast<size_t>(n);
  }
  EVP_DigestUpdate(hash_->ctx, data.data(), data.size());
  written_ += static_cast<uint32_t>(data.size());
  return true;
}

// ---- OfflineStore ----

OfflineStore::OfflineStore(std::string dir, uint64_t quotaBytes, int64_t lifetimeSec)
    : dir_(std::move(dir)), quota_(quotaBytes), lifetimeSec_(lifetimeSec) {}

std::string OfflineStore::pathOf(const std::string& dir, const std::string& id) {
  return dir + "/" + id.substr(0, 2) + "/" + id;
}

bool OfflineStore::init(std::string* err) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    *err = "cannot create storage directory " + dir_ + ": " + ec.message();
    return false;
  }
  if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
    *err = errnoText("storage directory " + dir_ + " is not writable");
    return false;
  }
  stored_ = 0;
  size_t tmpRemoved = 0, files = 0;
  for (const auto& sub : fs::directory_iterator(dir_, ec)) {
    if (!sub.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(sub.path(), ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
        fs::remove(e.path(), ec);  // an upload a crash interrupted; its task is gone with the process
        ++tmpRemoved;
      } else if (validTaskId(name)) {
        ++files;
        stored_ += static_cast<uint64_t>(e.file_size(ec));
      }
    }
  }
  storedFiles_ = files;  // before the sweep, which takes its removals off
  const size_t swept = sweep(static_cast<uint32_t>(::time(nullptr)));
  spdlog::info("offline store {}: {} files, {} bytes stored (quota {}), {} partial uploads removed, {} expired removed",
               dir_, files - swept, stored_, quota_, tmpRemoved, swept);
  return true;
}

bool OfflineStore::reserve(uint64_t bytes) {
  if (stored_ + reserved_ + bytes > quota_) return false;
  reserved_ += bytes;
  return true;
}

void OfflineStore::release(uint64_t bytes) { reserved_ = bytes > reserved_ ? 0 : reserved_ - bytes; }

bool OfflineStore::exists(const std::string& id) const {
  const std::string p = dataPath(id);
  return ::access(p.c_str(), F_OK) == 0 || ::access((p + ".tmp").c_str(), F_OK) == 0;
}

std::unique_ptr<Upload> OfflineStore::beginUpload(const std::string& id, std::string* err) {
  if (!validTaskId(id)) {
    *err = "invalid task id";
    return nullptr;
  }
  std::error_code ec;
  fs::create_directories(dir_ + "/" + id.substr(0, 2), ec);
  const std::string tmp = dataPath(id) + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *err = errnoText("open " + tmp);
    return nullptr;
  }
  std::unique_ptr<Upload> u(new Upload);
  u->fd_ = fd;
  u->id_ = id;
  u->hash_ = std::make_unique<Upload::HashCtx>();
  EVP_DigestInit_ex(u->hash_->ctx, EVP_sha256(), nullptr);
  return u;
}

bool OfflineStore::finishUpload(std::unique_ptr<Upload> u, OfflineMeta meta, std::string* err) {
  const std::string path = dataPath(u->id_);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  EVP_DigestFinal_ex(u->hash_->ctx, md, &mdLen);
  meta.sha256 = toHex(md, mdLen);
  meta.size = u->written_;
  bool ok = ::fsync(u->fd_) == 0;
  ok = ::close(u->fd_) == 0 && ok;
  u->fd_ = -1;
  if (!ok) *err = errnoText("fsync " + path + ".tmp");
  // The meta goes first: a data file is only ever visible with its meta next to it.
  if (ok && !writeFileSynced(path + ".meta", formatMeta(meta))) {
    ok = false;
    *err = errnoText("write " + path + ".meta");
  }
  if (ok && ::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    ok = false;
    *err = errnoText("rename " + path + ".tmp");
  }
  release(meta.size);
  if (!ok) {
    ::unlink((path + ".tmp").c_str());
    ::unlink((path + ".meta").c_str());
    return false;
  }
  fsyncPath(dir_ + "/" + u->id_.substr(0, 2), true);
  stored_ += meta.size;
  ++storedFiles_;
  return true;
}

void OfflineStore::discardUpload(std::unique_ptr<Upload> u) {
  if (!u) return;
  if (u->fd_ >= 0) ::close(u->fd_);
  u->fd_ = -1;
  ::unlink((dataPath(u->id_) + ".tmp").c_str());
}

OfflineStore::Check OfflineStore::verify(const std::string& dir, const std::string& id, OfflineMeta* meta,
                                         std::string* why) {
  if (!validTaskId(id)) {
    *why = "invalid task id";
    return Check::kMissing;
  }
  const std::string path = pathOf(dir, id);
  std::string text;
  if (!readWhole(path + ".meta", &text)) {
    *why = "no such offline file";
    return Check::kMissing;
  }
  if (!parseMeta(text, meta)) {
    *why = "meta file does not parse";
    return Check::kCorrupt;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = errnoText("open data");
    return Check::kCorrupt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != meta->size) {
    ::close(fd);
    *why = "size on disk " + std::to_string(st.st_size) + " != recorded " + std::to_string(meta->size);
    return Check::kCorrupt;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buf(1 << 20, '\0');
  bool ioError = false;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ioError = true;
    if (n <= 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  EVP_DigestFinal_ex(ctx, md, &mdLen);
  EVP_MD_CTX_free(ctx);
  if (ioError) {
    *why = "read error";
    return Check::kCorrupt;
  }
  const std::string got = toHex(md, mdLen);
  if (got != meta->sha256) {
    *why = "sha256 " + got + " != recorded " + meta->sha256;
    return Check::kCorrupt;
  }
  return Check::kOk;
}

bool OfflineStore::read(const std::string& id, uint32_t offset, uint32_t len, std::string* out,
                        std::string* err) const {
  const std::string path = dataPath(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errnoText("open " + path);
    return false;
  }
  out->resize(len);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out->data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (done != len) {
    *err = "short read of " + path;
    return false;
  }
  return true;
}

size_t OfflineStore::sweep(uint32_t nowUnix) {
  if (lifetimeSec_ <= 0) return 0;
  size_t removed = 0;
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(dir_, ec)) {
    if (!sub.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(sub.path(), ec)) {
      const std::string name = e.path().filename().string();
      if (!validTaskId(name)) continue;
      std::string text;
      OfflineMeta m;
      const std::string path = e.path().string();
      // A data file without a readable meta cannot be served: it goes too.
      const bool haveMeta = readWhole(path + ".meta", &text) && parseMeta(text, &m);
      if (haveMeta && static_cast<int64_t>(nowUnix) - static_cast<int64_t>(m.created) < lifetimeSec_) continue;
      const uint64_t size = static_cast<uint64_t>(e.file_size(ec));
      fs::remove(e.path(), ec);
      fs::remove(path + ".meta", ec);
      stored_ = size > stored_ ? 0 : stored_ - size;
      if (storedFiles_ > 0) --storedFiles_;
      ++removed;
      spdlog::info("offline file {} removed ({})", name, haveMeta ? "lifetime over" : "no meta");
    }
  }
  return removed;
}

}  // namespace tt::file
