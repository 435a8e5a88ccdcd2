#pragma once
// Process metrics in the Prometheus text exposition format (version 0.0.4), kept in one place:
// counters, gauges and histograms, with or without labels, plus gauges computed when scraped.
//
// Why it looks like this: an increment sits on the hot path of every daemon (one per PDU, per
// stored message), so a series is a relaxed atomic, found once through its family and then held by
// reference; no lock and no lookup per increment. Families (name + label names) and series are
// created under a mutex and never move or die before the registry, so references stay valid.
// Values computed at scrape time (connection counts, queue depths, link state) are callbacks owned
// by an RAII handle, because the objects they read die before the process-wide registry does.
// Debian has no prometheus-cpp, so the format is written here: escaping, `# HELP`/`# TYPE`,
// histogram `_bucket{le=...}`/`_sum`/`_count`. docs/METRICS.md lists what every daemon exports.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tt::metrics {

enum class Type { kCounter, kGauge, kHistogram };

class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept;
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed upper bounds (ascending, +Inf implied). observe() is a scan of the bounds and two or three
// relaxed atomic operations.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket counts (not cumulative), the last one for +Inf; sum and count.
  void snapshot(std::vector<uint64_t>* buckets, double* sum, uint64_t* count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Latency buckets in seconds, 0.5 ms .. 10 s.
const std::vector<double>& latencyBuckets();

using Labels = std::vector<std::string>;  // label values, in the order of the family's names

template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labelNames, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labelNames_(std::move(labelNames)), bounds_(std::move(bounds)) {}

  // The series for these label values (as many as the family has names), created on first use.
  // Takes the family's mutex: call it once and keep the reference on hot paths.
  Series& with(const Labels& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labelNames() const { return labelNames_; }
  // Loop over every series (for rendering), under the family's mutex.
  void forEach(const std::function<void(const Labels&, const Series&)>& fn) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labelNames_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<Labels, std::unique_ptr<Series>> series_;  // guarded by mutex_
};

// One value computed at scrape time.
struct Sample {
  Labels labels;
  double value = 0;
};

class Registry;

// Keeps a scrape-time callback registered; unregisters it when destroyed or reset.
class CallbackHandle {
 public:
  CallbackHandle() = default;
  CallbackHandle(Registry* registry, uint64_t id) : registry_(registry), id_(id) {}
  CallbackHandle(CallbackHandle&& o) noexcept : registry_(o.registry_), id_(o.id_) { o.registry_ = nullptr; }
  CallbackHandle& operator=(CallbackHandle&& o) noexcept;
  CallbackHandle(const CallbackHandle&) = delete;
  CallbackHandle& operator=(const CallbackHandle&) = delete;
  ~CallbackHandle() { reset(); }
  void reset();

 private:
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  // The process's registry: what the metrics endpoint serves.
  static Registry& global();

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Asking twice for the same name returns the same family; asking for it with another type or
  // other label names throws std::logic_error (a programming error, found by the first test).
  Family<Counter>& counterFamily(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& labelNames);
  Family<Gauge>& gaugeFamily(const std::string& name, const std::string& help,
                             const std::vector<std::string>& labelNames);
  Family<Histogram>& histogramFamily(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& labelNames, const std::vector<double>& bounds);
  // Series without labels.
  Counter& counter(const std::string& name, const std::string& help) { return counterFamily(name, help, {}).with({}); }
  Gauge& gauge(const std::string& name, const std::string& help) { return gaugeFamily(name, help, {}).with({}); }
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds) {
    return histogramFamily(name, help, {}, bounds).with({});
  }

  // fn runs on the thread that renders (the metrics endpoint's loop: the daemon's own loop, so it
  // may read loop-thread state). Several callbacks may share a name (their samples are merged);
  // type is kGauge or kCounter.
  [[nodiscard]] CallbackHandle addCallback(const std::string& name, const std::string& help, Type type,
                                           std::vector<std::string> labelNames,
                                           std::function<std::vector<Sample>()> fn);

  // The text exposition of everything, families sorted by name.
  std::string render() const;

 private:
  friend class CallbackHandle;
  struct Entry {
    Type type;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
  };
  struct Callback {
    std::string name, help;
    Type type;
    std::vector<std::string> labelNames;
    std::function<std::vector<Sample>()> fn;
  };
  Entry& entry(const std::string& name, Type type, const std::vector<std::string>& labelNames);
  void removeCallback(uint64_t id);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;     // guarded by mutex_
  std::map<uint64_t, Callback> callbacks_;   // guarded by mutex_
  uint64_t nextCallbackId_ = 1;              // guarded by mutex_
};

// Text-format helpers (exposed for tests).
std::string escapeLabelValue(const std::string& v);  // \ " and newline
std::string escapeHelp(const std::string& v);        // \ and newline
std::string formatValue(double v);                   // shortest round-trip, +Inf/-Inf/NaN

// The series several daemons export, spelled (name, help, labels) in this one place; both on
// Registry::global(), computed at scrape time like addCallback's.
//   ttsuite_connections{daemon, kind}: fn gives (kind, open connections) pairs.
[[nodiscard]] CallbackHandle connectionsGauge(const std::string& daemon,
                                              std::function<std::vector<std::pair<std::string, double>>()> fn);
//   ttsuite_upstream_link_up{daemon, kind, peer}: 1 while that configured link is usable.
struct LinkState {
  std::string kind;
  std::string peer;
  bool up = false;
};
[[nodiscard]] CallbackHandle upstreamLinksGauge(const std::string& daemon, std::function<std::vector<LinkState>()> fn);

// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_cpu_seconds_total, process_start_time_seconds (the names every Prometheus client library
// uses), read from /proc when scraped.
[[nodiscard]] std::vector<CallbackHandle> registerProcessMetrics(Registry& registry);

}  // namespace tt::metrics
