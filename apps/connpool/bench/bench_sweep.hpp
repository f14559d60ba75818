// `connpool bench redis --sweep`: a grid of (callers × value size) points; at each point every
// client (connpool's modes, the hiredis pool, redis-benchmark) runs once per round, the order
// rotated each round, for several rounds in one sitting. Writes the runs and the medians as CSV
// and JSON, and a plot (gnuplot SVG and PNG: ops/s and p99 vs callers, one line per client and
// value size). The measuring itself is the caller's (a SweepRun); this file only schedules and
// reports.
#pragma once

#include "bench/bench_compare.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace connpool::cli {

struct SweepPoint {
  int callers = 1;
  std::size_t value_size = 16;
};

struct SweepOptions {
  std::vector<int> callers{1, 10, 50, 500};
  std::vector<std::size_t> values{16, 1024, 64 * 1024, 1024 * 1024};
  std::vector<std::string> clients;  // client names, in round-1 order
  int rounds = 3;
  double duration_s = 2;
  std::string out_dir = "docs/images";
  std::string name = "redis-sweep";  // file names: <name>.csv, <name>-runs.csv, .json, .svg, .png
  bool plot = true;
};

/// Measures `client` at `point` once.
using SweepRun = std::function<RunReport(const std::string& client, const SweepPoint& point)>;

/// Runs the grid, prints a table of medians and ratios, writes the files. Returns 0 when every
/// run measured operations without errors, 1 otherwise (the files are written either way), 2
/// when the output files cannot be written.
int run_sweep(const SweepOptions& options, const SweepRun& run);

}  // namespace connpool::cli
