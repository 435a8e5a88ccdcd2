// base/Metrics: the text exposition (escaping, HELP/TYPE once per name, cumulative histogram
// buckets, merged callbacks), label bookkeeping, and that a callback dies with its handle.
#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

#include "base/Metrics.h"

namespace {

using tt::metrics::Registry;
using tt::metrics::Sample;
using tt::metrics::Type;

TEST(Metrics, CountersGaugesAndEscaping) {
  Registry r;
  r.counter("t_requests_total", "Requests.\nSecond line \\ here").inc(3);
  auto& fam = r.counterFamily("t_by_path_total", "By path.", {"path"});
  fam.with({"/a\"b\\c\nd"}).inc();
  r.gauge("t_temperature_celsius", "A gauge.").set(-1.5);
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP t_requests_total Requests.\\nSecond line \\\\ here\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE t_requests_total counter\nt_requests_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_by_path_total{path=\"/a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE t_temperature_celsius gauge\nt_temperature_celsius -1.5\n"), std::string::npos) << text;
  // Families are sorted by name.
  EXPECT_LT(text.find("t_by_path_total"), text.find("t_requests_total"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("t_latency_seconds", "Latency.", {0.01, 0.1, 1});
  for (double v : {0.0078125, 0.0078125, 0.0625, 0.5, 4.0}) h.observe(v);  // exact in binary
  const std::string text = r.render();
  EXPECT_NE(text.find("t_latency_seconds_bucket{le=\"0.01\"} 2\n"
                      "t_latency_seconds_bucket{le=\"0.1\"} 3\n"
                      "t_latency_seconds_bucket{le=\"1\"} 4\n"
                      "t_latency_seconds_bucket{le=\"+Inf\"} 5\n"
                      "t_latency_seconds_sum 4.578125\n"
                      "t_latency_seconds_count 5\n"),
            std::string::npos)
      << text;
  auto& labelled = r.histogramFamily("t_wait_seconds", "Wait.", {"pool"}, {1}).with({"x"});
  labelled.observe(2);
  EXPECT_NE(r.render().find("t_wait_seconds_bucket{pool=\"x\",le=\"+Inf\"} 1\n"), std::string::npos);
}

TEST(Metrics, SameNameSameFamilyOtherShapeThrows) {
  Registry r;
  auto& a = r.counterFamily("t_x_total", "X.", {"k"});
  auto& b = r.counterFamily("t_x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with({"v"}), &b.with({"v"}));
  EXPECT_THROW(r.gaugeFamily("t_x_total", "X.", {"k"}), std::logic_error);
  EXPECT_THROW(r.counterFamily("t_x_total", "X.", {"other"}), std::logic_error);
  EXPECT_THROW(a.with({"v", "w"}), std::logic_error);
  EXPECT_THROW(r.counter("bad-name", "X."), std::logic_error);
  EXPECT_THROW(r.counterFamily("t_y_total", "Y.", {"le"}), std::logic_error);
}

TEST(Metrics, CallbacksMergeByNameAndDieWithTheirHandle) {
  Registry r;
  auto one = r.addCallback("t_conns", "Connections.", Type::kGauge, {"kind"},
                           [] { return std::vector<Sample>{{{"a"}, 1}}; });
  {
    auto two = r.addCallback("t_conns", "Connections.", Type::kGauge, {"kind"},
                             [] { return std::vector<Sample>{{{"b"}, 2}}; });
    const std::string text = r.render();
    EXPECT_EQ(text.find("# TYPE t_conns gauge"), text.rfind("# TYPE t_conns gauge")) << text;  // once
    EXPECT_NE(text.find("t_conns{kind=\"a\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_conns{kind=\"b\"} 2\n"), std::string::npos) << text;
  }
  EXPECT_EQ(r.render().find("kind=\"b\""), std::string::npos);
  one.reset();
  EXPECT_EQ(r.render().find("t_conns"), std::string::npos);
  EXPECT_THROW(r.addCallback("t_conns2", "C.", Type::kHistogram, {}, [] { return std::vector<Sample>{}; }),
               std::logic_error);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.counter("t_n_total", "N.");
  auto& h = r.histogram("t_h_seconds", "H.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
        h.observe(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_NE(r.render().find("t_h_seconds_sum 400000\nt_h_seconds_count 400000\n"), std::string::npos);
}

TEST(Metrics, ValueFormatting) {
  EXPECT_EQ(tt::metrics::formatValue(0), "0");
  EXPECT_EQ(tt::metrics::formatValue(42), "42");
  EXPECT_EQ(tt::metrics::formatValue(0.0005), "0.0005");
  EXPECT_EQ(tt::metrics::formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(tt::metrics::formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(tt::metrics::formatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, ProcessMetricsReadProc) {
  Registry r;
  auto handles = tt::metrics::registerProcessMetrics(r);
  const std::string text = r.render();
  for (const char* name : {"process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
                           "process_start_time_seconds", "process_max_fds"}) {
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << text;
  }
  // RSS is a real, positive number of bytes.
  const size_t at = text.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(text.substr(at + 31)), 1e5);
}

}  // namespace
