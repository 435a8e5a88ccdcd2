#include "base/ThreadPool.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tt {
namespace {

std::string currentThreadName() {
  char name[16] = {};
  ::pthread_getname_np(::pthread_self(), name, sizeof name);
  return name;
}

TEST(ThreadPool, EveryTaskRunsExactlyOnceUnderConcurrentSubmitters) {
  constexpr int kSubmitters = 4;
  constexpr int kPerSubmitter = 25000;
  constexpr int kTotal = kSubmitters * kPerSubmitter;
  auto runs = std::make_unique<std::atomic<int>[]>(kTotal);
  for (int i = 0; i < kTotal; ++i) runs[i] = 0;

  ThreadPool pool(4, "exact");
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&pool, &runs, s] {
      for (int i = 0; i < kPerSubmitter; ++i) {
        const int id = s * kPerSubmitter + i;
        // Mix both entry points: keyed and round robin must both deliver everything.
        const bool ok = (i % 2 == 0) ? pool.submit([&runs, id] { runs[id].fetch_add(1); })
                                     : pool.submitKeyed(static_cast<uint64_t>(id),
                                                        [&runs, id] { runs[id].fetch_add(1); });
        if (!ok) ADD_FAILURE() << "submit refused before stop()";
      }
    });
  }
  for (auto& t : submitters) t.join();
  pool.stop();

  EXPECT_EQ(pool.pending(), 0u);
  int wrong = 0;
  for (int i = 0; i < kTotal; ++i) {
    if (runs[i].load() != 1) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "tasks that ran zero or several times";
}

TEST(ThreadPool, RoundRobinUsesEveryWorker) {
  ThreadPool pool(4, "rr");
  std::mutex mutex;
  std::vector<std::string> names;  // guarded by mutex
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  // Every task blocks until all four are queued, so each one must sit on a different worker.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pool.submit([&, open] {
      open.wait();
      std::lock_guard<std::mutex> lock(mutex);
      names.push_back(currentThreadName());
    }));
  }
  gate.set_value();
  pool.stop();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"rr0", "rr1", "rr2", "rr3"}));
}

TEST(ThreadPool, KeyedTasksRunInSubmissionOrderOnOneThread) {
  constexpr uint64_t kKeys = 8;
  constexpr int kPerKey = 5000;
  ThreadPool pool(3, "keyed");
  // Each key's vectors are only touched by the one worker that owns the key; join() in stop()
  // publishes them to this thread.
  std::vector<std::vector<int>> seen(kKeys);
  std::vector<std::vector<std::thread::id>> threads(kKeys);
  for (int i = 0; i < kPerKey; ++i) {
    for (uint64_t key = 0; key < kKeys; ++key) {
      ASSERT_TRUE(pool.submitKeyed(key, [&seen, &threads, key, i] {
        // A little jitter so a pool that ignored the key would visibly reorder.
        if (i % 512 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
        seen[key].push_back(i);
        threads[key].push_back(std::this_thread::get_id());
      }));
    }
  }
  pool.stop();
  for (uint64_t key = 0; key < kKeys; ++key) {
    ASSERT_EQ(seen[key].size(), static_cast<size_t>(kPerKey)) << "key " << key;
    for (int i = 0; i < kPerKey; ++i) {
      ASSERT_EQ(seen[key][i], i) << "key " << key << " out of order";
      ASSERT_EQ(threads[key][i], threads[key][0]) << "key " << key << " changed thread";
    }
  }
}

TEST(ThreadPool, KeyPicksWorkerKeyModSize) {
  ThreadPool pool(3, "mod");
  std::string name;
  ASSERT_TRUE(pool.submitKeyed(7, [&name] { name = currentThreadName(); }));
  pool.stop();
  EXPECT_EQ(name, "mod1");
}

TEST(ThreadPool, StopDrainsQueuedTasksAndRefusesNewOnes) {
  ThreadPool pool(1, "drain");
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};

  ASSERT_TRUE(pool.submit([&started, released] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();  // the only worker is now busy: everything below stays queued

  constexpr int kQueued = 1000;
  for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.submit([&ran] { ran.fetch_add(1); }));
  EXPECT_EQ(pool.pending(), static_cast<size_t>(kQueued));

  std::thread stopper([&pool] { pool.stop(); });
  // Wait until stop() has begun (submit starts refusing). Probes accepted before that point are
  // legitimately queued and must run as well.
  int acceptedProbes = 0;
  while (pool.submit([&ran] { ran.fetch_add(1); })) {
    ++acceptedProbes;
    std::this_thread::yield();
  }
  EXPECT_FALSE(pool.submitKeyed(3, [&ran] { ran.fetch_add(1000000); }));
  EXPECT_EQ(ran.load(), 0) << "the worker is still held; nothing queued may have run";

  release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), kQueued + acceptedProbes);
  EXPECT_EQ(pool.pending(), 0u);
}

TEST(ThreadPool, StopIsIdempotentAndSubmitAfterStopFails) {
  ThreadPool pool(2, "idem");
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.submit([&ran] { ran.fetch_add(1); }));
  pool.stop();
  pool.stop();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(pool.submit([&ran] { ran.fetch_add(1); }));
  EXPECT_FALSE(pool.submitKeyed(1, [&ran] { ran.fetch_add(1); }));
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_EQ(ran.load(), 1);
}

TEST(ThreadPool, DestructorDrainsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2, "dtor");
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(pool.submit([&ran] {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        ran.fetch_add(1);
      }));
    }
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPool, ThrowingTaskDoesNotKillTheWorker) {
  ThreadPool pool(1, "throw");
  std::atomic<int> ran{0};
  std::thread::id before;
  std::thread::id after;
  ASSERT_TRUE(pool.submit([&before] { before = std::this_thread::get_id(); }));
  ASSERT_TRUE(pool.submit([] { throw std::runtime_error("handler bug"); }));
  ASSERT_TRUE(pool.submit([] { throw 42; }));  // not derived from std::exception
  ASSERT_TRUE(pool.submit(ThreadPool::Task{}));  // empty function: bad_function_call
  ASSERT_TRUE(pool.submit([&ran, &after] {
    after = std::this_thread::get_id();
    ran.fetch_add(1);
  }));
  pool.stop();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(before, after) << "the same (only) worker must have survived";
}

TEST(ThreadPool, SizeNameAndThreadNames) {
  ThreadPool pool(2, "averyveryverylongpoolname");
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.name(), "averyveryverylongpoolname");
  std::string name;
  ASSERT_TRUE(pool.submitKeyed(1, [&name] { name = currentThreadName(); }));
  pool.stop();
  // Cut to 15 characters, keeping the index so workers stay distinguishable.
  EXPECT_EQ(name, "averyveryveryl1");
}

TEST(ThreadPool, WorkersBlockTerminationSignalsWhateverTheCreatorsMask) {
  // The test thread leaves SIGTERM unblocked, as main() would before openSignalFd().
  sigset_t none;
  sigemptyset(&none);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &none, nullptr), 0);
  ThreadPool pool(1, "sig");
  sigset_t workerMask;
  sigemptyset(&workerMask);
  ASSERT_TRUE(pool.submit([&workerMask] { pthread_sigmask(SIG_SETMASK, nullptr, &workerMask); }));
  pool.stop();
  EXPECT_EQ(sigismember(&workerMask, SIGTERM), 1);
  EXPECT_EQ(sigismember(&workerMask, SIGINT), 1);
  EXPECT_EQ(sigismember(&workerMask, SIGHUP), 1);
  sigset_t mine;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &mine), 0);
  EXPECT_EQ(sigismember(&mine, SIGTERM), 0) << "the creator's mask must be restored";
}

TEST(ThreadPool, ZeroThreadsIsRejected) {
  EXPECT_THROW(ThreadPool(0, "none"), std::invalid_argument);
}

}  // namespace
}  // namespace tt
