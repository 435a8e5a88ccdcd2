#pragma once
// Keeps group members' recent sessions following their groups: every interval, groups whose
// lastChated moved past the watermark get an IMRecentSession row (updated = lastChated) for each
// active member, so a member who never wrote in a group still sees it in "recent sessions"
// (TeamTalk's 5-second sync thread). The watermark lives in Redis (`last_update_group`) so a
// restart resumes where it stopped. Its own thread; stop() wakes and joins it.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace tt::dbproxy {

struct DbContext;

class GroupSync {
 public:
  GroupSync(DbContext& ctx, int64_t intervalMs);
  ~GroupSync();
  GroupSync(const GroupSync&) = delete;
  GroupSync& operator=(const GroupSync&) = delete;

  void stop();
  // One pass (also used by tests). Returns the number of groups synced. Throws on storage errors.
  size_t runOnce();

 private:
  void run();

  DbContext& ctx_;
  const int64_t intervalMs_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace tt::dbproxy
