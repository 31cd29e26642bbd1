#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace idunno::core {
namespace {

TEST(Metrics, CountersAndGaugesAreGroupedUnderOneHeaderEach) {
  MetricsRegistry registry;
  registry.add([](MetricsWriter& w) {
    w.gauge("members", "members by state", 3, {{"state", "alive"}});
    w.counter("probes_total", "probes sent", 12);
  });
  registry.add([](MetricsWriter& w) { w.gauge("members", "members by state", 1, {{"state", "dead"}}); });
  EXPECT_EQ(registry.render(),
            "# HELP idunno_members members by state\n# TYPE idunno_members gauge\n"
            "idunno_members{state=\"alive\"} 3\nidunno_members{state=\"dead\"} 1\n"
            "# HELP idunno_probes_total probes sent\n# TYPE idunno_probes_total counter\n"
            "idunno_probes_total 12\n");
}

TEST(Metrics, LabelValuesAreEscapedAndValuesWrittenShortest) {
  MetricsWriter w;
  w.gauge("x", "h", 0.1, {{"job", "a\"b\\c\nd"}});
  w.gauge("y", "h", 1.0 / 0.0);
  EXPECT_EQ(w.str(),
            "# HELP idunno_x h\n# TYPE idunno_x gauge\nidunno_x{job=\"a\\\"b\\\\c\\nd\"} 0.1\n"
            "# HELP idunno_y h\n# TYPE idunno_y gauge\nidunno_y +Inf\n");
}

TEST(Metrics, HistogramsHaveCumulativeBucketsSumAndCount) {
  MetricsWriter w;
  w.histogram("job_processing_seconds", "time per query", HistogramValue{{{0.005, 2}, {0.01, 5}}, 0.2, 7},
              {{"job", "a"}});
  EXPECT_EQ(w.str(),
            "# HELP idunno_job_processing_seconds time per query\n"
            "# TYPE idunno_job_processing_seconds histogram\n"
            "idunno_job_processing_seconds_bucket{job=\"a\",le=\"0.005\"} 2\n"
            "idunno_job_processing_seconds_bucket{job=\"a\",le=\"0.01\"} 5\n"
            "idunno_job_processing_seconds_bucket{job=\"a\",le=\"+Inf\"} 7\n"
            "idunno_job_processing_seconds_sum{job=\"a\"} 0.2\n"
            "idunno_job_processing_seconds_count{job=\"a\"} 7\n");
}

}  // namespace
}  // namespace idunno::core
