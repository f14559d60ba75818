// Finds one series in prometheus-cpp's data model, for exact assertions on collected metrics.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::test {

/// The family named `name`, or null.
inline const prometheus::MetricFamily* find_family(
    const std::vector<prometheus::MetricFamily>& families, std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

/// The series of family `name` whose labels are exactly `labels`, or null.
inline const prometheus::ClientMetric* find_series(
    const std::vector<prometheus::MetricFamily>& families, std::string_view name,
    const std::map<std::string, std::string>& labels) {
  const auto* f = find_family(families, name);
  if (!f) return nullptr;
  for (const auto& m : f->metric) {
    std::map<std::string, std::string> have;
    for (const auto& l : m.label) have[l.name] = l.value;
    if (have == labels) return &m;
  }
  return nullptr;
}

}  // namespace connpool::test
