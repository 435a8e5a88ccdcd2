#include "base/ThreadPool.h"

#include <pthread.h>

#include <exception>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "base/Signals.h"

namespace tt {

namespace {

// Linux keeps 15 characters of a thread name; cut the prefix, never the index, so every worker
// stays distinguishable in top -H and gdb.
std::string threadName(const std::string& prefix, size_t index) {
  const std::string suffix = std::to_string(index);
  constexpr size_t kMax = 15;
  const size_t room = suffix.size() < kMax ? kMax - suffix.size() : 0;
  return prefix.substr(0, room) + suffix;
}

}  // namespace

ThreadPool::ThreadPool(size_t threads, std::string name) : name_(std::move(name)) {
  if (threads == 0) throw std::invalid_argument("ThreadPool '" + name_ + "': zero threads");
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  try {
    // Workers inherit this mask, so a SIGTERM always reaches the reactor's signalfd, even when
    // the pool is created before openSignalFd().
    TerminationSignalsBlocked blocked;
    for (size_t i = 0; i < threads; ++i) {
      Worker& worker = *workers_[i];
      worker.thread = std::thread([this, &worker, i] { run(worker, i); });
    }
  } catch (...) {
    stop();  // the destructor will not run: join whatever did start
    throw;
  }
}

ThreadPool::~ThreadPool() { stop(); }

bool ThreadPool::submit(Task task) {
  const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  return enqueue(*workers_[n % workers_.size()], std::move(task));
}

bool ThreadPool::submitKeyed(uint64_t key, Task task) {
  return enqueue(*workers_[key % workers_.size()], std::move(task));
}

bool ThreadPool::enqueue(Worker& worker, Task task) {
  {
    std::lock_guard<std::mutex> lock(worker.mutex);
    // Checked under the worker's lock: a task accepted here is queued before `stopping` is set,
    // so the worker is guaranteed to see and run it before it exits.
    if (worker.stopping) return false;
    worker.tasks.push_back(std::move(task));
  }
  worker.ready.notify_one();
  return true;
}

size_t ThreadPool::pending() const {
  size_t total = 0;
  for (const auto& worker : workers_) {
    std::lock_guard<std::mutex> lock(worker->mutex);
    total += worker->tasks.size();
  }
  return total;
}

void ThreadPool::stop() {
  std::lock_guard<std::mutex> stopLock(stopMutex_);
  for (const auto& worker : workers_) {
    {
      std::lock_guard<std::mutex> lock(worker->mutex);
      worker->stopping = true;
    }
    worker->ready.notify_one();
  }
  for (const auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void ThreadPool::run(Worker& worker, size_t index) {
  ::pthread_setname_np(::pthread_self(), threadName(name_, index).c_str());
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(worker.mutex);
      worker.ready.wait(lock, [&worker] { return worker.stopping || !worker.tasks.empty(); });
      if (worker.tasks.empty()) return;  // stopping and drained
      task = std::move(worker.tasks.front());
      worker.tasks.pop_front();
    }
    // A handler bug must cost one request, not a worker: a dead worker would strand every
    // later task queued for its keys.
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("thread pool '{}' worker {}: task threw: {}", name_, index, e.what());
    } catch (...) {
      spdlog::error("thread pool '{}' worker {}: task threw a non-std exception", name_, index);
    }
  }
}

}  // namespace tt
