// `connpool bench redis --compare`: every mode back to back for several rounds in one sitting,
// then the throughput ratio connpool/baseline of each round and the median over the rounds. On a
// shared, noisy machine only ratios taken minutes apart mean anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace connpool::cli {

/// What one run of one mode measured (the rest is printed by the run itself).
struct RunReport {
  std::string mode;
  int exit_code = 0;
  double ops_per_sec = 0;
  double load_1m = 0;  // the machine's 1-minute load average when the run started
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::uint64_t verified = 0;  // GETs whose reply was checked equal to the SET before them
  double p50_us = 0;
  double p99_us = 0;
  double cpu_us_per_op = 0;  // client CPU (user + system) per operation
  std::string error;         // the first error, for the report
};

/// The 1-minute load average now (getloadavg); -1 when unknown.
double load_average_1m();

/// Per round, connpool's two modes ("pool-auto-pipeline", "pool") over each baseline
/// ("hiredis-threads", "hiredis-pool") and the medians; as text, or one JSON object (--json).
/// A ratio is left out of a round when either run failed or measured nothing.
void print_comparison(const std::vector<std::vector<RunReport>>& rounds, bool json);

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace connpool::cli
