#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tt {

// Fixed set of worker threads, each with its own queue. One queue per worker (instead of one
// shared queue) is what lets submitKeyed() promise ordering: every task for a key lands on the
// same thread, so e.g. the DB writes for one user happen in the order they were received.
// The price is no work stealing: a slow task delays only the tasks queued behind it on its worker.
//
// Tasks must not call stop() or destroy the pool (a worker cannot join itself).
class ThreadPool {
 public:
  using Task = std::function<void()>;

  // `name` + index names the threads (e.g. "dbworker3"), cut to the 15 characters Linux keeps.
  ThreadPool(size_t threads, std::string name);
  ~ThreadPool();  // stop()

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Both return false, and drop the task, once stop() has begun.
  bool submit(Task task);                        // round robin
  bool submitKeyed(uint64_t key, Task task);     // always worker key % size()

  size_t pending() const;  // queued, not yet started, over all workers
  size_t size() const { return workers_.size(); }
  const std::string& name() const { return name_; }

  // Refuses new tasks, lets the workers finish everything already queued, joins them.
  // Idempotent and safe to call from several threads; returns once all workers have exited.
  void stop();

 private:
  struct Worker {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Task> tasks;  // guarded by mutex
    bool stopping = false;   // guarded by mutex
    std::thread thread;
  };

  bool enqueue(Worker& worker, Task task);
  void run(Worker& worker, size_t index);

  const std::string name_;
  std::vector<std::unique_ptr<Worker>> workers_;  // fixed after construction
  std::atomic<uint64_t> next_{0};                 // round-robin cursor for submit()
  std::mutex stopMutex_;                          // serialises stop(); guards nothing else
};

}  // namespace tt
