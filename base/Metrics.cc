#include "base/Metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace tt::metrics {

namespace {

void atomicAdd(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

template <class Series>
std::unique_ptr<Series> makeSeries(const std::vector<double>&) {
  return std::make_unique<Series>();
}
template <>
std::unique_ptr<Histogram> makeSeries<Histogram>(const std::vector<double>& bounds) {
  return std::make_unique<Histogram>(bounds);
}

const char* typeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with an extra label appended when extraName is set), or "" without labels.
std::string labelText(const std::vector<std::string>& names, const Labels& values, const char* extraName = nullptr,
                      const std::string& extraValue = {}) {
  if (names.empty() && !extraName) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += escapeLabelValue(i < values.size() ? values[i] : std::string());
    out += '"';
  }
  if (extraName) {
    if (!names.empty()) out += ',';
    out += extraName;
    out += "=\"";
    out += extraValue;
    out += '"';
  }
  out += '}';
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help, Type type) {
  out += "# HELP " + name + ' ' + escapeHelp(help) + '\n';
  out += "# TYPE " + name + ' ' + typeName(type) + '\n';
}

bool validName(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void Gauge::add(double d) noexcept { atomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end())) throw std::logic_error("histogram bounds must ascend");
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::snapshot(std::vector<uint64_t>* buckets, double* sum, uint64_t* count) const {
  buckets->resize(bounds_.size() + 1);
  // count first: a scrape racing an observe() may then see a bucket ahead of count, never behind,
  // and the rendered +Inf bucket is the sum of the buckets (so cumulative counts stay monotonic).
  *count = count_.load(std::memory_order_relaxed);
  for (size_t i = 0; i <= bounds_.size(); ++i) (*buckets)[i] = buckets_[i].load(std::memory_order_relaxed);
  *sum = sum_.load(std::memory_order_relaxed);
}

const std::vector<double>& latencyBuckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

template <class Series>
Series& Family<Series>::with(const Labels& values) {
  if (values.size() != labelNames_.size()) {
    throw std::logic_error("metric " + name_ + ": " + std::to_string(values.size()) + " label values for " +
                           std::to_string(labelNames_.size()) + " label names");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = series_[values];
  if (!slot) slot = makeSeries<Series>(bounds_);
  return *slot;
}

template <class Series>
void Family<Series>::forEach(const std::function<void(const Labels&, const Series&)>& fn) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [labels, series] : series_) fn(labels, *series);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CallbackHandle& CallbackHandle::operator=(CallbackHandle&& o) noexcept {
  if (this != &o) {
    reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void CallbackHandle::reset() {
  if (registry_) registry_->removeCallback(id_);
  registry_ = nullptr;
}

Registry& Registry::global() {
  static Registry* r = new Registry;  // never destroyed: series references outlive static destructors
  return *r;
}

Registry::Entry& Registry::entry(const std::string& name, Type type, const std::vector<std::string>& labelNames) {
  if (!validName(name)) throw std::logic_error("bad metric name '" + name + "'");
  for (const auto& l : labelNames) {
    if (!validName(l) || l.find(':') != std::string::npos || l == "le") {
      throw std::logic_error("metric " + name + ": bad label name '" + l + "'");
    }
  }
  auto [it, inserted] = entries_.try_emplace(name);
  Entry& e = it->second;
  if (inserted) {
    e.type = type;
    return e;
  }
  const std::vector<std::string>* have = nullptr;
  if (e.counters) have = &e.counters->labelNames();
  if (e.gauges) have = &e.gauges->labelNames();
  if (e.histograms) have = &e.histograms->labelNames();
  if (e.type != type || (have && *have != labelNames)) {
    throw std::logic_error("metric " + name + " registered twice with different types or labels");
  }
  return e;
}

Family<Counter>& Registry::counterFamily(const std::string& name, const std::string& help,
                                         const std::vector<std::string>& labelNames) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& e = entry(name, Type::kCounter, labelNames);
  if (!e.counters) e.counters = std::make_unique<Family<Counter>>(name, help, labelNames);
  return *e.counters;
}

Family<Gauge>& Registry::gaugeFamily(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& labelNames) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& e = entry(name, Type::kGauge, labelNames);
  if (!e.gauges) e.gauges = std::make_unique<Family<Gauge>>(name, help, labelNames);
  return *e.gauges;
}

Family<Histogram>& Registry::histogramFamily(const std::string& name, const std::string& help,
                                             const std::vector<std::string>& labelNames,
                                             const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& e = entry(name, Type::kHistogram, labelNames);
  if (!e.histograms) e.histograms = std::make_unique<Family<Histogram>>(name, help, labelNames, bounds);
  return *e.histograms;
}

CallbackHandle Registry::addCallback(const std::string& name, const std::string& help, Type type,
                                     std::vector<std::string> labelNames, std::function<std::vector<Sample>()> fn) {
  if (type == Type::kHistogram) throw std::logic_error("metric " + name + ": callbacks are gauges or counters");
  if (!validName(name)) throw std::logic_error("bad metric name '" + name + "'");
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(name)) throw std::logic_error("metric " + name + " is already a stored series");
  for (const auto& [id, cb] : callbacks_) {
    if (cb.name == name && (cb.type != type || cb.labelNames != labelNames)) {
      throw std::logic_error("metric " + name + " registered twice with different types or labels");
    }
  }
  const uint64_t id = nextCallbackId_++;
  callbacks_.emplace(id, Callback{name, help, type, std::move(labelNames), std::move(fn)});
  return CallbackHandle(this, id);
}

void Registry::removeCallback(uint64_t id) {
  Callback gone;  // destroyed after the lock is released: its function may own other handles
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;
  gone = std::move(it->second);
  callbacks_.erase(it);
}

std::string Registry::render() const {
  // name -> rendered block; stored series and callbacks are merged by name, then sorted.
  std::map<std::string, std::string> blocks;
  std::vector<Callback> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, e] : entries_) {
      std::string& out = blocks[name];
      if (e.counters) {
        header(out, name, e.counters->help(), Type::kCounter);
        e.counters->forEach([&](const Labels& l, const Counter& c) {
          out += name + labelText(e.counters->labelNames(), l) + ' ' + std::to_string(c.value()) + '\n';
        });
      } else if (e.gauges) {
        header(out, name, e.gauges->help(), Type::kGauge);
        e.gauges->forEach([&](const Labels& l, const Gauge& g) {
          out += name + labelText(e.gauges->labelNames(), l) + ' ' + formatValue(g.value()) + '\n';
        });
      } else if (e.histograms) {
        const auto& f = *e.histograms;
        header(out, name, f.help(), Type::kHistogram);
        f.forEach([&](const Labels& l, const Histogram& h) {
          std::vector<uint64_t> b;
          double sum = 0;
          uint64_t count = 0;
          h.snapshot(&b, &sum, &count);
          uint64_t cumulative = 0;
          for (size_t i = 0; i < b.size(); ++i) {
            cumulative += b[i];
            const std::string le = i < h.bounds().size() ? formatValue(h.bounds()[i]) : "+Inf";
            out += name + "_bucket" + labelText(f.labelNames(), l, "le", le) + ' ' + std::to_string(cumulative) + '\n';
          }
          out += name + "_sum" + labelText(f.labelNames(), l) + ' ' + formatValue(sum) + '\n';
          out += name + "_count" + labelText(f.labelNames(), l) + ' ' + std::to_string(cumulative) + '\n';
        });
      }
    }
    for (const auto& [id, cb] : callbacks_) callbacks.push_back(cb);
  }
  // Callbacks run without the registry's lock (they may take their owners' locks).
  std::set<std::string> headed;
  for (const auto& cb : callbacks) {
    std::string& out = blocks[cb.name];
    if (headed.insert(cb.name).second) header(out, cb.name, cb.help, cb.type);
    for (const Sample& s : cb.fn()) out += cb.name + labelText(cb.labelNames, s.labels) + ' ' + formatValue(s.value) + '\n';
  }
  std::string all;
  for (const auto& [name, text] : blocks) all += text;
  return all;
}

std::string escapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escapeHelp(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

CallbackHandle connectionsGauge(const std::string& daemon,
                                std::function<std::vector<std::pair<std::string, double>>()> fn) {
  return Registry::global().addCallback("ttsuite_connections", "Open connections, by daemon and kind.", Type::kGauge,
                                        {"daemon", "kind"}, [daemon, fn = std::move(fn)] {
                                          std::vector<Sample> out;
                                          for (auto& [kind, n] : fn()) out.push_back({{daemon, kind}, n});
                                          return out;
                                        });
}

CallbackHandle upstreamLinksGauge(const std::string& daemon, std::function<std::vector<LinkState>()> fn) {
  return Registry::global().addCallback(
      "ttsuite_upstream_link_up", "1 while the link to that upstream server is connected, else 0.", Type::kGauge,
      {"daemon", "kind", "peer"}, [daemon, fn = std::move(fn)] {
        std::vector<Sample> out;
        for (auto& l : fn()) out.push_back({{daemon, l.kind, l.peer}, l.up ? 1.0 : 0.0});
        return out;
      });
}

std::vector<CallbackHandle> registerProcessMetrics(Registry& registry) {
  auto single = [](double v) { return std::vector<Sample>{Sample{{}, v}}; };
  static const long pageSize = ::sysconf(_SC_PAGESIZE);
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  // /proc/self/stat fields after the command name: state is field 3; utime 14, stime 15,
  // starttime 22, vsize 23, rss 24.
  auto statFields = []() {
    std::ifstream f("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::string> fields;
    const size_t close = text.rfind(')');
    if (close == std::string::npos) return fields;
    std::istringstream rest(text.substr(close + 2));
    std::string w;
    while (rest >> w) fields.push_back(w);
    return fields;  // fields[0] is field 3 (state)
  };
  auto field = [](const std::vector<std::string>& f, size_t n) -> double {
    return n >= 3 && n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0;
  };
  static const double bootTime = [] {
    std::ifstream f("/proc/stat");
    std::string key;
    double v = 0;
    while (f >> key) {
      if (key == "btime") {
        f >> v;
        break;
      }
    }
    return v;
  }();

  std::vector<CallbackHandle> handles;
  handles.push_back(registry.addCallback(
      "process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge, {},
      [=] { return single(field(statFields(), 24) * static_cast<double>(pageSize)); }));
  handles.push_back(registry.addCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                              Type::kGauge, {}, [=] { return single(field(statFields(), 23)); }));
  handles.push_back(registry.addCallback(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::kCounter, {}, [=] {
        auto f = statFields();
        return single((field(f, 14) + field(f, 15)) / static_cast<double>(ticks));
      }));
  handles.push_back(registry.addCallback(
      "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::kGauge, {},
      [=] { return single(bootTime + field(statFields(), 22) / static_cast<double>(ticks)); }));
  handles.push_back(
      registry.addCallback("process_open_fds", "Number of open file descriptors.", Type::kGauge, {}, [=] {
        double n = 0;
        if (DIR* d = ::opendir("/proc/self/fd")) {
          while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
          ::closedir(d);
          n -= 1;  // the descriptor opendir itself holds
        }
        return single(n);
      }));
  handles.push_back(
      registry.addCallback("process_max_fds", "Maximum number of open file descriptors.", Type::kGauge, {}, [=] {
        rlimit lim{};
        ::getrlimit(RLIMIT_NOFILE, &lim);
        return single(static_cast<double>(lim.rlim_cur));
      }));
  return handles;
}

}  // namespace tt::metrics
