// Just enough PromQL and Prometheus text-format parsing for the dashboard test: which metrics and
// label names an expression uses, and which series a /metrics page exposes.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::test {

struct PromqlRefs {
  /// Metric names selected (with their label matchers' names).
  std::map<std::string, std::set<std::string>> metrics;
  /// Labels named in by (...) / without (...) / on (...) / ignoring (...) clauses.
  std::set<std::string> grouping_labels;
  /// Function and aggregation names called.
  std::set<std::string> functions;
  /// Template variables used ($pool, $__rate_interval).
  std::set<std::string> variables;
  /// Problems found while scanning (unbalanced brackets, unterminated strings).
  std::vector<std::string> errors;
};

PromqlRefs parse_promql(std::string_view expr);

/// A /metrics page: family name -> TYPE, and sample name -> label names seen on it.
struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, std::set<std::string>> samples;
  /// True when `name` is a sample name, or a histogram family's _bucket/_sum/_count series.
  [[nodiscard]] bool has_metric(const std::string& name) const;
  /// Label names seen on `name` (for a histogram series: those of its family's samples, plus le
  /// on _bucket).
  [[nodiscard]] std::set<std::string> labels_of(const std::string& name) const;
};

Exposition parse_exposition(std::string_view text);

}  // namespace connpool::test
